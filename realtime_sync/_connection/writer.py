"""The writer thread: the only thread that writes to the socket.

Three lanes, served in this order each time round the loop: control frames (pongs), commands (JSON text, in the
order they were queued), then one chunk of the audio job at the head of the audio lane. A long or paced audio
source therefore never starves commands: they go out between two chunks. ``input_audio_buffer.commit`` is queued
as a *barrier*: it (and every command queued after it) waits until the audio queued before it has been sent.
Pings go out every ``ping_interval`` seconds. Idle, the thread sleeps on a condition: no polling.
"""
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple

from ..errors import RealtimeError
from ..protocol import encode_audio_append
from .audio_jobs import AudioJob
from .transport import Transport
from .delivery import clone_error

__all__ = ["Writer"]

log = logging.getLogger("realtime_sync.writer")
_monotonic = time.monotonic


class _Cmd:
    __slots__ = ("text", "type", "barrier")

    def __init__(self, text: str, type_: str, barrier: Optional[int]) -> None:
        self.text = text
        self.type = type_
        self.barrier = barrier


class Writer:
    """Owns the outbound side of one connection. Thread-safe enqueue methods; one private sending thread."""

    def __init__(self, transport: Transport, *, send_hooks: Sequence[Callable[[str], Any]],
                 on_failure: Callable[[BaseException], None], ping_interval: Optional[float] = 20.0,
                 close_timeout: float = 2.0, reader_done: Optional[threading.Event] = None,
                 name: str = "realtime") -> None:
        self._transport = transport
        self._hooks = send_hooks
        self._on_failure = on_failure
        self._ping_interval = ping_interval
        self._close_timeout = close_timeout
        self._reader_done = reader_done
        self._cond = threading.Condition(threading.Lock())
        self._pongs: Deque[bytes] = deque()
        self._cmds: Deque[_Cmd] = deque()
        self._jobs: Deque[AudioJob] = deque()
        self._job_seq = 0
        self._close: Optional[Tuple[int, str, bool]] = None  # (code, reason, drain)
        self._dead: Optional[BaseException] = None
        self._stop_error: Optional[BaseException] = None
        self.frames_sent = 0
        self.bytes_sent = 0
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    # -- enqueue (any thread) -------------------------------------------------------------------------------------
    def _check(self) -> None:
        if self._dead is not None:
            raise clone_error(self._dead)

    def send(self, text: str, type_: str = "", *, after_audio: bool = False) -> None:
        """Queue one text frame. ``after_audio``: hold it (and everything after it) until audio queued so far
        has been sent. Raises the connection's error when it can no longer send."""
        with self._cond:
            self._check()
            self._cmds.append(_Cmd(text, type_, self._job_seq if after_audio else None))
            self._cond.notify()

    def add_audio(self, job: AudioJob) -> None:
        with self._cond:
            self._check()
            self._job_seq += 1
            job.seq = self._job_seq
            job.wake = self.wake
            self._jobs.append(job)
            self._cond.notify()

    def cancel_audio(self) -> int:
        """Cancel every queued audio job (their handles finish as cancelled); returns how many."""
        with self._cond:
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        self.wake()
        return len(jobs)

    def pong(self, payload: bytes) -> None:
        with self._cond:
            if self._dead is None:
                self._pongs.append(payload)
                self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def close(self, code: int = 1000, reason: str = "", *, drain: bool = True,
              error: Optional[BaseException] = None) -> None:
        """Stop accepting frames; send what is queued (``drain``), then a close frame, then wait (bounded) for
        the reader to see the peer's close before shutting the socket down. ``error`` is what later sends raise."""
        with self._cond:
            if self._close is None and self._stop_error is None:
                self._close = (code, reason, drain)
                self._dead = error or RealtimeError("session is closing")
                if not drain and self._cmds:
                    log.debug("%d queued commands dropped: the peer closed", len(self._cmds))
                    self._cmds.clear()
            self._cond.notify()
        for job in list(self._jobs):
            job.cancel(None if drain else error)

    def kill(self, error: BaseException) -> None:
        """Stop now (the connection is gone): fail queued audio handles with ``error``, drop queued frames."""
        with self._cond:
            if self._dead is None or self._close is not None:
                self._dead = error
            self._stop_error = error
            self._cond.notify()

    # -- the thread -----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        t = self._transport
        next_ping = _monotonic() + self._ping_interval if self._ping_interval else None
        try:
            while True:
                pongs: List[bytes] = []
                cmds: List[_Cmd] = []
                job: Optional[AudioJob] = None
                closing = None
                with self._cond:
                    while True:
                        if self._stop_error is not None:
                            return
                        now = _monotonic()
                        timeout = None
                        if self._pongs:
                            pongs = list(self._pongs)
                            self._pongs.clear()
                        cmds = self._ready_cmds()
                        head = self._jobs[0] if self._jobs else None
                        if head is not None:
                            if head.finished_or_cancelled():
                                job = head
                            else:
                                at = head.ready_at(now)
                                if at is not None and at <= now:
                                    job = head
                                elif at is not None:
                                    timeout = at - now
                        if next_ping is not None and now >= next_ping:
                            next_ping = now + self._ping_interval  # type: ignore[operator]
                            pongs.append(None)  # type: ignore[arg-type]  # None = send a ping
                        if pongs or cmds or job is not None:
                            break
                        if self._close is not None and not self._cmds and not self._jobs:
                            closing = self._close
                            break
                        if next_ping is not None:
                            wait_ping = next_ping - now
                            timeout = wait_ping if timeout is None else min(timeout, wait_ping)
                        self._cond.wait(timeout)
                for payload in pongs:
                    if payload is None:
                        t.send_ping(b"")
                    else:
                        t.send_pong(payload)
                for cmd in cmds:
                    self._send_text(t, cmd.text, cmd.type)
                if job is not None:
                    self._step_audio(t, job)
                if closing is not None:
                    self._send_close(t, closing)
                    return
        except Exception as exc:  # ConnectionLostError from the transport, or a bug: never die silently
            self._fail_jobs(exc)
            if self._stop_error is None:
                if self._close is not None:
                    t.abort()  # closing anyway: wake the reader instead of waiting for a close reply
                else:
                    if not isinstance(exc, RealtimeError):
                        log.exception("writer thread failed")
                    self._on_failure(exc)
        finally:
            self._fail_jobs(self._stop_error or RealtimeError("session closed"))

    def _ready_cmds(self) -> List[_Cmd]:
        """Commands that may go out now (called with the lock held)."""
        cmds = self._cmds
        if not cmds:
            return []
        out = []
        jobs = self._jobs
        while cmds:
            barrier = cmds[0].barrier
            if barrier is not None and jobs and jobs[0].seq <= barrier:
                break
            out.append(cmds.popleft())
        return out

    def _send_text(self, t: Transport, text: str, type_: str) -> None:
        if self._hooks:
            for hook in tuple(self._hooks):
                try:
                    hook(text)
                except Exception:
                    log.exception("on_sending_command hook raised (ignored)")
        t.send_text(text)
        self.frames_sent += 1
        self.bytes_sent += len(text)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("sent %s (%d bytes)", type_ or "message", len(text))

    def _step_audio(self, t: Transport, job: AudioJob) -> None:
        if job.finished_or_cancelled():
            self._pop_job(job)
            job.finish()
            return
        try:
            chunk = job.next_chunk()
        except Exception as exc:  # the source failed (bad file, microphone error): fail this job only
            self._pop_job(job)
            job.finish(exc)
            log.warning("audio source failed: %s", type(exc).__name__)
            return
        if chunk is None:
            self._pop_job(job)
            job.finish()
            return
        text = encode_audio_append(chunk)
        self._send_text(t, text, "input_audio_buffer.append")
        job.sent(len(chunk))

    def _pop_job(self, job: AudioJob) -> None:
        with self._cond:
            if self._jobs and self._jobs[0] is job:
                self._jobs.popleft()

    def _fail_jobs(self, exc: BaseException) -> None:
        with self._cond:
            jobs = list(self._jobs)
            self._jobs.clear()
            dropped = len(self._cmds)
            self._cmds.clear()
        for job in jobs:
            job.finish(None if job.cancelled else exc)
        if dropped:
            log.warning("%d queued commands not sent: the connection ended", dropped)

    def _send_close(self, t: Transport, closing: Tuple[int, str, bool]) -> None:
        code, reason, _drain = closing
        try:
            t.send_close(code, reason)
            log.debug("sent close %d", code)
        except Exception:
            t.abort()
            return
        done = self._reader_done
        if done is not None and not done.wait(self._close_timeout):
            log.debug("no close reply within %.1f s: shutting the socket down", self._close_timeout)
            t.abort()
