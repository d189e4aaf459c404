"""Transcription-only sessions in the simulator: ``?intent=transcription``, GA ``session.type="transcription"``,
beta ``transcription_session.*``, VAD-driven and manual commits, refusals and parameter errors."""
import numpy as np
import pytest

from realtime_sync.testing import TranscriptionRequest, scripted_transcripts
from tests.testing.sim_client import SimClient, append_events, open_client, silence, user_text, voiced

TURN = np.concatenate([silence(1000), voiced(1200), silence(1000)]).astype("<i2").tobytes()
TOL = 20


def open_transcription(server, beta=False, created=True):
    headers = {"Authorization": f"Bearer {server.api_key}"}
    if beta:
        headers["OpenAI-Beta"] = "realtime=v1"
    client = SimClient(server.url(intent="transcription"), headers)
    if created:
        client.created = client.expect("transcription_session.created" if beta else "session.created")["session"]
    return client


def update_event(beta, **fields):
    """A transcription configuration in the dialect's shape (fields given in beta's flat names)."""
    if beta:
        return {"type": "transcription_session.update", "session": fields}
    names = {"input_audio_format": "format", "input_audio_transcription": "transcription",
             "input_audio_noise_reduction": "noise_reduction", "turn_detection": "turn_detection"}
    audio_in = {names[k]: v for k, v in fields.items() if k in names}
    if "format" in audio_in:
        audio_in["format"] = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"}}[
            audio_in["format"]]
    session = {"type": "transcription", "audio": {"input": audio_in}}
    if "include" in fields:
        session["include"] = fields["include"]
    return {"type": "session.update", "session": session}


def send_audio(c, audio):
    for ev in append_events(audio):
        c.send(ev)


def transcription_events(c, item_id, timeout=5.0):
    """Events until the ``completed`` (or ``failed``) transcription of ``item_id``."""
    out = []
    while True:
        ev = c.recv(timeout)
        out.append(ev)
        if ev["type"].startswith("conversation.item.input_audio_transcription.") and ev["item_id"] == item_id \
                and ev["type"].rsplit(".", 1)[-1] in ("completed", "failed"):
            return out


def test_ga_intent_url_starts_a_transcription_session(make_fake_server):
    server = make_fake_server()
    with open_transcription(server) as c:
        s = c.created
        assert s["type"] == "transcription" and s["object"] == "realtime.transcription_session"
        assert s["id"].startswith("sess_") and "model" not in s and "instructions" not in s
        assert s["audio"]["input"]["transcription"]["model"] == "gpt-4o-transcribe"
        assert s["audio"]["input"]["turn_detection"] == {"type": "server_vad", "threshold": 0.5,
                                                         "prefix_padding_ms": 300, "silence_duration_ms": 500}
        assert "output" not in s["audio"]
    conn = server.connections[0]
    assert conn.session.is_transcription and conn.route.intent == "transcription"


