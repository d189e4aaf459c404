"""Translation sessions' endpoints: authentication, models, Azure paths, translation client secrets (REST), the CLI,
and openai-python's own ``client.realtime.translations`` against the simulator."""
import base64
import json
import time

import pytest
from websockets.exceptions import InvalidStatus

from realtime_sync.testing.translation_engine import FRAME_BYTES
from tests.testing.sim_client import SimClient
from tests.testing.test_sim_auth import _closed_after_error as _refused
from tests.testing.test_sim_auth import _post
from tests.testing.test_sim_cli import cli
from tests.testing.translation_client import append, close_and_collect, speech, text_of, tr_client, update

OUT = "session.output_transcript.delta"
SECRETS = "/v1/realtime/translations/client_secrets"


@pytest.mark.parametrize("key, code, close", [(None, None, 3000), ("sk-wrong-0123456789", "invalid_api_key", 3000)])
def test_missing_or_wrong_key_errors_then_closes_3000(fake_server, key, code, close):
    client = SimClient(fake_server.translation_url(), {"Authorization": f"Bearer {key}"} if key else None)
    err, got_close, _ = _refused(client)
    assert (err["code"], got_close) == (code, close) and err["type"] == "invalid_request_error"


@pytest.mark.parametrize("suffix, code", [("", "missing_model"), ("?model=gpt-realtime", "invalid_model"),
                                          ("?model=gpt-realtime-translate-2", "invalid_model"),
                                          ("?model=gpt-realtime-translate&intent=transcription",
                                           "unknown_parameter")])
def test_model_is_required_and_known_and_intent_is_refused(fake_server, suffix, code):
    url = fake_server.translation_url().split("?")[0] + suffix
    err, close, reason = _refused(SimClient(url, {"Authorization": f"Bearer {fake_server.api_key}"}))
    assert (err["code"], close, reason) == (code, 4000, f"invalid_request_error.{code}")


def test_other_translation_models_can_be_served(make_fake_server):
    server = make_fake_server(translation_models=None)
    with tr_client(server, model="gpt-realtime-translate-preview", created=False) as client:
        assert client.expect("session.created")["session"]["model"] == "gpt-realtime-translate-preview"


def test_browser_subprotocol_key(fake_server):
    protos = ["realtime", f"openai-insecure-api-key.{fake_server.api_key}"]
    with SimClient(fake_server.translation_url(), subprotocols=protos) as client:
        assert client.ws.subprotocol == "realtime"
        assert client.expect("session.created")["session"]["type"] == "translation"


@pytest.mark.parametrize("path", ["/openai/v1/realtime/translations?model=gpt-realtime-translate",
                                  "/openai/realtime/translations?api-version=2025-04-01-preview&deployment=t"])
def test_azure_paths_are_not_found(fake_server, path):
    with pytest.raises(InvalidStatus) as info:
        SimClient(f"ws://127.0.0.1:{fake_server.port}{path}", {"api-key": fake_server.api_key})
    assert info.value.response.status_code == 404
    assert json.loads(info.value.response.body)["error"]["message"] == "Resource not found"


def test_translation_secret_configures_and_opens_translation_sessions_only(fake_server):
    status, body = _post(fake_server, SECRETS, {
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {"model": "gpt-realtime-translate",
                    "audio": {"output": {"language": "es"}, "input": {"transcription": {"model": "gpt-transcribe"},
                                                                      "noise_reduction": {"type": "far_field"}}}}},
        fake_server.api_key)
    assert status == 200 and body["value"].startswith("ek_")
    assert abs(body["expires_at"] - (time.time() + 120)) < 5
    from openai.types.realtime import RealtimeTranslationClientSecretCreateResponse

    RealtimeTranslationClientSecretCreateResponse.model_validate(body)  # the reply openai-python parses
    assert body["session"]["type"] == "translation" and body["session"]["id"].startswith("sess_")
    wanted = {"input": {"noise_reduction": {"type": "far_field", "strength": 1.0},
                        "transcription": {"model": "gpt-transcribe"}}, "output": {"language": "es"}}
    assert body["session"]["audio"] == wanted
    for _ in range(2):  # one secret, several sessions
        with tr_client(fake_server, key=body["value"], created=False) as client:
            assert client.expect("session.created")["session"]["audio"] == wanted
    # no model in the URL: the secret's
    client = SimClient(fake_server.translation_url().split("?")[0], {"Authorization": f"Bearer {body['value']}"})
    with client:
        assert client.expect("session.created")["session"]["model"] == "gpt-realtime-translate"
    # a translation secret does not open a realtime session, nor a realtime secret a translation session
    err, close, _ = _refused(SimClient(fake_server.url("gpt-realtime"), {"Authorization": f"Bearer {body['value']}"}))
    assert (err["code"], close) == ("invalid_api_key", 3000)
    realtime_secret = fake_server.mint_client_secret()["value"]
    err, close, _ = _refused(SimClient(fake_server.translation_url(), {"Authorization": f"Bearer {realtime_secret}"}))
    assert (err["code"], close) == ("invalid_api_key", 3000)


def test_expired_translation_secret_is_refused(fake_server):
    secret = fake_server.mint_translation_secret(seconds=10)["value"]
    fake_server._translation_secrets[secret] = (int(time.time()) - 1, fake_server._translation_secrets[secret][1])
    err, close, _ = _refused(SimClient(fake_server.translation_url(), {"Authorization": f"Bearer {secret}"}))
    assert (err["code"], close) == ("invalid_api_key", 3000)


