"""The I/O thread: one selector loop per process that watches every live socket of every session.

It does all the reading, and every write that needs waiting for (a full socket, the close handshake, keepalive
pings, paced audio). Other threads hand it work with :meth:`IOLoop.call_soon` (a deque plus one byte on a
socketpair when the loop may be asleep); it sleeps in ``select()`` until a socket is ready, a call arrives or a
timer is due (no polling). One thread serves any number of sessions, so a process with 500 sessions has one I/O
thread, not 1000.

One thread at a time calls into a connection's socket (and so into its SSL object: OpenSSL does not allow a read
and a write on one SSL connection at the same time, and CPython's ``ssl`` adds no lock): the loop takes the
connection's lock for each of its turns, and selects without it. With few sockets the loop is mostly asleep, and
waking it costs more than the write it would do: a thread with something to send then writes it itself under that
lock (see :mod:`.channel`). With many, the loop is awake anyway and batches the writes of every session in one
turn: :attr:`IOLoop.writes_inline` says which.

Handlers registered with :meth:`IOLoop.add` implement ``on_readable()``, ``on_writable()`` and ``on_loop_error(exc)``
(called when one of the others raised: that handler's connection fails, the loop goes on).
"""
import heapq
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple

__all__ = ["IOLoop", "Timer", "shared_loop", "EVENT_READ", "EVENT_WRITE", "INLINE_WRITE_MAX_SOCKETS"]

log = logging.getLogger("realtime_sync.io")

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE
_monotonic = time.monotonic
#: Up to this many sockets on the loop, sending threads write directly (see :attr:`IOLoop.writes_inline`).
INLINE_WRITE_MAX_SOCKETS = 8


class Timer:
    """A scheduled call; :meth:`cancel` it from the loop thread (or any thread: it is only a flag)."""

    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when: float, fn: Callable[[], Any]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class IOLoop:
    """A selector loop in one daemon thread (started at construction)."""

    def __init__(self, name: str = "realtime_sync-io") -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, EVENT_READ, None)
        self._calls: Deque[Callable[[], Any]] = deque()
        self._woken = False
        self._timers: List[Tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._sockets = 0
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    # -- from any thread ------------------------------------------------------------------------------------------
    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on the loop thread, after what is already queued."""
        self._calls.append(fn)
        if not self._woken and threading.current_thread() is not self._thread:
            self._woken = True
            try:
                self._wake_w.send(b"\0")
            except (BlockingIOError, InterruptedError):  # the pipe is full: the loop is awake anyway
                pass

    def call_later(self, delay: float, fn: Callable[[], Any]) -> Timer:
        """Run ``fn()`` on the loop thread after ``delay`` seconds (from any thread)."""
        timer = Timer(_monotonic() + delay, fn)
        if self.in_loop():
            self._push(timer)
        else:
            self.call_soon(lambda: self._push(timer))
        return timer

    # -- loop thread only -----------------------------------------------------------------------------------------
    def _push(self, timer: Timer) -> None:
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))

    def add(self, sock: Any, handler: Any, events: int = EVENT_READ) -> None:
        self._sel.register(sock, events, handler)
        self._sockets += 1

    def set_events(self, sock: Any, handler: Any, events: int) -> None:
        self._sel.modify(sock, events, handler)

    def remove(self, sock: Any) -> None:
        try:
            self._sel.unregister(sock)
        except (KeyError, ValueError, OSError):
            return
        self._sockets -= 1

    @property
    def sockets(self) -> int:
        """How many sockets the loop serves now."""
        return self._sockets

    @property
    def writes_inline(self) -> bool:
        """Sending threads may write directly: the loop serves at most ``INLINE_WRITE_MAX_SOCKETS`` sockets."""
        return self._sockets <= INLINE_WRITE_MAX_SOCKETS

    def _run(self) -> None:
        sel = self._sel
        calls = self._calls
        timers = self._timers
        wake_r = self._wake_r
        while True:
            if calls:
                timeout: Optional[float] = 0.0
            elif timers:
                timeout = max(0.0, timers[0][0] - _monotonic())
            else:
                timeout = None
            try:
                events = sel.select(timeout)
            except OSError:  # pragma: no cover - a socket closed under the selector: drop it next round
                log.exception("select failed")
                events = []
            for key, mask in events:
                handler = key.data
                if handler is None:
                    try:
                        while wake_r.recv(4096):
                            pass
                    except (BlockingIOError, InterruptedError):
                        pass
                    continue
                try:
                    if mask & EVENT_READ:
                        handler.on_readable()
                    if mask & EVENT_WRITE:
                        handler.on_writable()
                except Exception as exc:
                    self._handler_failed(handler, exc)
            self._woken = False
            if timers:
                now = _monotonic()
                while timers and timers[0][0] <= now:
                    timer = heapq.heappop(timers)[2]
                    if timer.cancelled:
                        continue
                    try:
                        timer.fn()
                    except Exception:
                        log.exception("I/O loop timer failed (ignored)")
            # Calls queued so far, including those the handlers and timers above just queued (a kick from a
            # pacing timer is served now, not after another trip through select()); a call queued by these
            # calls waits for the next round, so nothing can keep the loop from its sockets.
            for _ in range(len(calls)):
                fn = calls.popleft()
                try:
                    fn()
                except Exception:
                    log.exception("I/O loop call failed (ignored)")

    @staticmethod
    def _handler_failed(handler: Any, exc: Exception) -> None:
        try:
            handler.on_loop_error(exc)
        except Exception:  # pragma: no cover - the handler's own failure path failed
            log.exception("I/O handler failed while failing")


_shared: Optional[IOLoop] = None
_shared_lock = threading.Lock()


def shared_loop() -> IOLoop:
    """The process's I/O loop, started on first use (and again in a child after ``fork``)."""
    global _shared
    loop = _shared
    if loop is not None and loop.pid == os.getpid():
        return loop
    with _shared_lock:
        if _shared is None or _shared.pid != os.getpid():
            _shared = IOLoop()
        return _shared
