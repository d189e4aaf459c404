"""Fake PortAudio streams and helpers for unit tests (no PyAudio, no sound card)."""
import threading
import time
from typing import Dict, List, Optional

import numpy as np

PA_INPUT_OVERFLOWED = -9981


def tone(freq: float, seconds: float, rate: int, amplitude: float = 8000.0, channels: int = 1,
         phase_samples: int = 0) -> bytes:
    n = int(round(seconds * rate))
    t = (np.arange(n) + phase_samples) / float(rate)
    x = np.round(np.sin(2 * np.pi * freq * t) * amplitude).astype("<i2")
    if channels > 1:
        x = np.repeat(x, channels)
    return x.tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = samples(pcm)
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


class _FakeStream:
    """What both fake streams record: which thread stopped and closed them (streams belong to one thread)."""

    threads: Dict[str, str]
    stopped: bool
    closed: bool

    def stop_stream(self) -> None:
        self.threads["stop"] = threading.current_thread().name
        self.stopped = True

    def close(self) -> None:
        self.threads["close"] = threading.current_thread().name
        self.closed = True


class FakeInputStream(_FakeStream):
    """Blocking input stream producing a sine; ``errors`` maps read-call numbers to exceptions to raise."""

    def __init__(self, rate: int, channels: int = 1, freq: float = 1000.0, total_seconds: Optional[float] = None,
                 errors: Optional[Dict[int, BaseException]] = None, always_error: Optional[BaseException] = None,
                 supports_kw: bool = True, pace: float = 0.0) -> None:
        self.rate, self.channels, self.freq = rate, channels, freq
        self.total = None if total_seconds is None else int(total_seconds * rate)
        self.errors = dict(errors or {})
        self.always_error = always_error
        self.supports_kw = supports_kw
        self.pace = pace
        self.pos = 0
        self.calls = 0
        self.kw_seen: List[object] = []
        self.threads: Dict[str, str] = {}
        self.stopped = self.closed = False

    def read(self, n: int, *args, **kwargs) -> bytes:
        self.threads.setdefault("read", threading.current_thread().name)
        if kwargs and not self.supports_kw:
            raise TypeError("read() got an unexpected keyword argument 'exception_on_overflow'")
        self.kw_seen.append(kwargs.get("exception_on_overflow"))
        self.calls += 1
        if self.always_error is not None:
            raise self.always_error
        if self.calls in self.errors:
            raise self.errors[self.calls]
        if self.total is not None and self.pos >= self.total:
            time.sleep(0.002)
            return b""
        if self.pace:
            time.sleep(self.pace)
        if self.total is not None:
            n = min(n, self.total - self.pos)
        data = tone(self.freq, n / self.rate, self.rate, channels=self.channels, phase_samples=self.pos)
        self.pos += n
        return data


class FakeOutputStream(_FakeStream):
    """Blocking output stream recording what is written.

    With ``gated=True`` each ``write`` waits for a permit from :meth:`allow` (so tests decide how many blocks the
    "device" takes); otherwise writes return at once (optionally sleeping ``pace`` seconds).
    """

    def __init__(self, gated: bool = False, pace: float = 0.0, fail: Optional[BaseException] = None) -> None:
        self.gated = gated
        self.pace = pace
        self.fail = fail
        self.permits = threading.Semaphore(0)
        self.writes: List[bytes] = []
        self.lock = threading.Lock()
        self.in_write = threading.Event()
        self.threads: Dict[str, str] = {}
        self.aborts = 0
        self.starts = 0
        self.stopped = self.closed = False
        self.released = False

    def allow(self, n: int = 1) -> None:
        for _ in range(n):
            self.permits.release()

    def release_all(self) -> None:
        self.released = True
        self.allow(10_000)

    def write(self, data: bytes) -> None:
        self.threads.setdefault("write", threading.current_thread().name)
        self.in_write.set()
        if self.gated and not self.released:
            self.permits.acquire()
        if self.pace:
            time.sleep(self.pace)
        self.in_write.clear()
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.writes.append(bytes(data))

    @property
    def data(self) -> bytes:
        with self.lock:
            return b"".join(self.writes)

    def nonsilent_bytes(self) -> int:
        x = np.frombuffer(self.data, dtype="<i2")
        nz = np.nonzero(x)[0]
        return 0 if len(nz) == 0 else int(nz[-1] - nz[0] + 1) * 2

    def abort(self) -> None:
        self.threads["abort"] = threading.current_thread().name
        self.aborts += 1

    def start_stream(self) -> None:
        self.starts += 1