@pytest.mark.parametrize("body, status, code, param", [
    ({}, 400, "missing_required_parameter", "session"),
    ({"session": {}}, 400, "missing_required_parameter", "session.model"),
    ({"session": {"model": "gpt-realtime-translate", "type": "translation"}}, 400, "unknown_parameter",
     "session.type"),
    ({"session": {"model": "gpt-realtime"}}, 400, "invalid_value", "session.model"),
    ({"session": {"model": "gpt-realtime-translate", "audio": {"output": {"language": "espanol!"}}}}, 400,
     "invalid_value", "session.audio.output.language"),
    ({"session": {"model": "gpt-realtime-translate"}, "expires_after": {"seconds": 5}}, 400,
     "integer_below_min_value", "expires_after.seconds"),
    ({"session": {"model": "gpt-realtime-translate"}, "expires_after": {"seconds": 7201}}, 400,
     "integer_above_max_value", "expires_after.seconds"),
    ({"session": {"model": "gpt-realtime-translate"}, "expires_after": {"anchor": "now"}}, 400, "invalid_value",
     "expires_after.anchor"),
    ({"session": {"model": "gpt-realtime-translate"}, "extra": 1}, 400, "unknown_parameter", "extra"),
])
def test_translation_secret_request_errors(fake_server, body, status, code, param):
    got, reply = _post(fake_server, SECRETS, body, fake_server.api_key)
    assert (got, reply["error"]["code"], reply["error"]["param"]) == (status, code, param)
    assert reply["error"]["type"] == "invalid_request_error" and reply["error"]["message"]


def test_translation_secret_needs_the_api_key_and_is_not_on_azure(fake_server):
    body = {"session": {"model": "gpt-realtime-translate"}}
    assert _post(fake_server, SECRETS, body, None)[0] == 401
    assert _post(fake_server, SECRETS, body, "sk-nope-0123456789")[1]["error"]["code"] == "invalid_api_key"
    secret = fake_server.mint_translation_secret()["value"]
    assert _post(fake_server, SECRETS, body, secret)[0] == 401  # a client secret cannot mint another
    status, reply = _post(fake_server, "/openai" + SECRETS, body, fake_server.api_key)
    assert (status, reply["error"]["code"]) == (404, "404")
    with pytest.raises(ValueError, match="does not exist"):
        fake_server.mint_translation_secret(session={"model": "gpt-realtime"})


def test_openai_python_translates_end_to_end(fake_server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key=fake_server.api_key, base_url=fake_server.base_url)
    if not hasattr(client.realtime, "translations"):
        pytest.skip("this openai-python has no realtime.translations")
    audio = speech("good morning everyone")
    events = []
    with client.realtime.translations.connect(model="gpt-realtime-translate") as connection:
        connection.session.update(session={"audio": {"output": {"language": "es"},
                                                     "input": {"transcription": {"model": "gpt-realtime-whisper"}}}})
        for i in range(0, len(audio), FRAME_BYTES):
            connection.session.input_audio_buffer.append(audio=base64.b64encode(audio[i:i + FRAME_BYTES]).decode())
        connection.session.close()
        for event in connection:
            events.append(event)
            if event.type == "session.closed":
                break
    types = [e.type for e in events]
    assert types[0] == "session.created" and types[1] == "session.updated" and types[-1] == "session.closed"
    assert "".join(e.delta for e in events if e.type == OUT) == "[es] good morning everyone"
    assert "".join(e.delta for e in events if e.type == "session.input_transcript.delta") == "good morning everyone"
    assert sum(e.type == "session.output_audio.delta" for e in events) >= 5


def test_openai_python_secret_and_lib_session(fake_server):
    openai = pytest.importorskip("openai")
    lib = pytest.importorskip("openai.lib.realtime_translation")
    server_side = openai.OpenAI(api_key=fake_server.api_key, base_url=fake_server.base_url)
    secret = server_side.realtime.translations.client_secrets.create(
        session={"model": "gpt-realtime-translate", "audio": {"output": {"language": "fr"}}},
        expires_after={"anchor": "created_at", "seconds": 60})
    assert secret.value.startswith("ek_") and secret.session.audio.output.language == "fr"
    browser_side = openai.OpenAI(api_key=secret.value, base_url=fake_server.base_url)
    session = lib.TranslationSession(browser_side.realtime.translations, model="gpt-realtime-translate")
    with session as connection:  # the lib helper validates session.closed strictly, then closes the socket
        assert connection.recv(timeout=5).session.audio.output.language == "fr"
        audio = speech("bonjour")
        connection.send({"type": "session.input_audio_buffer.append", "audio": base64.b64encode(audio).decode()})
        connection.send({"type": "session.close"})
        said = ""
        while True:
            event = connection.recv(timeout=5)
            if event.type == OUT:
                said += event.delta
            if event.type == "session.closed":
                break
    assert said == "[fr] bonjour"


def test_cli_serves_translation_sessions():
    with cli() as (_proc, info):
        assert info["translations"].endswith("/v1/realtime/translations?model=gpt-realtime-translate")
        with SimClient(info["translations"], {"Authorization": "Bearer sk-cli-test"}) as client:
            assert client.expect("session.created")["session"]["type"] == "translation"
            assert update(client, output={"language": "es"})["type"] == "session.updated"
            append(client, speech("from the command line"))
            assert text_of(close_and_collect(client), OUT) == "[es] from the command line"


def test_cli_takes_a_translator_module_attr():
    with cli("--translator", "tests.testing.translation_client:cli_translator") as (_proc, info):
        with SimClient(info["translations"], {"Authorization": "Bearer sk-cli-test"}) as client:
            client.expect("session.created")
            append(client, speech("hello"))
            assert text_of(close_and_collect(client), OUT) == "hello (in en)"
