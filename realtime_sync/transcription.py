"""Transcription-only sessions: configure them, collect transcripts per item, transcribe a file.

A transcription session (opened with ``?intent=transcription``; configured with GA ``session.update`` and
``session.type = "transcription"``, beta ``transcription_session.update``) never responds; the server turns
committed input audio into ``conversation.item.input_audio_transcription.delta`` / ``completed`` events, one item
per committed segment (per VAD turn, or per manual commit)::

    client = RealtimeClient()
    options = TranscriptionOptions(model="gpt-4o-transcribe", language="en")
    with client.start_session(options) as session:        # implies intent="transcription"
        print(transcribe_file(session, "meeting.wav", timeout=120).text)
"""
import copy
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set

from .endpoints import Endpoint
from .errors import ConnectionClosedError, RealtimeTimeoutError, ServerError
from .observers import AudioSource, SessionLike
from .protocol.audio_formats import silence_ms
from .protocol.commands import InputAudioCommitCommand
from .protocol.transcription import TranscriptionOptions
from .protocol.updates import (ConversationUpdate, ErrorUpdate, InputAudioCommittedUpdate, InputSpeechStartedUpdate,
                               InputSpeechStoppedUpdate, InputTranscriptionCompletedUpdate,
                               InputTranscriptionDeltaUpdate, InputTranscriptionFailedUpdate, SessionUpdatedUpdate)
from .usage import TranscriptionUsage

__all__ = ["TranscriptionOptions", "TranscriptSegment", "TranscriptionResult", "Transcriber",
           "configure_transcription", "transcribe_file", "transcription_endpoint"]

log = logging.getLogger("realtime_sync.transcription")


def transcription_endpoint(endpoint: Endpoint) -> Endpoint:
    """The endpoint of transcription-only sessions: ``endpoint.with_intent("transcription")`` (OpenAI URLs get
    ``?intent=transcription`` without ``model``; Azure URLs keep their deployment). ``RealtimeClient.start_session(
    intent="transcription")`` does this for you."""
    return endpoint.with_intent("transcription")


class _ConfigWaiter:
    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.done = threading.Event()
        self.update: Optional[ConversationUpdate] = None
        self.error: Optional[BaseException] = None

    inline_safe = True  #: (see observers.runs_inline)

    def handle_update(self, u: ConversationUpdate) -> None:
        if self.done.is_set():
            return
        if isinstance(u, SessionUpdatedUpdate):
            self.update = u
            self.done.set()
        elif isinstance(u, ErrorUpdate) and u.client_event_id == self.event_id:
            self.error = ServerError.from_update(u)
            self.done.set()

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        if not self.done.is_set():
            self.error = error or ConnectionClosedError(
                1000, "", "the session closed before the update was acknowledged")
            self.done.set()


def configure_transcription(session: SessionLike, options: TranscriptionOptions, timeout: float = 30.0, *,
                            realtime_session: bool = False) -> Optional[ConversationUpdate]:
    """Send the transcription configuration for the session's dialect and wait for ``session.updated``
    (``transcription_session.updated`` in beta); returns that update. Raises ServerError if refused.

    ``realtime_session=True`` configures a regular realtime session to transcribe instead (input transcription
    on, VAD without responses: :meth:`TranscriptionOptions.to_session_options`), for servers or deployments
    without transcription sessions; the session then still has a model that could answer a ``response.create``."""
    if realtime_session:
        return session.configure_session(options.to_session_options(), wait=True, timeout=timeout)
    dialect = session.dialect
    event_id = session.new_event_id()
    command = options.to_command(dialect, event_id=event_id)
    waiter = _ConfigWaiter(event_id)
    session.add_observer(waiter)
    try:
        session.send_command(command)
        if not waiter.done.wait(timeout):
            raise RealtimeTimeoutError(f"no session.updated within {timeout} s for the transcription config")
    finally:
        session.remove_observer(waiter)
    if waiter.error is not None:
        raise waiter.error
    log.debug("transcription session configured (%s, vad=%s)", dialect.value, options.vad_enabled)
    return waiter.update


