"""Audio sources for ``session.send_audio``: bytes, WAV or raw PCM files, file objects and iterables of chunks.

A source becomes an :class:`AudioJob` that the socket's writer (the I/O thread, or a thread writing directly: see
:mod:`.channel`) drains one chunk (~100 ms) at a time. Sources that
cannot block (bytes, regular files, ``BytesIO``) are read by the writer itself; anything else (a generator, a
:class:`~realtime_sync.audio.Microphone`, a pipe) is read by a small feeder thread into a bounded buffer, so a
blocking source never blocks the writer. The caller gets an :class:`AudioSendHandle` at once.
"""
import io
import logging
import os
import stat
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, Optional, Union

from ..errors import AudioFormatError, RealtimeError, RealtimeTimeoutError
from ..observers import AudioSendStatus
from ..protocol.audio_formats import PCM16, PCM16_RATE, audio_format
from ..protocol.wav import WavInfo, is_wav_header, parse_wav_header
from .delivery import clone_error

__all__ = ["AudioSendHandle", "AudioSendStatus", "AudioJob", "make_audio_job"]

log = logging.getLogger("realtime_sync.audio_jobs")

_FEED_BUFFER_CHUNKS = 32


class AudioSendHandle:
    """What ``send_audio`` returns: the audio streams in the background; wait on it, read progress, or cancel."""

    def __init__(self, job: "AudioJob") -> None:
        self._job = job

    @property
    def done(self) -> bool:
        """True once every chunk was sent, the send was cancelled, or it failed."""
        return self._job.finished.is_set()

    @property
    def bytes_sent(self) -> int:
        """Audio bytes (raw, before base64) written to the socket so far."""
        return self._job.bytes_sent

    @property
    def cancelled(self) -> bool:
        return self._job.cancelled

    @property
    def error(self) -> Optional[BaseException]:
        return self._job.error

    @property
    def status(self) -> AudioSendStatus:
        """PENDING while sending, then COMPLETED or CANCELLED (a failed send has an :attr:`error`)."""
        if not self._job.finished.is_set():
            return AudioSendStatus.PENDING
        return AudioSendStatus.CANCELLED if self._job.cancelled else AudioSendStatus.COMPLETED

    def wait(self, timeout: Optional[float] = None) -> AudioSendStatus:
        """Block until done and say how it ended: COMPLETED (all sent) or CANCELLED; PENDING (falsy) if ``timeout``
        expired first. Raises the error if the source failed or the connection died before everything was sent."""
        if not self._job.finished.wait(timeout):
            return AudioSendStatus.PENDING
        if self._job.error is not None:
            raise clone_error(self._job.error)
        return self.status

    def cancel(self) -> None:
        """Stop sending (chunks already sent stay in the server's input buffer)."""
        self._job.cancel()

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "done" if self.done else "sending"
        return f"<AudioSendHandle {state} bytes_sent={self.bytes_sent}>"


