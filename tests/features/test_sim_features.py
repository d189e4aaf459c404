"""Tools, turns, conversation mirror, usage and transcription end to end against the simulator (fast mode)."""
import json
import threading
import time

import pytest

from realtime_sync import InputTranscription, SessionOptions, TurnDetection
from realtime_sync.conversation import ConversationMirror
from realtime_sync.protocol.transcription import TranscriptionOptions
from realtime_sync.tools import ToolDispatcher, ToolRegistry
from realtime_sync.transcription import transcribe_file
from realtime_sync.turns import ask, push_to_talk
from realtime_sync.usage import UsageTracker
from tests.support.sessions import start_session

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import FunctionCall, Reply, scripted, scripted_transcripts, synthesize  # noqa: E402

TEXT = SessionOptions(output_modalities=["text"])


def connect(server, options=None, protocol="ga"):
    return start_session(server, options, protocol=protocol)


def received(server, type_):
    return [e for e in server.received if e["type"] == type_]


def tool_outputs(server):
    return {e["item"]["call_id"]: e["item"]["output"] for e in received(server, "conversation.item.create")
            if e["item"]["type"] == "function_call_output"}


def test_a_tool_that_raises_answers_with_an_error_and_the_session_lives_on(make_fake_server):
    def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"broken {reason}")

    server = make_fake_server(responder=scripted(FunctionCall("explode", {"reason": "pipe"}, call_id="call_1")))
    registry = ToolRegistry([explode])
    with connect(server, SessionOptions(output_modalities=["text"], tools=registry.definitions())) as session:
        with ToolDispatcher(session, registry):
            result = ask(session, "Do it", timeout=10)
            assert result.status == "completed" and len(result.responses) == 2
            assert json.loads(tool_outputs(server)["call_1"]) == {"error": "RuntimeError: broken pipe"}
            assert "RuntimeError: broken pipe" in result.text  # the default responder repeats the outputs
            (call,) = result.tool_calls
            assert call.status == "error" and call.call_id == "call_1"
            again = ask(session, "Still there?", timeout=10)  # the default responder calls the tool again
            assert again.status == "completed" and again.tool_calls[0].status == "error"


def test_a_tool_that_times_out_does_not_stall_the_turn(make_fake_server):
    release = threading.Event()

    def slow_lookup(query: str) -> str:
        """Takes forever."""
        release.wait(10)
        return "late"

    registry = ToolRegistry()
    registry.register(slow_lookup, timeout=0.3)
    server = make_fake_server(responder=scripted(FunctionCall("slow_lookup", {"query": "x"}, call_id="call_s")))
    try:
        with connect(server, SessionOptions(output_modalities=["text"], tools=registry.definitions())) as session:
            with ToolDispatcher(session, registry):
                started = time.monotonic()
                result = ask(session, "Look it up", timeout=10)
                assert time.monotonic() - started < 3
                assert json.loads(tool_outputs(server)["call_s"]) == {
                    "error": "tool 'slow_lookup' timed out after 0.3 s"}
                assert result.tool_calls[0].status == "timeout" and result.status == "completed"
                release.set()
                time.sleep(0.1)
                assert len(received(server, "conversation.item.create")) == 2  # the user text + one output
    finally:
        release.set()


def test_two_tool_calls_in_one_response_then_one_continuation(make_fake_server):
    def get_weather(city: str) -> dict:
        """Weather for a city."""
        return {"city": city, "sky": "clear"}

    def get_time(city: str) -> str:
        """Local time in a city."""
        return f"12:00 in {city}"

    server = make_fake_server(responder=scripted(Reply(text="Checking both.", function_calls=[
        FunctionCall("get_weather", {"city": "Oslo"}, call_id="call_w"),
        FunctionCall("get_time", {"city": "Oslo"}, call_id="call_t")])))
    registry = ToolRegistry([get_weather, get_time])
    with connect(server, SessionOptions(output_modalities=["text"], tools=registry.definitions())) as session:
        with ToolDispatcher(session, registry, max_workers=2):
            result = ask(session, "Weather and time in Oslo?", timeout=10)
    assert tool_outputs(server) == {"call_w": '{"city": "Oslo", "sky": "clear"}', "call_t": "12:00 in Oslo"}
    assert len(received(server, "response.create")) == 2  # ask's own, then exactly one continuation
    assert [c.status for c in result.tool_calls] == ["completed", "completed"]
    assert result.all_text.startswith("Checking both.")
    assert "12:00 in Oslo" in result.text and result.usage.responses == 2


