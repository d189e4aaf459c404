"""realtime_sync.rest: client secrets against the simulator, SIP call control and the error, retry and timeout paths
against a tiny scripted HTTP server."""
import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

import pytest

from realtime_sync import RealtimeClient, SessionOptions
from realtime_sync.endpoints import azure_endpoint, openai_endpoint
from realtime_sync.errors import (AuthenticationError, ConfigurationError, ProtocolError, RateLimitError,
                                  RealtimeConnectionError, RealtimeTimeoutError, RestError, RestRequestError,
                                  RestServerError)
from realtime_sync.protocol.transcription import TranscriptionOptions
from realtime_sync.rest import Calls, create_client_secret, rest_base_url
from tests.support.sessions import client_for

KEY = "sk-live-secret-abcdefghijklmnopqrstuvwxyz0123"

Reply = Tuple[int, Dict[str, str], bytes]


class Scripted:
    """A threaded HTTP server answering each POST with the next scripted reply (then 200 ``{}``), recording
    (path, headers, body). A reply whose status is 0 blocks until the test ends (a server that never answers)."""

    def __init__(self) -> None:
        self.replies: List[Reply] = []
        self.requests: List[Tuple[str, Dict[str, str], bytes]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers), body))
                    status, headers, payload = outer.replies.pop(0) if outer.replies else (200, {}, b"")
                if status == 0:
                    outer.release.wait(30)
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, status: int, body: Any = b"", **headers: str) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.replies.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, data))

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http():
    srv = Scripted()
    srv.thread.start()
    yield srv
    srv.close()


