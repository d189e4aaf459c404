"""How connections fail: bad keys (both styles), refused requests, closes, drops, dead peers, bad frames."""
import json
import logging
import socket
import sys
import threading
import time

import pytest

from realtime_sync import ConversationItem, SessionOptions, UpdateKind
from realtime_sync.errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError,
                                  RealtimeConnectionError, RealtimeTimeoutError, RequestRefusedError)
from realtime_sync.protocol.updates import ErrorUpdate

from tests.support.sessions import client_for
from tests.support.waiting import wait_until
from .rawserver import SESSION_CREATED, RawServer
from .server import MiniServer, error_event

KEY = "sk-test-key-0123456789"


def refuse(code, close_code, reason):
    def on_connect(conn):
        message = f"Incorrect API key provided: {KEY}." if code == "invalid_api_key" else "refused"
        conn.send(error_event(code, message))
        conn.close(close_code, reason)
    return MiniServer(on_connect=on_connect, send_created=False)


def test_bad_key_openai_style():
    with refuse("invalid_api_key", 3000, "invalid_request_error.invalid_api_key") as srv:
        with pytest.raises(AuthenticationError) as info:
            client_for(srv.base_url, api_key=KEY).start_session()
    assert info.value.code == "invalid_api_key"
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_bad_key_azure_style():
    with MiniServer(status=401) as srv:
        with pytest.raises(AuthenticationError) as info:
            client_for(srv.base_url, api_key=KEY).start_session()
    assert info.value.status == 401
    assert KEY not in str(info.value)


def test_handshake_other_status():
    with MiniServer(status=404) as srv:
        with pytest.raises(RealtimeConnectionError) as info:
            client_for(srv.base_url).start_session()
    assert "404" in str(info.value) and not isinstance(info.value, AuthenticationError)


@pytest.mark.parametrize("code", ["invalid_model", "beta_api_shape_disabled"])
def test_request_refused(code):
    with refuse(code, 4000, f"invalid_request_error.{code}") as srv:
        with pytest.raises(RequestRefusedError) as info:
            client_for(srv.base_url, protocol="beta").start_session()
    assert info.value.code == 4000 and info.value.error_code == code
    assert info.value.reason == f"invalid_request_error.{code}"
    assert str(info.value).endswith(": refused")  # the server's message from the error event before the close


def test_connect_refused_and_timeout():
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    port = lsock.getsockname()[1]
    lsock.close()
    with pytest.raises(RealtimeConnectionError):
        client_for(f"http://127.0.0.1:{port}/v1").start_session()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts TCP, never answers the upgrade
    try:
        t0 = time.monotonic()
        with pytest.raises(RealtimeTimeoutError):
            client_for(f"http://127.0.0.1:{silent.getsockname()[1]}/v1").start_session(timeout=0.5)
        assert time.monotonic() - t0 < 5
    finally:
        silent.close()


def test_no_session_created_times_out():
    with MiniServer(send_created=False) as srv:
        with pytest.raises(RealtimeTimeoutError):
            client_for(srv.base_url).start_session(timeout=0.3)


def test_auth_failure_after_start_raises_from_iterator():
    def handler(conn, msg):
        conn.send(error_event("invalid_api_key", "key revoked"))
        conn.close(3000, "invalid_request_error.invalid_api_key")

    with MiniServer(handler=handler) as srv:
        session = client_for(srv.base_url).start_session()
        session.start_response()
        got = []
        with pytest.raises(AuthenticationError):
            for update in session.receive_updates(timeout=5):
                got.append(update)
        assert [u.kind for u in got] == [UpdateKind.SESSION_CREATED, UpdateKind.ERROR]
        with pytest.raises(AuthenticationError):  # later sends say why
            session.start_response()
        with pytest.raises(AuthenticationError):  # and so do later iterations
            next(session.receive_updates())
        session.close()


