"""``wait_until``: poll a condition with a deadline (for state that has no signal of its own to wait on);
``next_of_kind``: read an update iterator up to the first update of a kind."""
import time
from typing import Any, Callable, Iterator


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005) -> bool:
    """True as soon as ``cond()`` is true; False if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())


def next_of_kind(updates: Iterator[Any], kind: Any, limit: int = 500) -> Any:
    """The first update of ``kind`` from ``updates`` (a ``receive_updates()`` iterator, which bounds each wait);
    AssertionError if ``limit`` other updates come first."""
    for _ in range(limit):
        update = next(updates)
        if update.kind is kind:
            return update
    raise AssertionError(f"no {kind} within {limit} updates")
