"""The connection core: deadlines, size limits, the bounded queue, settling waiters once, close races, truthful
handshake errors, unsent commands, and how many threads a session costs."""
import socket
import struct
import threading
import time

import pytest

from realtime_sync import (AudioSendStatus, AuthenticationError, ConnectionClosedError, HandshakeError,
                           MessageTooLargeError, RealtimeClient, RealtimeConnectionError, RealtimeTimeoutError,
                           ServerError, UpdateKind, UpdatesDroppedUpdate)
from realtime_sync._connection.delivery import UpdateQueue, Waiter
from realtime_sync.errors import ConfigurationError, ConnectionLostError

from tests.support.sessions import client_for
from tests.support.waiting import wait_until

from .rawserver import SESSION_CREATED, RawServer
from .server import MiniServer, error_event, realtime_like


# -- deadlines -----------------------------------------------------------------------------------------------------
class _Dripper:
    """Accepts a connection and answers the upgrade one byte every 200 ms (a handshake that never ends in time)."""

    def __init__(self) -> None:
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.lsock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        try:
            sock, _ = self.lsock.accept()
        except OSError:
            return
        answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" * 10
        with sock:
            for byte in answer:
                if self.stop.wait(0.2):
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.lsock.close()
        self.thread.join(5)


@pytest.mark.parametrize("via", ["timeout", "connect_timeout"])
def test_start_session_is_a_deadline_against_a_dripping_handshake(via):
    dripper = _Dripper()
    try:
        if via == "timeout":
            client, kwargs = client_for(dripper.base_url), {"timeout": 1.0}
        else:
            client, kwargs = client_for(dripper.base_url, connect_timeout=1.0), {}
        t0 = time.monotonic()
        with pytest.raises(RealtimeTimeoutError):
            client.start_session(**kwargs)
        assert time.monotonic() - t0 < 1.0 + 0.5
    finally:
        dripper.close()


def test_the_deadline_covers_session_created_too():
    with MiniServer(send_created=False) as srv:
        t0 = time.monotonic()
        with pytest.raises(RealtimeTimeoutError):
            client_for(srv.base_url).start_session(timeout=0.5)
        assert time.monotonic() - t0 < 0.5 + 0.5


# -- size limits ---------------------------------------------------------------------------------------------------
def test_a_declared_huge_frame_is_refused_unread_with_1009():
    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.sock.sendall(struct.pack("!BBQ", 0x81, 127, 1 << 40) + b"{\"type\": ")  # a 1 TiB text frame
        while conn.recv_frame()[0] != 8:
            pass

    with RawServer(script) as srv:
        session = client_for(srv.base_url).start_session()
        with pytest.raises(MessageTooLargeError) as info:
            list(session.receive_updates(timeout=5))
        assert info.value.code == 1009 and info.value.size == 1 << 40
        assert wait_until(lambda: srv.conns and any(op == 8 for op, _ in srv.conns[0].frames), 5)
        close = [data for op, data in srv.conns[0].frames if op == 8][0]
        assert struct.unpack("!H", close[:2])[0] == 1009
        assert session.closed and isinstance(session.error, MessageTooLargeError)
        session.close()


def test_max_message_size_is_configurable_and_counts_fragments():
    payload = b'{"type": "response.output_text.delta", "delta": "' + b"x" * 3000 + b'"}'

    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.send_frame(1, payload[:1500], fin=False)
        conn.send_frame(0, payload[1500:], fin=True)
        while conn.recv_frame()[0] != 8:
            pass

    with RawServer(script) as srv:
        session = client_for(srv.base_url, max_message_size=2048).start_session()
        updates = []
        with pytest.raises(MessageTooLargeError) as info:
            for update in session.receive_updates(timeout=5):
                updates.append(update.kind)
        assert updates == [UpdateKind.SESSION_CREATED] and info.value.limit == 2048
        session.close()
    with pytest.raises(ConfigurationError):
        RealtimeClient("sk-test", max_message_size=0)


