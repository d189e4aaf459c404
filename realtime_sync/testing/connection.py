"""One simulated session on one WebSocket: the reader loop, event emission, faults and session expiry.

Threads: the websockets server's handler thread runs :meth:`SimConnection.run` (it reads client events and handles
them), a :class:`~realtime_sync.testing.worker.Worker` thread streams responses. Both change state and emit events
only while holding :attr:`SimConnection.lock`, so events leave in a consistent order.
"""
import json
import logging
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from websockets.exceptions import ConnectionClosed

from ..protocol import ConversationItem, Dialect, wire_server_type
from ._util import new_id
from .checks import EventError
from .conversation import Conversation
from .faults import FaultRule
from .responder import Responder, Transcriber
from .session_state import SessionState
from .transcription import session_event
from .vad import InputAudioBuffer
from .validate import current_scope, emitted_event_errors
from .worker import Worker

__all__ = ["ServerConfig", "Route", "SimConnection"]

logger = logging.getLogger("realtime_sync.testing.connection")
Json = Dict[str, Any]


@dataclass
class ServerConfig:
    responder: Responder
    transcriber: Transcriber
    pace: float = 1.0
    rate_limits: bool = True
    session_seconds: float = 3600.0
    validate: bool = False
    event_hook: Optional[Callable[["SimConnection", Json], None]] = None


@dataclass
class Route:
    """What the handshake decided: dialect, model, and a failure to report after the upgrade (OpenAI paths)."""

    path: str
    kind: str  #: ``openai`` / ``azure`` / ``azure-preview``
    dialect: Dialect
    model: str
    failure: Optional[Tuple[Optional[str], str, int, str]] = None  #: (code, message, close code, close reason)
    session_init: Optional[Json] = None  #: the session of the ephemeral key used, if any
    intent: Optional[str] = None  #: ``transcription`` for ``?intent=transcription`` (a transcription session)
    call: Optional[Any] = None  #: the :class:`~realtime_sync.testing.calls.SimCall` of a sideband (``?call_id=``)


def _duration_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