@dataclass
class TranscriptSegment:
    """The transcript of one committed input item."""

    item_id: str
    previous_item_id: Optional[str] = None
    text: str = ""
    status: str = "in_progress"  #: in_progress / completed / failed
    error: Optional[str] = None
    logprobs: Optional[List[Any]] = None


@dataclass
class TranscriptionResult:
    segments: List[TranscriptSegment] = field(default_factory=list)
    usage: TranscriptionUsage = field(default_factory=TranscriptionUsage)

    @property
    def text(self) -> str:
        """Completed segments' texts, in order, joined by single spaces."""
        return " ".join(s.text.strip() for s in self.segments if s.status == "completed" and s.text.strip())

    def __str__(self) -> str:
        return self.text


class Transcriber:
    """Collects input transcriptions per item, in commit order (a session observer).

    ``on_delta(item_id, delta)`` and ``on_segment(TranscriptSegment)`` run on the reader thread: keep them fast.
    At most ``max_segments`` segments are kept (oldest dropped).
    """

    def __init__(self, on_delta: Optional[Callable[[str, str], Any]] = None,
                 on_segment: Optional[Callable[[TranscriptSegment], Any]] = None, max_segments: int = 1000) -> None:
        self.on_delta = on_delta
        self.on_segment = on_segment
        self.max_segments = max(1, max_segments)
        self._cond = threading.Condition()
        self._segments: Dict[str, TranscriptSegment] = {}  # insertion order = commit order
        self.usage = TranscriptionUsage()
        self.speech_active = False
        self.last_event_at = time.monotonic()
        self.errors: List[ServerError] = []
        self.closed_error: Optional[BaseException] = None

    def _segment(self, item_id: str, previous_item_id: Optional[str] = None) -> TranscriptSegment:
        seg = self._segments.get(item_id)
        if seg is None:
            seg = self._segments[item_id] = TranscriptSegment(item_id, previous_item_id)
            while len(self._segments) > self.max_segments:
                self._segments.pop(next(iter(self._segments)))
        elif previous_item_id and not seg.previous_item_id:
            seg.previous_item_id = previous_item_id
        return seg

    @property
    def inline_safe(self) -> bool:
        """No app code runs in handle_update unless a callback is set (see observers.runs_inline)."""
        return self.on_delta is None and self.on_segment is None

    def handle_update(self, u: ConversationUpdate) -> None:
        callback: Optional[Callable[[], Any]] = None
        with self._cond:
            if isinstance(u, InputAudioCommittedUpdate) and u.item_id:
                self._segment(u.item_id, u.previous_item_id)
            elif isinstance(u, InputSpeechStartedUpdate):
                self.speech_active = True
            elif isinstance(u, InputSpeechStoppedUpdate):
                self.speech_active = False
            elif isinstance(u, InputTranscriptionDeltaUpdate) and u.item_id:
                seg = self._segment(u.item_id)
                if seg.status == "in_progress":
                    seg.text += u.delta or ""
                if self.on_delta is not None:
                    callback = functools.partial(self.on_delta, u.item_id, u.delta or "")
            elif isinstance(u, InputTranscriptionCompletedUpdate) and u.item_id:
                seg = self._segment(u.item_id)
                seg.text, seg.status, seg.logprobs = u.transcript or "", "completed", u.logprobs
                self.usage.add_usage(u.usage)
                if self.on_segment is not None:
                    callback = functools.partial(self.on_segment, seg)
            elif isinstance(u, InputTranscriptionFailedUpdate) and u.item_id:
                seg = self._segment(u.item_id)
                seg.status, seg.error = "failed", (u.error.message if u.error else None) or "transcription failed"
                if self.on_segment is not None:
                    callback = functools.partial(self.on_segment, seg)
            elif isinstance(u, ErrorUpdate):
                self.errors.append(ServerError.from_update(u))
                del self.errors[:-16]
            else:
                return
            self.last_event_at = time.monotonic()
            self._cond.notify_all()
        if callback is not None:
            try:
                callback()
            except Exception as exc:
                log.warning("transcription callback raised %s", type(exc).__name__)

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        with self._cond:
            self.closed_error = error or ConnectionClosedError(1000, "", "the session closed")
            self._cond.notify_all()

    # -- reading ------------------------------------------------------------------------------------------------
    def segments(self) -> List[TranscriptSegment]:
        with self._cond:
            return [copy.copy(s) for s in self._segments.values()]

    def result(self) -> TranscriptionResult:
        with self._cond:
            return TranscriptionResult(self.segments(), copy.copy(self.usage))

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(1 for s in self._segments.values() if s.status == "in_progress")

    def wait_for(self, item_id: str, timeout: float) -> Optional[TranscriptSegment]:
        """Block until the item's transcription completes or fails; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seg = self._segments.get(item_id)
                if seg is not None and seg.status != "in_progress":
                    return copy.copy(seg)
                if self.closed_error is not None:
                    raise self.closed_error
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def wait_idle(self, timeout: float, settle: float = 0.5) -> bool:
        """Block until no speech is active, every committed item is transcribed, and nothing arrived for
        ``settle`` seconds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.closed_error is not None:
                    raise self.closed_error
                now = time.monotonic()
                busy = self.speech_active or any(s.status == "in_progress" for s in self._segments.values())
                quiet_for = now - self.last_event_at
                if not busy and quiet_for >= settle:
                    return True
                left = deadline - now
                if left <= 0:
                    return False
                self._cond.wait(min(left, settle - quiet_for if not busy else left))


