"""The input side of a translation session: one continuous stream of 200 ms frames on the I/O thread.

:class:`TranslationStream` is the session's only audio job. It stays at the head of the connection's audio lane
from the session's start to its close and, each time the I/O thread asks, hands out one frame: the app's audio
(every ``send_audio`` source in turn, re-chunked by a :class:`~.pacing.FrameChunker`) or, when the app has
nothing to send, a frame of silence once the :class:`~.pacing.SilenceSchedule` says it is due. When nothing is
ready it answers with the time the next silence frame is due, so the I/O loop's timer wakes it: no thread of
its own, no polling. Closing ends the input: live sources are told to stop (what they hold still goes out),
queued ones drain, no more silence; then the stream ends and the ``session.close`` queued behind it goes out.

:func:`source_job` turns a ``send_audio`` source into a job of 200 ms chunks at 24 kHz mono, converting raw PCM of
another rate or channel count (and WAV files of any rate) with the audio extra.
"""
import logging
import os
import threading
from collections import deque
from typing import Any, Callable, Deque, Iterable, Iterator, Optional

from .._connection.audio_jobs import AudioJob, make_audio_job, push_audio_job
from ..errors import AudioFormatError, ConfigurationError, SessionClosedError
from ..protocol.audio_formats import PCM16_RATE, bytes_per_second
from ..protocol.translation import FRAME_BYTES, FRAME_MS
from ..protocol.wav import is_wav_header
from .pacing import SILENCE_FRAME, FrameChunker, SilenceSchedule

__all__ = ["TranslationStream", "source_job", "push_job"]

log = logging.getLogger("realtime_sync.translation")


class TranslationStream(AudioJob):
    """The continuous input of one translation session (see the module docstring). Sources are added from any
    thread (:meth:`add_source`); everything else runs on the I/O thread, as the connection's outbox asks."""

    def __init__(self, *, fill_silence: bool = True, grace: float = 0.5) -> None:
        super().__init__(push=True, chunk_bytes=FRAME_BYTES, bps=bytes_per_second(None), sample_width=2,
                         name="translation")
        self.schedule = SilenceSchedule(grace=grace)
        self.fill_silence = fill_silence
        self._sources: Deque[AudioJob] = deque()
        self._src_lock = threading.Lock()
        self._chunker = FrameChunker()
        self._frame: Optional[bytes] = None  # the frame next_chunk hands out
        self._frame_silent = False
        self._ending = False
        self._now = 0.0
        self.audio_frames = 0  #: frames of the app's audio sent
        self.silence_frames = 0  #: frames of silence sent

    # -- any thread -----------------------------------------------------------------------------------------------
    def add_source(self, job: AudioJob) -> None:
        """Queue a source after the ones before it; raises SessionClosedError once the input has ended."""
        with self._src_lock:
            if self._ending or self.finished_or_cancelled():
                job.cancel()
                job.finish()
                raise SessionClosedError("the translation session is closing: no more audio is accepted")
            self._sources.append(job)
        job.wake = self._wake
        self.wake()

    def _wake(self) -> None:
        self.wake()

    def end_input(self) -> None:
        """No more sources and no more silence: live sources stop (what they hold still goes out), queued ones
        drain, then the stream ends."""
        with self._src_lock:
            self._ending = True
            sources = list(self._sources)
        self.schedule.stop()
        for src in sources:
            if src.live:
                src.end_input()
        self.wake()

    @property
    def ending(self) -> bool:
        return self._ending

    @property
    def sources(self) -> int:
        """Sources queued or being sent."""
        return len(self._sources)

    # -- the I/O thread (the outbox) ------------------------------------------------------------------------------
    def ready_at(self, now: float) -> Optional[float]:
        """``now`` when a frame is ready (or the stream is over), else when to ask again (the next silence
        frame's time, or a paced source's), or None to wait for a source to wake it."""
        self._now = now
        self.schedule.start(now)
        if self._frame is not None:
            return now
        wake = self._fill_from_sources(now)
        frame = self._chunker.pop()
        if frame is not None:
            self._frame, self._frame_silent = frame, False
            return now
        if self._ending and not self._sources:
            return now  # next_chunk() returns None: the stream is over
        if self.fill_silence:
            due = self.schedule.due_at()
            if due is not None:
                if due <= now:
                    self._frame, self._frame_silent = SILENCE_FRAME, True
                    return now
                wake = due if wake is None else min(wake, due)
        return wake

    def _fill_from_sources(self, now: float) -> Optional[float]:
        """Read sources until a whole frame is held; returns when a paced source has more (or None)."""
        chunker = self._chunker
        while not chunker.ready:
            with self._src_lock:
                src = self._sources[0] if self._sources else None
            if src is None:
                return None
            if src.finished_or_cancelled():  # cancelled through its handle: its partial frame is dropped
                chunker.discard()
                self._pop_source(src, None)
                continue
            at = src.ready_at(now)
            if at is None:
                return None  # its feeder wakes the stream when it has audio
            if at > now:
                return at
            try:
                chunk = src.next_chunk()
            except Exception as exc:  # the source failed (bad file, microphone error): that source only
                log.warning("audio source failed: %s", type(exc).__name__)
                chunker.discard()
                self._pop_source(src, exc)
                continue
            if chunk is None:
                chunker.flush()  # its tail, padded with silence to a whole frame
                self._pop_source(src, None)
                continue
            if not src.bytes_sent:  # its first audio: the silence schedule starts level with it
                self.schedule.level(now)
            src.sent(len(chunk))
            chunker.feed(chunk)
        return None

    def _pop_source(self, src: AudioJob, error: Optional[BaseException]) -> None:
        with self._src_lock:
            if self._sources and self._sources[0] is src:
                self._sources.popleft()
        src.finish(error)

    def next_chunk(self) -> Optional[bytes]:
        """The frame :meth:`ready_at` prepared; None once the input ended and everything went out."""
        frame, self._frame = self._frame, None
        return frame

    def sent(self, n: int) -> None:
        super().sent(n)
        self.schedule.sent(self._now, silence=self._frame_silent)
        if self._frame_silent:
            self.silence_frames += 1
        else:
            self.audio_frames += 1

    def finish(self, error: Optional[BaseException] = None) -> None:
        """The stream ends (input over, session closed, or the connection failed): every source still queued
        ends with it, failing with ``error`` if there is one, else cancelled."""
        if self.finished.is_set():
            return
        with self._src_lock:
            self._ending = True
            sources = list(self._sources)
            self._sources.clear()
        self.schedule.stop()
        super().finish(error)
        final = error if error is not None else self.error
        for src in sources:
            src.cancel(final)
            src.finish(final)