class Sleeps(list):
    """Records the waits between attempts instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _calls(http: Scripted, sleeps: Optional[Sleeps] = None, **kwargs: Any) -> Calls:
    return Calls(openai_endpoint(KEY, endpoint=http.base_url), sleep=sleeps if sleeps is not None else Sleeps(),
                 **kwargs)


def _error(message: str, code: Optional[str] = None, type: str = "invalid_request_error") -> Dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


# -- client secrets, against the simulator --------------------------------------------------------------------------
def test_client_secret_from_the_simulator_starts_a_session_with_its_config(fake_server):
    endpoint = client_for(fake_server).endpoint
    before = time.time()
    secret = create_client_secret(endpoint, SessionOptions(instructions="From the secret."), expires_after=120)
    assert secret.value.startswith("ek_") and secret.value not in repr(secret)
    assert before + 118 <= secret.expires_at <= time.time() + 121
    assert secret.session["type"] == "realtime" and secret.session["instructions"] == "From the secret."
    assert secret.session["model"] == "gpt-realtime-2.1"  # the endpoint's model was sent
    assert secret.subprotocols == ("realtime", f"openai-insecure-api-key.{secret.value}")
    with RealtimeClient(secret.value, endpoint=fake_server.base_url).start_session(timeout=10) as session:
        assert session.session_info.instructions == "From the secret."


def test_transcription_and_dict_sessions(fake_server):
    endpoint = client_for(fake_server).endpoint
    secret = create_client_secret(endpoint, TranscriptionOptions(model="gpt-4o-transcribe"))
    assert secret.session["type"] == "transcription"
    assert secret.session["audio"]["input"]["transcription"]["model"] == "gpt-4o-transcribe"
    secret = create_client_secret(endpoint, {"instructions": "As a dict."})
    assert secret.session["type"] == "realtime" and secret.session["instructions"] == "As a dict."


def test_azure_ga_client_secret(fake_server):
    endpoint = azure_endpoint(fake_server.azure_endpoint, "my-deployment", api_key=fake_server.api_key)
    assert rest_base_url(endpoint).endswith("/openai/v1")
    secret = create_client_secret(endpoint, SessionOptions(instructions="Azure."))
    assert secret.value.startswith("ek_") and secret.session["instructions"] == "Azure."


def test_simulator_refusals_are_typed_and_keyless(fake_server):
    bad = "sk-wrong-0123456789abcdefghij"
    with pytest.raises(AuthenticationError) as info:
        create_client_secret(client_for(fake_server, api_key=bad).endpoint)
    assert info.value.status == 401 and info.value.code == "invalid_api_key" and bad not in str(info.value)
    with pytest.raises(RestRequestError) as refused:
        create_client_secret(client_for(fake_server).endpoint, {"type": "realtime", "bogus": 1})
    assert refused.value.status == 400 and "bogus" in refused.value.message


def test_local_checks_before_any_request(http):
    endpoint = openai_endpoint(KEY, endpoint=http.base_url)
    for seconds in (9, 7201, True, 60.0):
        with pytest.raises(ConfigurationError):
            create_client_secret(endpoint, expires_after=seconds)
    with pytest.raises(ConfigurationError):
        create_client_secret(openai_endpoint(KEY, endpoint=http.base_url, protocol="beta"))
    with pytest.raises(ProtocolError):
        _calls(http).accept("")
    with pytest.raises(ProtocolError):
        _calls(http).reject("rtc_1", status_code=200)
    with pytest.raises(ProtocolError):
        _calls(http).refer("rtc_1", "")
    assert http.requests == []


# -- calls ----------------------------------------------------------------------------------------------------------
def test_calls_requests_have_the_documented_shapes(http):
    calls = _calls(http)
    assert calls.accept("rtc_1", SessionOptions(instructions="Hi.", tools=[])) is None
    calls.reject("rtc_2")
    calls.reject("rtc_3", status_code=486)
    calls.refer("rtc_4", "tel:+14155550123")
    calls.hangup("rtc/5?x")
    paths = [r[0] for r in http.requests]
    assert paths == ["/v1/realtime/calls/rtc_1/accept", "/v1/realtime/calls/rtc_2/reject",
                     "/v1/realtime/calls/rtc_3/reject", "/v1/realtime/calls/rtc_4/refer",
                     "/v1/realtime/calls/rtc%2F5%3Fx/hangup"]
    bodies = [json.loads(r[2]) if r[2] else None for r in http.requests]
    assert bodies == [{"type": "realtime", "instructions": "Hi.", "tools": [], "model": "gpt-realtime-2.1"},
                      {"status_code": 603}, {"status_code": 486}, {"target_uri": "tel:+14155550123"}, None]
    for _path, headers, body in http.requests:
        assert headers["Authorization"] == f"Bearer {KEY}" and "OpenAI-Beta" not in headers
        assert (headers.get("Content-Type") == "application/json") == bool(body)


def test_azure_calls_use_the_api_key_header(http):
    base = http.base_url[: -len("/v1")]
    calls = Calls(azure_endpoint(base, "dep", api_key=KEY))
    calls.accept("rtc_1", {"type": "realtime", "instructions": "x"})
    path, headers, body = http.requests[0]
    assert path == "/openai/v1/realtime/calls/rtc_1/accept" and headers["api-key"] == KEY
    assert "Authorization" not in headers and json.loads(body)["model"] == "dep"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_authentication_errors_without_the_key(http, status):
    http.reply(status, _error(f"Incorrect API key provided: {KEY}. Bearer {KEY}", "invalid_api_key"))
    with pytest.raises(AuthenticationError) as info:
        _calls(http).hangup("rtc_1")
    err = info.value
    assert err.status == status and err.code == "invalid_api_key" and "Incorrect API key" in str(err)
    assert KEY not in str(err) and KEY[10:30] not in str(err)
    assert len(http.requests) == 1  # never retried


def test_other_4xx_carry_status_code_message_and_request_id(http):
    http.reply(404, _error("Call rtc_9 not found.", "call_not_found"), x_request_id="req_123")
    with pytest.raises(RestRequestError) as info:
        _calls(http).accept("rtc_9")
    err = info.value
    assert (err.status, err.code, err.message, err.request_id) == (404, "call_not_found", "Call rtc_9 not found.",
                                                                   "req_123")
    assert err.path == "/realtime/calls/rtc_9/accept" and "404" in str(err)
    http.reply(400, b"<html>bad  request\n</html>")
    with pytest.raises(RestRequestError) as info:
        _calls(http).hangup("rtc_9")
    assert info.value.message == "<html>bad request </html>" and info.value.code is None
    http.reply(400, {"error": {"message": "Bearer sk-other-abcdefghijklmnop and ek_abcdefghijklmnopq are no good"}})
    with pytest.raises(RestRequestError) as info:
        _calls(http).hangup("rtc_9")
    assert info.value.message == "Bearer *** and *** are no good"  # key-shaped text the endpoint never sent


def test_429_waits_for_retry_after_then_succeeds(http):
    sleeps = Sleeps()
    http.reply(429, _error("Rate limit reached.", "rate_limit_exceeded"), Retry_After="7")
    http.reply(503, _error("Overloaded.", type="server_error"), retry_after_ms="250")
    _calls(http, sleeps).hangup("rtc_1")
    assert sleeps == [7.0, 0.25] and len(http.requests) == 3


def test_retry_after_as_an_http_date(http):
    sleeps = Sleeps()
    http.reply(429, _error("slow down"), Retry_After=email.utils.formatdate(time.time() + 5, usegmt=True))
    _calls(http, sleeps).hangup("rtc_1")
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 5.0


def test_retry_after_beyond_the_bound_or_the_deadline_is_not_waited_for(http):
    sleeps = Sleeps()
    http.reply(429, _error("Rate limit reached."), Retry_After="60")
    with pytest.raises(RateLimitError) as info:
        _calls(http, sleeps).hangup("rtc_1")
    assert info.value.retry_after == 60.0 and info.value.status == 429 and sleeps == []
    http.reply(429, _error("Rate limit reached."), Retry_After="5")
    with pytest.raises(RateLimitError):
        _calls(http, sleeps, timeout=2.0).hangup("rtc_1")
    assert sleeps == [] and len(http.requests) == 2


def test_5xx_retried_with_backoff_then_raised(http):
    sleeps = Sleeps()
    for _ in range(3):
        http.reply(500, _error("The server had an error.", type="server_error"))
    with pytest.raises(RestServerError) as info:
        _calls(http, sleeps).reject("rtc_1")
    assert info.value.status == 500 and info.value.type == "server_error"
    assert sleeps == [0.5, 1.0] and len(http.requests) == 3
    http.reply(502, b"")
    with pytest.raises(RestServerError):
        _calls(http, Sleeps(), max_retries=0).reject("rtc_1")
    assert len(http.requests) == 4


def test_a_server_that_never_answers_times_out_on_the_deadline(http):
    http.reply(0)
    started = time.monotonic()
    with pytest.raises(RealtimeTimeoutError):
        _calls(http, timeout=0.5).hangup("rtc_1")
    assert time.monotonic() - started < 3.0


def test_an_unreachable_server_is_a_connection_error():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    calls = Calls(openai_endpoint(KEY, endpoint=f"http://127.0.0.1:{port}/v1"), sleep=Sleeps())
    with pytest.raises(RealtimeConnectionError) as info:
        calls.hangup("rtc_1")
    assert KEY not in str(info.value)


def test_a_redirect_is_not_followed(http):
    http.reply(307, b"", Location="http://elsewhere.invalid/steal")
    with pytest.raises(RestError) as info:
        _calls(http).hangup("rtc_1")
    assert info.value.status == 307 and len(http.requests) == 1


# -- the sideband URL -----------------------------------------------------------------------------------------------
def test_call_endpoint_urls():
    from realtime_sync.rest import call_endpoint

    openai_ep = openai_endpoint(KEY, endpoint="https://api.openai.com/v1", query={"call_id": "evil"})
    side = call_endpoint(openai_ep, "rtc_u1 abc")
    assert side.url == "wss://api.openai.com/v1/realtime?call_id=rtc_u1+abc"
    assert side.headers()["Authorization"] == f"Bearer {KEY}"
    assert openai_ep.url.endswith("model=gpt-realtime-2.1&call_id=evil")  # the original is left as it was
    assert call_endpoint(openai_ep, "rtc_1", model="gpt-realtime-mini").url == \
        "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini&call_id=rtc_1"
    azure = call_endpoint(azure_endpoint("https://res.openai.azure.com", "dep", api_key=KEY), "rtc_1")
    assert azure.url == "wss://res.openai.azure.com/openai/v1/realtime?model=dep&call_id=rtc_1"
    assert azure.headers()["api-key"] == KEY
    with pytest.raises(ProtocolError):
        call_endpoint(openai_ep, "")
