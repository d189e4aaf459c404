"""realtime_sync.protocol.translation (pure): the addendum's events decode to typed updates, the commands encode
as openai-python's models accept them, the options' KEEP / None rules, and the translation endpoint's URL."""
import base64
import json

import pytest

from realtime_sync import RealtimeClient, UpdateKind
from realtime_sync.endpoints import azure_endpoint, openai_endpoint
from realtime_sync.errors import ConfigurationError, MessageDecodeError, ProtocolError
from realtime_sync.protocol import ErrorUpdate, UnknownUpdate, parse_update
from realtime_sync.protocol.translation import (FRAME_BYTES, KEEP, TRANSLATION_TRANSCRIPTION_MODEL,
                                                InputTranscriptDeltaUpdate, NoiseReduction,
                                                OutputTranscriptDeltaUpdate, SessionCloseCommand,
                                                SessionClosedUpdate, TranslatedAudioDeltaUpdate,
                                                TranslationAudioAppendCommand, TranslationOptions,
                                                TranslationSessionCreatedUpdate, TranslationSessionUpdateCommand,
                                                TranslationSessionUpdatedUpdate, encode_translation_append,
                                                parse_translation_command, parse_translation_update)
from realtime_sync.translation.connect import create_translation_secret, initial_options, translation_endpoint

SESSION = {"id": "sess_T1", "type": "translation", "model": "gpt-realtime-translate", "expires_at": 1797000000,
           "audio": {"input": {"noise_reduction": {"type": "near_field", "strength": 0.8},
                               "transcription": {"model": "gpt-realtime-whisper"}},
                     "output": {"language": "es"}}}
PCM = bytes(range(256)) * 8
#: the addendum's examples (A3), with real audio in the audio delta
EXAMPLES = [
    {"type": "session.created", "event_id": "event_S1",
     "session": {**SESSION, "audio": {"input": {"noise_reduction": None, "transcription": None},
                                      "output": {"language": "es"}}}},
    {"type": "session.updated", "event_id": "event_S2", "session": SESSION},
    {"type": "session.input_transcript.delta", "event_id": "event_S3", "delta": "Good morning, every",
     "elapsed_ms": 1200},
    {"type": "session.output_transcript.delta", "event_id": "event_S4", "delta": "Buenos días a to",
     "elapsed_ms": 1400},
    {"type": "session.output_audio.delta", "event_id": "event_S5", "delta": base64.b64encode(PCM).decode(),
     "format": "pcm16", "sample_rate": 24000, "channels": 1, "elapsed_ms": 1400},
    {"type": "session.closed", "event_id": "event_S6"},
    {"type": "error", "event_id": "event_S7",
     "error": {"type": "invalid_request_error", "code": "invalid_value", "message": "bad language",
               "param": "session.audio.output.language", "event_id": "evt_c1"}},
]
CLASSES = [TranslationSessionCreatedUpdate, TranslationSessionUpdatedUpdate, InputTranscriptDeltaUpdate,
           OutputTranscriptDeltaUpdate, TranslatedAudioDeltaUpdate, SessionClosedUpdate, ErrorUpdate]


@pytest.mark.parametrize("event,cls", list(zip(EXAMPLES, CLASSES)), ids=[e["type"] for e in EXAMPLES])
def test_each_server_event_decodes_to_its_typed_update(event, cls):
    text = json.dumps(event)
    update = parse_translation_update(text)
    assert type(update) is cls and update.kind is UpdateKind.from_type(event["type"])
    assert update.type == event["type"] and update.event_id == event["event_id"]
    assert update.raw == event and json.loads(update.to_json()) == event


def test_openai_python_models_accept_the_examples():
    pydantic = pytest.importorskip("pydantic")
    types = pytest.importorskip("openai.types.realtime")
    adapter = pydantic.TypeAdapter(types.RealtimeTranslationServerEvent)
    for event in EXAMPLES:
        assert adapter.validate_python(event).type == event["type"]


def test_fields_of_the_session_and_of_the_deltas():
    created = parse_translation_update(EXAMPLES[0])
    assert created.session.id == "sess_T1" and created.session.target_language == "es"
    assert created.session.transcription_model is None and created.session.noise_reduction is None
    updated = parse_translation_update(EXAMPLES[1]).session
    assert updated.model == "gpt-realtime-translate" and updated.expires_at == 1797000000
    assert updated.transcription_model == "gpt-realtime-whisper"
    assert updated.noise_reduction == NoiseReduction("near_field", 0.8)
    delta = parse_translation_update(EXAMPLES[2])
    assert delta.text == "Good morning, every" and delta.elapsed_ms == 1200
    audio = parse_translation_update(EXAMPLES[4])
    assert "_audio" not in audio.__dict__  # decoded on first access only
    assert audio.audio == PCM and audio.rate == 24000 and audio.channel_count == 1
    assert audio.duration_ms == pytest.approx(len(PCM) / 48.0)
    err = parse_translation_update(EXAMPLES[6])
    assert err.code == "invalid_value" and err.client_event_id == "evt_c1"
    assert audio.delta not in repr(audio)  # a repr never dumps audio


