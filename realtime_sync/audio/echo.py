"""Echo guard: mute the microphone while the assistant's audio plays on open speakers (USER-NEEDS item 1).

``EchoGuard`` is a gate for ``Microphone(gate=...)``: calling it returns True while the mic must be muted.

- ``half_duplex``: muted while the speaker :attr:`is_playing` and for ``tail_ms`` after the speaker's played-frames
  clock last advanced (room echo plus the device buffer still sounding after the last write).
- ``full_duplex``: never muted (headphones, or OS echo cancellation such as PulseAudio/PipeWire
  ``module-echo-cancel``).
- ``raised_threshold_while_playing``: never muted either; the session watches :attr:`speaking` and raises the
  server VAD threshold while it is True (barge-in stays possible, echo rarely crosses the higher threshold).

The guard is driven by the speaker's clock of frames actually written (``played_frames``/``is_playing``), not by
wall-clock estimates of the audio sent; the monotonic clock only times the tail after playback stopped.
"""
import logging
import threading
import time
from typing import Any, Callable, Optional

__all__ = ["EchoGuard", "HALF_DUPLEX", "FULL_DUPLEX", "RAISED_THRESHOLD", "POLICIES"]

logger = logging.getLogger("realtime_sync.audio.echo")

HALF_DUPLEX = "half_duplex"
FULL_DUPLEX = "full_duplex"
RAISED_THRESHOLD = "raised_threshold_while_playing"
POLICIES = (HALF_DUPLEX, FULL_DUPLEX, RAISED_THRESHOLD)


class EchoGuard:
    """Callable mic gate. ``speaker`` is anything with ``is_playing`` and ``total_played_frames`` or
    ``played_frames`` (a :class:`~realtime_sync.audio.speaker.Speaker`, a file sink, a test fake).

    :param policy: "half_duplex" (default), "full_duplex" or "raised_threshold_while_playing" (see module doc).
    :param tail_ms: how long to stay muted after the played-frames clock stopped advancing.
    :param clock: monotonic time source (tests pass a fake).
    """

    def __init__(self, speaker: Any = None, policy: str = HALF_DUPLEX, tail_ms: float = 300.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES} (got {policy!r})")
        if tail_ms < 0:
            raise ValueError(f"tail_ms must be >= 0 (got {tail_ms})")
        self.speaker = speaker
        self.policy = policy
        self.tail_ms = float(tail_ms)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_frames: Optional[int] = None
        self._last_active: Optional[float] = None
        self.muted_calls = 0

    def _frames(self) -> int:
        spk = self.speaker
        value = getattr(spk, "total_played_frames", None)
        if value is None:
            value = getattr(spk, "played_frames", 0)
        return int(value or 0)

    def _update(self) -> bool:
        """Sample the speaker; returns whether the assistant is audible now (playing or within the tail)."""
        if self.speaker is None:
            return False
        playing = bool(getattr(self.speaker, "is_playing", False))
        frames = self._frames()
        now = self._clock()
        with self._lock:
            if playing or (self._last_frames is not None and frames != self._last_frames):
                self._last_active = now
            self._last_frames = frames
            if playing:
                return True
            return self._last_active is not None and (now - self._last_active) * 1000.0 < self.tail_ms

    @property
    def speaking(self) -> bool:
        """True while the assistant's audio plays or its echo tail lasts (whatever the policy)."""
        return self._update()

    def __call__(self) -> bool:
        """True when the microphone must be muted now."""
        audible = self._update()
        if self.policy != HALF_DUPLEX:
            return False
        if audible:
            self.muted_calls += 1
        return audible

    def reset(self) -> None:
        """Forget the tail (e.g. after the user barged in and the speaker was flushed on purpose)."""
        with self._lock:
            self._last_active = None

    def __repr__(self) -> str:
        return f"EchoGuard(policy={self.policy!r}, tail_ms={self.tail_ms:g})"
