"""The words synthetic speech carries: an inaudible mark in each word of :func:`~realtime_sync.testing.synthesize`'s
PCM16 audio, read back by the simulated translation engine.

The simulator cannot recognise speech, so its speech says what it is: :func:`mark_words` writes, into each word's
sound, the text of that word (with the punctuation that follows it, :func:`text_pieces`). Bits go into the least
significant bit of the word's samples whose magnitude is at least 2 (sign and magnitude kept: a change of at most
one step in 32768, -90 dBFS, and a sample never becomes quieter than 2), as ``magic(16) length(16) UTF-8
crc16``. Words are found the same way on both sides: runs of non-zero samples separated by at least
:data:`WORD_SEPARATOR` zero samples (``synthesize`` puts 45 ms of digital silence between words).

:class:`MarkReader` reads a stream in pieces of any size (the 200 ms frames of a translation session) and returns
each word's text once its trailing silence arrives; :func:`spoken_text` reads a whole buffer. The marks survive
any chunking, leading or trailing silence, and concatenation with other audio that is separated from the words by
silence; they do not survive resampling, mixing, gain or lossy codecs (G.711): such audio reads as unmarked.
"""
import re
import struct
import zlib
from typing import List, Optional, Tuple

import numpy as np

__all__ = ["WORD_SEPARATOR", "text_pieces", "mark_words", "read_word", "MarkReader", "spoken_text"]

#: zero samples that end a word (5.3 ms at 24 kHz; ``synthesize`` leaves at least 11 ms between words)
WORD_SEPARATOR = 128
_MAGIC = 0x5AC3
_HEADER_BITS = 32
_PIECE = re.compile(r"\w+[^\w\s]*")
#: a word longer than this (samples) without a silence after it is given up on (4 s at 24 kHz)
MAX_WORD_SAMPLES = 96000


def text_pieces(text: str) -> List[str]:
    """``text`` cut into one piece per word, each ending after the word's trailing punctuation:
    ``"Good morning, everyone."`` -> ``["Good", " morning,", " everyone."]``. The pieces join back to ``text``
    (text before the first word goes with it; text after the last word's punctuation with the last)."""
    ends = [m.end() for m in _PIECE.finditer(text)]
    if not ends:
        return []
    ends[-1] = len(text)
    out, start = [], 0
    for end in ends:
        out.append(text[start:end])
        start = end
    return out


def _segments(samples: np.ndarray) -> List[Tuple[int, int]]:
    """``[start, end)`` of each run of non-zero samples, runs being separated by ``WORD_SEPARATOR`` zeros or more."""
    nonzero = np.flatnonzero(samples)
    if not nonzero.size:
        return []
    gaps = np.flatnonzero(np.diff(nonzero) > WORD_SEPARATOR)
    starts = np.concatenate(([nonzero[0]], nonzero[gaps + 1]))
    ends = np.concatenate((nonzero[gaps] + 1, [nonzero[-1] + 1]))
    return list(zip(starts.tolist(), ends.tolist()))


def _payload_bits(piece: str) -> np.ndarray:
    data = piece.encode("utf-8")[:0xFFFF]
    packed = struct.pack(">HH", _MAGIC, len(data)) + data + struct.pack(">H", zlib.crc32(data) & 0xFFFF)
    return np.unpackbits(np.frombuffer(packed, dtype=np.uint8)).astype(np.int32)


def mark_words(samples: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``samples`` (int16, one voiced run per word of ``text``, as ``synthesize`` makes them) with each
    word's piece of ``text`` written into it. Returned unmarked when the runs do not match the words one to one;
    a word too short for its piece (a very long run of punctuation) stays unmarked."""
    pieces = text_pieces(text)
    segments = _segments(samples)
    out = samples.astype(np.int32)
    if not pieces or len(pieces) != len(segments):
        return samples
    for (start, end), piece in zip(segments, pieces):
        word = out[start:end]
        magnitude = np.abs(word)
        usable = np.flatnonzero(magnitude >= 2)
        bits = _payload_bits(piece)
        if bits.size > usable.size:
            continue
        at = usable[:bits.size]
        word[at] = np.sign(word[at]) * ((magnitude[at] & ~1) | bits)
    return out.astype(np.int16)


def read_word(samples: np.ndarray) -> Optional[str]:
    """The piece of text one word's samples carry, or None when they carry none."""
    magnitude = np.abs(samples.astype(np.int32))
    bits = (magnitude[magnitude >= 2] & 1).astype(np.uint8)
    if bits.size < _HEADER_BITS + 16:
        return None
    magic, length = struct.unpack(">HH", np.packbits(bits[:_HEADER_BITS]).tobytes())
    end = _HEADER_BITS + 8 * length
    if magic != _MAGIC or bits.size < end + 16:
        return None
    data = np.packbits(bits[_HEADER_BITS:end]).tobytes()
    (crc,) = struct.unpack(">H", np.packbits(bits[end:end + 16]).tobytes())
    if crc != zlib.crc32(data) & 0xFFFF:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class MarkReader:
    """Reads the words of a PCM16 stream fed in pieces of any size. Holds at most one unfinished word
    (:data:`MAX_WORD_SAMPLES`)."""

    def __init__(self) -> None:
        self._held = np.zeros(0, dtype=np.int16)  # from the start of an unfinished run (trailing zeros included)

    def feed(self, samples: np.ndarray) -> List[str]:
        """The pieces of the words that ended (their trailing silence arrived) with ``samples``, in order."""
        buf = np.concatenate((self._held, samples)) if self._held.size else samples
        segments = _segments(buf)
        if not segments:
            self._held = np.zeros(0, dtype=np.int16)
            return []
        last_start, last_end = segments[-1]
        if buf.size - last_end >= WORD_SEPARATOR:
            finished, self._held = segments, np.zeros(0, dtype=np.int16)
        else:
            finished, self._held = segments[:-1], buf[last_start:].copy()
            if self._held.size > MAX_WORD_SAMPLES:  # no silence in sight: not synthetic speech
                self._held = np.zeros(0, dtype=np.int16)
        return [text for text in (read_word(buf[s:e]) for s, e in finished) if text is not None]

    def flush(self) -> List[str]:
        """The end of the stream: the piece of an unfinished word, if it carries one."""
        held, self._held = self._held, np.zeros(0, dtype=np.int16)
        return [text for text in (read_word(held[s:e]) for s, e in _segments(held)) if text is not None]


def spoken_text(audio: bytes) -> str:
    """The text marked speech in ``audio`` (PCM16 little-endian) carries: its words' pieces joined (``""`` when
    it carries none)."""
    reader = MarkReader()
    samples = np.frombuffer(audio[: len(audio) // 2 * 2], dtype="<i2")
    return "".join(reader.feed(samples) + reader.flush())
