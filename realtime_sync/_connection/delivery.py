"""Handing updates from the reader thread to the app: one owner (:class:`Delivery`) of the observers, the update
queue behind ``receive_updates()`` and the waiters of blocking calls, and of how they all end.

The queue is a deque plus a condition that is only touched when a consumer is actually sleeping, so the reader's
per-update cost is one ``append``. Waiters are matched on the reader thread; every waiter fails (never hangs) when
the connection ends.
"""
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Iterable, List, Optional, Set, Tuple, Union

from ..errors import ConfigurationError, RealtimeTimeoutError, ServerError
from ..observers import Observer, notify_closed, runs_inline
from ..protocol import ConversationUpdate, UpdateKind
from ..protocol.local import UpdatesDroppedUpdate
from ..protocol.updates import ErrorUpdate

__all__ = ["Delivery", "UpdateQueue", "QUEUE_POLICIES", "DEFAULT_QUEUE_LIMIT", "Waiter", "WaiterSet", "make_matcher",
           "Match", "clone_error"]

log = logging.getLogger("realtime_sync.session")

Match = Union[UpdateKind, str, Iterable[Union[UpdateKind, str]], Callable[[ConversationUpdate], bool]]
_END = object()
_EMPTY = object()
#: What a full update queue does: drop the oldest (and say so in-band) or block the reader (back-pressure).
QUEUE_POLICIES = ("drop_oldest", "block")
#: Updates kept for ``receive_updates()`` by default (minutes of audio deltas; the oldest are dropped past it).
DEFAULT_QUEUE_LIMIT = 5000


def clone_error(exc: BaseException) -> BaseException:
    """A fresh copy of a stored exception (same class, args and attributes; no traceback), so raising it in
    several threads does not pile tracebacks onto one object."""
    try:
        new = exc.__class__.__new__(exc.__class__)
        new.args = exc.args
        new.__dict__.update(exc.__dict__)
        return new
    except Exception:  # pragma: no cover - exotic exception classes
        return exc


