"""``server.place_call``: the simulator's phone calls an app (a stdlib HTTP webhook receiver here) that verifies the
webhook with realtime_sync.webhooks, answers with the library's ``client.calls``, attaches with
``client.attach_call`` and talks with ``ask``, tools and DTMF."""
import base64
import json
import os
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest

from realtime_sync import RealtimeClient, SessionOptions, webhooks
from realtime_sync.dtmf import DtmfCollector
from realtime_sync.errors import (ConfigurationError, ConnectionClosedError, RealtimeTimeoutError, RequestRefusedError,
                                  RestRequestError, SessionClosedError, WebhookVerificationError)
from realtime_sync.testing import FunctionCall, scripted, synthesize
from realtime_sync.tools import ToolRegistry
from tests.testing.webhook_receiver import WebhookReceiver

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
GREETING = "Hello, you reached the billing line."


def lookup_bill(account: str) -> Dict[str, Any]:
    """Look up the caller's bill."""
    return {"account": account, "due": "42.00 USD"}


class Ended:
    """An observer noting the end of the app's sideband session."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: Optional[BaseException] = None

    def handle_update(self, update: Any) -> None:
        pass

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        self.error = error
        self.event.set()


class PhoneApp:
    """What a Flask/Django SIP view does: verify, accept with tools, attach on a thread, greet, read digits."""

    def __init__(self, server: Any, *, secret: str = SECRET, greet: bool = True, read_digits: bool = False,
                 then: Optional[str] = None, tools: bool = True, in_view: bool = False) -> None:
        self.client = RealtimeClient(server.api_key, endpoint=server.base_url, model="gpt-realtime")
        self.secret = secret
        self.greet = greet
        self.read_digits = read_digits
        self.then = then  #: "hangup" or "refer" once the conversation is done
        self.calls: List[webhooks.CallIncoming] = []
        self.results: Dict[str, Any] = {}
        self.ended = Ended()
        self.done = threading.Event()
        self.tool_args: List[str] = []
        self.tools = tools
        self.in_view = in_view  #: hold the whole call inside the webhook request (a blocking legacy view)

    def webhook(self, body: bytes, headers: Dict[str, str]) -> int:
        try:
            call = webhooks.verify(body, headers, self.secret)
        except WebhookVerificationError:
            return 400
        self.calls.append(call)
        tools = ToolRegistry([lookup_bill] if self.tools else [])
        options = SessionOptions(instructions="You answer the billing line.", tools=tools.definitions())
        self.client.calls.accept(call.call_id, options)
        if self.in_view:
            self.converse(call.call_id)
        else:
            threading.Thread(target=self.converse, args=(call.call_id,), daemon=True).start()
        return 200

    def converse(self, call_id: str) -> None:
        try:
            session = self.client.attach_call(call_id)
            session.add_observer(self.ended)

            def tool(account: str) -> Dict[str, Any]:
                """Look up the caller's bill."""
                self.tool_args.append(account)
                return lookup_bill(account)

            session.register_tool(tool, name="lookup_bill", update_session=False)
            digits = DtmfCollector(session)
            if self.greet:
                self.results["greeting"] = session.ask("The caller is on the line: greet them.", timeout=10).transcript
            if self.read_digits:
                self.results["digits"] = digits.read(terminators="#", timeout=10)
            if self.then == "hangup":
                self.client.calls.hangup(call_id)
            elif self.then == "refer":
                self.client.calls.refer(call_id, "tel:+14155550123")
            self.ended.event.wait(10)
        except Exception as exc:  # reported by the test
            self.results["error"] = exc
        finally:
            self.done.set()


