"""Transcription-only sessions, and the input-audio transcription that every session can run.

A *transcription session* is opened with ``?intent=transcription`` (GA ``session.created`` then carries a
``type: "transcription"`` session; beta sends ``transcription_session.created``), started from a client secret
minted for ``{"type": "transcription"}``, or switched to from a realtime session by a GA ``session.update`` with
``type: "transcription"`` / a beta ``transcription_session.update``. Input audio, server VAD, commits and the user
items work as in a realtime session, and every committed item is transcribed by the server's ``transcriber``; but
it never responds. Client events that make no sense without responses are refused with an ``error``
(``invalid_request_error`` / ``invalid_value``, ``param: "type"``), as the service refuses event types a session
does not accept: see :func:`transcription_refusal`.
"""
import logging
from dataclasses import dataclass
from typing import Any, Dict, Generator, List, Optional, Tuple, Union

from ..protocol import Dialect, audio_format_wire
from ..protocol.audio_formats import PCM16
from ._util import bytes_per_ms, new_id, obfuscation, tokenize
from .checks import EventError
from .conversation import StoredItem
from .responder import TranscriptionRequest
from .worker import Pause, Stream

__all__ = ["TRANSCRIPTION_VAD_DEFAULTS", "DEFAULT_TRANSCRIPTION", "LOGPROBS_INCLUDE", "default_transcription_wire",
           "transcription_client_events", "transcription_refusal", "session_event", "Transcript", "stream_partial",
           "transcribe_item", "deliver"]

logger = logging.getLogger("realtime_sync.testing.transcription")
Json = Dict[str, Any]

#: Server VAD defaults of a transcription session (the spec's transcription session example: 0.5 / 300 / 500 ms).
TRANSCRIPTION_VAD_DEFAULTS: Json = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                    "silence_duration_ms": 500}
#: The transcription a new transcription session starts with.
DEFAULT_TRANSCRIPTION: Json = {"model": "gpt-4o-transcribe"}
#: The ``include`` entry that adds ``logprobs`` to transcription deltas and ``completed`` events.
LOGPROBS_INCLUDE = "item.input_audio_transcription.logprobs"

_COMMON_EVENTS = ("input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
                  "conversation.item.retrieve", "conversation.item.delete")


def default_transcription_wire(dialect: Dialect, session_id: str, expires_at: int) -> Json:
    """The ``session`` object of a new transcription session (nulls are pruned before it is sent)."""
    vad = dict(TRANSCRIPTION_VAD_DEFAULTS)
    if dialect is Dialect.BETA:
        # The strict beta schema requires ``client_secret`` in transcription session objects (the live service
        # leaves it out of WebSocket events, PROTOCOL.md section 10): an empty one keeps the events schema-valid.
        return {"id": session_id, "object": "realtime.transcription_session", "expires_at": expires_at,
                "input_audio_format": PCM16, "input_audio_transcription": dict(DEFAULT_TRANSCRIPTION),
                "turn_detection": vad, "input_audio_noise_reduction": None, "include": None,
                "client_secret": {"value": "", "expires_at": expires_at}}
    return {"type": "transcription", "object": "realtime.transcription_session", "id": session_id,
            "expires_at": expires_at,
            "audio": {"input": {"format": audio_format_wire(PCM16, Dialect.GA),
                                "transcription": dict(DEFAULT_TRANSCRIPTION), "noise_reduction": None,
                                "turn_detection": vad}},
            "include": None}


def transcription_client_events(dialect: Union[Dialect, str]) -> Tuple[str, ...]:
    """The client event types a transcription session accepts."""
    first = "session.update" if Dialect.coerce(dialect) is Dialect.GA else "transcription_session.update"
    return (first,) + _COMMON_EVENTS


def transcription_refusal(event_type: str, dialect: Union[Dialect, str]) -> EventError:
    """The error answering a client event a transcription session does not accept (``response.create`` ...)."""
    listed = ", ".join(f"'{t}'" for t in transcription_client_events(dialect))
    return EventError("invalid_value", f"Invalid value: '{event_type}' is not supported in a transcription "
                      f"session. Supported values are: {listed}.", "type")


