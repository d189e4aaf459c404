"""File sinks with the interface of :class:`~realtime_sync.audio.speaker.Speaker`: audio to a WAV or raw file, or
nowhere.

Sinks: ``write(wire_bytes)``, ``flush()``, ``drain(timeout)``, ``close()``, ``reset_clock()``, ``played_ms``
(= milliseconds written), ``received_ms``, ``is_playing`` (always False: a file takes audio at once).
"""
import logging
import os
import wave
from typing import Any, BinaryIO, Optional, Tuple

from realtime_sync.audio import g711
from realtime_sync.protocol.audio_formats import PCM16, PCM16_RATE, normalize_format, wire_rate, wire_sample_width
from realtime_sync.protocol.wav import PathOrFile

__all__ = ["NullSink", "RawFileSink", "WavFileSink"]

logger = logging.getLogger("realtime_sync.audio.sinks")


class NullSink:
    """A sink that discards audio but keeps the clocks (for text-only runs and tests)."""

    nonblocking = True  #: ``write`` never blocks (file sinks write to a local file)

    def __init__(self, wire_format: str = PCM16) -> None:
        self.wire_format = normalize_format(wire_format)
        self.wire_rate = wire_rate(self.wire_format)
        self._width = wire_sample_width(self.wire_format)
        self._bytes = 0
        self._origin = 0
        self._closed = False

    def write(self, data: bytes) -> int:
        """Take wire bytes; returns the number of whole frames they completed."""
        if self._closed or not data:
            return 0
        before = self.total_frames
        self._write_frames(data)
        self._bytes += len(data)
        return self.total_frames - before

    @property
    def total_frames(self) -> int:
        """Wire frames written since creation."""
        return self._bytes // self._width

    def _write_frames(self, data: bytes) -> None:
        pass

    def flush(self, wait: bool = True, timeout: float = 1.0) -> float:
        return 0.0  # nothing is ever queued

    def drain(self, timeout: Optional[float] = None) -> bool:
        return True

    def reset_clock(self) -> None:
        self._origin = self.total_frames

    @property
    def played_frames(self) -> int:
        return self.total_frames - self._origin

    @property
    def played_ms(self) -> float:
        return self.played_frames * 1000.0 / self.wire_rate

    @property
    def received_ms(self) -> float:
        return self.played_ms

    @property
    def is_playing(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, drain: bool = False, timeout: float = 2.0) -> None:
        self._closed = True

    def __enter__(self) -> "NullSink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _open_out(path_or_file: PathOrFile) -> Tuple[BinaryIO, bool]:
    if hasattr(path_or_file, "write"):
        return path_or_file, False  # type: ignore[return-value]
    return open(os.fspath(path_or_file), "wb"), True


class RawFileSink(NullSink):
    """Write the wire bytes as they come (e.g. headerless 24 kHz PCM16) to a path or binary file object.

    A file object passed in is flushed but not closed by :meth:`close`.
    """

    def __init__(self, path_or_file: PathOrFile, wire_format: str = PCM16) -> None:
        super().__init__(wire_format)
        self._fh, self._owned = _open_out(path_or_file)

    def _write_frames(self, data: bytes) -> None:
        self._fh.write(data)

    def close(self, drain: bool = False, timeout: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._fh.flush()
        if self._owned:
            self._fh.close()


class WavFileSink(NullSink):
    """Write wire audio to a mono PCM16 WAV file at ``rate`` (resampled statefully when it differs from the wire
    rate; G.711 is decoded). The header is finalised by :meth:`close`."""

    def __init__(self, path: PathOrFile, rate: int = PCM16_RATE, wire_format: str = PCM16) -> None:
        super().__init__(wire_format)
        self.rate = int(rate)
        self._decoder = g711.WireDecoder(self.wire_format, self.rate)
        fh, self._owned = _open_out(path)
        self._fh = fh
        self._wav = wave.open(fh, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self.rate)

    def _write_frames(self, data: bytes) -> None:
        pcm = self._decoder.decode(data)
        if pcm:
            self._wav.writeframes(pcm)

    def close(self, drain: bool = False, timeout: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        tail = self._decoder.flush()
        if tail:
            self._wav.writeframes(tail)
        self._wav.close()
        if self._owned:
            self._fh.close()
