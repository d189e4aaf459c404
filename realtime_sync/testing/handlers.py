"""What the service does with each client event: replies, errors, VAD turns and responses.

Every handler runs on the connection's reader thread with :attr:`SimConnection.lock` held. A handler raises
:class:`~realtime_sync.testing.checks.EventError` to answer with an ``error`` event carrying the client event's
``event_id``; the connection stays open (PROTOCOL.md section 12). Transcription sessions accept only the events of
:func:`~realtime_sync.testing.transcription.transcription_client_events` and never respond.
"""
import copy
import json
import logging
from typing import Any, Callable, Dict, Optional, Union

from ..errors import ProtocolError
from ..protocol import ContentPart, ConversationItem, Dialect, parse_command
from ._util import bytes_per_ms, new_id
from .checks import EventError, check_client_event, client_event_types
from .conversation import StoredItem, item_wire
from .response_run import ResponseRun, ResponseSpec
from .session_state import SessionState
from .transcription import (deliver, session_event, stream_partial, transcribe_item, transcription_client_events,
                            transcription_refusal)
from .vad import InputAudioBuffer, VadEvent
from .worker import Stream

__all__ = ["handle_message", "start_response", "feed_input_audio"]

logger = logging.getLogger("realtime_sync.testing.handlers")
Json = Dict[str, Any]


def decode_event(conn: Any, message: Union[str, bytes]) -> Optional[Json]:
    """The JSON object a client message holds; None (after answering with an ``error``) for a binary frame, bad
    JSON or a non-object. Lock held."""
    if isinstance(message, (bytes, bytearray)):
        raise_error(conn, EventError("invalid_event", "Expected a text WebSocket message; binary frames are not "
                                     "supported."), None)
        return None
    try:
        event = json.loads(message)
    except ValueError:
        raise_error(conn, EventError("invalid_json", "We could not parse the JSON body of your message. "
                                     "Expected a JSON object."), None)
        return None
    if not isinstance(event, dict):
        raise_error(conn, EventError("invalid_json", "Expected a JSON object as the event."), None)
        return None
    return event


def handle_message(conn: Any, message: Union[str, bytes]) -> None:
    with conn.lock:
        event = decode_event(conn, message)
        if event is None:
            return
        conn.received.append(event)
        conn.server._record_received(event)
        if conn.call is not None:
            conn.call.client_event(conn)
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        etype = event.get("type")
        if etype is None:
            raise_error(conn, EventError("invalid_event", "The 'type' field is missing."), event_id)
            return
        accepted = client_event_types(conn.dialect)
        if etype not in accepted:
            listed = ", ".join(f"'{t}'" for t in accepted)
            raise_error(conn, EventError("invalid_value", f"Invalid value: '{etype}'. Supported values are: "
                                         f"{listed}.", "type"), event_id)
            return
        if conn.session.is_transcription and etype not in transcription_client_events(conn.dialect):
            raise_error(conn, transcription_refusal(etype, conn.dialect), event_id)
            return
        try:
            if etype != "input_audio_buffer.append":
                err = check_client_event(event, conn.dialect)
                if err is not None:
                    raise err
            try:
                command = parse_command(event, conn.dialect)
            except ProtocolError as exc:
                raise EventError("invalid_value", str(exc)) from None
            _HANDLERS[etype](conn, event, command)
        except EventError as err:
            raise_error(conn, err, event_id)


def raise_error(conn: Any, err: EventError, event_id: Optional[str]) -> None:
    logger.debug("answering a client event with error %s", err.code)
    conn.emit_error(err, event_id)


# -- session -------------------------------------------------------------------------------------------------------
def _session_update(conn: Any, event: Json, command: Any) -> None:
    update = event["session"]
    _apply_session(conn, update, conn.dialect is Dialect.GA and update.get("type") == "transcription")


def _transcription_session_update(conn: Any, event: Json, command: Any) -> None:
    _apply_session(conn, event["session"], True)


