"""The session's own tools, ask, push_to_talk, conversation and usage (RealtimeSession features) on the simulator."""
import enum
import json
from dataclasses import dataclass

import pytest

from realtime_sync import FunctionTool, InputTranscription, SessionOptions, TurnDetection
from realtime_sync.protocol.transcription import TranscriptionOptions
from realtime_sync.tools import ToolDispatcher
from tests.support.sessions import start_session

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import FunctionCall, scripted, scripted_transcripts, synthesize  # noqa: E402


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@dataclass
class Place:
    city: str
    country: str = ""


def get_weather(place: Place, unit: Unit = Unit.C) -> dict:
    """Current weather for a place.

    Args:
        place: Where.
        unit: Temperature unit.
    """
    return {"city": place.city, "temperature": 21 if unit is Unit.C else 70, "unit": unit.value}


def start(server, options=None):
    return start_session(server, options)


def outputs(server):
    return [e["item"]["output"] for e in server.received
            if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"]


def test_tools_in_session_options_are_answered_automatically(make_fake_server):
    server = make_fake_server()  # the default responder calls the first tool with schema-generated arguments
    options = SessionOptions(output_modalities=["text"], tools=[FunctionTool.from_callable(get_weather)])
    with start(server, options) as session:
        result = session.ask("Weather?", timeout=10)
        assert result.status == "completed" and [c.status for c in result.tool_calls] == ["completed"]
        assert json.loads(outputs(server)[0]) == {"city": "San Francisco", "temperature": 21, "unit": "celsius"}
        assert "San Francisco" in result.text
        sent_tools = [e for e in server.received if e["type"] == "session.update"][0]["session"]["tools"]
        assert sent_tools[0]["name"] == "get_weather" and "function" not in sent_tools[0]
        assert sent_tools[0]["parameters"]["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
        # conversation and usage were tracked from the start
        # (gpt-realtime-2.1, the default, says a commentary message before calling the tool)
        assert [(i.type, i.phase) for i in session.conversation.items()] == [
            ("message", None), ("message", "commentary"), ("function_call", None), ("function_call_output", None),
            ("message", "final_answer")]
        assert session.usage.total.responses == 2 == result.usage.responses
        assert session.usage.total.total_tokens == result.usage.total_tokens


def test_register_tool_decorator_and_unregister(make_fake_server):
    server = make_fake_server(responder=scripted(FunctionCall("add", {"a": 2, "b": 5}), "Seven."))
    with start(server, SessionOptions(output_modalities=["text"])) as session:
        @session.register_tool(timeout=5)
        def add(a: int, b: int) -> int:
            """Add two integers."""
            return a + b

        assert add(1, 1) == 2 and "add" in session.tools
        assert session.session_info.tools[0]["name"] == "add"  # the server acknowledged the new tool list
        result = session.ask("2+5?", timeout=10)
        assert result.text == "Seven." and result.tool_calls[0].output == "7"
        assert session.unregister_tool("add") and session.session_info.tools == []


def test_declared_only_tools_stay_manual_and_a_separate_dispatcher_takes_over(make_fake_server):
    declared = FunctionTool("get_weather", "weather", FunctionTool.from_callable(get_weather).parameters)
    server = make_fake_server(responder=scripted(FunctionCall("get_weather", {"place": {"city": "Rome"}}),
                                                 FunctionCall("get_weather", {"place": {"city": "Oslo"}}),
                                                 "Done."))
    with start(server, SessionOptions(output_modalities=["text"], tools=[declared])) as session:
        first = session.ask("Weather in Rome?", timeout=10)  # no function: the app answers itself
        assert first.tool_calls[0].status == "manual" and outputs(server) == []
        session.add_item({"type": "function_call_output", "call_id": first.tool_calls[0].call_id,
                          "output": "sunny"})
        with ToolDispatcher(session, [get_weather]) as mine:
            assert not session.tool_dispatcher.auto_dispatch
            second = session.ask("And Oslo?", timeout=10)
            assert second.text == "Done." and second.tool_calls[0].status == "completed"
            assert mine.get(second.tool_calls[0].call_id) is not None
        assert session.tool_dispatcher.auto_dispatch  # restored on detach
    assert len(outputs(server)) == 2  # never answered twice


def test_session_push_to_talk_and_transcription(make_fake_server):
    server = make_fake_server(responder=scripted("Pushed."), transcriber=scripted_transcripts("hello kiosk",
                                                                                              "a file"))
    options = SessionOptions(output_modalities=["text"], turn_detection=TurnDetection.disabled(),
                             input_transcription=InputTranscription(model="whisper-1"))
    with start(server, options) as session:
        with session.push_to_talk() as ptt:
            ptt.send(synthesize("hello kiosk"))
        result = ptt.result(timeout=10)
        assert result.text == "Pushed."
        assert session.conversation.wait_for_transcript(result.user_item_id, timeout=5) == "hello kiosk"
        assert session.usage.transcription.transcriptions == 1
    # a transcription-only session (?intent=transcription) for a file
    options = TranscriptionOptions(model="whisper-1", turn_detection=TurnDetection.disabled())
    with start(server, options) as session:
        assert session.transcribe(synthesize("a file"), timeout=10).text == "a file"
        assert session.usage.transcription.transcriptions == 1 and session.usage.transcription.seconds >= 1
    assert server.connections[1].session.is_transcription and not server.connections[0].session.is_transcription


def test_a_2x_turn_separates_the_commentary_from_the_final_answer(make_fake_server):
    server = make_fake_server()  # gpt-realtime-2.1 (the default) says a preamble before calling a tool
    options = SessionOptions(output_modalities=["text"], tools=[FunctionTool.from_callable(get_weather)])
    with start(server, options) as session:
        result = session.ask("Weather?", timeout=10)
        assert result.commentary == "I'll check that for you."
        assert "San Francisco" in result.output_text and "I'll check" not in result.output_text
        assert "I'll check that for you." in result.all_text