def test_clean_server_close_mid_turn_is_an_error():
    def handler(conn, msg):
        conn.send({"type": "response.created", "response": {"id": "resp_1"}})
        conn.close(1001, "session hit the maximum duration")

    with MiniServer(handler=handler) as srv, client_for(srv.base_url).start_session() as session:
        session.start_response()
        got = []
        with pytest.raises(ConnectionClosedError) as info:
            for update in session.receive_updates(timeout=5):
                got.append(update.kind)
        assert got == [UpdateKind.SESSION_CREATED, UpdateKind.RESPONSE_CREATED]
        assert (info.value.code, info.value.reason) == (1001, "session hit the maximum duration")
        assert not isinstance(info.value, ConnectionLostError)


def test_connection_dropped_mid_stream_fails_everything():
    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.recv_frame()  # response.create
        conn.send_json({"type": "response.created", "response": {"id": "resp_1"}})
        conn.send_json({"type": "response.output_text.delta", "delta": "Hel"})
        conn.sock.sendall(b"\x81\x7e\x01\x00" + b"{" * 10)  # half a frame, then the TCP connection drops
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.sock.close()

    with RawServer(script) as srv:
        session = client_for(srv.base_url).start_session()
        box = {}
        waiter = threading.Thread(target=lambda: box.setdefault("w", _catch(
            lambda: session.wait_for(UpdateKind.RESPONSE_DONE, timeout=10))))
        waiter.start()
        assert wait_until(lambda: bool(session._delivery.waiters))
        session.start_response()
        got = []
        with pytest.raises(ConnectionLostError):
            for update in session.receive_updates(timeout=5):
                got.append(update.kind)
        assert got == [UpdateKind.SESSION_CREATED, UpdateKind.RESPONSE_CREATED, UpdateKind.OUTPUT_TEXT_DELTA]
        waiter.join(5)
        assert isinstance(box["w"], ConnectionLostError)
        with pytest.raises(ConnectionLostError):
            session.add_item({"type": "message", "role": "user", "content": []})
        session.close()


def _catch(fn):
    try:
        return fn()
    except Exception as exc:
        return exc


def test_dead_peer_detected():
    stop = threading.Event()

    def script(conn):
        conn.send_json(SESSION_CREATED)
        stop.wait(10)  # never answers pings, never sends

    with RawServer(script) as srv:
        session = client_for(srv.base_url, ping_interval=0.1, dead_peer_timeout=0.6).start_session()
        t0 = time.monotonic()
        with pytest.raises(ConnectionLostError):
            for _ in session.receive_updates(timeout=5):
                pass
        assert time.monotonic() - t0 < 3
        stop.set()
        session.close()


def test_keepalive_pings_and_pongs():
    seen = []
    done = threading.Event()

    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.send_frame(9, b"server-ping")
        while not done.is_set():
            op, data = conn.recv_frame()
            seen.append((op, data))
            if op == 8:
                conn.send_frame(8, data)
                return

    with RawServer(script) as srv:
        session = client_for(srv.base_url, ping_interval=0.05, dead_peer_timeout=5).start_session()
        assert wait_until(lambda: (10, b"server-ping") in seen and any(op == 9 for op, _ in seen), 5)
        session.close()
        done.set()
    assert seen[-1][0] == 8


def _answer_close(conn):
    """Read frames until the client's close frame, and echo it (the close handshake)."""
    while True:
        op, payload = conn.recv_frame()
        if op == 8:
            conn.send_frame(8, payload)
            return


def test_fragmented_messages_and_interleaved_control_frames():
    big = json.dumps({"type": "response.output_audio.delta", "delta": "QUJD" * 50000})

    def script(conn):
        data = json.dumps(SESSION_CREATED).encode()
        conn.send_frame(1, data[:10], fin=False)
        conn.send_frame(9, b"p1")  # a ping between fragments
        conn.send_frame(0, data[10:20], fin=False)
        conn.send_frame(0, data[20:], fin=True)
        raw = big.encode()
        conn.send_frame(1, raw[:70000], fin=False)
        conn.send_frame(0, raw[70000:], fin=True)
        conn.send_frame(2, b"\x00\x01")  # binary: ignored
        conn.send_frame(1, b"this is not json")  # dropped, logged
        conn.send_json({"type": "response.done", "response": {"id": "r"}})
        _answer_close(conn)

    with RawServer(script) as srv, client_for(srv.base_url).start_session() as session:
        it = session.receive_updates(timeout=5)
        assert next(it).kind is UpdateKind.SESSION_CREATED
        audio = next(it)
        assert audio.kind is UpdateKind.OUTPUT_AUDIO_DELTA and len(audio.delta) == 200000
        assert next(it).kind is UpdateKind.RESPONSE_DONE
        assert wait_until(lambda: (10, b"p1") in srv.conns[0].frames)