def test_audio_delta_rate_and_channels_come_from_the_event():
    stereo = parse_translation_update({"type": "session.output_audio.delta", "event_id": "e", "delta": "AAAAAA==",
                                       "sample_rate": 16000, "channels": 2})
    assert (stereo.rate, stereo.channel_count) == (16000, 2) and stereo.audio == bytes(4)
    bare = parse_translation_update({"type": "session.output_audio.delta", "event_id": "e", "delta": ""})
    assert (bare.rate, bare.channel_count, bare.audio) == (24000, 1, b"")
    odd = parse_translation_update({"type": "session.output_audio.delta", "event_id": "e", "delta": "AA==",
                                    "sample_rate": "fast", "channels": -1, "format": "opus"})
    assert (odd.rate, odd.channel_count) == (24000, 1)  # wrong shapes fall back (raw keeps them)
    with pytest.raises(ProtocolError, match="opus"):
        odd.check_format()
    broken = parse_translation_update({"type": "session.output_audio.delta", "event_id": "e", "delta": "AAAAA"})
    with pytest.raises(MessageDecodeError):
        broken.audio


def test_unknown_and_malformed_messages():
    unknown = parse_translation_update('{"type": "session.something_new", "event_id": "e", "x": 1}')
    assert type(unknown) is UnknownUpdate and unknown.raw["x"] == 1
    # realtime events mean nothing here, and translation events nothing to a realtime session
    assert type(parse_translation_update({"type": "response.done", "event_id": "e"})) is UnknownUpdate
    assert type(parse_update(EXAMPLES[5])) is UnknownUpdate
    for bad in ("not json", "[1]", '{"no": "type"}', b"\xff"):
        with pytest.raises(MessageDecodeError):
            parse_translation_update(bad)
    shaped = parse_translation_update({"type": "session.created", "event_id": "e", "session": "oops"})
    assert shaped.session is None


def test_commands_encode_as_openai_python_accepts_and_decode_back():
    pydantic = pytest.importorskip("pydantic")
    types = pytest.importorskip("openai.types.realtime")
    adapter = pydantic.TypeAdapter(types.RealtimeTranslationClientEvent)
    commands = [TranslationSessionUpdateCommand(event_id="evt_c1", session=TranslationOptions(
                    target_language="es", transcribe_input=True, noise_reduction=NoiseReduction("near_field", 0.8))),
                TranslationAudioAppendCommand(event_id="evt_c2", audio=bytes(FRAME_BYTES)),
                TranslationAudioAppendCommand(audio=PCM),
                SessionCloseCommand(event_id="evt_c3")]
    for command in commands:
        wire = json.loads(command.to_json())
        assert adapter.validate_python(wire).type == command.type
        back = parse_translation_command(command.to_json())
        assert type(back) is type(command) and back.to_wire() == command.to_wire()
    assert json.loads(commands[0].to_json()) == {
        "type": "session.update", "event_id": "evt_c1",
        "session": {"audio": {"input": {"noise_reduction": {"type": "near_field", "strength": 0.8},
                                        "transcription": {"model": TRANSLATION_TRANSCRIPTION_MODEL}},
                              "output": {"language": "es"}}}}
    frame = json.loads(encode_translation_append(bytes(FRAME_BYTES)))
    assert frame["type"] == "session.input_audio_buffer.append" and len(frame["audio"]) == 12800
    with pytest.raises(ProtocolError):
        parse_translation_command({"type": "response.create"})
    with pytest.raises(ProtocolError):
        parse_translation_command({"type": "session.input_audio_buffer.append", "audio": "%%%"})


def test_options_send_only_what_changes_and_none_turns_off():
    assert TranslationOptions().empty and TranslationOptions().to_wire() == {}
    assert TranslationOptions(target_language="fr").to_wire() == {"audio": {"output": {"language": "fr"}}}
    off = TranslationOptions(transcribe_input=None, noise_reduction=None).to_wire()
    assert off == {"audio": {"input": {"noise_reduction": None, "transcription": None}}}
    assert TranslationOptions(transcribe_input="gpt-transcribe").to_wire()["audio"]["input"] == {
        "transcription": {"model": "gpt-transcribe"}}
    assert TranslationOptions(noise_reduction="far_field").noise_reduction == NoiseReduction("far_field")
    assert TranslationOptions(noise_reduction={"type": "near_field", "strength": 2}).to_wire()["audio"]["input"] == {
        "noise_reduction": {"type": "near_field", "strength": 2}}
    wire = {"audio": {"input": {"transcription": None, "noise_reduction": {"type": "far_field"}},
                      "output": {"language": "de"}}}
    assert TranslationOptions.from_wire(wire).to_wire() == wire
    assert repr(KEEP) == "KEEP" and not KEEP
    for bad in (dict(target_language=""), dict(target_language=3), dict(transcribe_input=""),
                dict(noise_reduction="loud"), dict(noise_reduction={"type": "near_field", "strength": "max"}),
                dict(noise_reduction=5)):
        with pytest.raises(ConfigurationError):
            TranslationOptions(**bad)


