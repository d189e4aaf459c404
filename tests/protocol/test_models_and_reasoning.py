"""Today's models: defaults that do not expire, one warning for a model with a shutdown date, and the 2.x options."""
import logging

import pytest

from realtime_sync import RealtimeClient
from realtime_sync.errors import ProtocolError
from realtime_sync.protocol import InputTranscription, ResponseOptions, SessionOptions
from realtime_sync.protocol import model_names
from realtime_sync.protocol.transcription import TranscriptionOptions


@pytest.fixture(autouse=True)
def fresh_warnings():
    model_names._warned.clear()
    yield
    model_names._warned.clear()


def test_defaults_have_no_shutdown_date():
    assert model_names.deprecation(model_names.DEFAULT_REALTIME_MODEL) is None
    assert model_names.deprecation(model_names.DEFAULT_TRANSCRIPTION_MODEL) is None
    assert RealtimeClient("sk-test").url.endswith("model=gpt-realtime-2.1")
    assert InputTranscription().to_wire("ga")["model"] == "gpt-transcribe"
    assert InputTranscription().to_wire("beta")["model"] == "gpt-4o-mini-transcribe"  # all beta knows


def test_a_deprecated_model_works_and_warns_once_naming_date_and_replacement(caplog):
    caplog.set_level(logging.WARNING, logger="realtime_sync")
    for _ in range(3):
        client = RealtimeClient("sk-test", model="gpt-realtime")
    assert client.url.endswith("model=gpt-realtime")
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert warnings == ["model gpt-realtime is deprecated and will be shut down on 2027-01-20: use gpt-realtime-2.1"]
    InputTranscription(model="gpt-4o-transcribe").to_wire("ga")
    assert any("gpt-4o-transcribe" in r.getMessage() and "2027-02-26" in r.getMessage() for r in caplog.records)


def test_azure_deployments_are_never_warned_about(caplog):
    caplog.set_level(logging.WARNING, logger="realtime_sync")
    RealtimeClient.azure("https://example.openai.azure.com", "gpt-realtime", api_key="k")
    assert not any("deprecated" in r.getMessage() for r in caplog.records)


def test_reasoning_and_parallel_tool_calls_encode_for_ga_and_are_refused_in_beta():
    options = SessionOptions(reasoning_effort="high", parallel_tool_calls=True, noise_reduction="near_field",
                             noise_reduction_strength=1.5)
    wire = options.to_wire("ga")
    assert wire["reasoning"] == {"effort": "high"} and wire["parallel_tool_calls"] is True
    assert wire["audio"]["input"]["noise_reduction"] == {"type": "near_field", "strength": 1.5}
    assert SessionOptions.from_wire(wire) == options
    assert ResponseOptions(reasoning_effort="minimal", parallel_tool_calls=False).to_wire("ga") == {
        "reasoning": {"effort": "minimal"}, "parallel_tool_calls": False}
    for bad in (SessionOptions(reasoning_effort="low"), ResponseOptions(parallel_tool_calls=True),
                SessionOptions(noise_reduction="far_field", noise_reduction_strength=2.0)):
        with pytest.raises(ProtocolError, match="beta"):
            bad.to_wire("beta")
    with pytest.raises(ProtocolError, match="reasoning_effort"):
        SessionOptions(reasoning_effort="extreme").to_wire("ga")
    with pytest.raises(ProtocolError, match="noise_reduction"):
        SessionOptions(noise_reduction_strength=1.0).to_wire("ga")


def test_transcription_fields_follow_each_models_rules():
    assert InputTranscription(model="gpt-realtime-whisper", delay="low").to_wire("ga") == {
        "model": "gpt-realtime-whisper", "delay": "low"}
    assert InputTranscription(keywords=["kiosk"], languages=["en", "fr"]).to_wire("ga") == {
        "model": "gpt-transcribe", "keywords": ["kiosk"], "languages": ["en", "fr"]}
    with pytest.raises(ProtocolError, match="gpt-realtime-whisper only"):
        InputTranscription(model="gpt-transcribe", delay="low").to_wire("ga")
    with pytest.raises(ProtocolError, match="no transcription prompt"):
        InputTranscription(model="gpt-realtime-whisper", prompt="names").to_wire("ga")
    with pytest.raises(ProtocolError, match="keywords"):
        InputTranscription(model="whisper-1", keywords=["x"]).to_wire("ga")
    with pytest.raises(ProtocolError, match="beta"):
        InputTranscription(model="gpt-realtime-whisper", delay="low").to_wire("beta")
    assert TranscriptionOptions().to_wire("ga")["audio"]["input"]["transcription"]["model"] == "gpt-transcribe"


def test_the_simulator_takes_the_2x_options_as_the_service_does(fake_server):
    from tests.support.sessions import client_for

    options = SessionOptions(reasoning_effort="low", parallel_tool_calls=True, noise_reduction="near_field",
                             noise_reduction_strength=1.5,
                             input_transcription=InputTranscription(model="gpt-realtime-whisper", delay="low"))
    with client_for(fake_server).start_session(options) as session:
        raw = session.session_info.raw
        assert session.session_info.model == "gpt-realtime-2.1"
        assert raw["reasoning"] == {"effort": "low"}
        assert raw["audio"]["input"]["noise_reduction"] == {"type": "near_field", "strength": 1.5}
        transcription = raw["audio"]["input"]["transcription"]  # (with the nulls the service sends)
        assert transcription["model"] == "gpt-realtime-whisper" and transcription["delay"] == "low"
