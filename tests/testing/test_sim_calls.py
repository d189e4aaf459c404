"""The simulator's SIP calls: ``POST /v1/realtime/calls/{id}/accept|reject|refer|hangup`` and the sideband
WebSocket ``/v1/realtime?call_id=`` (raw HTTP and WebSocket clients; the library's side is in test_sim_phone.py)."""
import base64
import contextlib
import json
import os

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from realtime_sync.testing import scripted, synthesize
from tests.testing.sim_client import SimClient
from tests.testing.webhook_receiver import ringing_call

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def server(make_fake_server):
    return make_fake_server(responder=scripted("Hello, you reached the simulator."))


@pytest.fixture
def ringing(server):
    with ringing_call(server, SECRET) as call:
        yield call


def post(server, call_id, action, body=None, key=None, raw=None):
    headers = {"Authorization": f"Bearer {key or server.api_key}"}
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    if data is not None:
        headers["Content-Type"] = "application/json"
    return requests.post(f"{server.base_url}/realtime/calls/{call_id}/{action}", data=data, headers=headers,
                         timeout=10)


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def sideband(server, call_id, model=None):
    query = f"call_id={call_id}" + (f"&model={model}" if model else "")
    return SimClient(f"{server.ws_url}?{query}", {"Authorization": f"Bearer {server.api_key}"})


@contextlib.contextmanager
def speaking(make_fake_server, answer):
    """A paced call (pace 1) whose assistant is saying ``answer`` to the caller: yields (call, sideband client,
    the output_audio_buffer.started event)."""
    server = make_fake_server(pace=1.0, responder=scripted(answer))
    with ringing_call(server, SECRET) as call:
        accept(server, call)
        with sideband(server, call.call_id) as ws:
            ws.expect("session.created")
            ws.send({"type": "response.create"})
            yield call, ws, ws.recv_until("output_audio_buffer.started")[-1]


def accept(server, call, body=None):
    resp = post(server, call.call_id, "accept", body or {"type": "realtime", "instructions": "Answer the phone."})
    assert resp.status_code == 200 and resp.content == b""
    return resp