def _apply_session(conn: Any, update: Json, transcription: bool) -> None:
    """Apply a session update; ``transcription``: the update configures a transcription session (a realtime
    session becomes one, keeping its conversation, when no response is running)."""
    session: SessionState = conn.session
    err = session.check_update(update)
    if err is not None:
        raise err
    if transcription and not session.is_transcription:
        if conn.active_response is not None:
            raise EventError("invalid_value", "Cannot change the session type while a response is in progress.",
                             "session.type" if conn.dialect is Dialect.GA else "type")
        logger.debug("realtime session becomes a transcription session")
        session.become_transcription()
    old_format = session.input_format
    session.apply_update(update)
    if session.input_format != old_format:
        conn.audio = InputAudioBuffer.rebased(conn.audio, session.input_format)
    if session.turn_detection is None:
        conn.audio.reset_vad()
    conn.emit(session_event(conn, "updated"))


def _output_audio_clear(conn: Any, event: Json, command: Any) -> None:
    if conn.call is None:
        logger.debug("output_audio_buffer.clear ignored: WebRTC/SIP only")
        return
    cleared, _ = conn.call.clear_playback(conn, truncate=False)  # the app truncates, if it wants to
    conn.emit_many(cleared)


# -- input audio ---------------------------------------------------------------------------------------------------
def _append(conn: Any, event: Json, command: Any) -> None:
    feed_input_audio(conn, command.audio)


def feed_input_audio(conn: Any, audio: bytes) -> None:
    """Input audio (wire bytes of the session's input format) into the buffer and the server VAD, as
    ``input_audio_buffer.append`` does; also how a SIP caller's voice reaches the call's session. Lock held."""
    vad = conn.session.turn_detection
    for found in conn.audio.append(audio, vad):
        _vad_event(conn, found, vad or {})
    if conn.speech_item_id is not None and vad is not None:
        stream_partial(conn)


def _end_speech(conn: Any) -> str:
    """Forget the speech server VAD heard; returns what was streamed of its transcription."""
    streamed = conn.speech_text if conn.speech_item_id is not None else ""
    conn.speech_item_id = None
    conn.speech_text = ""
    return streamed


def _vad_event(conn: Any, found: VadEvent, vad: Json) -> None:
    if found.kind == "started":
        conn.speech_item_id = new_id("item")
        conn.speech_start_ms = found.ms
        conn.speech_heard_ms = float(found.ms)
        conn.speech_text = ""
        conn.emit(conn.ev("input_audio_buffer.speech_started", audio_start_ms=found.ms,
                          item_id=conn.speech_item_id))
        run = conn.active_response
        interrupt = vad.get("interrupt_response", True)
        truncated: list = []
        if conn.call is not None and interrupt:  # the caller barges in: the audio playing to them stops
            cleared, truncated = conn.call.clear_playback(conn, truncate=True)
            conn.emit_many(cleared)
        if run is not None and interrupt:
            conn.emit_many(run.cancel("turn_detected"))
            conn.worker.wake()
        conn.emit_many(truncated)
        return
    if found.kind == "stopped":
        item_id = conn.speech_item_id or new_id("item")
        stream_partial(conn, end_ms=found.ms)
        conn.emit(conn.ev("input_audio_buffer.speech_stopped", audio_end_ms=found.ms, item_id=item_id))
        audio = conn.audio.take(conn.speech_start_ms, found.ms)
    else:  # idle timeout
        item_id = new_id("item")
        conn.emit(conn.ev("input_audio_buffer.timeout_triggered", audio_start_ms=found.start_ms,
                          audio_end_ms=found.ms, item_id=item_id))
        audio = conn.audio.take(found.start_ms, found.ms)
    streamed = _end_speech(conn)
    respond = bool(vad.get("create_response", True)) and not conn.session.is_transcription
    _commit_audio(conn, audio, item_id, respond=respond, streamed=streamed)


