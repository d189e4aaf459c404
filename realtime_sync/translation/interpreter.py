"""An interpreter kiosk: microphone -> translation session -> speaker, with the transcripts as text.

::

    with client.start_translation("es", transcribe_input=True) as session:
        with Interpreter(session, input_device="USB", output_device="USB", on_text=print) as interpreter:
            interpreter.run(duration=None)    # until Ctrl-C / stop() / the session ends

:class:`Interpreter` wires the :class:`~realtime_sync.audio.Microphone` into ``session.send_audio`` (a live source:
the session's stream carries it, and silence whenever it stalls), the translated speech into the
:class:`~realtime_sync.audio.Speaker` (converted to the speaker's 24 kHz mono when an event says another rate or
channel count), and hands each transcript fragment to ``on_text(kind, fragment)`` (``kind``: ``"source"`` or
``"translation"``); :class:`SentenceBuffer` turns fragments into whole sentences for a status line. An
:class:`~realtime_sync.audio.EchoGuard` gates the microphone (``half_duplex``, the default: silence is sent while
the translation plays and for ``tail_ms`` after, so open speakers do not feed the translation back in;
``full_duplex`` for headphones). Devices it opened are closed by :meth:`Interpreter.stop`; every wait is bounded.
"""
import logging
import re
import time
from typing import Any, Callable, List, Optional, Tuple

from ..kiosk import KioskDevices
from ..protocol import ConversationUpdate
from ..protocol.audio_formats import PCM16, PCM16_RATE
from ..protocol.translation import (InputTranscriptDeltaUpdate, OutputTranscriptDeltaUpdate,
                                    TranslatedAudioDeltaUpdate)

__all__ = ["Interpreter", "SentenceBuffer"]

log = logging.getLogger("realtime_sync.translation")

#: the end of a sentence: . ! ? ... before a space or the end (not a decimal point), or a CJK full stop, ! or ?
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u00bb)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d)\]]*")


class SentenceBuffer:
    """Append-only transcript fragments in, whole sentences out (pure): :meth:`add` returns the sentences a
    fragment completed, :meth:`flush` the unfinished rest."""

    def __init__(self) -> None:
        self._text = ""

    def add(self, fragment: str) -> List[str]:
        self._text += fragment
        out: List[str] = []
        while True:
            match = _SENTENCE_END.search(self._text)
            if match is None:
                return out
            sentence, self._text = self._text[:match.end()].strip(), self._text[match.end():]
            if sentence:
                out.append(sentence)

    def flush(self) -> Optional[str]:
        rest, self._text = self._text.strip(), ""
        return rest or None


class Interpreter(KioskDevices):
    """Microphone + speaker + translation session (see the module docstring).

    :param session: a started :class:`~realtime_sync.translation.TranslationSession`.
    :param microphone: a :class:`~realtime_sync.audio.Microphone` (or any iterable of 24 kHz PCM16 chunks with
        ``close``); None opens ``input_device``.
    :param speaker: a :class:`~realtime_sync.audio.Speaker` or another sink taking 24 kHz PCM16; None opens
        ``output_device``.
    :param echo_policy: "half_duplex" (default: the microphone sends silence while the translation is audible),
        "full_duplex" (headphones, OS echo cancellation).
    :param on_text: ``fn(kind, fragment)`` for each transcript fragment (on the session's reader thread: keep it
        short), ``kind`` "source" or "translation".
    :param chunk_ms: size of the microphone's chunks (the session joins them into 200 ms frames).
    :param preroll_ms: the speaker it opens buffers this much before playing (the translation arrives at the pace
        of speech, in pieces of about 200 ms: a smaller cushion makes it stutter when a piece is a little late).
    :param close_given: :meth:`stop` also closes the microphone and speaker passed in.
    """

    def __init__(self, session: Any, microphone: Any = None, speaker: Any = None, *, input_device: Any = None,
                 output_device: Any = None, echo_policy: str = "half_duplex", tail_ms: float = 300.0,
                 on_text: Optional[Callable[[str, str], None]] = None, chunk_ms: int = 20, preroll_ms: int = 400,
                 quiet: Optional[bool] = None, close_given: bool = False, stop_timeout: float = 3.0) -> None:
        super().__init__(session, microphone, speaker, input_device=input_device, output_device=output_device,
                         echo_policy=echo_policy, tail_ms=tail_ms, chunk_ms=chunk_ms, quiet=quiet,
                         close_given=close_given, stop_timeout=stop_timeout)
        self.on_text = on_text
        self.preroll_ms = preroll_ms
        self.played_ms = 0.0  #: translated speech handed to the speaker
        self._handle: Any = None
        self._started = False
        self._converter: Optional[Tuple[Tuple[int, int], Any]] = None

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> "Interpreter":
        """Open the devices not given, play the translation, stream the microphone. Returns self."""
        if self._started:
            return self
        try:
            self._open_devices(PCM16, PCM16, preroll_ms=self.preroll_ms)
            self.session.add_observer(self)
            self._handle = self.session.send_audio(self.mic)
        except BaseException:
            self.stop()
            raise
        self._started = True
        log.info("interpreter started (echo %s)", self.echo_policy)
        return self

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop the microphone, stop playing, close the devices the interpreter opened (idempotent, bounded)."""
        deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
        self._stop.set()
        self.session.remove_observer(self)
        if self._handle is not None:
            self._handle.cancel()
        self._close_mic(deadline)
        self._close_speaker(deadline)
        self._started = False

    # -- the session's updates (reader thread) --------------------------------------------------------------------
    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, TranslatedAudioDeltaUpdate):
            self._play(update)
        elif isinstance(update, OutputTranscriptDeltaUpdate):
            self._text("translation", update.text)
        elif isinstance(update, InputTranscriptDeltaUpdate):
            self._text("source", update.text)

    def _text(self, kind: str, fragment: str) -> None:
        if self.on_text is not None and fragment:
            try:
                self.on_text(kind, fragment)
            except Exception:  # a printing callback must not stop the interpreter
                log.exception("on_text callback raised (ignored)")

    def _play(self, update: TranslatedAudioDeltaUpdate) -> None:
        speaker = self.speaker
        if speaker is None or self._stop.is_set():
            return
        try:
            update.check_format()
            pcm = update.audio
        except Exception as exc:
            log.warning("translated audio dropped: %s", type(exc).__name__)
            return
        fmt = (update.rate, update.channel_count)
        if fmt != (PCM16_RATE, 1):
            pcm = self._convert(fmt, pcm)
        if pcm:
            speaker.write(pcm)
            self.played_ms += len(pcm) / (2 * PCM16_RATE / 1000.0)

    def _convert(self, fmt: Tuple[int, int], pcm: bytes) -> bytes:
        """Audio of another rate or channel count -> 24 kHz mono (one stateful resampler per format)."""
        if self._converter is None or self._converter[0] != fmt:
            from ..audio.resample import StreamResampler

            self._converter = (fmt, StreamResampler(fmt[0], PCM16_RATE, fmt[1]))
            log.info("translated audio at %d Hz x%d: converted to %d Hz mono", fmt[0], fmt[1], PCM16_RATE)
        return self._converter[1].process(pcm)

    def __repr__(self) -> str:
        return f"<Interpreter echo={self.echo_policy} played={self.played_ms:.0f} ms>"
