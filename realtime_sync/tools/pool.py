"""The bounded worker pool the tool dispatcher runs tools on."""
import concurrent.futures
import queue
import threading
from typing import Any, Callable, List

__all__ = ["DaemonPool"]


class DaemonPool:
    """A bounded pool of *daemon* worker threads: a tool that never returns cannot block interpreter exit
    (``ThreadPoolExecutor`` joins its workers at exit). Threads start on demand, up to ``max_workers``."""

    def __init__(self, max_workers: int, name: str) -> None:
        self._max = max(1, max_workers)
        self._name = name
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> "concurrent.futures.Future[Any]":
        """Run ``fn(*args)`` on a worker; raises RuntimeError after :meth:`shutdown`."""
        future: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("pool is shut down")
            self._queue.put((future, fn, args))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads) + 1}",
                                          daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            future, fn, args = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the future
                    future.set_exception(exc)
            del task, future
            self._idle.release()

    def shutdown(self) -> None:
        """Refuse new work; idle workers end, busy ones end after their task (never waited for)."""
        with self._lock:
            self._shutdown = True
            for _ in self._threads:
                self._queue.put(None)
