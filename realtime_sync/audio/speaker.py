"""Speaker playback with a flushable jitter buffer and a played-frames clock.

Design (USER-NEEDS items 2, 3 and 14):

- ``write()`` never blocks: it appends model audio to a bounded jitter buffer. Model audio arrives faster than
  real time, so the bound is large (``max_buffer_ms``, 3 minutes by default, ~8.6 MB of 24 kHz PCM16); beyond
  it the *oldest* audio is dropped and counted (``dropped_ms``) - blocking the socket reader would be worse.
- One player thread owns the PyAudio stream after it is opened: it waits for ``preroll_ms`` of audio (or for
  ``drain()``, or for ``preroll_ms`` of wall time when audio trickles in), then does blocking ``stream.write()``
  of fixed ``block_ms`` blocks, resampled statefully from the wire rate to the device rate. When the buffer runs
  dry while playing it writes silence (``underrun_blocks``); after ``idle_ms`` of silence it stops writing.
- The clock counts wire-rate frames of model audio actually handed to the device (``played_frames``), never
  wall time and never audio merely enqueued; resampler output is matched to the input it came from, so audio
  held inside the resampler is not counted as played. ``reset_clock()`` starts a new item: ``played_ms`` and
  ``received_ms`` then only count audio written after that call. ``flush()`` leaves both clocks as they are, so
  the session can send ``conversation.item.truncate`` with ``min(played_ms, received_ms)`` right after it.
- ``flush()`` drops all queued audio at once, waits for the block being written (one ``block_ms`` block) and
  aborts the device buffer so playback stops now (PortAudio ``Pa_AbortStream`` + restart).
"""
import logging
import threading
import time
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from realtime_sync.audio import g711
from realtime_sync.protocol.audio_formats import G711_ALAW, G711_ULAW, PCM16, normalize_format, wire_rate
from realtime_sync.audio.device_helpers import ByteQueue, RateLimitedLog, is_arm
from realtime_sync.audio.clock import PlayClock
from realtime_sync.audio.devices import DeviceInfo
from realtime_sync.errors import AudioDeviceError
from realtime_sync.audio.resample import StreamResampler
from realtime_sync.audio.streams import GivenStream, abort_stream, open_device_stream
from realtime_sync.errors import RealtimeTimeoutError

__all__ = ["Speaker", "LATENCY_SECONDS"]

logger = logging.getLogger("realtime_sync.audio.speaker")

LATENCY_SECONDS = {"low": 0.03, "high": 0.1}
_IDLE, _PREROLL, _PLAYING = "idle", "preroll", "playing"
OnPlayed = Callable[[bytes, int], None]


