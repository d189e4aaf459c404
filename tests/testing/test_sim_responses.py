"""Responses: event order in both dialects, function calls, concurrency errors, cancel, pacing, usage, responders."""
import base64
import json
import time

import numpy as np
import pytest

from realtime_sync.protocol import Dialect
from realtime_sync.testing import FunctionCall, Reply, arguments_for_schema, default_responder, scripted
from tests.testing.sim_client import open_client, user_text

TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a place.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"},
                                                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                                                        "days": {"type": "integer", "minimum": 1}},
                       "required": ["location", "unit"]}}


def _types(events):
    out = []
    for e in events:
        if not (out and out[-1] == e["type"] and e["type"].endswith(".delta")):
            out.append(e["type"])
    return out


def test_ga_audio_turn_order_and_content(fake_server):
    with open_client(fake_server) as c:
        c.send(user_text("Say hi"))
        c.send({"type": "response.create"})
        events = c.recv_until("rate_limits.updated")
    assert _types(events) == [
        "conversation.item.added", "conversation.item.done", "response.created", "response.output_item.added",
        "conversation.item.added", "response.content_part.added", "response.output_audio_transcript.delta",
        "response.output_audio.delta", "response.output_audio_transcript.delta", "response.output_audio.delta",
        "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
        "conversation.item.done", "response.output_item.done", "response.done", "rate_limits.updated"]
    transcript = "".join(e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: Say hi"
    audio = [base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"]
    assert [len(a) for a in audio[:3]] == [4800, 7200, 12000]  # 100, 150, 250 ms, as the service
    samples = np.frombuffer(b"".join(audio), dtype="<i2")
    assert 0.05 < np.sqrt(np.mean((samples / 32768.0) ** 2)) < 0.3  # speech-like level
    done = events[-2]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"] == [{"type": "output_audio",
                                                                               "transcript": transcript}]
    usage = done["usage"]
    assert usage["output_token_details"]["audio_tokens"] == int(len(samples) / 24000 * 20)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert all("obfuscation" in e for e in events if e["type"] == "response.output_audio_transcript.delta")


def test_beta_audio_turn_uses_beta_names(make_fake_server):
    """Beta names; ``rate_limits.updated`` right after ``response.created`` (issue 11 difference 4) and
    ``obfuscation`` on transcript deltas (difference 5), as the 2025/2026 beta traces show."""
    server = make_fake_server(responder=scripted("Hi there, friend!"))
    with open_client(server, model="gpt-4o-realtime-preview", beta=True) as c:
        c.send(user_text("hello"))
        c.send({"type": "response.create"})
        events = c.recv_until("response.done")
    assert _types(events) == [
        "conversation.item.created", "response.created", "rate_limits.updated", "response.output_item.added",
        "conversation.item.created", "response.content_part.added", "response.audio_transcript.delta",
        "response.audio.delta", "response.audio_transcript.delta", "response.audio.delta", "response.audio.done",
        "response.audio_transcript.done", "response.content_part.done", "response.output_item.done",
        "response.done"]
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "audio", "transcript": "Hi there, friend!"}]
    assert [r["name"] for r in events[2]["rate_limits"]] == ["requests", "tokens"]
    deltas = [e for e in events if e["type"] == "response.audio_transcript.delta"]
    assert deltas and all(isinstance(e.get("obfuscation"), str) for e in deltas)


def test_text_turn_and_function_call_round_trip_with_default_responder(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"],
                                                      "tools": [TOOL]}})
        c.expect("session.updated")
        c.send(user_text("Weather?"))
        c.send({"type": "response.create"})
        events = c.recv_until("rate_limits.updated")
        assert _types(events)[3:] == [
            "response.output_item.added", "conversation.item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "conversation.item.done", "response.output_item.done",
            "response.done", "rate_limits.updated"]
        done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert done["name"] == "get_weather" and done["call_id"].startswith("call_")
        assert json.loads(done["arguments"]) == {"location": "San Francisco, CA", "unit": "celsius"}
        c.send({"type": "conversation.item.create", "item": {"type": "function_call_output",
                                                             "call_id": done["call_id"], "output": "Sunny, 21 C"}})
        c.send({"type": "response.create"})
        events = c.recv_until("rate_limits.updated")
        text = next(e for e in events if e["type"] == "response.output_text.done")["text"]
        assert text == "Here is what I found: Sunny, 21 C"
        assert events[0]["item"]["type"] == "function_call_output" and "status" not in events[0]["item"]


def test_tool_choice_none_and_named_tool(fake_server):
    with open_client(fake_server) as c:
        other = dict(TOOL, name="other_tool")
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"],
                                                      "tools": [TOOL, other], "tool_choice": "none"}})
        c.expect("session.updated")
        c.send(user_text("x"))
        c.send({"type": "response.create"})
        assert any(e["type"] == "response.output_text.done" for e in c.recv_until("response.done"))
        c.send({"type": "response.create", "response": {"tool_choice": {"type": "function", "name": "other_tool"}}})
        done = next(e for e in c.recv_until("response.done") if e["type"].endswith("arguments.done"))
        assert done["name"] == "other_tool"


def test_second_concurrent_response_and_cancel_without_one(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(Reply("Slow answer.", delay=5.0)))
    with open_client(server) as c:
        c.send({"type": "response.cancel", "event_id": "c0"})
        err = c.expect("error")["error"]
        assert (err["code"], err["event_id"]) == ("response_cancel_not_active", "c0")
        c.send({"type": "response.create"})
        resp_id = c.expect("response.created")["response"]["id"]
        c.send({"type": "response.create", "event_id": "c1"})
        err = c.expect("error")["error"]
        assert err["code"] == "conversation_already_has_active_response" and resp_id in err["message"]
        c.send({"type": "response.cancel", "response_id": "resp_other"})
        assert c.expect("error")["error"]["code"] == "response_cancel_not_active"
        c.send({"type": "response.cancel"})
        done = c.expect("response.done")["response"]
        assert done["status"] == "cancelled" and done["status_details"]["reason"] == "client_cancelled"
        assert done["output"] == [] and done["usage"]["output_tokens"] == 0
        c.expect("rate_limits.updated")
        c.send({"type": "response.cancel"})
        assert c.expect("error")["error"]["code"] == "response_cancel_not_active"


