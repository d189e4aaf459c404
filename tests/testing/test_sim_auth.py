"""Endpoints, authentication failures (OpenAI and Azure styles), dialect selection and ephemeral keys."""
import http.client
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.testing.sim_client import SimClient, open_client


def _closed_after_error(client):
    """The error event, then the close code and reason."""
    err = client.expect("error")["error"]
    with pytest.raises(ConnectionClosed) as info:
        client.recv(3)
    return err, info.value.rcvd.code, info.value.rcvd.reason


def test_wrong_key_on_openai_path_upgrades_then_errors_and_closes_3000(fake_server):
    client = SimClient(fake_server.url(), {"Authorization": "Bearer sk-wrong-key-1234567890"})
    err, code, reason = _closed_after_error(client)
    assert err["code"] == "invalid_api_key" and err["param"] is None and err["event_id"] is None
    assert "sk-wrong-key" not in err["message"] and err["message"].endswith("api-keys.")
    assert (code, reason) == (3000, "invalid_request_error.invalid_api_key")


def test_missing_key_errors_with_null_code_and_closes_3000(fake_server):
    err, code, reason = _closed_after_error(SimClient(fake_server.url()))
    assert err["code"] is None and "Missing bearer" in err["message"]
    assert (code, reason) == (3000, "invalid_request_error")


@pytest.mark.parametrize("url_suffix, code", [("", "missing_model"), ("?model=gpt-5-turbo", "invalid_model"),
                                              ("?model=gpt-realtime-3", "invalid_model"),
                                              ("?model=gpt-realtime-2.1-nano", "invalid_model")])
def test_missing_or_unknown_model_closes_4000(fake_server, url_suffix, code):
    client = SimClient(fake_server.ws_url + url_suffix, {"Authorization": f"Bearer {fake_server.api_key}"})
    err, close, reason = _closed_after_error(client)
    assert (err["code"], close, reason) == (code, 4000, f"invalid_request_error.{code}")


def test_refuse_beta_mimics_todays_openai(make_fake_server):
    server = make_fake_server(allow_beta=False)
    client = SimClient(server.url(), {"Authorization": f"Bearer {server.api_key}", "OpenAI-Beta": "realtime=v1"})
    err, code, reason = _closed_after_error(client)
    assert (err["code"], code, reason) == ("beta_api_shape_disabled", 4000,
                                           "invalid_request_error.beta_api_shape_disabled")
    with open_client(server) as ga:  # GA still works
        assert ga.events[0]["session"]["type"] == "realtime"


def test_api_key_header_and_browser_subprotocols(fake_server):
    with SimClient(fake_server.url(), {"api-key": fake_server.api_key}) as c:
        assert c.expect("session.created")["session"]["type"] == "realtime"
    protos = ["realtime", f"openai-insecure-api-key.{fake_server.api_key}", "openai-beta.realtime-v1"]
    with SimClient(fake_server.url("gpt-4o-realtime-preview"), subprotocols=protos) as c:
        assert c.ws.subprotocol == "realtime"
        assert "modalities" in c.expect("session.created")["session"]


@pytest.mark.parametrize("model", ["gpt-realtime-2.1", "gpt-realtime-2.1-mini", "gpt-realtime-2", "gpt-realtime-1.5",
                                   "gpt-audio-1.5", "gpt-realtime", "gpt-4o-realtime-preview-2025-06-03"])
def test_current_and_deprecated_models_are_served_under_their_own_name(fake_server, model):
    with open_client(fake_server, model=model) as c:
        assert c.events[0]["session"]["model"] == model


def test_any_model_when_models_is_none(make_fake_server):
    server = make_fake_server(models=None)
    with open_client(server, model="my-own-model") as c:
        assert c.events[0]["session"]["model"] == "my-own-model"


def test_azure_ga_path(fake_server):
    url = f"ws://127.0.0.1:{fake_server.port}/openai/v1/realtime?model=my-deployment"
    with SimClient(url, {"api-key": fake_server.api_key}) as c:
        s = c.expect("session.created")["session"]
        assert s["type"] == "realtime" and s["model"] == "my-deployment"
    with SimClient(url + f"&api-key={fake_server.api_key}") as c:  # key in the query string
        c.expect("session.created")
    for headers, suffix in (({"api-key": "wrong"}, ""), ({}, ""), ({"api-key": fake_server.api_key},
                                                                   "&api-version=2025-04-01-preview")):
        with pytest.raises(InvalidStatus) as info:
            SimClient(url + suffix, headers)
        assert info.value.response.status_code == 401
        assert json.loads(info.value.response.body)["error"]["code"] == "401"


