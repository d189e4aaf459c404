"""Issue 11: the simulator's events have the live service's shape (recorded traces, PROTOCOL.md section 12).

Each test names the difference of issue 11 it holds. Every event is also checked by the suite's autouse fixture
(strict schema with the service's nulls, and openai-python's pydantic models).
"""
import numpy as np
import pytest

from realtime_sync.testing.openai_models import openai_model_checker
from realtime_sync.testing.validate import SERVICE_NULL_KEYS, drop_service_nulls, emitted_event_errors
from tests.testing.sim_client import append_events, open_client, silence, spoken, user_text, voiced


def test_null_keys_are_sent_as_the_service_sends_them(make_fake_server):
    """Difference 1: status_details / usage / include / transcription language+prompt are null, not left out."""
    server = make_fake_server()
    with open_client(server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "audio": {
            "input": {"transcription": {"model": "whisper-1"}}}}})
        session = c.expect("session.updated")["session"]
        assert "include" in session and session["include"] is None
        tr = session["audio"]["input"]["transcription"]
        assert tr["language"] is None and tr["prompt"] is None
        c.send(user_text("hello"))
        c.send({"type": "response.create"})
        created = next(e for e in c.recv_until("response.created") if e["type"] == "response.created")["response"]
        assert created["status_details"] is None and created["usage"] is None
        done = c.recv_until("response.done")[-1]["response"]
        assert done["status"] == "completed" and done["status_details"] is None and done["usage"]["total_tokens"] > 0


def test_beta_transcription_prompt_is_null(make_fake_server):
    server = make_fake_server(allow_beta=True)
    with open_client(server, model="gpt-4o-realtime-preview", beta=True) as c:
        c.send({"type": "session.update", "session": {"input_audio_transcription": {"model": "whisper-1"}}})
        tr = c.expect("session.updated")["session"]["input_audio_transcription"]
        assert tr == {"model": "whisper-1", "language": None, "prompt": None}


def test_user_audio_content_carries_a_null_transcript(make_fake_server):
    """The headline of issue 11: ``{"type": "input_audio", "transcript": null}`` (agents-realtime requires it)."""
    server = make_fake_server()
    with open_client(server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        c.expect("session.updated")
        audio = np.concatenate([silence(300), voiced(800), silence(900)]).astype("<i2").tobytes()
        for ev in append_events(audio):
            c.send(ev)
        added = c.recv_until("conversation.item.added")[-1]["item"]
        assert added["content"] == [{"type": "input_audio", "transcript": None}]


def test_service_nulls_are_allowed_only_where_the_service_sends_them():
    """The validation allowance is exactly the documented keys: another null still fails the strict schema."""
    assert SERVICE_NULL_KEYS == {"status_details", "usage", "include", "language", "prompt", "transcript"}
    assert drop_service_nulls({"a": {"usage": None, "x": None}}) == {"a": {"x": None}}
    ok = {"type": "response.created", "event_id": "e", "response": {
        "object": "realtime.response", "id": "r", "status": "in_progress", "status_details": None, "output": [],
        "conversation_id": "c", "output_modalities": ["text"], "max_output_tokens": "inf", "usage": None,
        "metadata": None}}
    assert emitted_event_errors(ok, "ga") == []
    bad = {**ok, "response": {**ok["response"], "output": None}}
    assert emitted_event_errors(bad, "ga")


def test_openai_models_check_rejects_a_wrong_event():
    checker = openai_model_checker()
    if checker is None:
        pytest.skip("openai-python is not installed")
    from realtime_sync.protocol import Dialect

    assert checker({"type": "response.done", "event_id": "e", "response": {"status": "weird"}}, Dialect.GA)
    assert checker({"type": "response.output_text.delta", "event_id": "e", "response_id": "r", "item_id": "i",
                    "output_index": 0, "content_index": 0, "delta": "x"}, Dialect.GA) == []


def test_beta_is_refused_on_the_openai_path_by_default_and_kept_on_azure_preview():
    """Difference 2: a simulator built without ``allow_beta`` answers ``OpenAI-Beta: realtime=v1`` like today's
    service (``beta_api_shape_disabled``, close 4000); the Azure preview path still speaks beta."""
    from realtime_sync.testing import FakeRealtimeServer
    from tests.testing.sim_client import SimClient
    from tests.testing.test_sim_auth import _closed_after_error

    with FakeRealtimeServer(pace=0) as server:
        client = SimClient(server.url("gpt-realtime"), {"Authorization": f"Bearer {server.api_key}",
                                                        "OpenAI-Beta": "realtime=v1"})
        err, code, _ = _closed_after_error(client)
        assert (err["code"], code) == ("beta_api_shape_disabled", 4000)
        base = f"ws://127.0.0.1:{server.port}/openai/realtime"
        with SimClient(base + "?api-version=2024-10-01-preview&deployment=rt",
                       {"Authorization": f"Bearer {server.api_key}"}) as c:
            assert "modalities" in c.expect("session.created")["session"]


def test_session_update_with_the_same_model_is_accepted(make_fake_server):
    """Difference 7: openai-agents-python sends its model in every update; only a real change is refused."""
    server = make_fake_server()
    with open_client(server, model="gpt-realtime") as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime",
                                                      "instructions": "Be brief."}})
        assert c.expect("session.updated")["session"]["instructions"] == "Be brief."
        c.send({"type": "session.update", "session": {"type": "realtime", "model": "gpt-realtime-mini"}})
        err = c.expect("error")["error"]
        assert err["param"] == "session.model" and "Cannot change the model" in err["message"]


