"""Reconnecting: the policy (:class:`ReconnectPolicy`) and the plain decisions a session takes when its connection
ends: whether to reconnect (:func:`reconnect_reason`), how long to wait (:meth:`ReconnectPolicy.delay`) and what
to send to restore the session on the new connection (:func:`restore_plan`), which kept commands still go out
(:func:`withdraw_commands`) and which ``error`` events announce the close rather than answer a call
(:data:`CLOSING_ERROR_CODES`). No I/O and no threads here: the session's recovery
(:mod:`realtime_sync._connection.recovery`) carries the decisions out.

What is restored (``restore=``):

* ``"session"``: the session configuration the app last applied (as the server confirmed it, merged), which
  includes the registered tools;
* ``"conversation"`` (the default): that, plus the conversation mirror's items replayed in order with
  ``conversation.item.create``: user and assistant text (with the ``phase`` of 2.x models), assistant audio as its
  transcript, user audio as its transcript when known, function calls with their outputs; the newest
  ``max_restore_items`` are kept, and ``history_hook(items) -> items`` may rewrite or summarise them first;
* ``"none"``: nothing (a fresh server session).
"""
import json
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, AbstractSet, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .errors import (AuthenticationError, ConfigurationError, ConnectionClosedError, ConnectionLostError,
                     HandshakeError, RealtimeConnectionError, RealtimeTimeoutError, RequestRefusedError,
                     SendQueueFullError, SessionClosedError)
from .protocol.model_names import MESSAGE_PHASES

if TYPE_CHECKING:  # the mirror's items (the conversation module loads with the first session)
    from .conversation import MirrorItem

__all__ = ["ReconnectPolicy", "RECOVERABLE_CLOSE_CODES", "reconnect_reason", "attempt_may_retry", "restore_plan",
           "RESTORE_MODES", "CLOSING_ERROR_CODES", "KeptCommand", "KeptCommands", "command_event_id",
           "withdraw_commands"]

#: Close codes after which a new connection may succeed (openai-python 3.57 uses the same set).
RECOVERABLE_CLOSE_CODES = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})
RESTORE_MODES = ("conversation", "session", "none")
#: ``error`` codes the service sends just before it closes the connection itself (``session_expired``, then close
#: 1001): they answer no call of ours. The close that follows decides how a call in flight ends (reconnecting:
#: SessionInterruptedError; not: the close's error).
CLOSING_ERROR_CODES = frozenset({"session_expired"})
Json = Dict[str, Any]
#: A command kept for the next connection: ``(JSON text, type, after_audio)`` (as in a connection's leftovers).
KeptCommand = Tuple[str, str, bool]


