"""Microphone capture as an iterable of wire-format chunks.

``session.send_audio(Microphone())`` streams the mic the way it would stream a file: each item is about
``chunk_ms`` of audio in the session's wire format (PCM16 24 kHz mono, or G.711 at 8 kHz).

Design (see USER-NEEDS items 11-13):

- The PyAudio stream is opened, read, stopped and closed only by the Microphone's own reader thread (stopping a
  stream from another thread while it is read causes -9999 and worse on some systems).
- The device is opened at its native rate (``device_rate=None``) and converted with a stateful resampler; a
  stereo-only device is downmixed.
- Reads use ``exception_on_overflow=False`` (with a fallback for old PyAudio without that keyword). An input
  overflow or a transient read error never ends the capture: they are counted (``overflows``, ``read_errors``) and
  logged at most once a second. PyAudio hides overflows when ``exception_on_overflow=False``: only overflows that
  PortAudio/PyAudio still raise (old PyAudio, or ``exception_on_overflow=True``) can be counted.
- Chunks go to a bounded queue: when the consumer is too slow the oldest chunk is dropped (``dropped_chunks``).
- ``gate`` (e.g. an :class:`~realtime_sync.audio.echo.EchoGuard`) is called once per chunk; when it returns True
  the chunk is replaced by silence of the same length, so the server's audio timeline stays continuous.
"""
import collections
import logging
import threading
import time
from typing import Any, Callable, Deque, Optional, Union

from realtime_sync.audio import g711
from realtime_sync.protocol.audio_formats import PCM16, normalize_format, silence, wire_rate, wire_sample_width
from realtime_sync.audio.device_helpers import RateLimitedLog
from realtime_sync.audio.interfaces import ChunkSource
from realtime_sync.audio.devices import DeviceInfo, pa_error_code
from realtime_sync.audio.streams import DeviceStream, GivenStream, open_device_stream
from realtime_sync.errors import AudioDeviceError
from realtime_sync.errors import RealtimeTimeoutError

__all__ = ["Microphone", "default_frames_per_buffer"]

logger = logging.getLogger("realtime_sync.audio.microphone")

PA_INPUT_OVERFLOWED = -9981


def default_frames_per_buffer(rate: int) -> int:
    """A generous PortAudio input buffer: the power of two holding >= 80 ms (4096 frames at 48 kHz)."""
    n = 256
    while n < rate * 0.08:
        n *= 2
    return n


