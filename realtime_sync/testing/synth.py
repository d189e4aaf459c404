"""Speech-like audio for the assistant's answers, and the service's audio chunk sizes.

Each word becomes a voiced sound: a falling pitch (about 120-180 Hz) with six harmonics shaped by two formant-like
resonances, a syllable-rate amplitude envelope and soft edges; words are separated by short gaps, clauses by longer
pauses. Duration follows the text: :data:`MS_PER_CHAR` per letter, divided by the session's ``speed``. Not
intelligible, but it has speech's level, rhythm and spectrum, so VAD, playback and barge-in code see realistic audio.
PCM16 speech also carries its words, inaudibly (:mod:`realtime_sync.testing.speech_marks`): the simulated translation
engine reads them back.
"""
import re
from functools import lru_cache
from typing import List, Tuple

import numpy as np

from ..protocol.audio_formats import PCM16, wire_rate
from ._util import bytes_per_ms, encode_from_int16
from .speech_marks import mark_words

__all__ = ["synthesize", "spoken_ends_ms", "chunk_sizes_ms", "split_audio", "MS_PER_CHAR", "CHUNK_SCHEDULE_MS"]

MS_PER_CHAR = 65.0
WORD_GAP_MS = 45.0
CLAUSE_PAUSE_MS = 180.0
SENTENCE_PAUSE_MS = 300.0
#: Decoded size of successive audio deltas (ms of audio), after the recorded beta turn: 4800, 7200, 12000 ... bytes.
CHUNK_SCHEDULE_MS = (100, 150, 250, 250, 250, 600)
_WORD = re.compile(r"\w+|[^\w\s]")


def _word(rate: int, n_chars: int, speed: float, f_start: float, rng: np.random.Generator) -> np.ndarray:
    n = max(1, int(rate * n_chars * MS_PER_CHAR / 1000.0 / speed))
    t = np.arange(n) / rate
    f0 = f_start * (1.0 - 0.15 * t / max(t[-1], 1e-3))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    f1, f2 = 500.0 + 300.0 * rng.random(), 1400.0 + 600.0 * rng.random()
    wave = np.zeros(n)
    for k in range(1, 7):
        fk = f0 * k
        gain = 1.0 / k + 0.8 * np.exp(-((fk - f1) / 250.0) ** 2) + 0.5 * np.exp(-((fk - f2) / 400.0) ** 2)
        wave += gain * np.sin(k * phase)
    syllables = max(1, round(n_chars / 3))
    env = 0.55 + 0.45 * np.abs(np.sin(np.pi * syllables * t / max(t[-1], 1e-3)))
    edge = min(n // 2, int(rate * 0.02))
    if edge:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
        env[:edge] *= ramp
        env[-edge:] *= ramp[::-1]
    return wave * env


def _timeline(text: str, speed: float) -> List[Tuple[str, float, float]]:
    """``(token, sound ms, pause ms after it)`` for each word and punctuation mark of ``text``."""
    out: List[Tuple[str, float, float]] = []
    for tok in _WORD.findall(text):
        if tok[0].isalnum() or tok[0] == "_":
            out.append((tok, len(tok) * MS_PER_CHAR / speed, WORD_GAP_MS / speed))
        else:
            pause = SENTENCE_PAUSE_MS if tok in ".!?" else CLAUSE_PAUSE_MS if tok in ",;:" else 0.0
            out.append((tok, 0.0, pause / speed))
    return out


def _speed(speed: float) -> float:
    return min(4.0, max(0.25, speed or 1.0))


def spoken_ends_ms(text: str, speed: float = 1.0) -> List[float]:
    """When each word and punctuation mark of ``text`` has been said in :func:`synthesize`'s audio (ms from its
    start): the pieces of :func:`~realtime_sync.testing._util.tokenize` that are not blank, in order."""
    ends, clock = [], 0.0
    for _, sound, pause in _timeline(text, _speed(speed)):
        clock += sound
        ends.append(clock)
        clock += pause
    return ends


@lru_cache(maxsize=128)
def synthesize(text: str, fmt: str = PCM16, speed: float = 1.0) -> bytes:
    """Speech-like audio for ``text`` in a wire format (PCM16 24 kHz, or G.711 at 8 kHz)."""
    rate = wire_rate(fmt)
    speed = _speed(speed)
    rng = np.random.default_rng(len(text))
    pieces: List[np.ndarray] = []
    pitch = 165.0
    for tok, sound, pause in _timeline(text, speed):
        if sound:
            pieces.append(_word(rate, len(tok), speed, pitch, rng))
            pitch = max(120.0, pitch - 3.0)
        elif tok in ".!?":
            pitch = 165.0
        if pause:
            pieces.append(np.zeros(int(rate * pause / 1000)))
    if not pieces:
        pieces.append(np.zeros(int(rate * 0.2)))
    wave = np.concatenate(pieces)
    peak = float(np.max(np.abs(wave))) or 1.0
    samples = np.round(wave / peak * 0.35 * 32767).astype(np.int16)
    return encode_from_int16(mark_words(samples, text) if fmt == PCM16 else samples, fmt)


def chunk_sizes_ms(start_index: int = 0):
    """Successive delta durations from the ``start_index``-th delta of a response on (the last size repeats)."""
    i = start_index
    while True:
        yield CHUNK_SCHEDULE_MS[min(i, len(CHUNK_SCHEDULE_MS) - 1)]
        i += 1


def split_audio(audio: bytes, fmt: str, start_index: int) -> List[bytes]:
    """Cut one clause's audio into deltas following :data:`CHUNK_SCHEDULE_MS` (continuing the response's count)."""
    bpm = bytes_per_ms(fmt)
    out: List[bytes] = []
    pos = 0
    sizes = chunk_sizes_ms(start_index)
    while pos < len(audio):
        size = next(sizes) * bpm
        out.append(audio[pos:pos + size])
        pos += size
    return out
