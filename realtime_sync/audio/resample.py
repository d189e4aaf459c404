"""Stateful streaming resampling of 16-bit PCM (soxr), with stereo-to-mono downmix.

The Realtime API wants 24 kHz mono PCM16 (or 8 kHz G.711), while devices and files run at 44.1/48 kHz, often
stereo only. :class:`StreamResampler` converts a stream chunk by chunk and keeps the filter state between chunks,
so chunk seams are inaudible (no clicks), unlike resampling each chunk on its own.
"""
import logging
from typing import Any, Optional

import numpy as np

from realtime_sync.errors import AudioFormatError

__all__ = ["StreamResampler", "downmix_to_mono", "pcm16_frames", "DEFAULT_QUALITY"]

logger = logging.getLogger("realtime_sync.audio.resample")

DEFAULT_QUALITY = "HQ"
_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def downmix_to_mono(samples: np.ndarray, channels: int) -> np.ndarray:
    """Average interleaved int16 ``samples`` of ``channels`` channels into mono int16 (rounded, no overflow)."""
    if channels == 1:
        return samples
    frames = samples.reshape(-1, channels).astype(np.int32)
    total = frames.sum(axis=1)
    # Round half away from zero, like a mixer would; the mean of int16 values always fits in int16.
    mono = np.where(total >= 0, (total + channels // 2) // channels, -((-total + channels // 2) // channels))
    return mono.astype(np.int16)


def pcm16_frames(nbytes: int, channels: int = 1) -> int:
    """How many whole PCM16 frames ``nbytes`` bytes hold."""
    return nbytes // (2 * channels)


class StreamResampler:
    """Resample a stream of interleaved little-endian int16 PCM from ``in_rate`` to ``out_rate``, output mono.

    - :meth:`process` takes any number of bytes: a stray byte (or partial frame) is carried to the next call.
    - ``channels`` > 1 is downmixed to mono first (some devices only open in stereo).
    - When the rates are equal the audio passes through untouched (apart from the downmix).
    - :meth:`flush` ends the stream and returns the filter's tail; the resampler can then be used again.
    - :meth:`reset` drops all state (carried bytes and filter memory), e.g. after a barge-in flush.

    soxr buffers internally, so the output of one call may be empty or larger than the input ratio suggests; the
    total over a stream (after :meth:`flush`) is ``round(n_in * out_rate / in_rate)`` samples.
    Not thread-safe: use one instance per stream from one thread.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int = 1, *, quality: str = DEFAULT_QUALITY) -> None:
        if int(in_rate) <= 0 or int(out_rate) <= 0:
            raise AudioFormatError(f"sample rates must be positive (got in_rate={in_rate}, out_rate={out_rate})")
        if int(channels) < 1:
            raise AudioFormatError(f"channels must be >= 1 (got {channels})")
        if quality not in _QUALITIES:
            raise ValueError(f"quality must be one of {_QUALITIES} (got {quality!r})")
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self.channels = int(channels)
        self.quality = quality
        self._frame_bytes = 2 * self.channels
        self._carry = b""
        self._stream: Optional[Any] = None
        self.frames_in = 0
        self.frames_out = 0
        if not self.passthrough:
            self._stream = self._new_stream()

    @property
    def passthrough(self) -> bool:
        """True when no rate conversion happens (equal rates)."""
        return self.in_rate == self.out_rate

    @property
    def ratio(self) -> float:
        return self.out_rate / self.in_rate

    def _new_stream(self) -> Any:
        import soxr  # the `audio` extra; imported here so that only users of resampling need it

        return soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="int16", quality=self.quality)

    def _take_frames(self, pcm: bytes) -> np.ndarray:
        data = self._carry + bytes(pcm) if self._carry else bytes(pcm)
        usable = len(data) - len(data) % self._frame_bytes
        self._carry = data[usable:]
        samples = np.frombuffer(data, dtype="<i2", count=usable // 2)
        mono = downmix_to_mono(samples, self.channels)
        self.frames_in += len(mono)
        return mono

    def process_array(self, mono: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample mono int16 samples; returns int16 samples (possibly empty)."""
        if self._stream is None:
            out = np.asarray(mono, dtype=np.int16)
        else:
            out = self._stream.resample_chunk(np.ascontiguousarray(mono, dtype=np.int16), last=last)
        self.frames_out += len(out)
        return out

    def process(self, pcm: bytes) -> bytes:
        """Feed interleaved int16 bytes at ``in_rate``; returns mono int16 bytes at ``out_rate`` (may be empty)."""
        if not pcm:
            return b""
        mono = self._take_frames(pcm)
        if len(mono) == 0:
            return b""
        return self.process_array(mono).astype("<i2", copy=False).tobytes()

    def flush(self) -> bytes:
        """End of stream: return the remaining output and make the resampler ready for a new stream.

        A carried partial frame (odd byte) is dropped with a debug log: it cannot form a sample.
        """
        if self._carry:
            logger.debug("dropping %d stray byte(s) at end of stream", len(self._carry))
            self._carry = b""
        if self._stream is None:
            return b""
        tail = self.process_array(np.zeros(0, dtype=np.int16), last=True)
        self._stream = self._new_stream()
        return tail.astype("<i2", copy=False).tobytes()

    def reset(self) -> None:
        """Drop all buffered audio and filter state (no output)."""
        self._carry = b""
        self.frames_in = 0
        self.frames_out = 0
        if self._stream is not None:
            self._stream = self._new_stream()

    @property
    def pending_bytes(self) -> int:
        """Bytes carried over (a partial frame) waiting for the next :meth:`process` call."""
        return len(self._carry)

    def __repr__(self) -> str:
        return (f"StreamResampler(in_rate={self.in_rate}, out_rate={self.out_rate}, channels={self.channels}, "
                f"quality={self.quality!r})")
