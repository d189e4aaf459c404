"""Small helpers of the simulator: ids like the service's, the REST error body, G.711 codecs (numpy only) and text
tokenising.

The G.711 codecs are our own ~40 lines so the simulator never imports the audio package (PyAudio / soxr).
"""
import random
import re
import string
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..protocol.audio_formats import G711_ALAW, G711_ULAW, bytes_per_second

__all__ = [
    "new_id", "api_error", "obfuscation", "ulaw_decode", "alaw_decode", "ulaw_encode", "alaw_encode", "decode_to_float",
    "encode_from_int16", "bytes_per_ms", "tokenize", "split_clauses", "estimate_tokens",
]

_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id shaped like the service's: ``event_`` / ``item_`` / ``resp_`` ... plus 21 alphanumerics."""
    return prefix + "_" + "".join(random.choices(_ALNUM, k=21))


def api_error(status: int, message: str, code: Optional[str] = None, param: Optional[str] = None,
              err_type: str = "invalid_request_error") -> Tuple[int, Dict[str, Any]]:
    """A REST error answer: ``status`` and the service's ``{"error": {...}}`` body."""
    return status, {"error": {"message": message, "type": err_type, "param": param, "code": code}}


def obfuscation(delta: str) -> str:
    """The GA ``obfuscation`` padding of text deltas (delta + padding is ~16 characters in recorded traffic)."""
    return "".join(random.choices(_ALNUM, k=max(1, 16 - len(delta))))


# -- G.711 ----------------------------------------------------------------------------------------------------------
def _ulaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for code in range(256):
        u = ~code & 0xFF
        t = ((u & 0x0F) << 3) + 0x84
        t <<= (u & 0x70) >> 4
        out[code] = (0x84 - t) if (u & 0x80) else (t - 0x84)
    return out


def _alaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for code in range(256):
        a = code ^ 0x55
        t = (a & 0x0F) << 4
        seg = (a & 0x70) >> 4
        if seg == 0:
            t += 8
        elif seg == 1:
            t += 0x108
        else:
            t = (t + 0x108) << (seg - 1)
        out[code] = t if (a & 0x80) else -t
    return out


def _encode_table(decode: np.ndarray) -> np.ndarray:
    """Nearest G.711 code for every int16 value (65536 entries)."""
    order = np.argsort(decode, kind="stable")
    values = decode[order].astype(np.int32)
    x = np.arange(-32768, 32768, dtype=np.int32)
    hi = np.clip(np.searchsorted(values, x), 1, 255)
    lo = hi - 1
    pick = np.where(np.abs(values[hi] - x) < np.abs(x - values[lo]), hi, lo)
    return order[pick].astype(np.uint8)


_ULAW_DEC = _ulaw_table()
_ALAW_DEC = _alaw_table()
_ULAW_ENC = _encode_table(_ULAW_DEC)
_ALAW_ENC = _encode_table(_ALAW_DEC)


def ulaw_decode(data: bytes) -> np.ndarray:
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> np.ndarray:
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(samples: np.ndarray) -> bytes:
    return _ULAW_ENC[samples.astype(np.int32) + 32768].tobytes()


def alaw_encode(samples: np.ndarray) -> bytes:
    return _ALAW_ENC[samples.astype(np.int32) + 32768].tobytes()


def bytes_per_ms(fmt: str) -> int:
    """Wire bytes per millisecond of audio (48 for PCM16, 8 for G.711)."""
    return bytes_per_second(fmt) // 1000


def decode_to_float(data: bytes, fmt: str) -> np.ndarray:
    """Samples in [-1, 1) (float32) from wire bytes of ``pcm16`` / ``g711_ulaw`` / ``g711_alaw``."""
    if fmt == G711_ULAW:
        pcm = ulaw_decode(data)
    elif fmt == G711_ALAW:
        pcm = alaw_decode(data)
    else:
        pcm = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def encode_from_int16(samples: np.ndarray, fmt: str) -> bytes:
    """Wire bytes of int16 samples already at the format's rate."""
    if fmt == G711_ULAW:
        return ulaw_encode(samples)
    if fmt == G711_ALAW:
        return alaw_encode(samples)
    return samples.astype("<i2").tobytes()


# -- text -----------------------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")
_CLAUSE_END = re.compile(r"[.,!?;:]$")


def tokenize(text: str) -> List[str]:
    """Split text into delta-sized pieces like the service's (``"Hi there!"`` -> ``["Hi", " there", "!"]``).

    The pieces always join back to the exact text.
    """
    return _TOKEN.findall(text)


def split_clauses(tokens: List[str]) -> List[List[str]]:
    """Group tokens into clauses ending at punctuation: the service streams a clause's transcript, then its audio."""
    out: List[List[str]] = []
    current: List[str] = []
    for tok in tokens:
        current.append(tok)
        if _CLAUSE_END.search(tok):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token)."""
    return (len(text) + 3) // 4 if text else 0
