"""Reconnect: the decisions (no I/O), and sessions that survive drops, closes and expiry against the simulator."""
import socket
import threading
import time

import pytest

from realtime_sync import (AuthenticationError, ConnectionClosedError, ConnectionLostError, ConversationItem,
                           ReconnectedUpdate, RequestRefusedError, SessionClosedError, SessionInterruptedError,
                           SessionOptions, UpdateKind)
from realtime_sync.conversation import MirrorItem
from realtime_sync.errors import ConfigurationError, HandshakeError
from realtime_sync.reconnect import ReconnectPolicy, reconnect_reason, restore_plan

from tests.support.sessions import client_for
from tests.support.waiting import next_of_kind, wait_until

FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, attempt_timeout=5.0)


# -- decisions ---------------------------------------------------------------------------------------------------
def test_backoff_is_capped_exponential_with_downward_jitter():
    p = ReconnectPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25)
    assert [p.delay(n, rng=lambda: 0.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert p.delay(3, rng=lambda: 1.0) == pytest.approx(1.5)
    with pytest.raises(ConfigurationError):
        ReconnectPolicy(restore="everything")
    assert ReconnectPolicy.coerce(True) == ReconnectPolicy() and ReconnectPolicy.coerce(False) is None


@pytest.mark.parametrize("error,last,why", [
    (ConnectionLostError(1006, "EOF"), None, "connection lost"),
    (ConnectionLostError(None, "dead peer"), None, "dead peer"),
    (ConnectionClosedError(1001, "going away"), None, "close 1001"),
    (ConnectionClosedError(1001, "going away"), "session_expired", "session_expired"),
    (ConnectionClosedError(1011, ""), None, "close 1011"),
    (ConnectionClosedError(1012, ""), None, "close 1012"),
    (ConnectionClosedError(1000, ""), None, None),
    (ConnectionClosedError(4001, ""), None, None),
    (SessionClosedError(), None, None),
    (AuthenticationError("no", close_code=3000), None, None),
    (RequestRefusedError(4000, "beta"), None, None),
    (HandshakeError("no", status=404), None, None),
    (None, None, None),
])
def test_what_reconnects_and_what_does_not(error, last, why):
    assert reconnect_reason(error, last) == why


def _item(i, **kw):
    return MirrorItem(id=f"item_old_{i}", **kw)


def test_the_restore_plan_replays_config_then_items_within_the_budget():
    items = [_item(0, type="message", role="user", text="hi"),
             _item(1, type="message", role="assistant", transcript="hello there", has_audio=True, phase="final_answer"),
             _item(2, type="function_call", call_id="c1", name="weather", arguments='{"city": "Paris"}'),
             _item(3, type="function_call_output", call_id="c1", output='{"temp": 20}'),
             _item(4, type="function_call", call_id="c2", name="orphan"),  # no output: not replayed
             _item(5, type="message", role="user", has_audio=True),  # audio without a transcript: nothing to say
             _item(6, type="message", role="user", transcript="spoken words", has_audio=True)]
    plan = restore_plan({"type": "realtime", "instructions": "be brief"}, items, ReconnectPolicy())
    assert plan[0] == {"type": "session.update", "session": {"type": "realtime", "instructions": "be brief"}}
    created = [c["item"] for c in plan[1:]]
    assert [c["type"] for c in created] == ["message", "message", "function_call", "function_call_output",
                                            "message"]
    assert created[1] == {"type": "message", "role": "assistant", "phase": "final_answer",
                          "content": [{"type": "output_text", "text": "hello there"}]}
    assert created[4]["content"] == [{"type": "input_text", "text": "spoken words"}]
    assert all("id" not in c for c in created)  # old ids are never used on the new session
    small = restore_plan(None, items, ReconnectPolicy(max_restore_items=2))
    assert [c["item"]["type"] for c in small] == ["message"]  # the cut left an output without its call: dropped
    session_only = restore_plan({"x": 1}, items, ReconnectPolicy(restore="session"))
    assert session_only == [{"type": "session.update", "session": {"x": 1}}]
    assert restore_plan({"x": 1}, items, ReconnectPolicy(restore="none")) == []
    summary = restore_plan(None, items, ReconnectPolicy(history_hook=lambda its: [its[0]]))
    assert [c["item"]["content"][0]["text"] for c in summary] == ["hi"]


# -- against the simulator -----------------------------------------------------------------------------------------
def test_a_drop_mid_session_reconnects_and_restores_config_tools_and_conversation(fake_server):
    client = client_for(fake_server, reconnect=FAST)
    seen = []
    client.on_reconnected(seen.append)
    with client.start_session(SessionOptions(instructions="Answer in French.")) as session:
        @session.register_tool
        def weather(city: str) -> dict:
            """The weather in a city."""
            return {"city": city, "temp": 20}

        result = session.ask("Hello there", timeout=20)
        assert result.output_text or result.transcript
        old_id = session.id
        before = [(i.role, i.content_text) for i in session.conversation.items()]
        it = session.receive_updates(timeout=10)
        fake_server.faults.drop_after(0, scope="open")
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert isinstance(update, ReconnectedUpdate) and update.why == "connection lost" and update.attempt >= 1
        assert update.old_session_id == old_id and update.new_session_id == session.id != old_id
        assert update.items_restored == len(before) and seen == [update]
        assert not session.closed and session.error is None and not session.reconnecting
        new = fake_server.connections[-1]
        assert new.session.instructions == "Answer in French."
        assert [t["name"] for t in new.session.to_wire()["tools"]] == ["weather"]
        assert [(i.role, i.content_text) for i in session.conversation.items()] == before
        assert not set(session.conversation.ids()) & {i.id for i in fake_server.connections[0].conversation.items()}
        again = session.ask("And now?", timeout=20)  # the session works on
        assert again.output_text or again.transcript


def test_a_restored_2x_conversation_keeps_the_phase_of_assistant_messages(make_fake_server):
    from realtime_sync.testing import FunctionCall, scripted

    server = make_fake_server(responder=scripted(FunctionCall("weather", {"city": "Paris"}), "Sunny."))
    with client_for(server, reconnect=FAST, model="gpt-realtime-2.1").start_session() as session:
        @session.register_tool
        def weather(city: str) -> dict:
            """The weather in a city."""
            return {"city": city, "temp": 20}

        result = session.ask("Weather in Paris?", timeout=20)
        assert result.commentary and result.output_text
        phases = [i.phase for i in session.conversation.items() if i.role == "assistant"]
        assert phases == ["commentary", "final_answer"]
        it = session.receive_updates(timeout=10)
        server.faults.drop_after(0, scope="open")
        assert next_of_kind(it, UpdateKind.RECONNECTED).items_restored == 5
        server.faults.clear()
        replayed = [i for i in server.connections[-1].conversation.items() if i.role == "assistant"]
        assert [i.phase for i in replayed] == ["commentary", "final_answer"]


@pytest.mark.parametrize("fault", ["close_1011", "close_1012", "expire"])
def test_server_closes_that_reconnect(fake_server, fault):
    with client_for(fake_server, reconnect=FAST).start_session() as session:
        it = session.receive_updates(timeout=10)
        if fault == "expire":
            fake_server.faults.expire_after(0.2)
        else:
            fake_server.faults.close_after(0, code=int(fault[-4:]), scope="open")
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert update.why == ("session_expired" if fault == "expire" else f"close {fault[-4:]}")
        fake_server.faults.clear()


@pytest.mark.parametrize("code", [1000, 4000])
def test_closes_that_do_not_reconnect(fake_server, code):
    with client_for(fake_server, reconnect=FAST).start_session() as session:
        fake_server.faults.close_after(0, code=code, scope="open")
        with pytest.raises(ConnectionClosedError) as info:
            list(session.receive_updates(timeout=10))
        assert info.value.code == code and len(fake_server.connections) == 1 and session.closed


def test_a_call_in_flight_fails_typed_and_sends_meanwhile_go_out_once_in_order(fake_server):
    client = client_for(fake_server, reconnect=ReconnectPolicy(initial_delay=0.3, max_delay=0.3))
    sent = []
    client.on_sending_command(sent.append)
    with client.start_session() as session:
        fake_server.faults.stall(0, scope="open")  # no answer comes: the ask is surely in flight at the drop
        errors = []
        asker = threading.Thread(target=lambda: errors.append(_ask_error(session)))
        asker.start()
        assert wait_until(lambda: any('"response.create"' in m for m in sent), 5)
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops
        asker.join(10)
        assert len(errors) == 1 and isinstance(errors[0], SessionInterruptedError)
        assert wait_until(lambda: session.reconnecting or len(fake_server.connections) > 1, 5)
        for i in range(5):  # sent while reconnecting: kept, then sent after the restore
            session.add_item(ConversationItem.user_message(f"during outage {i}"))
        it = session.receive_updates(timeout=10)
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert update.commands_resent >= 5
        new = fake_server.connections[-1]
        assert wait_until(lambda: sum(1 for e in new.received if e.get("type") == "conversation.item.create"
                                      and "during outage" in str(e)) == 5, 5)
        texts = [e["item"]["content"][0]["text"] for e in new.received
                 if e.get("type") == "conversation.item.create" and "during outage" in str(e)]
        assert texts == [f"during outage {i}" for i in range(5)]
        assert not any("during outage" in str(e) for e in fake_server.connections[0].received)


def _ask_error(session):
    try:
        session.ask("slow question", timeout=20)
    except Exception as exc:  # the test checks the type
        return exc
    return None


def test_fresh_credentials_each_attempt_and_a_hook_can_give_up(fake_server):
    calls = []

    def key():
        calls.append(1)
        return fake_server.api_key

    client = client_for(fake_server, api_key=key, reconnect=FAST)
    infos = []

    @client.on_reconnecting
    def decide(info):
        infos.append(info)
        return info.attempt < 3  # give up at the third attempt

    with client.start_session() as session:
        fake_server.faults.drop_after(0, scope="all", times=None)  # every connection drops at once
        with pytest.raises(ConnectionLostError):
            list(session.receive_updates(timeout=10))
        assert [i.attempt for i in infos] == [1, 2, 3] and all(i.why == "connection lost" for i in infos)
        assert len(calls) == 1 + 2  # the first connect, then one fresh key per attempt made
        assert session.closed and isinstance(session.error, ConnectionLostError)
    fake_server.faults.clear()


def test_attempts_run_out_and_the_typed_error_ends_the_iterator(fake_server):
    client = client_for(fake_server, reconnect=ReconnectPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02))
    with client.start_session() as session:
        fake_server.faults.close_after(0, code=1011, scope="all", times=None)
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError) as info:
            list(session.receive_updates(timeout=10))
        assert time.monotonic() - t0 < 10 and info.value.code == 1011
        assert len(fake_server.connections) == 3  # the first, then two attempts
    fake_server.faults.clear()