@dataclass
class ReconnectPolicy:
    """How a session reconnects: capped exponential backoff with jitter, attempts per outage, what to restore.

    The delay before attempt ``n`` (1-based) is ``min(initial_delay * 2 ** (n - 1), max_delay)``, reduced by up to
    ``jitter`` (a fraction) at random, so many clients dropped together do not come back together.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    restore: str = "conversation"
    max_restore_items: int = 100
    history_hook: Optional[Callable[[List["MirrorItem"]], List["MirrorItem"]]] = None
    max_queued_bytes: int = 1024 * 1024  #: commands kept while disconnected (in order); past it a send raises
    attempt_timeout: float = 15.0  #: bound of each attempt (connect, session.created, restore)
    #: refresh this long before the session's ``expires_at``, at a quiet moment (no response, no user speech);
    #: None: only reconnect when ``session_expired`` arrives
    refresh_lead: Optional[float] = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ConfigurationError("ReconnectPolicy: max_attempts >= 1, delays >= 0 and 0 <= jitter <= 1")
        if self.restore not in RESTORE_MODES:
            raise ConfigurationError(f"ReconnectPolicy.restore must be one of {', '.join(RESTORE_MODES)}, "
                                     f"not {self.restore!r}")

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = min(self.initial_delay * 2 ** max(0, attempt - 1), self.max_delay)
        return base * (1.0 - self.jitter * rng())

    @classmethod
    def coerce(cls, value: Union[bool, "ReconnectPolicy", None]) -> Optional["ReconnectPolicy"]:
        """``True`` -> the default policy, ``False``/None -> no reconnecting, a policy -> itself."""
        if value is True:
            return cls()
        if value is False or value is None:
            return None
        if isinstance(value, ReconnectPolicy):
            return value
        raise ConfigurationError(f"reconnect must be True, False or a ReconnectPolicy, not {value!r}")


def reconnect_reason(error: Optional[BaseException], last_error_code: Optional[str] = None) -> Optional[str]:
    """Why the session should reconnect after its connection ended with ``error`` (None: it must not).

    Reconnect on a drop or dead peer, on closes 1001/1005/1006/1011/1012/1013/1015, and on ``session_expired``.
    Never after our own close, an authentication failure (3000, HTTP 401/403), a refusal (4000), a refused
    handshake or a message too large for us."""
    if error is None or isinstance(error, (SessionClosedError, AuthenticationError, RequestRefusedError,
                                           HandshakeError)):
        return None
    if last_error_code == "session_expired":
        return "session_expired"
    if isinstance(error, ConnectionLostError):
        return "dead peer" if error.reason == "dead peer" else "connection lost"
    if isinstance(error, ConnectionClosedError):
        return f"close {error.code}" if error.code in RECOVERABLE_CLOSE_CODES else None
    return None


def attempt_may_retry(error: BaseException) -> bool:
    """A failed attempt is retried after a timeout or a connection error; an auth failure or a refusal (the
    credentials or the request are wrong, and will stay wrong) ends the recovery."""
    if isinstance(error, (AuthenticationError, RequestRefusedError, ConfigurationError)):
        return False
    if isinstance(error, HandshakeError):
        return error.status is None or error.status >= 500 or error.status == 429
    return isinstance(error, (RealtimeConnectionError, RealtimeTimeoutError, OSError))


def _item_json(item: "MirrorItem") -> Optional[Json]:
    """The ``conversation.item.create`` item replaying ``item`` (None when there is nothing to replay)."""
    if item.type == "message":
        text = item.text or item.transcript
        if not text:
            return None
        if item.role == "assistant":
            part: Json = {"type": "output_text", "text": text}
        else:
            part = {"type": "input_text", "text": text}
        replayed: Json = {"type": "message", "role": item.role or "user", "content": [part]}
        if item.role == "assistant" and item.phase in MESSAGE_PHASES:
            replayed["phase"] = item.phase  # kept and resent, as the service asks (ADDENDUM-2026-12 A2.3)
        return replayed
    if item.type == "function_call" and item.call_id and item.name:
        return {"type": "function_call", "call_id": item.call_id, "name": item.name,
                "arguments": item.arguments or "{}"}
    if item.type == "function_call_output" and item.call_id:
        return {"type": "function_call_output", "call_id": item.call_id, "output": item.output or ""}
    return None


def restore_plan(session_config: Optional[Json], items: Sequence["MirrorItem"], policy: ReconnectPolicy) -> List[Json]:
    """The client events that restore a session on a new connection, in order: one ``session.update`` (when
    there is a configuration to restore), then one ``conversation.item.create`` per replayed item. A function
    call is replayed only with its output and an output only with its call (the service refuses an orphan)."""
    plan: List[Json] = []
    if policy.restore == "none":
        return plan
    if session_config:
        plan.append({"type": "session.update", "session": json.loads(json.dumps(session_config))})
    if policy.restore != "conversation":
        return plan
    chosen = list(items)
    if policy.history_hook is not None:
        chosen = list(policy.history_hook(chosen))
    calls = {i.call_id for i in chosen if i.type == "function_call"}
    outputs = {i.call_id for i in chosen if i.type == "function_call_output"}
    replay = [j for j in (_item_json(i) for i in chosen
                          if i.type not in ("function_call", "function_call_output")
                          or (i.call_id in calls and i.call_id in outputs)) if j is not None]
    kept = replay[-policy.max_restore_items:] if policy.max_restore_items > 0 else []
    while kept and kept[0]["type"] == "function_call_output":  # its call was cut by the budget
        kept.pop(0)
    plan.extend({"type": "conversation.item.create", "item": item} for item in kept)
    return plan


def command_event_id(text: str) -> Optional[str]:
    """The ``event_id`` of a command's JSON text (None when it has none or is not a JSON object)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id if isinstance(event_id, str) else None