def test_azure_preview_path_speaks_beta(make_fake_server):
    server = make_fake_server(azure_deployments=["rt-prod"])
    base = f"ws://127.0.0.1:{server.port}/openai/realtime"
    with SimClient(base + "?api-version=2024-10-01-preview&deployment=rt-prod",
                   {"Authorization": f"Bearer {server.api_key}"}) as c:
        s = c.expect("session.created")["session"]
        assert s["modalities"] == ["audio", "text"] and s["model"] == "gpt-4o-realtime-preview"
    for query in ("?deployment=rt-prod", "?api-version=2024-10-01-preview&deployment=other"):
        with pytest.raises(InvalidStatus) as info:
            SimClient(base + query, {"api-key": server.api_key})
        assert info.value.response.status_code == 404


def _post(server, path, body, key):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn.request("POST", path, body=body if isinstance(body, (bytes, str)) else json.dumps(body), headers=headers)
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    return resp.status, data


def test_client_secret_is_accepted_by_the_websocket_with_its_session(fake_server):
    status, body = _post(fake_server, "/v1/realtime/client_secrets", {
        "expires_after": {"anchor": "created_at", "seconds": 60},
        "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "From the secret."}},
        fake_server.api_key)
    assert status == 200 and body["value"].startswith("ek_")
    assert 55 <= body["expires_at"] - time.time() <= 60 and body["session"]["instructions"] == "From the secret."
    with open_client(fake_server, key=body["value"]) as c:  # usable several times until it expires
        assert c.events[0]["session"]["instructions"] == "From the secret."
    with SimClient(fake_server.ws_url, {"Authorization": f"Bearer {body['value']}"}) as c:  # model from the secret
        assert c.expect("session.created")["session"]["model"] == "gpt-realtime"
    status, _ = _post(fake_server, "/v1/realtime/client_secrets", {}, body["value"])
    assert status == 401  # an ephemeral key cannot mint keys


def test_expired_client_secret_is_refused(fake_server):
    secret = fake_server.mint_client_secret(seconds=10)["value"]
    fake_server._secrets[secret] = (int(time.time()) - 1,) + fake_server._secrets[secret][1:]
    err, code, _ = _closed_after_error(SimClient(fake_server.url(), {"Authorization": f"Bearer {secret}"}))
    assert (err["code"], code) == ("invalid_api_key", 3000)


@pytest.mark.parametrize("path, body, key, status, code", [
    ("/v1/realtime/client_secrets", {}, "sk-bad", 401, "invalid_api_key"),
    ("/v1/realtime/client_secrets", {}, None, 401, None),
    ("/v1/realtime/client_secrets", {"expires_after": {"anchor": "created_at", "seconds": 5}}, "KEY", 400,
     "integer_below_min_value"),
    ("/v1/realtime/client_secrets", {"expires_after": {"anchor": "created_at", "seconds": 9000}}, "KEY", 400,
     "integer_above_max_value"),
    ("/v1/realtime/client_secrets", {"session": {"type": "realtime", "bogus": 1}}, "KEY", 400, "unknown_parameter"),
    ("/v1/realtime/client_secrets", b"{nope", "KEY", 400, None),
    ("/v1/nothing/here", {}, "KEY", 404, None),
])
def test_client_secret_errors(fake_server, path, body, key, status, code):
    got, reply = _post(fake_server, path, body, fake_server.api_key if key == "KEY" else key)
    assert got == status and reply["error"]["code"] == code and reply["error"]["message"]


def test_beta_sessions_endpoint(fake_server):
    status, body = _post(fake_server, "/v1/realtime/sessions", {"model": "gpt-4o-realtime-preview", "voice": "ash"},
                         fake_server.api_key)
    assert status == 200 and body["client_secret"]["value"].startswith("ek_") and body["voice"] == "ash"
    with open_client(fake_server, model="gpt-4o-realtime-preview", beta=True, key=body["client_secret"]["value"]) as c:
        assert c.events[0]["session"]["voice"] == "ash"


def test_health_and_unknown_paths(fake_server):
    conn = http.client.HTTPConnection("127.0.0.1", fake_server.port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    with pytest.raises(InvalidStatus) as info:
        SimClient(f"ws://127.0.0.1:{fake_server.port}/v2/realtime?model=gpt-realtime")
    assert info.value.response.status_code == 404
