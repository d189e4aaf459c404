"""Server events: every kind of both dialects decodes to its typed update with nothing lost."""
import base64
import json

import pytest

import realtime_sync as rs
from realtime_sync.protocol.kinds import CLIENT_SIDE_KINDS, TRANSLATION_KINDS
from realtime_sync.protocol import UPDATE_CLASSES, Dialect, UpdateKind, parse_update, wire_server_type

from tests.support.traces import CLIENT_TYPES, load_trace, trace_names

from .schemas import errors, load_examples, sample, schema_doc

GA_SERVER = sorted(schema_doc("ga")["server_events"])
BETA_SERVER = sorted(schema_doc("beta")["server_events"])


def test_kind_enum_has_one_member_per_ga_server_event():
    members = {k.value for k in UpdateKind
               if k is not UpdateKind.UNKNOWN and k not in CLIENT_SIDE_KINDS | TRANSLATION_KINDS}
    assert members == set(GA_SERVER)
    assert len(GA_SERVER) == 46 and len(BETA_SERVER) == 35
    assert set(UPDATE_CLASSES) == set(UpdateKind) - {UpdateKind.UNKNOWN} - CLIENT_SIDE_KINDS - TRANSLATION_KINDS
    for kind in TRANSLATION_KINDS:  # a realtime session does not decode translation events (nothing to crash on)
        assert type(parse_update({"type": kind.value, "event_id": "e"})).__name__ == "UnknownUpdate"
    for kind in CLIENT_SIDE_KINDS:  # a server message of that type is not mistaken for ours
        assert kind.value.startswith("realtime_sync.")
        assert UpdateKind.from_type(kind.value) is UpdateKind.UNKNOWN
        assert type(parse_update({"type": kind.value})).__name__ == "UnknownUpdate"


@pytest.mark.parametrize("dialect,wire_type", [("ga", t) for t in GA_SERVER] + [("beta", t) for t in BETA_SERVER])
def test_every_kind_decodes_from_a_full_sample(dialect, wire_type):
    doc = schema_doc(dialect)
    event = sample(doc["server_events"][wire_type], doc)
    event["type"] = wire_type
    assert errors(event, dialect, "server") == []
    text = json.dumps(event)
    update = parse_update(text)
    assert update.kind is not UpdateKind.UNKNOWN
    assert update.kind is UpdateKind.from_type(wire_type)
    assert type(update) is UPDATE_CLASSES[update.kind]
    assert update.type == wire_type
    assert update.raw == event and json.loads(update.to_json()) == event
    # every top-level scalar field of the event is exposed as an attribute with the same value
    for key, value in event.items():
        if key == "type" or isinstance(value, (dict, list)):
            continue
        assert getattr(update, key) == value, key
    # and nested objects are decoded dataclasses, not dicts
    for key, value in event.items():
        if isinstance(value, dict) and key not in ("session",):
            assert not isinstance(getattr(update, key), dict), key


def test_beta_names_resolve_to_their_ga_twin():
    assert UpdateKind.from_type("response.audio.delta") is UpdateKind.OUTPUT_AUDIO_DELTA
    assert UpdateKind.from_type("response.text.done") is UpdateKind.OUTPUT_TEXT_DONE
    assert UpdateKind.from_type("response.audio_transcript.delta") is UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA
    assert UpdateKind.from_type("transcription_session.updated") is UpdateKind.SESSION_UPDATED
    assert UpdateKind.from_type("transcription_session.created") is UpdateKind.SESSION_CREATED
    assert UpdateKind.from_type("no.such.event") is UpdateKind.UNKNOWN
    assert wire_server_type(UpdateKind.OUTPUT_AUDIO_DELTA, "beta") == "response.audio.delta"
    assert wire_server_type(UpdateKind.OUTPUT_AUDIO_DELTA, Dialect.GA) == "response.output_audio.delta"
    assert wire_server_type(UpdateKind.SESSION_UPDATED, "beta") == "session.updated"


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_spec_examples_decode_with_nothing_lost(dialect):
    seen = 0
    for example in load_examples(dialect):
        if example["direction"] != "server":
            continue
        event = example["event"]
        update = parse_update(json.dumps(event))
        assert update.raw == event
        assert json.loads(update.to_json()) == event
        if example["valid_lenient"]:
            assert update.kind is UpdateKind.from_type(example["type"]), example["type"]
            seen += 1
        else:  # the examples' own typos: the wire type is kept, and decoding never loses the event
            assert update.type == event["type"]
    assert seen >= (45 if dialect == "ga" else 34)


def test_example_typo_repaired_decodes_dtmf():
    example = next(e for e in load_examples("ga") if e["type"] == "input_audio_buffer.dtmf_event_received")
    event = dict(example["event"], type="input_audio_buffer.dtmf_event_received")
    update = parse_update(event)
    assert isinstance(update, rs.InputAudioDtmfReceivedUpdate)
    assert update.event == event["event"] and update.received_at == event["received_at"]


@pytest.mark.parametrize("name", trace_names())
def test_every_recorded_live_event_decodes_typed(name):
    count = 0
    for event in load_trace(name):
        if event["type"] in CLIENT_TYPES:
            continue
        update = parse_update(json.dumps(event))
        assert update.kind is not UpdateKind.UNKNOWN, event["type"]
        assert update.raw == event
        count += 1
    assert count > 0


