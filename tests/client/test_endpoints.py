"""URL building, auth headers and environment resolution (no network)."""
import logging

import pytest

from realtime_sync import RealtimeClient
from realtime_sync.endpoints import (AZURE_SCOPE, ConfigurationError, azure_endpoint, endpoint_from_env,
                                     openai_endpoint, redact_url, to_websocket_url)
from realtime_sync.errors import AuthenticationError
from realtime_sync.protocol import Dialect

from .helpers import FakeCredential

KEY = "sk-secret-abcdef123456"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY",
                 "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_REALTIME_DEPLOYMENT", "AZURE_OPENAI_API_VERSION",
                 "OPENAI_API_VERSION", "OPENAI_REALTIME_MODEL", "AZURE_OPENAI_DEPLOYMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("base,expected", [
    ("https://api.openai.com/v1", "wss://api.openai.com/v1/realtime?model=m"),
    ("http://127.0.0.1:8080/v1/", "ws://127.0.0.1:8080/v1/realtime?model=m"),
    ("wss://proxy.example/openai/v1", "wss://proxy.example/openai/v1/realtime?model=m"),
    ("https://gw.example/v1?tenant=a", "wss://gw.example/v1/realtime?tenant=a&model=m"),
])
def test_websocket_url(base, expected):
    assert to_websocket_url(base, "/realtime", {"model": "m"}) == expected


def test_bad_scheme():
    with pytest.raises(ConfigurationError):
        to_websocket_url("ftp://x", "/realtime", {})


def test_openai_defaults(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ep = openai_endpoint()
    assert ep.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1"  # a model with no shutdown date
    assert ep.dialect is Dialect.GA
    assert ep.headers() == {"Authorization": f"Bearer {KEY}"}
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:9000/v1")
    assert openai_endpoint(model="gpt-realtime-mini").url == "ws://localhost:9000/v1/realtime?model=gpt-realtime-mini"


def test_openai_beta_header():
    ep = openai_endpoint(KEY, protocol="beta")
    assert ep.headers()["OpenAI-Beta"] == "realtime=v1"
    assert ep.dialect is Dialect.BETA


def test_missing_key():
    with pytest.raises(ConfigurationError):
        RealtimeClient()


def test_key_provider_called_per_connect():
    calls = []

    def provider():
        calls.append(1)
        return f"ek_{len(calls)}"

    ep = openai_endpoint(provider)
    assert ep.headers()["Authorization"] == "Bearer ek_1"
    assert ep.headers()["Authorization"] == "Bearer ek_2"


def test_azure_ga_and_preview():
    ga = azure_endpoint("https://res.openai.azure.com/", "my-dep", api_key=KEY)
    assert ga.url == "wss://res.openai.azure.com/openai/v1/realtime?model=my-dep"
    assert ga.dialect is Dialect.GA
    assert ga.headers() == {"api-key": KEY}
    pv = azure_endpoint("https://res.openai.azure.com", "my-dep", api_key=KEY, api_version="2025-04-01-preview")
    assert pv.url == "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=my-dep"
    assert pv.dialect is Dialect.BETA
    assert "OpenAI-Beta" not in pv.headers()
    # an endpoint given with the /openai/v1 suffix is not doubled
    assert azure_endpoint("https://res.openai.azure.com/openai/v1", "d", api_key=KEY).url.endswith(
        "/openai/v1/realtime?model=d")


def test_azure_entra_token_each_time():
    cred = FakeCredential()
    ep = azure_endpoint("https://res.openai.azure.com", "dep", credential=cred)
    assert ep.headers() == {"Authorization": "Bearer token-1"}
    assert ep.headers() == {"Authorization": "Bearer token-2"}
    assert cred.scopes == [AZURE_SCOPE, AZURE_SCOPE]


def test_azure_credential_failure_is_authentication_error():
    class Broken:
        def get_token(self, *scopes):
            raise RuntimeError("no managed identity")

    ep = azure_endpoint("https://res.openai.azure.com", "dep", credential=Broken())
    with pytest.raises(AuthenticationError) as info:
        ep.headers()
    assert "RuntimeError: no managed identity" in str(info.value)  # the cause, as azure-identity said it


def test_azure_credential_failure_text_keeps_the_cause_without_secrets():
    """Issue 11: what azure-identity said is kept, on one line; secret-looking parts are masked."""
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    class Broken:
        def get_token(self, *scopes):
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
                               "\tEnvironmentCredential: client_secret=s3cr3t-value is invalid\n"
                               f"\tSharedTokenCacheCredential: cached token {jwt} expired; sk-abcdefghijklmnop\n"
                               "\tAzureCliCredential: Please run 'az login' to set up an account")

    ep = azure_endpoint("https://res.openai.azure.com", "dep", credential=Broken())
    with pytest.raises(AuthenticationError) as info:
        ep.headers()
    text = str(info.value)
    assert "\n" not in text and "Please run 'az login'" in text and "EnvironmentCredential" in text
    for secret in ("s3cr3t-value", jwt, "eyJ", "sk-abcdefghijklmnop"):
        assert secret not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_azure_needs_key_or_credential():
    with pytest.raises(ConfigurationError):
        azure_endpoint("https://res.openai.azure.com", "dep")
    with pytest.raises(ConfigurationError):
        azure_endpoint("https://res.openai.azure.com", "dep", api_key="k", credential=FakeCredential())


def test_from_env_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    client = RealtimeClient.from_env()
    assert client.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1"


def test_from_env_azure(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "ignored")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_REALTIME_DEPLOYMENT", "rt-dep")
    client = RealtimeClient.from_env()
    assert client.url == "wss://res.openai.azure.com/openai/v1/realtime?model=rt-dep"
    assert client.endpoint.headers() == {"api-key": KEY}
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-01-preview")
    assert RealtimeClient.from_env().protocol is Dialect.BETA
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    assert RealtimeClient.from_env(credential=FakeCredential()).endpoint.auth_style == "entra"
    with pytest.raises(ConfigurationError):
        endpoint_from_env()


def test_keys_never_in_repr_or_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="realtime_sync")
    client = RealtimeClient(KEY, endpoint="https://api.example/v1")
    az = RealtimeClient.azure("https://res.openai.azure.com", "dep", api_key=KEY)
    client.endpoint.headers()
    az.endpoint.headers()
    text = repr(client) + repr(az) + repr(client.endpoint) + caplog.text
    assert KEY not in text
    assert "realtime" in caplog.text


def test_redact_url():
    assert redact_url("wss://h/openai/realtime?api-version=1&api-key=SECRET&deployment=d") == \
        "wss://h/openai/realtime?api-version=1&api-key=***&deployment=d"
    assert redact_url("wss://h/v1/realtime?model=m") == "wss://h/v1/realtime?model=m"


def test_scrub():
    ep = openai_endpoint(KEY)
    ep.headers()
    assert ep.scrub(f"Incorrect API key provided: {KEY}.") == "Incorrect API key provided: ***."
