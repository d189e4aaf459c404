"""ITU-T G.711 mu-law / A-law codecs (vectorised numpy, bit-exact with ``audioop``) and wire-format converters.

The codecs work through lookup tables built once at import: 65536 entries for encoding (one per int16 value) and
256 for decoding. The tables follow the reference algorithm of ``audioop`` (Sun's g711.c): mu-law encodes the
14 most significant bits, A-law the 13 most significant bits, both with the standard bias/segment layout.

:class:`WireEncoder` turns PCM16 at any rate into what the Realtime API expects for a format (PCM16 at 24 kHz or
G.711 at 8 kHz); :class:`WireDecoder` does the reverse for playback. Both resample statefully.
"""
import logging
from typing import Optional, Tuple

import numpy as np

from realtime_sync.audio.resample import StreamResampler
from realtime_sync.errors import AudioFormatError
from realtime_sync.protocol.audio_formats import (G711_ALAW, G711_RATE, G711_ULAW, PCM16, PCM16_RATE,
                                                  normalize_format, silence, wire_rate, wire_sample_width)

__all__ = [
    "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode",
    "normalize_format", "wire_rate", "wire_sample_width", "silence",
    "WireEncoder", "WireDecoder",
    "PCM16", "G711_ULAW", "G711_ALAW", "PCM16_RATE", "G711_RATE",
]

logger = logging.getLogger("realtime_sync.audio.g711")

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _build_ulaw_encode_table() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_SEG_UEND, mag, side="left")  # first segment whose end >= magnitude
    segc = np.minimum(seg, 7)
    uval = (segc << 4) | ((mag >> (segc + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F ^ mask, uval ^ mask)
    return np.roll(code.astype(np.uint8), -32768)  # index by the uint16 view of the sample


def _build_alaw_encode_table() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_SEG_AEND, mag, side="left")
    segc = np.minimum(seg, 7)
    quant = np.where(segc < 2, (mag >> 1) & 0xF, (mag >> segc) & 0xF)
    aval = (segc << 4) | quant
    code = np.where(seg >= 8, 0x7F ^ mask, aval ^ mask)
    return np.roll(code.astype(np.uint8), -32768)


def _build_ulaw_decode_table() -> np.ndarray:
    u = (~np.arange(256, dtype=np.int32)) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype("<i2")


def _build_alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype("<i2")


_ULAW_ENC = _build_ulaw_encode_table()
_ALAW_ENC = _build_alaw_encode_table()
_ULAW_DEC = _build_ulaw_decode_table()
_ALAW_DEC = _build_alaw_decode_table()


def _pcm16_view(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % 2:
        raise AudioFormatError(f"PCM16 data must have an even number of bytes (got {len(pcm16)})")
    return np.frombuffer(pcm16, dtype="<u2")


def ulaw_encode(pcm16: bytes) -> bytes:
    """PCM16 little-endian -> G.711 mu-law, one byte per sample (same as ``audioop.lin2ulaw(pcm16, 2)``)."""
    return _ULAW_ENC[_pcm16_view(pcm16)].tobytes()


def alaw_encode(pcm16: bytes) -> bytes:
    """PCM16 little-endian -> G.711 A-law, one byte per sample (same as ``audioop.lin2alaw(pcm16, 2)``)."""
    return _ALAW_ENC[_pcm16_view(pcm16)].tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law -> PCM16 little-endian (same as ``audioop.ulaw2lin(data, 2)``)."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law -> PCM16 little-endian (same as ``audioop.alaw2lin(data, 2)``)."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


def _codec(fmt: str) -> Tuple[str, int]:
    f = normalize_format(fmt)
    return f, wire_rate(f)


class WireEncoder:
    """PCM16 (mono or interleaved ``channels``) at ``in_rate`` -> wire bytes for ``fmt``, resampling statefully.

    ``encode(pcm)`` returns whatever wire bytes are ready (possibly empty); ``flush()`` returns the tail at the end
    of a stream. ``out_rate`` overrides the output rate of PCM16 (e.g. to write files at another rate).
    Not thread-safe.
    """

    def __init__(self, fmt: str = PCM16, in_rate: int = PCM16_RATE, channels: int = 1, *,
                 quality: str = "HQ", out_rate: Optional[int] = None) -> None:
        self.format, self.rate = _codec(fmt)
        if out_rate is not None and int(out_rate) != self.rate:
            if self.format != PCM16:
                raise AudioFormatError(f"G.711 is always {G711_RATE} Hz (got out_rate={out_rate})")
            self.rate = int(out_rate)
        self.in_rate = int(in_rate)
        self._resampler = StreamResampler(self.in_rate, self.rate, channels, quality=quality)

    def _to_wire(self, pcm16: bytes) -> bytes:
        if not pcm16 or self.format == PCM16:
            return pcm16
        return ulaw_encode(pcm16) if self.format == G711_ULAW else alaw_encode(pcm16)

    def encode(self, pcm: bytes) -> bytes:
        return self._to_wire(self._resampler.process(pcm))

    def flush(self) -> bytes:
        return self._to_wire(self._resampler.flush())

    def reset(self) -> None:
        self._resampler.reset()

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample on the wire."""
        return wire_sample_width(self.format)


class WireDecoder:
    """Wire bytes for ``fmt`` -> PCM16 mono at ``out_rate`` (e.g. the speaker's native rate), resampling statefully.

    A stray odd byte of PCM16 input is carried to the next call. Not thread-safe.
    """

    def __init__(self, fmt: str = PCM16, out_rate: int = PCM16_RATE, *, quality: str = "HQ") -> None:
        self.format, self.rate = _codec(fmt)
        self.out_rate = int(out_rate)
        self._resampler = StreamResampler(self.rate, self.out_rate, 1, quality=quality)

    def decode(self, wire: bytes) -> bytes:
        if not wire:
            return b""
        if self.format == PCM16:
            pcm = wire
        elif self.format == G711_ULAW:
            pcm = ulaw_decode(wire)
        else:
            pcm = alaw_decode(wire)
        return self._resampler.process(pcm)

    def flush(self) -> bytes:
        return self._resampler.flush()

    def reset(self) -> None:
        self._resampler.reset()