def _commit(conn: Any, event: Json, command: Any) -> None:
    ms = conn.audio.duration_ms
    if ms < 100:
        raise EventError("input_audio_buffer_commit_empty", "Error committing input audio buffer: buffer too small. "
                         f"Expected at least 100ms of audio, but buffer only has {ms:.2f}ms of audio.")
    item_id = conn.speech_item_id or new_id("item")
    streamed = _end_speech(conn)
    conn.audio.reset_vad()
    _commit_audio(conn, conn.audio.take(), item_id, respond=False, streamed=streamed)


def _clear(conn: Any, event: Json, command: Any) -> None:
    conn.audio.clear()
    _end_speech(conn)
    conn.emit(conn.ev("input_audio_buffer.cleared"))


def _commit_audio(conn: Any, audio: bytes, item_id: str, respond: bool, streamed: str = "") -> None:
    """Commit ``audio`` as a user item; its transcription's remaining deltas follow the ``response.created`` the
    commit causes (GA traces: between ``response.created`` and the answer's first content part)."""
    fmt = conn.audio.fmt
    item = ConversationItem(id=item_id, type="message", role="user", status="completed",
                            content=[ContentPart(type="input_audio")])
    stored = StoredItem(item, audio_format=fmt)
    stored.add_audio(audio, len(audio) / bytes_per_ms(fmt))
    prev = conn.conversation.add(stored)
    conn.emit(conn.ev("input_audio_buffer.committed", previous_item_id=prev, item_id=item_id))
    _announce_item(conn, stored, prev)
    transcript = transcribe_item(conn, stored, streamed)
    if respond:
        if conn.active_response is None:
            start_response(conn, response_spec(conn, {}, None))
        else:
            logger.debug("VAD turn committed while a response is active: no new response")
    if transcript is not None:
        deliver(conn, transcript)


def _announce_item(conn: Any, stored: StoredItem, prev: Optional[str]) -> None:
    wire = item_wire(stored.item, conn.dialect)
    if conn.dialect is Dialect.BETA:
        conn.emit(conn.ev("conversation.item.created", previous_item_id=prev, item=wire))
    else:
        conn.emit_many([conn.ev("conversation.item.added", previous_item_id=prev, item=wire),
                        conn.ev("conversation.item.done", previous_item_id=prev, item=copy.deepcopy(wire))])


# -- conversation --------------------------------------------------------------------------------------------------
def _item_create(conn: Any, event: Json, command: Any) -> None:
    item: ConversationItem = command.item
    if item.id is not None and item.id in conn.conversation:
        raise EventError("invalid_value", f"Item with id '{item.id}' already exists.", "item.id")
    fmt = conn.audio.fmt
    audio = b""
    for i, part in enumerate(item.content or ()):
        if item.role == "assistant" and part.type in ("output_audio", "audio"):
            raise EventError("invalid_value", "Assistant audio content cannot be added to the conversation; use "
                             "text.", f"item.content[{i}].type")
        if part.type == "input_audio" and part.audio:
            audio += part.audio_bytes
            part.audio = None
    item.id = item.id or new_id("item")
    if item.type in ("message", "function_call") and item.status is None:
        item.status = "completed"
    stored = StoredItem(item, audio_format=fmt)
    if audio:
        stored.add_audio(audio, len(audio) / bytes_per_ms(fmt))
    prev = conn.conversation.add(stored, command.previous_item_id)
    _announce_item(conn, stored, prev)
    transcript = transcribe_item(conn, stored)
    if transcript is not None:
        deliver(conn, transcript)


def _item_delete(conn: Any, event: Json, command: Any) -> None:
    conn.conversation.delete(command.item_id)
    conn.emit(conn.ev("conversation.item.deleted", item_id=command.item_id))


def _item_retrieve(conn: Any, event: Json, command: Any) -> None:
    stored = conn.conversation.retrieve(command.item_id)
    conn.emit(conn.ev("conversation.item.retrieved", item=item_wire(stored.item, conn.dialect,
                                                                    audio=bytes(stored.audio) or None)))


