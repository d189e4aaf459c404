"""Blocking turns: :func:`ask` sends text or audio and returns the whole reply as a :class:`TurnResult`;
:func:`push_to_talk` is a kiosk-button context manager for sessions with turn detection off.

Both watch the session through an observer, so a ``receive_updates()`` loop elsewhere still sees every update.
A turn lasts until the final ``response.done``: when a :class:`~realtime_sync.tools.ToolDispatcher` answers the
response's function calls and continues it, the turn waits for the continuation too (tool-only turns complete
without audio). ``response.done`` with status ``failed`` and ``error`` events about the turn's own commands raise
:class:`~realtime_sync.errors.ServerError`; the whole turn is bounded by ``timeout``::

    result = ask(session, "What's the weather in Paris?", timeout=30)
    print(result.text or result.transcript, result.usage.total_tokens)
"""
import itertools
import logging
import os
import time
from typing import Any, List, Optional

from ._turn import TURN_KEY, TurnCollector, TurnResult
from ._connection.audio_jobs import bytes_per_second
from .errors import ProtocolError, RealtimeTimeoutError
from .protocol.commands import InputAudioClearCommand, InputAudioCommitCommand, ItemCreateCommand
from .protocol.models import ConversationItem
from .protocol.options import ResponseOptions
from .tools import ToolDispatcher

__all__ = ["TurnResult", "ask", "push_to_talk", "PushToTalk", "TURN_KEY"]

log = logging.getLogger("realtime_sync.turns")

_turn_ids = itertools.count(1)
_SILENCE = {"g711_ulaw": b"\xff", "g711_alaw": b"\xd5"}


def _find_dispatcher(session: Any) -> Optional[ToolDispatcher]:
    """The dispatcher answering this session's calls: an attached active one, else the session's own."""
    observers = getattr(session, "_observers", None) or getattr(session, "observers", None) or ()
    dispatchers = [o for o in observers if isinstance(o, ToolDispatcher)]
    for obs in dispatchers:
        if obs.active:
            return obs
    builtin = getattr(session, "tool_dispatcher", None)
    if isinstance(builtin, ToolDispatcher):
        return builtin
    return dispatchers[0] if dispatchers else None


def _turn_detection_off(session: Any) -> bool:
    info = getattr(session, "session_info", None)
    return info is not None and info.turn_detection is None


def _input_format(session: Any) -> Optional[str]:
    info = getattr(session, "session_info", None)
    return info.input_audio_format if info is not None else None


def _is_audio(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview, os.PathLike)) or hasattr(value, "read"):
        return True
    return not isinstance(value, (str, ConversationItem, dict)) and hasattr(value, "__iter__")


