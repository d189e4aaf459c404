"""The decisions of a translation session's input stream and of its close, as small pure objects (no threads,
no clock of their own: the caller passes ``now``), so each can be tested step by step.

* :class:`FrameChunker`: any audio in, whole 200 ms frames out; a source's tail is padded with silence to a whole
  frame, so every append carries exactly one engine frame.
* :class:`SilenceSchedule`: when the stream needs a silence frame. The service wants the input to go on while
  the session is open (after a pause in sending it hears the resumed audio as directly continuing the old). The
  audio sent so far covers the wall clock up to :attr:`SilenceSchedule.end`; once the clock runs ``grace``
  seconds past it with nothing from the app, a silence frame is due. A source sending faster than real time (a
  file) moves the end ahead, and silence resumes only when the clock catches up; a microphone keeps it level.
* :class:`CloseDrain`: where the graceful close stands (open, draining input, ``session.close`` sent, closed).
"""
from typing import Optional

from ..protocol.translation import FRAME_BYTES, FRAME_MS

__all__ = ["FrameChunker", "SilenceSchedule", "CloseDrain", "SILENCE_FRAME"]

#: One engine frame of digital silence (200 ms of 24 kHz PCM16 mono).
SILENCE_FRAME = bytes(FRAME_BYTES)


class FrameChunker:
    """Bytes in (any sizes), whole frames of ``frame_bytes`` out, in order."""

    __slots__ = ("frame_bytes", "_buf", "padded_bytes")

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        if frame_bytes <= 0 or frame_bytes % 2:
            raise ValueError(f"frame_bytes must be a positive even number, not {frame_bytes}")
        self.frame_bytes = frame_bytes
        self._buf = bytearray()
        self.padded_bytes = 0  #: silence added to complete tails so far

    @property
    def pending(self) -> int:
        """Bytes held that do not make a whole frame yet."""
        return len(self._buf) % self.frame_bytes

    @property
    def ready(self) -> bool:
        """A whole frame is ready."""
        return len(self._buf) >= self.frame_bytes

    def feed(self, data: bytes) -> None:
        self._buf += data

    def pop(self) -> Optional[bytes]:
        """The next whole frame, or None."""
        n = self.frame_bytes
        if len(self._buf) < n:
            return None
        frame = bytes(self._buf[:n])
        del self._buf[:n]
        return frame

    def discard(self) -> int:
        """Drop what is held (a cancelled source's partial frame); returns how many bytes."""
        n = len(self._buf)
        self._buf.clear()
        return n

    def flush(self) -> None:
        """The source ended: pad what is held to a whole frame with silence (a trailing odd byte becomes part
        of a silent sample), so :meth:`pop` returns it."""
        held = len(self._buf) % self.frame_bytes
        if held:
            pad = self.frame_bytes - held
            self._buf += bytes(pad)
            self.padded_bytes += pad


class SilenceSchedule:
    """When the next silence frame is due (see the module docstring). ``frame_s``: the length of a frame;
    ``grace``: how far the clock may run past the end of the audio sent before silence fills in. It absorbs a
    live source's delays: the stream calls :meth:`level` when a source begins, so a microphone whose frames come
    at most ``grace`` later than its first one did (500 ms by default) is never interrupted by silence.
    ``max_behind``: a
    stream more than this far behind the clock (the process was suspended) restarts level with the clock rather
    than sending a burst of silence to catch up."""

    __slots__ = ("frame_s", "grace", "max_behind", "end", "frames", "silence_frames", "stopped")

    def __init__(self, frame_s: float = FRAME_MS / 1000.0, grace: float = 0.5, max_behind: float = 2.0) -> None:
        if frame_s <= 0 or grace < 0 or max_behind < frame_s:
            raise ValueError("frame_s must be positive, grace >= 0 and max_behind >= frame_s")
        self.frame_s = frame_s
        self.grace = grace
        self.max_behind = max_behind
        self.end: Optional[float] = None  #: the wall-clock time the audio sent so far reaches (None: not started)
        self.frames = 0  #: frames sent (audio and silence)
        self.silence_frames = 0
        self.stopped = False

    def start(self, now: float) -> None:
        """The stream begins: the clock and the audio timeline start level."""
        if self.end is None:
            self.end = now

    def level(self, now: float) -> None:
        """A source begins: its audio starts level with the clock (the end moves up to ``now`` if it is behind;
        nothing is sent), so a live source's delays count from its own first frame, not from the phase the
        silence before it happened to be in."""
        if self.end is None or self.end < now:
            self.end = now

    def sent(self, now: float, *, silence: bool = False) -> None:
        """One frame went out."""
        if self.end is None:
            self.end = now
        self.end = max(self.end, now - self.max_behind) + self.frame_s
        self.frames += 1
        if silence:
            self.silence_frames += 1

    def due_at(self) -> Optional[float]:
        """When a silence frame is due if no audio comes first (None: not started, or stopped)."""
        if self.end is None or self.stopped:
            return None
        return self.end + self.grace

    def due(self, now: float) -> bool:
        at = self.due_at()
        return at is not None and now >= at

    def stop(self) -> None:
        """No more silence (the session is closing)."""
        self.stopped = True


class CloseDrain:
    """The graceful close of a translation session, as states:

    ``open`` -> :meth:`begin` -> ``draining`` (no new input; the stream sends what it holds) -> :meth:`close_sent`
    -> ``closing`` (the server translates the rest) -> :meth:`server_closed` -> ``closed``. ``session.closed``
    can also come unasked (the server ended the session): ``closed`` from any state. :meth:`connection_ended`
    records that the socket is gone (``ended``): nothing more will arrive, whatever the state.
    """

    OPEN, DRAINING, CLOSING, CLOSED = "open", "draining", "closing", "closed"

    __slots__ = ("state", "ended", "asked")

    def __init__(self) -> None:
        self.state = self.OPEN
        self.ended = False  #: the connection is gone
        self.asked = False  #: this side started the close

    def begin(self) -> bool:
        """The app closes: True when a ``session.close`` should be sent now (the session is open and its
        connection alive); False when it is already closing or over."""
        if self.state != self.OPEN or self.ended:
            return False
        self.state = self.DRAINING
        self.asked = True
        return True

    def close_sent(self) -> None:
        if self.state == self.DRAINING:
            self.state = self.CLOSING

    def server_closed(self) -> bool:
        """``session.closed`` arrived; True when the server ended the session unasked."""
        unasked = not self.asked
        self.state = self.CLOSED
        return unasked

    def connection_ended(self) -> None:
        self.ended = True

    @property
    def complete(self) -> bool:
        """Every output was received (``session.closed`` arrived)."""
        return self.state == self.CLOSED

    @property
    def waiting(self) -> bool:
        """A close was asked and its ``session.closed`` can still come."""
        return self.state in (self.DRAINING, self.CLOSING) and not self.ended

    def __repr__(self) -> str:
        return f"<CloseDrain {self.state}{' (connection ended)' if self.ended else ''}>"
