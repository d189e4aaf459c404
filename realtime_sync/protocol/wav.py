"""WAV headers (pure, stdlib only): what a RIFF/WAVE file holds, checked before anything is streamed.

:func:`parse_wav_header` reads the header of an open binary file, checks it (USER-NEEDS item 12: fail before
streaming, naming what was found) and leaves the file at the first sample. The core client uses it for
``send_audio(path)`` without numpy; :mod:`realtime_sync.audio.wav` converts what is not already wire PCM16.
"""
import io
import os
import struct
from typing import BinaryIO, Optional, Tuple, Union

from ..errors import AudioFormatError
from .audio_formats import PCM16_RATE

__all__ = ["WavInfo", "parse_wav_header", "is_wav_header", "wav_info", "open_binary", "PathOrFile",
           "WAVE_PCM", "WAVE_FLOAT", "WAVE_ALAW", "WAVE_ULAW"]

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]

WAVE_PCM, WAVE_FLOAT, WAVE_ALAW, WAVE_ULAW, _WAVE_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_TAG_NAMES = {WAVE_PCM: "PCM", WAVE_FLOAT: "IEEE float", WAVE_ALAW: "A-law", WAVE_ULAW: "mu-law"}


def is_wav_header(head: bytes) -> bool:
    """True when the first 12 bytes of a file are a RIFF/WAVE header."""
    return head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE"


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

    @property
    def is_wire_pcm16(self) -> bool:
        """True when the samples are already what the wire carries: 24 kHz mono 16-bit PCM."""
        return (self.tag, self.rate, self.channels, self.width) == (WAVE_PCM, PCM16_RATE, 1, 2)

    def describe(self) -> str:
        name = _TAG_NAMES.get(self.tag, f"format tag {self.tag:#x}")
        return f"{name}, {self.rate} Hz, {self.channels} channel(s), {self.width * 8}-bit"

    def __repr__(self) -> str:
        return f"WavInfo({self.describe()}, {self.frames} frames)"


def parse_wav_header(fh: BinaryIO, name: str) -> WavInfo:
    """Read and check the header of an open WAV file; the file is then at the first sample of its data."""
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
        (info.tag == WAVE_PCM and info.width in (1, 2, 3, 4))
        or (info.tag == WAVE_FLOAT and info.width in (4, 8))
        or (info.tag in (WAVE_ALAW, WAVE_ULAW) and info.width == 1))
    if not ok or align != info.channels * info.width:
        raise AudioFormatError(
            f"{name}: unsupported WAV audio ({info.describe()}, block align {align}); expected integer PCM "
            "(8/16/24/32-bit), float (32/64-bit) or G.711, any rate and channel count; "
            f"convert it e.g. with `sox {name} -r {PCM16_RATE} -c 1 -b 16 out.wav`")


def open_binary(path_or_file: PathOrFile) -> Tuple[BinaryIO, bool, str]:
    """(file, owned, name): an open binary file (opened here when given a path: ``owned``) and a name for errors."""
    if hasattr(path_or_file, "read"):
        return path_or_file, False, str(getattr(path_or_file, "name", "<stream>"))  # type: ignore[return-value]
    path = os.fspath(path_or_file)
    return open(path, "rb"), True, str(path)


def wav_info(path_or_file: PathOrFile) -> WavInfo:
    """Parse and check a WAV header (raises :class:`AudioFormatError` naming rate/channels/width when unusable)."""
    fh, owned, name = open_binary(path_or_file)
    try:
        return parse_wav_header(fh, name)
    finally:
        if owned:
            fh.close()