def withdraw_commands(commands: Sequence[KeptCommand],
                      event_ids: AbstractSet[str]) -> Tuple[List[KeptCommand], List[KeptCommand]]:
    """Split the commands kept for the next connection into ``(still to send, withdrawn)``, both in order.

    A command is withdrawn when its ``event_id`` is one of ``event_ids``: it belongs to a call that already failed
    with SessionInterruptedError because of the drop (an ``ask`` turn's item and ``response.create``, a
    ``configure_session``'s update), so sending it on the new connection would answer nobody (a "ghost" response
    that holds up the next turn). Every other command (the app's plain sends) still goes out, once."""
    if not event_ids:
        return list(commands), []
    keep: List[KeptCommand] = []
    withdrawn: List[KeptCommand] = []
    for command in commands:
        text = command[0]
        hit = any(event_id in text for event_id in event_ids) and command_event_id(text) in event_ids
        (withdrawn if hit else keep).append(command)
    return keep, withdrawn


class KeptCommands:
    """The commands a reconnecting session keeps for its next connection, as a plain state object (no lock: the
    recovery holds its own; no I/O): in order, at most ``limit`` bytes of the app's sends, and never one whose
    ``event_id`` was withdrawn during this outage (see :func:`withdraw_commands`), even if it is sent after the
    withdrawal (a ``configure_session`` whose wait already failed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.commands: List[KeptCommand] = []
        self.bytes = 0
        self.withdrawn: set = set()  #: event ids that must not go out on the next connection
        self.dropped = 0  #: commands withdrawn during this outage

    def __len__(self) -> int:
        return len(self.commands)

    def put_first(self, commands: Sequence[KeptCommand]) -> None:
        """Commands a connection accepted but never wrote: before everything kept so far (they were sent first)."""
        kept, withdrawn = withdraw_commands(commands, self.withdrawn)
        self.commands[:0] = kept
        self.bytes += sum(len(c[0]) for c in kept)
        self.dropped += len(withdrawn)

    def put(self, text: str, type_: str, after_audio: bool) -> bool:
        """Keep one of the app's sends; False when it was withdrawn (dropped). SendQueueFullError past the limit."""
        if self.withdrawn and command_event_id(text) in self.withdrawn:
            self.dropped += 1
            return False
        if self.bytes + len(text) > self.limit:
            raise SendQueueFullError(self.bytes, self.limit)
        self.commands.append((text, type_, after_audio))
        self.bytes += len(text)
        return True

    def withdraw(self, event_ids: AbstractSet[str]) -> int:
        """Drop the kept commands with these event ids, and any sent later in this outage; returns how many now."""
        self.withdrawn |= event_ids
        self.commands, withdrawn = withdraw_commands(self.commands, event_ids)
        self.bytes -= sum(len(c[0]) for c in withdrawn)
        self.dropped += len(withdrawn)
        return len(withdrawn)

    def take(self) -> List[KeptCommand]:
        """Everything kept, in order, for the new connection; the outage is over (nothing stays withdrawn)."""
        commands, self.commands, self.bytes = self.commands, [], 0
        self.withdrawn = set()
        self.dropped = 0
        return commands