def session_event(conn: Any, which: str) -> Json:
    """``session.created`` / ``session.updated`` (``which``: ``created`` / ``updated``) for the connection's
    session; beta transcription sessions use ``transcription_session.created`` / ``.updated``."""
    state = conn.session
    if conn.dialect is Dialect.BETA and state.is_transcription:
        return {"type": f"transcription_session.{which}", "event_id": new_id("event"), "session": state.to_wire()}
    return conn.ev(f"session.{which}", session=state.to_wire())


# -- transcribing: while speech is heard, then the committed item ----------------------------------------------------
#: a streaming transcriber is asked what it has recognised at most this often (ms of speech audio)
PARTIAL_STEP_MS = 100.0
#: a transcription finishes once the answer it overlaps has streamed this much (ms of audio; a text or arguments
#: delta counts 20 ms): the recorded GA traces show ``completed`` among the answer's first audio deltas
COMPLETED_AFTER_MS = 750.0
#: without a response to overlap, ``completed`` follows the commit after this long (times ``pace``; at once at pace 0)
COMPLETED_LAG_S = 0.5


@dataclass
class Transcript:
    """A committed item's transcription: ``now`` goes out at once (after the ``response.created`` the commit
    caused), ``held`` when the transcription is due (see :func:`deliver`)."""

    now: List[Json]
    held: List[Json]


def _model(settings: Json) -> str:
    return settings.get("model") or "whisper-1"


def _request(conn: Any, audio: bytes, fmt: str, ms: float, item_id: str, settings: Json) -> TranscriptionRequest:
    return TranscriptionRequest(audio, fmt, int(ms), item_id, _model(settings),
                                language=settings.get("language") or None, prompt=settings.get("prompt") or None)


def _wants_logprobs(conn: Any) -> bool:
    return LOGPROBS_INCLUDE in (conn.session.wire.get("include") or ())


def _deltas(conn: Any, item_id: str, pieces: List[str]) -> List[Json]:
    logprobs = _wants_logprobs(conn)
    out = []
    for piece in pieces:
        ev = conn.ev("conversation.item.input_audio_transcription.delta", item_id=item_id, content_index=0,
                     delta=piece)
        if logprobs:
            ev["logprobs"] = _logprobs(piece)
        ev["obfuscation"] = obfuscation(piece)  # both dialects
        out.append(ev)
    return out


def stream_partial(conn: Any, end_ms: Optional[float] = None) -> None:
    """While server VAD hears speech (``conn.speech_item_id``): ask a streaming transcriber (one with a ``partial``
    method, see :class:`~realtime_sync.testing.TranscriptionRequest`) what it has recognised of the speech so far,
    every :data:`PARTIAL_STEP_MS` of audio and once more at ``end_ms`` (where speech stopped), and send what it adds
    as deltas of the speech's item: live, a streaming model's deltas arrive before ``speech_stopped`` (GA trace
    three-server-vad-turns). ``whisper-1`` transcribes only committed audio."""
    partial = getattr(conn.config.transcriber, "partial", None)
    settings = conn.session.transcription
    item_id = conn.speech_item_id
    if partial is None or settings is None or item_id is None or _model(settings) == "whisper-1":
        return
    now = conn.audio.stream_ms if end_ms is None else end_ms
    if end_ms is None and now - conn.speech_heard_ms < PARTIAL_STEP_MS:
        return
    conn.speech_heard_ms = now
    audio = conn.audio.peek(conn.speech_start_ms, now)
    request = _request(conn, audio, conn.audio.fmt, len(audio) / bytes_per_ms(conn.audio.fmt), item_id, settings)
    try:
        text = str(partial(request))
    except Exception as exc:  # the final transcription reports failures; a partial one only stops streaming
        logger.error("transcriber.partial failed: %s", type(exc).__name__)
        logger.debug("transcriber.partial traceback", exc_info=exc)
        return
    heard = conn.speech_text
    if len(text) > len(heard) and text.startswith(heard):
        conn.speech_text = text
        conn.emit_many(_deltas(conn, item_id, tokenize(text[len(heard):])))


