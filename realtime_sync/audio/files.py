"""File sinks (same interface as :class:`~realtime_sync.audio.speaker.Speaker`) and WAV/raw readers.

Sinks: ``write(wire_bytes)``, ``flush()``, ``drain(timeout)``, ``close()``, ``reset_clock()``, ``played_ms``
(= milliseconds written), ``received_ms``, ``is_playing`` (always False: a file takes audio at once).

Readers check the WAV header before streaming anything (USER-NEEDS item 12) and convert to what the wire needs:
any rate, any channel count (downmixed), 8/16/24/32-bit integer PCM, 32/64-bit float and G.711 WAVs are
accepted; anything else raises :class:`~realtime_sync.errors.AudioFormatError` naming what was found.
"""
import io
import logging
import os
import struct
import wave
from typing import Any, BinaryIO, Iterator, Optional, Tuple, Union

import numpy as np

from realtime_sync.audio import g711
from realtime_sync.errors import AudioFormatError

__all__ = ["NullSink", "RawFileSink", "WavFileSink", "WavInfo", "wav_info", "read_wav", "iter_wav_chunks",
           "iter_raw_chunks"]

logger = logging.getLogger("realtime_sync.audio.files")

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]

_WAVE_PCM, _WAVE_FLOAT, _WAVE_ALAW, _WAVE_ULAW, _WAVE_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_TAG_NAMES = {_WAVE_PCM: "PCM", _WAVE_FLOAT: "IEEE float", _WAVE_ALAW: "A-law", _WAVE_ULAW: "mu-law"}


class NullSink:
    """A sink that discards audio but keeps the clocks (for text-only runs and tests)."""

    def __init__(self, wire_format: str = "pcm16") -> None:
        self.wire_format = g711.normalize_format(wire_format)
        self.wire_rate = g711.wire_rate(self.wire_format)
        self._width = g711.wire_sample_width(self.wire_format)
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

    def __init__(self, path_or_file: PathOrFile, wire_format: str = "pcm16") -> None:
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

    def __init__(self, path: PathOrFile, rate: int = 24000, wire_format: str = "pcm16") -> None:
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


# ------------------------------------------------------------------------------------------------------ readers
class WavInfo:
    """What a WAV header says: ``tag`` (1 PCM, 3 float, 6 A-law, 7 mu-law), rate, channels, sample width."""

    def __init__(self, tag: int, rate: int, channels: int, width: int, data_offset: int, data_size: int) -> None:
        self.tag, self.rate, self.channels, self.width = tag, rate, channels, width
        self.data_offset, self.data_size = data_offset, data_size

    @property
    def frames(self) -> int:
        return self.data_size // max(1, self.channels * self.width)

    @property
    def duration_ms(self) -> float:
        return self.frames * 1000.0 / self.rate if self.rate else 0.0

    def describe(self) -> str:
        name = _TAG_NAMES.get(self.tag, f"format tag {self.tag:#x}")
        return f"{name}, {self.rate} Hz, {self.channels} channel(s), {self.width * 8}-bit"

    def __repr__(self) -> str:
        return f"WavInfo({self.describe()}, {self.frames} frames)"


def _parse_header(fh: BinaryIO, name: str) -> WavInfo:
    head = fh.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        raise AudioFormatError(f"{name}: not a RIFF/WAVE file")
    if head[:4] == b"RIFX":
        raise AudioFormatError(f"{name}: big-endian RIFX WAV is not supported")
    fmt: Optional[Tuple[int, int, int, int, int]] = None
    while True:
        hdr = fh.read(8)
        if len(hdr) < 8:
            raise AudioFormatError(f"{name}: no data chunk in WAV file")
        cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
        if cid == b"fmt ":
            body = fh.read(size + (size & 1))
            if len(body) < 16:
                raise AudioFormatError(f"{name}: truncated fmt chunk")
            tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _WAVE_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
            fmt = (tag, channels, rate, align, bits)
        elif cid == b"data":
            if fmt is None:
                raise AudioFormatError(f"{name}: data chunk before fmt chunk")
            tag, channels, rate, align, bits = fmt
            width = (bits + 7) // 8
            info = WavInfo(tag, rate, channels, width, fh.tell(), size)
            _check(info, align, name)
            return info
        else:
            fh.seek(size + (size & 1), io.SEEK_CUR)


def _check(info: WavInfo, align: int, name: str) -> None:
    ok = info.rate > 0 and info.channels > 0 and (
        (info.tag == _WAVE_PCM and info.width in (1, 2, 3, 4))
        or (info.tag == _WAVE_FLOAT and info.width in (4, 8))
        or (info.tag in (_WAVE_ALAW, _WAVE_ULAW) and info.width == 1))
    if not ok or align != info.channels * info.width:
        raise AudioFormatError(
            f"{name}: unsupported WAV audio ({info.describe()}, block align {align}); expected integer PCM "
            "(8/16/24/32-bit), float (32/64-bit) or G.711, any rate and channel count; "
            f"convert it e.g. with `sox {name} -r 24000 -c 1 -b 16 out.wav`")


