"""SIP calls in the simulator: the calls REST endpoints, the call's session and its sideband WebSockets.

A call is born ringing when the simulator's phone (:mod:`realtime_sync.testing.phone`) places it. Then, as the
service does (ADDENDUM-2026-12 A4):

* ``POST /v1/realtime/calls/{call_id}/accept`` with a GA session object as the body (``type: "realtime"``
  required, validated like a ``session.update``; ``model`` defaults to ``gpt-realtime``) answers the call and
  creates its session; ``/reject`` (``status_code``, default 603, a SIP final status 300-699) declines a ringing
  call; ``/refer`` (``target_uri`` required) transfers an accepted call; ``/hangup`` ends an accepted call. Each
  answers 200 with an empty body; errors have the service's JSON error shape.
* ``wss://.../v1/realtime?call_id=...`` (``model`` optional, ignored) attaches a *sideband* WebSocket to an accepted
  call's session: a normal GA session (``session.created`` first; tools, responses, ``session.update``) whose input
  audio is the caller's voice and whose output audio goes to the caller.

What the sources do not say, and this module therefore guesses (the closest plausible behaviour):

* Error texts and codes of the calls endpoints: an unknown call id answers 404 ``call_not_found``; accepting a call
  twice 400 ``call_already_accepted``; an action on a call that ended (rejected, hung up, transferred, unanswered)
  400 ``call_ended``; ``refer``/``hangup`` on a ringing call 400 ``call_not_accepted`` (reject it instead);
  ``reject`` after accept 400 ``call_already_accepted`` (hang up instead).
* A sideband for an unknown, ringing or ended call gets an ``error`` event (``call_not_found`` /
  ``call_not_accepted`` / ``call_ended``) and close 4000, like the other post-upgrade refusals.
* Ending an accepted call (``hangup``, ``refer``, the caller hanging up) cancels a response in progress without
  events and closes every sideband WebSocket with 1000 (reason ``call ended``); nothing documents a
  ``session.closed``-like event for realtime sessions.
* Audio on a call goes to the caller, as on WebRTC (PROTOCOL.md section 5, the banyan-landing WebRTC traces): the
  sideband gets no ``response.output_audio.delta``; it gets ``output_audio_buffer.started`` with the first audio,
  ``output_audio_buffer.stopped`` once the caller has heard it all (after ``response.done``, at the simulator's
  ``pace``); when the caller barges in (server VAD with ``interrupt_response``) while audio is playing,
  ``output_audio_buffer.cleared`` right after ``speech_started`` (then the cancelled response's events if it was
  still running) and ``conversation.item.truncated`` at the audio heard, as the trace shows. The app's
  ``output_audio_buffer.clear`` gives ``output_audio_buffer.cleared`` without truncating (the app truncates if it
  wants to); with nothing playing it gives nothing.
* The simulator runs a call's session only while a sideband is attached: the call's audio flows from the first
  ``session.created`` (the service would run the accepted session with no sideband at all).
* A call has one session. A second sideband attached later (say, after a reconnect) continues it (same session id,
  configuration and conversation); attaching while another sideband is open takes the call over and closes the
  older WebSocket with 1000 (reason ``replaced by a newer sideband connection``).
* Azure: the same endpoints under ``/openai/v1`` (``model`` is a deployment); a sideband on
  ``/openai/v1/realtime?call_id=`` is refused at the handshake (HTTP 404/400), as Azure refuses other requests.
  Azure documents neither.
* Stopping the simulator ends its live calls (ended by ``server``) and closes their sidebands with 1001, as it
  closes every session.
"""
import logging
import threading
import time
from typing import Any, Dict, Generator, List, Optional, Tuple
from urllib.parse import unquote

from ..audio.g711 import WireDecoder
from ..protocol import Dialect
from ..protocol.audio_formats import PCM16, PCM16_RATE, bytes_for_ms
from ._util import api_error, new_id
from .checks import EventError, check_client_event
from .conversation import Conversation
from .session_state import SessionState
from .worker import Pause, Stream

__all__ = ["SimCall", "CallRegistry", "CALL_ACTIONS", "call_route_failure"]

logger = logging.getLogger("realtime_sync.testing.calls")
Json = Dict[str, Any]
Reply = Tuple[int, Optional[Json]]
CALL_ACTIONS = ("accept", "reject", "refer", "hangup")
_ACCEPT_KEYS = ("type", "model", "audio", "include", "instructions", "max_output_tokens", "output_modalities",
                "parallel_tool_calls", "prompt", "reasoning", "tool_choice", "tools", "tracing", "truncation")


