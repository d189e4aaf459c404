"""Who writes a connection's frames: the sending thread itself when the socket is free (no wake-up of the I/O
thread), the I/O thread otherwise, and never two threads at once. Driven with a private I/O loop and a socketpair
whose far end is read as raw WebSocket frames."""
import json
import socket
import struct
import threading

import pytest

from realtime_sync._connection import ioloop
from realtime_sync._connection.audio_jobs import make_audio_job
from realtime_sync._connection.channel import Channel
from realtime_sync._connection.frames import _masked
from realtime_sync._connection.ioloop import IOLoop
from realtime_sync._connection.writer import Outbox

from tests.support.waiting import wait_until


def read_frames(sock, count, timeout=5.0):
    """``count`` client frames from the raw socket: their unmasked payloads."""
    sock.settimeout(timeout)
    buf = b""
    out = []

    def need(n):
        nonlocal buf
        while len(buf) < n:
            data = sock.recv(1 << 20)
            assert data, "the channel closed the socket"
            buf += data

    while len(out) < count:
        need(2)
        size = buf[1] & 0x7F
        head = 2
        if size == 126:
            need(4)
            size, head = struct.unpack("!H", buf[2:4])[0], 4
        elif size == 127:
            need(10)
            size, head = struct.unpack("!Q", buf[2:10])[0], 10
        need(head + 4 + size)
        key = buf[head:head + 4]
        out.append(_masked(key, buf[head + 4:head + 4 + size]))
        buf = buf[head + 4 + size:]
    return out


class Rig:
    """A channel on its own loop over one end of a socketpair; ``peer`` is the server's end."""

    def __init__(self):
        self.loop = IOLoop(name="test-io")
        self.wakes = []
        call_soon = self.loop.call_soon

        def counting(fn):
            self.wakes.append(threading.current_thread().name)
            call_soon(fn)
        self.loop.call_soon = counting
        ours, self.peer = socket.socketpair()
        self.outbox = Outbox(lambda: self.channel.kick())
        self.posted = []

        def post(events):
            self.posted.extend(events)
            return 0
        self.channel = Channel(self.loop, ours, self.outbox, post, max_message_size=None, ping_interval=None,
                               dead_peer_timeout=None, close_timeout=1.0)
        self.channel.start()
        assert wait_until(lambda: self.channel._events != 0)
        self.wakes.clear()

    def close(self):
        self.peer.close()


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.close()


def test_a_send_is_written_by_the_sending_thread_without_waking_the_io_thread(rig):
    rig.outbox.send('{"type": "a"}', "a")
    rig.outbox.add_audio(make_audio_job(b"\x01\x00" * 2400))
    assert [json.loads(p)["type"] for p in read_frames(rig.peer, 2)] == ["a", "input_audio_buffer.append"]
    assert rig.channel.direct_writes == 2 and rig.wakes == []


def test_while_the_io_thread_holds_the_socket_the_send_is_handed_to_it(rig):
    held, release = threading.Event(), threading.Event()

    def hold():  # as the I/O thread does during one of its turns
        with rig.channel._owner:
            held.set()
            release.wait(5)
    t = threading.Thread(target=hold)
    t.start()
    assert held.wait(5)
    rig.outbox.send('{"type": "a"}', "a")
    assert rig.wakes == ["MainThread"] and rig.channel.direct_writes == 0
    release.set()
    t.join(5)
    assert [json.loads(p)["type"] for p in read_frames(rig.peer, 1)] == ["a"]


def test_what_a_full_socket_does_not_take_the_io_thread_writes_in_order(rig):
    rig.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rig.channel._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = "x" * 3_000_000
    rig.outbox.send(json.dumps({"type": "big", "pad": big}), "big")
    rig.outbox.send('{"type": "after"}', "after")
    assert rig.channel.direct_writes == 0 and rig.wakes  # the first write was partial: the loop took over
    first, second = read_frames(rig.peer, 2)
    assert json.loads(first)["pad"] == big and json.loads(second)["type"] == "after"


def test_a_loop_serving_many_sockets_batches_every_write_itself(rig, monkeypatch):
    monkeypatch.setattr(ioloop, "INLINE_WRITE_MAX_SOCKETS", 0)
    assert not rig.loop.writes_inline
    rig.outbox.send('{"type": "a"}', "a")
    assert [json.loads(p)["type"] for p in read_frames(rig.peer, 1)] == ["a"]
    assert rig.channel.direct_writes == 0 and rig.wakes == ["MainThread"]


def test_the_loop_counts_its_sockets():
    loop = IOLoop(name="test-io-count")
    pairs = [socket.socketpair() for _ in range(ioloop.INLINE_WRITE_MAX_SOCKETS + 1)]
    done = threading.Event()

    def register():
        for a, _b in pairs:
            loop.add(a, object())
        done.set()
    loop.call_soon(register)
    assert done.wait(5) and not loop.writes_inline
    removed = threading.Event()

    def remove_twice():  # the second time counts for nothing
        loop.remove(pairs[0][0])
        loop.remove(pairs[0][0])
        removed.set()
    loop.call_soon(remove_twice)
    assert removed.wait(5) and loop.writes_inline and loop.sockets == ioloop.INLINE_WRITE_MAX_SOCKETS
    for a, b in pairs:
        a.close()
        b.close()


def test_a_failed_direct_write_is_reported_by_the_io_thread(rig):
    rig.peer.close()
    rig.outbox.send('{"type": "a"}', "a")
    assert wait_until(lambda: any(e[0] == "end" for e in rig.posted))
    end = next(e for e in rig.posted if e[0] == "end")
    assert end[1] is not None and "connection lost" in str(end[1])
