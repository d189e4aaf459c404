"""End to end against the simulator (realtime_sync.testing.FakeRealtimeServer, fast mode): turns in both
dialects, OpenAI and Azure URL/auth styles, Entra, ephemeral keys, and the failures the live service shows."""
import time

import pytest

from realtime_sync import (ConversationItem, FunctionTool, InputTranscription, RealtimeClient, SessionOptions,
                           TurnDetection, UpdateKind)
from realtime_sync.data import WEATHER_QUESTION_WAV
from realtime_sync.errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError,
                                  RequestRefusedError, ServerError)
from realtime_sync.protocol.updates import ErrorUpdate, UnknownUpdate

from tests.support.sessions import client_for

from .helpers import FakeCredential

TEXT = SessionOptions(output_modalities=["text"])
WEATHER = FunctionTool("get_weather_for_location", "gets the weather for a location",
                       {"type": "object", "properties": {"location": {"type": "string"},
                                                         "unit": {"type": "string", "enum": ["c", "f"]}},
                        "required": ["location", "unit"]})


def client(srv, protocol="ga", **kwargs):
    return client_for(srv, protocol=protocol, **kwargs)


def until(session, kind, timeout=10):
    out = []
    for update in session.receive_updates(timeout=timeout):
        out.append(update)
        if update.kind is kind:
            return out
    raise AssertionError(f"ended before {kind}")


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_text_turn(make_fake_server, protocol):
    srv = make_fake_server()
    with client(srv, protocol).start_session(TEXT) as session:
        assert session.id.startswith("sess_")
        session.add_item(ConversationItem.user_message("Hello there"))
        session.start_response()
        updates = until(session, UpdateKind.RESPONSE_DONE)
        text = "".join(u.delta for u in updates if u.kind is UpdateKind.OUTPUT_TEXT_DELTA)
        assert text == "You said: Hello there"
        assert updates[-1].response.status == "completed"
        assert not any(isinstance(u, UnknownUpdate) for u in updates)
    assert [e["type"] for e in srv.received] == ["session.update", "conversation.item.create", "response.create"]


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_audio_turn_with_server_vad_and_tool_call(make_fake_server, protocol):
    srv = make_fake_server()
    options = SessionOptions(instructions="Talk like a pirate.", voice="alloy", tools=[WEATHER],
                             turn_detection=TurnDetection.server_vad(),
                             input_transcription=InputTranscription(model="whisper-1"))
    with client(srv, protocol).start_session(options) as session:
        handle = session.send_audio(WEATHER_QUESTION_WAV)
        updates = until(session, UpdateKind.RESPONSE_DONE)
        assert handle.wait(5) and handle.bytes_sent > 200000
        kinds = [u.kind for u in updates]
        assert kinds.index(UpdateKind.INPUT_SPEECH_STARTED) < kinds.index(UpdateKind.INPUT_SPEECH_STOPPED) \
            < kinds.index(UpdateKind.INPUT_AUDIO_COMMITTED) < kinds.index(UpdateKind.RESPONSE_CREATED)
        call = next(u for u in updates if u.kind is UpdateKind.FUNCTION_CALL_ARGUMENTS_DONE)
        session.add_item(ConversationItem.function_call_output(call.call_id, {"temperature": 70}))
        session.start_response()
        answer = until(session, UpdateKind.RESPONSE_DONE)
        audio = b"".join(u.audio for u in answer if u.kind is UpdateKind.OUTPUT_AUDIO_DELTA)
        transcript = "".join(u.delta for u in answer if u.kind is UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA)
        assert len(audio) > 0 and len(audio) % 2 == 0
        assert "70" in transcript


def test_azure_ga_preview_and_entra(make_fake_server):
    srv = make_fake_server()
    for api_version, dialect in ((None, "ga"), ("2025-04-01-preview", "beta")):
        az = RealtimeClient.azure(srv.azure_endpoint, "my-deployment", api_key=srv.api_key, api_version=api_version)
        with az.start_session(TEXT) as session:
            assert session.dialect.value == dialect
            session.start_response()
            until(session, UpdateKind.RESPONSE_DONE)
    cred = FakeCredential(token=srv.api_key)
    entra = RealtimeClient.azure(srv.azure_endpoint, "my-deployment", credential=cred)
    for _ in range(2):
        with entra.start_session():
            pass
    assert cred.scopes == ["https://cognitiveservices.azure.com/.default"] * 2


