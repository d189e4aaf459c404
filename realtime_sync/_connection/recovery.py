"""A session's recovery after its connection failed: reconnect with backoff, restore, resend, resume.

:meth:`Recovery.on_lost` is the connection's ``on_lost``: it decides (:func:`~realtime_sync.reconnect.reconnect_reason`)
and, when the session should come back, takes the connection's leftovers and starts one short-lived thread for
the outage (``realtime-N-reconnect``). That thread, for each attempt: waits the policy's delay (``close()`` cuts
it short), asks the ``on_reconnecting`` hooks, opens a new socket with fresh credentials, waits for
``session.created``, restores (the applied configuration, then the conversation), sends what the app sent
meanwhile and what the old connection never wrote (in order, once), moves the audio jobs over (a file resumes
where it stopped; a live source's backlog is dropped and counted), and delivers a
:class:`~realtime_sync.protocol.ReconnectedUpdate`. While it works the app's queue is muted: what the new
connection says during the restore is for the observers and the restore itself. When attempts run out, the
delivery ends with the last error, as without reconnecting.

A call in flight at the drop (an ``ask`` turn, a ``configure_session`` or ``wait_for``) fails with
SessionInterruptedError, and the commands it sent that the old connection never wrote are withdrawn from what
goes out after the restore (:class:`~realtime_sync.reconnect.KeptCommands`), and the conversation items it
named (an ``ask``'s question and partial answer) are left out of the replayed history: nothing reaches the new
server session for a caller who already has the error. A call started during the outage is carried over: its commands
are kept and it completes on the new connection.
"""
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, AbstractSet, Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import ConnectionLostError, SessionClosedError, SessionInterruptedError
from ..observers import notify_interrupted
from ..protocol import ConversationUpdate, UpdateKind
from ..protocol.local import ReconnectedUpdate
from ..reconnect import KeptCommands, ReconnectPolicy, attempt_may_retry, reconnect_reason, restore_plan
from .audio_jobs import AudioJob
from .delivery import clone_error
from .writer import Leftovers

if TYPE_CHECKING:
    from ..session import RealtimeSession

__all__ = ["Recovery", "ReconnectingInfo"]

log = logging.getLogger("realtime_sync.reconnect")


class ReconnectingInfo:
    """What an ``on_reconnecting`` hook is told before each attempt; return False from the hook to give up. The
    hook may also fill ``headers`` (sent with this attempt's handshake, over the client's) and ``query`` (added to
    the URL), e.g. to route the new connection."""

    __slots__ = ("attempt", "max_attempts", "why", "error", "delay", "session_id", "headers", "query")

    def __init__(self, attempt: int, max_attempts: int, why: str, error: BaseException, delay: float,
                 session_id: Optional[str]) -> None:
        self.attempt, self.max_attempts, self.why = attempt, max_attempts, why
        self.error, self.delay, self.session_id = error, delay, session_id
        self.headers: Dict[str, str] = {}
        self.query: Dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<ReconnectingInfo attempt {self.attempt}/{self.max_attempts} why={self.why!r} delay={self.delay:.2f}>"


class ActivityWatch:
    """Whether the session is quiet (no response being generated, the user not speaking): when a refresh may
    switch connections without cutting anything. An observer that runs inline (bookkeeping only)."""

    inline_safe = True

    def __init__(self) -> None:
        self.responses: set = set()
        self.speaking = False

    def handle_update(self, update: ConversationUpdate) -> None:
        kind = update.kind
        if kind is UpdateKind.RESPONSE_CREATED:
            response = getattr(update, "response", None)
            self.responses.add(getattr(response, "id", None) or "")
        elif kind is UpdateKind.RESPONSE_DONE:
            response = getattr(update, "response", None)
            self.responses.discard(getattr(response, "id", None) or "")
            if not getattr(response, "id", None):
                self.responses.clear()
        elif kind is UpdateKind.INPUT_SPEECH_STARTED:
            self.speaking = True
        elif kind is UpdateKind.INPUT_SPEECH_STOPPED:
            self.speaking = False

    def handle_connection_interrupted(self, error: BaseException) -> None:
        self.responses.clear()
        self.speaking = False

    @property
    def quiet(self) -> bool:
        return not self.responses and not self.speaking