# -- the bounded queue ---------------------------------------------------------------------------------------------
def _burst(n):
    def on_connect(conn):
        for i in range(n):
            conn.send({"type": "response.output_text.delta", "response_id": "r", "item_id": "i", "output_index": 0,
                       "content_index": 0, "delta": str(i)})
    return on_connect


def test_the_queue_is_bounded_by_default_and_says_what_it_dropped():
    from realtime_sync._connection.delivery import DEFAULT_QUEUE_LIMIT
    assert RealtimeClient("sk-test").queue_limit == DEFAULT_QUEUE_LIMIT
    with MiniServer(on_connect=_burst(40)) as srv, \
            client_for(srv.base_url, queue_limit=10).start_session() as session:
        assert wait_until(lambda: session._delivery.queue.dropped == 31, 5)  # 41 updates, 10 kept
        it = session.receive_updates(timeout=2)
        marker = next(it)
        assert isinstance(marker, UpdatesDroppedUpdate) and marker.count == 31
        assert [next(it).delta for _ in range(10)] == [str(i) for i in range(30, 40)]


def test_the_block_policy_back_pressures_instead_of_dropping():
    seen = []

    class Count:
        def handle_update(self, update):
            seen.append(update)

    with MiniServer(on_connect=_burst(300)) as srv:
        session = client_for(srv.base_url, queue_limit=5, queue_policy="block").start_session()
        session.add_observer(Count())
        assert wait_until(lambda: len(session._delivery.queue) == 5 and session._delivery.queue._blocked, 5)
        assert len(seen) < 300  # observers wait too: the reader is blocked
        it = session.receive_updates(timeout=5)
        got = [next(it) for _ in range(301)]
        assert got[0].kind is UpdateKind.SESSION_CREATED
        assert [u.delta for u in got[1:]] == [str(i) for i in range(300)]
        assert session._delivery.queue.dropped == 0
        session.close()
        blocked = client_for(srv.base_url, queue_limit=5, queue_policy="block").start_session()
        assert wait_until(lambda: blocked._delivery.queue._blocked, 5)
        t0 = time.monotonic()
        blocked.close()  # the reader is blocked on the full queue: close is prompt all the same
        assert time.monotonic() - t0 < 1.0
        rest = list(blocked.receive_updates(timeout=1))  # what was received, in order, then a clean end
        assert len(rest) >= 5 and [u.delta for u in rest[1:]] == [str(i) for i in range(len(rest) - 1)]
    with pytest.raises(ConfigurationError):
        RealtimeClient("sk-test", queue_policy="newest")


def test_the_end_is_never_evicted_and_a_blocked_put_is_released():
    q = UpdateQueue(2, "block")
    q.put(1)
    q.put(2)
    t = threading.Thread(target=q.put, args=(3,))
    t.start()
    assert wait_until(lambda: q._blocked == 1, 5)
    q.end(None)
    t.join(5)
    assert not t.is_alive()
    assert [q.get(1), q.get(1)] == [1, 2]
    with pytest.raises(StopIteration):
        q.get(1)


def test_a_timeout_traceback_chains_nothing():
    q = UpdateQueue()
    with pytest.raises(RealtimeTimeoutError) as info:
        q.get(0.01)
    assert info.value.__context__ is None and info.value.__cause__ is None


