"""The sans-I/O frame layer: any split of the byte stream gives the same messages; limits and violations."""
import random
import struct

import pytest

from realtime_sync._connection.frames import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, FrameParser,
                                              close_payload, encode_frame, parse_close)
from realtime_sync.errors import MessageTooLargeError


def server_frame(op, payload, fin=True):
    n = len(payload)
    b1 = (0x80 if fin else 0) | op
    if n < 126:
        return struct.pack("!BB", b1, n) + payload
    if n < 65536:
        return struct.pack("!BBH", b1, 126, n) + payload
    return struct.pack("!BBQ", b1, 127, n) + payload


def unmask_client_frame(frame):
    b2 = frame[1]
    assert b2 & 0x80, "client frames are masked"
    n, pos = b2 & 0x7F, 2
    if n == 126:
        n, pos = struct.unpack("!H", frame[2:4])[0], 4
    elif n == 127:
        n, pos = struct.unpack("!Q", frame[2:10])[0], 10
    key = frame[pos:pos + 4]
    data = frame[pos + 4:]
    assert len(data) == n
    return frame[0] & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))


def test_any_split_gives_the_same_messages():
    rng = random.Random(7)
    messages = [b'{"type": "x", "n": %d}' % i + b"y" * rng.choice([0, 100, 200, 70000]) for i in range(40)]
    stream = b""
    expected = []
    for i, m in enumerate(messages):
        if i % 7 == 3:  # fragmented, with a ping in the middle
            stream += server_frame(OP_TEXT, m[:10], fin=False) + server_frame(OP_PING, b"p")
            stream += server_frame(OP_CONT, m[10:20], fin=False) + server_frame(OP_CONT, m[20:])
            expected += [(OP_PING, b"p"), (OP_TEXT, m)]
        else:
            stream += server_frame(OP_TEXT, m)
            expected.append((OP_TEXT, m))
    stream += server_frame(OP_CLOSE, close_payload(1001, "bye"))
    expected.append((OP_CLOSE, close_payload(1001, "bye")))
    for _ in range(30):
        parser, got, pos = FrameParser(), [], 0
        while pos < len(stream):
            step = rng.choice([1, 2, 3, 10, 1000, 65536, 300000])
            got += parser.feed(stream[pos:pos + step])
            pos += step
        assert got == expected and parser.error is None and parser.buffered == 0


def test_client_frames_are_masked_and_decode_back():
    for size in (0, 5, 125, 126, 65535, 65536, 200000):
        payload = bytes(random.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        payload = payload[:size]
        assert unmask_client_frame(encode_frame(OP_BINARY, payload)) == (OP_BINARY, payload)
    assert parse_close(close_payload(4000, "r" * 300))[0] == 4000 and len(close_payload(1000, "r" * 300)) <= 125
    assert parse_close(b"") == (1005, "")


def test_the_size_limit_is_checked_before_reading_and_across_fragments():
    parser = FrameParser(max_size=1000)
    assert parser.feed(server_frame(OP_TEXT, b"a" * 1000)) == [(OP_TEXT, b"a" * 1000)]
    assert parser.feed(struct.pack("!BBQ", 0x81, 127, 1 << 40)) == []
    assert isinstance(parser.error, MessageTooLargeError) and parser.error.size == 1 << 40
    assert parser.feed(server_frame(OP_TEXT, b"later")) == []  # nothing after an error
    frag = FrameParser(max_size=1000)
    out = frag.feed(server_frame(OP_TEXT, b"ok") + server_frame(OP_TEXT, b"a" * 600, fin=False)
                    + server_frame(OP_CONT, b"b" * 600))
    assert out == [(OP_TEXT, b"ok")] and frag.error.code == 1009


@pytest.mark.parametrize("bad", [
    server_frame(OP_CONT, b"orphan"),
    bytes([0x81 | 0x40, 1]) + b"x",  # RSV1 without an extension
    server_frame(0x3, b"reserved opcode"),
    server_frame(OP_PING, b"p", fin=False),
    struct.pack("!BBH", 0x89, 126, 200) + b"p" * 200,  # a control frame over 125 bytes
    server_frame(OP_TEXT, b"a", fin=False) + server_frame(OP_TEXT, b"b"),
])
def test_violations_keep_what_came_before_and_set_1002(bad):
    parser = FrameParser()
    out = parser.feed(server_frame(OP_TEXT, b"first") + bad)
    assert out[0] == (OP_TEXT, b"first") and parser.error is not None and parser.error.code == 1002


def test_masked_server_frames_are_tolerated():
    frame = encode_frame(OP_TEXT, b'{"type": "masked"}')
    assert FrameParser().feed(frame) == [(OP_TEXT, b'{"type": "masked"}')]
