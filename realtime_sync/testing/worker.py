"""A connection's worker thread: runs response and transcription *streams* step by step, interleaved.

A stream is a generator yielding steps:

* a ``list`` of event dicts: emitted at once, while the connection's lock is held (so they are atomic with respect
  to client events the reader thread handles);
* :class:`Pause`: wait (the worker serves other streams meanwhile; a cancel wakes it);
* :class:`Call`: run a function *outside* the lock (a user responder), its result is sent back into the generator.

The generator body always runs with the connection's lock held. Streams take turns, one step each, so a
transcription's deltas interleave with a response's events as in recorded traffic.
"""
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Generator, List, Optional

__all__ = ["Pause", "Call", "CallFailed", "Stream", "Worker"]

logger = logging.getLogger("realtime_sync.testing.worker")


class Pause:
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Call:
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


class CallFailed:
    """Sent into a generator when its :class:`Call` raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Stream:
    """A generator of steps plus its scheduling state. Set ``finished`` (under the lock) to drop it."""

    def __init__(self, gen: Generator[Any, Any, None], name: str = "stream") -> None:
        self.gen = gen
        self.name = name
        self.finished = False
        self.ready_at = 0.0
        self.pending: Any = None
        self.call: Optional[Call] = None


class Worker:
    def __init__(self, lock: Any, emit_many: Callable[[List[dict]], None], name: str = "rt-sim-worker") -> None:
        self._lock = lock
        self._emit_many = emit_many
        self._cond = threading.Condition()
        self._incoming: Deque[Stream] = deque()
        self._streams: List[Stream] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, stream: Stream) -> None:
        with self._cond:
            self._incoming.append(stream)
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._incoming or self._streams)

    def _next_ready(self) -> Optional[Stream]:
        with self._cond:
            while True:
                if self._stop:
                    return None
                self._streams.extend(self._incoming)
                self._incoming.clear()
                self._streams = [s for s in self._streams if not s.finished]
                now = time.monotonic()
                for i, s in enumerate(self._streams):
                    if s.ready_at <= now:
                        self._streams.append(self._streams.pop(i))  # round robin: to the back
                        return s
                wait = min((s.ready_at for s in self._streams), default=now + 1.0) - now
                self._cond.wait(max(0.0005, min(wait, 1.0)))

    def _run(self) -> None:
        while True:
            stream = self._next_ready()
            if stream is None:
                return
            try:
                self._step(stream)
            except Exception:  # a bug in a stream must not kill the connection's worker
                logger.exception("simulator stream %s failed", stream.name)
                stream.finished = True

    def _step(self, stream: Stream) -> None:
        if stream.call is not None:
            call, stream.call = stream.call, None
            try:
                stream.pending = call.fn()
            except Exception as exc:  # handed to the generator
                stream.pending = CallFailed(exc)
        with self._lock:
            if stream.finished:
                return
            try:
                step = stream.gen.send(stream.pending)
            except StopIteration:
                stream.finished = True
                return
            stream.pending = None
            if isinstance(step, list):
                if step:
                    self._emit_many(step)
            elif isinstance(step, Pause):
                stream.ready_at = time.monotonic() + max(0.0, step.seconds)
            elif isinstance(step, Call):
                stream.call = step
