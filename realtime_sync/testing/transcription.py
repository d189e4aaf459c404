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
from typing import Any, Dict, List, Optional, Tuple, Union

from ..protocol import Dialect, audio_format_wire
from ..protocol.audio_formats import PCM16
from ._util import new_id, obfuscation, tokenize
from .checks import EventError
from .conversation import StoredItem
from .responder import TranscriptionRequest
from .worker import Pause, Stream

__all__ = ["TRANSCRIPTION_VAD_DEFAULTS", "DEFAULT_TRANSCRIPTION", "LOGPROBS_INCLUDE", "default_transcription_wire",
           "transcription_client_events", "transcription_refusal", "session_event", "transcribe_item"]

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


# -- transcribing committed items ------------------------------------------------------------------------------------
def transcribe_item(conn: Any, stored: StoredItem) -> None:
    """Transcribe a user audio item with the server's ``transcriber`` when the session has transcription on, and
    stream ``conversation.item.input_audio_transcription.delta``s and ``.completed`` (or ``.failed``)."""
    settings = conn.session.transcription
    parts = stored.item.content or []
    if settings is None or not parts or parts[0].type != "input_audio":
        return
    model = settings.get("model") or "whisper-1"
    request = TranscriptionRequest(bytes(stored.audio), stored.audio_format, stored.audio_ms, stored.item.id or "",
                                   model, language=settings.get("language") or None,
                                   prompt=settings.get("prompt") or None)
    try:
        transcript: Optional[str] = str(conn.config.transcriber(request))
        parts[0].transcript = transcript
        failure = None
    except Exception as exc:  # reported as the service reports a failed transcription
        logger.error("transcriber failed: %s", type(exc).__name__)
        logger.debug("transcriber traceback", exc_info=exc)
        transcript, failure = None, exc
    logprobs = LOGPROBS_INCLUDE in (conn.session.wire.get("include") or ())
    conn.transcribing += 1
    stream_of: List[Any] = []
    stream = Stream(_counted(conn, _steps(conn, stored, model, transcript, failure, logprobs, stream_of)),
                    "transcription")
    stream_of.append(stream)
    conn.worker.add(stream)


def _counted(conn: Any, steps: Any) -> Any:
    """``steps``, keeping ``conn.transcribing`` (read by a response at pace 0) while they run."""
    try:
        result = None
        while True:
            try:
                step = steps.send(result)
            except StopIteration:
                return
            result = yield step
    finally:
        conn.transcribing -= 1


def _logprobs(text: str) -> List[Json]:
    return [{"token": tok, "logprob": round(-0.002 * (1 + len(tok)), 6), "bytes": list(tok.encode("utf-8"))}
            for tok in tokenize(text)]


def _usage(conn: Any, model: str, audio_ms: int, transcript: str) -> Json:
    if "whisper" in model:
        seconds = max(1, round(audio_ms / 1000))
        usage: Json = {"type": "duration", "seconds": seconds}
        if conn.dialect is Dialect.BETA:
            usage["duration"] = seconds  # the strict beta schema names it ``duration``; clients read ``seconds``
        return usage
    audio_tokens, text_tokens = max(1, audio_ms // 100), max(1, (len(transcript) + 3) // 4)
    return {"type": "tokens", "total_tokens": audio_tokens + text_tokens, "input_tokens": audio_tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens}, "output_tokens": text_tokens}


#: at most this long (times pace) a transcription's ``completed`` waits for the answer's first output item
COMPLETED_LAG_S = 3.0


def _steps(conn: Any, stored: StoredItem, model: str, transcript: Optional[str], failure: Optional[BaseException],
           logprobs: bool, stream_of: List[Any]) -> Any:
    item_id, pace = stored.item.id, conn.config.pace
    if pace:
        yield Pause(0.1 * pace)
    if transcript is None:
        yield [conn.ev("conversation.item.input_audio_transcription.failed", item_id=item_id, content_index=0,
                       error={"type": "transcription_error", "code": "transcription_failed",
                              "message": f"Input transcription failed ({type(failure).__name__})."})]
        return
    deltas = [transcript] if model == "whisper-1" else tokenize(transcript)
    batch: List[Json] = []
    for delta in deltas:
        ev = conn.ev("conversation.item.input_audio_transcription.delta", item_id=item_id, content_index=0,
                     delta=delta)
        if logprobs:
            ev["logprobs"] = _logprobs(delta)
        ev["obfuscation"] = obfuscation(delta)  # both dialects
        batch.append(ev)
        if pace:
            yield batch
            batch = []
            yield Pause(0.03 * pace)
    done = conn.ev("conversation.item.input_audio_transcription.completed", item_id=item_id, content_index=0,
                   transcript=transcript, usage=_usage(conn, model, stored.audio_ms, transcript))
    if logprobs:
        done["logprobs"] = _logprobs(transcript)
    run = conn.active_response
    if run is not None and not run.finished:
        # live, ``completed`` comes late: after the answer has started (recorded GA traces: after the response's
        # content_part.added, among its audio deltas)
        if batch:
            yield batch
            batch = []
        if pace and not run.outputs:  # until the answer's first output item opens (ResponseRun wakes it)
            waiting = conn.awaiting_answer
            waiting.append(stream_of[0])
            yield Pause(COMPLETED_LAG_S * pace)
            if stream_of[0] in waiting:
                waiting.remove(stream_of[0])
        elif not pace:  # the response opens its first output item in its own step while a transcription is pending
            for _ in range(8):
                if run.finished or run.outputs or run is not conn.active_response:
                    break
                yield []
    yield batch + [done]
