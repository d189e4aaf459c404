"""Simulated live translation sessions: ``/v1/realtime/translations?model=gpt-realtime-translate`` (ADDENDUM-2026-12
A3), one :class:`TranslationConnection` per WebSocket.

What a session does:

* ``session.created`` first (``type: "translation"``, a ``sess_`` id, ``expires_at``; the configuration of the
  client secret used, if any), ``session.updated`` after each accepted ``session.update`` (see
  :mod:`~realtime_sync.testing.translation_session` for what can change and how updates are refused).
* ``session.input_audio_buffer.append`` takes base64 24 kHz PCM16 mono. Bad base64, or a stream that starts with
  the header of an audio file (WAV, Ogg, FLAC, MP3 with ID3) instead of raw samples, get an ``error``
  (``invalid_value``, ``param: "audio"``); the session goes on.
  The audio goes through the engine (:mod:`~realtime_sync.testing.translation_engine`: 200 ms frames, the words
  synthetic speech carries, phrases).
* Each word heard becomes a ``session.input_transcript.delta`` while ``audio.input.transcription`` is set (never
  otherwise), sent at once (at ``pace=0``: in turn with the translations, so the order of all events is the same
  on every run). Each phrase goes to the server's translator (:mod:`~realtime_sync.testing.translator`, default
  ``"[es] good morning everyone"``) in the language set when the phrase ended; the translation streams as
  ``session.output_transcript.delta`` and ``session.output_audio.delta`` (speech-like audio from
  :func:`~realtime_sync.testing.synthesize`, 24 kHz mono PCM16, in 200 ms deltas, each preceded by the transcript
  fragments spoken in it). Phrases are translated one after the other, in order.
* ``elapsed_ms``: input transcript deltas carry the end of the frame the word was heard in; output deltas follow an
  output timeline in 200 ms steps that starts no earlier than the end of the frame that ended the phrase.
* Pacing: at ``pace`` > 0 a translation starts :data:`OUTPUT_LAG_S` x pace after its phrase ended and its audio
  streams at real-time rate (x pace); at ``pace=0`` everything is sent at once.
* ``session.close``: the engine takes the held partial frame and what is under way, the remaining translations are
  sent, then ``session.closed``, then the server closes the WebSocket normally (1000). Client events after
  ``session.close`` are ignored.
* Faults (:attr:`FakeRealtimeServer.faults`) act on translation sessions as on realtime ones.
"""
import base64
import binascii
import functools
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Deque, Dict, Generator, List, Optional, Tuple

from ._util import new_id, tokenize
from .checks import EventError
from .connection import SimConnection
from .handlers import decode_event, raise_error
from .synth import synthesize
from .translation_engine import FRAME_BYTES, FRAME_MS, Found, Heard, TranslationEngine
from .translation_session import TranslationSessionState, check_translation_event
from .validate import translation_event_errors
from .worker import Call, CallFailed, Pause, Stream, Worker

__all__ = ["TRANSLATION_CLIENT_EVENTS", "OUTPUT_LAG_S", "TranslationConnection"]

logger = logging.getLogger("realtime_sync.testing.translation")
Json = Dict[str, Any]

TRANSLATION_CLIENT_EVENTS = ("session.update", "session.input_audio_buffer.append", "session.close")
#: seconds (times the server's pace) between the end of a phrase and the start of its translation
OUTPUT_LAG_S = 0.3
_FILE_HEADERS = ((b"RIFF", "WAV"), (b"OggS", "Ogg"), (b"fLaC", "FLAC"), (b"ID3", "MP3"))
_SERVER_ERROR = "The server had an error while processing your request."


@dataclass(frozen=True)
class _Job:
    text: str  #: the phrase ("" for the close marker)
    language: str
    elapsed_ms: int
    close: bool = False
    heard: Optional[Json] = None  #: an input transcript delta to send in turn (pace 0)


