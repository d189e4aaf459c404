"""Blocking turns: :func:`ask` sends text or audio and returns the whole reply as a :class:`TurnResult`;
:func:`push_to_talk` is a kiosk-button context manager for sessions with turn detection off.

Both watch the session through an observer (a :class:`TurnCollector`), so a ``receive_updates()`` loop elsewhere
still sees every update. A turn lasts until the final ``response.done``: when a
:class:`~realtime_sync.tools.ToolDispatcher` answers the response's function calls and continues it, the turn waits
for the continuation too (tool-only turns complete without audio). ``response.done`` with status ``failed`` and
``error`` events about the turn's own commands raise :class:`~realtime_sync.errors.ServerError`; the whole turn is
bounded by ``timeout``. A drop mid-turn raises SessionInterruptedError (see ``handle_connection_interrupted``)::

    result = ask(session, "What's the weather in Paris?", timeout=30)
    print(result.text or result.transcript, result.usage.total_tokens)
"""
import itertools
import logging
import os
import time
from typing import Any, List, Optional

from .errors import ProtocolError, RealtimeTimeoutError
from .observers import SendHandle, SessionLike
from .protocol.audio_formats import bytes_per_second, silence_ms
from .protocol.commands import InputAudioClearCommand, InputAudioCommitCommand, ItemCreateCommand
from .protocol.models import ConversationItem
from .protocol.options import ResponseOptions
from .tools import ToolDispatcher
from .turn_collector import TURN_KEY, TurnCollector, TurnResult

__all__ = ["TurnResult", "ask", "push_to_talk", "PushToTalk", "TURN_KEY"]

log = logging.getLogger("realtime_sync.turns")

_turn_ids = itertools.count(1)


# -- the session as turns read it ---------------------------------------------------------------------------------
def _find_dispatcher(session: SessionLike) -> Optional[ToolDispatcher]:
    """The dispatcher answering this session's calls: an active one among its observers (the session's own is
    one of them), else the first."""
    dispatchers = [o for o in session.observers if isinstance(o, ToolDispatcher)]
    return next((d for d in dispatchers if d.active), dispatchers[0] if dispatchers else None)


def _turn_detection_off(session: SessionLike) -> bool:
    info = session.session_info
    return info is not None and info.turn_detection is None


def _input_format(session: SessionLike) -> Optional[str]:
    info = session.session_info
    return info.input_audio_format if info is not None else None


def _vad_tail(session: SessionLike) -> int:
    info = session.session_info
    td = info.turn_detection if info is not None else None
    if not isinstance(td, dict):
        return 800
    if td.get("type") == "semantic_vad":
        return 1500
    return int(td.get("silence_duration_ms") or 500) + 300


def _is_audio(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview, os.PathLike)) or hasattr(value, "read"):
        return True
    return not isinstance(value, (str, ConversationItem, dict)) and hasattr(value, "__iter__")


def _prompt_of(prompt: Any, text: Optional[str], audio: Any) -> Any:
    """The one prompt of :func:`ask`: exactly one of ``prompt``, ``text=``, ``audio=``; a ``str`` prompt naming an
    existing file is refused (say ``text=`` or ``audio=``), since ``send_audio`` takes ``str`` paths."""
    given = [name for name, value in (("prompt", prompt), ("text", text), ("audio", audio)) if value is not None]
    if len(given) != 1:
        raise TypeError(f"ask() takes exactly one of prompt, text= or audio= (got {', '.join(given) or 'none'})")
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"text= must be a str, not {type(text).__name__}")
        return text
    if audio is not None:
        if isinstance(audio, str):
            return _PathStr(audio)
        if not _is_audio(audio):
            raise TypeError(f"audio= must be bytes, a path, a binary file or an iterable of chunks, not "
                            f"{type(audio).__name__}")
        return audio
    if isinstance(prompt, str) and len(prompt) < 4096 and "\n" not in prompt and os.path.isfile(prompt):
        raise ValueError("ask() got a str naming an existing file: a str prompt is text. Say ask(audio=path) to "
                         "send the file's audio, or ask(text=...) to send the text")
    return prompt


class _PathStr(str):
    """A ``str`` given as ``audio=``: a path (``os.PathLike``, so it is sent as audio)."""

    def __fspath__(self) -> str:
        return str(self)