def test_hostile_frames_are_dropped_and_the_session_goes_on():
    hostile = [b'{"type": [1]}', b'{"type": {"a": 1}}', b'{"type": "error", "a": ' + b"[" * 50000 + b"]" * 50000 + b"}",
               b'{"type": "response.done", "n": ' + b"9" * 100000 + b"}", b'{"type": "x", "s": "' + b"\xff" + b'"}']
    shaped = [{"type": "error", "error": "boom"}, {"type": "response.output_audio.delta", "delta": "!!!"},
              {"type": "conversation.item.added", "item": {"type": "message", "content": "not a list"}},
              {"type": "response.output_audio_transcript.delta", "item_id": [1], "delta": 5}]

    def script(conn):
        conn.send_json(SESSION_CREATED)
        for frame in hostile:
            conn.send_frame(1, frame)
        for event in shaped:
            conn.send_json(event)
        conn.send_json({"type": "response.done", "response": {"id": "r", "status": "completed"}})
        _answer_close(conn)

    with RawServer(script) as srv, client_for(srv.base_url).start_session() as session:
        kinds = []
        for update in session.receive_updates(timeout=5):
            kinds.append(update.kind)
            if update.kind is UpdateKind.RESPONSE_DONE:
                break
        assert kinds == [UpdateKind.SESSION_CREATED, UpdateKind.ERROR, UpdateKind.OUTPUT_AUDIO_DELTA,
                         UpdateKind.ITEM_ADDED, UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA, UpdateKind.RESPONSE_DONE]
        assert not session.closed and session.error is None
        assert session.conversation.items() is not None and session.usage.total is not None
        session.add_item(ConversationItem.user_message("still here"))  # the session still sends


def test_protocol_violation_closes_with_1002():
    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.send_frame(0, b"continuation without a start")
        time.sleep(1)

    with RawServer(script) as srv:
        session = client_for(srv.base_url).start_session()
        with pytest.raises(ConnectionClosedError) as info:
            list(session.receive_updates(timeout=5))
        assert info.value.code == 1002
        session.close()


def test_server_error_event_answers_configure_only():
    with MiniServer() as srv, client_for(srv.base_url).start_session() as session:
        session.configure_session(SessionOptions(instructions="ok"))
        ok_ids = []
        assert session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5,
                                after=lambda: ok_ids.append(session.start_response()))
        ok_id = ok_ids[0]
        updates = list(_drain(session))
        assert not any(isinstance(u, ErrorUpdate) and u.client_event_id == ok_id for u in updates)


def _drain(session):
    it = session.receive_updates(timeout=0.2)
    while True:
        try:
            yield next(it)
        except (StopIteration, RealtimeTimeoutError):
            return


def test_logs_carry_types_and_sizes_never_keys_or_payloads(caplog):
    caplog.set_level(logging.DEBUG, logger="realtime_sync")
    with refuse("invalid_api_key", 3000, "invalid_request_error.invalid_api_key") as srv:
        with pytest.raises(AuthenticationError):
            client_for(srv.base_url, api_key=KEY).start_session()
    with MiniServer() as srv, client_for(srv.base_url, api_key=KEY).start_session() as session:
        session.add_item({"type": "message", "role": "user",
                          "content": [{"type": "input_text", "text": "SECRET-PAYLOAD"}]})
        session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5, after=session.start_response)
    assert "received response.done" in caplog.text and "sent conversation.item.create" in caplog.text
    assert KEY not in caplog.text
    assert "SECRET-PAYLOAD" not in caplog.text


