"""Start/stop, thread hygiene, keepalive pings, and the schema validation hook itself."""
import threading
import time

import pytest

from realtime_sync.testing import FakeRealtimeServer, server_event_errors, validation_scope
from realtime_sync.testing.validate import load_schema
from tests.testing.sim_client import open_client, user_text


def _sim_threads():
    return [t for t in threading.enumerate() if t.name.startswith("rt-sim")]


def test_stop_closes_sessions_and_leaves_no_threads():
    before = set(_sim_threads())
    server = FakeRealtimeServer(pace=1.0).start()
    clients = [open_client(server) for _ in range(3)]
    clients[0].send(user_text("a long talk"))
    clients[0].send({"type": "response.create"})
    clients[0].expect("conversation.item.added")
    start = time.monotonic()
    server.stop(timeout=5)
    assert time.monotonic() - start < 5
    for c in clients:
        with pytest.raises(Exception):
            while True:
                c.recv(2)
        assert c.ws.close_code in (1001, 1006)
    deadline = time.monotonic() + 3
    while set(_sim_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(_sim_threads()) - before
    server.stop()  # idempotent


def test_context_manager_and_addresses():
    with FakeRealtimeServer(api_key="sk-fixed") as server:
        assert server.port > 0 and server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.azure_endpoint == f"http://127.0.0.1:{server.port}"
        assert server.url("gpt-realtime-mini").endswith("/v1/realtime?model=gpt-realtime-mini")
        assert server.api_key == "sk-fixed"
        assert FakeRealtimeServer().api_key.startswith("sk-test-")


def test_server_pings_the_client(make_fake_server):
    server = make_fake_server(ping_interval=0.1)
    with open_client(server) as c:
        time.sleep(0.5)
        assert server.connections[0].ws.latency > 0  # set when the client's pong came back
        c.send({"type": "input_audio_buffer.clear"})
        c.expect("input_audio_buffer.cleared")


def test_validation_catches_an_invalid_event():
    assert server_event_errors({"type": "response.done", "event_id": "e", "response": {"status": "weird"}}, "ga")
    assert server_event_errors({"type": "response.audio.delta", "event_id": "e"}, "ga")  # a beta name in GA
    with validation_scope() as scope:
        def corrupt(conn, event):
            if event["type"] == "input_audio_buffer.cleared":
                event["event_id"] = 5

        server = FakeRealtimeServer(pace=0, event_hook=corrupt, validate=True).start()
        try:
            with open_client(server) as c:
                c.send({"type": "input_audio_buffer.clear"})
                c.expect("input_audio_buffer.cleared")
        finally:
            server.stop()
    assert len(scope.failures) == 1 and "input_audio_buffer.cleared" in scope.failures[0]
    assert len(server.validation_errors) == 1
    with pytest.raises(AssertionError):
        scope.assert_clean()


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_validator_agrees_with_the_spec_examples(dialect):
    import json
    from pathlib import Path

    examples = json.loads((Path(__file__).resolve().parents[1] / "data" / f"examples-{dialect}.json").read_text())
    schema = load_schema(dialect)
    for ex in examples:
        if ex["direction"] == "server" and ex["type"] in schema["server_events"] and \
                ex["event"].get("type") == ex["type"]:
            assert (server_event_errors(ex["event"], dialect) == []) == ex["valid_strict"], ex["type"]