def ask(session: SessionLike, prompt: Any = None, timeout: float = 60.0, *, text: Optional[str] = None,
        audio: Any = None, response_options: Optional[ResponseOptions] = None,
        dispatcher: Optional[ToolDispatcher] = None, collect_audio: bool = True, vad_tail_ms: Optional[int] = None,
        wait_for_transcript: float = 0.0) -> TurnResult:
    """Run one whole turn and return its :class:`TurnResult`; never blocks longer than ``timeout`` seconds.

    Say what is sent with ``text=`` (a user text message) or ``audio=`` (``bytes``: PCM in the session's input
    format, a path as ``str`` or ``pathlib.Path`` (WAV or raw PCM), a binary file object, or an iterable of byte
    chunks); or pass one ``prompt``: a ``str`` is text (one naming an existing file raises ValueError: say which
    you mean), a :class:`ConversationItem`, or audio as above (a path only as ``pathlib.Path``).
    Audio with turn detection off is sent, committed and answered with ``response.create``; with
    server VAD the server commits and responds, and ``vad_tail_ms`` of silence (default: the VAD's silence
    duration + 300 ms) is appended so the end of speech is detected. ``dispatcher`` defaults to the session's
    active tool dispatcher, if any. ``wait_for_transcript`` waits up to that long after the reply for the user's
    input transcription (it may come later: read it from the conversation mirror then).
    Raises ServerError, RealtimeTimeoutError, or the connection's error.
    """
    prompt = _prompt_of(prompt, text, audio)
    deadline = time.monotonic() + timeout
    if not session.turns.acquire(timeout):  # turns from many threads go one at a time, in order
        raise RealtimeTimeoutError(f"ask: no turn within {timeout} s ({session.turns.waiting} other turns wait)")
    try:
        return _ask(session, prompt, deadline, response_options=response_options, dispatcher=dispatcher,
                    collect_audio=collect_audio, vad_tail_ms=vad_tail_ms, wait_for_transcript=wait_for_transcript)
    finally:
        session.turns.release()


def _ask(session: SessionLike, prompt: Any, deadline: float, *, response_options: Optional[ResponseOptions],
         dispatcher: Optional[ToolDispatcher], collect_audio: bool, vad_tail_ms: Optional[int],
         wait_for_transcript: float) -> TurnResult:
    dispatcher = dispatcher if dispatcher is not None else _find_dispatcher(session)
    audio = _is_audio(prompt)
    manual = audio and _turn_detection_off(session)
    turn = TurnCollector(session, dispatcher, f"t{next(_turn_ids)}", needs_commit=audio and not manual)
    turn.collect_audio = collect_audio
    handles: List[SendHandle] = []
    session.add_observer(turn)
    try:
        if not audio:
            item = prompt if isinstance(prompt, ConversationItem) else ConversationItem.from_wire(prompt) \
                if isinstance(prompt, dict) else ConversationItem.user_message(str(prompt))
            turn.arm()
            turn.send(ItemCreateCommand(item=item))
            turn.respond(response_options)
        elif manual:
            handle = turn.track(session.send_audio(prompt))
            if not handle.wait(max(0.0, deadline - time.monotonic())):
                handle.cancel()
                raise RealtimeTimeoutError("ask: the audio was not sent in time")
            turn.arm()
            turn.send(InputAudioCommitCommand())
            turn.respond(response_options)
        else:
            turn.arm()
            handles.append(turn.track(session.send_audio(prompt)))
            tail = vad_tail_ms if vad_tail_ms is not None else _vad_tail(session)
            if tail > 0:
                handles.append(turn.track(session.send_audio(silence_ms(_input_format(session), tail))))
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


class PushToTalk:
    """Hold-to-talk for sessions with turn detection off (see :func:`push_to_talk`)."""

    def __init__(self, session: SessionLike, *, respond: bool = True,
                 response_options: Optional[ResponseOptions] = None, dispatcher: Optional[ToolDispatcher] = None,
                 min_ms: int = 100, send_timeout: float = 10.0) -> None:
        if not _turn_detection_off(session):
            raise ProtocolError("push_to_talk needs turn detection off (TurnDetection.disabled()): under server "
                                "VAD the server commits the audio itself")
        self.session = session
        self.respond = respond
        self.response_options = response_options
        self.min_ms = min_ms
        self.send_timeout = send_timeout
        self.dispatcher = dispatcher if dispatcher is not None else _find_dispatcher(session)
        self._handles: List[SendHandle] = []
        self._turn = TurnCollector(session, self.dispatcher, f"p{next(_turn_ids)}")
        self.committed = False
        self.duration_ms = 0

    def __enter__(self) -> "PushToTalk":
        self.session.add_observer(self._turn)
        self._turn.send(InputAudioClearCommand())
        return self

    def send(self, source: Any) -> SendHandle:
        """Stream audio (bytes, a path, a file, an iterable such as a microphone) while the button is held."""
        handle = self._turn.track(self.session.send_audio(source))
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
        sent = sum(h.bytes_sent for h in self._handles)
        self.duration_ms = sent * 1000 // bytes_per_second(_input_format(self.session))
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
        self._turn.arm()
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


def push_to_talk(session: SessionLike, *, respond: bool = True, response_options: Optional[ResponseOptions] = None,
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
