"""Session creation, session.update, and the service's error events for bad client events."""
import json

import pytest

from realtime_sync.protocol import Dialect, SessionCreatedUpdate, parse_update
from realtime_sync.testing.session_state import DEFAULT_INSTRUCTIONS
from tests.testing.sim_client import open_client, user_text


def test_session_created_has_the_services_ga_defaults(fake_server):
    with open_client(fake_server, created=False) as c:
        ev = c.expect("session.created")
    s = ev["session"]
    assert s["type"] == "realtime" and s["object"] == "realtime.session" and s["id"].startswith("sess_")
    assert s["model"] == "gpt-realtime" and s["output_modalities"] == ["audio"]
    assert s["instructions"] == DEFAULT_INSTRUCTIONS
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert s["audio"]["input"]["turn_detection"] == {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                                     "silence_duration_ms": 200, "idle_timeout_ms": None,
                                                     "create_response": True, "interrupt_response": True}
    assert s["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0}
    assert 3590 < s["expires_at"] - __import__("time").time() <= 3600
    update = parse_update(ev)
    assert isinstance(update, SessionCreatedUpdate) and update.session.voice == "alloy"


def test_beta_header_gives_a_beta_session(fake_server):
    with open_client(fake_server, model="gpt-4o-realtime-preview", beta=True, created=False) as c:
        s = c.expect("session.created")["session"]
    assert s["modalities"] == ["audio", "text"] and s["input_audio_format"] == "pcm16" and s["temperature"] == 0.8
    assert "type" not in s and s["model"] == "gpt-4o-realtime-preview"


def test_session_update_merges_and_answers_session_updated(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {
            "type": "realtime", "instructions": "Be brief.", "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                                "transcription": {"model": "whisper-1"}},
                      "output": {"voice": "marin"}}}})
        s = c.expect("session.updated")["session"]
        assert s["instructions"] == "Be brief." and s["output_modalities"] == ["text"]
        assert s["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
        assert s["audio"]["input"]["turn_detection"]["threshold"] == 0.5  # defaults filled in
        assert s["audio"]["input"]["transcription"] == {"model": "whisper-1", "language": None, "prompt": None}
        assert s["audio"]["output"]["voice"] == "marin" and s["audio"]["output"]["speed"] == 1.0
        c.send({"type": "session.update", "session": {"type": "realtime", "tools": [
            {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}]}})
        s = c.expect("session.updated")["session"]
        assert s["instructions"] == "Be brief." and s["tools"][0]["name"] == "f"  # earlier fields kept
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": None}}}})
        assert c.expect("session.updated")["session"]["audio"]["input"]["turn_detection"] is None


def test_beta_session_update(fake_server):
    with open_client(fake_server, model="gpt-4o-realtime-preview", beta=True) as c:
        c.send({"type": "session.update", "session": {"instructions": "x", "input_audio_format": "g711_ulaw",
                                                      "input_audio_transcription": {"model": "whisper-1"}}})
        s = c.expect("session.updated")["session"]
        assert s["input_audio_format"] == "g711_ulaw" and s["input_audio_transcription"]["model"] == "whisper-1"


def _error(c, event=None, raw=None):
    if raw is not None:
        c.send_raw(raw)
    else:
        c.send(event)
    return c.expect("error")["error"]


@pytest.mark.parametrize("event, code, param", [
    ({"type": "session.bogus"}, "invalid_value", "type"),
    ({"type": "session.update", "session": {"type": "realtime", "bogus_field": 1}}, "unknown_parameter",
     "session.bogus_field"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {
        "type": "audio/pcm", "rate": 16000}}}}}, "integer_below_min_value", "session.audio.input.format.rate"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": 3}}}},
     "decimal_above_max_value", "session.audio.output.speed"),
    ({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 0}},
     "integer_below_min_value", "session.max_output_tokens"),
    ({"type": "session.update", "session": {"instructions": "no type"}}, "missing_required_parameter",
     "session.type"),
    ({"type": "session.update", "session": {"type": "realtime", "instructions": 5}}, "invalid_type",
     "session.instructions"),
    ({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text", "audio"]}},
     "invalid_value", "session.output_modalities"),
    ({"type": "conversation.item.create"}, "missing_required_parameter", "item"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "hi", "extra": 1}]}}, "unknown_parameter", "item.content[0].extra"),
    ({"type": "response.create", "event_id": "e" * 600}, "string_above_max_length", "event_id"),
    ({"type": "conversation.item.truncate", "item_id": "x", "content_index": 0, "audio_end_ms": -1},
     "integer_below_min_value", "audio_end_ms"),
])
def test_invalid_client_events_get_the_services_errors(fake_server, event, code, param):
    with open_client(fake_server) as c:
        event = dict(event, event_id=event.get("event_id", "evt_client_1"))
        err = _error(c, event)
        assert (err["type"], err["code"], err["param"]) == ("invalid_request_error", code, param)
        assert err["event_id"] == event["event_id"]
        assert err["message"]
        c.send(user_text("still open?"))  # the socket stays open and usable
        assert c.expect("conversation.item.added")["item"]["content"][0]["text"] == "still open?"


