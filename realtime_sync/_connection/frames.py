"""WebSocket frames without I/O (RFC 6455, client side): :class:`FrameParser` turns received bytes into whole
messages and control frames; :func:`encode_frame` makes the masked frames a client sends.

The parser checks a frame's declared length before buffering it, so a peer announcing a 2^40-byte frame gets a
:class:`~realtime_sync.errors.MessageTooLargeError` (the connection then closes with 1009) instead of an attempt to
read it. Protocol violations raise :class:`~realtime_sync.errors.ConnectionClosedError` with code 1002.
"""
import os
import struct
import sys
import threading
from typing import List, Optional, Tuple

from ..errors import ConnectionClosedError, MessageTooLargeError

__all__ = ["FrameParser", "encode_frame", "close_payload", "parse_close", "OP_CONT", "OP_TEXT", "OP_BINARY",
           "OP_CLOSE", "OP_PING", "OP_PONG", "DEFAULT_MAX_MESSAGE_SIZE"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: The largest inbound message accepted by default (the service's biggest events are a few hundred KiB).
DEFAULT_MAX_MESSAGE_SIZE = 8 * 1024 * 1024

_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")
_ORDER = sys.byteorder
_urandom = os.urandom
_from_bytes = int.from_bytes


def _masked(key: bytes, data: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    return (_from_bytes(data, _ORDER) ^ _from_bytes(key * (n // 4) + key[:n % 4], _ORDER)).to_bytes(n, _ORDER)


class _MaskKeys:
    """Masking keys from the OS's random source, fetched 4 KiB at a time (one system call per 1024 frames)."""

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos + 4 > len(self._pool):
            self._pool, pos = _urandom(4096), 0
        self._pos = pos + 4
        return self._pool[pos:pos + 4]


_keys = threading.local()


def _mask_key() -> bytes:
    keys = getattr(_keys, "keys", None)
    if keys is None:
        keys = _keys.keys = _MaskKeys()
    return keys.next()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + _U16.pack(n)
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + _U64.pack(n)
    key = _mask_key()
    return head + key + _masked(key, payload)


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame (a control frame carries at most 125 bytes)."""
    return _U16.pack(code) + reason.encode("utf-8")[:123]


def parse_close(data: bytes) -> Tuple[Optional[int], str]:
    """(code, reason) of a close frame payload; code 1005 (no status) when the payload is empty."""
    if len(data) < 2:
        return 1005, ""
    return _U16.unpack_from(data)[0], data[2:].decode("utf-8", "replace")


class FrameParser:
    """Feed received bytes; get back ``(opcode, payload)`` for each complete message (fragments reassembled) and
    each control frame, in order. Text payloads stay bytes (decoding is the caller's business)."""

    def __init__(self, max_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.max_size = max_size
        self._buf = b""
        self._frag_op = 0
        self._frags: List[bytes] = []
        self._frag_size = 0
        self.error: Optional[ConnectionClosedError] = None
        self.buffered = 0  #: bytes held (an incomplete frame, fragments): bounded by ``max_size`` plus a header

    def _too_large(self, size: int) -> MessageTooLargeError:
        return MessageTooLargeError(size, self.max_size or 0)

    def feed(self, data: bytes) -> List[Tuple[int, bytes]]:
        """The messages completed by ``data``. After a protocol violation or an oversized frame, :attr:`error`
        is set (a :class:`ConnectionClosedError`: the connection must close with its ``code``), the messages
        before it are still returned, and nothing more is parsed."""
        if self.error is not None:
            return []
        out: List[Tuple[int, bytes]] = []
        try:
            self._parse(self._buf + data if self._buf else data, out)
        except ConnectionClosedError as exc:
            self.error = exc
            self._buf = b""
        return out

    def _parse(self, buf: bytes, out: List[Tuple[int, bytes]]) -> None:
        pos, end = 0, len(buf)
        max_size = self.max_size
        while end - pos >= 2:
            b1, b2 = buf[pos], buf[pos + 1]
            if b1 & 0x70:
                raise ConnectionClosedError(1002, "protocol error: reserved bits set (no extension was negotiated)")
            n = b2 & 0x7F
            head = 2
            if n >= 126:
                head = 4 if n == 126 else 10
                if end - pos < head:
                    break
                n = _U16.unpack_from(buf, pos + 2)[0] if head == 4 else _U64.unpack_from(buf, pos + 2)[0]
            masked = b2 & 0x80
            if masked:
                head += 4
            op = b1 & 0x0F
            if op >= OP_CLOSE and n > 125:
                raise ConnectionClosedError(1002, "protocol error: bad control frame")
            if op < OP_CLOSE and max_size is not None and n + (self._frag_size if op == OP_CONT else 0) > max_size:
                raise self._too_large(n + self._frag_size)
            if end - pos < head + n:
                break
            payload = buf[pos + head:pos + head + n]
            if masked:  # servers must not mask, but be lenient
                payload = _masked(buf[pos + head - 4:pos + head], payload)
            pos += head + n
            message = self._frame(b1 & 0x80, op, payload)
            if message is not None:
                out.append(message)
        self._buf = buf[pos:] if pos < end else b""
        self.buffered = len(self._buf) + self._frag_size

    def _frame(self, fin: int, op: int, data: bytes) -> Optional[Tuple[int, bytes]]:
        if op == OP_TEXT or op == OP_BINARY:
            if self._frag_op:
                raise ConnectionClosedError(1002, "protocol error: new message inside a fragmented one")
            if fin:
                return op, data
            self._frag_op, self._frags, self._frag_size = op, [data], len(data)
            return None
        if op == OP_CONT:
            if not self._frag_op:
                raise ConnectionClosedError(1002, "protocol error: continuation frame without a message")
            self._frags.append(data)
            self._frag_size += len(data)
            if not fin:
                return None
            whole = b"".join(self._frags)
            op, self._frag_op, self._frags, self._frag_size = self._frag_op, 0, [], 0
            return op, whole
        if op in (OP_PING, OP_PONG, OP_CLOSE):
            if not fin or len(data) > 125:
                raise ConnectionClosedError(1002, "protocol error: bad control frame")
            return op, data
        raise ConnectionClosedError(1002, f"protocol error: unknown opcode {op}")