class Playback:
    """One response's audio playing to the caller since ``started_at`` (monotonic), ``total_ms`` long so far, at
    ``pace`` (0: heard as soon as sent). ``items`` are its message items with where each starts in the playback."""

    def __init__(self, response_id: str, pace: float, heard_from: int) -> None:
        self.response_id = response_id
        self.pace = pace
        self.started_at = time.monotonic()
        self.total_ms = 0.0
        self.items: List[Tuple[str, float]] = []  #: (item id, start ms in the playback)
        self.heard_from = heard_from  #: where this playback starts in :attr:`SimCall.heard`
        self.decoder: Optional[WireDecoder] = None  #: G.711 output -> what the caller heard, as PCM16 24 kHz
        self.done = False  #: drained (``stopped``), cleared, or replaced

    def played_ms(self) -> float:
        """How much the caller has heard by now."""
        if not self.pace:
            return self.total_ms
        return min(self.total_ms, (time.monotonic() - self.started_at) * 1000.0 / self.pace)

    def drained_in(self) -> float:
        """Seconds until the caller has heard it all."""
        return max(0.0, self.started_at + self.total_ms / 1000.0 * self.pace - time.monotonic())


class SimCall:
    """One SIP call: its state, the session the app accepted it with, its sideband connections and what the caller
    heard. ``lock`` (re-entrant) is also the lock of every sideband connection of the call, so the shared session
    and conversation change under one lock; ``cond`` signals every change of state."""

    def __init__(self, server: Any, caller: str, sip_headers: List[Json],
                 sip_media_security: Optional[str]) -> None:
        self.server = server
        self.call_id = "rtc_" + new_id("x")[2:]
        self.caller = caller
        self.sip_headers = sip_headers
        self.sip_media_security = sip_media_security
        self.created_at = int(time.time())
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.state = "ringing"  #: ringing / accepted / rejected / referred / ended / unanswered / refused
        self.session: Optional[SessionState] = None
        self.conversation = Conversation()
        self.conversation_id = new_id("conv")
        self.accepted_session: Optional[Json] = None  #: the accept's body as received
        self.connections: List[Any] = []  #: every sideband attached, in order
        self.reject_status: Optional[int] = None
        self.referred_to: Optional[str] = None
        self.ended_by: Optional[str] = None  #: ``app`` / ``caller`` / ``phone`` (not accepted in time) / ``server``
        self.engaged = False  #: a sideband sent a client event
        self.replies: List[str] = []  #: what the assistant said to the caller, one entry per message
        self.heard = bytearray()  #: assistant audio that went to the caller (PCM16 24 kHz)
        self.digits_sent = ""
        self.playback: Optional[Playback] = None

    # -- inspection ----------------------------------------------------------------------------------------------------
    @property
    def current(self) -> Optional[Any]:
        """The open sideband connection (the latest attached), or None."""
        with self.lock:
            for conn in reversed(self.connections):
                if conn.is_open and not conn._closing:
                    return conn
            return None

    @property
    def ended(self) -> bool:
        return self.state not in ("ringing", "accepted")

    @property
    def quiet(self) -> bool:
        """No response in progress and no assistant audio still playing to the caller."""
        with self.lock:
            conn = self.current
            playing = self.playback is not None and not self.playback.done
            return not playing and (conn is None or conn.active_response is None)

    def _changed(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # -- REST actions --------------------------------------------------------------------------------------------------
    def _refusal(self, action: str, body: Json, allowed: Tuple[str, ...]) -> Optional[Reply]:
        """What refuses an action whatever its body says: the call ended; a ringing call cannot be transferred or
        hung up, an accepted one cannot be accepted or rejected; a parameter the action does not take."""
        if self.ended:
            return api_error(400, f"Call '{self.call_id}' has already ended ({self.state}).", "call_ended")
        answering = action in ("accept", "reject")
        if answering and self.state == "accepted":
            return api_error(400, f"Call '{self.call_id}' has already been accepted"
                             f"{'; hang it up instead' if action == 'reject' else ''}.", "call_already_accepted")
        if not answering and self.state != "accepted":
            return api_error(400, f"Call '{self.call_id}' has not been accepted; it cannot be "
                             f"{'hung up' if action == 'hangup' else 'transferred'} (reject it instead).",
                             "call_not_accepted")
        unknown = [k for k in body if k not in allowed]
        if unknown:
            return api_error(400, f"Unknown parameter: '{unknown[0]}'.", "unknown_parameter", unknown[0])
        return None

    def accept(self, body: Json, azure: bool = False) -> Reply:
        with self.lock:
            refused = self._refusal("accept", body, _ACCEPT_KEYS)
            if refused is not None:
                return refused
            if "type" not in body:
                return api_error(400, "Missing required parameter: 'type'.", "missing_required_parameter", "type")
            if body["type"] != "realtime":
                return api_error(400, f"Invalid value: '{body['type']}'. Supported values are: 'realtime'.",
                                 "invalid_value", "type")
            err = check_client_event({"type": "session.update", "session": body}, Dialect.GA)
            if err is not None:
                param = err.param[len("session."):] if err.param and err.param.startswith("session.") else err.param
                return api_error(400, err.message, err.code, param)
            model = body.get("model") or "gpt-realtime"
            if not self.server._model_allowed(model, azure):
                return api_error(400, f"The model '{model}' does not exist or you do not have access to it.",
                                 "model_not_found", "model")
            config = self.server._config
            self.session = SessionState(Dialect.GA, model, new_id("sess"), config.session_seconds or 3600.0, body)
            self.accepted_session = dict(body)
            self.state = "accepted"
            logger.info("call %s accepted (%d session fields)", self.call_id, len(body))
            self._changed()
            return 200, None

    def reject(self, body: Json) -> Reply:
        with self.lock:
            refused = self._refusal("reject", body, ("status_code",))
            if refused is not None:
                return refused
            status = body.get("status_code", 603)
            if isinstance(status, bool) or not isinstance(status, int):
                return api_error(400, "Invalid type for 'status_code': expected an integer.", "invalid_type",
                                 "status_code")
            if not 300 <= status <= 699:
                return api_error(400, f"Invalid 'status_code': {status}. Expected a SIP final status from 300 to 699.",
                                 "invalid_value", "status_code")
            self.reject_status = status
            self.end("rejected", "app")
            return 200, None

    def refer(self, body: Json) -> Reply:
        with self.lock:
            refused = self._refusal("refer", body, ("target_uri",))
            if refused is not None:
                return refused
            target = body.get("target_uri")
            if target is None:
                return api_error(400, "Missing required parameter: 'target_uri'.", "missing_required_parameter",
                                 "target_uri")
            if not isinstance(target, str) or not target:
                return api_error(400, "Invalid value for 'target_uri': expected a non-empty string (tel: or sip: URI).",
                                 "invalid_value", "target_uri")
            self.referred_to = target
            self.end("referred", "app")
            return 200, None

    def hangup(self, body: Json) -> Reply:
        with self.lock:
            refused = self._refusal("hangup", body, ())
            if refused is not None:
                return refused
            self.end("ended", "app")
            return 200, None

    # -- the end -------------------------------------------------------------------------------------------------------
    def end(self, state: str, by: str, close: bool = True) -> bool:
        """End the call (``state``: rejected / referred / ended / unanswered / refused) unless it already ended;
        every sideband is closed with 1000 (unless ``close`` is False: the server is stopping and closes them).
        Returns whether this call ended it."""
        with self.lock:
            if self.ended:
                return False
            self.state, self.ended_by = state, by
            conns = [c for c in self.connections if c.is_open]
            for conn in conns:
                run = conn.active_response
                if run is not None and not run.finished:
                    run.finished = True  # dropped without events: the session is going away
                    if run.stream is not None:
                        run.stream.finished = True
                    conn.active_response = None
            if self.playback is not None:
                self.playback.done = True
            logger.info("call %s ended: %s by %s", self.call_id, state, by)
            self._changed()
        for conn in conns if close else ():
            conn._close_async(1000, "call ended")
        return True

    # -- sideband ------------------------------------------------------------------------------------------------------
    def attach(self, conn: Any) -> None:
        """A sideband connection starts (its reader thread, before ``session.created``)."""
        with self.lock:
            older = [c for c in self.connections if c.is_open and c is not conn]
            self.connections.append(conn)
            self._changed()
        for old in older:
            logger.info("call %s: a newer sideband takes over", self.call_id)
            old._close_async(1000, "replaced by a newer sideband connection")

    def detach(self, conn: Any) -> None:
        self._changed()

    def client_event(self, conn: Any) -> None:
        """A sideband sent a client event (called under the lock)."""
        if not self.engaged:
            self.engaged = True
            self._changed()

    # -- audio to the caller (called by the response under the lock) -----------------------------------------------
    def play(self, conn: Any, response_id: str, item_id: str, chunk: bytes, fmt: str, ms: float) -> List[Json]:
        """A response's audio chunk goes to the caller instead of the sideband; returns the events to emit in
        its place (``output_audio_buffer.started`` with the response's first chunk)."""
        events: List[Json] = []
        pb = self.playback
        if pb is None or pb.response_id != response_id or pb.done:
            if pb is not None:
                pb.done = True  # a newer response's audio replaces what was left
            pb = self.playback = Playback(response_id, conn.config.pace, len(self.heard))
            events.append(conn.ev("output_audio_buffer.started", response_id=response_id))
        if not pb.items or pb.items[-1][0] != item_id:
            pb.items.append((item_id, pb.total_ms))
        pb.total_ms += ms
        if fmt != PCM16 and pb.decoder is None:
            pb.decoder = WireDecoder(fmt, PCM16_RATE)
        self.heard += pb.decoder.decode(chunk) if pb.decoder is not None else chunk
        return events

    def response_finished(self, conn: Any, run: Any) -> None:
        """A response ended: once its audio has played out, ``output_audio_buffer.stopped``."""
        pb = self.playback
        if pb is None or pb.response_id != run.id or pb.done:
            return
        if pb.decoder is not None:
            self.heard += pb.decoder.flush()
        conn.worker.add(Stream(self._drain(conn, pb), "playout"))

    def _drain(self, conn: Any, pb: Playback) -> Generator[Any, Any, None]:
        while not pb.done and pb.drained_in() > 0:
            yield Pause(pb.drained_in())
        if pb.done:
            return
        pb.done = True
        self._changed()
        yield [conn.ev("output_audio_buffer.stopped", response_id=pb.response_id)]

    def clear_playback(self, conn: Any, truncate: bool) -> Tuple[List[Json], List[Json]]:
        """Cut the audio playing to the caller (barge-in, ``output_audio_buffer.clear``): the
        ``output_audio_buffer.cleared`` event, and (``truncate``) the ``conversation.item.truncated`` that ends the
        item where the caller stopped hearing it. Empty lists when nothing is playing."""
        pb = self.playback
        if pb is None or pb.done:
            return [], []
        played = pb.played_ms()
        pb.done = True
        del self.heard[pb.heard_from + bytes_for_ms(PCM16, int(played)):]
        self._changed()
        cleared = [conn.ev("output_audio_buffer.cleared", response_id=pb.response_id)]
        if not truncate or played >= pb.total_ms:
            return cleared, []
        item_id, start = next(((i, s) for i, s in reversed(pb.items) if s <= played), pb.items[0])
        audio_end_ms = int(played - start)
        try:
            conn.conversation.truncate(item_id, 0, audio_end_ms)
        except EventError:  # the item was deleted meanwhile: nothing to truncate
            return cleared, []
        return cleared, [conn.ev("conversation.item.truncated", item_id=item_id, content_index=0,
                                 audio_end_ms=audio_end_ms)]

    def observe(self, conn: Any, event: Json) -> None:
        """Every event a sideband of the call emits (under the lock): what the caller heard."""
        etype = event.get("type")
        if etype == "response.output_audio_transcript.done":
            self.replies.append(event.get("transcript") or "")
        elif etype == "response.output_text.done":
            self.replies.append(event.get("text") or "")
        else:
            return
        self._changed()


def call_route_failure(server: Any, call_id: str) -> Tuple[Optional[SimCall], Optional[Tuple[str, str]]]:
    """The call a sideband attaches to, or the (code, message) refusing it."""
    call = server.calls.get(call_id)
    if call is None:
        return None, ("call_not_found", f"Call '{call_id}' not found.")
    with call.lock:
        if call.state == "ringing":
            return None, ("call_not_accepted", f"Call '{call_id}' has not been accepted yet.")
        if call.state != "accepted":
            return None, ("call_ended", f"Call '{call_id}' has already ended ({call.state}).")
    return call, None


class CallRegistry:
    """The simulator's calls by id (kept after they end, for inspection)."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._calls: Dict[str, SimCall] = {}

    def new(self, caller: str, sip_headers: List[Json], sip_media_security: Optional[str]) -> SimCall:
        call = SimCall(self._server, caller, sip_headers, sip_media_security)
        with self._lock:
            self._calls[call.call_id] = call
        return call

    def get(self, call_id: str) -> Optional[SimCall]:
        with self._lock:
            return self._calls.get(call_id)

    def all(self) -> List[SimCall]:
        with self._lock:
            return list(self._calls.values())

    def handle(self, call_id: str, action: str, body: Json, azure: bool = False) -> Reply:
        """``POST .../calls/{call_id}/{action}`` (``call_id`` still percent-encoded; ``azure``: under ``/openai/v1``,
        where ``model`` names a deployment)."""
        call_id = unquote(call_id)
        call = self.get(call_id)
        if call is None:
            return api_error(404, f"Call '{call_id}' not found.", "call_not_found", "call_id")
        if action == "accept":
            return call.accept(body, azure)
        handler = {"reject": call.reject, "refer": call.refer, "hangup": call.hangup}[action]
        return handler(body)

    def end_all(self) -> None:
        """The server stops: every live call ends (``ended`` by ``server``); the server closes the sidebands."""
        for call in self.all():
            call.end("ended", "server", close=False)
