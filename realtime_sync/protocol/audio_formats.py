"""The one home of the wire audio-format facts: names, rates, sample widths, silence, bytes per second.

The Realtime API carries three formats: ``pcm16`` (24 kHz mono 16-bit little-endian PCM), ``g711_ulaw`` and
``g711_alaw`` (8 kHz, one byte a sample). Beta names them as strings; GA as ``{"type": "audio/pcm", "rate": 24000}``,
``{"type": "audio/pcmu"}`` and ``{"type": "audio/pcma"}``. Everything here takes either spelling (and None for the
session default, pcm16) and is pure: no numpy, no I/O.
"""
from typing import Any, Dict, NamedTuple

from ..errors import AudioFormatError

__all__ = ["PCM16", "G711_ULAW", "G711_ALAW", "PCM16_RATE", "G711_RATE", "FORMATS", "AudioFormat",
           "normalize_format", "audio_format", "wire_rate", "wire_sample_width", "bytes_per_second",
           "silence_byte", "silence", "silence_ms", "bytes_for_ms", "ms_for_bytes", "ga_format_type"]

PCM16 = "pcm16"
G711_ULAW = "g711_ulaw"
G711_ALAW = "g711_alaw"
PCM16_RATE = 24000
G711_RATE = 8000


class AudioFormat(NamedTuple):
    """One wire format."""

    name: str  #: the beta name: pcm16, g711_ulaw, g711_alaw
    ga_type: str  #: the GA ``type``: audio/pcm, audio/pcmu, audio/pcma
    rate: int  #: samples per second
    sample_width: int  #: bytes per sample
    silence_byte: bytes  #: one byte of digital silence

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.sample_width


FORMATS: Dict[str, AudioFormat] = {
    PCM16: AudioFormat(PCM16, "audio/pcm", PCM16_RATE, 2, b"\x00"),
    G711_ULAW: AudioFormat(G711_ULAW, "audio/pcmu", G711_RATE, 1, b"\xff"),
    G711_ALAW: AudioFormat(G711_ALAW, "audio/pcma", G711_RATE, 1, b"\xd5"),
}

_ALIASES = {
    "pcm16": PCM16, "audio/pcm": PCM16, "pcm": PCM16,
    "g711_ulaw": G711_ULAW, "audio/pcmu": G711_ULAW, "pcmu": G711_ULAW, "ulaw": G711_ULAW,
    "g711_alaw": G711_ALAW, "audio/pcma": G711_ALAW, "pcma": G711_ALAW, "alaw": G711_ALAW,
}


def normalize_format(fmt: Any) -> str:
    """The beta name of a format given by its beta name, its GA name, a GA ``{"type": ...}`` object or None
    (pcm16, the session default); raises :class:`~realtime_sync.errors.AudioFormatError` for anything else."""
    if fmt is None:
        return PCM16
    if isinstance(fmt, dict):
        fmt = fmt.get("type")
    try:
        return _ALIASES[str(fmt).strip().lower()]
    except KeyError:
        raise AudioFormatError(f"unknown audio format {fmt!r}; expected one of pcm16, g711_ulaw, g711_alaw "
                               "(or audio/pcm, audio/pcmu, audio/pcma)") from None


def audio_format(fmt: Any) -> AudioFormat:
    """The :class:`AudioFormat` of ``fmt`` (any spelling; None is pcm16)."""
    return FORMATS[normalize_format(fmt)]


def ga_format_type(fmt: Any) -> str:
    """The GA ``type`` (``audio/pcm``...) of a format."""
    return audio_format(fmt).ga_type


def wire_rate(fmt: Any) -> int:
    """Sample rate of a wire format: 24000 for PCM16, 8000 for G.711."""
    return audio_format(fmt).rate


def wire_sample_width(fmt: Any) -> int:
    """Bytes per sample on the wire: 2 for PCM16, 1 for G.711."""
    return audio_format(fmt).sample_width


def bytes_per_second(fmt: Any) -> int:
    """Wire bytes per second of audio: 48000 for PCM16, 8000 for G.711."""
    return audio_format(fmt).bytes_per_second


def silence_byte(fmt: Any) -> bytes:
    """One byte of digital silence: 0x00 (PCM16), 0xFF (mu-law), 0xD5 (A-law)."""
    return audio_format(fmt).silence_byte


def silence(fmt: Any, nbytes: int) -> bytes:
    """``nbytes`` of digital silence in wire format ``fmt``."""
    return audio_format(fmt).silence_byte * max(0, int(nbytes))


def bytes_for_ms(fmt: Any, ms: float) -> int:
    """Wire bytes of ``ms`` milliseconds of audio, a whole number of samples."""
    f = audio_format(fmt)
    return int(f.rate * ms / 1000) * f.sample_width


def ms_for_bytes(fmt: Any, nbytes: int) -> float:
    """Milliseconds of audio in ``nbytes`` wire bytes."""
    return nbytes * 1000.0 / audio_format(fmt).bytes_per_second


def silence_ms(fmt: Any, ms: float) -> bytes:
    """``ms`` milliseconds of digital silence in wire format ``fmt``."""
    return silence(fmt, bytes_for_ms(fmt, ms))