class Microphone(ChunkSource):
    """Capture from an input device as an iterator of wire-format chunks of ``chunk_ms`` each.

    :param device: None (default input device), an index, or a case-insensitive name substring.
    :param wire_format: "pcm16" (24 kHz) or "g711_ulaw"/"g711_alaw" (8 kHz); GA names accepted.
    :param chunk_ms: duration of each yielded chunk.
    :param device_rate: rate to open the device at; None = the device's native default rate.
    :param channels: device channels; None tries mono then stereo (downmixed).
    :param frames_per_buffer: PortAudio buffer size in frames; None = >= 80 ms (4096 at 48 kHz).
    :param gate: callable returning True while the mic must be muted (yields silence instead).
    :param max_queue_ms: bound of the internal queue; the oldest chunks are dropped beyond it.
    :param quiet: silence ALSA/JACK start-up noise (see :func:`~realtime_sync.audio.devices.open_pyaudio`).
    :param open_timeout: seconds to wait for the reader thread to open the device.
    :param max_consecutive_errors: read errors in a row (not overflows) after which the device counts as gone;
        iteration then raises :class:`AudioDeviceError`.
    """

    def __init__(self, device: Union[None, int, str, DeviceInfo] = None, *, wire_format: str = PCM16,
                 chunk_ms: int = 20, device_rate: Optional[int] = None, channels: Optional[int] = None,
                 frames_per_buffer: Optional[int] = None, gate: Optional[Callable[[], bool]] = None,
                 max_queue_ms: int = 2000, quiet: Optional[bool] = None, open_timeout: float = 10.0,
                 max_consecutive_errors: int = 50, exception_on_overflow: bool = False,
                 _opener: Optional[Callable[[], Any]] = None) -> None:
        if chunk_ms <= 0:
            raise ValueError(f"chunk_ms must be positive (got {chunk_ms})")
        self.wire_format = normalize_format(wire_format)
        self.wire_rate = wire_rate(self.wire_format)
        self.chunk_ms = chunk_ms
        self.gate = gate
        self.max_consecutive_errors = max(1, int(max_consecutive_errors))
        self._exception_on_overflow = bool(exception_on_overflow)
        samples = max(1, int(round(self.wire_rate * chunk_ms / 1000.0)))
        self.chunk_bytes = samples * wire_sample_width(self.wire_format)
        self._silence = silence(self.wire_format, self.chunk_bytes)
        self._max_chunks = max(1, int(max_queue_ms // chunk_ms))
        if _opener is None:
            fpb: Any = frames_per_buffer or default_frames_per_buffer

            def _opener() -> DeviceStream:
                return open_device_stream("input", device, rate=device_rate, channels=channels,
                                          frames_per_buffer=fpb, quiet=quiet)
        self._opener = _opener
        self._cond = threading.Condition()
        self._queue: Deque[bytes] = collections.deque()
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._closed = False
        self._reader_done = False
        self._fatal: Optional[BaseException] = None
        self._open_error: Optional[BaseException] = None
        self._kw_supported = True
        self._log_overflow = RateLimitedLog(logger)
        self._log_error = RateLimitedLog(logger)
        self._log_gate = RateLimitedLog(logger, 10.0)
        self.overflows = 0
        self.read_errors = 0
        self.dropped_chunks = 0
        self.muted_chunks = 0
        self.chunks = 0
        self.device: Optional[DeviceInfo] = None
        self.device_rate = 0
        self.channels = 0
        self._thread = threading.Thread(target=self._run, name="realtime_sync-mic", daemon=True)
        self._thread.start()
        if not self._opened.wait(open_timeout):
            self._stop.set()
            raise RealtimeTimeoutError(f"microphone did not open within {open_timeout} s")
        if self._open_error is not None:
            self._thread.join(1.0)
            self._closed = True
            raise self._open_error

    @classmethod
    def from_stream(cls, stream: Any, *, device_rate: int, channels: int = 1, **kwargs: Any) -> "Microphone":
        """Capture from an already opened blocking stream (``read(n[, exception_on_overflow])``, ``stop_stream()``,
        ``close()``) delivering int16 at ``device_rate`` with ``channels`` channels. The Microphone owns it from then
        on: it is read, stopped and closed by the reader thread. This is also the seam tests use."""
        return cls(_opener=lambda: GivenStream(stream, device_rate, channels), **kwargs)

    # ----------------------------------------------------------------------------------------------- reader thread
    def _run(self) -> None:
        try:
            ds = self._opener()
        except BaseException as exc:  # handed to the constructor
            self._open_error = exc
            self._reader_done = True
            self._opened.set()
            return
        self.device = ds.device
        self.device_rate = int(ds.rate)
        self.channels = int(ds.channels)
        encoder = g711.WireEncoder(self.wire_format, self.device_rate, self.channels)
        read_frames = max(1, int(round(self.device_rate * self.chunk_ms / 1000.0)))
        self._opened.set()
        logger.debug("microphone reading %d frame(s) per read at %d Hz, %d ch", read_frames, self.device_rate,
                     self.channels)
        pending = bytearray()
        consecutive = 0
        try:
            while not self._stop.is_set():
                try:
                    data = self._read(ds.stream, read_frames)
                except Exception as exc:  # counted, never fatal at once
                    if pa_error_code(exc) == PA_INPUT_OVERFLOWED:
                        self.overflows += 1
                        self._log_overflow(logging.WARNING, "microphone input overflow (%d so far)", self.overflows)
                        continue
                    self.read_errors += 1
                    consecutive += 1
                    self._log_error(logging.WARNING, "microphone read error %s (code %s, %d so far)",
                                    type(exc).__name__, pa_error_code(exc), self.read_errors)
                    if consecutive >= self.max_consecutive_errors:
                        self._fatal = AudioDeviceError(
                            f"microphone failed {consecutive} reads in a row (last: {type(exc).__name__}: {exc})",
                            pa_error=pa_error_code(exc))
                        logger.error("microphone gave up after %d consecutive read errors", consecutive)
                        break
                    self._stop.wait(self.chunk_ms / 1000.0)
                    continue
                consecutive = 0
                if not data:
                    continue
                pending += encoder.encode(data)
                while len(pending) >= self.chunk_bytes:
                    chunk = bytes(pending[:self.chunk_bytes])
                    del pending[:self.chunk_bytes]
                    self._push(self._apply_gate(chunk))
        finally:
            ds.close()
            with self._cond:
                self._reader_done = True
                self._cond.notify_all()
            logger.debug("microphone reader stopped: %d chunks, %d overflows, %d read errors, %d dropped",
                         self.chunks, self.overflows, self.read_errors, self.dropped_chunks)

    def _read(self, stream: Any, frames: int) -> bytes:
        if self._kw_supported:
            try:
                return stream.read(frames, exception_on_overflow=self._exception_on_overflow)
            except TypeError:
                # PyAudio < 0.2.9 has no exception_on_overflow keyword; overflows then raise -9981 (counted).
                self._kw_supported = False
                logger.info("this PyAudio has no exception_on_overflow; overflows will be caught instead")
        return stream.read(frames)

    def _apply_gate(self, chunk: bytes) -> bytes:
        if self.gate is None:
            return chunk
        try:
            muted = bool(self.gate())
        except Exception as exc:  # a broken gate must not kill the mic; fail open
            self._log_gate(logging.ERROR, "microphone gate raised %s; passing audio through", type(exc).__name__)
            return chunk
        if muted:
            self.muted_chunks += 1
            return self._silence
        return chunk

    def _push(self, chunk: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            self._queue.append(chunk)
            self.chunks += 1
            while len(self._queue) > self._max_chunks:
                self._queue.popleft()
                self.dropped_chunks += 1
                self._log_error(logging.WARNING, "microphone consumer too slow: dropped %d chunk(s) so far",
                                self.dropped_chunks)
            self._cond.notify_all()

    # ----------------------------------------------------------------------------------------------- consumer API
    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next chunk; None on timeout; b"" once the microphone is closed (or raises the reader's fatal error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    return b""
                if self._queue:
                    return self._queue.popleft()
                if self._reader_done:
                    self._closed = True
                    if self._fatal is not None:
                        fatal, self._fatal = self._fatal, None
                        raise fatal
                    return b""
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    @property
    def queued_chunks(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 2.0) -> None:
        """Stop capturing (idempotent): iteration ends, the reader thread stops and closes the stream."""
        self._stop.set()
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("microphone reader thread still blocked in read after %.1f s", timeout)

    def __enter__(self) -> "Microphone":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Microphone(format={self.wire_format}, chunk_ms={self.chunk_ms}, device_rate={self.device_rate}, "
                f"channels={self.channels}, overflows={self.overflows}, dropped={self.dropped_chunks})")
