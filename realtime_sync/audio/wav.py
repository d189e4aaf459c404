"""Reading audio files for the wire: WAV files of any common encoding converted (numpy, soxr) to 24 kHz PCM16 or
8 kHz G.711 chunks, and headerless files already in a wire format.

The header is parsed and checked once, by :func:`realtime_sync.protocol.wav.parse_wav_header`, before the first
chunk: any rate, any channel count (downmixed), 8/16/24/32-bit integer PCM, 32/64-bit float and G.711 WAVs are
accepted; anything else raises :class:`~realtime_sync.errors.AudioFormatError` naming what was found.
"""
import logging
from typing import BinaryIO, Iterator, Optional

import numpy as np

from realtime_sync.audio import g711
from realtime_sync.errors import AudioFormatError
from realtime_sync.protocol.audio_formats import PCM16, PCM16_RATE, normalize_format, wire_rate, wire_sample_width
from realtime_sync.protocol.wav import (WAVE_ALAW, WAVE_FLOAT, WAVE_ULAW, PathOrFile, WavInfo, open_binary,
                                        parse_wav_header, wav_info)

__all__ = ["WavInfo", "wav_info", "read_wav", "iter_wav_chunks", "iter_wav_data", "iter_raw_chunks"]

logger = logging.getLogger("realtime_sync.audio.wav")


def _to_pcm16(raw: bytes, info: WavInfo) -> bytes:
    """Interleaved samples of ``info``'s encoding -> interleaved little-endian int16."""
    if info.tag == WAVE_ULAW:
        return g711.ulaw_decode(raw)
    if info.tag == WAVE_ALAW:
        return g711.alaw_decode(raw)
    if info.tag == WAVE_FLOAT:
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


def iter_wav_chunks(path_or_file: PathOrFile, chunk_ms: int = 100, *, wire_format: str = PCM16,
                    rate: Optional[int] = None) -> Iterator[bytes]:
    """Stream a WAV file as wire-format chunks of ``chunk_ms`` (the last one may be shorter).

    The header is checked before the first chunk; audio is converted to mono at the wire rate (24 kHz PCM16, or
    8 kHz G.711), or at ``rate`` when given (PCM16 only). Reads the file incrementally.
    """
    fh, owned, name = open_binary(path_or_file)
    try:
        info = parse_wav_header(fh, name)
        yield from iter_wav_data(fh, info, name, chunk_ms, wire_format=wire_format, rate=rate)
    finally:
        if owned:
            fh.close()


def iter_wav_data(fh: BinaryIO, info: WavInfo, name: str, chunk_ms: int = 100, *, wire_format: str = PCM16,
                  rate: Optional[int] = None) -> Iterator[bytes]:
    """The samples of an open WAV file whose header was parsed (``fh`` at the first sample), converted as
    :func:`iter_wav_chunks` does. The caller owns ``fh``."""
    fmt = normalize_format(wire_format)
    out_rate = int(rate) if rate else wire_rate(fmt)
    encoder = g711.WireEncoder(fmt, info.rate, info.channels, out_rate=out_rate)
    width = wire_sample_width(fmt)
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


def read_wav(path_or_file: PathOrFile, rate: int = PCM16_RATE) -> bytes:
    """Read a whole WAV file as mono PCM16 at ``rate`` (24 kHz by default), converting as needed."""
    return b"".join(iter_wav_chunks(path_or_file, 1000, rate=rate))


def iter_raw_chunks(path_or_file: PathOrFile, chunk_ms: int = 100, *, wire_format: str = PCM16) -> Iterator[bytes]:
    """Stream a headerless file already in wire format (24 kHz PCM16 or 8 kHz G.711) in ``chunk_ms`` chunks.

    Raises :class:`AudioFormatError` if a PCM16 file has an odd number of bytes (not 16-bit samples).
    """
    fmt = normalize_format(wire_format)
    width = wire_sample_width(fmt)
    chunk_bytes = max(1, int(wire_rate(fmt) * chunk_ms / 1000)) * width
    fh, owned, name = open_binary(path_or_file)
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
