"""The simulated translation engine's input side: 200 ms frames, the words they carry, and phrases to translate.

Pure (no I/O, no clock): the connection feeds it the bytes of each ``session.input_audio_buffer.append`` and
emits what it returns.

* **Frames.** Input is cut into 200 ms frames (:data:`FRAME_BYTES` = 9,600 bytes of 24 kHz PCM16 mono) as the
  service does: a shorter append is held until a whole frame is there, a longer one is cut into frames processed
  back to back. Frame ``k`` (from 0) ends at ``elapsed_ms = 200 * (k + 1)``; everything found in it carries that
  ``elapsed_ms``. :meth:`TranslationEngine.finish` (``session.close``) pads a held partial frame with silence.
* **Words.** Each frame goes through a :class:`~realtime_sync.testing.speech_marks.MarkReader`: a word of synthetic
  speech is *heard* (:class:`Heard`, an input-transcript piece) in the frame where the silence after it arrives.
* **Phrases.** Heard words gather into a phrase (:class:`Phrase`, what the translator gets) that ends after a word
  ending a sentence (``.``, ``!``, ``?``), after :data:`PHRASE_PAUSE_MS` of silent frames, after
  :data:`MAX_PHRASE_MS` of voiced audio or :data:`MAX_PHRASE_WORDS` words, or at :meth:`~TranslationEngine.finish`.
  Voicing is measured on 10 ms blocks (RMS level at least :data:`SPEECH_DBFS`); a phrase of voiced audio without
  words is heard, and translated, as ``"(speech N ms)"``
  (:func:`~realtime_sync.testing.translator.unrecognised_speech`). Silent frames produce nothing.

Input-transcript pieces join into the source text exactly: a word that does not start with a space after earlier
ones gets one (two utterances sent one after the other read ``"Hello. Bye."``, not ``"Hello.Bye."``).
"""
from dataclasses import dataclass
from typing import List, Union

import numpy as np

from ..protocol.audio_formats import PCM16, bytes_for_ms
from .speech_marks import MarkReader
from .translator import unrecognised_speech
from .vad import threshold_dbfs

__all__ = ["FRAME_MS", "FRAME_BYTES", "SPEECH_DBFS", "PHRASE_PAUSE_MS", "MAX_PHRASE_MS", "MAX_PHRASE_WORDS",
           "Heard", "Phrase", "TranslationEngine"]

FRAME_MS = 200
FRAME_BYTES = bytes_for_ms(PCM16, FRAME_MS)
#: frame level (dBFS) from which a frame is voiced: server VAD's default threshold (0.5)
SPEECH_DBFS = threshold_dbfs(0.5)
PHRASE_PAUSE_MS = 400
MAX_PHRASE_MS = 8000
MAX_PHRASE_WORDS = 30
_SENTENCE_ENDS = (".", "!", "?")
_BLOCK_MS = 10
_BLOCK = FRAME_BYTES // 2 // (FRAME_MS // _BLOCK_MS)  # samples per 10 ms block


@dataclass(frozen=True)
class Heard:
    """A piece of source text (a word with its punctuation) recognised in the frame ending at ``elapsed_ms``."""

    text: str
    elapsed_ms: int


@dataclass(frozen=True)
class Phrase:
    """A phrase to translate, ended in the frame ending at ``elapsed_ms``."""

    text: str
    elapsed_ms: int


Found = Union[Heard, Phrase]


def _voiced_blocks(samples: np.ndarray) -> np.ndarray:
    """Which 10 ms blocks of a frame are voiced (RMS level at least :data:`SPEECH_DBFS`)."""
    blocks = samples.astype(np.float64).reshape(-1, _BLOCK)
    floor = 32768.0 * 10.0 ** (SPEECH_DBFS / 20.0)
    return np.sqrt(np.mean(np.square(blocks), axis=1)) >= floor


class TranslationEngine:
    """One session's input: feed it appended bytes, get back what was heard and the phrases that ended."""

    def __init__(self) -> None:
        self._held = bytearray()
        self.frames = 0  #: whole frames processed
        self._reader = MarkReader()
        self._words: List[str] = []
        self._voiced_ms = 0
        self._silent_ms = 0
        self._heard_any = False

    @property
    def elapsed_ms(self) -> int:
        """Input processed so far (ms): 200 per frame."""
        return self.frames * FRAME_MS

    @property
    def held_bytes(self) -> int:
        """Bytes of an incomplete frame waiting for the rest."""
        return len(self._held)

    def append(self, audio: bytes) -> List[Found]:
        """Take appended audio; process every whole frame now available."""
        self._held += audio
        found: List[Found] = []
        while len(self._held) >= FRAME_BYTES:
            frame = bytes(self._held[:FRAME_BYTES])
            del self._held[:FRAME_BYTES]
            found += self._frame(frame)
        return found

    def finish(self) -> List[Found]:
        """The end of the input (``session.close``): the held partial frame (padded with silence), the word and
        the phrase under way."""
        found: List[Found] = []
        if self._held:
            found += self._frame(bytes(self._held) + bytes(FRAME_BYTES - len(self._held)))
            self._held.clear()
        for piece in self._reader.flush():
            found += self._heard(piece, self.elapsed_ms)
        return found + self._end_phrase(self.elapsed_ms)

    def _frame(self, frame: bytes) -> List[Found]:
        self.frames += 1
        elapsed = self.elapsed_ms
        samples = np.frombuffer(frame, dtype="<i2")
        voiced = np.flatnonzero(_voiced_blocks(samples))
        found: List[Found] = []
        if voiced.size:
            if self._silent_ms + _BLOCK_MS * int(voiced[0]) >= PHRASE_PAUSE_MS:  # the pause ended in this frame
                found += self._end_phrase(elapsed)
            self._voiced_ms += _BLOCK_MS * int(voiced.size)
            self._silent_ms = FRAME_MS - _BLOCK_MS * (int(voiced[-1]) + 1)
        else:
            self._silent_ms += FRAME_MS
        for piece in self._reader.feed(samples):
            found += self._heard(piece, elapsed)
        if self._silent_ms >= PHRASE_PAUSE_MS or self._voiced_ms >= MAX_PHRASE_MS \
                or len(self._words) >= MAX_PHRASE_WORDS:
            found += self._end_phrase(elapsed)
        return found

    def _heard(self, piece: str, elapsed: int) -> List[Found]:
        if self._heard_any and not piece[:1].isspace():  # the first word of another utterance
            piece = " " + piece
        self._words.append(piece)
        self._heard_any = True
        found: List[Found] = [Heard(piece, elapsed)]
        if piece.rstrip().endswith(_SENTENCE_ENDS):
            found += self._end_phrase(elapsed)
        return found

    def _end_phrase(self, elapsed: int) -> List[Found]:
        words, voiced = self._words, self._voiced_ms
        self._words, self._voiced_ms = [], 0
        if words:
            return [Phrase("".join(words).strip(), elapsed)]
        if voiced:  # heard as a whole, at the end
            text = unrecognised_speech(voiced)
            heard = Heard(" " + text if self._heard_any else text, elapsed)
            self._heard_any = True
            return [heard, Phrase(text, elapsed)]
        return []
