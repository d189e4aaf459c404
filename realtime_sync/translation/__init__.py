"""Live translation sessions (``/v1/realtime/translations``): speech in one language in, translated speech and
text out, continuously (ADDENDUM-2026-12 A3)::

    with client.start_translation("es", transcribe_input=True) as session:
        session.send_audio(Microphone())                # any source: a file, bytes, an iterable of chunks
        for update in session.receive_updates():
            if update.kind is UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA:
                print(update.text, end="", flush=True)

    result = client.translate_file("talk.wav", "es")    # one call: both transcripts and the translated audio

Modules: :mod:`.session` (:class:`TranslationSession`, on the same connection core as a realtime session),
:mod:`.stream` (the continuous 200 ms input stream, silence while the app has nothing to send), :mod:`.pacing`
(its pure decisions), :mod:`.files` (:func:`translate_file`), :mod:`.connect` (the endpoint, client secrets),
:mod:`.interpreter` (microphone in, translated speech out). The events and commands are in
:mod:`realtime_sync.protocol.translation`.
"""
from ..protocol.translation import (KEEP, TRANSLATION_MODEL, InputTranscriptDeltaUpdate, NoiseReduction,
                                    OutputTranscriptDeltaUpdate, SessionClosedUpdate, TranslatedAudioDeltaUpdate,
                                    TranslationOptions, TranslationSessionCreatedUpdate, TranslationSessionInfo,
                                    TranslationSessionUpdatedUpdate)
from .connect import create_translation_secret, translation_endpoint
from .files import TranslationCollector, TranslationResult, translate_file
from .session import DRAIN_TIMEOUT, TranslationSession

__all__ = [
    "TranslationSession", "TranslationResult", "TranslationCollector", "translate_file", "translation_endpoint",
    "create_translation_secret", "DRAIN_TIMEOUT", "KEEP", "TRANSLATION_MODEL", "NoiseReduction",
    "TranslationOptions", "TranslationSessionInfo", "TranslationSessionCreatedUpdate",
    "TranslationSessionUpdatedUpdate", "SessionClosedUpdate", "InputTranscriptDeltaUpdate",
    "OutputTranscriptDeltaUpdate", "TranslatedAudioDeltaUpdate",
]
