"""The WebSocket wire: a thin wrapper over websocket-client's low-level ``WebSocket``.

This is the only module that imports websocket-client, which does the handshake (proxies, TLS, headers) and
frames what we send. Reading is done here, over websocket-client's socket, for two reasons: websocket-client's
``recv()``/``recv_data_frame()`` answer pings and close frames by themselves from the *reading* thread (we want
the writer thread to be the only one writing), and its frame reader makes three small ``recv`` calls per message
(each one a GIL hand-off when another thread is busy), where this one reads 64 KiB at a time.
:meth:`Transport.recv` returns control frames to the caller; the session's writer sends every pong, ping and
close. Handshake failures map to the library's exceptions; key-bearing headers never reach a message.
"""
import logging
import select
import socket
import struct
from typing import Any, Dict, List, Mapping, Optional, Tuple

import websocket
from websocket import ABNF

from ..endpoints import redact_url
from ..errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError, RealtimeConnectionError,
                      RealtimeTimeoutError, TransportTimeout)

__all__ = ["Transport", "TransportTimeout", "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG"]

log = logging.getLogger("realtime_sync.transport")

OP_TEXT = ABNF.OPCODE_TEXT
OP_BINARY = ABNF.OPCODE_BINARY
OP_CONT = ABNF.OPCODE_CONT
OP_CLOSE = ABNF.OPCODE_CLOSE
OP_PING = ABNF.OPCODE_PING
OP_PONG = ABNF.OPCODE_PONG


_RECV_SIZE = 65536
_U16 = struct.Struct("!H").unpack_from
_U64 = struct.Struct("!Q").unpack_from
try:
    from ssl import SSLWantReadError as _SSLWantRead
except ImportError:  # pragma: no cover - Python without ssl
    class _SSLWantRead(Exception):  # type: ignore[no-redef]
        pass


def parse_close(data: bytes) -> Tuple[Optional[int], str]:
    """(code, reason) of a close frame payload; code 1005 (no status) when the payload is empty."""
    if len(data) < 2:
        return 1005, ""
    return struct.unpack("!H", data[:2])[0], data[2:].decode("utf-8", "replace")


