"""A load server for scripts/benchmarks/scale.py: many Realtime-like WebSocket connections in one thread.

It speaks just enough of the protocol for a duplex load: the upgrade, ``session.created``, then every 100 ms one
``response.output_audio.delta`` of 100 ms of audio per connection (phases spread over the period, as independent
sessions are; the event_id carries the send time, ``time.monotonic()`` being shared by the processes of one
machine), pongs to pings, and the close handshake. It counts the audio each connection appends. One selector
thread, no per-connection threads, so at 500 connections it leaves the other core to the client being measured.

Connections to ``/realtime/translations`` are translation sessions instead (for translate_cpu.py): a translation
``session.created``, ``session.updated`` for each ``session.update``, for each audio frame appended one input and
one output transcript fragment and 200 ms of translated audio (so the output runs at the pace of the input), and
``session.closed`` after ``session.close``.
"""
import base64
import hashlib
import heapq
import json
import os
import selectors
import socket
import struct
import time
from typing import Any, List, Tuple

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PERIOD = 0.1
DELTA_B64 = base64.b64encode(os.urandom(4800)).decode("ascii")  # 100 ms of PCM16 24 kHz
SESSION_CREATED = json.dumps({"type": "session.created", "event_id": "event_0", "session": {
    "id": "sess_LOAD", "object": "realtime.session", "type": "realtime", "model": "gpt-realtime",
    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}},
              "output": {"format": {"type": "audio/pcm", "rate": 24000}}}}}).encode()

TRANSLATION_SESSION = {"id": "sess_LOADTR", "type": "translation", "model": "gpt-realtime-translate",
                       "expires_at": 1797000000, "audio": {"input": {"noise_reduction": None, "transcription": {
                           "model": "gpt-realtime-whisper"}}, "output": {"language": "es"}}}
TRANSLATION_CREATED = json.dumps({"type": "session.created", "event_id": "event_0",
                                  "session": TRANSLATION_SESSION}).encode()
TRANSLATION_UPDATED = json.dumps({"type": "session.updated", "event_id": "event_u",
                                  "session": TRANSLATION_SESSION}).encode()
TRANSLATION_CLOSED = b'{"type":"session.closed","event_id":"event_c"}'


def frame(op: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | op, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | op, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | op, 127, n) + payload


#: the answer to each audio frame: an input and an output transcript fragment, 200 ms of translated audio
TRANSLATED = b"".join(frame(1, event.encode()) for event in (
    '{"type":"session.input_transcript.delta","event_id":"event_i","delta":"heard ","elapsed_ms":0}',
    '{"type":"session.output_transcript.delta","event_id":"event_o","delta":"translated ","elapsed_ms":0}',
    '{"type":"session.output_audio.delta","event_id":"event_a","delta":"%s","format":"pcm16","sample_rate":24000,'
    '"channels":1,"elapsed_ms":0}' % base64.b64encode(os.urandom(9600)).decode()))