# -- sources ----------------------------------------------------------------------------------------------------------
def _resampler(rate: int, channels: int) -> Any:
    try:
        from ..audio.resample import StreamResampler
    except ImportError:
        raise AudioFormatError(f"audio at {rate} Hz with {channels} channel(s) must become 24000 Hz mono for a "
                               "translation session: install the audio extra to convert it (pip install "
                               "realtime_sync[audio]) or convert it first") from None
    return StreamResampler(rate, PCM16_RATE, channels)


def _converted(chunks: Iterable[Any], convert: Callable[[bytes], bytes], flush: Callable[[], bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise AudioFormatError(f"audio must be bytes, got {type(chunk).__name__}")
        out = convert(bytes(chunk))
        if out:
            yield out
    tail = flush()
    if tail:
        yield tail


def _file_chunks(fh: Any, size: int) -> Iterator[bytes]:
    try:
        while True:
            data = fh.read(size)
            if not data:
                return
            yield data
    finally:
        fh.close()


def source_job(source: Any, *, sample_rate: int = PCM16_RATE, channels: int = 1,
               realtime: bool = False) -> AudioJob:
    """A job of 200 ms chunks of 24 kHz PCM16 mono for ``source`` (what ``send_audio`` takes: bytes, a path, a
    binary file, an iterable of chunks). WAV files say their own format and are converted as needed; raw PCM16
    at another ``sample_rate`` or with more ``channels`` is converted with the audio extra. Raises
    :class:`~realtime_sync.errors.AudioFormatError` for audio it cannot convert, at once."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConfigurationError(f"sample_rate must be a positive number of samples per second, not {sample_rate!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ConfigurationError(f"channels must be a positive integer, not {channels!r}")
    if sample_rate == PCM16_RATE and channels == 1:
        return make_audio_job(source, chunk_ms=FRAME_MS, realtime=realtime)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise AudioFormatError(f"no such audio file: {path}")
        with open(path, "rb") as f:
            if is_wav_header(f.read(12)):
                raise ConfigurationError("sample_rate and channels describe raw PCM; a WAV file's header gives its "
                                         "own (leave them out)")
        source = _file_chunks(open(path, "rb"), FRAME_BYTES)
    resampler = _resampler(sample_rate, channels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = resampler.process(bytes(source)) + resampler.flush()
        return make_audio_job(data[:len(data) - len(data) % 2], chunk_ms=FRAME_MS, realtime=realtime)
    if hasattr(source, "read"):
        read = source.read
        source = iter(lambda: read(FRAME_BYTES), b"")
    if not hasattr(source, "__iter__"):
        raise TypeError(f"send_audio takes bytes, a file path, a file object or an iterable of bytes, "
                        f"not {type(source).__name__}")
    return make_audio_job(_converted(source, resampler.process, resampler.flush), chunk_ms=FRAME_MS,
                          realtime=realtime)


def push_job() -> AudioJob:
    """A job the app writes 24 kHz PCM16 mono into (``stream_audio()``), in 200 ms chunks."""
    return push_audio_job(chunk_ms=FRAME_MS)