def test_close_is_bounded_when_the_peer_never_answers():
    stop = threading.Event()

    def script(conn):
        conn.send_json(SESSION_CREATED)
        stop.wait(10)  # reads nothing, never answers the close frame

    with RawServer(script) as srv:
        session = client_for(srv.base_url, close_timeout=0.3).start_session()
        t0 = time.monotonic()
        session.close()
        assert time.monotonic() - t0 < 2.5
        assert session.closed and session.error is None
        assert [u.kind for u in session.receive_updates()] == [UpdateKind.SESSION_CREATED]  # then a clean end
        stop.set()


def test_the_end_of_the_update_queue_is_never_evicted_by_a_late_update():
    from realtime_sync._connection.delivery import UpdateQueue

    queue = UpdateQueue(limit=1)
    queue.put("a")
    queue.end(None)
    assert queue.get(1) == "a"
    with pytest.raises(StopIteration):
        queue.get(1)
    queue.put("late")  # e.g. the reader delivering while the user's close() ended the session
    for _ in range(2):
        with pytest.raises(StopIteration):  # before the fix: "late" came back, then the consumer hung
            queue.get(1)
    assert len(queue) == 0


def test_receive_updates_keeps_working_after_a_timeout(make_fake_server):
    from realtime_sync.errors import RealtimeTimeoutError

    server = make_fake_server()
    with client_for(server).start_session(SessionOptions(output_modalities=["text"])) as session:
        updates = session.receive_updates(timeout=0.2)
        assert next(updates).kind is UpdateKind.SESSION_CREATED
        assert next(updates).kind is UpdateKind.SESSION_UPDATED
        with pytest.raises(RealtimeTimeoutError):
            next(updates)  # nothing is coming
        session.add_item(ConversationItem.user_message("Hello"))
        assert next(updates).kind in (UpdateKind.ITEM_ADDED, UpdateKind.ITEM_CREATED)  # the same iterator
    rest = list(updates)  # after close() the same iterator drains what is left and ends
    assert all(u.kind is not UpdateKind.SESSION_CREATED for u in rest)


def test_observers_added_and_removed_from_many_threads_never_come_back():
    from realtime_sync._connection.delivery import Delivery

    class Obs:
        def handle_update(self, update):
            pass

    delivery = Delivery()
    keep = Obs()
    delivery.add_observer(keep)
    start = threading.Barrier(8)

    def churn():
        start.wait()
        for _ in range(2000):
            obs = Obs()
            delivery.add_observer(obs)
            delivery.remove_observer(obs)

    threads = [threading.Thread(target=churn) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: unlocked, the race shows within a run
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(interval)
    assert delivery.observers == (keep,)


@pytest.mark.parametrize("ping,dead", [(20, 30), (30, 30), (0, 30), (10, -1)])
def test_keepalive_settings_that_could_kill_a_healthy_session_are_refused(ping, dead):
    from realtime_sync.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        client_for("http://127.0.0.1:9", ping_interval=ping, dead_peer_timeout=dead)


def test_default_keepalive_detects_a_dead_peer_well_under_a_minute():
    client = client_for("http://127.0.0.1:9")
    assert client.dead_peer_timeout is not None and client.dead_peer_timeout <= 30
    assert client.ping_interval is not None and client.ping_interval * 2 <= client.dead_peer_timeout


def test_an_idle_session_whose_server_never_pings_stays_alive(make_fake_server):
    from realtime_sync.errors import RealtimeTimeoutError

    server = make_fake_server(ping_interval=None)  # only our pings keep the connection observably alive
    with client_for(server, ping_interval=0.1, dead_peer_timeout=0.4).start_session() as session:
        with pytest.raises(RealtimeTimeoutError):  # idle for 5 dead-peer timeouts: no update, and no drop
            session.wait_for(UpdateKind.RESPONSE_DONE, timeout=2.0)
        assert not session.closed and session.error is None
        added = session.wait_for(UpdateKind.ITEM_ADDED, timeout=5,
                                 after=lambda: session.add_item(ConversationItem.user_message("still alive")))
        assert added.kind is UpdateKind.ITEM_ADDED