@pytest.mark.parametrize("beta", [False, True], ids=["ga", "beta"])
def test_vad_turns_are_transcribed_and_never_answered(make_fake_server, beta):
    seen = []

    def transcriber(request: TranscriptionRequest) -> str:
        seen.append(request)
        return f"Turn {len(seen)}."

    server = make_fake_server(transcriber=transcriber)
    with open_transcription(server, beta=beta) as c:
        c.send(dict(update_event(beta, input_audio_transcription={"model": "gpt-4o-mini-transcribe",
                                                                  "language": "en", "prompt": "Turns."}),
                    event_id="cfg"))
        updated = c.expect("transcription_session.updated" if beta else "session.updated")["session"]
        transcription = updated["input_audio_transcription"] if beta else updated["audio"]["input"]["transcription"]
        assert transcription == {"model": "gpt-4o-mini-transcribe", "language": "en", "prompt": "Turns."}
        send_audio(c, TURN + TURN)
        events = []
        while sum(e["type"].endswith("transcription.completed") for e in events) < 2:
            events.append(c.recv())
        kinds = [e["type"] for e in events]
        started = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
        stopped = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
        committed = [e for e in events if e["type"] == "input_audio_buffer.committed"]
        items = [e["item"] for e in events if e["type"] == ("conversation.item.created" if beta
                                                            else "conversation.item.added")]
        assert [abs(e["audio_start_ms"] - want) <= TOL for e, want in zip(started, (700, 3900))] == [True] * 2
        assert [abs(e["audio_end_ms"] - want) <= TOL for e, want in zip(stopped, (2700, 5900))] == [True] * 2
        ids = [e["item_id"] for e in committed]
        assert len(set(ids)) == 2 and ids == [e["item_id"] for e in started] == [e["item_id"] for e in stopped]
        assert [e["previous_item_id"] for e in committed] == [None, ids[0]]
        assert [(i["id"], i["role"], i["content"][0]["type"]) for i in items] == [(i, "user", "input_audio")
                                                                                  for i in ids]
        if not beta:
            assert [e["item"]["id"] for e in events if e["type"] == "conversation.item.done"] == ids
        for turn, item_id in enumerate(ids, 1):
            mine = [e for e in events if e.get("item_id") == item_id]
            order = [e["type"].rsplit(".", 1)[-1] for e in mine]
            assert order[:3] == ["speech_started", "speech_stopped", "committed"] and order[-1] == "completed"
            assert kinds.index("input_audio_buffer.committed") < kinds.index(mine[3]["type"])
            deltas = [e["delta"] for e in mine if e["type"].endswith("transcription.delta")]
            assert "".join(deltas) == f"Turn {turn}." and len(deltas) > 1
            assert mine[-1]["transcript"] == f"Turn {turn}."
            assert mine[-1]["usage"]["type"] == "tokens" and mine[-1]["usage"]["total_tokens"] > 0
        c.drain(0.3)
        assert not any(e["type"].startswith("response.") for e in c.events)
    assert [(r.model, r.language, r.prompt) for r in seen] == [("gpt-4o-mini-transcribe", "en", "Turns.")] * 2
    assert all(abs(r.duration_ms - 2000) <= 2 * TOL for r in seen)
    assert not any(t.startswith("response.") for t in server.connections[0].sent_types)


@pytest.mark.parametrize("beta", [False, True], ids=["ga", "beta"])
def test_manual_commit_with_vad_off_and_logprobs(make_fake_server, beta):
    server = make_fake_server(transcriber=scripted_transcripts("Hello world."))
    with open_transcription(server, beta=beta) as c:
        c.send(update_event(beta, input_audio_transcription={"model": "whisper-1"}, turn_detection=None,
                            input_audio_noise_reduction={"type": "near_field"},
                            include=["item.input_audio_transcription.logprobs"]))
        updated = c.expect("transcription_session.updated" if beta else "session.updated")["session"]
        assert (updated["turn_detection"] if beta else updated["audio"]["input"]["turn_detection"]) is None
        send_audio(c, TURN)
        c.send({"type": "input_audio_buffer.commit"})
        item_id = c.expect("input_audio_buffer.committed")["item_id"]
        events = transcription_events(c, item_id)
        deltas = [e for e in events if e["type"].endswith(".delta")]
        assert [d["delta"] for d in deltas] == ["Hello world."]  # whisper-1: one delta
        completed = events[-1]
        assert completed["transcript"] == "Hello world."
        assert completed["usage"]["type"] == "duration" and completed["usage"]["seconds"] == 3
        assert [p["token"] for p in completed["logprobs"]] == ["Hello", " world", "."]
        assert all(p["logprob"] <= 0 and bytes(p["bytes"]).decode() == p["token"] for p in deltas[0]["logprobs"])
        # commit needs 100 ms of audio; clearing works as in realtime sessions
        c.send({"type": "input_audio_buffer.commit", "event_id": "empty"})
        err = c.expect("error")["error"]
        assert (err["code"], err["event_id"]) == ("input_audio_buffer_commit_empty", "empty")
        c.send({"type": "input_audio_buffer.clear"})
        c.expect("input_audio_buffer.cleared")
        assert not any(e["type"].startswith("input_audio_buffer.speech") for e in c.events)


