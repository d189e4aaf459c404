"""``wait_until``: poll a condition with a deadline (for state that has no signal of its own to wait on)."""
import time
from typing import Callable


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005) -> bool:
    """True as soon as ``cond()`` is true; False if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())