class SimConnection:
    """A simulated Realtime session. Inspect ``received``, ``sent_types``, ``items`` and ``session_wire`` in tests."""

    def __init__(self, server: Any, ws: Any, route: Route) -> None:
        self.server = server
        self.ws = ws
        self.route = route
        self.config: ServerConfig = server._config
        self.dialect = route.dialect
        self.call = route.call  #: the SIP call of a sideband connection, else None
        self.lock: Any = route.call.lock if route.call is not None else threading.RLock()
        self.received: List[Json] = []
        self.sent_types: Deque[str] = deque(maxlen=20000)
        self.sent_count = 0
        self.closed = threading.Event()
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.stalled = False
        self._closing = False
        self._watch: List[Tuple[FaultRule, int]] = []
        self.started_at = time.monotonic()
        self.deadline: Optional[float] = None
        self.conversation = Conversation()
        self.conversation_id = new_id("conv")
        self.session: SessionState = None  # type: ignore[assignment]  # set in run()
        self.audio = InputAudioBuffer()
        self.active_response: Any = None
        self.speech_item_id: Optional[str] = None  #: the item of the speech server VAD hears now
        self.speech_start_ms = 0
        self.speech_text = ""  #: what a streaming transcriber recognised of that speech so far (sent as deltas)
        self.speech_heard_ms = 0.0  #: stream time of the last such recognition
        self.tokens_used = 0
        self.worker: Optional[Worker] = None

    # -- inspection -------------------------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.route.model

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    @property
    def items(self) -> List[ConversationItem]:
        with self.lock:
            return self.conversation.items()

    @property
    def session_wire(self) -> Json:
        with self.lock:
            return self.session.to_wire() if self.session is not None else {}

    def wait_closed(self, timeout: float = 5.0) -> bool:
        return self.closed.wait(timeout)

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def run(self) -> None:
        route = self.route
        try:
            lifetime = self._begin()
            if lifetime is None:
                return
            if self.call is not None:  # a sideband: the call's session and conversation, shared by its sidebands
                self.session, self.conversation = self.call.session, self.call.conversation
                self.conversation_id = self.call.conversation_id
            else:
                self.session = SessionState(self.dialect, route.model, new_id("sess"), lifetime or 3600.0,
                                            route.session_init, kind=route.intent or "realtime")
            self.audio = InputAudioBuffer(self.session.input_format)
            self.worker = Worker(self.lock, self.emit_many, name=f"rt-sim-worker-{self.session.id[-6:]}")
            with self.lock:
                for rule in self.server.faults.rules_for_new_connection():
                    self.watch_fault(rule)
                self.emit(session_event(self, "created"))
                if self.call is not None:
                    self.call.attach(self)  # the caller's audio and digits may come from now on
            self._serve()
        finally:
            if self.worker is not None:
                self.worker.stop()
            self.closed.set()
            if self.call is not None:
                self.call.detach(self)

    def _begin(self) -> Optional[float]:
        """The session's lifetime (s; 0: none), its deadline set; None when the handshake decided a failure, which
        was reported (an ``error`` event, then the close)."""
        if self.route.failure is not None:
            code, message, close_code, reason = self.route.failure
            self.emit_error(EventError(code, message), None)
            self._close_now(close_code, reason)
            return None
        lifetime: float = self.server.faults.expire_seconds or self.config.session_seconds
        self.deadline = self.started_at + lifetime if lifetime else None
        return lifetime

    def _serve(self) -> None:
        """Read and handle client events until the session closes, is closed, or expires."""
        while not self._closing:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._expire()
                break
            try:
                message = self.ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                break
            if self.stalled:
                continue
            try:
                self._handle(message)
            except Exception:  # a simulator bug must not kill the session silently
                logger.exception("simulator failed handling a %s message", type(message).__name__)
                self.emit_error(EventError(None, "The server had an error while processing your request.",
                                           error_type="server_error"), None)

    def _handle(self, message: Any) -> None:
        from .handlers import handle_message

        handle_message(self, message)

    def shutdown(self, code: int = 1001, reason: str = "") -> None:
        """Close from the server side (``stop()``): stalled connections are dropped, others closed."""
        if self.stalled:
            self._drop()
        else:
            self._close_now(code, reason)

    def _close_now(self, code: int, reason: str) -> None:
        self._closing = True
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        try:
            self.ws.close(code, reason)
        except Exception:  # already closed or broken
            pass

    def _close_async(self, code: int, reason: str) -> None:
        self._closing = True
        threading.Thread(target=self._close_now, args=(code, reason), name="rt-sim-close", daemon=True).start()

    def _drop(self) -> None:
        self._closing = True
        sock = self.ws.socket
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stall(self) -> None:
        self.stalled = True
        self.ws.ping_timeout = None  # do not let our own keepalive end the connection
        self.ws.protocol.send_frame = lambda frame: None  # no more frames at all: pongs, pings, close

    def set_expiry(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def _expire(self) -> None:
        seconds = self.server.faults.expire_seconds or self.config.session_seconds
        message = f"Your session hit the maximum duration of {_duration_text(seconds)}."
        with self.lock:
            self.emit_error(EventError("session_expired", message), None)
        self._close_now(1001, message[:120])

    # -- emission ---------------------------------------------------------------------------------------------------
    def ev(self, ga_type: str, **fields: Any) -> Json:
        """A server event of this connection's dialect (beta names where they differ)."""
        return {"type": wire_server_type(ga_type, self.dialect), "event_id": new_id("event"), **fields}

    def emit(self, event: Json) -> None:
        with self.lock:
            self._send_event(event)

    def emit_many(self, events: List[Json]) -> None:
        with self.lock:
            for event in events:
                self._send_event(event)

    def emit_error(self, err: EventError, client_event_id: Optional[str]) -> None:
        self.emit(self.ev("error", error={"type": err.error_type, "code": err.code, "message": err.message,
                                          "param": err.param, "event_id": client_event_id}))

    def _send_event(self, event: Json, validate: bool = True) -> None:
        if self.stalled or self._closing:
            return
        delay = self.server.faults.event_delay
        if delay:
            time.sleep(delay)
        if self.config.event_hook is not None:
            self.config.event_hook(self, event)
        if validate:
            scope = current_scope()
            if scope is not None or self.config.validate:
                errors = self._event_errors(scope, event)
                if errors:
                    self.server._validation_failed(self, event, errors)
        if self.call is not None:
            self.call.observe(self, event)
        if not self._send_text(json.dumps(event, separators=(",", ":"))):
            return
        self.sent_count += 1
        self.sent_types.append(event["type"])
        if self._watch:
            self._check_faults()

    def _event_errors(self, scope: Any, event: Json) -> List[str]:
        """Why an event about to be sent is invalid: checked by the open validation ``scope``, or (None) against
        the strict schema of the connection's dialect."""
        return scope.check(event, self.dialect) if scope is not None else emitted_event_errors(event, self.dialect)

    def _send_text(self, text: str) -> bool:
        try:
            self.ws.send(text)
            return True
        except (ConnectionClosed, OSError, RuntimeError):
            self._closing = True
            return False

    # -- faults -----------------------------------------------------------------------------------------------------
    def watch_fault(self, rule: FaultRule) -> None:
        with self.lock:
            if rule.after <= 0:
                self._fire(rule)
            else:
                self._watch.append((rule, self.sent_count))

    def unwatch_faults(self) -> None:
        with self.lock:
            self._watch.clear()

    def _check_faults(self) -> None:
        for entry in list(self._watch):
            rule, start = entry
            if self.sent_count - start >= rule.after:
                self._watch.remove(entry)
                self._fire(rule)

    def _fire(self, rule: FaultRule) -> None:
        if self._closing or self.stalled or not self.server.faults.claim(rule):
            return
        logger.info("fault %s fired after %d events", rule.kind, self.sent_count)
        p = rule.params
        if rule.kind == "drop":
            self._drop()
        elif rule.kind == "close":
            self._close_async(p["code"], p["reason"])
        elif rule.kind == "malformed":
            self._send_text(p["text"])
        elif rule.kind == "unknown_event":
            self._send_text(json.dumps({"type": p["event_type"], "event_id": new_id("event")}))
        elif rule.kind == "error":
            self._send_event(self.ev("error", error={"type": p["error_type"], "code": p["code"],
                                                     "message": p["message"], "param": p["param"],
                                                     "event_id": None}))
        elif rule.kind == "stall":
            self._stall()

    # -- used by responses ------------------------------------------------------------------------------------------
    def response_finished(self, run: Any, tokens: int) -> int:
        """Called under the lock when a response ends; returns the remaining token rate limit."""
        if self.active_response is run:
            self.active_response = None
        self.tokens_used += tokens
        self.audio.idle_since_ms = self.audio.stream_ms
        return max(0, 15000000 - self.tokens_used)
