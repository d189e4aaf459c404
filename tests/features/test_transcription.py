"""Transcription-only sessions: options on the wire, configuration, per-item transcripts, transcribe_file."""
import json

import jsonschema
import pytest

from realtime_sync import TurnDetection
from realtime_sync.endpoints import azure_endpoint, openai_endpoint
from realtime_sync.errors import ProtocolError, RealtimeTimeoutError, ServerError
from realtime_sync.protocol import Dialect
from realtime_sync.protocol.transcription import TRANSCRIPTION_LOGPROBS, TranscriptionOptions
from realtime_sync.transcription import (Transcriber, configure_transcription, transcribe_file,
                                         transcription_endpoint)

from .helpers import ScriptedSession


def validate(wire, dialect):
    import os
    path = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "realtime_sync", "testing", "spec",
                        f"realtime-{dialect}.schema.json")
    with open(path) as f:
        doc = json.load(f)
    jsonschema.validate(wire, {**doc["client_events"][wire["type"]], "definitions": doc["definitions"]})


def test_options_wire_shapes_for_both_dialects():
    opts = TranscriptionOptions(model="gpt-4o-transcribe", language="en", prompt="names: Ana",
                                turn_detection=TurnDetection.server_vad(silence_duration_ms=400),
                                noise_reduction="far_field", include=[TRANSCRIPTION_LOGPROBS])
    ga = opts.to_command("ga", event_id="e1").to_wire("ga")
    assert ga == {"type": "session.update", "event_id": "e1", "session": {
        "type": "transcription",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "transcription": {"model": "gpt-4o-transcribe", "language": "en",
                                              "prompt": "names: Ana"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
                            "noise_reduction": {"type": "far_field"}}},
        "include": ["item.input_audio_transcription.logprobs"]}}
    validate(ga, "ga")
    beta = opts.to_command("beta").to_wire("beta")
    assert beta == {"type": "transcription_session.update", "session": {
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "names: Ana"},
        "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
        "input_audio_noise_reduction": {"type": "far_field"}, "include": ["item.input_audio_transcription.logprobs"]}}
    validate(beta, "beta")
    off = TranscriptionOptions(turn_detection=TurnDetection.disabled(), input_audio_format="g711_ulaw",
                               delay="low", keywords=["kiosk"])
    assert not off.vad_enabled and TranscriptionOptions().vad_enabled
    wire = off.to_wire("ga")
    assert wire["audio"]["input"]["turn_detection"] is None and wire["audio"]["input"]["format"] == {
        "type": "audio/pcmu"}
    assert wire["audio"]["input"]["transcription"]["delay"] == "low"
    with pytest.raises(ProtocolError):
        off.to_wire("beta")  # delay / keywords are GA only
    assert TranscriptionOptions(extra={"audio": {"input": {"transcription": {"languages": ["en"]}}}}).to_wire(
        "ga")["audio"]["input"]["transcription"] == {"model": "gpt-transcribe", "languages": ["en"]}


def test_transcription_endpoint_urls():
    base = openai_endpoint("sk-test", model="gpt-realtime")
    ep = transcription_endpoint(base)
    assert ep.url == "wss://api.openai.com/v1/realtime?intent=transcription"
    assert base.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"  # a copy: the original is unchanged
    assert base.with_intent(None) is base and ep.with_intent("transcription").url == ep.url
    az = transcription_endpoint(azure_endpoint("https://res.openai.azure.com", "my-dep", api_key="k"))
    assert az.url == "wss://res.openai.azure.com/openai/v1/realtime?model=my-dep&intent=transcription"
    assert az.headers() == {"api-key": "k"}
    beta = transcription_endpoint(openai_endpoint("sk-test", protocol="beta"))
    assert beta.url == "wss://api.openai.com/v1/realtime?intent=transcription"
    assert beta.headers()["OpenAI-Beta"] == "realtime=v1" and beta.dialect is Dialect.BETA
    preview = transcription_endpoint(azure_endpoint("https://res.openai.azure.com", "my-dep", api_key="k",
                                                    api_version="2025-04-01-preview"))
    assert preview.url == ("wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview"
                           "&deployment=my-dep&intent=transcription")
    assert ep.headers()["Authorization"] == "Bearer sk-test"


def updated_script(beta=False, refuse=False, turn_detection=None):
    def script(s, wire):
        if wire["type"] in ("session.update", "transcription_session.update"):
            if refuse:
                s.emit([{"type": "error", "error": {"type": "invalid_request_error", "code": "unknown_parameter",
                                                    "message": "nope", "event_id": wire["event_id"]}}])
            else:
                kind = "transcription_session.updated" if beta else "session.updated"
                s.emit([{"type": kind, "session": {"type": "transcription", "id": "sess_t"}}])
    return script


