"""The library's SIP call control (``client.calls``, ``client.attach_call``) against the simulator's calls endpoints
and sideband, OpenAI and Azure GA shapes, including the typed errors."""
import base64
import os

import pytest

from realtime_sync import RealtimeClient, SessionOptions
from realtime_sync.errors import AuthenticationError, RequestRefusedError, RestRequestError
from realtime_sync.testing import scripted
from tests.testing.webhook_receiver import ringing_call

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def server(make_fake_server):
    return make_fake_server(responder=scripted("Thanks for calling."), azure_deployments=["phone-dep"])


@pytest.fixture
def ringing(server):
    with ringing_call(server, SECRET) as call:
        yield call


def openai_client(server, key=None):
    return RealtimeClient(key or server.api_key, endpoint=server.base_url, model="gpt-realtime")


def test_accept_sends_the_options_and_attach_call_gets_that_session(server, ringing):
    client = openai_client(server)
    client.calls.accept(ringing.call_id, SessionOptions(instructions="Answer the phone.", voice="marin",
                                                        output_modalities=["text"]))
    assert ringing.accepted_session["model"] == "gpt-realtime"  # the endpoint's model, added by the library
    session = client.attach_call(ringing.call_id, timeout=10)
    try:
        info = session.session_info
        assert info.instructions == "Answer the phone." and info.voice == "marin"
        assert session.ask("Hello?", timeout=10).text == "Thanks for calling."
    finally:
        session.close()
    assert ringing.replies == ["Thanks for calling."] and ringing.state == "accepted"
    client.calls.hangup(ringing.call_id)
    assert ringing.wait_ended(5) == "ended" and ringing.ended_by == "app"


def test_rest_errors_are_typed(server, ringing):
    client = openai_client(server)
    with pytest.raises(RestRequestError) as unknown:
        client.calls.accept("rtc_nope")
    assert unknown.value.status == 404 and unknown.value.code == "call_not_found"
    with pytest.raises(AuthenticationError) as auth:
        openai_client(server, key="sk-not-the-key-000000000000").calls.reject(ringing.call_id)
    assert auth.value.status == 401 and "sk-not-the-key" not in str(auth.value)
    with pytest.raises(RestRequestError) as not_accepted:
        client.calls.refer(ringing.call_id, "tel:+14155550123")
    assert not_accepted.value.code == "call_not_accepted" and ringing.state == "ringing"
    client.calls.reject(ringing.call_id, status_code=486)
    assert ringing.wait_ended(5) == "rejected" and ringing.reject_status == 486


def test_attach_call_to_a_call_that_is_not_accepted_is_refused(server, ringing):
    client = openai_client(server)
    with pytest.raises(RequestRefusedError) as ringing_refused:
        client.attach_call(ringing.call_id, timeout=10)
    assert ringing_refused.value.error_code == "call_not_accepted" and ringing_refused.value.code == 4000
    with pytest.raises(RequestRefusedError) as unknown:
        client.attach_call("rtc_nope", timeout=10)
    assert unknown.value.error_code == "call_not_found"


def test_azure_calls_and_sideband(server, ringing):
    client = RealtimeClient.azure(server.azure_endpoint, "phone-dep", api_key=server.api_key)
    client.calls.accept(ringing.call_id, {"instructions": "Azure answers."})
    assert ringing.accepted_session["model"] == "phone-dep"
    session = client.attach_call(ringing.call_id, timeout=10)
    try:
        assert session.session_info.instructions == "Azure answers."
        assert session.ask("Hi", timeout=10).transcript == "Thanks for calling."
    finally:
        session.close()
    client.calls.refer(ringing.call_id, "sip:agent@example.com")
    assert ringing.wait_ended(5) == "referred" and ringing.referred_to == "sip:agent@example.com"


def test_azure_accept_checks_the_deployment(server, ringing):
    client = RealtimeClient.azure(server.azure_endpoint, "other-dep", api_key=server.api_key)
    with pytest.raises(RestRequestError) as refused:
        client.calls.accept(ringing.call_id)
    assert refused.value.code == "model_not_found" and ringing.state == "ringing"