def test_close_during_an_outage_ends_cleanly_and_promptly(fake_server):
    client = client_for(fake_server, reconnect=ReconnectPolicy(initial_delay=30, max_delay=30))
    session = client.start_session()
    fake_server.faults.drop_after(0, scope="open")
    assert wait_until(lambda: session.reconnecting, 5)
    t0 = time.monotonic()
    session.close()
    assert time.monotonic() - t0 < 3 and session.closed
    updates = list(session.receive_updates(timeout=2))  # ends cleanly: no error raised
    assert [u.kind for u in updates] == [UpdateKind.SESSION_CREATED] and session.error is None


def _appended(conn):
    import base64
    return sum(len(base64.b64decode(e["audio"])) for e in conn.received if e.get("type") == "input_audio_buffer.append")


def test_a_streamed_file_resumes_and_a_live_source_drops_its_backlog(fake_server):
    client = client_for(fake_server, reconnect=ReconnectPolicy(initial_delay=0.4, max_delay=0.4))
    with client.start_session(SessionOptions(turn_detection=None)) as session:
        pcm = b"\x01\x00" * 24000 * 2  # 2 s, paced at real time
        handle = session.send_audio(pcm, realtime=True)
        live = session.stream_audio()
        assert wait_until(lambda: handle.bytes_sent >= 48000, 5)  # about half a second in
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)
        assert wait_until(lambda: session.reconnecting, 5)
        live.write(b"\x02\x00" * 2400)  # 100 ms spoken while the connection is down
        it = session.receive_updates(timeout=10)
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert handle.wait(10)  # the file went on after the reconnect
        live.close()
        assert live.wait(5)
        assert update.audio_dropped_bytes == 4800
        first, second = fake_server.connections[0], fake_server.connections[-1]
        assert wait_until(lambda: _appended(first) + _appended(second) >= len(pcm) - 4800, 5)
        total = _appended(first) + _appended(second)
        assert len(pcm) - 4800 <= total <= len(pcm)  # nothing twice; at most the chunk in flight at the drop lost
        assert _appended(second) > 0