def test_configure_transcription_both_dialects_and_refusal():
    session = ScriptedSession(updated_script())
    update = configure_transcription(session, TranscriptionOptions(language="fr"), timeout=5)
    assert update.type == "session.updated" and session.sent[0]["session"]["type"] == "transcription"
    session = ScriptedSession(updated_script(beta=True), dialect=Dialect.BETA)
    assert configure_transcription(session, TranscriptionOptions(), timeout=5).type == \
        "transcription_session.updated"
    assert session.sent[0]["type"] == "transcription_session.update"
    with pytest.raises(ServerError, match="nope"):
        configure_transcription(ScriptedSession(updated_script(refuse=True)), TranscriptionOptions(), timeout=5)
    with pytest.raises(RealtimeTimeoutError):
        configure_transcription(ScriptedSession(lambda s, w: None), TranscriptionOptions(), timeout=0.1)
    assert session.observers == ()


def delta(item, text):
    return {"type": "conversation.item.input_audio_transcription.delta", "item_id": item, "content_index": 0,
            "delta": text}


def completed(item, text):
    return {"type": "conversation.item.input_audio_transcription.completed", "item_id": item, "content_index": 0,
            "transcript": text, "usage": {"type": "duration", "seconds": 2.0}}


def test_transcribe_file_with_manual_commit(tmp_path):
    def script(s, wire):
        if wire["type"] == "input_audio_buffer.commit":
            s.emit([{"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "i1"},
                    delta("i1", "Hello"), delta("i1", " world"), completed("i1", "Hello world.")])

    session = ScriptedSession(script, turn_detection=None)
    seen = []
    session.add_observer(Transcriber(on_delta=lambda i, d: seen.append(d)))
    path = tmp_path / "a.pcm"
    path.write_bytes(b"\x00\x00" * 4800)
    result = transcribe_file(session, str(path), timeout=5)
    assert result.text == "Hello world." == str(result)
    assert [s.item_id for s in result.segments] == ["i1"] and result.usage.seconds == 2.0
    assert seen == ["Hello", " world"]

    def refuse(s, wire):
        if wire["type"] == "input_audio_buffer.commit":
            s.emit([{"type": "error", "error": {"type": "invalid_request_error",
                                                "code": "input_audio_buffer_commit_empty", "message": "too small",
                                                "event_id": wire["event_id"]}}])

    with pytest.raises(ServerError) as info:
        transcribe_file(ScriptedSession(refuse, turn_detection=None), b"", timeout=5)
    assert info.value.code == "input_audio_buffer_commit_empty"


def test_transcribe_file_with_server_vad_segments_in_order():
    def script(s, wire):
        if wire["type"] == "<audio>" and len(s.audio) == 1:
            s.emit([{"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "i1"},
                    delta("i1", " One"),  # streaming models start before the commit
                    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "i1"},
                    {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "i1"},
                    {"type": "input_audio_buffer.speech_started", "audio_start_ms": 1200, "item_id": "i2"}])
        if wire["type"] == "<audio>" and len(s.audio) == 2:  # the silence tail ends the second segment
            s.emit([{"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2000, "item_id": "i2"},
                    {"type": "input_audio_buffer.committed", "previous_item_id": "i1", "item_id": "i2"},
                    completed("i2", " Two."), {"type": "conversation.item.input_audio_transcription.failed",
                                               "item_id": "i3", "content_index": 0, "error": {"message": "x"}}])
            s.emit([completed("i1", " One.")], delay=0.1)  # out of order

    session = ScriptedSession(script, turn_detection={"type": "server_vad"})
    result = transcribe_file(session, b"\x01\x00" * 24000, timeout=5, settle=0.2, vad_tail_ms=500)
    assert len(session.audio[1]) == 24000 and set(session.audio[1]) == {0}
    assert [(s.item_id, s.status) for s in result.segments] == [("i1", "completed"), ("i2", "completed"),
                                                                ("i3", "failed")]
    assert result.text == "One. Two."

    stuck = ScriptedSession(lambda s, w: s.emit([{"type": "input_audio_buffer.speech_started",
                                                  "audio_start_ms": 0, "item_id": "x"}]) if w["type"] == "<audio>"
                            else None, turn_detection={"type": "server_vad"})
    with pytest.raises(RealtimeTimeoutError):
        transcribe_file(stuck, b"\x00\x00" * 100, timeout=0.3, settle=0.05)