def transcribe_item(conn: Any, stored: StoredItem, streamed: str = "") -> Optional[Transcript]:
    """Transcribe a user audio item with the server's ``transcriber`` when the session has transcription on.
    ``streamed``: what :func:`stream_partial` already sent for it; the deltas go on from there when the transcript
    starts with it. ``whisper-1`` sends its transcript as one delta, just before ``completed``."""
    settings = conn.session.transcription
    parts = stored.item.content or []
    if settings is None or not parts or parts[0].type != "input_audio":
        return None
    item_id = stored.item.id or ""
    model = _model(settings)
    try:
        transcript = str(conn.config.transcriber(_request(conn, bytes(stored.audio), stored.audio_format,
                                                          stored.audio_ms, item_id, settings)))
    except Exception as exc:  # reported as the service reports a failed transcription
        logger.error("transcriber failed: %s", type(exc).__name__)
        logger.debug("transcriber traceback", exc_info=exc)
        return Transcript([], [conn.ev("conversation.item.input_audio_transcription.failed", item_id=item_id,
                                       content_index=0, error={
                                           "type": "transcription_error", "code": "transcription_failed",
                                           "message": f"Input transcription failed ({type(exc).__name__})."})])
    parts[0].transcript = transcript
    done = conn.ev("conversation.item.input_audio_transcription.completed", item_id=item_id, content_index=0,
                   transcript=transcript, usage=_usage(conn, model, stored.audio_ms, transcript))
    if _wants_logprobs(conn):
        done["logprobs"] = _logprobs(transcript)
    if model == "whisper-1":
        return Transcript([], _deltas(conn, item_id, [transcript] if transcript else []) + [done])
    rest = transcript[len(streamed):] if transcript.startswith(streamed) else ""
    return Transcript(_deltas(conn, item_id, tokenize(rest)), [done])


def deliver(conn: Any, transcript: Transcript) -> None:
    """Send a transcription's ``now`` deltas, and its ``held`` events when it finishes: while a response streams,
    that response sends them once it has streamed :data:`COMPLETED_AFTER_MS` more (or when it ends: before its
    ``response.done``, after it when cancelled), as the recorded traces show ``completed`` late, among the answer's
    deltas; otherwise at once at pace 0, else :data:`COMPLETED_LAG_S` later (times ``pace``)."""
    conn.emit_many(transcript.now)
    run = conn.active_response
    pace = conn.config.pace
    if run is not None and not run.finished:
        run.hold(transcript.held, COMPLETED_AFTER_MS)
    elif not pace:
        conn.emit_many(transcript.held)
    else:
        conn.worker.add(Stream(_later(transcript.held, COMPLETED_LAG_S * pace), "transcription"))


def _later(events: List[Json], seconds: float) -> Generator[Any, Any, None]:
    yield Pause(seconds)
    yield events


def _logprobs(text: str) -> List[Json]:
    return [{"token": tok, "logprob": round(-0.002 * (1 + len(tok)), 6), "bytes": list(tok.encode("utf-8"))}
            for tok in tokenize(text)]


def _usage(conn: Any, model: str, audio_ms: float, transcript: str) -> Json:
    if "whisper" in model:
        seconds = max(1, round(audio_ms / 1000))
        usage: Json = {"type": "duration", "seconds": seconds}
        if conn.dialect is Dialect.BETA:
            usage["duration"] = seconds  # the strict beta schema names it ``duration``; clients read ``seconds``
        return usage
    audio_tokens, text_tokens = max(1, int(audio_ms) // 100), max(1, (len(transcript) + 3) // 4)
    return {"type": "tokens", "total_tokens": audio_tokens + text_tokens, "input_tokens": audio_tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens}, "output_tokens": text_tokens}