def test_a_quiet_session_refreshes_before_expiry_without_a_gap(fake_server):
    fake_server.faults.expire_after(4)  # sessions end after 4 s (session_expired, then close 1001)
    policy = ReconnectPolicy(refresh_lead=2.5, initial_delay=0.05)
    with client_for(fake_server, reconnect=policy).start_session() as session:
        old_id = session.id
        session.add_item(ConversationItem.user_message("remember me"))
        it = session.receive_updates(timeout=10)
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert update.why == "refresh" and update.old_session_id == old_id and update.new_session_id == session.id
        assert update.items_restored == 1 and [i.content_text for i in session.conversation.items()] == ["remember me"]
        old = fake_server.connections[0]
        assert wait_until(lambda: old.closed.is_set(), 5)  # we closed the old one, before it expired
        assert fake_server.connections[-1] is not old and not session.closed
        session.add_item(ConversationItem.user_message("after the switch"))
        assert wait_until(lambda: len(session.conversation) == 2, 5)
        assert any("after the switch" in str(e) for e in fake_server.connections[-1].received)
        seen = []
        try:
            while True:
                seen.append(next(session.receive_updates(timeout=0.3)))
        except Exception:
            pass
        assert not any(u.kind is UpdateKind.ERROR for u in seen)  # no session_expired ever reached the app


