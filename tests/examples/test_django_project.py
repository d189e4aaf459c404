"""scripts/examples/django_project: with Django's test client, then under gunicorn (gthread workers, a subprocess on
a free port, as a legacy app runs in production) with 20 concurrent requests per ask endpoint, the browser page in
headless Chromium, and SIP calls from the simulator's phone."""
import os
from typing import Any, Iterator

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voice_site.settings")
django = pytest.importorskip("django")
pytest.importorskip("gunicorn")

from django.test import Client, override_settings  # noqa: E402

from realtime_sync import webhooks  # noqa: E402
from realtime_sync.endpoints import DEFAULT_MODEL  # noqa: E402
from realtime_sync.testing.pytest_plugin import simulators  # noqa: E402
from realtime_backend import Settings  # noqa: E402
from run_demo import AppProcess, new_webhook_secret  # noqa: E402
from simulated_model import billing_line  # noqa: E402
from tests.examples.conftest import app_env  # noqa: E402
from tests.examples.helpers import CONCURRENT, ask_in_the_browser, ask_twenty, place_answered_call, place_forged_call  # noqa: E402,E501

django.setup()
WORKERS = 2
THREADS = 10


@pytest.fixture
def client(sim: Any, secret: str) -> Iterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, webhook_secret=secret)
    with override_settings(REALTIME=settings, ALLOWED_HOSTS=["testserver"]):
        yield Client()
    # leaving override_settings closed the backend (views._realtime_settings_changed)


# -- Django's test client -------------------------------------------------------------------------------------------
def test_ask_endpoints(client, sim):
    reply = client.post("/ask", {"question": "Hi there"}, content_type="application/json")
    assert reply.status_code == 200 and reply.json() == {"question": "Hi there", "answer": "You said: Hi there"}
    for question in ("First?", "Second?"):
        reply = client.post("/ask/shared", {"question": question}, content_type="application/json")
        assert reply.status_code == 200 and reply.json()["answer"] == f"You said: {question}"
    assert len(sim.connections) == 2 and sim.connections[1].is_open
    assert client.post("/ask", {"question": 5}, content_type="application/json").status_code == 400
    assert client.get("/ask").status_code == 405


def test_leaving_the_settings_closes_the_shared_session(sim, secret):
    with override_settings(REALTIME=Settings(api_key=sim.api_key, base_url=sim.base_url),
                           ALLOWED_HOSTS=["testserver"]):
        assert Client().post("/ask/shared", {"question": "Hello"}, content_type="application/json").json() == {
            "question": "Hello", "answer": "You said: Hello"}
        assert sim.connections[0].is_open
    assert sim.connections[0].wait_closed(5)


def test_token_and_page(client, sim):
    reply = client.get("/token")
    token = reply.json()
    assert reply.status_code == 200 and "no-store" in reply.headers["Cache-Control"]
    assert token["value"].startswith("ek_") and token["url"] == f"{sim.ws_url}?model={DEFAULT_MODEL}"
    page = client.get("/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b'"openai-insecure-api-key." + token.value' in page.content


def test_webhook_refuses_what_is_not_signed_with_the_secret(client, sim, secret):
    body = b'{"id": "evt_1", "object": "event", "created_at": 1, "type": "realtime.call.incoming", ' \
           b'"data": {"call_id": "rtc_123", "sip_headers": []}}'
    forged = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in webhooks.sign(body, new_webhook_secret()).items()}
    reply = client.post("/webhook", body, content_type="application/json", **forged)
    assert reply.status_code == 400 and reply.json() == {"error": "bad_signature"}
    assert client.post("/webhook", body, content_type="application/json").status_code == 400
    assert sim.received == [] and sim.connections == []


# -- gunicorn -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def production() -> Iterator[Any]:
    """One simulator and the project under gunicorn (2 worker processes of 10 threads) for the module's tests."""
    secret = new_webhook_secret()
    with simulators(responder=billing_line) as make:
        server = make()
        with AppProcess("django", app_env(server, secret), workers=WORKERS, threads=THREADS) as app:
            yield server, app, secret


def test_twenty_concurrent_requests_each_with_its_own_session(production):
    server, app, _ = production
    before = len(server.connections)
    ask_twenty(app.url + "/ask")
    assert len(server.connections) - before == CONCURRENT


def test_twenty_concurrent_requests_on_shared_sessions(production):
    server, app, _ = production
    before = len(server.connections)
    ask_twenty(app.url + "/ask/shared")
    assert 1 <= len(server.connections) - before <= WORKERS  # one per worker process that got a request


def test_the_page_asks_from_the_browser(production, chromium):
    server, app, _ = production
    ask_in_the_browser(chromium, app.url + "/", server)


def test_a_call_is_answered(production):
    server, app, secret = production
    place_answered_call(server, app.url + "/webhook", secret)


def test_a_forged_call_gets_400_and_is_not_accepted(production):
    server, app, _ = production
    place_forged_call(server, app.url + "/webhook")


def test_gunicorn_stops_cleanly_and_closes_the_shared_session(sim, secret):
    with AppProcess("django", app_env(sim, secret), workers=1, threads=4) as app:
        ask_twenty(app.url + "/ask/shared")
        assert len(sim.connections) == 1 and sim.connections[0].is_open
    assert app.returncode == 0, app.log[-10:]
    assert sim.connections[0].wait_closed(5)
    assert sim.connections[0].ws.close_code == 1000  # closed by the worker as it exited (atexit), not dropped