def test_ephemeral_key_provider(make_fake_server):
    srv = make_fake_server()
    minted = []

    def provider():
        minted.append(srv.mint_client_secret(seconds=60)["value"])
        return minted[-1]

    c = client(srv, api_key=provider)
    for _ in range(2):
        with c.start_session():
            pass
    assert len(set(minted)) == 2 and all(v.startswith("ek_") for v in minted)


def test_bad_key_openai_style(make_fake_server):
    srv = make_fake_server()
    bad = "sk-wrong-0123456789abcdef"
    with pytest.raises(AuthenticationError) as info:
        client(srv, api_key=bad).start_session()
    assert info.value.code == "invalid_api_key" and info.value.status is None
    assert bad not in str(info.value)


def test_bad_key_azure_style(make_fake_server):
    srv = make_fake_server()
    with pytest.raises(AuthenticationError) as info:
        RealtimeClient.azure(srv.azure_endpoint, "dep", api_key="wrong-key").start_session()
    assert info.value.status == 401
    with pytest.raises(AuthenticationError):
        RealtimeClient.azure(srv.azure_endpoint, "dep", credential=FakeCredential()).start_session()


def test_bad_model_and_beta_refused(make_fake_server):
    srv = make_fake_server(models=["gpt-realtime*"], allow_beta=False)
    with pytest.raises(RequestRefusedError) as info:
        client(srv, model="gpt-nope").start_session()
    assert (info.value.code, info.value.error_code) == (4000, "invalid_model")
    with pytest.raises(RequestRefusedError) as info:
        client(srv, protocol="beta").start_session()
    assert info.value.error_code == "beta_api_shape_disabled"


def test_configure_refused_field(make_fake_server):
    srv = make_fake_server()
    with client(srv).start_session() as session:
        with pytest.raises(ServerError) as info:
            session.configure_session(SessionOptions(extra={"bogus_field": 1}))
        assert info.value.code == "unknown_parameter" and info.value.param == "session.bogus_field"
        assert session.configure_session(TEXT).kind is UpdateKind.SESSION_UPDATED


def _turn_then_fail(srv, session, exc_type):
    session.add_item(ConversationItem.user_message("Tell me a story"))
    session.start_response()
    got = []
    with pytest.raises(exc_type) as info:
        for update in session.receive_updates(timeout=10):
            got.append(update)
    return got, info.value


def test_connection_dropped_mid_stream(make_fake_server):
    srv = make_fake_server()
    with client(srv).start_session(TEXT) as session:
        srv.faults.drop_after(4)
        got, _exc = _turn_then_fail(srv, session, ConnectionLostError)
        assert got[0].kind is UpdateKind.SESSION_CREATED and len(got) >= 4
        with pytest.raises(ConnectionLostError):
            session.start_response()


def test_server_close_mid_stream(make_fake_server):
    srv = make_fake_server()
    with client(srv).start_session(TEXT) as session:
        srv.faults.close_after(3, 1011, "internal error")
        _got, exc = _turn_then_fail(srv, session, ConnectionClosedError)
        assert (exc.code, exc.reason) == (1011, "internal error")


def test_session_expired(make_fake_server):
    srv = make_fake_server()
    with client(srv).start_session() as session:
        srv.faults.expire_after(0.2)
        got = []
        with pytest.raises(ConnectionClosedError) as info:
            for update in session.receive_updates(timeout=5):
                got.append(update)
        assert info.value.code == 1001
        assert isinstance(got[-1], ErrorUpdate) and got[-1].code == "session_expired"


def test_error_unknown_and_malformed_events_are_not_fatal(make_fake_server):
    srv = make_fake_server()
    with client(srv).start_session(TEXT) as session:
        srv.faults.send_error()
        srv.faults.send_malformed()
        srv.faults.send_unknown_event()
        session.add_item(ConversationItem.user_message("still there?"))
        session.start_response()
        updates = until(session, UpdateKind.RESPONSE_DONE)
        assert any(isinstance(u, ErrorUpdate) and u.code == "server_error" for u in updates)
        assert any(isinstance(u, UnknownUpdate) and u.type == "response.future_event" for u in updates)


def test_stalled_server_is_noticed(make_fake_server):
    srv = make_fake_server()
    with client(srv, ping_interval=0.1, dead_peer_timeout=0.5).start_session() as session:
        srv.faults.stall()
        t0 = time.monotonic()
        with pytest.raises(ConnectionLostError):
            for _ in session.receive_updates(timeout=5):
                pass
        assert time.monotonic() - t0 < 3