def test_cancel_mid_function_call(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(FunctionCall("lookup", {"q": "a b c d e f g h i j k l"})))
    with open_client(server) as c:
        c.send({"type": "response.create"})
        c.recv_until("response.function_call_arguments.delta")
        c.send({"type": "response.cancel"})
        tail = c.recv_until("response.done")
        assert _types(tail)[-3:] == ["conversation.item.done", "response.output_item.done", "response.done"]
        assert tail[-1]["response"]["output"][0]["status"] == "incomplete"


def test_out_of_band_response_and_response_input(fake_server):
    with open_client(fake_server) as c:
        c.send(user_text("in the conversation"))
        item_id = c.expect("conversation.item.added")["item"]["id"]
        c.expect("conversation.item.done")
        c.send({"type": "response.create", "response": {
            "conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "oob"},
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "outside"}]}]}})
        events = c.recv_until("response.done")
        assert not any(e["type"].startswith("conversation.") for e in events)
        done = events[-1]["response"]
        assert done["conversation_id"] is None and done["metadata"] == {"topic": "oob"}
        assert done["output"][0]["content"][0]["text"] == "You said: outside"
    assert [i.id for i in fake_server.connections[0].items] == [item_id]


def test_max_output_tokens_makes_the_response_incomplete(make_fake_server):
    server = make_fake_server(responder=scripted("word " * 50))
    with open_client(server) as c:
        c.send({"type": "response.create", "response": {"max_output_tokens": 5, "output_modalities": ["text"]}})
        done = c.recv_until("response.done")[-1]["response"]
        assert done["status"] == "incomplete" and done["status_details"] == {"type": "incomplete",
                                                                             "reason": "max_output_tokens"}
        assert len(done["output"][0]["content"][0]["text"]) == 20


def test_a_failing_responder_fails_the_response(make_fake_server):
    def broken(ctx):
        raise KeyError("boom")

    server = make_fake_server(responder=broken)
    with open_client(server) as c:
        c.send({"type": "response.create"})
        done = c.recv_until("response.done")[-1]["response"]
        assert done["status"] == "failed" and done["status_details"]["error"]["code"] == "responder_error"


def test_scripted_responder_sees_the_conversation(make_fake_server):
    script = scripted(Reply("text and a call", [FunctionCall("f", '{"a": 1}', call_id="call_fixed")]),
                      lambda ctx: f"outputs: {[o.output for o in ctx.function_outputs]}")
    server = make_fake_server(responder=script)
    with open_client(server) as c:
        c.send(user_text("go"))
        c.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        events = c.recv_until("response.done")
        added = [e for e in events if e["type"] == "response.output_item.added"]
        assert [(e["output_index"], e["item"]["type"]) for e in added] == [(0, "message"), (1, "function_call")]
        c.send({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_fixed",
                                                             "output": "42"}})
        c.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        text = next(e for e in c.recv_until("response.done") if e["type"] == "response.output_text.done")["text"]
    assert text == "outputs: ['42']"
    first = script.calls[0]
    assert first.last_user_text == "go" and first.dialect is Dialect.GA and first.output_modalities == ["text"]


def test_g711_output_audio(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {
            "format": {"type": "audio/pcma"}}}}})
        c.expect("session.updated")
        c.send({"type": "response.create"})
        events = c.recv_until("response.done")
    chunks = [base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"]
    assert [len(x) for x in chunks[:2]] == [800, 1200]  # 100 ms and 150 ms at 8 kHz, one byte a sample
    assert events[-1]["response"]["audio"]["output"]["format"] == {"type": "audio/pcma"}


def test_realtime_pacing(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted("One two three four five."))
    with open_client(server) as c:
        start = time.monotonic()
        c.send({"type": "response.create"})
        events = c.recv_until("response.done", timeout=10)
        elapsed = time.monotonic() - start
    audio_s = sum(len(base64.b64decode(e["delta"])) for e in events
                  if e["type"] == "response.output_audio.delta") / 48000
    assert audio_s - 0.3 <= elapsed <= audio_s + 1.0  # real time, sent up to 250 ms ahead


def test_rate_limits_can_be_turned_off(make_fake_server):
    server = make_fake_server(rate_limits=False)
    with open_client(server) as c:
        c.send({"type": "response.create"})
        c.recv_until("response.done")
        assert c.drain(0.2) == []


def test_default_responder_and_schema_arguments():
    assert arguments_for_schema({"type": "object", "properties": {
        "city": {"type": "string"}, "n": {"type": "integer", "minimum": 3}, "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "when": {"type": "string", "format": "date"}, "opt": {"anyOf": [{"type": "null"}, {"type": "number"}]}}}) \
        == {"city": "San Francisco", "n": 3, "ok": True, "tags": ["a"], "when": "2024-06-01", "opt": 1.0}
    assert default_responder.__doc__


@pytest.mark.parametrize("value, expected", [("hi", Reply("hi")), (None, Reply()),
                                             (FunctionCall("f"), Reply(function_calls=[FunctionCall("f")])),
                                             (["a", "b"], Reply("ab"))])
def test_reply_coerce(value, expected):
    assert Reply.coerce(value) == expected