class Transport:
    """One open WebSocket. :meth:`recv` is for the reader thread; ``send_*`` for the writer thread only."""

    def __init__(self, ws: Any, url: str) -> None:
        self._ws = ws
        self.url = url
        self._sock = ws.sock
        self._send_frame = ws.send_frame
        self._buf = b""
        self._pos = 0
        self._frag_op = 0
        self._frags: List[bytes] = []
        self.bytes_received = 0

    # -- opening --------------------------------------------------------------------------------------------------
    @classmethod
    def connect(cls, url: str, headers: Mapping[str, str], *, timeout: float = 30.0,
                read_timeout: Optional[float] = None, options: Optional[Dict[str, Any]] = None) -> "Transport":
        """Open the WebSocket (handshake bounded by ``timeout``); later reads time out after ``read_timeout``.

        Raises AuthenticationError (HTTP 401/403), RealtimeTimeoutError, RealtimeConnectionError.
        """
        safe_url = redact_url(url)
        opts: Dict[str, Any] = {"suppress_origin": True}
        opts.update(options or {})
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True, sslopt=opts.pop("sslopt", None),
                                 sockopt=opts.pop("sockopt", None))
        try:
            ws.connect(url, header=dict(headers), timeout=timeout, **opts)
        except websocket.WebSocketBadStatusException as exc:
            status = getattr(exc, "status_code", None)
            if status in (401, 403):
                raise AuthenticationError(f"authentication failed: HTTP {status} at the WebSocket handshake "
                                          f"({safe_url})", status=status) from None
            msg = getattr(exc, "status_message", None) or ""
            raise RealtimeConnectionError(f"WebSocket handshake refused: HTTP {status} {msg} ({safe_url})") from None
        except (websocket.WebSocketTimeoutException, socket.timeout):
            raise RealtimeTimeoutError(f"connecting to {safe_url} timed out after {timeout} s") from None
        except websocket.WebSocketException as exc:
            raise RealtimeConnectionError(f"WebSocket handshake with {safe_url} failed: "
                                          f"{type(exc).__name__}") from None
        except OSError as exc:
            raise RealtimeConnectionError(f"cannot connect to {safe_url}: "
                                          f"{exc.strerror or type(exc).__name__}") from None
        ws.settimeout(read_timeout)
        log.debug("connected to %s", safe_url)
        return cls(ws, url)

    # -- reading (reader thread) ----------------------------------------------------------------------------------
    def _fill(self, need: int) -> None:
        """Make at least ``need`` unread bytes available (one large recv per call when possible)."""
        chunks = [self._buf[self._pos:]]
        have = len(chunks[0])
        recv = self._sock.recv
        while have < need:
            try:
                data = recv(max(_RECV_SIZE, need - have))
            except _SSLWantRead:
                select.select([self._sock], [], [], self._sock.gettimeout())
                continue
            if not data:
                raise ConnectionLostError(1006, "EOF", "connection lost: the server closed the TCP connection "
                                          "without a close frame")
            chunks.append(data)
            have += len(data)
        self._buf = b"".join(chunks)
        self._pos = 0

    def _read_frame(self) -> Tuple[int, int, bytes]:
        """(fin, opcode, payload) of the next frame."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 2:
            self._fill(2)
            buf, pos = self._buf, 0
        b1, b2 = buf[pos], buf[pos + 1]
        if b1 & 0x70:
            raise ConnectionClosedError(1002, "protocol error: reserved bits set (no extension was negotiated)")
        n = b2 & 0x7F
        head = 2
        if n >= 126:
            head = 4 if n == 126 else 10
            if len(buf) - pos < head:
                self._fill(head)
                buf, pos = self._buf, 0
            n = _U16(buf, pos + 2)[0] if head == 4 else _U64(buf, pos + 2)[0]
        masked = b2 & 0x80
        if masked:
            head += 4
        end = pos + head + n
        if len(buf) < end:
            self._fill(head + n)
            buf, pos = self._buf, 0
            end = head + n
        payload = buf[pos + head:end]
        self._pos = end
        if masked:  # servers must not mask, but be lenient
            payload = ABNF.mask(buf[pos + head - 4:pos + head], payload)
        return b1 & 0x80, b1 & 0x0F, payload

    def recv(self) -> Tuple[int, bytes]:
        """The next complete message or control frame as ``(opcode, payload)``.

        Text payloads are returned as UTF-8 bytes (not decoded). Fragmented messages are reassembled; control
        frames interleaved with fragments are returned as they come. Raises TransportTimeout, ConnectionLostError
        (socket failure / EOF) or ConnectionClosedError (protocol violation, code 1002).
        """
        try:
            while True:
                fin, op, data = self._read_frame()
                if op == OP_TEXT or op == OP_BINARY:
                    if self._frag_op:
                        raise ConnectionClosedError(1002, "protocol error: new message inside a fragmented one")
                    if fin:
                        return op, data
                    self._frag_op, self._frags = op, [data]
                elif op == OP_CONT:
                    if not self._frag_op:
                        raise ConnectionClosedError(1002, "protocol error: continuation frame without a message")
                    self._frags.append(data)
                    if fin:
                        op, self._frag_op = self._frag_op, 0
                        data, self._frags = b"".join(self._frags), []
                        return op, data
                elif op in (OP_PING, OP_PONG, OP_CLOSE):
                    if not fin or len(data) > 125:
                        raise ConnectionClosedError(1002, "protocol error: bad control frame")
                    return op, data
                else:
                    raise ConnectionClosedError(1002, f"protocol error: unknown opcode {op}")
        except (socket.timeout, websocket.WebSocketTimeoutException):
            raise TransportTimeout("no data received within the read timeout") from None
        except (OSError, ValueError, AttributeError) as exc:
            raise ConnectionLostError(1006, type(exc).__name__,
                                      f"connection lost: {type(exc).__name__}") from None

    # -- writing (writer thread only) -----------------------------------------------------------------------------
    def _send(self, payload: Any, opcode: int) -> None:
        try:
            self._send_frame(ABNF.create_frame(payload, opcode))
        except websocket.WebSocketTimeoutException:
            raise ConnectionLostError(1006, "send timed out: the peer is not reading") from None
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            raise ConnectionLostError(1006, f"send failed: {type(exc).__name__}") from None

    def send_text(self, text: str) -> None:
        self._send(text, OP_TEXT)

    def send_ping(self, payload: bytes = b"") -> None:
        self._send(payload, OP_PING)

    def send_pong(self, payload: bytes = b"") -> None:
        self._send(payload, OP_PONG)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self._send(struct.pack("!H", code) + reason.encode("utf-8")[:120], OP_CLOSE)

    # -- ending (any thread) --------------------------------------------------------------------------------------
    def abort(self) -> None:
        """Shut the TCP socket down now: wakes a blocked recv/send in other threads. Idempotent."""
        sock = self._ws.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Release the socket (after :meth:`abort`, or once both sides sent close). Idempotent."""
        self.abort()
        try:
            self._ws.shutdown()
        except Exception:  # pragma: no cover - best effort
            pass

    def __repr__(self) -> str:
        return f"<Transport {redact_url(self.url)}>"
