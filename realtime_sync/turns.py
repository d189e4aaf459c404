"""Blocking turns: :func:`ask` sends text or audio and returns the whole reply as a :class:`TurnResult`;
:func:`push_to_talk` is a kiosk-button context manager for sessions with turn detection off.

Both watch the session through an observer (a :class:`TurnCollector`), so a ``receive_updates()`` loop elsewhere
still sees every update. A turn lasts until the final ``response.done``: when a
:class:`~realtime_sync.tools.ToolDispatcher` answers the response's function calls and continues it, the turn waits
for the continuation too (tool-only turns complete without audio). ``response.done`` with status ``failed`` and
``error`` events about the turn's own commands raise :class:`~realtime_sync.errors.ServerError` (not
``session_expired``: the close that follows decides); the whole turn is bounded by ``timeout``. A turn in flight when
a reconnecting session's connection drops raises :class:`~realtime_sync.errors.SessionInterruptedError`: it sends
nothing more, its audio stops and its commands the old connection never wrote are withdrawn (see
:meth:`TurnCollector.handle_connection_interrupted`); a turn started during the outage completes after it::

    result = ask(session, "What's the weather in Paris?", timeout=30)
    print(result.text or result.transcript, result.usage.total_tokens)
"""
import dataclasses
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from .errors import ConnectionClosedError, ProtocolError, RealtimeTimeoutError, ServerError
from .observers import SendHandle, SessionLike
from .protocol.audio_formats import bytes_per_second, silence_ms
from .protocol.commands import (Command, InputAudioClearCommand, InputAudioCommitCommand, ItemCreateCommand,
                                ResponseCreateCommand)
from .protocol.models import ConversationItem, Response
from .protocol.options import ResponseOptions
from .protocol.updates import (ConversationUpdate, ErrorUpdate, InputAudioCommittedUpdate,
                               InputTranscriptionCompletedUpdate, ItemAddedUpdate, ItemCreatedUpdate,
                               OutputAudioDeltaUpdate, OutputAudioTranscriptDeltaUpdate, OutputTextDeltaUpdate,
                               ResponseCreatedUpdate, ResponseDoneUpdate)
from .reconnect import CLOSING_ERROR_CODES
from .tools import CONTINUATION_KEY, ToolCall, ToolDispatcher
from .usage import UsageTotals

__all__ = ["TurnResult", "ask", "push_to_talk", "PushToTalk", "TURN_KEY"]

log = logging.getLogger("realtime_sync.turns")

#: ``response.create`` metadata key carrying the turn id (servers that echo metadata get exact correlation).
TURN_KEY = "realtime_sync_turn"

_turn_ids = itertools.count(1)


@dataclass
class TurnResult:
    """Everything one turn produced. ``text``/``transcript`` are the final response's; ``audio`` is all the output
    audio of the turn (every response, in order); ``responses`` are the ``response.done`` objects."""

    text: str = ""
    transcript: str = ""
    audio: bytes = b""
    tool_calls: List[ToolCall] = field(default_factory=list)
    usage: UsageTotals = field(default_factory=UsageTotals)
    status: Optional[str] = None  #: the final response's status: completed / cancelled / incomplete
    responses: List[Response] = field(default_factory=list)
    items: List[ConversationItem] = field(default_factory=list)  #: output items of every response
    user_item_id: Optional[str] = None
    user_transcript: Optional[str] = None  #: the input transcription, if it arrived in time

    @property
    def output_text(self) -> str:
        """The reply as text: the text, or the audio transcript."""
        return self.text or self.transcript

    @property
    def commentary(self) -> str:
        """What a 2.x model said before acting (``phase: "commentary"``: "I'll check that..."), every such message
        of the turn in order; :attr:`output_text` is the final answer without it."""
        texts = (_message_text(i) for i in self.items if i.type == "message" and i.phase == "commentary")
        return "\n".join(t for t in texts if t)

    @property
    def all_text(self) -> str:
        """The text or transcript of every assistant message of the turn (commentary before tools included)."""
        return "\n".join(i.text for i in self.items if i.type == "message" and i.text)

    def __str__(self) -> str:
        return self.output_text


def _message_text(item: ConversationItem) -> str:
    return "".join((p.text or p.transcript or "") for p in item.content or ())