class AudioInputStream(AudioSendHandle):
    """What ``session.stream_audio()`` returns: write audio as it comes (a microphone callback, a decoder) without
    a thread of ours; it goes out as ~``chunk_ms`` appends between commands. :meth:`close` ends the input (what is
    buffered still goes out, then the stream completes); :meth:`cancel` stops at once. One writer at a time."""

    def write(self, data: Union[bytes, bytearray, memoryview], timeout: Optional[float] = 5.0) -> None:
        """Queue audio (PCM16 24 kHz mono, or the session's input format). Returns at once unless about 3 s of
        audio are already waiting; then waits up to ``timeout`` (RealtimeTimeoutError). Raises the connection's
        error if it ended, SessionClosedError-like errors after :meth:`close`/:meth:`cancel`."""
        job = self._job
        if job.finished.is_set() and job.error is not None:
            raise clone_error(job.error)
        if not job.push(data, timeout):
            if job.error is not None:
                raise clone_error(job.error)
            raise RealtimeError("the audio stream was closed or cancelled: nothing more can be written")

    def close(self) -> None:
        """No more audio: the buffered rest goes out, then :meth:`wait` returns COMPLETED."""
        self._job.end_input()

    def __enter__(self) -> "AudioInputStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AudioJob:
    """One ``send_audio`` call, as the socket's writer sees it."""

    def __init__(self, *, read: Optional[Callable[[int], bytes]] = None, iterable: Any = None, chunk_bytes: int,
                 bps: int, sample_width: int, realtime: bool = False, close: Optional[Callable[[], Any]] = None,
                 push: bool = False, name: str = "audio") -> None:
        self.seq = 0
        self.wake: Callable[[], None] = lambda: None
        self.finished = threading.Event()
        self.cancelled = False
        self.error: Optional[BaseException] = None
        self._cancel_error: Optional[BaseException] = None
        self.bytes_sent = 0
        self.dropped_bytes = 0  #: live audio not sent because the connection was down
        self._read = read
        self._chunk = chunk_bytes
        self._bps = bps
        self._width = sample_width
        self._realtime = realtime
        self._t0: Optional[float] = None
        self._close = close
        self._lock = threading.Lock()
        self._feed_cond = threading.Condition(self._lock)
        self._buf: Deque[bytes] = deque()
        self._eof = iterable is None and not push
        self._fed = iterable is not None or push  # chunks arrive through push(), from a feeder or the app
        self._pending = bytearray()  # pushed bytes not yet a whole chunk
        self._push_lock = threading.Lock()
        self._source_error: Optional[BaseException] = None
        self._feeder: Optional[threading.Thread] = None
        if iterable is not None:
            self._feeder = threading.Thread(target=self._feed, args=(iterable,), name=f"{name}-feeder", daemon=True)
            self._feeder.start()

    @property
    def live(self) -> bool:
        """Fed as it comes (a microphone, a generator, ``stream_audio()``), not read from memory or a file."""
        return self._fed

    # -- writer side ----------------------------------------------------------------------------------------------
    def finished_or_cancelled(self) -> bool:
        return self.cancelled or self.finished.is_set()

    def ready_at(self, now: float) -> Optional[float]:
        """When the next chunk may go: ``now`` or earlier if ready, a later time if paced, None if waiting for the
        feeder (which wakes the writer when it has data)."""
        if self._fed and not self._buf and not self._eof:
            return None
        if self._realtime and self._t0 is not None:
            return self._t0 + self.bytes_sent / self._bps - 0.05
        return now

    def next_chunk(self) -> Optional[bytes]:
        """The next chunk, or None at the end. Raises what the source raised."""
        if self._read is not None:
            data = self._read(self._chunk)
            if not data:
                return None
            return bytes(data) if not isinstance(data, bytes) else data
        with self._feed_cond:
            if self._buf:
                data = self._buf.popleft()
                self._feed_cond.notify()
                return data
            if self._source_error is not None:
                raise self._source_error
            return None

    def drop_backlog(self) -> int:
        """Moving to a new connection after an outage: a live source (fed by a thread or the app) drops the audio
        it buffered meanwhile (returns how many bytes, also added to :attr:`dropped_bytes`); a file or bytes
        source resumes where it stopped."""
        if not self._fed:
            return 0
        with self._feed_cond:
            n = sum(len(b) for b in self._buf)
            self._buf.clear()
            self._feed_cond.notify_all()
        self.dropped_bytes += n
        return n

    def sent(self, n: int) -> None:
        if self._t0 is None:
            self._t0 = time.monotonic()
        self.bytes_sent += n

    def finish(self, error: Optional[BaseException] = None) -> None:
        if self.finished.is_set():
            return
        self.error = error if error is not None else self._cancel_error
        if self._close is not None:
            try:
                self._close()
            except Exception:  # pragma: no cover
                pass
        with self._feed_cond:
            self.cancelled = self.cancelled or error is not None
            self._feed_cond.notify_all()
        self.finished.set()

    def cancel(self, error: Optional[BaseException] = None, *, wake: bool = True) -> None:
        """Stop the job; with ``error`` the handle raises it (the connection ended) instead of reporting a
        plain cancel. ``wake=False``: the caller wakes the writer itself (it holds the outbox's lock, which a
        sending thread's direct write needs)."""
        with self._feed_cond:
            self.cancelled = True
            if error is not None and self._cancel_error is None:
                self._cancel_error = error
            self._feed_cond.notify_all()
        if wake:
            self.wake()

    # -- input: the feeder thread or the app (push) ---------------------------------------------------------------
    def push(self, data: Any, timeout: Optional[float] = None) -> bool:
        """Add audio: small pieces (20 ms microphone frames) are joined and large ones split into appends of
        ``chunk_bytes``, so the wire carries ~``chunk_ms`` appends whatever the source gives. Waits (up to
        ``timeout``) while the bounded buffer is full; False once the job was cancelled."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise AudioFormatError(f"audio must be bytes, got {type(data).__name__}")
        deadline = None if timeout is None else time.monotonic() + timeout
        size = self._chunk
        with self._push_lock:
            if self._eof or self.cancelled:
                return False
            pending = self._pending
            pending += data
            if len(pending) < size:
                return True
            full = len(pending) - len(pending) % size
            for pos in range(0, full, size):
                if not self._put(bytes(pending[pos:pos + size]), deadline):
                    return False
            del pending[:full]
        return True

    def end_input(self) -> None:
        """No more audio: what is buffered goes out (whole samples), then the job completes."""
        with self._push_lock:
            pending = self._pending
            whole = len(pending) - len(pending) % self._width
            if whole and not self.cancelled and not self._eof:
                self._put(bytes(pending[:whole]), None)
            if len(pending) > whole:
                log.warning("dropped %d trailing byte(s): not a whole sample", len(pending) - whole)
            pending.clear()
            with self._feed_cond:
                self._eof = True
        self.wake()

    def _feed(self, iterable: Any) -> None:
        """The feeder thread: read a blocking source (a generator, a microphone, a pipe) into the job."""
        it = iter(iterable)
        try:
            for chunk in it:
                if self.cancelled or not self.push(chunk):
                    break
        except BaseException as exc:  # the source failed: the handle raises it
            self._source_error = exc if isinstance(exc, Exception) else RealtimeError("audio source stopped")
        finally:
            close = getattr(it, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # pragma: no cover
                    pass
            self.end_input()

    def _put(self, piece: bytes, deadline: Optional[float]) -> bool:
        with self._feed_cond:
            while len(self._buf) >= _FEED_BUFFER_CHUNKS and not self.cancelled:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise RealtimeTimeoutError(f"audio input buffer full ({_FEED_BUFFER_CHUNKS} chunks): the "
                                               f"connection is not taking audio as fast as it is written")
                self._feed_cond.wait(left)
            if self.cancelled:
                return False
            self._buf.append(piece)
        self.wake()
        return True


# -- turning a source into a job ----------------------------------------------------------------------------------
def _memory_reader(data: Union[bytes, bytearray, memoryview]) -> Callable[[int], bytes]:
    view = memoryview(data).cast("B")
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        out = view[pos:pos + n].tobytes()
        pos += len(out)
        return out
    return read


def _resample_hint(desc: str) -> AudioFormatError:
    return AudioFormatError(f"WAV audio is {desc}; the Realtime API needs {PCM16_RATE} Hz mono 16-bit PCM. "
                            "Install the audio extra to convert it automatically (pip install "
                            f"realtime_sync[audio]) or convert it first (sox in.wav -r {PCM16_RATE} -c 1 -b 16 "
                            "out.wav)")


def _data_reader(fh: Any, size: int) -> Callable[[int], bytes]:
    """``read(n)`` over the next ``size`` bytes of ``fh`` (a WAV file's data chunk; what follows is not audio)."""
    left = size

    def read(n: int) -> bytes:
        nonlocal left
        out = fh.read(min(n, left)) if left > 0 else b""
        left -= len(out)
        return out
    return read


def _chunks_reader(chunks: Iterator[bytes]) -> Callable[[int], bytes]:
    """``read(n)`` over an iterator of byte chunks (a converter working as the writer asks for audio)."""
    buf = bytearray()

    def read(n: int) -> bytes:
        while len(buf) < n:
            chunk = next(chunks, None)
            if chunk is None:
                break
            buf.extend(chunk)
        out = bytes(buf[:n])
        del buf[:n]
        return out
    return read


def _wav_job(fh: Any, name: str, close: Optional[Callable[[], Any]], common: Dict[str, Any]) -> "AudioJob":
    """A job for an open WAV file: its header is parsed once; 24 kHz mono PCM16 streams as it is, anything else is
    converted on the fly by the audio extra (or refused, naming the format, without it)."""
    try:
        info: WavInfo = parse_wav_header(fh, name)
        if info.is_wire_pcm16:
            return AudioJob(read=_data_reader(fh, info.data_size), close=close, **common)
        try:
            from ..audio.wav import iter_wav_data
        except ImportError:
            raise _resample_hint(info.describe()) from None
        return AudioJob(read=_chunks_reader(iter_wav_data(fh, info, name, 1000)), close=close, **common)
    except BaseException:
        if close is not None:
            close()
        raise


def _blocking_file(f: Any) -> bool:
    """True when reads on ``f`` may block (pipe, socket, terminal): then a feeder thread reads it."""
    if isinstance(f, (io.BytesIO, io.StringIO)):
        return False
    try:
        return not stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return True


def _job_settings(input_format: Optional[str], chunk_ms: int, realtime: bool) -> Dict[str, Any]:
    fmt = audio_format(input_format)
    bps, width = fmt.bytes_per_second, fmt.sample_width
    chunk = max(width, (bps * chunk_ms // 1000) // width * width)
    return dict(chunk_bytes=chunk, bps=bps, sample_width=width, realtime=realtime)


def push_audio_job(*, input_format: Optional[str] = None, chunk_ms: int = 100) -> AudioJob:
    """A job fed by the app through :meth:`AudioJob.push` (``session.stream_audio()``)."""
    return AudioJob(push=True, **_job_settings(input_format, chunk_ms, False))


def make_audio_job(source: Any, *, input_format: Optional[str] = None, chunk_ms: int = 100,
                   realtime: bool = False) -> AudioJob:
    """Validate ``source`` (in the caller's thread, so format errors raise at once) and wrap it in a job."""
    common = _job_settings(input_format, chunk_ms, realtime)
    fmt = audio_format(input_format)
    width, chunk = fmt.sample_width, common["chunk_bytes"]
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B")
        if data.nbytes % width:
            raise AudioFormatError(f"raw PCM16 audio must have an even byte count, got {data.nbytes}")
        return AudioJob(read=_memory_reader(data), **common)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise AudioFormatError(f"no such audio file: {path}")
        f = open(path, "rb")  # opened once: sniffed, parsed and streamed from this handle
        try:
            head = f.read(12)
            f.seek(0)
            if is_wav_header(head) or path.lower().endswith((".wav", ".wave")):
                if fmt.name != PCM16:
                    raise AudioFormatError("WAV files need the pcm16 input format; this session uses G.711")
                return _wav_job(f, os.path.basename(path), f.close, common)
            size = os.fstat(f.fileno()).st_size
            if size % width:
                raise AudioFormatError(f"raw PCM16 file {os.path.basename(path)} has an odd size ({size} bytes)")
            return AudioJob(read=f.read, close=f.close, **common)
        except BaseException:
            f.close()
            raise
    if hasattr(source, "read"):
        if not _blocking_file(source) and hasattr(source, "seek"):
            pos = source.tell()
            head = source.read(12)
            source.seek(pos)
            if isinstance(head, bytes) and is_wav_header(head):
                return _wav_job(source, str(getattr(source, "name", "<stream>")), None, common)
            return AudioJob(read=source.read, **common)
        read = source.read
        return AudioJob(iterable=iter(lambda: read(chunk), b""), **common)
    if hasattr(source, "__iter__"):
        return AudioJob(iterable=source, **common)
    raise TypeError(f"send_audio takes bytes, a file path, a file object or an iterable of bytes, "
                    f"not {type(source).__name__}")