def transcribe_file(session: SessionLike, source: AudioSource, timeout: float = 120.0, *,
                    options: Optional[TranscriptionOptions] = None, settle: float = 0.5,
                    vad_tail_ms: int = 1000, realtime_session: bool = False) -> TranscriptionResult:
    """Transcribe audio (a WAV/raw PCM path, bytes, a file object) on a transcription session.

    With ``options`` the session is configured first (``realtime_session``: see :func:`configure_transcription`).
    Turn detection off: the audio is sent and committed once,
    and the call waits for that item's transcript. Server VAD: the server segments the audio; ``vad_tail_ms`` of
    silence is appended so the last segment ends, and the call waits until every segment is transcribed and
    nothing arrived for ``settle`` seconds. Never blocks longer than ``timeout``; raises ServerError when the
    server refuses the commit, RealtimeTimeoutError when the transcripts do not come in time.
    """
    deadline = time.monotonic() + timeout
    if isinstance(source, str):
        source = os.fspath(source)
    if options is not None:
        configure_transcription(session, options, timeout=max(0.1, deadline - time.monotonic()),
                                realtime_session=realtime_session)
    info = session.session_info
    vad = not (info is not None and info.turn_detection is None)
    transcriber = Transcriber()
    session.add_observer(transcriber)
    try:
        handle = session.send_audio(source)
        if not handle.wait(max(0.0, deadline - time.monotonic())):
            handle.cancel()
            raise RealtimeTimeoutError("transcribe_file: the audio was not sent in time")
        if not vad:
            commit_id = f"rs_transcribe_{id(transcriber)}"
            before = {s.item_id for s in transcriber.segments()}
            session.send_command(InputAudioCommitCommand(event_id=commit_id))
            item_id = _wait_committed(transcriber, before, commit_id, deadline)
            if transcriber.wait_for(item_id, max(0.0, deadline - time.monotonic())) is None:
                raise RealtimeTimeoutError("transcribe_file: no transcript in time")
        else:
            silence = silence_ms(info.input_audio_format if info is not None else None, vad_tail_ms)
            if silence:
                session.send_audio(silence).wait(max(0.0, deadline - time.monotonic()))
            if not transcriber.wait_idle(max(0.0, deadline - time.monotonic()), settle=settle):
                raise RealtimeTimeoutError("transcribe_file: transcription still running at the timeout")
        return transcriber.result()
    finally:
        session.remove_observer(transcriber)


def _wait_committed(transcriber: Transcriber, before: Set[str], commit_id: str, deadline: float) -> str:
    """The item id of our commit (the newest segment not in ``before``), or the ServerError refusing it."""
    with transcriber._cond:
        while True:
            for err in transcriber.errors:
                if err.event_id == commit_id:
                    raise err
            new = [i for i in transcriber._segments if i not in before]
            if new:
                return new[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise RealtimeTimeoutError("transcribe_file: the commit was not acknowledged in time")
            transcriber._cond.wait(left)