def _to_pcm16(raw: bytes, info: WavInfo) -> bytes:
    """Interleaved samples of ``info``'s encoding -> interleaved little-endian int16."""
    if info.tag == _WAVE_ULAW:
        return g711.ulaw_decode(raw)
    if info.tag == _WAVE_ALAW:
        return g711.alaw_decode(raw)
    if info.tag == _WAVE_FLOAT:
        x = np.frombuffer(raw, dtype="<f4" if info.width == 4 else "<f8")
        return np.clip(np.round(np.nan_to_num(x) * 32767.0), -32768, 32767).astype("<i2").tobytes()
    if info.width == 2:
        return raw
    if info.width == 1:
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype("<i2").tobytes()
    if info.width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return (b[:, 1].astype(np.uint16) | (b[:, 2].astype(np.uint16) << 8)).astype("<u2").tobytes()
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype("<i2").tobytes()


def _open_in(path_or_file: PathOrFile) -> Tuple[BinaryIO, bool, str]:
    if hasattr(path_or_file, "read"):
        return path_or_file, False, str(getattr(path_or_file, "name", "<stream>"))  # type: ignore[return-value]
    path = os.fspath(path_or_file)
    return open(path, "rb"), True, str(path)


def wav_info(path_or_file: PathOrFile) -> WavInfo:
    """Parse and check a WAV header (raises :class:`AudioFormatError` naming rate/channels/width when unusable)."""
    fh, owned, name = _open_in(path_or_file)
    try:
        return _parse_header(fh, name)
    finally:
        if owned:
            fh.close()


def iter_wav_chunks(path_or_file: PathOrFile, chunk_ms: int = 100, *, wire_format: str = "pcm16",
                    rate: Optional[int] = None) -> Iterator[bytes]:
    """Stream a WAV file as wire-format chunks of ``chunk_ms`` (the last one may be shorter).

    The header is checked before the first chunk; audio is converted to mono at the wire rate (24 kHz PCM16, or
    8 kHz G.711), or at ``rate`` when given (PCM16 only). Reads the file incrementally.
    """
    fmt = g711.normalize_format(wire_format)
    out_rate = int(rate) if rate else g711.wire_rate(fmt)
    fh, owned, name = _open_in(path_or_file)
    try:
        info = _parse_header(fh, name)
        encoder = g711.WireEncoder(fmt, info.rate, info.channels, out_rate=out_rate)
        width = g711.wire_sample_width(fmt)
        chunk_bytes = max(1, int(out_rate * chunk_ms / 1000)) * width
        frame = info.channels * info.width
        read_frames = max(1, int(info.rate * chunk_ms / 1000))
        remaining = info.data_size - info.data_size % frame
        logger.debug("streaming %s: %s, %d frames", name, info.describe(), info.frames)
        pending = bytearray()
        while remaining > 0:
            raw = fh.read(min(remaining, read_frames * frame))
            if not raw:
                logger.warning("%s: data chunk shorter than its header says (%d bytes missing)", name, remaining)
                break
            remaining -= len(raw)
            raw = raw[:len(raw) - len(raw) % frame]
            pending += encoder.encode(_to_pcm16(raw, info))
            while len(pending) >= chunk_bytes:
                yield bytes(pending[:chunk_bytes])
                del pending[:chunk_bytes]
        pending += encoder.flush()
        while pending:
            yield bytes(pending[:chunk_bytes])
            del pending[:chunk_bytes]
    finally:
        if owned:
            fh.close()


def read_wav(path_or_file: PathOrFile, rate: int = 24000) -> bytes:
    """Read a whole WAV file as mono PCM16 at ``rate`` (24 kHz by default), converting as needed."""
    return b"".join(iter_wav_chunks(path_or_file, 1000, rate=rate))


def iter_raw_chunks(path_or_file: PathOrFile, chunk_ms: int = 100, *, wire_format: str = "pcm16") -> Iterator[bytes]:
    """Stream a headerless file already in wire format (24 kHz PCM16 or 8 kHz G.711) in ``chunk_ms`` chunks.

    Raises :class:`AudioFormatError` if a PCM16 file has an odd number of bytes (not 16-bit samples).
    """
    fmt = g711.normalize_format(wire_format)
    width = g711.wire_sample_width(fmt)
    chunk_bytes = max(1, int(g711.wire_rate(fmt) * chunk_ms / 1000)) * width
    fh, owned, name = _open_in(path_or_file)
    try:
        total = 0
        while True:
            data = fh.read(chunk_bytes)
            if not data:
                break
            total += len(data)
            if len(data) % width:
                raise AudioFormatError(f"{name}: {total} bytes is not a whole number of {width}-byte samples")
            yield data
    finally:
        if owned:
            fh.close()