class TranslationConnection(SimConnection):
    """A simulated translation session. Inspect ``received``, ``sent_types``, ``session_wire``, ``translations``
    (``(source text, language, translation)`` per phrase) and ``engine`` (frames processed) in tests."""

    def __init__(self, server: Any, ws: Any, route: Any) -> None:
        super().__init__(server, ws, route)
        self.translation: Optional[TranslationSessionState] = None  # set in run()
        self.engine = TranslationEngine()
        #: ``session.close`` arrived: the rest is being sent, then ``session.closed``
        self.close_requested = False
        self.translations: List[Tuple[str, str, str]] = []
        self._jobs: Deque[_Job] = deque()
        self._streaming = False
        self._out_elapsed = 0
        self._said = False

    @property
    def session_wire(self) -> Json:
        with self.lock:
            return self.translation.to_wire() if self.translation is not None else {}

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            lifetime = self._begin()
            if lifetime is None:
                return
            state = TranslationSessionState(self.route.model, new_id("sess"), lifetime or 3600.0,
                                            self.route.session_init)
            self.translation = state
            self.worker = Worker(self.lock, self.emit_many, name=f"rt-sim-translation-{state.id[-6:]}")
            with self.lock:
                for rule in self.server.faults.rules_for_new_connection():
                    self.watch_fault(rule)
                self.emit(self.ev("session.created", session=state.to_wire()))
            self._serve()
        finally:
            if self.worker is not None:
                self.worker.stop()
            self.closed.set()

    def _event_errors(self, scope: Any, event: Json) -> List[str]:
        return scope.check_translation(event) if scope is not None else translation_event_errors(event)

    # -- client events ----------------------------------------------------------------------------------------------
    def _handle(self, message: Any) -> None:
        with self.lock:
            if self.close_requested:
                logger.debug("client event after session.close ignored")
                return
            event = decode_event(self, message)
            if event is None:
                return
            self.received.append(event)
            self.server._record_received(event)
            event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            etype = event.get("type")
            try:
                if etype is None:
                    raise EventError("invalid_event", "The 'type' field is missing.")
                if etype not in TRANSLATION_CLIENT_EVENTS:
                    listed = ", ".join(f"'{t}'" for t in TRANSLATION_CLIENT_EVENTS)
                    raise EventError("invalid_value", f"Invalid value: '{etype}'. Supported values are: {listed}.",
                                     "type")
                err = check_translation_event(event, self.server._translation_languages)
                if err is not None:
                    raise err
                if etype == "session.update":
                    self._update(event)
                elif etype == "session.close":
                    self._close_gracefully()
                else:
                    self._append(event["audio"])
            except EventError as err:
                raise_error(self, err, event_id)

    def _update(self, event: Json) -> None:
        assert self.translation is not None
        self.translation.apply_update(event["session"])
        self.emit(self.ev("session.updated", session=self.translation.to_wire()))

    def _append(self, b64: str) -> None:
        try:
            audio = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise EventError("invalid_value", "Invalid 'audio': expected base64-encoded 24 kHz PCM16 mono audio.",
                             "audio") from None
        for magic, name in _FILE_HEADERS:
            if audio.startswith(magic) and self.engine.frames == 0 and self.engine.held_bytes == 0:
                raise EventError("invalid_value", f"Invalid 'audio': this looks like a {name} file. Send raw 24 kHz "
                                 "PCM16 mono little-endian samples.", "audio")
        self._deliver(self.engine.append(audio))

    def _close_gracefully(self) -> None:
        self.close_requested = True
        self._deliver(self.engine.finish())
        self._queue(_Job("", "", self.engine.elapsed_ms, close=True))

    def _deliver(self, found: List[Found]) -> None:
        state = self.translation
        assert state is not None
        for item in found:
            if isinstance(item, Heard):
                if not state.transcribing:
                    continue
                event = self.ev("session.input_transcript.delta", delta=item.text, elapsed_ms=item.elapsed_ms)
                if self.config.pace:
                    self.emit(event)  # at once, whatever translation is being spoken
                else:  # in turn: at pace 0 the order of all events is reproducible
                    self._queue(_Job("", "", item.elapsed_ms, heard=event))
            else:
                self._queue(_Job(item.text, state.language, item.elapsed_ms))

    # -- output -----------------------------------------------------------------------------------------------------
    def _queue(self, job: _Job) -> None:
        self._jobs.append(job)
        if not self._streaming and self.worker is not None:
            self._streaming = True
            self.worker.add(Stream(self._output(), "translation"))

    def _output(self) -> Generator[Any, Any, None]:
        """The output stream (one at a time, lock held): each queued phrase translated and streamed, in order."""
        pace = self.config.pace
        try:
            while self._jobs:
                job = self._jobs.popleft()
                if job.close:
                    yield [self.ev("session.closed")]
                    self._close_async(1000, "")
                    return
                if job.heard is not None:
                    yield [job.heard]
                    continue
                result = yield Call(functools.partial(self._translate, job))
                if isinstance(result, CallFailed):
                    logger.error("translator failed: %s", type(result.error).__name__)
                    yield [self.ev("error", error={"type": "server_error", "code": None, "message": _SERVER_ERROR,
                                                   "param": None, "event_id": None})]
                    continue
                text, audio = result
                self.translations.append((job.text, job.language, text))
                if not text.strip():
                    continue
                if pace:
                    yield Pause(OUTPUT_LAG_S * pace)
                for events, seconds in self._stream_events(job, text, audio):
                    yield events
                    if pace:
                        yield Pause(seconds * pace)
        finally:
            self._streaming = False

    def _translate(self, job: _Job) -> Tuple[str, bytes]:
        """Runs outside the lock: the translator, then the translation's speech."""
        text = str(self.server.translator(job.text, job.language))
        return text, synthesize(text) if text.strip() else b""

    def _stream_events(self, job: _Job, text: str, audio: bytes) -> List[Tuple[List[Json], float]]:
        """The deltas of one translation, per 200 ms of its audio: the transcript fragments spoken in it, then the
        audio; with the audio's duration (s)."""
        spaced = " " + text if self._said and not text[:1].isspace() else text
        self._said = True
        count = max(1, math.ceil(len(audio) / FRAME_BYTES))
        fragments: List[List[str]] = [[] for _ in range(count)]
        said = 0
        for token in tokenize(spaced):
            said += len(token)
            fragments[min(count - 1, max(0, math.ceil(said * count / len(spaced)) - 1))].append(token)
        start = max(job.elapsed_ms, self._out_elapsed + FRAME_MS if self._out_elapsed else 0)
        out: List[Tuple[List[Json], float]] = []
        for i in range(count):
            elapsed = start + FRAME_MS * i
            chunk = audio[i * FRAME_BYTES:(i + 1) * FRAME_BYTES]
            events = [self.ev("session.output_transcript.delta", delta=f, elapsed_ms=elapsed) for f in fragments[i]]
            events.append(self.ev("session.output_audio.delta", delta=base64.b64encode(chunk).decode("ascii"),
                                  format="pcm16", sample_rate=24000, channels=1, elapsed_ms=elapsed))
            out.append((events, len(chunk) / 48000.0))
            self._out_elapsed = elapsed
        return out
