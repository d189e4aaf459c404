"""A raw-socket WebSocket server for wire-level tests: fragments, control frames, silence, abrupt drops."""
import base64
import hashlib
import json
import socket
import struct
import threading
from typing import Any, Callable, List, Optional, Tuple

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawConn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.frames: List[Tuple[int, bytes]] = []

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        n = len(payload)
        b1 = (0x80 if fin else 0) | opcode
        if n < 126:
            head = struct.pack("!BB", b1, n)
        elif n < 65536:
            head = struct.pack("!BBH", b1, 126, n)
        else:
            head = struct.pack("!BBQ", b1, 127, n)
        self.sock.sendall(head + payload)

    def send_json(self, event: Any) -> None:
        self.send_frame(1, json.dumps(event).encode())

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self) -> Tuple[int, bytes]:
        b1, b2 = self._read(2)
        n = b2 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        mask = self._read(4) if b2 & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(n)))
        self.frames.append((b1 & 0x0F, data))
        return b1 & 0x0F, data


class RawServer:
    """Runs ``script(conn)`` for each connection after the handshake, in a thread."""

    def __init__(self, script: Callable[[RawConn], None]) -> None:
        self.script = script
        self.conns: List[RawConn] = []
        self.error: Optional[BaseException] = None

    def __enter__(self) -> "RawServer":
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        try:
            sock, _ = self.lsock.accept()
        except OSError:
            return
        req = b""
        while b"\r\n\r\n" not in req:
            req += sock.recv(4096)
        key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n")
               if ln.lower().startswith(b"sec-websocket-key")][0]
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        conn = RawConn(sock)
        self.conns.append(conn)
        try:
            self.script(conn)
        except (EOFError, OSError):
            pass
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __exit__(self, *exc: Any) -> None:
        self.lsock.close()
        for conn in self.conns:
            try:
                conn.sock.close()
            except OSError:
                pass
        self.thread.join(5)


SESSION_CREATED = {"type": "session.created", "event_id": "event_0",
                   "session": {"id": "sess_RAW", "type": "realtime", "object": "realtime.session"}}
