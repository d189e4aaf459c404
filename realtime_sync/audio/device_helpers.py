"""Helpers of the device classes (Speaker, Microphone): a rate-limited logger, a byte FIFO and the ARM check."""
import collections
import logging
import time
from typing import Callable, Deque, Optional

__all__ = ["RateLimitedLog", "ByteQueue", "is_arm"]


class RateLimitedLog:
    """Log a recurring condition at most once per ``interval`` seconds, with the count since the last line."""

    def __init__(self, logger: logging.Logger, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._last: Optional[float] = None
        self._suppressed = 0

    def __call__(self, level: int, msg: str, *args: object) -> bool:
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return False
        suppressed, self._suppressed, self._last = self._suppressed, 0, now
        if suppressed:
            self._logger.log(level, msg + " (%d similar suppressed)", *args, suppressed)
        else:
            self._logger.log(level, msg, *args)
        return True


class ByteQueue:
    """A FIFO of bytes read in arbitrary sizes. Not thread-safe: guard it with the owner's lock."""

    def __init__(self) -> None:
        self._chunks: Deque[bytes] = collections.deque()
        self._offset = 0  # bytes already consumed from the first chunk
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)

    def read(self, n: int) -> bytes:
        """Remove and return up to ``n`` bytes from the front."""
        out = []
        want = min(n, self._size)
        got = 0
        while got < want:
            head = self._chunks[0]
            take = min(len(head) - self._offset, want - got)
            out.append(head[self._offset:self._offset + take])
            self._offset += take
            got += take
            if self._offset == len(head):
                self._chunks.popleft()
                self._offset = 0
        self._size -= got
        return b"".join(out)

    def drop(self, n: int) -> int:
        """Discard up to ``n`` bytes from the front; returns how many were dropped."""
        return len(self.read(n))

    def clear(self) -> int:
        """Discard everything; returns how many bytes were dropped."""
        n = self._size
        self._chunks.clear()
        self._offset = 0
        self._size = 0
        return n


def is_arm() -> bool:
    """True on ARM machines (Raspberry Pi and similar), where high output latency is the safer default."""
    import platform

    machine = platform.machine().lower()
    return machine.startswith("arm") or machine.startswith("aarch64")