# -- REST -------------------------------------------------------------------------------------------------------------
def test_accept_applies_the_session_config_and_a_sideband_gets_that_session(server, ringing):
    assert ringing.state == "ringing"
    accept(server, ringing, {"type": "realtime", "model": "gpt-realtime", "instructions": "Answer the phone.",
                             "output_modalities": ["text"],
                             "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]})
    assert ringing.wait_accepted(5) and ringing.state == "accepted"
    with sideband(server, ringing.call_id) as ws:  # no model: optional on a sideband
        session = ws.expect("session.created")["session"]
        assert session["instructions"] == "Answer the phone." and session["output_modalities"] == ["text"]
        assert session["model"] == "gpt-realtime" and session["tools"][0]["name"] == "lookup"
        ws.send({"type": "response.create", "response": {"tool_choice": "none"}})
        done = ws.recv_until("response.done")[-1]["response"]
        assert done["status"] == "completed"
    assert ringing.wait_for_reply(1, 5) == "Hello, you reached the simulator."


def test_a_model_on_the_sideband_url_is_accepted_and_the_calls_model_kept(server, ringing):
    accept(server, ringing, {"type": "realtime", "model": "gpt-realtime-mini"})
    with sideband(server, ringing.call_id, model="gpt-realtime") as ws:
        assert ws.expect("session.created")["session"]["model"] == "gpt-realtime-mini"


def test_unknown_call_is_404_in_the_services_error_shape(server):
    for action in ("accept", "reject", "refer", "hangup"):
        resp = post(server, "rtc_nope", action, {"type": "realtime"} if action == "accept" else {})
        assert resp.status_code == 404
        err = error_of(resp)
        assert err["code"] == "call_not_found" and "rtc_nope" in err["message"]
        assert err["type"] == "invalid_request_error"


def test_calls_need_a_valid_api_key(server, ringing):
    resp = post(server, ringing.call_id, "accept", {"type": "realtime"}, key="sk-wrong-key-0000000000")
    assert resp.status_code == 401 and error_of(resp)["code"] == "invalid_api_key"
    assert "sk-wrong" not in resp.text
    assert ringing.state == "ringing"


@pytest.mark.parametrize("body, code, param", [
    ({}, "missing_required_parameter", "type"),
    ({"type": "transcription"}, "invalid_value", "type"),
    ({"type": "realtime", "voice": "alloy"}, "unknown_parameter", "voice"),
    ({"type": "realtime", "output_modalities": ["video"]}, None, None),
    ({"type": "realtime", "instructions": 42}, None, None),
    ({"type": "realtime", "model": "gpt-nonexistent"}, "model_not_found", "model"),
])
def test_a_bad_accept_body_is_400_and_the_call_keeps_ringing(server, ringing, body, code, param):
    resp = post(server, ringing.call_id, "accept", body)
    assert resp.status_code == 400
    err = error_of(resp)
    if code is not None:
        assert (err["code"], err["param"]) == (code, param)
    assert err["message"] and ringing.state == "ringing"


def test_an_accept_body_that_is_not_a_json_object_is_400(server, ringing):
    assert post(server, ringing.call_id, "accept", raw="{not json").status_code == 400
    resp = post(server, ringing.call_id, "accept", raw="[1, 2]")
    assert resp.status_code == 400 and error_of(resp)["code"] == "invalid_type"
    assert ringing.state == "ringing"


def test_second_accept_and_reject_after_accept_are_refused(server, ringing):
    accept(server, ringing)
    again = post(server, ringing.call_id, "accept", {"type": "realtime"})
    assert again.status_code == 400 and error_of(again)["code"] == "call_already_accepted"
    late = post(server, ringing.call_id, "reject", {})
    assert late.status_code == 400 and error_of(late)["code"] == "call_already_accepted"
    assert ringing.state == "accepted"


def test_reject_defaults_to_603_and_ends_the_call(server, ringing):
    resp = post(server, ringing.call_id, "reject")
    assert resp.status_code == 200 and resp.content == b""
    assert ringing.wait_ended(5) == "rejected" and ringing.reject_status == 603 and ringing.ended_by == "app"
    assert ringing.wait_accepted(1) is False
    for action, body in (("accept", {"type": "realtime"}), ("reject", {}), ("hangup", None)):
        resp = post(server, ringing.call_id, action, body)
        assert resp.status_code == 400 and error_of(resp)["code"] == "call_ended"


def test_reject_with_a_status_code_and_bad_status_codes(server, ringing):
    for bad in (200, "486", 700, True):
        resp = post(server, ringing.call_id, "reject", {"status_code": bad})
        assert resp.status_code == 400 and error_of(resp)["param"] == "status_code"
    assert post(server, ringing.call_id, "reject", {"status_code": 486}).status_code == 200
    assert ringing.wait_ended(5) == "rejected" and ringing.reject_status == 486


def test_refer_and_hangup_need_an_accepted_call(server, ringing):
    for action, body in (("refer", {"target_uri": "tel:+14155550123"}), ("hangup", None)):
        resp = post(server, ringing.call_id, action, body)
        assert resp.status_code == 400 and error_of(resp)["code"] == "call_not_accepted"
    assert ringing.state == "ringing"


def test_refer_needs_a_target_uri(server, ringing):
    accept(server, ringing)
    missing = post(server, ringing.call_id, "refer", {})
    assert missing.status_code == 400 and error_of(missing)["code"] == "missing_required_parameter"
    empty = post(server, ringing.call_id, "refer", {"target_uri": ""})
    assert empty.status_code == 400 and error_of(empty)["param"] == "target_uri"
    assert ringing.state == "accepted"


@pytest.mark.parametrize("action, body, state", [
    ("hangup", None, "ended"),
    ("refer", {"target_uri": "sip:agent@example.com"}, "referred"),
])
def test_hangup_and_refer_close_the_sideband_with_1000(server, ringing, action, body, state):
    accept(server, ringing)
    with sideband(server, ringing.call_id) as ws:
        ws.expect("session.created")
        assert post(server, ringing.call_id, action, body).status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        assert closed.value.rcvd.code == 1000
    assert ringing.wait_ended(5) == state and ringing.ended_by == "app"
    assert ringing.referred_to == (body or {}).get("target_uri")


def test_the_caller_hanging_up_drops_a_response_in_progress_and_closes_the_sideband(make_fake_server):
    with speaking(make_fake_server, "A long answer, " * 20) as (call, ws, _started):
        assert call.hangup() is True and call.hangup() is False
        types = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                types.append(ws.recv(5)["type"])
        assert closed.value.rcvd.code == 1000 and "response.done" not in types
    assert call.state == "ended" and call.ended_by == "caller"


# -- the sideband -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("situation, code", [("unknown", "call_not_found"), ("ringing", "call_not_accepted"),
                                             ("ended", "call_ended")])
def test_a_sideband_needs_an_accepted_live_call(server, ringing, situation, code):
    call_id = "rtc_unknown" if situation == "unknown" else ringing.call_id
    if situation == "ended":
        post(server, call_id, "reject")
    with sideband(server, call_id) as ws:
        err = ws.expect("error")["error"]
        assert err["code"] == code and err["type"] == "invalid_request_error"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        assert closed.value.rcvd.code == 4000


def test_call_audio_goes_to_the_caller_with_output_audio_buffer_events(server, ringing):
    accept(server, ringing)
    with sideband(server, ringing.call_id) as ws:
        ws.expect("session.created")
        ws.send({"type": "response.create"})
        events = ws.recv_until("response.done")
        events += ws.recv_until("output_audio_buffer.stopped")
    types = [e["type"] for e in events]
    assert "response.output_audio.delta" not in types  # the audio went over the phone line
    rid = events[-1]["response_id"]
    assert events[types.index("output_audio_buffer.started")]["response_id"] == rid
    assert types.index("response.output_audio_transcript.delta") < types.index("output_audio_buffer.started") \
        < types.index("response.done") < types.index("output_audio_buffer.stopped")
    heard = ringing.heard_audio
    assert len(heard) == len(synthesize("Hello, you reached the simulator.", "pcm16"))
    assert ringing.replies == ["Hello, you reached the simulator."]