def unmask(key: bytes, data: bytes) -> bytes:
    n = len(data)
    return (int.from_bytes(data, "little") ^ int.from_bytes(key * (n // 4) + key[:n % 4], "little")).to_bytes(
        n, "little")


class Conn:
    def __init__(self, sock: socket.socket, index: int) -> None:
        self.sock = sock
        self.index = index
        self.inbuf = b""
        self.out = bytearray()
        self.open = False  # upgraded
        self.translation = False  # a /realtime/translations session
        self.closed = False
        self.deltas_sent = 0
        self.audio_in = 0
        self.appends = 0

    def feed(self) -> List[Tuple[int, bytes]]:
        msgs = []
        buf, pos = self.inbuf, 0
        while len(buf) - pos >= 2:
            b2 = buf[pos + 1]
            n, head = b2 & 0x7F, 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + 4 + n:
                break
            key = buf[pos + head:pos + head + 4]
            msgs.append((buf[pos] & 0x0F, unmask(key, buf[pos + head + 4:pos + head + 4 + n])))
            pos += head + 4 + n
        self.inbuf = buf[pos:]
        return msgs


class LoadServer:
    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1024)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.port = self.lsock.getsockname()[1]
        self.conns: List[Conn] = []
        self.due: List[Tuple[float, int]] = []  # (when, conn index)
        self.streaming = False

    def run(self, control: Any) -> None:
        """Serve until ``control`` (a multiprocessing connection) says ``"stop"``; ``"start"`` begins the deltas,
        ``"pause"`` stops them, ``"stats"`` answers with the per-connection counts."""
        control_fd = control.fileno()
        self.sel.register(control_fd, selectors.EVENT_READ, "control")
        while True:
            timeout = None
            if self.streaming and self.due:
                timeout = max(0.0, self.due[0][0] - time.monotonic())
            for key, mask in self.sel.select(timeout):
                if key.data is None:
                    self._accept()
                elif key.data == "control":
                    cmd = control.recv()
                    if cmd == "stop":
                        return
                    self._command(cmd, control)
                else:
                    conn = key.data
                    if mask & selectors.EVENT_READ:
                        self._read(conn)
                    if mask & selectors.EVENT_WRITE and not conn.closed:
                        self._write(conn)
            if self.streaming:
                self._tick()

    def _command(self, cmd: str, control: Any) -> None:
        if cmd == "start":
            now = time.monotonic()
            live = [c for c in self.conns if c.open and not c.closed and not c.translation]
            self.due = [(now + PERIOD * i / max(1, len(live)), c.index) for i, c in enumerate(live)]
            heapq.heapify(self.due)
            self.streaming = True
        elif cmd == "pause":
            self.streaming = False
            self.due = []
        elif cmd == "stats":
            control.send([(c.deltas_sent, c.audio_in, c.appends) for c in self.conns])

    def _tick(self) -> None:
        now = time.monotonic()
        while self.due and self.due[0][0] <= now:
            when, i = heapq.heappop(self.due)
            conn = self.conns[i]
            if conn.closed:
                continue
            event = ('{"type":"response.output_audio.delta","event_id":"t%.6f","response_id":"resp_1",'
                     '"item_id":"item_1","output_index":0,"content_index":0,"delta":"%s"}'
                     % (time.monotonic(), DELTA_B64))
            conn.deltas_sent += 1
            self._send(conn, frame(1, event.encode()))
            heapq.heappush(self.due, (when + PERIOD, i))

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.lsock.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            conn = Conn(sock, len(self.conns))
            self.conns.append(conn)
            self.sel.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.inbuf += data
        if not conn.open:
            if b"\r\n\r\n" not in conn.inbuf:
                return
            head, _, conn.inbuf = conn.inbuf.partition(b"\r\n\r\n")
            key = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
                   if ln.lower().startswith(b"sec-websocket-key")][0]
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.open = True
            conn.translation = b"/realtime/translations" in head.split(b"\r\n", 1)[0]
            created = TRANSLATION_CREATED if conn.translation else SESSION_CREATED
            self._send(conn, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + frame(1, created))
            if self.streaming and not conn.translation:
                heapq.heappush(self.due, (time.monotonic() + PERIOD, conn.index))
        for op, payload in conn.feed():
            if op == 1:
                if conn.translation and payload.find(b'"session.input_audio_buffer.append"', 0, 80) < 0:
                    self._translate(conn, payload)  # session.update or session.close
                    continue
                key = payload.find(b'"audio"')
                if key >= 0:
                    start = payload.index(b'"', payload.index(b":", key + 7)) + 1
                    end = payload.index(b'"', start)
                    pad = payload[end - 2:end].count(b"=")
                    conn.audio_in += (end - start) * 3 // 4 - pad
                    conn.appends += 1
                if conn.translation:  # the frame, translated
                    self._send(conn, TRANSLATED)
                    conn.deltas_sent += 1
            elif op == 9:
                self._send(conn, frame(10, payload))
            elif op == 8:
                self._send(conn, frame(8, payload[:2]))
                self._drop(conn)
                return

    def _translate(self, conn: Conn, payload: bytes) -> None:
        """A translation session's answer to a client event other than audio."""
        if b'"session.update"' in payload:
            self._send(conn, frame(1, TRANSLATION_UPDATED))
        elif b'"session.close"' in payload:
            self._send(conn, frame(1, TRANSLATION_CLOSED))

    def _send(self, conn: Conn, data: bytes) -> None:
        conn.out += data
        self._write(conn)

    def _write(self, conn: Conn) -> None:
        if conn.closed:
            return
        try:
            n = conn.sock.send(conn.out)
            del conn.out[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop(conn)
            return
        self.sel.modify(conn.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0), conn)

    def _drop(self, conn: Conn) -> None:
        if not conn.closed:
            conn.closed = True
            try:
                self.sel.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()


def serve(control: Any) -> None:
    """Child-process entry point: send the port, then serve until told to stop."""
    server = LoadServer()
    control.send(server.port)
    server.run(control)