def test_unknown_type_lists_the_accepted_types_and_event_id_null_without_one(fake_server):
    with open_client(fake_server) as c:
        err = _error(c, {"type": "nope"})
        assert err["code"] == "invalid_value" and err["event_id"] is None and "'session.update'" in err["message"]


def test_frames_that_are_not_events(fake_server):
    with open_client(fake_server) as c:
        assert _error(c, raw="{not json")["code"] == "invalid_json"
        err = _error(c, raw=b"\x00\x01binary")
        assert err["code"] == "invalid_event" and "binary frames are not supported" in err["message"]
        assert _error(c, raw='{"event_id": "a"}') == {"type": "invalid_request_error", "code": "invalid_event",
                                                      "message": "The 'type' field is missing.", "param": None,
                                                      "event_id": "a"}
        for _ in range(4):  # errors alone are never fatal
            _error(c, raw="[1, 2]")
        c.send({"type": "input_audio_buffer.clear"})
        c.expect("input_audio_buffer.cleared")
    received = fake_server.received
    assert {"event_id": "a"} in received and received[-1] == {"type": "input_audio_buffer.clear"}


def test_ga_shaped_update_on_a_beta_session_is_an_unknown_parameter(fake_server):
    with open_client(fake_server, model="gpt-4o-realtime-preview", beta=True) as c:
        err = _error(c, {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}})
        assert (err["code"], err["param"]) == ("unknown_parameter", "session.type")
        err = _error(c, {"type": "session.update", "session": {"temperature": 0.1}})
        assert (err["code"], err["param"]) == ("decimal_below_min_value", "session.temperature")


def test_a_failed_update_is_discarded_whole(fake_server):
    with open_client(fake_server) as c:
        _error(c, {"type": "session.update", "session": {"type": "realtime", "instructions": "new",
                                                         "audio": {"input": {"format": {"type": "audio/pcm",
                                                                                        "rate": 8000}}}}})
        c.send({"type": "session.update", "session": {"type": "realtime"}})
        assert c.expect("session.updated")["session"]["instructions"] == DEFAULT_INSTRUCTIONS


def test_voice_cannot_change_after_audio_was_produced(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}})
        c.expect("session.updated")
        c.send(user_text("hi"))
        c.send({"type": "response.create"})
        c.recv_until("rate_limits.updated")
        err = _error(c, {"type": "session.update", "session": {"type": "realtime",
                                                               "audio": {"output": {"voice": "verse"}}}})
        assert err["code"] == "cannot_update_voice"


def test_received_records_client_events_as_dicts(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "input_audio_buffer.clear", "event_id": "mine"})
        c.expect("input_audio_buffer.cleared")
    assert fake_server.received == [{"type": "input_audio_buffer.clear", "event_id": "mine"}]
    assert fake_server.wait_for_received("input_audio_buffer.clear")["event_id"] == "mine"
    conn = fake_server.connections[0]
    assert conn.received == fake_server.received and conn.dialect is Dialect.GA
    assert list(conn.sent_types) == ["session.created", "input_audio_buffer.cleared"]
    json.dumps(conn.session_wire)