def test_a_busy_session_waits_and_reconnects_on_session_expired(fake_server):
    fake_server.faults.expire_after(3)  # (expires_at is whole seconds: the refresh is due 1-2 s after the start)
    policy = ReconnectPolicy(refresh_lead=1.0, initial_delay=0.05)
    with client_for(fake_server, reconnect=policy).start_session() as session:
        session._recovery.watch.responses.add("resp_busy")  # a response stays active: never quiet
        it = session.receive_updates(timeout=10)
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert update.why == "session_expired"


def test_an_attempt_refused_for_its_credentials_ends_the_session_with_that_error(fake_server):
    keys = iter([fake_server.api_key, "sk-revoked-000000000000"])
    client = client_for(fake_server, api_key=lambda: next(keys), reconnect=FAST)
    with client.start_session() as session:
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)
        with pytest.raises(AuthenticationError) as info:
            list(session.receive_updates(timeout=10))
        assert info.value.close_code == 3000 and "sk-revoked" not in str(info.value)  # as the service refuses
        assert session.closed and isinstance(session.error, AuthenticationError)


def test_playback_and_per_connection_state_are_reset_on_a_drop(fake_server):
    from realtime_sync.audio import NullSink

    flushed = []

    class Sink(NullSink):
        def flush(self, wait=True, timeout=1.0):
            flushed.append(True)
            return super().flush(wait, timeout)

    with client_for(fake_server, reconnect=FAST).start_session(SessionOptions(output_modalities=["audio"])) as s:
        player = s.play_audio(Sink())
        fake_server.pace = 1.0  # the reply streams at real time: still playing when the network drops
        s.start_response()
        it = s.receive_updates(timeout=10)
        next_of_kind(it, UpdateKind.OUTPUT_AUDIO_DELTA)
        old_item = player.current_item
        assert old_item is not None
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)
        next_of_kind(it, UpdateKind.RECONNECTED)
        assert flushed and player.current_item is None and player.response_active is False
        new_ids = {i.id for i in fake_server.connections[-1].conversation.items()}
        assert old_item[0] not in new_ids  # nothing of the old session is addressed on the new one


def test_a_hook_can_route_an_attempt_with_headers_and_query(fake_server):
    client = client_for(fake_server, reconnect=FAST)

    @client.on_reconnecting
    def route(info):
        info.headers["X-Route"] = f"attempt-{info.attempt}"
        info.query["region"] = "eu"

    with client.start_session() as session:
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)
        next_of_kind(session.receive_updates(timeout=10), UpdateKind.RECONNECTED)
        request = fake_server.connections[-1].ws.request
        assert request.headers["X-Route"] == "attempt-1" and "region=eu" in request.path
        assert "region" not in fake_server.connections[0].ws.request.path
