"""Helpers for the kiosk tests: a sink with a controllable clock, a session recording commands, fake microphones
and a subprocess runner for scripts/kiosk.py."""
import os
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional

from realtime_sync.audio.interfaces import ChunkSource

RATE = 24000


def ms_bytes(ms: float) -> bytes:
    """``ms`` of non-silent PCM16 at 24 kHz."""
    return b"\x10\x00" * int(RATE * ms / 1000)


class FakeSink:
    """A sink whose "device" plays only when told (:meth:`play`), with per-item clocks like the Speaker's."""

    wire_format = "pcm16"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: List[List[int]] = []  # [item generation, frames]
        self.gen = 0
        self.item_played = 0
        self.item_received = 0
        self.resets = 0
        self.flushes = 0
        self.written = bytearray()
        self.flush_gate: Optional[threading.Event] = None  # when set, flush(wait=True) blocks on it
        self.flush_threads: List[str] = []
        self.override: Optional[Dict[str, float]] = None

    def write(self, data: bytes) -> int:
        with self.lock:
            frames = len(data) // 2
            self.queue.append([self.gen, frames])
            self.item_received += frames
            self.written += data
            return frames

    def play(self, ms: float) -> None:
        """The device plays ``ms`` of the queue."""
        frames = int(RATE * ms / 1000)
        with self.lock:
            while frames and self.queue:
                seg = self.queue[0]
                take = min(frames, seg[1])
                if seg[0] == self.gen:
                    self.item_played += take
                seg[1] -= take
                frames -= take
                if not seg[1]:
                    self.queue.pop(0)

    def flush(self, wait: bool = True, timeout: float = 1.0) -> float:
        self.flush_threads.append(threading.current_thread().name)
        if wait and self.flush_gate is not None:
            self.flush_gate.wait(timeout)
        with self.lock:
            self.flushes += 1
            frames = sum(seg[1] for seg in self.queue)
            self.queue.clear()
            return frames * 1000.0 / RATE

    def reset_clock(self) -> None:
        with self.lock:
            self.gen += 1
            self.resets += 1
            self.item_played = self.item_received = 0

    @property
    def played_ms(self) -> float:
        if self.override:
            return self.override["played"]
        return self.item_played * 1000.0 / RATE

    @property
    def received_ms(self) -> float:
        if self.override:
            return self.override["received"]
        return self.item_received * 1000.0 / RATE

    @property
    def is_playing(self) -> bool:
        with self.lock:
            return bool(self.queue)

    def drain(self, timeout: Optional[float] = None) -> bool:
        return not self.is_playing


def delta(item: str, audio: bytes, response: str = "resp_1", content_index: int = 0) -> Dict[str, Any]:
    import base64

    return {"type": "response.output_audio.delta", "event_id": "e", "response_id": response, "item_id": item,
            "output_index": 0, "content_index": content_index, "delta": base64.b64encode(audio).decode()}


def created(response: str = "resp_1") -> Dict[str, Any]:
    return {"type": "response.created", "event_id": "e", "response": {"id": response, "status": "in_progress"}}


def done(response: str = "resp_1", status: str = "completed") -> Dict[str, Any]:
    return {"type": "response.done", "event_id": "e", "response": {"id": response, "status": status}}


def speech_started(ms: int = 1000) -> Dict[str, Any]:
    return {"type": "input_audio_buffer.speech_started", "event_id": "e", "audio_start_ms": ms, "item_id": "u1"}


def speech_stopped(ms: int = 2000) -> Dict[str, Any]:
    return {"type": "input_audio_buffer.speech_stopped", "event_id": "e", "audio_end_ms": ms, "item_id": "u1"}


class EchoMic(ChunkSource):
    """A fake microphone next to an open speaker: 20 ms chunks at real-time pace, hearing the speaker's audio
    (a loud 440 Hz tone) whenever it plays, silence otherwise. ``speech`` (wire PCM16) is "said" once
    :meth:`say` is called. Consumer interface of :class:`~realtime_sync.audio.Microphone`."""

    def __init__(self, speaker: Any, chunk_ms: int = 20) -> None:
        import numpy as np

        self.speaker = speaker
        self.chunk_ms = chunk_ms
        n = RATE * chunk_ms // 1000
        self.nbytes = n * 2
        t = np.arange(n) / RATE
        self.echo = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
        self.gate: Any = None
        self.chunks = self.muted_chunks = self.echo_chunks = 0
        self.closed_event = threading.Event()
        self._speech = b""
        self._t0: Optional[float] = None

    def say(self, pcm: bytes) -> None:
        self._speech += pcm

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        if self._t0 is None:
            self._t0 = time.monotonic()
        due = self._t0 + self.chunks * self.chunk_ms / 1000.0
        if self.closed_event.wait(max(0.0, due - time.monotonic())):
            return b""
        self.chunks += 1
        if self._speech:
            chunk, self._speech = self._speech[:self.nbytes], self._speech[self.nbytes:]
            chunk += bytes(self.nbytes - len(chunk))
        elif self.speaker.is_playing:
            chunk = self.echo
            self.echo_chunks += 1
        else:
            chunk = bytes(self.nbytes)
        if self.gate is not None and self.gate():
            self.muted_chunks += 1
            return bytes(self.nbytes)
        return chunk

    def close(self, timeout: float = 0.0) -> None:
        self.closed_event.set()


def appended_audio(server: Any) -> bytes:
    import base64

    return b"".join(base64.b64decode(e["audio"]) for e in server.received
                    if e["type"] == "input_audio_buffer.append")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "kiosk.py")
#: what the simulator's default responder says to audio it has no transcript for
REPLY = "I heard you. How can I help you today?"


class Proc:
    """A subprocess whose stdout lines are collected by a thread."""

    def __init__(self, args, env, stdin=None):
        self.p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=stdin if stdin is not None else subprocess.DEVNULL)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def saw(self, text):
        return any(text in line for line in self.lines)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        finally:
            self.t.join(5)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