class UpdateQueue:
    """The updates waiting for ``receive_updates()``: at most ``limit`` (None: unbounded). When full, ``policy``
    decides: ``"drop_oldest"`` drops the oldest updates and leaves one :class:`UpdatesDroppedUpdate` in their place
    saying how many (the consumer always learns of a drop); ``"block"`` makes the reader thread wait for the
    consumer, which stops reading the socket (back-pressure: observers and waiters wait too). Once ended, the
    queue takes nothing more, so the end marker is always the last item and every consumer reaches it."""

    def __init__(self, limit: Optional[int] = DEFAULT_QUEUE_LIMIT, policy: str = "drop_oldest") -> None:
        if policy not in QUEUE_POLICIES:
            raise ConfigurationError(f"queue_policy must be one of {', '.join(QUEUE_POLICIES)}, not {policy!r}")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ConfigurationError(f"queue_limit must be a positive number of updates or None, not {limit!r}")
        self._dq: Deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._sleepers = 0
        self._blocked = 0
        self._limit = limit
        self._block = policy == "block"
        self.dropped = 0
        self._error: Optional[BaseException] = None
        self._ended = False
        self._closing = False

    def __len__(self) -> int:
        n = len(self._dq)
        return n - 1 if self._ended and n else n

    def put(self, update: Any) -> None:
        if self._ended:  # a late update after the end: the end marker stays last and is never evicted
            return
        dq = self._dq
        if self._limit is not None and len(dq) >= self._limit:
            self._put_full(update)
            return
        dq.append(update)
        if self._sleepers:
            with self._cond:
                self._cond.notify()

    def _put_full(self, update: Any) -> None:
        with self._cond:
            dq, limit = self._dq, self._limit or 0
            if self._block:
                self._blocked += 1
                try:
                    while len(dq) >= limit and not self._ended and not self._closing:
                        self._cond.wait()
                finally:
                    self._blocked -= 1
                if not self._ended:
                    dq.append(update)
                    self._cond.notify_all()
                return
            dq.append(update)
            try:
                head = dq.popleft()
                if type(head) is UpdatesDroppedUpdate:  # merge into the marker already in front
                    dq.popleft()
                    head.add(1)
                else:
                    head = UpdatesDroppedUpdate(count=1)
                dq.appendleft(head)
            except IndexError:  # pragma: no cover - the consumer emptied the queue meanwhile
                return
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("update queue over its limit of %d: %d updates dropped (iterate receive_updates() "
                            "or raise queue_limit)", limit, self.dropped)
            if self._sleepers:
                self._cond.notify()

    def closing(self) -> None:
        """The session is closing: stop back-pressure (a blocked reader goes on; the little still in flight is
        queued past the limit) so the close is not held up by a consumer that stopped iterating."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def end(self, error: Optional[BaseException]) -> None:
        """No more updates: consumers drain what is queued, then stop (``error`` None) or raise ``error``."""
        with self._cond:
            if self._ended:
                return
            self._ended = True
            self._error = error
            self._dq.append(_END)
            self._cond.notify_all()

    @property
    def error(self) -> Optional[BaseException]:
        return self._error

    @property
    def ended(self) -> bool:
        """The stream ended (after a close, or for good after a failure)."""
        return self._ended

    @property
    def blocking(self) -> bool:
        """The policy is ``"block"`` (a full queue holds the reader)."""
        return self._block

    def get(self, timeout: Optional[float] = None) -> Any:
        """The next update; raises StopIteration at a clean end, the connection error at a failed end, and
        RealtimeTimeoutError when nothing arrives within ``timeout``."""
        dq = self._dq
        try:
            item = dq.popleft()
        except IndexError:
            item = _EMPTY
        if item is _EMPTY:  # (outside an except block: a timeout's traceback has nothing chained to it)
            item = self._sleep(timeout)
        if self._blocked:
            with self._cond:
                self._cond.notify_all()
        if item is _END:
            dq.appendleft(_END)  # every consumer (and every later call) sees the end
            if self._error is not None:
                raise clone_error(self._error)
            raise StopIteration
        return item

    def _sleep(self, timeout: Optional[float]) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        dq = self._dq
        with self._cond:
            self._sleepers += 1
            try:
                while not dq:
                    if deadline is None:
                        self._cond.wait()
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise RealtimeTimeoutError(f"no update within {timeout} s")
                        self._cond.wait(left)
                return dq.popleft()
            finally:
                self._sleepers -= 1


def make_matcher(match: Match) -> Callable[[ConversationUpdate], bool]:
    """A predicate from an UpdateKind, a wire type of either dialect, a collection of those, or a callable.
    A wire type the protocol layer does not know matches updates whose ``.type`` is exactly that string."""
    if callable(match) and not isinstance(match, (UpdateKind, str)):
        return match
    values = [match] if isinstance(match, (UpdateKind, str)) else list(match)
    kinds, types = set(), set()
    for value in values:
        kind = value if isinstance(value, UpdateKind) else UpdateKind.from_type(value)
        if kind is UpdateKind.UNKNOWN and not isinstance(value, UpdateKind):
            if not isinstance(value, str) or not value:
                raise TypeError(f"cannot match updates on {value!r}")
            types.add(value)
        else:
            kinds.add(kind)
    if not types:
        return lambda u: u.kind in kinds
    return lambda u: u.kind in kinds or u.type in types


_RESOLVE_LOCK = threading.Lock()


class Waiter:
    """One blocking call waiting for an update (or for the error answering its ``event_id``)."""

    __slots__ = ("match", "event_id", "_event", "result", "error", "app_code")

    def __init__(self, match: Callable[[ConversationUpdate], bool], event_id: Optional[str],
                 app_code: bool = False) -> None:
        self.match = match
        self.app_code = app_code  # the predicate is the app's (it runs on the reader thread)
        self.event_id = event_id
        self._event = threading.Event()
        self.result: Optional[ConversationUpdate] = None
        self.error: Optional[BaseException] = None

    def resolve(self, update: Optional[ConversationUpdate], error: Optional[BaseException] = None) -> bool:
        """Settle the waiter with an update or an error, once: the first call wins (atomically), later ones are
        ignored and return False."""
        with _RESOLVE_LOCK:
            if self._event.is_set():
                return False
            self.result, self.error = update, error
            self._event.set()
        return True

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: Optional[float], what: str = "update") -> ConversationUpdate:
        if not self._event.wait(timeout):
            raise RealtimeTimeoutError(f"no {what} within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class WaiterSet:
    def __init__(self, scrub: Callable[[str], str] = lambda s: s) -> None:
        self._lock = threading.Lock()
        self._waiters: List[Waiter] = []
        self._dead: Optional[Callable[[], BaseException]] = None
        self._scrub = scrub

    def __bool__(self) -> bool:
        return bool(self._waiters)

    @property
    def app_code(self) -> bool:
        """Some pending waiter has an app predicate."""
        return any(w.app_code for w in self._waiters)

    def add(self, match: Match, event_id: Optional[str] = None) -> Waiter:
        w = Waiter(make_matcher(match), event_id, app_code=callable(match) and not isinstance(match, (UpdateKind, str)))
        with self._lock:
            if self._dead is not None:
                w.resolve(None, self._dead())
            else:
                self._waiters.append(w)
        return w

    def discard(self, w: Waiter) -> None:
        with self._lock:
            try:
                self._waiters.remove(w)
            except ValueError:
                pass

    def dispatch(self, update: ConversationUpdate) -> None:
        """Resolve the waiters this update answers (reader thread)."""
        with self._lock:
            waiters = list(self._waiters)
        is_error = type(update) is ErrorUpdate
        for w in waiters:
            try:
                if is_error and w.event_id is not None and update.client_event_id == w.event_id:  # type: ignore
                    w.resolve(None, ServerError.from_update(update, self._scrub))
                elif w.match(update):
                    w.resolve(update)
                else:
                    continue
            except Exception as exc:  # a user predicate raised: the waiting call raises it
                w.resolve(None, exc)
            self.discard(w)

    def interrupt(self, make_error: Callable[[], BaseException]) -> Set[str]:
        """The connection dropped but the session goes on: fail the waiters pending now (later ones wait as usual).
        Returns the ``event_id`` s those waiters answered for (a ``configure_session``'s update): their commands
        must not go out on the new connection, since their callers already have the error."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        failed = set()
        for w in waiters:
            if w.resolve(None, make_error()) and w.event_id is not None:
                failed.add(w.event_id)
        return failed

    def fail_all(self, make_error: Callable[[], BaseException]) -> None:
        """The connection ended: fail every pending waiter, and every waiter added from now on."""
        with self._lock:
            self._dead = make_error
            waiters, self._waiters = self._waiters, []
        for w in waiters:
            w.resolve(None, make_error())


class Delivery:
    """Everything that leaves the reader thread, with one owner: :meth:`deliver` passes each update to the
    observers (in order), the queue (unless ``queue_updates`` is False) and the waiters; :meth:`end` ends them all
    once. It belongs to the session and outlives any one connection."""

    def __init__(self, *, queue_limit: Optional[int] = DEFAULT_QUEUE_LIMIT, queue_policy: str = "drop_oldest",
                 queue_updates: bool = True, scrub: Callable[[str], str] = lambda s: s) -> None:
        self.queue = UpdateQueue(queue_limit, queue_policy)
        self.waiters = WaiterSet(scrub)
        self.queue_updates = queue_updates
        self.observers: Tuple[Observer, ...] = ()  #: replaced whole under the lock; the reader reads it lock-free
        self.muted = False  #: a reconnect is restoring the session: updates skip the app's queue meanwhile
        self._observers_lock = threading.Lock()

    @property
    def inline_safe(self) -> bool:
        """Updates may be delivered on the I/O thread: every observer says it neither blocks nor runs app code,
        no app predicate is waiting and a full queue never blocks."""
        if self.queue.blocking and self.queue_updates:
            return False
        if self.waiters and self.waiters.app_code:
            return False
        return all(runs_inline(o) for o in self.observers)

    def add_observer(self, observer: Observer) -> None:
        if not isinstance(observer, Observer):
            raise TypeError("an observer needs a handle_update(update) method")
        with self._observers_lock:
            self.observers = self.observers + (observer,)

    def remove_observer(self, observer: Observer) -> None:
        with self._observers_lock:
            self.observers = tuple(o for o in self.observers if o is not observer)

    def deliver(self, update: ConversationUpdate) -> None:
        """One update from the reader thread (per update: keep it cheap)."""
        for observer in self.observers:
            try:
                observer.handle_update(update)
            except Exception:
                log.exception("observer %s raised (ignored)", type(observer).__name__)
        if self.queue_updates and not self.muted:
            self.queue.put(update)
        if self.waiters:
            self.waiters.dispatch(update)

    def wait_for(self, match: Match, timeout: Optional[float], what: str, *, event_id: Optional[str] = None,
                 send: Optional[Callable[[], Any]] = None) -> ConversationUpdate:
        """Wait for the next update matching ``match`` (or the error answering ``event_id``); ``send`` runs after
        the waiter is registered, so the answer to what it sends cannot be missed."""
        waiter = self.waiters.add(match, event_id)
        try:
            if send is not None:
                send()
            return waiter.wait(timeout, what)
        finally:
            self.waiters.discard(waiter)

    def end(self, error: Optional[BaseException], make_error: Callable[[], BaseException]) -> None:
        """The connection ended: pending and later waiters fail with ``make_error()``, the queue ends (cleanly when
        ``error`` is None) and every observer with ``handle_connection_closed`` hears it once."""
        self.waiters.fail_all(make_error)
        self.queue.end(error)
        for observer in self.observers:
            try:
                notify_closed(observer, error)
            except Exception:
                log.exception("observer %s raised in handle_connection_closed (ignored)", type(observer).__name__)
