"""Fault injection: drops, closes, malformed / unknown / error events, stalls, delays and session expiry."""
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.testing.sim_client import SimClient, open_client, user_text


def _closed(client, timeout=3.0):
    with pytest.raises(ConnectionClosed) as info:
        while True:
            client.recv(timeout)
    return info.value


def test_drop_after_n_events_cuts_tcp_without_close_frame(fake_server):
    with open_client(fake_server) as c:
        fake_server.faults.drop_after(3)
        c.send(user_text("a"))
        c.send({"type": "response.create"})
        exc = _closed(c)
    assert exc.rcvd is None  # no close frame: abnormal closure (1006)
    assert [e["type"] for e in c.events[1:]] == ["conversation.item.added", "conversation.item.done",
                                                 "response.created"]
    with open_client(fake_server) as again:  # fired once: the next connection works
        again.send({"type": "input_audio_buffer.clear"})
        again.expect("input_audio_buffer.cleared")


def test_close_after_with_code_and_reason(fake_server):
    fake_server.faults.close_after(1, code=1011, reason="keepalive ping timeout", scope="new")
    with open_client(fake_server) as c:  # fires after session.created
        exc = _closed(c)
    assert (exc.rcvd.code, exc.rcvd.reason) == (1011, "keepalive ping timeout")
    assert fake_server.connections[0].close_code == 1011


def test_drop_on_connect_before_session_created(fake_server):
    fake_server.faults.drop_after(0, scope="new")
    client = SimClient(fake_server.url(), {"Authorization": f"Bearer {fake_server.api_key}"})
    assert _closed(client).rcvd is None and client.events == []


def test_malformed_unknown_and_error_events(fake_server):
    with open_client(fake_server) as c:
        fake_server.faults.send_malformed()
        with pytest.raises(ValueError):
            c.recv()
        fake_server.faults.send_unknown_event(event_type="response.brand_new")
        assert c.recv()["type"] == "response.brand_new"
        fake_server.faults.send_error(code="server_error", message="Something broke.")
        err = c.expect("error")["error"]
        assert err == {"type": "server_error", "code": "server_error", "message": "Something broke.", "param": None,
                       "event_id": None}
        c.send({"type": "input_audio_buffer.clear"})  # still usable
        c.expect("input_audio_buffer.cleared")


def test_times_counts_connections(fake_server):
    rule = fake_server.faults.send_unknown_event(after=1, times=2, scope="new")
    seen = []
    for _ in range(3):
        with open_client(fake_server) as c:
            seen.append([e["type"] for e in c.drain(0.15)])
    assert seen == [["response.future_event"], ["response.future_event"], []] and rule.fired == 2


def test_stall_stops_everything_including_pongs(fake_server):
    with open_client(fake_server) as c:
        fake_server.faults.stall()
        c.send({"type": "input_audio_buffer.clear"})
        assert c.drain(0.3) == []
        pong = c.ws.ping()
        assert not pong.wait(0.5)  # a client keepalive would time out here
    assert fake_server.connections[0].stalled


def test_delay_adds_latency_to_every_event(fake_server):
    with open_client(fake_server) as c:
        fake_server.faults.delay(0.2)
        start = time.monotonic()
        c.send({"type": "input_audio_buffer.clear"})
        c.expect("input_audio_buffer.cleared")
        assert time.monotonic() - start >= 0.2
        fake_server.faults.delay(0)


def test_expire_after_sends_session_expired_then_closes_1001(fake_server):
    fake_server.faults.expire_after(0.4)
    with open_client(fake_server) as c:
        assert abs(c.events[0]["session"]["expires_at"] - time.time()) < 2
        err = c.expect("error", timeout=3)["error"]
        assert err["code"] == "session_expired" and "maximum duration of 0.4 seconds" in err["message"]
        exc = _closed(c)
    assert exc.rcvd.code == 1001 and "maximum duration" in exc.rcvd.reason


def test_server_default_session_lifetime(make_fake_server):
    server = make_fake_server(session_seconds=120)
    with open_client(server) as c:
        assert 115 < c.events[0]["session"]["expires_at"] - time.time() <= 120


def test_clear_disarms_rules(fake_server):
    fake_server.faults.drop_after(2)
    fake_server.faults.clear()
    with open_client(fake_server) as c:
        for _ in range(3):
            c.send({"type": "input_audio_buffer.clear"})
            c.expect("input_audio_buffer.cleared")
    json.dumps(fake_server.received)


@pytest.mark.parametrize("arm, error", [
    (lambda f: f.send_unknown_event("response.new_thing"), TypeError),  # the README's old example
    (lambda f: f.drop_after(-1), ValueError),
    (lambda f: f.close_after(1, code=99), ValueError),
    (lambda f: f.close_after(1, reason="x" * 124), ValueError),
    (lambda f: f.send_error(code=500), TypeError),
    (lambda f: f.stall(times=0), ValueError),
    (lambda f: f.send_malformed(text=b"x"), TypeError),
    (lambda f: f.delay(-1), ValueError),
    (lambda f: f.expire_after("10"), TypeError),
])
def test_fault_arguments_are_checked_when_set(fake_server, arm, error):
    """Issue 11: a wrong fault argument raises at once instead of killing the simulator's handler later."""
    with pytest.raises(error):
        arm(fake_server.faults)
    assert fake_server.faults.rules_for_new_connection() == []


def test_readme_unknown_event_example_works(fake_server):
    fake_server.faults.send_unknown_event(event_type="response.new_thing", scope="new")
    with open_client(fake_server, created=False) as c:
        assert c.recv()["type"] == "response.new_thing"
