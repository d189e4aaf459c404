"""The played-frames clock of the speaker (bookkeeping only; the owner serialises access with its lock).

Every wire frame received gets a position in the received stream. Frames then move through three stages:
queued (jitter buffer) -> in the pipeline (handed to the resampler, not yet out of it) -> played (written to the
device), or leave as dropped (buffer bound, write error) or flushed. ``reset_clock()`` sets an origin position:
the per-item clock only counts frames at or after it, so audio of a previous item still queued at that moment is
never counted for the new one.
"""
import collections
from typing import Deque, List

__all__ = ["PlayClock"]


class PlayClock:
    """Positions and counters for the speaker's played/received clocks. Not thread-safe."""

    def __init__(self, rate: int) -> None:
        self.rate = int(rate)
        self.received_total = 0  # frames accepted by write()
        self.queue_pos = 0  # position of the first queued frame
        self.origin = 0  # position where the current item starts (reset_clock)
        self.item_played = 0
        self.total_played = 0
        self.dropped = 0
        self.flushed = 0
        self._pipeline: Deque[List[int]] = collections.deque()  # [position, frames]
        self.pipeline_frames = 0

    def ms(self, frames: int) -> float:
        return frames * 1000.0 / self.rate

    # ---------------------------------------------------------------------------------------------------- events
    def received(self, frames: int) -> None:
        self.received_total += frames

    def dropped_from_queue(self, frames: int) -> None:
        """The oldest ``frames`` queued frames were discarded (buffer bound)."""
        self.queue_pos += frames
        self.dropped += frames

    def flushed_queue(self, frames: int) -> None:
        """The whole queue (``frames`` frames) was discarded."""
        self.queue_pos = self.received_total
        self.flushed += frames

    def fed(self, frames: int) -> None:
        """The next ``frames`` queued frames went into the resampler."""
        self._pipeline.append([self.queue_pos, frames])
        self.queue_pos += frames
        self.pipeline_frames += frames

    def completed(self, frames: int, played: bool = True) -> int:
        """The first ``frames`` pipeline frames were written to the device (``played``) or lost. Returns how many
        pipeline frames that covered (fewer when the rest of the output was silence padding)."""
        done = 0
        while frames > 0 and self._pipeline:
            seg = self._pipeline[0]
            take = min(frames, seg[1])
            if played:
                self.item_played += max(0, seg[0] + take - max(seg[0], self.origin))
            seg[0] += take
            seg[1] -= take
            frames -= take
            done += take
            if seg[1] == 0:
                self._pipeline.popleft()
        self.pipeline_frames -= done
        if played:
            self.total_played += done
        else:
            self.dropped += done
        return done

    def discard_pipeline(self, flushed: bool = True) -> None:
        """Forget what is inside the resampler (after a flush, or when the device failed)."""
        if flushed:
            self.flushed += self.pipeline_frames
        else:
            self.dropped += self.pipeline_frames
        self._pipeline.clear()
        self.pipeline_frames = 0

    def reset(self) -> None:
        """Start a new item at the current end of the received stream."""
        self.origin = self.received_total
        self.item_played = 0

    # ----------------------------------------------------------------------------------------------------- views
    @property
    def item_received(self) -> int:
        return self.received_total - self.origin