def test_a_caller_barging_in_clears_the_audio_and_truncates_what_was_not_heard(make_fake_server):
    answer = "This is a long answer that the caller interrupts, because nobody wants to hear all of it."
    with speaking(make_fake_server, answer) as (call, ws, _started):
        call.say(synthesize("wait", "pcm16"))
        events = ws.recv_until("conversation.item.truncated", timeout=10)
    types = [e["type"] for e in events]
    i = types.index("input_audio_buffer.speech_started")
    assert types[i + 1] == "output_audio_buffer.cleared"
    done = next(e for e in events if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "turn_detected"
    assert types.index("response.done") < types.index("conversation.item.truncated")
    truncated = events[-1]
    assert truncated["item_id"] == done["output"][0]["id"] and truncated["audio_end_ms"] >= 0
    assert "output_audio_buffer.stopped" not in types
    assert len(call.heard_audio) < len(synthesize(answer, "pcm16"))  # the caller stopped hearing it


def test_output_audio_buffer_clear_from_the_app_cuts_the_callers_audio(make_fake_server):
    with speaking(make_fake_server, "A long answer that the app cuts off, " * 3) as (_call, ws, started):
        ws.send({"type": "response.cancel"})
        ws.send({"type": "output_audio_buffer.clear"})
        events = ws.recv_until("output_audio_buffer.cleared")
        assert events[-1]["response_id"] == started["response_id"]
        ws.send({"type": "output_audio_buffer.clear"})  # nothing playing any more: nothing to say
        ws.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "x"}]}})
        after = ws.recv_until("conversation.item.done")
    assert "output_audio_buffer.cleared" not in [e["type"] for e in after]
    assert "conversation.item.truncated" not in [e["type"] for e in events]


def test_dtmf_digits_arrive_as_the_service_sends_them(server, ringing):
    accept(server, ringing)
    with sideband(server, ringing.call_id) as ws:
        ws.expect("session.created")
        ringing.press("4*#")
        events = [ws.recv(5) for _ in range(3)]
    assert [e["event"] for e in events] == ["4", "*", "#"]
    for e in events:
        assert set(e) == {"type", "event", "received_at"} and e["type"] == "input_audio_buffer.dtmf_event_received"
    assert ringing.digits_sent == "4*#"
    with pytest.raises(ValueError):
        ringing.press("5x")


def test_a_newer_sideband_takes_the_call_over_and_continues_its_session(server, ringing):
    accept(server, ringing)
    first = sideband(server, ringing.call_id)
    session_id = first.expect("session.created")["session"]["id"]
    first.send({"type": "conversation.item.create", "item": {"id": "item_kept", "type": "message", "role": "user",
                                                             "content": [{"type": "input_text", "text": "hi"}]}})
    first.recv_until("conversation.item.done")
    with sideband(server, ringing.call_id) as second:
        assert second.expect("session.created")["session"]["id"] == session_id
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                first.recv(5)
        assert closed.value.rcvd.code == 1000
        second.send({"type": "conversation.item.retrieve", "item_id": "item_kept"})
        assert second.expect("conversation.item.retrieved")["item"]["id"] == "item_kept"
    first.close()
    assert ringing.sideband_count == 2 and ringing.state == "accepted"


def test_stopping_the_server_ends_its_calls(make_fake_server):
    server = make_fake_server()
    with ringing_call(server, SECRET) as call:
        accept(server, call)
        ws = sideband(server, call.call_id)
        ws.expect("session.created")
        server.stop()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        ws.close()
    assert closed.value.rcvd.code == 1001 and call.state == "ended" and call.ended_by == "server"


def test_a_g711_call_hears_the_caller_and_the_caller_hears_pcm16(server, ringing):
    pcmu = {"type": "audio/pcmu"}
    accept(server, ringing, {"type": "realtime", "audio": {"input": {"format": pcmu}, "output": {"format": pcmu}}})
    with sideband(server, ringing.call_id) as ws:
        assert ws.expect("session.created")["session"]["audio"]["input"]["format"] == pcmu
        speech = synthesize("Hello there", "pcm16")
        ringing.say(speech)
        events = ws.recv_until("output_audio_buffer.stopped")
    types = [e["type"] for e in events]
    assert types[:2] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
    committed = ws.events[types.index("input_audio_buffer.committed") + 1]
    assert committed["type"] == "input_audio_buffer.committed"
    item = server.connections[-1].conversation.get(committed["item_id"])
    assert item.audio_format == "g711_ulaw" and item.audio_ms >= len(speech) // 48  # the caller's speech...
    assert len(item.audio) == item.audio_ms * 8  # ...as 8 kHz G.711
    expected = len(synthesize("Hello, you reached the simulator.", "pcm16"))
    assert abs(len(ringing.heard_audio) - expected) < expected * 0.02  # 8 kHz G.711 back to 24 kHz PCM16
