"""Client commands: everything the API can build validates against the strict schema of its dialect."""
import base64
import json

import pytest

import realtime_sync as rs
from realtime_sync.protocol import (COMMAND_CLASSES, ContentPart, ConversationItem, FunctionTool,
                                    InputAudioAppendCommand, InputAudioClearCommand, InputAudioCommitCommand,
                                    InputTranscription, ItemCreateCommand, ItemDeleteCommand, ItemRetrieveCommand,
                                    ItemTruncateCommand, OutputAudioClearCommand, ResponseCancelCommand,
                                    ResponseCreateCommand, ResponseOptions, SessionOptions, SessionUpdateCommand,
                                    TranscriptionSessionUpdateCommand, TurnDetection, encode_audio_append,
                                    parse_command)

from .schemas import errors, load_examples, schema_doc

WEATHER = FunctionTool("get_weather_for_location", "Gets the weather for a location",
                       {"type": "object", "properties": {"location": {"type": "string"},
                                                         "unit": {"type": "string", "enum": ["c", "f"]}},
                        "required": ["location", "unit"]})

SESSIONS = [
    SessionOptions(),
    SessionOptions(instructions="Talk like a pirate.", voice="alloy", output_modalities=["audio"],
                   input_audio_format="pcm16", output_audio_format="pcm16",
                   turn_detection=TurnDetection.server_vad(0.5, 300, 500, True, True),
                   input_transcription=InputTranscription("whisper-1", "en", "weather"), noise_reduction="near_field",
                   tools=[WEATHER], tool_choice="auto", max_output_tokens=1024, speed=1.1),
    SessionOptions(output_modalities=["text"], input_audio_format="g711_ulaw", output_audio_format="g711_alaw",
                   turn_detection=TurnDetection.semantic_vad("high"), tools=[WEATHER.to_wire()],
                   tool_choice={"type": "function", "name": "get_weather_for_location"}, max_output_tokens="inf"),
    SessionOptions(turn_detection=TurnDetection.disabled(), instructions=""),
]
ITEMS = [
    ConversationItem.user_message("What's the weather?"),
    ConversationItem.user_message("two parts", b"\x00\x01" * 2400),
    ConversationItem.system_message("Be brief."),
    ConversationItem.assistant_message("Arr, ask me about the weather."),
    ConversationItem.function_call("get_weather_for_location", {"location": "Paris", "unit": "c"}, "call_1"),
    ConversationItem.function_call_output("call_1", {"temperature": 21}),
    ConversationItem.user_message(ContentPart(type="input_text", text="custom part"), id="item_custom"),
]
RESPONSES = [
    None,
    ResponseOptions(),
    ResponseOptions(instructions="Shout.", output_modalities=["text"], tools=[WEATHER], tool_choice="none",
                    max_output_tokens=200, conversation="none", metadata={"topic": "weather"},
                    input=[ConversationItem.user_message("only this")]),
    ResponseOptions(voice="verse", output_audio_format="pcm16", output_modalities=["audio"]),
]


def commands(dialect):
    out = [SessionUpdateCommand(session=s, event_id=f"evt_s{i}") for i, s in enumerate(SESSIONS)]
    out += [ItemCreateCommand(item=item) for item in ITEMS]
    out += [ItemCreateCommand(item=ITEMS[0], previous_item_id="root", event_id="evt_root")]
    out += [ResponseCreateCommand(response=r) for r in RESPONSES]
    out += [ItemDeleteCommand(item_id="item_1"), ItemRetrieveCommand(item_id="item_1"),
            ItemTruncateCommand(item_id="item_1", content_index=0, audio_end_ms=1500),
            InputAudioAppendCommand(audio=b"\x01\x02" * 2400), InputAudioAppendCommand(audio=b"", event_id="e"),
            InputAudioClearCommand(), InputAudioCommitCommand(event_id="evt_c"), OutputAudioClearCommand(),
            ResponseCancelCommand(), ResponseCancelCommand(response_id="resp_1")]
    if dialect == "beta":
        out += [SessionUpdateCommand(session=SessionOptions(temperature=0.7)),
                TranscriptionSessionUpdateCommand(session={"input_audio_format": "pcm16",
                                                           "input_audio_transcription": {"model": "whisper-1"}})]
    return out


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_every_command_validates_strictly(dialect):
    built = commands(dialect)
    assert {c.type for c in built} == set(schema_doc(dialect)["client_events"])
    for command in built:
        wire = json.loads(command.to_json(dialect))
        assert wire == command.to_wire(dialect)
        assert errors(wire, dialect, "client") == [], (command.type, wire)


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_commands_round_trip_through_parse_command(dialect):
    for command in commands(dialect):
        parsed = parse_command(command.to_json(dialect), dialect)
        assert type(parsed) is type(command)
        assert parsed.to_wire(dialect) == command.to_wire(dialect)