def _phases(events, item_type):
    return {e["type"]: e["item"].get("phase", "-") for e in events
            if isinstance(e.get("item"), dict) and e["item"].get("type") == item_type
            and e["item"].get("role") != "user"}


def test_gpt_realtime_2x_sends_phase_and_a_commentary_message_before_a_tool_call(make_fake_server):
    """Difference 6 (ADDENDUM A2.3): for 2.x models a response that calls a tool starts with a ``commentary``
    message; the answer after the tool output is a ``final_answer`` message; function calls carry no phase."""
    from realtime_sync.testing import FunctionCall, scripted

    server = make_fake_server(responder=scripted(FunctionCall("get_weather", {"city": "Paris"}), "Sunny."))
    with open_client(server, model="gpt-realtime-2.1") as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        c.expect("session.updated")
        c.send(user_text("Weather in Paris?"))
        c.send({"type": "response.create"})
        first = c.recv_until("response.done")
        msg = _phases(first, "message")
        assert set(msg.values()) == {"commentary"} and len(msg) == 4  # output_item.added/done, item.added/done
        assert set(_phases(first, "function_call").values()) == {"-"}
        out = first[-1]["response"]["output"]
        assert [(o["type"], o.get("phase")) for o in out] == [("message", "commentary"), ("function_call", None)]
        assert out[0]["content"][0]["text"]
        output = {"type": "function_call_output", "call_id": out[1]["call_id"], "output": "{}"}
        c.send({"type": "conversation.item.create", "item": output})
        c.send({"type": "response.create"})
        second = c.recv_until("response.done")
        assert [o.get("phase") for o in second[-1]["response"]["output"]] == ["final_answer"]
    with open_client(server, model="gpt-realtime") as c:  # not a 2.x model: no phase, no commentary
        c.send(user_text("Weather?"))
        c.send({"type": "response.create"})
        assert all("phase" not in o for o in c.recv_until("response.done")[-1]["response"]["output"])


