"""Translating a whole file in one call: :func:`translate_file` -> :class:`TranslationResult`.

The file streams into a translation session as fast as the connection takes it (``realtime=True`` paces it),
the session closes gracefully (the server translates everything, then ``session.closed``) and a
:class:`TranslationCollector` has gathered both transcripts and the translated speech on the way.
"""
import logging
import time
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, List, Optional

from .._connection.delivery import clone_error
from ..errors import ProtocolError, RealtimeError, RealtimeTimeoutError, ServerError
from ..protocol import ConversationUpdate, ErrorUpdate
from ..protocol.audio_formats import PCM16_RATE
from ..protocol.translation import (TRANSLATION_MODEL, InputTranscriptDeltaUpdate, OutputTranscriptDeltaUpdate,
                                    TranslatedAudioDeltaUpdate)
from .stream import source_job

if TYPE_CHECKING:
    from ..client import RealtimeClient

__all__ = ["TranslationResult", "TranslationCollector", "translate_file"]

log = logging.getLogger("realtime_sync.translation")


@dataclass
class TranslationResult:
    """What :func:`translate_file` returns: ``source_text`` (the input transcript, "" when transcription was
    off), ``text`` (the translation), ``audio`` (the translated speech: PCM16 at ``sample_rate`` with
    ``channels`` interleaved channels)."""

    source_text: str
    text: str
    audio: bytes = field(repr=False)
    sample_rate: int = PCM16_RATE
    channels: int = 1
    target_language: Optional[str] = None
    session_id: Optional[str] = None

    @property
    def duration_ms(self) -> float:
        return len(self.audio) * 1000.0 / (2 * self.sample_rate * self.channels)

    def write_wav(self, path: Any) -> None:
        """Write the translated speech to a WAV file (a path or a binary file object)."""
        with wave.open(path, "wb") as out:
            out.setnchannels(self.channels)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.audio)


class TranslationCollector:
    """An observer gathering a translation session's output: transcripts (fragments joined exactly as sent),
    the translated audio, and the first error or format problem met."""

    inline_safe = True  #: bookkeeping only (see observers.runs_inline)

    def __init__(self) -> None:
        self._input: List[str] = []
        self._output: List[str] = []
        self._audio = bytearray()
        self.sample_rate: Optional[int] = None
        self.channels: Optional[int] = None
        self.error_update: Optional[ErrorUpdate] = None  #: the first ``error`` event
        self.format_error: Optional[RealtimeError] = None  #: audio that could not be kept (format, base64)

    @property
    def source_text(self) -> str:
        return "".join(self._input)

    @property
    def text(self) -> str:
        return "".join(self._output)

    @property
    def audio(self) -> bytes:
        return bytes(self._audio)

    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, OutputTranscriptDeltaUpdate):
            self._output.append(update.text)
        elif isinstance(update, InputTranscriptDeltaUpdate):
            self._input.append(update.text)
        elif isinstance(update, TranslatedAudioDeltaUpdate):
            self._add_audio(update)
        elif isinstance(update, ErrorUpdate) and self.error_update is None:
            self.error_update = update

    def _add_audio(self, update: TranslatedAudioDeltaUpdate) -> None:
        try:
            update.check_format()
            audio = update.audio
        except RealtimeError as exc:
            self.format_error = self.format_error or exc
            return
        if self.sample_rate is None:
            self.sample_rate, self.channels = update.rate, update.channel_count
        elif (update.rate, update.channel_count) != (self.sample_rate, self.channels):
            self.format_error = self.format_error or ProtocolError(
                f"translated audio changed format mid-session ({self.sample_rate} Hz x{self.channels} -> "
                f"{update.rate} Hz x{update.channel_count})")
            return
        self._audio += audio

    def check(self, scrub: Any = None) -> None:
        """Raise what went wrong: the first ``error`` event as ServerError, or a format problem."""
        if self.error_update is not None:
            raise ServerError.from_update(self.error_update, scrub)
        if self.format_error is not None:
            raise self.format_error

    def result(self, target_language: Optional[str] = None, session_id: Optional[str] = None) -> TranslationResult:
        return TranslationResult(source_text=self.source_text, text=self.text, audio=self.audio,
                                 sample_rate=self.sample_rate or PCM16_RATE, channels=self.channels or 1,
                                 target_language=target_language, session_id=session_id)


def translate_file(client: "RealtimeClient", source: Any, target_language: str, *, transcribe_input: Any = True,
                   noise_reduction: Any = None, model: str = TRANSLATION_MODEL, timeout: float = 120.0,
                   realtime: bool = False, sample_rate: int = PCM16_RATE, channels: int = 1) -> TranslationResult:
    """Translate ``source`` (a WAV or raw PCM16 file, bytes, a file object: what ``send_audio`` takes) into
    ``target_language``; ``timeout`` bounds the whole call. The source transcript comes with it unless
    ``transcribe_input=False``. Raises AudioFormatError before connecting for audio it cannot convert,
    ServerError for an ``error`` event, RealtimeTimeoutError when the translation did not finish in time (the
    result would be incomplete), or the connection's error."""
    deadline = time.monotonic() + timeout
    job = source_job(source, sample_rate=sample_rate, channels=channels, realtime=realtime)
    try:
        session = client.start_translation(target_language, transcribe_input=transcribe_input or None,
                                           noise_reduction=noise_reduction, model=model,
                                           timeout=min(client.connect_timeout, timeout), queue_updates=False)
    except BaseException:
        job.cancel()
        job.finish()
        raise
    collector = TranslationCollector()
    session.add_observer(collector)
    try:
        handle = session._add_source(job)
        drained = session.close(max(0.0, deadline - time.monotonic()))
    finally:
        session.close(0.0)
    if handle.error is not None:
        raise clone_error(handle.error)
    if session.error is not None:
        raise clone_error(session.error)
    collector.check()
    if not drained:
        raise RealtimeTimeoutError(f"the translation did not finish within {timeout} s (no session.closed): the "
                                   "result would be incomplete")
    info = session.session_info
    log.info("translated %d bytes of audio into %s", handle.bytes_sent, info.target_language if info else "?")
    return collector.result(info.target_language if info else target_language, session.id)
