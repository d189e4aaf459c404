"""What the simulated translation engine says: the pluggable *translator*, and its default.

A translator is any callable ``(text, language) -> str``: ``text`` is one phrase of the source speech as the engine
recognised it, ``language`` the session's ``audio.output.language`` when the phrase ended; it returns the
translated phrase (an empty result translates to nothing). The engine speaks the result (speech-like audio from
:func:`~realtime_sync.testing.synthesize`) and streams it as ``session.output_transcript.delta`` /
``session.output_audio.delta``; a translator that raises gets the session an ``error`` event (``server_error``)
and the phrase is dropped.

The default, :func:`default_translator`, marks instead of translating: ``"[es] good morning everyone"`` for
``("good morning everyone", "es")`` (:data:`TRANSLATION_MARK`). What the engine recognises: the words synthetic
speech carries (:mod:`realtime_sync.testing.speech_marks`); speech that carries none (a real microphone, resampled
audio) is recognised as ``"(speech N ms)"`` (:func:`unrecognised_speech`), N being its voiced duration.
"""
import threading
from typing import Callable, List, Optional, Sequence, Tuple

__all__ = ["Translator", "TRANSLATION_MARK", "default_translator", "unrecognised_speech", "scripted_translations"]

#: ``(text, language) -> translated text``
Translator = Callable[[str, str], str]
#: How :func:`default_translator` marks a phrase: ``TRANSLATION_MARK.format(language=..., text=...)``.
TRANSLATION_MARK = "[{language}] {text}"


def default_translator(text: str, language: str) -> str:
    """``"[es] good morning everyone"``: the phrase, unchanged, marked with the target language."""
    return TRANSLATION_MARK.format(language=language, text=text)


def unrecognised_speech(ms: int) -> str:
    """The source text of ``ms`` of voiced audio that carries no words."""
    return f"(speech {ms} ms)"


class _ScriptedTranslations:
    def __init__(self, translations: Sequence[str], then: Optional[Translator]) -> None:
        self._queue = list(translations)
        self._then = then
        self._lock = threading.Lock()
        #: what the translator was asked, in order: ``(text, language)``
        self.calls: List[Tuple[str, str]] = []

    def __call__(self, text: str, language: str) -> str:
        with self._lock:
            self.calls.append((text, language))
            if self._queue:
                return self._queue.pop(0)
        if self._then is None:
            raise RuntimeError("scripted translator has no translation left")
        return self._then(text, language)


def scripted_translations(*translations: str, then: Optional[Translator] = default_translator) -> Translator:
    """A translator returning ``translations`` in order, one per phrase, then deferring to ``then`` (None: fail,
    which the session reports as an ``error`` event). The returned callable records what it was asked in
    ``.calls`` (``(text, language)`` pairs)."""
    return _ScriptedTranslations(translations, then)