def ask(session: Any, prompt: Any, timeout: float = 60.0, *, response_options: Optional[ResponseOptions] = None,
        dispatcher: Optional[ToolDispatcher] = None, collect_audio: bool = True,
        vad_tail_ms: Optional[int] = None, wait_for_transcript: float = 0.0) -> TurnResult:
    """Run one whole turn and return its :class:`TurnResult`; never blocks longer than ``timeout`` seconds.

    ``prompt``: ``str`` (a user text message; never a path), a :class:`ConversationItem`, or audio: ``bytes`` (PCM
    in the session's input format), a ``pathlib.Path`` (WAV or raw PCM), a binary file object, or an iterable of
    byte chunks. Audio with turn detection off is sent, committed and answered with ``response.create``; with
    server VAD the server commits and responds, and ``vad_tail_ms`` of silence (default: the VAD's silence
    duration + 300 ms) is appended so the end of speech is detected. ``dispatcher`` defaults to the session's
    tool dispatcher, if any. ``wait_for_transcript`` waits up to that long after the reply for the user's
    input transcription (it may come later: read it from the conversation mirror then).
    Raises ServerError, RealtimeTimeoutError, or the connection's error.
    """
    deadline = time.monotonic() + timeout
    dispatcher = dispatcher if dispatcher is not None else _find_dispatcher(session)
    audio = _is_audio(prompt)
    manual = audio and _turn_detection_off(session)
    turn = TurnCollector(session, dispatcher, f"t{next(_turn_ids)}", needs_commit=audio and not manual)
    turn.collect_audio = collect_audio
    handles: List[Any] = []
    session.add_observer(turn)
    try:
        if not audio:
            item = prompt if isinstance(prompt, ConversationItem) else ConversationItem.from_wire(prompt) \
                if isinstance(prompt, dict) else ConversationItem.user_message(str(prompt))
            with turn.cond:
                turn.armed = True
            turn.send(ItemCreateCommand(item=item))
            turn.respond(response_options)
        elif manual:
            handle = session.send_audio(prompt)
            if not handle.wait(max(0.0, deadline - time.monotonic())):
                handle.cancel()
                raise RealtimeTimeoutError("ask: the audio was not sent in time")
            with turn.cond:
                turn.armed = True
            turn.send(InputAudioCommitCommand())
            turn.respond(response_options)
        else:
            with turn.cond:
                turn.armed = True
            handles.append(session.send_audio(prompt))
            tail = vad_tail_ms if vad_tail_ms is not None else _vad_tail(session)
            if tail > 0:
                fmt = _input_format(session)
                bps, width = bytes_per_second(fmt)
                handles.append(session.send_audio(_SILENCE.get(fmt or "", b"\x00") *
                                                  (bps * tail // 1000 // width * width)))
        try:
            turn.wait(deadline, "ask")
        except BaseException:
            for handle in handles:  # do not keep streaming a failed turn's audio
                handle.cancel()
            raise
        if wait_for_transcript > 0:
            turn.wait_user_transcript(min(deadline, time.monotonic() + wait_for_transcript))
        result = turn.result()
    finally:
        session.remove_observer(turn)
    log.debug("turn %s done: status=%s responses=%d audio=%d bytes tools=%d", turn.marker, result.status,
              len(result.responses), len(result.audio), len(result.tool_calls))
    return result


def _vad_tail(session: Any) -> int:
    info = getattr(session, "session_info", None)
    td = info.turn_detection if info is not None else None
    if not isinstance(td, dict):
        return 800
    if td.get("type") == "semantic_vad":
        return 1500
    return int(td.get("silence_duration_ms") or 500) + 300


class PushToTalk:
    """Hold-to-talk for sessions with turn detection off (see :func:`push_to_talk`)."""

    def __init__(self, session: Any, *, respond: bool = True, response_options: Optional[ResponseOptions] = None,
                 dispatcher: Optional[ToolDispatcher] = None, min_ms: int = 100, send_timeout: float = 10.0) -> None:
        if not _turn_detection_off(session):
            raise ProtocolError("push_to_talk needs turn detection off (TurnDetection.disabled()): under server "
                                "VAD the server commits the audio itself")
        self.session = session
        self.respond = respond
        self.response_options = response_options
        self.min_ms = min_ms
        self.send_timeout = send_timeout
        self.dispatcher = dispatcher if dispatcher is not None else _find_dispatcher(session)
        self._handles: List[Any] = []
        self._turn = TurnCollector(session, self.dispatcher, f"p{next(_turn_ids)}")
        self.committed = False
        self.duration_ms = 0

    def __enter__(self) -> "PushToTalk":
        self.session.add_observer(self._turn)
        self._turn.send(InputAudioClearCommand())
        return self

    def send(self, source: Any) -> Any:
        """Stream audio (bytes, a path, a file, an iterable such as a microphone) while the button is held."""
        handle = self.session.send_audio(source)
        self._handles.append(handle)
        return handle

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        deadline = time.monotonic() + self.send_timeout
        if exc_type is None:
            for handle in self._handles:  # an endless source (a mic) is cut at release
                if not handle.wait(max(0.0, deadline - time.monotonic())):
                    handle.cancel()
                    handle.wait(1.0)
        else:
            for handle in self._handles:
                handle.cancel()
        bps, _ = bytes_per_second(_input_format(self.session))
        sent = sum(h.bytes_sent for h in self._handles)
        self.duration_ms = sent * 1000 // bps
        if exc_type is not None or self.duration_ms < self.min_ms:
            if exc_type is None:
                log.info("push_to_talk: %d ms of audio is too short to commit (min %d ms); cleared",
                         self.duration_ms, self.min_ms)
            self.session.send_command(InputAudioClearCommand())
            self.session.remove_observer(self._turn)
            return
        self.committed = True
        if not self.respond:
            self._turn.send(InputAudioCommitCommand())
            self.session.remove_observer(self._turn)
            return
        with self._turn.cond:
            self._turn.armed = True
        self._turn.send(InputAudioCommitCommand())
        self._turn.respond(self.response_options)

    def result(self, timeout: float = 60.0) -> Optional[TurnResult]:
        """Wait for the reply and return it; None when nothing was committed (too short, or an exception) or
        ``respond=False``."""
        if not self.committed or not self.respond:
            return None
        try:
            self._turn.wait(time.monotonic() + timeout, "push_to_talk")
            return self._turn.result()
        finally:
            self.session.remove_observer(self._turn)


def push_to_talk(session: Any, *, respond: bool = True, response_options: Optional[ResponseOptions] = None,
                 dispatcher: Optional[ToolDispatcher] = None, min_ms: int = 100,
                 send_timeout: float = 10.0) -> PushToTalk:
    """A context manager for a talk button (turn detection off): clears the input buffer on entry, streams what
    you :meth:`~PushToTalk.send`, and on exit commits (when at least ``min_ms`` of audio went out, else clears)
    and, with ``respond``, sends ``response.create``; :meth:`~PushToTalk.result` then waits for the reply::

        with push_to_talk(session) as ptt:
            ptt.send(mic_chunks_while_button_down())
        reply = ptt.result(timeout=30)
    """
    return PushToTalk(session, respond=respond, response_options=response_options, dispatcher=dispatcher,
                      min_ms=min_ms, send_timeout=send_timeout)
