"""The reader side of one connection: its thread turns the messages the I/O thread received into typed updates.

The I/O thread (:mod:`.channel`) posts raw messages to an :class:`Inbox`; the reader thread takes them in batches,
runs the receive hooks, decodes each message (:func:`~realtime_sync.protocol.parse_update`) and hands the update
to the session's delivery (observers, queue, waiters). The send hooks run here too, in send order, so every line
of app code the connection calls runs on this one thread, never on the shared I/O thread. Undecodable messages are
logged (type and size, never the payload) and dropped. The channel's final event ends the thread.
:func:`close_error` is the plain decision of which typed error a server-side close becomes.
"""
import logging
import threading
from collections import deque
from logging import DEBUG
from typing import Any, Callable, Deque, List, Optional, Sequence

from ..errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError, MessageDecodeError,
                      RealtimeConnectionError, RequestRefusedError)
from ..protocol import ConversationUpdate, parse_update
from ..protocol.updates import ErrorUpdate

__all__ = ["Inbox", "Reader", "close_error"]

log = logging.getLogger("realtime_sync.session")


def close_error(code: Optional[int], reason: str, last_error: Optional[ErrorUpdate],
                scrub: Callable[[str], str] = str) -> RealtimeConnectionError:
    """The exception for a close the server started (the error event just before it names the cause, and its
    message, passed through ``scrub``, says why)."""
    err_code = last_error.code if last_error is not None else None
    if not err_code and reason and "." in reason:
        err_code = reason.rpartition(".")[2]
    why = f": {scrub(last_error.message)}" if last_error is not None and last_error.message else ""
    if code == 3000:
        return AuthenticationError(f"authentication failed: the server closed the connection with 3000 "
                                   f"({err_code or reason or 'no reason'}){why}", code=err_code, close_code=code,
                                   close_reason=reason)
    if code == 4000:
        return RequestRefusedError(code, reason, error_code=err_code,
                                   message=f"request refused by the server (close 4000, {err_code or reason!r}){why}")
    if code in (1006, None):
        return ConnectionLostError(code, reason, f"connection lost (code {code})")
    return ConnectionClosedError(code, reason, f"the server closed the connection (code {code}, reason {reason!r})")


class Inbox:
    """Messages from the I/O thread to the reader thread. The I/O thread's cost per batch is one ``extend`` (the
    condition is touched only while the reader sleeps)."""

    def __init__(self) -> None:
        self._dq: Deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._sleeping = False

    def __len__(self) -> int:
        return len(self._dq)

    def put(self, items: List[Any]) -> int:
        """Add a batch; returns how many messages are now waiting."""
        dq = self._dq
        dq.extend(items)
        if self._sleeping:
            with self._cond:
                self._cond.notify()
        return len(dq)

    def wait(self) -> None:
        """Block until something is waiting."""
        dq = self._dq
        if not dq:
            with self._cond:
                self._sleeping = True
                while not dq:
                    self._cond.wait()
                self._sleeping = False

    def take(self) -> List[Any]:
        """Everything waiting (possibly nothing), without blocking."""
        pop = self._dq.popleft
        return [pop() for _ in range(len(self._dq))]


class Reader:
    """The reader side of one connection: :meth:`process` turns received messages into delivered updates, on the
    reader thread (started by :meth:`start`; it ends at the channel's final event) or, while no app code would run
    (see :meth:`offer`), directly on the I/O thread.

    Order: the thread processes only while holding ``lock``, and takes from the inbox under it; :meth:`offer`
    delivers in place only when it gets the lock at once and the inbox is empty, so nothing received earlier is
    still waiting. Otherwise the batch joins the inbox, behind everything before it.
    """

    def __init__(self, inbox: Inbox, deliver: Callable[[ConversationUpdate], None], *,
                 recv_hooks: Sequence[Callable[[str], Any]], send_hooks: Sequence[Callable[[str], Any]],
                 on_end: Callable[[Optional[BaseException], Optional[int], str, Any], None],
                 caught_up: Callable[[], None] = lambda: None, inline_ok: Callable[[], bool] = lambda: False,
                 name: str = "realtime", parse: Callable[[bytes], ConversationUpdate] = parse_update) -> None:
        self._inbox = inbox
        self._parse = parse
        self._deliver = deliver
        self._recv_hooks = recv_hooks
        self._send_hooks = send_hooks
        self._on_end = on_end
        self._caught_up = caught_up
        self._inline_ok = inline_ok
        self.lock = threading.Lock()
        self.done = threading.Event()  #: set when the thread has handled the channel's final event
        self.last_error: Optional[ErrorUpdate] = None  #: the last ``error`` event (names the cause of a close)
        self.messages_received = 0
        self.delivered_inline = 0  #: batches delivered on the I/O thread (no hand-off)
        self.thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def offer(self, batch: List[Any]) -> int:
        """Received messages from the I/O thread: delivered now when no hook, app observer, app predicate or
        blocking queue is involved (each update then costs no thread hand-off), else queued for the reader thread.
        Returns how many messages wait in the inbox (for back-pressure)."""
        if not self._recv_hooks and self._inline_ok() and self.lock.acquire(False):
            try:
                if not len(self._inbox):
                    self.delivered_inline += 1
                    self.process(batch)
                    return 0
                return self._inbox.put(batch)
            finally:
                self.lock.release()
        return self._inbox.put(batch)

    def _run(self) -> None:
        inbox = self._inbox
        try:
            while True:
                inbox.wait()
                with self.lock:
                    end = self.process(inbox.take())
                if end is not None:
                    self._on_end(end[1], end[2], end[3], end[4])
                    return
                self._caught_up()
        finally:
            self.done.set()

    def process(self, items: List[Any]) -> Optional[Any]:
        """Decode and deliver ``items`` in order; returns the channel's final event if it is among them."""
        hooks = self._recv_hooks
        sink = self._deliver
        parse = self._parse
        err_type = ErrorUpdate
        debug = log.isEnabledFor(DEBUG)
        for item in items:
            if type(item) is bytes:
                self.messages_received += 1
                if hooks:
                    self._run_hooks(hooks, item.decode("utf-8", "replace"), "on_receiving_command")
                try:
                    update = parse(item)
                except MessageDecodeError as exc:
                    log.warning("dropped an undecodable server message (%d bytes): %s", len(item), exc.reason)
                    continue
                if type(update) is err_type:
                    self.last_error = update
                if debug:
                    log.debug("received %s (%d bytes)", update.type, len(item))
                try:
                    sink(update)
                except Exception:  # a bug (ours or in a sink): never kill the reader
                    log.exception("delivering an update failed")
            elif item[0] == "sent":
                self._run_hooks(self._send_hooks, item[1], "on_sending_command")
            elif item[0] == "binary":
                log.warning("ignored a binary frame (%d bytes): the Realtime API speaks JSON text", item[1])
            elif item[0] == "end":
                return item
        return None

    @staticmethod
    def _run_hooks(hooks: Sequence[Callable[[str], Any]], text: str, what: str) -> None:
        for hook in tuple(hooks):
            try:
                hook(text)
            except Exception:
                log.exception("%s hook raised (ignored)", what)