def test_initial_options_need_a_language_and_leave_the_rest_to_the_server():
    assert initial_options("es").to_wire() == {"audio": {"output": {"language": "es"}}}
    assert initial_options("es", True, "near_field").to_wire()["audio"]["input"] == {
        "noise_reduction": {"type": "near_field"}, "transcription": {"model": TRANSLATION_TRANSCRIPTION_MODEL}}
    for bad in (None, "", "  "):
        with pytest.raises(ConfigurationError):
            initial_options(bad)


def test_translation_endpoint_url_auth_and_refusals():
    ep = openai_endpoint("sk-test-0123456789", model="gpt-realtime-2.1", endpoint="https://example.test/v1")
    tr = translation_endpoint(ep, "gpt-realtime-translate")
    assert tr.url == "wss://example.test/v1/realtime/translations?model=gpt-realtime-translate"
    assert tr.headers()["Authorization"] == "Bearer sk-test-0123456789" and ep.url.endswith("?model=gpt-realtime-2.1")
    beta = openai_endpoint("sk-test-0123456789", endpoint="http://127.0.0.1:9/v1?region=x", protocol="beta")
    tr = translation_endpoint(beta)
    assert tr.url == "ws://127.0.0.1:9/v1/realtime/translations?region=x&model=gpt-realtime-translate"
    assert "OpenAI-Beta" not in tr.headers()  # one protocol: no beta header
    with pytest.raises(ConfigurationError, match="model"):
        translation_endpoint(ep, "")
    with pytest.raises(ConfigurationError, match="intent"):
        translation_endpoint(openai_endpoint("sk-x", endpoint="https://h/v1", query={"intent": "transcription"}))
    azure = azure_endpoint("https://res.openai.azure.com", "my-deployment", api_key="azure-key")
    with pytest.raises(ConfigurationError, match="Azure"):
        translation_endpoint(azure)
    with pytest.raises(ConfigurationError, match="Azure"):
        create_translation_secret(azure, "es")
    client = RealtimeClient.azure("https://res.openai.azure.com", "my-deployment", api_key="azure-key")
    with pytest.raises(ConfigurationError, match="Azure"):
        client.start_translation("es")
    with pytest.raises(ConfigurationError, match="Azure"):
        client.translate_file(b"\x00\x00", "es")


def test_translation_secret_request_and_reply():
    from tests.client.test_rest import Scripted

    http = Scripted()
    http.thread.start()
    try:
        reply = {"value": "ek_translation_0123456789", "expires_at": 1797000600,
                 "session": {"id": "sess_T9", "type": "translation", "model": "gpt-realtime-translate",
                             "expires_at": 1797000600, "audio": {"output": {"language": "fr"}}}}
        http.reply(200, reply)
        client = RealtimeClient("sk-test-0123456789", endpoint=http.base_url, protocol="beta")
        secret = client.create_translation_secret("fr", transcribe_input=True, expires_after=120)
        path, headers, body = http.requests[0]
        assert path == "/v1/realtime/translations/client_secrets"
        assert headers["Authorization"] == "Bearer sk-test-0123456789" and "OpenAI-Beta" not in headers
        assert json.loads(body) == {"expires_after": {"anchor": "created_at", "seconds": 120},
                                    "session": {"model": "gpt-realtime-translate", "audio": {
                                        "input": {"transcription": {"model": TRANSLATION_TRANSCRIPTION_MODEL}},
                                        "output": {"language": "fr"}}}}
        assert secret.value == "ek_translation_0123456789" and secret.value not in repr(secret)
        assert secret.expires_at == 1797000600 and secret.session["type"] == "translation"
        http.reply(200, {"nothing": True})
        with pytest.raises(ProtocolError):
            client.create_translation_secret()
        assert json.loads(http.requests[1][2])["session"] == {"model": "gpt-realtime-translate"}
        for bad in (dict(expires_after=5), dict(model=""), dict(noise_reduction="loud")):
            with pytest.raises(ConfigurationError):
                client.create_translation_secret("fr", **bad)
        assert len(http.requests) == 2  # refused before any request
    finally:
        http.close()