class TurnCollector:
    """Collects one turn (an observer; its ``handle_update`` runs on the reader thread and never blocks): follows
    the turn's responses across tool continuations and builds its :class:`TurnResult`."""

    def __init__(self, session: SessionLike, dispatcher: Optional[ToolDispatcher], marker: str,
                 needs_commit: bool = False) -> None:
        self.session = session
        self.dispatcher = dispatcher
        self.marker = marker
        self.event_ids: Set[str] = set()
        self.needs_commit = needs_commit  # VAD audio: only responses after our audio was committed count
        self.committed = False
        self.armed = False  # our response.create (or audio) went out
        self.cond = threading.Condition()
        self.current: Optional[str] = None
        self.continuation_of: Optional[str] = None
        self.texts: Dict[str, List[str]] = {}
        self.transcripts: Dict[str, List[str]] = {}
        self.audio = bytearray()
        self.collect_audio = True
        self.responses: List[Response] = []
        self.finished = False
        self.error: Optional[BaseException] = None
        self.user_item_id: Optional[str] = None
        self.transcripts_by_item: Dict[str, str] = {}
        self.handles: List[SendHandle] = []  # the turn's audio (stopped when the turn is interrupted)

    # -- observer -----------------------------------------------------------------------------------------------
    inline_safe = True  #: bookkeeping and a notify (see observers.runs_inline)

    def handle_update(self, u: ConversationUpdate) -> None:  # noqa: C901 - a dispatch on the update type
        if isinstance(u, (OutputAudioDeltaUpdate, OutputTextDeltaUpdate, OutputAudioTranscriptDeltaUpdate)):
            rid = u.response_id
            if rid is None or rid != self.current:
                return
            if isinstance(u, OutputAudioDeltaUpdate):
                if self.collect_audio:
                    self.audio += u.audio
            elif isinstance(u, OutputTextDeltaUpdate):
                self.texts.setdefault(rid, []).append(u.delta or "")
            else:
                self.transcripts.setdefault(rid, []).append(u.delta or "")
            return
        with self.cond:
            if self.finished and not isinstance(u, InputTranscriptionCompletedUpdate):
                return
            if isinstance(u, ResponseCreatedUpdate):
                self._created(u.response)
            elif isinstance(u, ResponseDoneUpdate):
                self._done(u.response)
            elif isinstance(u, InputAudioCommittedUpdate):
                if self.armed and self.needs_commit and not self.committed:
                    self.committed = True
                    self.user_item_id = u.item_id
            elif isinstance(u, (ItemAddedUpdate, ItemCreatedUpdate)):
                item = u.item
                if self.armed and self.user_item_id is None and item is not None and item.role == "user":
                    self.user_item_id = item.id
            elif isinstance(u, InputTranscriptionCompletedUpdate):
                if u.item_id:
                    self.transcripts_by_item[u.item_id] = u.transcript or ""
                    if len(self.transcripts_by_item) > 64:
                        self.transcripts_by_item.pop(next(iter(self.transcripts_by_item)))
                    self.cond.notify_all()
            elif isinstance(u, ErrorUpdate):
                self._error(u)

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        with self.cond:
            if not self.finished:
                self._fail(error or ConnectionClosedError(1000, "", "the session closed during the turn"))

    def handle_connection_interrupted(self, error: BaseException) -> Set[str]:
        """The connection dropped mid-turn and the session reconnects: the turn fails with ``error``
        (SessionInterruptedError), sends nothing more (see :meth:`send`), its audio stops, and the event ids of
        the commands it sent are returned so that those the old connection never wrote are withdrawn (the new
        server session must not start a response nobody waits for). A finished turn has nothing to withdraw."""
        with self.cond:
            if self.finished:
                return set()
            self._fail(error)
            handles, withdrawn = list(self.handles), set(self.event_ids)
        for handle in handles:
            handle.cancel()
        return withdrawn

    def _created(self, response: Optional[Response]) -> None:
        if response is None or not response.id or self.current is not None or not self.armed:
            return
        meta = response.metadata if isinstance(response.metadata, dict) else None
        if self.continuation_of is not None:
            mine = meta.get(CONTINUATION_KEY) == self.continuation_of if meta else True
        elif meta and meta.get(TURN_KEY) is not None:
            mine = meta.get(TURN_KEY) == self.marker
        elif meta:
            mine = False  # the server echoes metadata, and this response is someone else's
        else:
            mine = self.committed or not self.needs_commit
        if mine:
            self.current = response.id
            self.continuation_of = None

    def _done(self, response: Optional[Response]) -> None:
        if response is None or response.id != self.current:
            return
        self.responses.append(response)
        self.current = None
        if response.status == "failed":
            details = response.status_details
            err = details.error if details is not None else None
            self._fail(ServerError((err.message if err else None) or "the response failed",
                                   type=err.type if err else (details.type if details else None),
                                   code=err.code if err else (details.reason if details else None)))
            return
        if self.dispatcher is not None and self.dispatcher.expects_continuation(response):
            self.continuation_of = response.id  # the dispatcher answers the calls, then continues
            return
        self.finished = True
        self.cond.notify_all()

    def _error(self, u: ErrorUpdate) -> None:
        ref = u.client_event_id
        if u.code in CLOSING_ERROR_CODES:  # the server is closing: no answer to us (reconnect or close decides)
            return
        if not ref:
            # An error naming no event while our response is being created (sent, not yet started) is the answer
            # to it (the service does not always echo event_id): fail now rather than at the timeout.
            if self.armed and self.current is None and self.continuation_of is None:
                self._fail(ServerError.from_update(u))
            return
        if ref in self.event_ids or (self.dispatcher is not None and self.dispatcher.is_continuation_event(ref) and
                                     u.code != "conversation_already_has_active_response"):  # that one is retried
            self._fail(ServerError.from_update(u))

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.finished = True
        self.cond.notify_all()

    # -- caller side --------------------------------------------------------------------------------------------
    def send(self, command: Command) -> bool:
        """Send one of the turn's commands; False (nothing sent) once the turn has failed: :meth:`wait` raises
        why. Under the turn's lock, so an interruption sees every command sent before it and none after."""
        with self.cond:
            if self.finished:
                return False
            command.event_id = f"rs_turn_{self.marker}_{len(self.event_ids) + 1}"
            self.event_ids.add(command.event_id)
            self.session.send_command(command)
            return True

    def respond(self, options: Optional[ResponseOptions]) -> bool:
        opts = dataclasses.replace(options) if options is not None else ResponseOptions()
        opts.metadata = dict(opts.metadata or {}, **{TURN_KEY: self.marker})
        with self.cond:
            self.armed = True
        return self.send(ResponseCreateCommand(response=opts))

    def track(self, handle: SendHandle) -> SendHandle:
        """The turn's audio: cancelled if the turn is interrupted (it must not go on to the new connection)."""
        with self.cond:
            self.handles.append(handle)
            failed = self.finished and self.error is not None
        if failed:
            handle.cancel()
        return handle

    def arm(self) -> None:
        """Our input (text, committed or VAD audio) is about to go out: responses from now on may be the turn's."""
        with self.cond:
            self.armed = True

    def wait(self, deadline: float, what: str) -> None:
        with self.cond:
            while not self.finished:
                left = deadline - time.monotonic()
                if left <= 0:
                    state = f"response {self.current} still streaming" if self.current else \
                        "waiting for the tool continuation" if self.continuation_of else "no response started"
                    raise RealtimeTimeoutError(f"{what}: the turn did not finish in time ({state})")
                self.cond.wait(left)
            if self.error is not None:
                raise self.error

    def result(self) -> TurnResult:
        with self.cond:
            responses = list(self.responses)
            last = responses[-1] if responses else None
            usage = UsageTotals(responses=0)
            items: List[ConversationItem] = []
            calls: List[ToolCall] = []
            for resp in responses:
                usage.add(UsageTotals.from_usage(resp.usage))
                items.extend(resp.output or ())
                known = {c.call_id: c for c in self.dispatcher.calls(resp.id)} if self.dispatcher else {}
                for item in resp.output or ():
                    if item.type == "function_call" and item.call_id:
                        calls.append(known.get(item.call_id) or ToolCall(
                            item.call_id, item.name, item.arguments or "", item.id, resp.id, status="manual"))
            rid = last.id if last is not None else None
            text = "".join(self.texts.get(rid or "", ()))
            transcript = "".join(self.transcripts.get(rid or "", ()))
            if last is not None and any(i.type == "message" and i.phase == "commentary" for i in last.output or ()):
                finals = [i for i in last.output or () if i.type == "message" and i.phase != "commentary"]
                text = "".join(p.text or "" for i in finals for p in i.content or ())  # the answer, not preambles
                transcript = "".join(p.transcript or "" for i in finals for p in i.content or ())
            if last is not None and not text and not transcript:  # deltas missed: read the final items
                for item in last.output or ():
                    for part in item.content or () if item.type == "message" else ():
                        text += part.text or ""
                        transcript += part.transcript or ""
            user_tr = self.transcripts_by_item.get(self.user_item_id or "")
            return TurnResult(text=text, transcript=transcript, audio=bytes(self.audio), tool_calls=calls,
                              usage=usage, status=last.status if last else None, responses=responses, items=items,
                              user_item_id=self.user_item_id, user_transcript=user_tr)

    def wait_user_transcript(self, deadline: float) -> None:
        with self.cond:
            while self.user_item_id and self.user_item_id not in self.transcripts_by_item:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)


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