class Speaker:
    """Play wire-format model audio on an output device; a sink with ``write/flush/drain/close/played_ms``.

    :param device: None (default output), an index, or a case-insensitive name substring.
    :param wire_format: format of the audio given to :meth:`write` ("pcm16" 24 kHz, "g711_ulaw"/"g711_alaw").
    :param device_rate: rate to open the device at; None = its native default rate.
    :param channels: device channels; None tries mono then stereo (the audio is duplicated).
    :param preroll_ms: audio buffered before playback starts after idle (absorbs network jitter).
    :param max_buffer_ms: jitter-buffer bound; beyond it the oldest audio is dropped and counted.
    :param block_ms: size of each blocking device write (and the granularity of the clock and of ``flush``).
    :param latency: "low", "high" (default on ARM) or seconds: sizes PortAudio's buffer (``frames_per_buffer``).
    :param idle_ms: silence written after the buffer ran dry before the player goes idle.
    :param on_played: ``fn(device_pcm16, wire_frames)`` called on the player thread after each device write with
        the mono PCM16 block at the device rate (an AEC reference; silence padding included) and the number of
        model-audio wire frames it completed. Keep it fast; exceptions are logged and ignored.
    :param abort_on_flush: discard the device buffer on :meth:`flush` as well (stops within ~a block).
    """

    nonblocking = True  #: ``write`` only queues (the player thread does the device writes)

    def __init__(self, device: Union[None, int, str, DeviceInfo] = None, *, wire_format: str = PCM16,
                 device_rate: Optional[int] = None, channels: Optional[int] = None, preroll_ms: int = 150,
                 max_buffer_ms: int = 180_000, block_ms: int = 20, latency: Union[None, str, float] = None,
                 idle_ms: int = 500, on_played: Optional[OnPlayed] = None, abort_on_flush: bool = True,
                 quiet: Optional[bool] = None, open_timeout: float = 10.0,
                 _opener: Optional[Callable[[], Any]] = None) -> None:
        self.wire_format = normalize_format(wire_format)
        self.wire_rate = wire_rate(self.wire_format)
        if block_ms <= 0 or preroll_ms < 0 or max_buffer_ms <= 0:
            raise ValueError("block_ms and max_buffer_ms must be positive, preroll_ms >= 0")
        self.block_ms = block_ms
        self.preroll_ms = preroll_ms
        self.max_buffer_ms = max_buffer_ms
        self.idle_ms = idle_ms
        self.on_played = on_played
        self.abort_on_flush = abort_on_flush
        if latency is None:
            latency = "high" if is_arm() else "low"
        self.latency = float(LATENCY_SECONDS[latency] if isinstance(latency, str) else latency)
        self._block_frames = max(1, int(round(self.wire_rate * block_ms / 1000.0)))
        self._preroll_frames = int(self.wire_rate * preroll_ms / 1000)
        self._max_frames = max(self._block_frames, int(self.wire_rate * max_buffer_ms / 1000))
        if _opener is None:
            def _opener() -> Any:
                return open_device_stream("output", device, rate=device_rate, channels=channels,
                                          frames_per_buffer=lambda r: max(64, int(r * self.latency)), quiet=quiet)
        self._opener = _opener
        self._cond = threading.Condition()
        self._buf = ByteQueue()  # PCM16 mono at the wire rate
        self._carry = b""
        self._state = _IDLE
        self._preroll_since = 0.0
        self._drainers = 0
        self._gen = 0
        self._gen_ack = 0
        self._closing = False
        self._abort_on_close = True
        self._writing = 0
        self._clock = PlayClock(self.wire_rate)
        self.underruns = 0
        self.underrun_blocks = 0
        self.write_errors = 0
        self.last_played_monotonic: Optional[float] = None
        self.error: Optional[BaseException] = None
        self._open_error: Optional[BaseException] = None
        self._opened = threading.Event()
        self._log_drop = RateLimitedLog(logger)
        self._log_hook = RateLimitedLog(logger, 10.0)
        self.device: Optional[DeviceInfo] = None
        self.output_latency = 0.0  # seconds of audio the device buffer holds after a write (PortAudio's figure)
        self.device_rate = 0
        self.channels = 0
        self._thread = threading.Thread(target=self._run, name="realtime_sync-speaker", daemon=True)
        self._thread.start()
        if not self._opened.wait(open_timeout):
            self.close()
            raise RealtimeTimeoutError(f"speaker did not open within {open_timeout} s")
        if self._open_error is not None:
            self._thread.join(1.0)
            raise self._open_error

    @classmethod
    def from_stream(cls, stream: Any, *, device_rate: int, channels: int = 1, **kwargs: Any) -> "Speaker":
        """Play into an already opened blocking stream (``write(bytes)``, ``stop_stream()``, ``close()``, optionally
        ``abort()``/``start_stream()``) taking int16 at ``device_rate``; the Speaker owns it from then on. This is
        also the seam tests use."""
        return cls(_opener=lambda: GivenStream(stream, device_rate, channels), **kwargs)

    # ------------------------------------------------------------------------------------------------- producer API
    def write(self, data: bytes) -> int:
        """Enqueue wire-format audio (never blocks). Returns the number of wire frames accepted."""
        if not data:
            return 0
        if self.wire_format == G711_ULAW:
            data = g711.ulaw_decode(data)
        elif self.wire_format == G711_ALAW:
            data = g711.alaw_decode(data)
        with self._cond:
            if self._closing or self.error is not None:
                logger.debug("speaker closed or failed: ignoring %d byte(s)", len(data))
                return 0
            if self._carry:  # a stray odd byte of PCM16 from the previous write
                data = self._carry + bytes(data)
            cut = len(data) - len(data) % 2
            data, self._carry = bytes(data[:cut]), bytes(data[cut:])
            frames = cut // 2
            self._buf.append(data)
            self._clock.received(frames)
            excess = len(self._buf) // 2 - self._max_frames
            if excess > 0:
                self._buf.drop(excess * 2)
                self._clock.dropped_from_queue(excess)
                self._log_drop(logging.WARNING, "speaker buffer over %d ms: dropped %d ms of oldest audio so far",
                               self.max_buffer_ms, self._clock.ms(self._clock.dropped))
            self._cond.notify_all()
        return frames

    def flush(self, wait: bool = True, timeout: float = 1.0) -> float:
        """Drop all queued audio now; returns the milliseconds dropped. With ``wait`` it returns once the block being
        written has finished (so ``played_ms`` is final). The clocks are not reset (see :meth:`reset_clock`)."""
        with self._cond:
            frames = len(self._buf) // 2
            self._buf.clear()
            self._carry = b""
            self._clock.flushed_queue(frames)
            self._state = _IDLE
            self._gen += 1
            gen = self._gen
            self._cond.notify_all()
            if wait and self._thread is not threading.current_thread():
                deadline = time.monotonic() + timeout
                while self._gen_ack < gen and self._thread.is_alive() and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
        if frames:
            logger.debug("speaker flushed %d ms of queued audio", self._ms(frames))
        return self._ms(frames)

    def reset_clock(self) -> None:
        """Start a new item: ``played_ms``/``received_ms`` count from here (audio already queued is not counted)."""
        with self._cond:
            self._clock.reset()

    def drain(self, timeout: Optional[float] = None) -> bool:
        """Block until every queued frame has been written to the device (starting playback if still pre-rolling).
        Returns False on timeout."""
        if self._thread is threading.current_thread():
            return not self.is_playing  # called from on_played: waiting for ourselves would deadlock
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._drainers += 1
            self._cond.notify_all()
            try:
                while self._busy() and self.error is None and self._thread.is_alive():
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining if remaining is not None else 0.5)
                return not self._busy()
            finally:
                self._drainers -= 1

    def close(self, drain: bool = False, timeout: float = 2.0) -> None:
        """Stop the player (idempotent). ``drain=True`` plays the queued audio first (bounded by ``timeout``).
        Queued audio left at close is cut at once (device buffer aborted); a drained device is let to play out."""
        if drain and not self._closing:
            self.drain(timeout)
        with self._cond:
            if self._closing and not self._thread.is_alive():
                return
            self._closing = True
            # audio still queued is cut at once; otherwise the device buffer plays out (Pa_StopStream), so the
            # last ~latency of a drained response is not lost
            self._abort_on_close = self._busy()
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("speaker thread did not stop within %.1f s", timeout)

    def __enter__(self) -> "Speaker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------------ clocks
    def _ms(self, frames: int) -> float:
        return frames * 1000.0 / self.wire_rate

    def _busy(self) -> bool:
        return len(self._buf) > 0 or self._writing > 0 or self._clock.pipeline_frames > 0

    @property
    def played_frames(self) -> int:
        """Wire-rate frames of the current item (since :meth:`reset_clock`) actually written to the device."""
        with self._cond:
            return self._clock.item_played

    @property
    def played_ms(self) -> float:
        return self._ms(self.played_frames)

    @property
    def received_frames(self) -> int:
        with self._cond:
            return self._clock.item_received

    @property
    def received_ms(self) -> float:
        """Wire audio received by :meth:`write` since the last :meth:`reset_clock`."""
        return self._ms(self.received_frames)

    @property
    def queued_ms(self) -> float:
        with self._cond:
            return self._ms(len(self._buf) // 2)

    @property
    def total_played_frames(self) -> int:
        """Wire frames written to the device since the speaker opened (never reset)."""
        with self._cond:
            return self._clock.total_played

    @property
    def dropped_frames(self) -> int:
        """Frames lost to the buffer bound or to device write errors."""
        with self._cond:
            return self._clock.dropped

    @property
    def flushed_frames(self) -> int:
        with self._cond:
            return self._clock.flushed

    @property
    def dropped_ms(self) -> float:
        return self._ms(self.dropped_frames)

    @property
    def is_playing(self) -> bool:
        """True while audio is queued, pre-rolling, or being written (including audio inside the resampler)."""
        with self._cond:
            return self._busy()

    @property
    def closed(self) -> bool:
        return self._closing

    # ------------------------------------------------------------------------------------------------ player thread
    def _next_block(self, gen_seen: int, empty_since: Optional[float]) -> Tuple[str, bytes, int, Optional[float]]:
        """Wait for something to do (lock held). Returns (action, block, real_frames, empty_since)."""
        while True:
            if self._closing:
                return "exit", b"", 0, empty_since
            if self._gen != gen_seen:
                return "flush", b"", 0, None
            now = time.monotonic()
            queued = len(self._buf) // 2
            if self._state == _PLAYING:
                break
            if queued:
                if self._state == _IDLE:
                    self._state, self._preroll_since = _PREROLL, now
                waited = now - self._preroll_since
                if queued >= self._preroll_frames or self._drainers or waited >= self.preroll_ms / 1000.0:
                    self._state = _PLAYING
                    break
                self._cond.wait(self.preroll_ms / 1000.0 - waited)
            else:
                self._cond.wait()
        block = self._buf.read(self._block_frames * 2)
        real = len(block) // 2
        if real:
            if empty_since is not None:
                self.underruns += 1  # audio resumed after the buffer had run dry mid-playback
            self._clock.fed(real)
            self._writing = real
            return "play", block, real, None
        now = time.monotonic()
        if empty_since is None:
            empty_since = now
        if not self._clock.pipeline_frames and now - empty_since >= self.idle_ms / 1000.0:
            self._state = _IDLE
            return "idle", b"", 0, None
        self.underrun_blocks += 1
        return "pad", b"", 0, empty_since

    def _run(self) -> None:
        try:
            ds = self._opener()
        except BaseException as exc:  # handed to the constructor
            self._open_error = exc
            self._opened.set()
            return
        self.device, self.device_rate, self.channels = ds.device, int(ds.rate), int(ds.channels)
        try:
            self.output_latency = float(ds.stream.get_output_latency())
        except Exception:  # injected streams may not report it
            self.output_latency = 0.0
        resampler = StreamResampler(self.wire_rate, self.device_rate, 1)
        ratio = self.wire_rate / float(self.device_rate)
        block_bytes = self._block_frames * 2
        credit = 0.0
        consecutive_errors = 0
        gen_seen = self._gen
        empty_since: Optional[float] = None
        self._opened.set()
        try:
            while True:
                with self._cond:
                    action, block, real, empty_since = self._next_block(gen_seen, empty_since)
                    if action == "flush":
                        gen_seen = self._gen
                        self._clock.discard_pipeline()
                if action == "exit":
                    break
                if action == "flush":
                    resampler.reset()
                    credit = 0.0
                    if self.abort_on_flush:
                        abort_stream(ds.stream, restart=True)
                    with self._cond:
                        self._gen_ack = gen_seen
                        self._cond.notify_all()
                    continue
                if action == "idle":
                    logger.debug("speaker idle")
                    continue
                if len(block) < block_bytes:
                    block += bytes(block_bytes - len(block))
                out = resampler.process(block)
                if out and self.channels > 1:
                    mono = np.frombuffer(out, dtype="<i2")
                    dev = np.repeat(mono, self.channels).tobytes()
                else:
                    dev = out
                ok = True
                if dev:
                    try:
                        ds.stream.write(dev)
                        consecutive_errors = 0
                    except Exception as exc:  # counted; a dead device ends playback below
                        ok = False
                        self.write_errors += 1
                        consecutive_errors += 1
                        self._log_drop(logging.WARNING, "speaker write error %s (%d so far)", type(exc).__name__,
                                       self.write_errors)
                        if consecutive_errors >= 50:
                            self.error = AudioDeviceError(f"speaker failed {consecutive_errors} writes in a row "
                                                          f"(last: {type(exc).__name__}: {exc})")
                with self._cond:
                    credit += (len(out) // 2) * ratio
                    done = self._clock.completed(int(credit), played=ok)
                    confirmed = done if ok else 0
                    credit = 0.0 if not self._clock.pipeline_frames else credit - done
                    if confirmed:
                        self.last_played_monotonic = time.monotonic()
                    self._writing = 0
                    if self.error is not None:
                        self._clock.dropped_from_queue(self._buf.clear() // 2)
                        self._clock.discard_pipeline(flushed=False)
                    self._cond.notify_all()
                if self.on_played is not None and dev:
                    try:
                        self.on_played(out, confirmed)
                    except Exception as exc:  # a broken tap must not stop playback
                        self._log_hook(logging.ERROR, "speaker on_played hook raised %s", type(exc).__name__)
                if self.error is not None:
                    logger.error("speaker stopped: %s", self.error)
                    break
        except BaseException as exc:  # recorded for the owner; drain()/write() see it
            self.error = exc
            logger.exception("speaker player thread failed")
        finally:
            if self._abort_on_close:
                abort_stream(ds.stream, restart=False)
            ds.close(stop=not self._abort_on_close)
            with self._cond:
                self._closing = True
                self._writing = 0
                self._cond.notify_all()
            logger.debug("speaker stopped: played %d ms, %d underrun(s), dropped %d ms, flushed %d ms",
                         self._clock.ms(self._clock.total_played), self.underruns,
                         self._clock.ms(self._clock.dropped), self._clock.ms(self._clock.flushed))

    def __repr__(self) -> str:
        return (f"Speaker(format={self.wire_format}, device_rate={self.device_rate}, channels={self.channels}, "
                f"played_ms={self.played_ms:.0f}, queued_ms={self.queued_ms:.0f})")