class Recovery:
    """The reconnect machinery of one session (see the module docstring)."""

    def __init__(self, session: "RealtimeSession", policy: ReconnectPolicy, connector: Callable[..., Any], *,
                 on_reconnecting: Sequence[Callable[[ReconnectingInfo], Any]] = (),
                 on_reconnected: Sequence[Callable[[ReconnectedUpdate], Any]] = ()) -> None:
        self._session = session
        self.policy = policy
        self._connector = connector
        self._on_reconnecting = on_reconnecting
        self._on_reconnected = on_reconnected
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.active = False  #: an outage is being handled: sends are kept for the new connection
        self._kept = KeptCommands(policy.max_queued_bytes)
        self._jobs: List[AudioJob] = []
        self._thread: Optional[threading.Thread] = None
        self.reconnects = 0  #: outages recovered from
        self.refreshes = 0  #: connections replaced before expiry
        self.watch = ActivityWatch()
        self._refresh_timer: Optional[Any] = None
        self._expires_at = 0.0
        self._lost_during_refresh: Optional[Tuple[BaseException, str, float]] = None

    # -- the connection's on_lost (its reader thread, or a closer) --------------------------------------------------
    def on_lost(self, error: BaseException, leftovers: Leftovers) -> bool:
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
        last = self._session._conn.reader.last_error
        why = reconnect_reason(error, last.code if last is not None else None)
        if why is None or self._stop.is_set():
            return False
        with self._lock:
            self.active = True
            self._kept.put_first(leftovers.commands)  # never written: they go first, once
            self._jobs[:0] = leftovers.jobs
            busy = self._thread is not None and self._thread.is_alive()
            if busy:  # a refresh is under way: it takes over (or, if it fails, reconnects for this loss)
                self._lost_during_refresh = (error, why, time.monotonic())
        if busy:
            return True
        log.info("connection lost (%s): reconnecting", why)
        thread = threading.Thread(target=self._run, args=(error, why, time.monotonic()),
                                  name=f"{self._session._name}-reconnect", daemon=True)
        thread.start()
        self._thread = thread  # (published once started: stop() may join it)
        return True

    # -- sends during the outage (any thread) -------------------------------------------------------------------------
    def keep(self, text: str, type_: str, after_audio: bool) -> bool:
        """Keep a command for the new connection; False once the outage is over (send it normally)."""
        with self._lock:
            if not self.active:
                return False
            self._kept.put(text, type_, after_audio)  # (dropped if its call already failed: see withdraw)
            return True

    def withdraw(self, event_ids: AbstractSet[str]) -> None:
        """Calls that failed with SessionInterruptedError: their commands (by event id) never go out on the new
        connection, whether kept already or sent later in this outage."""
        if not event_ids:
            return
        with self._lock:
            n = self._kept.withdraw(event_ids)
        if n:
            log.info("%d commands of interrupted calls withdrawn", n)

    def keep_audio(self, job: AudioJob) -> bool:
        with self._lock:
            if not self.active:
                return False
            self._jobs.append(job)
            return True

    def stop(self, timeout: Optional[float] = None) -> None:
        """The session is closing: end the outage (and any wait in it) now."""
        self._stop.set()
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join((self._session._conn_args["close_timeout"] + 1.0) if timeout is None else timeout)

    # -- the outage thread -------------------------------------------------------------------------------------------
    def _run(self, error: BaseException, why: str, t_drop: float) -> None:
        session = self._session
        old_id = session.id
        interrupted = SessionInterruptedError(None, why, f"the connection dropped ({why}); the session is "
                                              f"reconnecting and will be restored: the call may be retried")
        failed = self.interrupt(interrupted)
        # the history to replay, as it was at the drop, without the items of the calls that just failed
        items = [item for item in session.conversation.items() if item.id not in failed]
        policy = self.policy
        last: BaseException = error
        for attempt in range(1, policy.max_attempts + 1):
            delay = policy.delay(attempt)
            info = ReconnectingInfo(attempt, policy.max_attempts, why, last, delay, old_id)
            if not self._ask_hooks(info):
                break
            if self._stop.wait(delay):
                break
            try:
                restored = self._attempt(items, headers=info.headers, query=info.query)
            except Exception as exc:  # one attempt failed: the next one, unless it cannot succeed
                last = exc
                log.info("reconnect attempt %d failed: %s", attempt, type(exc).__name__)
                if not attempt_may_retry(exc) or self._stop.is_set():
                    break
                continue
            if self._stop.is_set():  # closed while the attempt finished: do not come back
                session._conn.retire()
                break
            update = ReconnectedUpdate(why=why, attempt=attempt, old_session_id=old_id, new_session_id=session.id,
                                       downtime=time.monotonic() - t_drop, items_restored=restored[0],
                                       commands_resent=restored[1], audio_dropped_bytes=restored[2])
            self.reconnects += 1
            self._announce(update)
            return
        self._give_up(None if self._stop.is_set() else last)

    def interrupt(self, error: SessionInterruptedError, observers: bool = True) -> AbstractSet[str]:
        """Fail the calls in flight (waiters; with ``observers``, turns and the like too) with ``error`` and
        withdraw their unsent commands. Returns the ids the failed calls gave: their commands' event ids and
        their items' ids (an interrupted ``ask`` leaves no trace: a retry adds its question once)."""
        delivery = self._session._delivery
        withdrawn = set(delivery.waiters.interrupt(lambda: clone_error(error)))
        for observer in delivery.observers if observers else ():
            withdrawn |= notify_interrupted(observer, clone_error(error))
        self.withdraw(withdrawn)
        return withdrawn

    def _announce(self, update: ReconnectedUpdate) -> None:
        """The session is back: the app sees the update (then everything after it), the hooks run, and the next
        refresh is scheduled for the new server session."""
        delivery = self._session._delivery
        delivery.muted = False
        delivery.deliver(update)
        log.info("reconnected (%s) after %.2f s, attempt %d", update.why, update.downtime, update.attempt)
        for hook in tuple(self._on_reconnected):
            try:
                hook(update)
            except Exception:
                log.exception("on_reconnected hook raised (ignored)")
        self.schedule_refresh()

    # -- refresh before expiry -----------------------------------------------------------------------------------------
    def schedule_refresh(self) -> None:
        """Plan a refresh ``refresh_lead`` seconds before the server session's ``expires_at`` (if it has one)."""
        lead = self.policy.refresh_lead
        info = self._session.session_info
        expires_at = info.expires_at if info is not None else None
        if lead is None or not isinstance(expires_at, (int, float)) or self._stop.is_set():
            return
        self._expires_at = float(expires_at)
        delay = max(0.0, self._expires_at - time.time() - lead)
        self._refresh_timer = self._session._conn._loop.call_later(delay, self._refresh_due)

    def _refresh_due(self) -> None:
        """On the I/O thread: refresh now if the session is quiet, else look again in a second (until the server
        session expires: then ``session_expired`` starts an ordinary reconnect)."""
        if self._stop.is_set() or self.active or time.time() >= self._expires_at:
            return
        if not self.watch.quiet:
            self._refresh_timer = self._session._conn._loop.call_later(1.0, self._refresh_due)
            return
        with self._lock:
            if self.active:
                return
            self.active = True  # sends are kept until the new connection is restored
        thread = threading.Thread(target=self._refresh, name=f"{self._session._name}-refresh", daemon=True)
        thread.start()
        self._thread = thread

    def _refresh(self) -> None:
        """Open a new connection, restore onto it and switch over; the old one then closes cleanly. If the refresh
        fails, the old connection simply goes on (it is retried when the session expires)."""
        session = self._session
        old = session._conn
        old_id = session.id
        items = session.conversation.items()
        t0 = time.monotonic()
        try:
            restored = self._attempt(items, retiring=old)
        except Exception as exc:
            lost, self._lost_during_refresh = self._lost_during_refresh, None
            if lost is not None:  # the old connection died meanwhile: an ordinary outage from here
                log.info("refresh failed and the connection was lost: reconnecting")
                self._run(*lost)
                return
            log.info("refresh before expiry failed (%s): the current connection goes on", type(exc).__name__)
            session._conn = old
            session._delivery.muted = False
            with self._lock:  # what was kept during the attempt goes out on the old connection, which never stopped
                self._hand_over(old, drop_live=False)
            return
        self.refreshes += 1
        self._lost_during_refresh = None
        self._announce(ReconnectedUpdate(why="refresh", attempt=1, old_session_id=old_id, new_session_id=session.id,
                                         downtime=time.monotonic() - t0, items_restored=restored[0],
                                         commands_resent=restored[1], audio_dropped_bytes=restored[2]))

    def _ask_hooks(self, info: ReconnectingInfo) -> bool:
        for hook in tuple(self._on_reconnecting):
            try:
                if hook(info) is False:
                    log.info("an on_reconnecting hook gave up")
                    return False
            except Exception:
                log.exception("on_reconnecting hook raised (ignored)")
        return True

    def _attempt(self, items: List[Any], retiring: Any = None, headers: Optional[Dict[str, str]] = None,
                 query: Optional[Dict[str, str]] = None) -> Tuple[int, int, int]:
        """Connect, restore, resend; returns (items restored, commands resent, live audio bytes dropped). With
        ``retiring`` (a refresh), that still-open connection hands its queue over and closes once switched."""
        session = self._session
        timeout = self.policy.attempt_timeout
        deadline = time.monotonic() + timeout
        sock = self._connector(deadline, headers or {}, query or {})
        session._delivery.muted = True
        conn = session._attach(sock)
        lost: List[BaseException] = []

        def attempt_lost(error: BaseException, _leftovers: Leftovers) -> bool:
            """This attempt's connection failed before the restore finished: fail the restore's waits now (its
            own leftovers are restore commands, not the app's), and the app's waits started during the outage,
            with SessionInterruptedError; keep the session's delivery going."""
            lost.append(error)
            self.interrupt(SessionInterruptedError(None, "attempt failed", "the connection dropped again while the "
                                                   "session was being restored: the call may be retried"),
                           observers=False)
            return True

        conn.on_lost = attempt_lost
        try:
            session._delivery.wait_for(UpdateKind.SESSION_CREATED, max(0.0, deadline - time.monotonic()),
                                       "session.created", send=conn.start)
            session.conversation.clear()
            restored = restore(session, restore_plan(session._applied, items, self.policy), deadline)
        except BaseException as exc:
            conn.retire()  # closes it without ending the session's delivery
            if lost:
                raise clone_error(lost[0]) from None
            raise exc
        with self._lock:  # from here on, sends go straight to the new connection
            if retiring is not None:
                handed = retiring.retire()
                self._kept.put_first(handed.commands)
                self._jobs[:0] = handed.jobs
            resent, dropped = self._hand_over(conn, drop_live=retiring is None)
            conn.on_lost = self.on_lost
            if conn.finished:  # it died during the switch: its end went to attempt_lost, so recover again
                self.active = True
                raise clone_error(lost[0]) if lost else ConnectionLostError(None, "lost", "connection lost")
        return restored, resent, dropped

    def _hand_over(self, conn: Any, drop_live: bool) -> Tuple[int, int]:
        """(With the lock held.) The outage is over: what was kept goes to ``conn``, the commands in order, the
        audio jobs after them (a live source first drops what it buffered while nothing was sent, when
        ``drop_live``); sends go straight to ``conn`` from now on. Returns (commands sent, live bytes dropped)."""
        if self._kept.dropped:
            log.info("%d commands of interrupted calls not resent", self._kept.dropped)
        commands = self._kept.take()
        jobs, self._jobs = self._jobs, []
        for text, type_, after_audio in commands:
            conn.send(text, type_, after_audio=after_audio)
        dropped = 0
        for job in jobs:
            if drop_live:
                dropped += job.drop_backlog()
            conn.add_audio(job)
        self.active = False
        return len(commands), dropped

    def _give_up(self, error: Optional[BaseException]) -> None:
        with self._lock:
            self.active = False
            jobs, self._jobs = self._jobs, []
            unsent = len(self._kept.take())
        final = error if error is not None else SessionClosedError()
        for job in jobs:
            job.finish(None if job.cancelled else final)
        if error is not None:
            if unsent and hasattr(error, "unsent_commands"):
                error.unsent_commands = unsent
            log.warning("reconnecting failed: %s", type(error).__name__)
        delivery = self._session._delivery
        delivery.muted = False
        delivery.end(error, lambda: SessionClosedError() if error is None else clone_error(error))