def _vad_turn(server, transcription_model, text):
    """One server-VAD turn (``text`` said at the synth's rate, 100 ms appends) with an audio answer; the events."""
    with open_client(server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"], "audio": {
            "input": {"transcription": {"model": transcription_model}}}}})
        c.expect("session.updated")
        for ev in append_events(np.concatenate([silence(300), spoken(text), silence(900)]).astype("<i2").tobytes()):
            c.send(ev)
        return c.recv_until("response.done", timeout=20)


@pytest.mark.parametrize("pace", [0, 0.2])
def test_input_transcription_streams_during_speech_and_completes_among_the_answer(make_fake_server, pace):
    """Difference 3 (GA traces three-server-vad-turns and server-vad-audio-turn-with-input-transcription): a
    streaming transcription model's deltas arrive while the user speaks (before ``speech_stopped``), the rest right
    after ``response.created``, and ``completed`` late, among the answer's audio deltas; the same order at every
    pace."""
    from realtime_sync.testing import scripted, scripted_transcripts

    said = "Hello, my name is Marcelo."
    server = make_fake_server(pace=pace, responder=scripted("Hi Marcelo! Nice to meet you.", then=None),
                              transcriber=scripted_transcripts(said))
    events = _vad_turn(server, "gpt-realtime-whisper", said)
    types = [e["type"] for e in events]
    delta, done = ("conversation.item.input_audio_transcription." + k for k in ("delta", "completed"))
    item_id = events[types.index("input_audio_buffer.committed")]["item_id"]
    deltas = [i for i, t in enumerate(types) if t == delta]
    during = [i for i in deltas if types.index("input_audio_buffer.speech_started") < i
              < types.index("input_audio_buffer.speech_stopped")]
    after = [i for i in deltas if i not in during]
    assert during and after  # the last words are recognised after the speech ended
    assert all(types.index("response.created") < i < types.index("response.output_item.added") for i in after)
    assert "".join(events[i]["delta"] for i in deltas) == said
    assert {events[i]["item_id"] for i in deltas} == {item_id} and all(events[i]["obfuscation"] for i in deltas)
    completed = types.index(done)
    audio = [i for i, t in enumerate(types) if t == "response.output_audio.delta"]
    assert audio[0] < completed < audio[-1]  # late: among the answer's audio
    assert events[completed]["transcript"] == said and events[completed]["usage"]["type"] == "duration"


def test_whisper_1_transcribes_only_the_committed_turn(make_fake_server):
    """``whisper-1`` is not a streaming model: no deltas during speech; its one delta comes just before
    ``completed``, after the answer has started (banyan-landing beta traces)."""
    from realtime_sync.testing import scripted, scripted_transcripts

    server = make_fake_server(responder=scripted("Hi Marcelo! Nice to meet you.", then=None),
                              transcriber=scripted_transcripts("Hello, my name is Marcelo."))
    types = [e["type"] for e in _vad_turn(server, "whisper-1", "Hello, my name is Marcelo.")]
    delta = types.index("conversation.item.input_audio_transcription.delta")
    assert types.count("conversation.item.input_audio_transcription.delta") == 1
    assert types[delta + 1] == "conversation.item.input_audio_transcription.completed"
    assert types.index("response.content_part.added") < delta


def test_phase_on_a_created_assistant_message_is_kept_and_a_bad_value_refused(fake_server):
    """Clients resend ``phase`` when they replay history (ADDENDUM A2.3): the simulator keeps it on assistant
    messages and refuses a value the service does not know."""
    with open_client(fake_server, model="gpt-realtime-2.1") as c:
        item = {"type": "message", "role": "assistant", "phase": "commentary",
                "content": [{"type": "output_text", "text": "I'll check."}]}
        c.send({"type": "conversation.item.create", "item": item})
        assert c.recv_until("conversation.item.done")[-1]["item"]["phase"] == "commentary"
        c.send({"type": "conversation.item.create", "item": {**item, "phase": "draft"}})
        err = c.expect("error")["error"]
        assert err["param"].startswith("item") and err["code"] == "invalid_value" and "draft" in err["message"]