def test_a_call_is_verified_accepted_attached_and_answered_with_tools_and_digits(make_fake_server):
    responder = scripted(GREETING, FunctionCall("lookup_bill", {"account": "A-7"}))
    server = make_fake_server(responder=responder)
    app = PhoneApp(server, read_digits=True, then="hangup")
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET, caller="+15550123",
                                 audio=synthesize("I have a question about my bill", "pcm16"), dtmf="12#")
        assert call.wait_accepted(10) is True
        assert call.wait_ended(10) == "ended" and call.ended_by == "app"
        assert app.done.wait(10)
    assert "error" not in app.results and not receiver.errors
    incoming = app.calls[0]
    assert incoming.call_id == call.call_id and incoming.call_id.startswith("rtc_")
    assert incoming.header("From") == "<sip:+15550123@trunk.example>" and incoming.sip_media_security == "srtp"
    assert app.results["greeting"] == GREETING
    assert app.tool_args == ["A-7"]  # the caller's speech -> server VAD -> the model called the app's tool
    assert app.results["digits"] == "12" and call.digits_sent == "12#"
    assert call.replies == [GREETING, 'Here is what I found: {"account": "A-7", "due": "42.00 USD"}']
    assert call.heard_audio and call.error is None and call.script_done
    assert call.accepted_session["instructions"] == "You answer the billing line."
    conn = call.sim_call.connections[0]
    assert conn.session_wire["tools"][0]["name"] == "lookup_bill"
    assert "response.output_audio.delta" not in conn.sent_types and "output_audio_buffer.stopped" in conn.sent_types
    assert isinstance(app.ended.error, ConnectionClosedError) and app.ended.error.code == 1000
    assert "call ended" in str(app.ended.error)


def test_the_call_goes_on_while_the_webhook_view_is_still_busy(make_fake_server):
    server = make_fake_server(responder=scripted(GREETING))
    app = PhoneApp(server, read_digits=True, then="hangup", tools=False, in_view=True)
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET, dtmf="55#", timeout=10)
        assert call.wait_ended(10) == "ended" and call.ended_by == "app"
        assert app.done.wait(10)
    assert app.results["greeting"] == GREETING and app.results["digits"] == "55"
    assert "error" not in app.results and call.wait_webhook(10) == 200


def test_the_caller_speaks_without_waiting_for_a_greeting(make_fake_server):
    server = make_fake_server()
    app = PhoneApp(server, greet=False, tools=False)  # the caller may speak before the app registers anything
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET, audio=synthesize("hello", "pcm16"), wait_for_greeting=False)
        assert call.wait_for_reply(1, 10) == "I heard you. How can I help you today?"  # server VAD heard speech
        call.wait_script(10)
        assert call.hangup() is True
        assert app.ended.event.wait(10) and app.done.wait(10)
    assert call.state == "ended" and call.ended_by == "caller"
    assert "error" not in app.results and call.error is None
    assert isinstance(app.ended.error, ConnectionClosedError) and app.ended.error.code == 1000


def test_a_bad_signature_gets_400_and_no_accept(make_fake_server):
    server = make_fake_server()
    app = PhoneApp(server, secret="whsec_" + base64.b64encode(b"another secret entirely").decode())
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET, timeout=5)
        assert call.wait_accepted(10) is False
    assert call.wait_webhook(10) == 400
    assert call.state == "refused" and call.webhook_status == 400 and call.webhook_error == "HTTP 400"
    assert app.calls == [] and call.sim_call.accepted_session is None
    with pytest.raises(RestRequestError) as refused:  # too late: the call is gone
        app.client.calls.accept(call.call_id)
    assert refused.value.code == "call_ended"


def test_an_unreachable_webhook_is_reported(make_fake_server):
    server = make_fake_server()
    with WebhookReceiver(lambda body, headers: 200) as receiver:
        url = receiver.url
    call = server.place_call(url, SECRET, timeout=2)
    assert call.wait_ended(10) == "refused" and call.wait_webhook(10) is None and call.webhook_error


def test_a_call_not_accepted_in_time_ends_unanswered(make_fake_server):
    server = make_fake_server()
    with WebhookReceiver(lambda body, headers: 200) as receiver:
        call = server.place_call(receiver.url, SECRET, timeout=0.3)
        assert call.wait_ended(10) == "unanswered" and call.ended_by == "phone"
    client = RealtimeClient(server.api_key, endpoint=server.base_url, model="gpt-realtime")
    with pytest.raises(RestRequestError) as late:
        client.calls.accept(call.call_id)
    assert late.value.status == 400 and late.value.code == "call_ended"


