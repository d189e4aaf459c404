"""Keypad digits (DTMF) on a SIP call's session: collect the ``input_audio_buffer.dtmf_event_received`` updates
and read them the way an IVR menu does::

    digits = DtmfCollector(session)          # attach before prompting, so no early key press is lost
    session.ask("Please enter your account number, then the hash key.")
    account = digits.read(terminators="#", timeout=20, inter_digit_timeout=5)

Digits are kept from the moment the collector is attached until they are read; ``read`` consumes them.
"""
import logging
import threading
import time
from collections import deque
from typing import Deque, List, Optional

from .errors import RealtimeTimeoutError, SessionClosedError
from .observers import SessionLike
from .protocol import ConversationUpdate, InputAudioDtmfReceivedUpdate

__all__ = ["DtmfCollector"]

log = logging.getLogger("realtime_sync.dtmf")


class DtmfCollector:
    """An observer that queues the digits a caller presses (``0``-``9``, ``*``, ``#``, ``A``-``D``).

    Thread-safe: the reader thread adds digits, any one thread reads them. ``close()`` (or leaving a ``with``
    block) detaches it from the session.
    """

    def __init__(self, session: SessionLike, *, max_buffered: int = 256) -> None:
        self._session = session
        self._digits: Deque[str] = deque(maxlen=max_buffered)
        self._cond = threading.Condition()
        self._closed: Optional[BaseException] = None
        self._ended = False
        session.add_observer(self)

    # -- observer (reader thread) ---------------------------------------------------------------------------------
    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, InputAudioDtmfReceivedUpdate) and update.event:
            with self._cond:
                self._digits.extend(update.event)
                self._cond.notify_all()

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        with self._cond:
            self._ended = True
            self._closed = error
            self._cond.notify_all()

    # -- reading --------------------------------------------------------------------------------------------------
    @property
    def pending(self) -> str:
        """The digits received and not read yet (without consuming them)."""
        with self._cond:
            return "".join(self._digits)

    def read(self, max_digits: Optional[int] = None, *, terminators: str = "#", timeout: Optional[float] = 10.0,
             inter_digit_timeout: Optional[float] = None) -> str:
        """The next digits the caller presses, ending at the first terminator (consumed, not returned), at
        ``max_digits`` digits, or when ``inter_digit_timeout`` seconds pass after a digit with no other one.

        ``timeout`` bounds the whole read (None: no bound): when it passes, the digits gathered so far are
        returned, or RealtimeTimeoutError is raised if there are none. When the connection ends the digits
        gathered are returned, or its error (SessionClosedError after a clean close) is raised if there are none.
        """
        if max_digits is not None and max_digits < 1:
            raise ValueError("max_digits must be at least 1")
        deadline = None if timeout is None else time.monotonic() + timeout
        got: List[str] = []
        last_digit_at: Optional[float] = None
        with self._cond:
            while True:
                while self._digits:
                    digit = self._digits.popleft()
                    if digit in terminators:
                        return self._done(got, "terminator")
                    got.append(digit)
                    last_digit_at = time.monotonic()
                    if max_digits is not None and len(got) >= max_digits:
                        return self._done(got, "max_digits")
                if self._ended:
                    if got:
                        return self._done(got, "connection ended")
                    raise self._closed or SessionClosedError("the call ended before a digit was pressed")
                now = time.monotonic()
                waits = []
                if deadline is not None:
                    waits.append(deadline - now)
                if inter_digit_timeout is not None and last_digit_at is not None:
                    waits.append(last_digit_at + inter_digit_timeout - now)
                if waits and min(waits) <= 0:
                    if got:
                        return self._done(got, "timeout")
                    raise RealtimeTimeoutError(f"no DTMF digit within {timeout} s")
                self._cond.wait(min(waits) if waits else None)

    @staticmethod
    def _done(got: List[str], why: str) -> str:
        log.debug("DTMF read ended (%s, %d digits)", why, len(got))
        return "".join(got)

    def clear(self) -> None:
        """Forget the digits not read yet (say, pressed during a prompt that does not take input)."""
        with self._cond:
            self._digits.clear()

    def close(self) -> None:
        self._session.remove_observer(self)

    def __enter__(self) -> "DtmfCollector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
