"""scripts/examples/flask_app: with Flask's test client, then on werkzeug's threaded server (in this process) with
20 concurrent requests per ask endpoint, the browser page in headless Chromium, and SIP calls from the simulator's
phone."""
import os
import threading
from typing import Any, Iterator, List

import pytest
from werkzeug.serving import make_server

from realtime_sync import webhooks
from realtime_sync.endpoints import DEFAULT_MODEL
from realtime_sync.testing import synthesize
from realtime_backend import Settings
from simulated_model import GREETING, billing_line
from tests.examples.conftest import EXAMPLES
from tests.examples.helpers import CONCURRENT, ask_in_the_browser, ask_twenty, place_answered_call, place_forged_call
from tests.support.modules import load_file


flask_example = load_file(os.path.join(EXAMPLES, "flask_app", "app.py"), "flask_example_app")


@pytest.fixture
def app(sim: Any, secret: str) -> Iterator[Any]:
    app = flask_example.create_app(Settings(api_key=sim.api_key, base_url=sim.base_url, webhook_secret=secret))
    yield app
    app.extensions["realtime"].close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app on werkzeug's threaded server (a thread per request); its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="werkzeug",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# -- Flask's test client --------------------------------------------------------------------------------------------
def test_ask_endpoints(client, sim):
    assert client.post("/ask", json={"question": "Hi there"}).get_json() == {"question": "Hi there",
                                                                             "answer": "You said: Hi there"}
    for question in ("First?", "Second?"):
        reply = client.post("/ask/shared", json={"question": question})
        assert reply.status_code == 200 and reply.get_json()["answer"] == f"You said: {question}"
    assert len(sim.connections) == 2  # one for /ask, one shared by both /ask/shared requests
    assert not sim.connections[0].is_open or sim.connections[0].wait_closed(5)  # /ask closed its own session
    assert sim.connections[1].is_open
    assert client.post("/ask", json={"question": ""}).status_code == 400
    assert client.post("/ask/shared", data="not json", content_type="application/json").status_code == 400
    assert client.get("/ask").status_code == 405


def test_the_shared_session_forgets_each_exchange(make_fake_server, secret):
    seen: List[int] = []

    def counting(ctx: Any) -> Any:
        seen.append(len(ctx.items))
        return billing_line(ctx)

    server = make_fake_server(responder=counting)
    app = flask_example.create_app(Settings(api_key=server.api_key, base_url=server.base_url))
    try:
        client = app.test_client()
        for i in range(3):
            assert client.post("/ask/shared", json={"question": f"Q{i}"}).get_json()["answer"] == f"You said: Q{i}"
    finally:
        app.extensions["realtime"].close()
    assert seen == [1, 1, 1]  # each answer saw its own question only: the earlier exchanges were deleted
    assert len(server.connections) == 1 and server.connections[0].wait_closed(5)  # closed with the app


def test_the_shared_session_comes_back_after_the_service_ends_it(client, sim, app):
    assert client.post("/ask/shared", json={"question": "Before"}).status_code == 200
    session = app.extensions["realtime"].shared.session(5)
    back = threading.Event()
    app.extensions["realtime"].client.on_reconnected(lambda update: back.set())
    sim.connections[0].set_expiry(0)  # the service's 60-minute limit, now
    assert back.wait(10)  # the library reconnected and restored the session
    reply = client.post("/ask/shared", json={"question": "After"})
    assert reply.status_code == 200 and reply.get_json()["answer"] == "You said: After"
    assert len(sim.connections) == 2 and app.extensions["realtime"].shared.session(5) is session


def test_the_shared_session_is_opened_again_once_it_has_ended(client, sim, app):
    assert client.post("/ask/shared", json={"question": "Before"}).status_code == 200
    app.extensions["realtime"].shared.session(5).close()  # as when reconnecting gives up
    reply = client.post("/ask/shared", json={"question": "After"})
    assert reply.status_code == 200 and reply.get_json()["answer"] == "You said: After"
    assert len(sim.connections) == 2 and sim.connections[0].wait_closed(5) and sim.connections[1].is_open


def test_token_and_page(client, sim):
    reply = client.get("/token")
    token = reply.get_json()
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    assert token["value"].startswith("ek_") and token["url"] == f"{sim.ws_url}?model={DEFAULT_MODEL}"
    assert token["expires_at"] > 0 and sim.api_key not in reply.get_data(as_text=True)
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'"openai-insecure-api-key." + token.value' in page.data


def test_webhook_refuses_what_is_not_signed_with_the_secret(client, sim, secret):
    body = b'{"id": "evt_1", "object": "event", "created_at": 1, "type": "realtime.call.incoming", ' \
           b'"data": {"call_id": "rtc_123", "sip_headers": []}}'
    forged = webhooks.sign(body, "whsec_" + "QUJD" * 8)
    assert client.post("/webhook", data=body, headers=forged).get_json() == {"error": "bad_signature"}
    assert client.post("/webhook", data=body).status_code == 400  # no signature headers at all
    other = b'{"id": "evt_2", "object": "event", "created_at": 1, "type": "batch.completed", "data": {}}'
    ignored = client.post("/webhook", data=other, headers=webhooks.sign(other, secret))
    assert ignored.status_code == 200 and ignored.get_json() == {"ignored": "batch.completed"}
    assert sim.received == [] and sim.connections == []  # nothing reached the service: no accept, no session


# -- werkzeug's threaded server -------------------------------------------------------------------------------------
def test_twenty_concurrent_requests_each_with_its_own_session(served, sim):
    ask_twenty(served + "/ask")
    assert len(sim.connections) == CONCURRENT
    assert all(conn.wait_closed(5) for conn in sim.connections)


def test_twenty_concurrent_requests_on_one_shared_session(served, sim, app):
    ask_twenty(served + "/ask/shared")
    assert len(sim.connections) == 1  # opened once, by whichever request came first
    app.extensions["realtime"].close()  # what atexit does when the app stops
    assert sim.connections[0].wait_closed(5)


def test_the_page_asks_from_the_browser(served, sim, chromium):
    ask_in_the_browser(chromium, served + "/", sim)


def test_a_call_is_answered(served, sim, secret, app):
    place_answered_call(sim, served + "/webhook", secret)
    assert app.extensions["realtime"].phone.join(10)  # the call's thread ended with the call


def test_a_forged_call_gets_400_and_is_not_accepted(served, sim):
    place_forged_call(sim, served + "/webhook")


def test_the_caller_hanging_up_ends_the_call_thread(served, sim, secret, app):
    call = sim.place_call(served + "/webhook", secret, audio=synthesize("Hello?", "pcm16"), timeout=10)
    assert call.wait_for_reply(1, timeout=10) == GREETING
    call.hangup()  # while the app waits for digits
    assert app.extensions["realtime"].phone.join(10)
    assert call.state == "ended" and call.ended_by == "caller"
