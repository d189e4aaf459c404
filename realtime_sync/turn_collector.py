"""The collecting side of a turn (see :mod:`realtime_sync.turns`): :class:`TurnCollector`, the observer that follows
one turn's responses across tool continuations and builds its :class:`TurnResult`, and what happens to a turn when
the connection ends or drops (a reconnecting session: SessionInterruptedError, nothing more sent, its unsent
commands withdrawn)."""
import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

from .errors import ConnectionClosedError, RealtimeTimeoutError, ServerError
from .observers import SendHandle, SessionLike
from .protocol.commands import Command, ResponseCreateCommand
from .protocol.models import ConversationItem, Response
from .protocol.options import ResponseOptions
from .protocol.updates import (ConversationUpdate, ErrorUpdate, InputAudioCommittedUpdate,
                               InputTranscriptionCompletedUpdate, ItemAddedUpdate, ItemCreatedUpdate,
                               OutputAudioDeltaUpdate, OutputAudioTranscriptDeltaUpdate, OutputTextDeltaUpdate,
                               OutputItemAddedUpdate, ResponseCreatedUpdate, ResponseDoneUpdate)
from .reconnect import CLOSING_ERROR_CODES
from .tools import CONTINUATION_KEY, ToolCall, ToolDispatcher
from .usage import UsageTotals

__all__ = ["TurnResult", "TurnCollector", "TURN_KEY"]

#: ``response.create`` metadata key carrying the turn id (servers that echo metadata get exact correlation).
TURN_KEY = "realtime_sync_turn"


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
        self.sent_item = False  # a conversation.item.create of ours went out: the next user item is ours
        self.item_ids: Set[str] = set()  # the turn's items: its user item and its responses' output items

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
                    if u.item_id:
                        self.item_ids.add(u.item_id)
            elif isinstance(u, (ItemAddedUpdate, ItemCreatedUpdate)):
                item = u.item
                if (self.armed or self.sent_item) and self.user_item_id is None and item is not None and \
                        item.role == "user":
                    self.user_item_id = item.id
                    if item.id:
                        self.item_ids.add(item.id)
            elif isinstance(u, OutputItemAddedUpdate):
                if u.response_id is not None and u.response_id == self.current and u.item is not None and u.item.id:
                    self.item_ids.add(u.item.id)
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
        """The session reconnects: the turn fails with ``error`` (SessionInterruptedError), sends nothing more, its
        audio stops; returns what the new connection must not get: its commands' event ids (withdrawn if unsent:
        no response nobody waits for) and its items' ids (not restored: a retried call adds its question once)."""
        with self.cond:
            if self.finished:
                return set()
            self._fail(error)
            handles, withdrawn = list(self.handles), self.event_ids | self.item_ids
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
        self.item_ids.update(i.id for i in response.output or () if i.id)
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
        if not ref:
            # An error naming no event while our response is being created (sent, not yet started) is the answer
            # to it (the service does not always echo event_id): fail now rather than at the timeout. Not one that
            # announces the close (session_expired): the close that follows (or the reconnect) decides.
            if self.armed and self.current is None and self.continuation_of is None and \
                    u.code not in CLOSING_ERROR_CODES:
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
            self.sent_item = self.sent_item or command.type == "conversation.item.create"
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
