"""The outbound side of one connection, without I/O: what to send next, in which order.

(Audio chunks become ``input_audio_buffer.append`` events, or whatever event the connection's ``encode_audio``
makes: a translation session's ``session.input_audio_buffer.append``.)

Three lanes, served in this order each time the socket's writer asks (:meth:`Outbox.take`): control frames (pongs and
pings), commands (JSON text, in the order they were queued), then chunks of the audio job at the head of the audio
lane. A long or paced audio source therefore never starves commands: they go out between two chunks.
``input_audio_buffer.commit`` is queued as a *barrier*: it (and every command queued after it) waits until the audio
queued before it has been sent. The enqueue methods are safe from any thread; :meth:`take` runs with the channel's
lock held (on the I/O thread, or on a sending thread writing directly), one caller at a time, and also reads the
audio sources that cannot block (bytes, files, converters). ``kick`` is called after the enqueue methods release
their locks, since it may run :meth:`take` at once. Everything here can be driven by a test without threads or
sockets.
"""
import logging
import threading
from collections import deque
from typing import Callable, Deque, List, Optional, Tuple

from ..errors import SendQueueFullError
from ..protocol import encode_audio_append
from .audio_jobs import AudioJob
from .delivery import clone_error
from .frames import OP_TEXT

__all__ = ["Outbox", "OutFrame", "Leftovers"]

log = logging.getLogger("realtime_sync.writer")

#: The most command bytes waiting for the socket; past it ``send`` raises SendQueueFullError.
MAX_QUEUED_BYTES = 16 * 1024 * 1024
#: ``(opcode, payload, text, type, is_command)``: ``text`` is the JSON text of a text frame (for the send hooks).
OutFrame = Tuple[int, bytes, Optional[str], str, bool]


class _Cmd:
    __slots__ = ("text", "type", "barrier")

    def __init__(self, text: str, type_: str, barrier: Optional[int]) -> None:
        self.text = text
        self.type = type_
        self.barrier = barrier


class Leftovers:
    """What a connection had accepted but not sent when it ended: commands ``(text, type, after_audio)`` in order
    (including those taken for the socket but never written) and the audio jobs not finished."""

    __slots__ = ("commands", "jobs")

    def __init__(self, commands: Optional[List[Tuple[str, str, bool]]] = None,
                 jobs: Optional[List[AudioJob]] = None) -> None:
        self.commands = commands or []
        self.jobs = jobs or []

    def fail(self, error: BaseException) -> int:
        """No next connection: every audio handle fails with ``error`` (a cancelled one stays cancelled);
        returns how many commands were never sent."""
        for job in self.jobs:
            job.finish(None if job.cancelled and job.error is None else error)
        self.jobs = []
        return len(self.commands)


