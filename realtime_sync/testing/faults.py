"""Fault injection for reliability tests: ``server.faults``.

Event-count faults (:meth:`Faults.drop_after`, :meth:`~Faults.close_after`, :meth:`~Faults.send_malformed`,
:meth:`~Faults.send_unknown_event`, :meth:`~Faults.send_error`, :meth:`~Faults.stall`) are *rules*: once armed, a
rule watches connections (``scope="all"``: the open ones and the ones opened later; ``"open"``: only those open now;
``"new"``: only later ones) and fires on a connection after it has sent ``after`` more server events (``after=0``:
at once on an open connection, before ``session.created`` on a new one). It fires on at most ``times`` connections
(None: every one). :meth:`~Faults.delay` and :meth:`~Faults.expire_after` are settings that hold until changed or
:meth:`~Faults.clear`.
"""
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ["Faults", "FaultRule"]

logger = logging.getLogger("realtime_sync.testing.faults")


@dataclass
class FaultRule:
    kind: str  #: drop / close / malformed / unknown_event / error / stall
    after: int = 0
    times: Optional[int] = 1
    scope: str = "all"
    params: Dict[str, Any] = field(default_factory=dict)
    fired: int = 0  #: connections it fired on so far

    def _claim(self, lock: threading.Lock) -> bool:
        with lock:
            if self.times is not None and self.fired >= self.times:
                return False
            self.fired += 1
            return True

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


def _check_count(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__} (give other arguments by keyword, e.g. "
                        "send_unknown_event(event_type='response.new_thing'))")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")


def _check_seconds(seconds: Any) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if not seconds >= 0:
        raise ValueError(f"seconds must be 0 or more, not {seconds!r}")
    return float(seconds)


class Faults:
    """The fault switches of one :class:`~realtime_sync.testing.FakeRealtimeServer`."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._rules: List[FaultRule] = []
        #: seconds added before every server event (network latency); 0: none
        self.event_delay = 0.0
        #: session lifetime override (seconds) for sessions opened from now on; None: the server's default
        self.expire_seconds: Optional[float] = None

    # -- rules ------------------------------------------------------------------------------------------------------
    def _arm(self, rule: FaultRule) -> FaultRule:
        """Check a rule's arguments now (a bad one would otherwise fail inside a connection's handler), then arm."""
        if rule.scope not in ("all", "open", "new"):
            raise ValueError("scope is 'all', 'open' or 'new'")
        _check_count("after/events", rule.after, 0)
        if rule.times is not None:
            _check_count("times", rule.times, 1)
        for name in ("event_type", "text", "message", "reason", "error_type"):
            if name in rule.params and not isinstance(rule.params[name], str):
                raise TypeError(f"{name} must be a str, not {type(rule.params[name]).__name__}")
        for name in ("code", "param"):
            value = rule.params.get(name)
            if rule.kind == "error" and value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
        if rule.kind == "unknown_event" and not rule.params["event_type"]:
            raise ValueError("event_type must not be empty")
        if rule.kind == "close":
            code = rule.params["code"]
            if isinstance(code, bool) or not isinstance(code, int) or not (code == 1000 or 1001 <= code <= 4999):
                raise ValueError(f"code must be a WebSocket close code (1000-4999), not {code!r}")
            if len(rule.params["reason"].encode("utf-8")) > 123:
                raise ValueError("reason must fit a close frame (at most 123 UTF-8 bytes)")
        with self._lock:
            if rule.scope != "open":
                self._rules.append(rule)
        logger.debug("fault armed: %s after %d events", rule.kind, rule.after)
        if rule.scope != "new":
            for conn in self._server._open_connections():
                conn.watch_fault(rule)
        return rule

    def rules_for_new_connection(self) -> List[FaultRule]:
        with self._lock:
            self._rules = [r for r in self._rules if not r.exhausted]
            return list(self._rules)

    def claim(self, rule: FaultRule) -> bool:
        """Called by a connection about to fire ``rule``: False when the rule already fired ``times`` times."""
        return rule._claim(self._lock)

    def drop_after(self, events: int = 0, *, times: Optional[int] = 1, scope: str = "all") -> FaultRule:
        """Cut the TCP connection (no close frame: the client sees an abnormal closure, 1006) after ``events``."""
        return self._arm(FaultRule("drop", events, times, scope))

    def close_after(self, events: int = 0, code: int = 1011, reason: str = "", *, times: Optional[int] = 1,
                    scope: str = "all") -> FaultRule:
        """Close with ``code`` and ``reason`` after ``events`` server events."""
        return self._arm(FaultRule("close", events, times, scope, {"code": code, "reason": reason}))

    def send_malformed(self, after: int = 0, text: str = '{"type": "response.output_text.delta", "delta": ',
                       *, times: Optional[int] = 1, scope: str = "all") -> FaultRule:
        """Send a text frame that is not valid JSON."""
        return self._arm(FaultRule("malformed", after, times, scope, {"text": text}))

    def send_unknown_event(self, after: int = 0, event_type: str = "response.future_event", *,
                           times: Optional[int] = 1, scope: str = "all") -> FaultRule:
        """Send a well-formed event of a type no dialect defines."""
        return self._arm(FaultRule("unknown_event", after, times, scope, {"event_type": event_type}))

    def send_error(self, code: Optional[str] = "server_error",
                   message: str = "The server had an error while processing your request. Sorry about that!",
                   *, error_type: str = "server_error", param: Optional[str] = None, after: int = 0,
                   times: Optional[int] = 1, scope: str = "all") -> FaultRule:
        """Send an ``error`` event (not answering any client event: ``error.event_id`` is null)."""
        return self._arm(FaultRule("error", after, times, scope, {"code": code, "message": message,
                                                                  "error_type": error_type, "param": param}))

    def stall(self, after: int = 0, *, times: Optional[int] = 1, scope: str = "all") -> FaultRule:
        """Go silent with the TCP connection left open: no more events, pings, pongs or close frames; client
        events are ignored. A client's keepalive must notice."""
        return self._arm(FaultRule("stall", after, times, scope))

    # -- settings ---------------------------------------------------------------------------------------------------
    def delay(self, seconds: float) -> None:
        """Wait ``seconds`` before every server event on every connection (0 turns it off)."""
        self.event_delay = _check_seconds(seconds)

    def expire_after(self, seconds: float) -> None:
        """Sessions end after ``seconds``: ``error`` ``session_expired``, then close 1001, as the service does at
        its maximum duration. Open sessions count from now, new ones from their start."""
        self.expire_seconds = _check_seconds(seconds)
        if not self.expire_seconds:
            raise ValueError("seconds must be more than 0")
        for conn in self._server._open_connections():
            conn.set_expiry(seconds)

    def clear(self) -> None:
        """Disarm every rule and reset the settings (stalled connections stay stalled)."""
        with self._lock:
            for rule in self._rules:
                rule.times = rule.fired
            self._rules.clear()
        for conn in self._server._open_connections():
            conn.unwatch_faults()
        self.event_delay = 0.0
        self.expire_seconds = None