def test_unknown_tool_and_invalid_arguments_on_beta(make_fake_server):
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    server = make_fake_server(responder=scripted(Reply(function_calls=[
        FunctionCall("add", {"a": 2, "b": 3}, call_id="call_ok"),
        FunctionCall("no_such_tool", {}, call_id="call_unknown"),
        FunctionCall("add", "{not json", call_id="call_bad")])))
    registry = ToolRegistry([add])
    with connect(server, SessionOptions(output_modalities=["text"], tools=registry.definitions()),
                 protocol="beta") as session:
        with ToolDispatcher(session, registry):
            result = ask(session, "Add", timeout=10)
    outputs = tool_outputs(server)
    assert outputs["call_ok"] == "5"
    assert json.loads(outputs["call_unknown"]) == {"error": "unknown tool 'no_such_tool'"}
    assert json.loads(outputs["call_bad"])["error"].startswith("invalid arguments")
    assert result.status == "completed"


def test_audio_reply_conversation_and_usage(make_fake_server):
    server = make_fake_server(responder=scripted("Hello there, friend.", "Bye now."))
    with connect(server) as session:  # default output: audio with transcript
        mirror, usage = ConversationMirror(keep_audio=True), UsageTracker()
        session.add_observer(mirror)
        session.add_observer(usage)
        first = ask(session, "Hi", timeout=10)
        second = ask(session, "Bye", timeout=10)
    assert first.transcript == "Hello there, friend." and first.text == "" and str(first) == first.transcript
    assert len(first.audio) > 48 * 500 and len(first.audio) % 2 == 0
    items = mirror.items()
    assert [(i.role, i.content_text) for i in items] == [("user", "Hi"), ("assistant", "Hello there, friend."),
                                                         ("user", "Bye"), ("assistant", "Bye now.")]
    assert items[1].audio == first.audio and items[3].audio == second.audio
    total = usage.total
    assert total.responses == 2
    assert total.total_tokens == first.usage.total_tokens + second.usage.total_tokens > 0
    assert total.output_audio_tokens == first.usage.output_audio_tokens + second.usage.output_audio_tokens > 0


def test_push_to_talk_and_a_transcript_arriving_after_the_reply(make_fake_server):
    words = " ".join(["word"] * 60)  # a long transcript streams token by token, slower than the short reply
    server = make_fake_server(pace=0.2, responder=scripted("OK.", "Fine."),
                              transcriber=scripted_transcripts(words, "second question"))
    options = SessionOptions(output_modalities=["text"], turn_detection=TurnDetection.disabled(),
                             input_transcription=InputTranscription(model="gpt-4o-transcribe"))
    with connect(server, options) as session:
        mirror = ConversationMirror()
        session.add_observer(mirror)
        with push_to_talk(session) as ptt:
            ptt.send(synthesize("what is the weather like today"))
        result = ptt.result(timeout=10)
        assert result.text == "OK." and result.user_item_id
        assert result.user_transcript is None  # the reply came first
        user = mirror.get(result.user_item_id)
        assert user.role == "user" and user.transcription_status != "completed"
        assert mirror.wait_for_transcript(result.user_item_id, timeout=5) == words
        assert mirror.ids().index(result.user_item_id) < mirror.ids().index(result.items[0].id)
        # ask() with audio on a session without VAD, waiting for the transcript too
        second = ask(session, synthesize("and tomorrow"), timeout=10, wait_for_transcript=5)
        assert second.text == "Fine." and second.user_transcript == "second question"
    assert [e["type"] for e in server.received if e["type"] != "input_audio_buffer.append"] == [
        "session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create",
        "input_audio_buffer.commit", "response.create"]


def test_server_vad_audio_turn(make_fake_server):
    server = make_fake_server(responder=scripted("I heard you."))
    options = SessionOptions(output_modalities=["text"], turn_detection=TurnDetection.server_vad())
    with connect(server, options) as session:
        result = ask(session, synthesize("hello are you there"), timeout=10)
    assert result.text == "I heard you." and result.user_item_id
    assert received(server, "response.create") == [] and received(server, "input_audio_buffer.commit") == []


def test_transcribe_file_on_the_simulator(make_fake_server, tmp_path):
    from tests.support.wav import write_wav

    path = tmp_path / "speech.wav"
    write_wav(path, synthesize("one two three four"))
    server = make_fake_server(transcriber=scripted_transcripts("One two three four."))
    with connect(server, TranscriptionOptions(turn_detection=TurnDetection.disabled())) as session:
        result = transcribe_file(session, str(path), timeout=10)
    assert result.text == "One two three four." and len(result.segments) == 1
    assert received(server, "response.create") == [] and server.connections[0].session.is_transcription