class Outbox:
    """The queued frames of one connection. ``kick`` is called (from any thread, holding none of the outbox's
    locks) when there is new work."""

    def __init__(self, kick: Callable[[], None] = lambda: None, max_queued_bytes: int = MAX_QUEUED_BYTES, *,
                 encode_audio: Callable[[bytes], str] = encode_audio_append,
                 audio_type: str = "input_audio_buffer.append") -> None:
        self._kick = kick
        self._encode_audio = encode_audio  # an audio chunk -> the JSON text of its append event
        self._audio_type = audio_type
        self._max_queued = max_queued_bytes
        self._queued = 0  # bytes of text in the command lane
        self._lock = threading.Lock()
        self._control: Deque[Tuple[int, bytes]] = deque()
        self._cmds: Deque[_Cmd] = deque()
        self._jobs: Deque[AudioJob] = deque()
        self._job_seq = 0
        self._dead: Optional[BaseException] = None
        self.frames_sent = 0
        self.bytes_sent = 0

    # -- enqueue (any thread) -------------------------------------------------------------------------------------
    def _check(self) -> None:
        if self._dead is not None:
            raise clone_error(self._dead)

    def send(self, text: str, type_: str = "", *, after_audio: bool = False) -> None:
        """Queue one text frame. ``after_audio``: hold it (and everything after it) until audio queued so far
        has been sent. Raises the connection's error when it can no longer send."""
        with self._lock:
            self._check()
            if self._queued + len(text) > self._max_queued and self._cmds:
                raise SendQueueFullError(self._queued, self._max_queued)
            self._queued += len(text)
            self._cmds.append(_Cmd(text, type_, self._job_seq if after_audio else None))
        self._kick()

    def add_audio(self, job: AudioJob) -> None:
        with self._lock:
            self._check()
            self._job_seq += 1
            job.seq = self._job_seq
            job.wake = self._kick
            self._jobs.append(job)
        self._kick()

    def cancel_audio(self) -> int:
        """Cancel every queued audio job (their handles finish as cancelled); returns how many. All of them at once:
        :meth:`take` never sees a later job still live after an earlier one was cancelled."""
        with self._lock:
            jobs = list(self._jobs)
            for job in jobs:
                job.cancel(wake=False)
        self._kick()
        return len(jobs)

    def control(self, opcode: int, payload: bytes = b"") -> None:
        """Queue a ping or pong (I/O thread)."""
        self._control.append((opcode, payload))

    def stop(self, error: BaseException, *, drain: bool) -> int:
        """Accept nothing more (later sends raise ``error``). Queued audio is cancelled (with ``error`` for its
        handles unless ``drain``); without ``drain`` queued commands are dropped. Returns how many were dropped."""
        with self._lock:
            if self._dead is None:
                self._dead = error
            dropped = 0 if drain else len(self._cmds)
            if not drain:
                self._cmds.clear()
                self._queued = 0
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel(None if drain else error)
        return dropped

    def detach(self, error: BaseException) -> "Leftovers":
        """The connection is gone: accept nothing more (sends raise ``error``) and hand back what was still queued
        (commands never written, audio jobs not finished), for the next connection or to be failed."""
        with self._lock:
            if self._dead is None:
                self._dead = error
            jobs = list(self._jobs)
            self._jobs.clear()
            cmds = [(c.text, c.type, c.barrier is not None) for c in self._cmds]
            self._cmds.clear()
            self._queued = 0
        return Leftovers(cmds, jobs)

    @property
    def idle(self) -> bool:
        """Nothing queued (the close frame may go)."""
        return not (self._control or self._cmds or self._jobs)

    # -- the socket's writer ----------------------------------------------------------------------------------------
    def take(self, now: float, budget: int) -> Tuple[List[OutFrame], Optional[float], bool]:
        """Frames to send now (about ``budget`` bytes at most, at least one frame if any is ready), when to ask
        again for a paced audio chunk (None: when kicked), and whether more is ready beyond the budget."""
        out: List[OutFrame] = []
        size = 0
        control = self._control
        while control:
            op, payload = control.popleft()
            out.append((op, payload, None, "", False))
        wake_at: Optional[float] = None
        more = False
        while True:
            with self._lock:
                cmds = self._ready_cmds()
                job = self._jobs[0] if self._jobs else None
            for cmd in cmds:
                data = cmd.text.encode("utf-8")
                size += len(data)
                out.append((OP_TEXT, data, cmd.text, cmd.type, True))
            if job is None:
                break
            if size >= budget:
                more = True
                break
            if job.finished_or_cancelled():
                self._finish_job(job)
                continue
            at = job.ready_at(now)
            if at is None:
                break
            if at > now:
                wake_at = at
                break
            text = self._chunk(job)
            if text is not None:
                size += len(text)
                out.append((OP_TEXT, text.encode("ascii"), text, self._audio_type, False))
        self.frames_sent += len(out)
        self.bytes_sent += size
        return out, wake_at, more

    def _chunk(self, job: AudioJob) -> Optional[str]:
        """The next append of ``job``, or None when the job ended (it is then popped and finished)."""
        try:
            chunk = job.next_chunk()
        except Exception as exc:  # the source failed (bad file, microphone error): fail this job only
            self._finish_job(job, exc)
            log.warning("audio source failed: %s", type(exc).__name__)
            return None
        if chunk is None:
            self._finish_job(job)
            return None
        job.sent(len(chunk))
        return self._encode_audio(chunk)

    def _finish_job(self, job: AudioJob, error: Optional[BaseException] = None) -> None:
        with self._lock:
            if self._jobs and self._jobs[0] is job:
                self._jobs.popleft()
        job.finish(error)

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
            cmd = cmds.popleft()
            self._queued -= len(cmd.text)
            out.append(cmd)
        return out