def test_audio_delta_decodes_lazily_and_once():
    pcm = bytes(range(256)) * 19
    update = parse_update({"type": "response.output_audio.delta", "event_id": "e", "response_id": "r",
                           "item_id": "i", "output_index": 0, "content_index": 0,
                           "delta": base64.b64encode(pcm).decode()})
    assert "_audio" not in update.__dict__
    assert update.audio == pcm
    assert update.audio is update.audio
    assert "AAEC" not in repr(update)  # reprs never dump payloads


def test_error_update_exposes_the_error():
    update = parse_update('{"type":"error","event_id":"event_1","error":{"type":"invalid_request_error",'
                          '"code":"unknown_parameter","message":"Unknown parameter: \'session.x\'.",'
                          '"param":"session.x","event_id":"evt_7"}}')
    assert isinstance(update, rs.ErrorUpdate) and update.kind is UpdateKind.ERROR
    assert update.code == "unknown_parameter" and update.param == "session.x"
    assert update.error_type == "invalid_request_error" and update.client_event_id == "evt_7"
    assert update.message.startswith("Unknown parameter") and update.event_id == "event_1"


def test_unknown_types_and_fields_survive():
    event = {"type": "response.hologram.delta", "event_id": "e1", "beam": {"x": [1, 2]}}
    update = parse_update(json.dumps(event))
    assert isinstance(update, rs.UnknownUpdate) and update.kind is UpdateKind.UNKNOWN
    assert update.type == "response.hologram.delta" and update.raw == event and update.event_id == "e1"
    known = {"type": "response.output_text.delta", "event_id": "e", "response_id": "r", "item_id": "i",
             "output_index": 0, "content_index": 0, "delta": "hi", "obfuscation": "zz", "future": {"a": 1}}
    update = parse_update(json.dumps(known))
    assert update.delta == "hi" and update.raw["obfuscation"] == "zz" and update.raw["future"] == {"a": 1}
    assert json.loads(update.to_json()) == known


@pytest.mark.parametrize("bad", ["{not json", b"\xff\xfe", "[1, 2]", "42", '{"event_id": "x"}', '{"type": 5}', ""])
def test_malformed_messages_raise_a_typed_error(bad):
    with pytest.raises(rs.MessageDecodeError) as info:
        parse_update(bad)
    assert isinstance(info.value, rs.ProtocolError) and not isinstance(info.value, KeyError)


def test_wrongly_shaped_fields_are_none_in_the_typed_view_and_kept_in_raw():
    update = parse_update({"type": "response.done", "event_id": "e", "response": {"output": "oops"}})
    assert update.response.output is None and update.raw["response"]["output"] == "oops"
    update = parse_update({"type": "response.done", "event_id": "e", "response": {"output": [1, {"content": 3}]}})
    assert len(update.response.output) == 1 and update.response.output[0].content is None
    assert update.raw["response"]["output"][0] == 1
    update = parse_update({"type": "conversation.item.done", "event_id": "e", "item": "not-an-item"})
    assert update.item is None and update.raw["item"] == "not-an-item"
    update = parse_update({"type": "conversation.item.added", "item": {"type": "message", "content": "x"}})
    assert update.item.content is None and update.item.text == ""
    error = parse_update({"type": "error", "error": "boom"})
    assert error.error is None and error.message == "" and error.code is None and error.client_event_id is None


@pytest.mark.parametrize("frame", [
    b'{"type": [1]}', b'{"type": {"a": 1}}', b'{"type": null}', b'{"type": ""}', b"[1, 2]", b"not json",
    b'{"type": "error", "a": ' + b"[" * 50000 + b"]" * 50000 + b"}",
    b'{"type": "response.done", "n": ' + b"9" * 100000 + b"}",
    b'{"type": "error", "x": "' + bytes([0xFF, 0xFE]) + b'"}',
], ids=["type-list", "type-object", "type-null", "type-empty", "array", "not-json", "deep", "huge-number",
        "bad-utf8"])
def test_malformed_frames_raise_message_decode_error(frame):
    with pytest.raises(rs.MessageDecodeError):
        parse_update(frame)


def test_an_audio_delta_that_is_not_base64_raises_the_librarys_error():
    update = parse_update({"type": "response.output_audio.delta", "delta": "!!!not base64"})
    with pytest.raises(rs.MessageDecodeError):
        update.audio


def test_session_info_normalises_both_dialects():
    ga = load_trace("pydantic-ai__text-in-audio-out-turn__ga.jsonl")[0]
    beta = load_trace("pydantic-ai__text-in-audio-out-turn-gpt-4o-realtime-preview__beta.jsonl")[0]
    for event in (ga, beta):
        update = parse_update(event)
        assert isinstance(update, rs.SessionCreatedUpdate)
        info = update.session
        assert info.id.startswith("sess_") and info.model
        assert info.input_audio_format == "pcm16" and info.output_audio_format == "pcm16"
        assert info.voice and info.output_modalities == ["audio"]
        assert info.raw is event["session"]


def test_response_done_usage_is_typed():
    trace = load_trace("pydantic-ai__text-in-audio-out-turn__ga.jsonl")
    done = parse_update(next(e for e in trace if e["type"] == "response.done"))
    usage = done.response.usage
    assert usage.total_tokens == done.raw["response"]["usage"]["total_tokens"]
    assert usage.input_token_details.cached_tokens is not None
    assert usage.output_token_details.audio_tokens == \
        done.raw["response"]["usage"]["output_token_details"]["audio_tokens"]
    assert done.response.output[0].content[0].transcript == "Hi there!"
    assert done.response.output[0].text == "Hi there!"