def _item_truncate(conn: Any, event: Json, command: Any) -> None:
    conn.conversation.truncate(command.item_id, command.content_index, command.audio_end_ms)
    conn.emit(conn.ev("conversation.item.truncated", item_id=command.item_id, content_index=command.content_index,
                      audio_end_ms=command.audio_end_ms))


# -- responses -----------------------------------------------------------------------------------------------------
def response_spec(conn: Any, wire: Json, options: Any) -> ResponseSpec:
    """The effective settings of a response: the session's, overridden by ``response.create.response``."""
    s: SessionState = conn.session
    if conn.dialect is Dialect.BETA:
        mods = wire.get("modalities")
        modalities = (["audio"] if "audio" in mods else ["text"]) if isinstance(mods, list) else s.output_modalities
        voice = wire.get("voice") or s.voice
        fmt_wire = wire.get("output_audio_format") or s.output_format_wire
        max_tokens = wire.get("max_response_output_tokens", s.max_output_tokens)
    else:
        modalities = wire.get("output_modalities") or s.output_modalities
        out = (wire.get("audio") or {}).get("output") or {}
        voice = out.get("voice") or s.voice
        fmt_wire = out.get("format") or s.output_format_wire
        max_tokens = wire.get("max_output_tokens", s.max_output_tokens)
    items = None
    if options is not None and options.input is not None:
        items = []
        for item in options.input:
            if item.type == "item_reference":
                ref = conn.conversation.get(item.id)
                if ref is None:
                    raise EventError("invalid_value", f"Item reference '{item.id}' does not exist.", "response.input")
                item = copy.deepcopy(ref.item)
            items.append(item)
    return ResponseSpec(output_modalities=list(modalities), voice=voice if isinstance(voice, str) else
                        (voice or {}).get("id", "alloy"), output_format=SessionState.format_name(fmt_wire),
                        output_format_wire=copy.deepcopy(fmt_wire), instructions=wire.get("instructions",
                                                                                          s.instructions),
                        tools=wire.get("tools", s.tools), tool_choice=wire.get("tool_choice", s.tool_choice),
                        max_output_tokens=max_tokens, conversation=wire.get("conversation") or "auto",
                        metadata=wire.get("metadata"), input_items=items,
                        temperature=float(wire.get("temperature", s.temperature)), speed=s.speed, options=options)


def start_response(conn: Any, spec: ResponseSpec) -> ResponseRun:
    run = ResponseRun(conn, spec)
    if spec.conversation != "none":
        conn.active_response = run
    conn.emit(run.created_event())
    run.stream = Stream(run.steps(), "response")
    conn.worker.add(run.stream)
    return run


def _response_create(conn: Any, event: Json, command: Any) -> None:
    wire = event.get("response") or {}
    active = conn.active_response
    if active is not None and wire.get("conversation") != "none":
        raise EventError("conversation_already_has_active_response", "Conversation already has an active response "
                         f"in progress: {active.id}. Wait until the response is finished before creating a new one.")
    start_response(conn, response_spec(conn, wire, command.response))


def _response_cancel(conn: Any, event: Json, command: Any) -> None:
    run = conn.active_response
    if run is None or run.finished or (command.response_id and command.response_id != run.id):
        raise EventError("response_cancel_not_active", "Cancellation failed: no active response found")
    conn.emit_many(run.cancel("client_cancelled"))
    conn.worker.wake()


_HANDLERS: Dict[str, Callable[[Any, Json, Any], None]] = {
    "session.update": _session_update,
    "transcription_session.update": _transcription_session_update,
    "input_audio_buffer.append": _append,
    "input_audio_buffer.commit": _commit,
    "input_audio_buffer.clear": _clear,
    "output_audio_buffer.clear": _output_audio_clear,
    "conversation.item.create": _item_create,
    "conversation.item.delete": _item_delete,
    "conversation.item.retrieve": _item_retrieve,
    "conversation.item.truncate": _item_truncate,
    "response.create": _response_create,
    "response.cancel": _response_cancel,
}