@pytest.mark.parametrize("beta, event, code, param", [
    (False, {"type": "session.update", "session": {"type": "transcription", "instructions": "hi"}},
     "unknown_parameter", "session.instructions"),
    (False, {"type": "session.update", "session": {"type": "transcription", "audio": {"output": {"voice": "x"}}}},
     "unknown_parameter", "session.audio.output"),
    (False, {"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
        "transcription": {"model": "whisper-1", "bogus": 1}}}}}, "unknown_parameter",
     "session.audio.input.transcription.bogus"),
    (False, {"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
        "turn_detection": {"type": "server_vad", "threshold": 1.5}}}}}, "decimal_above_max_value",
     "session.audio.input.turn_detection.threshold"),
    (False, {"type": "session.update", "session": {"type": "transcription", "include": ["nope"]}},
     "invalid_value", "session.include[0]"),
    (False, {"type": "session.update", "session": {"type": "realtime"}}, "invalid_value", "session.type"),
    (False, {"type": "session.update", "session": {"audio": {}}}, "missing_required_parameter", "session.type"),
    (True, {"type": "transcription_session.update", "session": {"voice": "alloy"}}, "unknown_parameter",
     "session.voice"),
    (True, {"type": "transcription_session.update", "session": {"input_audio_transcription": {
        "model": "gpt-realtime"}}}, "invalid_value", "session.input_audio_transcription.model"),
    (True, {"type": "transcription_session.update", "session": {"turn_detection": {"silence_duration_ms": -1}}},
     "integer_below_min_value", "session.turn_detection.silence_duration_ms"),
])
def test_invalid_transcription_updates_get_the_services_errors(make_fake_server, beta, event, code, param):
    server = make_fake_server()
    with open_transcription(server, beta=beta) as c:
        before = server.connections[0].session_wire
        c.send(dict(event, event_id="bad"))
        err = c.expect("error")["error"]
        assert (err["type"], err["code"], err["param"], err["event_id"]) == ("invalid_request_error", code, param,
                                                                             "bad")
        assert server.connections[0].session_wire == before  # the whole update is discarded
        c.send(update_event(beta, input_audio_format="g711_ulaw"))  # still open and configurable
        c.expect("transcription_session.updated" if beta else "session.updated")


@pytest.mark.parametrize("beta, event", [
    (beta, event) for beta in (False, True)
    for event in ({"type": "response.create"}, {"type": "response.cancel", "response_id": "resp_1"}, user_text("hi"))
] + [(True, {"type": "session.update", "session": {"modalities": ["text"]}})])
def test_responses_and_conversation_events_are_refused(make_fake_server, beta, event):
    server = make_fake_server()
    with open_transcription(server, beta=beta) as c:
        c.send(dict(event, event_id="refused"))
        err = c.expect("error")["error"]
        assert (err["type"], err["code"], err["param"], err["event_id"]) == ("invalid_request_error",
                                                                             "invalid_value", "type", "refused")
        assert f"'{event['type']}' is not supported in a transcription session" in err["message"]
        assert ("'transcription_session.update'" if beta else "'session.update'") in err["message"]
        send_audio(c, TURN[:48000])  # the session keeps working
        c.send({"type": "input_audio_buffer.commit"})
        c.expect("input_audio_buffer.committed")
    assert server.connections[0].active_response is None