def restore(session: "RealtimeSession", plan: List[Dict[str, Any]], deadline: float) -> int:
    """Send a :func:`~realtime_sync.reconnect.restore_plan` on the session's new connection: the configuration
    (waiting for ``session.updated``, or its error), then every item (waiting until each was added or refused).
    Returns how many items the server added."""
    delivery, conn = session._delivery, session._conn

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    items = []
    for command in plan:
        event_id = session.new_event_id()
        text = json.dumps({**command, "event_id": event_id}, separators=(",", ":"))
        if command["type"] == "session.update":
            delivery.wait_for(UpdateKind.SESSION_UPDATED, left(), "session.updated (restoring)", event_id=event_id,
                              send=lambda: conn.send(text, "session.update"))
        else:
            items.append((event_id, text))
    if not items:
        return 0
    ids = {event_id for event_id, _text in items}
    counts = {"added": 0, "refused": 0}

    def settled(update: ConversationUpdate) -> bool:
        if update.kind in (UpdateKind.ITEM_ADDED, UpdateKind.ITEM_CREATED):
            counts["added"] += 1
        elif update.kind is UpdateKind.ERROR and getattr(update, "client_event_id", None) in ids:
            counts["refused"] += 1
            log.warning("the server refused a restored item (%s, %s)", getattr(update, "code", None),
                        getattr(update, "param", None))
        return counts["added"] + counts["refused"] >= len(items)

    def send_all() -> None:
        for _event_id, text in items:
            conn.send(text, "conversation.item.create")

    delivery.wait_for(settled, left(), "restored items", send=send_all)
    return counts["added"]