# -- races ---------------------------------------------------------------------------------------------------------
def test_a_waiter_settles_once_whoever_races():
    for _ in range(200):
        w = Waiter(lambda u: True, None)
        go = threading.Barrier(4)
        wins = []

        def settle(i):
            go.wait()
            if w.resolve(None, RuntimeError(str(i)) if i % 2 else None):
                wins.append(i)

        threads = [threading.Thread(target=settle, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        winner = wins[0]
        assert (w.error is None) == (winner % 2 == 0)
        if winner % 2:
            assert str(w.error) == str(winner)


def test_our_close_and_the_servers_close_end_the_session_once_and_the_same_way():
    for i in range(25):
        go = threading.Event()

        def on_connect(conn):
            go.wait(5)
            conn.close(1001, "going away")

        with MiniServer(on_connect=on_connect) as srv:
            session = client_for(srv.base_url).start_session()
            go.set()
            if i % 2:
                wait_until(lambda: session.closed, 5)
            session.close()
            outcome = None
            try:
                for _ in session.receive_updates(timeout=5):
                    pass
            except ConnectionClosedError as exc:
                outcome = exc
            assert (outcome is None) == (session.error is None)
            if outcome is not None:
                assert type(outcome) is type(session.error) and outcome.code == 1001
            with pytest.raises(ConnectionClosedError):
                session.add_item({"type": "message", "role": "user", "content": []})


def test_commands_queued_when_the_connection_drops_are_counted():
    hold = threading.Event()

    def script(conn):
        conn.send_json(SESSION_CREATED)
        hold.wait(10)  # never read: the client's sends pile up in socket buffers and its queue
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()  # a reset

    with RawServer(script) as srv:
        session = client_for(srv.base_url).start_session()
        big = "x" * 60000
        sent = 0
        for _ in range(200):  # 12 MB: more than the socket buffers hold, less than the send queue's bound
            session.send_command({"type": "conversation.item.retrieve", "item_id": "i", "padding": big})
            sent += 1
        assert wait_until(lambda: session._conn.outbox._cmds or session._conn.channel._out, 5)
        hold.set()
        with pytest.raises(ConnectionLostError) as info:
            list(session.receive_updates(timeout=10))
        assert 0 < info.value.unsent_commands <= sent
        assert session.error.unsent_commands == info.value.unsent_commands
        session.close()


# -- errors that tell the truth ------------------------------------------------------------------------------------
def test_a_403_about_model_access_is_not_called_an_auth_failure():
    body = '{"error": {"message": "Project proj_1 does not have access to model gpt-realtime", "code": ' \
           '"model_not_found"}}'
    with MiniServer(status=403, body=body) as srv:
        with pytest.raises(HandshakeError) as info:
            client_for(srv.base_url).start_session()
    err = info.value
    assert not isinstance(err, AuthenticationError) and isinstance(err, RealtimeConnectionError)
    assert err.status == 403 and err.path == "/v1/realtime" and "does not have access" in err.body
    assert "authentication" not in str(err).lower() and "403" in str(err) and "/v1/realtime" in str(err)


def test_a_403_naming_the_key_is_an_auth_failure_and_every_key_is_scrubbed():
    keys = iter(["sk-rotating-first-0123456789", "sk-rotating-second-0123456789"])
    used = []

    def provider():
        used.append(next(keys))
        return used[-1]

    with MiniServer() as ok:
        client = client_for(ok.base_url, api_key=provider)
        client.start_session().close()
    assert len(used) == 1
    body = f"Incorrect API key provided: {used[0]}. Also tried sk-proj-abcdefghijklmnop."
    with MiniServer(status=403, body=body) as srv:
        client._endpoint.url = client._endpoint.url.replace(ok.base_url.split("//")[1].split("/")[0],
                                                            srv.base_url.split("//")[1].split("/")[0])
        with pytest.raises(AuthenticationError) as info:
            client.start_session()
    text = str(info.value)
    assert info.value.status == 403 and "Incorrect API key" in text
    assert used[0] not in text and used[1] not in text and "sk-proj-abcdefghijklmnop" not in text
    assert client.endpoint.scrub(f"{used[0]} {used[1]}") == "*** ***"


def test_other_statuses_give_a_handshake_error_and_401_stays_auth():
    with MiniServer(status=500, body="upstream exploded") as srv:
        with pytest.raises(HandshakeError) as info:
            client_for(srv.base_url).start_session()
    assert info.value.status == 500 and info.value.body == "upstream exploded"
    with MiniServer(status=401) as srv:
        with pytest.raises(AuthenticationError) as auth:
            client_for(srv.base_url).start_session()
    assert auth.value.status == 401


def test_an_error_without_event_id_fails_a_pending_ask_at_once():
    def handler(conn, msg):
        if msg.get("type") == "response.create":
            conn.send(error_event("server_error", "The server had an error while processing your request.", None))
        else:
            realtime_like(conn, msg)

    with MiniServer(handler=handler) as srv, client_for(srv.base_url).start_session() as session:
        t0 = time.monotonic()
        with pytest.raises(ServerError) as info:
            session.ask("hello", timeout=20)
        assert time.monotonic() - t0 < 5 and info.value.code == "server_error"


def test_wait_tells_a_cancelled_send_from_a_completed_one():
    with MiniServer() as srv, client_for(srv.base_url).start_session() as session:
        done = session.send_audio(b"\x00\x00" * 2400)
        assert done.wait(5) is AudioSendStatus.COMPLETED and done.status is AudioSendStatus.COMPLETED
        paced = session.send_audio(b"\x00\x00" * 240000, realtime=True)  # 10 s at real time
        assert paced.wait(0.05) is AudioSendStatus.PENDING and not paced.wait(0)
        paced.cancel()
        assert paced.wait(5) is AudioSendStatus.CANCELLED and paced.status is AudioSendStatus.CANCELLED


# -- threads -------------------------------------------------------------------------------------------------------
def test_a_session_costs_one_thread_and_all_share_one_io_thread():
    with MiniServer() as srv:
        client = client_for(srv.base_url)
        sessions = [client.start_session() for _ in range(5)]
        try:
            names = [t.name for t in threading.enumerate()]
            assert sum(1 for n in names if n.startswith("realtime-") and n.endswith("-reader")) == 5
            assert sum(1 for n in names if n.startswith("realtime-")) == 5
            assert names.count("realtime_sync-io") == 1
        finally:
            for s in sessions:
                s.close()


# -- where updates are delivered -----------------------------------------------------------------------------------
def test_app_code_never_runs_on_the_io_thread_and_order_holds_across_modes():
    """Built-in observers only: updates are delivered on the I/O thread (no hand-off). An app observer, hook or
    predicate moves delivery to the session's reader thread; switching back and forth keeps the order."""
    n = 600
    threads_seen = set()

    class AppObserver:
        def handle_update(self, update):
            threads_seen.add(threading.current_thread().name)

    with MiniServer() as srv:
        client = client_for(srv.base_url)
        with client.start_session() as session:
            app = AppObserver()
            got = []

            def consume():
                it = session.receive_updates(timeout=5)
                while len(got) < n:
                    update = next(it)
                    if update.kind is UpdateKind.ITEM_RETRIEVED:
                        got.append(update.item.id)

            consumer = threading.Thread(target=consume)
            consumer.start()
            for block in range(n // 50):  # flip between inline and threaded delivery, block by block
                if block % 2:
                    session.add_observer(app)
                else:
                    session.remove_observer(app)
                for i in range(block * 50, block * 50 + 50):
                    session.send_command({"type": "conversation.item.retrieve", "item_id": f"item_{i}"})
                if block % 3 == 0:  # sometimes let the block arrive before the next flip, sometimes not
                    assert wait_until(lambda: len(got) >= block * 50 + 50, 5)
            consumer.join(10)
            assert got == [f"item_{i}" for i in range(n)]
            assert threads_seen and all(name.endswith("-reader") for name in threads_seen)
            assert session._conn.reader.delivered_inline > 0
        hook_threads = set()
        client.on_receiving_command(lambda text: hook_threads.add(threading.current_thread().name))
        with client.start_session() as session:
            for i in range(50):
                session.send_command({"type": "conversation.item.retrieve", "item_id": f"item_{i}"})
            it = session.receive_updates(timeout=5)
            assert len([next(it) for _ in range(50)]) == 50
            assert session._conn.reader.delivered_inline == 0
        assert hook_threads and all(name.endswith("-reader") for name in hook_threads)


def test_an_app_predicate_runs_on_the_reader_thread():
    where = []

    def predicate(update):
        where.append(threading.current_thread().name)
        return update.kind is UpdateKind.RESPONSE_DONE

    with MiniServer() as srv, client_for(srv.base_url).start_session() as session:
        result = []
        waiter = threading.Thread(target=lambda: result.append(session.wait_for(predicate, timeout=5)))
        waiter.start()
        assert wait_until(lambda: session._delivery.waiters, 5)
        session.start_response()
        waiter.join(5)
        assert result and result[0].kind is UpdateKind.RESPONSE_DONE
        assert where and all(name.endswith("-reader") for name in where)