def test_reject_reaches_the_caller_with_its_sip_status(make_fake_server):
    server = make_fake_server()
    client = RealtimeClient(server.api_key, endpoint=server.base_url, model="gpt-realtime")

    def busy(body: bytes, headers: Dict[str, str]) -> int:
        client.calls.reject(webhooks.verify(body, headers, SECRET).call_id, status_code=486)
        return 200

    with WebhookReceiver(busy) as receiver:
        call = server.place_call(receiver.url, SECRET)
        assert call.wait_accepted(10) is False
    assert call.state == "rejected" and call.reject_status == 486 and call.ended_by == "app"
    with pytest.raises(RequestRefusedError) as refused:
        client.attach_call(call.call_id, timeout=5)
    assert refused.value.error_code == "call_ended"


def test_refer_transfers_the_call_and_ends_the_sideband(make_fake_server):
    server = make_fake_server(responder=scripted(GREETING))
    app = PhoneApp(server, then="refer")
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET)
        assert call.wait_ended(10) == "referred" and call.referred_to == "tel:+14155550123"
        assert app.ended.event.wait(10) and app.done.wait(10)
    assert call.replies == [GREETING] and "error" not in app.results
    assert call.sim_call.connections[0].close_code == 1000


def test_the_caller_hanging_up_ends_the_apps_session(make_fake_server):
    server = make_fake_server(responder=scripted(GREETING))
    app = PhoneApp(server, read_digits=True)
    with WebhookReceiver(app.webhook) as receiver:
        call = server.place_call(receiver.url, SECRET)
        assert call.wait_for_reply(1, 10) == GREETING
        call.hangup()
        assert app.done.wait(10)
    error = app.results.get("error")  # the digits never came: the read ends with the connection's end
    assert isinstance(error, ConnectionClosedError) and error.code == 1000
    assert call.ended_by == "caller" and call.sim_call.connections[0].close_code == 1000


def test_an_accepted_call_with_no_sideband_is_hung_up_by_the_caller(make_fake_server):
    server = make_fake_server()
    client = RealtimeClient(server.api_key, endpoint=server.base_url, model="gpt-realtime")

    def accept_only(body: bytes, headers: Dict[str, str]) -> int:
        client.calls.accept(webhooks.verify(body, headers, SECRET).call_id)
        return 200

    with WebhookReceiver(accept_only) as receiver:
        call = server.place_call(receiver.url, SECRET, timeout=0.3)
        assert call.wait_ended(10) == "ended" and call.ended_by == "caller"
    call.wait_script(5)
    assert "no sideband" in (call.error or "")
    with pytest.raises(SessionClosedError):
        call.wait_attached(1)


def test_openai_python_accepts_what_the_phone_sends(make_fake_server):
    openai = pytest.importorskip("openai")
    from openai.types.webhooks import RealtimeCallIncomingWebhookEvent

    server = make_fake_server()
    with WebhookReceiver(lambda body, headers: 200) as receiver:
        call = server.place_call(receiver.url, SECRET, caller="+15550199", timeout=0.3)
        call.wait_ended(10)
    body, headers = receiver.requests[0]
    assert body == call.webhook_body and headers["Content-Type"] == "application/json"
    client = openai.OpenAI(api_key="sk-unused", webhook_secret=SECRET)
    client.webhooks.verify_signature(body, headers)
    event = client.webhooks.unwrap(body, headers)
    assert event.type == "realtime.call.incoming" and event.data.call_id == call.call_id
    strict = RealtimeCallIncomingWebhookEvent.model_validate(json.loads(body), strict=True)
    assert [h.name for h in strict.data.sip_headers] == ["From", "To", "Call-ID"]
    assert strict.object == "event" and strict.data.sip_media_security == "srtp"
    with pytest.raises(openai.InvalidWebhookSignatureError):
        openai.OpenAI(api_key="sk-unused", webhook_secret="whsec_" + base64.b64encode(b"other").decode()) \
            .webhooks.verify_signature(body, headers)


def test_place_call_refuses_bad_arguments(make_fake_server):
    server = make_fake_server()
    with pytest.raises(ValueError):
        server.place_call("ftp://example.com/hook", SECRET)
    with pytest.raises(ValueError):
        server.place_call("http://127.0.0.1:9/hook", SECRET, dtmf="12x")
    with pytest.raises(ConfigurationError):
        server.place_call("http://127.0.0.1:9/hook", "")
    with pytest.raises(ValueError):
        server.place_call("http://127.0.0.1:9/hook", SECRET, audio=b"\x00\x01\x02")
    assert server.calls.all() == []