def test_ga_realtime_session_switches_to_transcription(make_fake_server):
    server = make_fake_server(transcriber=scripted_transcripts("switched"))
    with open_client(server) as c:
        c.send(user_text("kept"))
        c.expect("conversation.item.added")
        c.expect("conversation.item.done")
        c.send({"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300}}}}})
        s = c.expect("session.updated")["session"]
        assert s["type"] == "transcription" and s["id"] == server.connections[0].session.id
        assert s["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 300
        send_audio(c, TURN)
        c.expect("input_audio_buffer.speech_started")
        heard = c.recv_until("input_audio_buffer.speech_stopped")  # a streaming model's deltas come during speech
        assert abs(heard[-1]["audio_end_ms"] - 2500) <= TOL
        assert [e["delta"] for e in heard[:-1]] == ["switched"]
        item_id = c.expect("input_audio_buffer.committed")["item_id"]
        assert transcription_events(c, item_id)[-1]["transcript"] == "switched"
        c.send({"type": "response.create"})
        assert c.expect("error")["error"]["code"] == "invalid_value"
    assert [i.role for i in server.connections[0].items] == ["user", "user"]


def test_beta_realtime_session_switches_with_transcription_session_update(make_fake_server):
    server = make_fake_server()
    with open_client(server, model="gpt-4o-realtime-preview", beta=True) as c:
        c.send({"type": "transcription_session.update", "session": {
            "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "de"}}})
        s = c.expect("transcription_session.updated")["session"]
        assert s["object"] == "realtime.transcription_session" and "modalities" not in s
        assert s["input_audio_transcription"] == {"model": "gpt-4o-transcribe", "language": "de", "prompt": None}
        c.send({"type": "session.update", "session": {"instructions": "x"}})
        assert c.expect("error")["error"]["param"] == "type"


def test_intent_urls_and_keys(make_fake_server):
    server = make_fake_server(azure_deployments=["gpt-realtime"])
    assert server.url(intent="transcription").endswith("/v1/realtime?intent=transcription")
    with SimClient(server.ws_url + "?intent=translation", {"Authorization": f"Bearer {server.api_key}"}) as c:
        err = c.expect("error")["error"]
        assert (err["code"], err["message"]) == ("invalid_value", "Invalid value: 'translation'. Supported values "
                                                 "are: 'transcription'.")
        with pytest.raises(Exception):
            c.recv(2)
        assert c.ws.close_code == 4000
    azure = server.azure_endpoint.replace("http", "ws", 1)
    for query, first in (("/openai/v1/realtime?intent=transcription", "session.created"),
                         ("/openai/v1/realtime?model=gpt-realtime&intent=transcription", "session.created"),
                         ("/openai/realtime?api-version=2025-04-01-preview&intent=transcription",
                          "transcription_session.created")):
        with SimClient(azure + query, {"api-key": server.api_key}) as c:
            assert c.expect(first)["session"]["object"] == "realtime.transcription_session"
    # an ephemeral key minted for a transcription session starts one, without intent or model
    secret = server.mint_client_secret(session={"type": "transcription", "audio": {"input": {
        "transcription": {"model": "whisper-1"}}}})
    assert secret["session"]["type"] == "transcription"
    with SimClient(server.ws_url, {"Authorization": f"Bearer {secret['value']}"}) as c:
        s = c.expect("session.created")["session"]
        assert s["type"] == "transcription" and s["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    # without the intent, a model is still required
    with SimClient(server.ws_url, {"Authorization": f"Bearer {server.api_key}"}) as c:
        assert c.expect("error")["error"]["code"] == "missing_model"


def test_transcriber_failure_is_reported_per_item(make_fake_server):
    def broken(request):
        raise RuntimeError("no speech model here")

    server = make_fake_server(transcriber=broken)
    with open_transcription(server, beta=True) as c:
        c.send(update_event(True, turn_detection=None))
        c.expect("transcription_session.updated")
        send_audio(c, TURN[:24000])
        c.send({"type": "input_audio_buffer.commit"})
        item_id = c.expect("input_audio_buffer.committed")["item_id"]
        failed = transcription_events(c, item_id)[-1]
        assert failed["type"].endswith(".failed") and failed["error"]["code"] == "transcription_failed"