def test_ga_and_beta_session_shapes():
    ga = SESSIONS[1].to_wire("ga")
    assert ga["type"] == "realtime"
    assert ga["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert ga["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
    assert ga["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.1}
    assert "voice" not in ga and "modalities" not in ga
    beta = SESSIONS[1].to_wire("beta")
    assert beta["modalities"] == ["text", "audio"] and beta["voice"] == "alloy"
    assert beta["input_audio_format"] == "pcm16" and beta["max_response_output_tokens"] == 1024
    assert beta["input_audio_transcription"] == {"model": "whisper-1", "language": "en", "prompt": "weather"}
    assert "audio" not in beta and "type" not in beta
    assert SESSIONS[3].to_wire("ga")["audio"]["input"]["turn_detection"] is None
    assert SESSIONS[3].to_wire("beta")["turn_detection"] is None
    assert SESSIONS[2].to_wire("ga")["audio"]["output"]["format"] == {"type": "audio/pcma"}


def test_assistant_content_is_renamed_per_dialect():
    item = ConversationItem.assistant_message("hi")
    assert item.to_wire("ga")["content"] == [{"type": "output_text", "text": "hi"}]
    assert item.to_wire("beta")["content"] == [{"type": "text", "text": "hi"}]


def test_an_assistant_message_keeps_its_phase_in_ga_and_beta_refuses_it():
    item = ConversationItem.assistant_message("I'll check.", phase="commentary")
    wire = item.to_wire("ga")
    assert wire["phase"] == "commentary"
    assert errors({"type": "conversation.item.create", "item": wire}, "ga", "client") == []
    with pytest.raises(rs.ProtocolError):
        item.to_wire("beta")
    with pytest.raises(ValueError):
        ConversationItem.assistant_message("x", phase="draft")
    assert "phase" not in ConversationItem.assistant_message("x").to_wire("ga")


def test_escape_hatch_merges_unmodelled_fields():
    opts = SessionOptions(voice="marin", extra={"audio": {"output": {"voice": {"id": "voice_123"}}},
                                                "truncation": "disabled", "reasoning": {"effort": "low"}})
    wire = opts.to_wire("ga")
    assert wire["audio"]["output"]["voice"] == {"id": "voice_123"} and wire["truncation"] == "disabled"
    assert errors({"type": "session.update", "session": wire}, "ga", "client") == []


def test_options_to_and_from_json_with_dataclasses_json():
    text = SESSIONS[1].to_json()
    back = SessionOptions.from_json(text)
    assert back.turn_detection == SESSIONS[1].turn_detection
    assert back.input_transcription == SESSIONS[1].input_transcription
    assert back.to_wire("beta") == SESSIONS[1].to_wire("beta")


def test_bad_input_gets_typed_errors():
    with pytest.raises(rs.ProtocolError):
        SessionOptions(temperature=0.8).to_wire("ga")
    with pytest.raises(ValueError):
        SessionOptions(input_audio_format="mp3").to_wire("ga")
    with pytest.raises(rs.ProtocolError):
        TurnDetection(type="clap").to_wire()
    with pytest.raises(rs.ProtocolError):
        TranscriptionSessionUpdateCommand(session={}).to_wire("ga")
    with pytest.raises(rs.ProtocolError):
        parse_command('{"type": "session.explode"}')
    with pytest.raises(rs.ProtocolError):
        parse_command('{"type": "input_audio_buffer.append", "audio": "***"}')
    with pytest.raises(rs.MessageDecodeError):
        parse_command("{oops")
    with pytest.raises(TypeError):
        ConversationItem.user_message(3.5)
    with pytest.raises(ValueError):
        rs.Dialect.coerce("v2")


def test_audio_append_fast_path_matches_generic_encoding():
    audio = bytes(range(256)) * 10
    cmd = InputAudioAppendCommand(audio=audio, event_id='e"1')
    assert json.loads(cmd.to_json()) == {"type": "input_audio_buffer.append", "event_id": 'e"1',
                                         "audio": base64.b64encode(audio).decode()}
    assert json.loads(encode_audio_append(audio)) == {"type": "input_audio_buffer.append",
                                                      "audio": base64.b64encode(audio).decode()}


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_spec_client_examples_parse(dialect):
    for example in load_examples(dialect):
        if example["direction"] != "client" or example["type"] not in COMMAND_CLASSES:
            continue
        if example["type"] != example["event"].get("type"):
            continue
        if example["event"].get("audio") == "Base64EncodedAudioData":  # the spec's placeholder is not base64
            with pytest.raises(rs.ProtocolError):
                parse_command(example["event"], dialect)
            continue
        command = parse_command(example["event"], dialect)
        assert command.type == example["type"]