def test_waits_are_deadlines(make_fake_server):
    server = make_fake_server()
    with WebhookReceiver(lambda body, headers: 200) as receiver:
        call = server.place_call(receiver.url, SECRET, timeout=30)
        with pytest.raises(RealtimeTimeoutError):
            call.wait_accepted(0.05)
        with pytest.raises(RealtimeTimeoutError):
            call.wait_ended(0.05)
        with pytest.raises(SessionClosedError):
            call.press("1")  # nobody is attached
        call.hangup()
    assert call.wait_ended(1) == "ended"


def test_the_cli_places_a_call_and_reports_it():
    info: Dict[str, str] = {}
    ready = threading.Event()
    apps: List[PhoneApp] = []

    def webhook(body: bytes, headers: Dict[str, str]) -> int:
        assert ready.wait(30)
        app = PhoneApp(SimpleNamespace(api_key="sk-cli-test", base_url=info["base_url"]), tools=False)
        apps.append(app)
        return app.webhook(body, headers)

    with WebhookReceiver(webhook) as receiver:
        proc = subprocess.Popen([sys.executable, "-m", "realtime_sync.testing", "--port", "0", "--pace", "0",
                                 "--api-key", "sk-cli-test", "--log-level", "WARNING", "--exit-after", "60",
                                 "--place-call", receiver.url, "--say", "I have a question", "--dtmf", "9#",
                                 "--hangup-after", "0", "--call-timeout", "10"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, "OPENAI_WEBHOOK_SECRET": SECRET})
        try:
            for line in proc.stdout:
                if line.strip() == "ready":
                    break
                key, _, value = line.strip().partition(": ")
                info[key] = value
            ready.set()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("call: rtc_") and lines[0][len("call: "):] == apps[0].calls[0].call_id
    assert lines[1:] == ["ended: ended by caller", "assistant: You said: The caller is on the line: greet them.",
                         "assistant: I heard you. How can I help you today?"]
    assert apps[0].done.wait(10) and "error" not in apps[0].results


def test_the_cli_help_documents_placing_a_call():
    out = subprocess.run([sys.executable, "-m", "realtime_sync.testing", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60).stdout
    for option in ("--place-call URL", "--webhook-secret WHSEC", "--caller", "--audio WAV", "--say TEXT", "--dtmf",
                   "--hangup-after SECONDS"):
        assert option in out


def test_the_cli_needs_a_webhook_secret():
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_WEBHOOK_SECRET"}
    proc = subprocess.run([sys.executable, "-m", "realtime_sync.testing", "--port", "0", "--pace", "0",
                           "--place-call", "http://127.0.0.1:9/hook"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)
    assert proc.returncode == 2 and "--webhook-secret" in proc.stderr


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_openai_python_answers_a_call_end_to_end(make_fake_server):
    """openai-python as the app: webhooks.unwrap, realtime.calls.accept, connect(call_id=...), typed events."""
    openai = pytest.importorskip("openai")
    server = make_fake_server(responder=scripted(GREETING))
    client = openai.OpenAI(api_key=server.api_key, base_url=server.base_url, webhook_secret=SECRET)
    incoming: List[str] = []

    def webhook(body: bytes, headers: Dict[str, str]) -> int:
        event = client.webhooks.unwrap(body, headers)
        incoming.append(event.data.call_id)
        client.realtime.calls.accept(event.data.call_id, type="realtime", instructions="Answer the phone.")
        return 200

    with WebhookReceiver(webhook) as receiver:
        call = server.place_call(receiver.url, SECRET, dtmf="7")
        assert call.wait_accepted(10)
        with client.realtime.connect(call_id=call.call_id) as conn:
            types = []
            for event in conn:
                types.append(event.type)
                if event.type == "session.created":
                    assert event.session.instructions == "Answer the phone."
                    conn.response.create()
                if event.type == "input_audio_buffer.dtmf_event_received":
                    assert event.event == "7"
                    break
        client.realtime.calls.hangup(call.call_id)
        assert call.wait_ended(10) == "ended" and call.ended_by == "app"
    assert incoming == [call.call_id] and call.replies == [GREETING]
    assert "response.output_audio.delta" not in types
    assert types.index("output_audio_buffer.started") < types.index("response.done") \
        < types.index("output_audio_buffer.stopped") < types.index("input_audio_buffer.dtmf_event_received")
