"""Every RealtimeSession method, both dialects, hooks, observers, wait_for, passthrough and close."""
import json
import threading

import pytest

from realtime_sync import UpdatesDroppedUpdate

from realtime_sync import (ConversationItem, FunctionTool, ResponseOptions, SessionClosedError, SessionOptions,
                           TurnDetection, UpdateKind)
from realtime_sync.errors import RealtimeTimeoutError, ServerError
from realtime_sync.protocol import ResponseCancelCommand
from realtime_sync.protocol.updates import ErrorUpdate, UnknownUpdate

from tests.support.sessions import client_for
from tests.support.waiting import wait_until

from .helpers import FakeCredential, first, session_threads, types_of
from .server import MiniServer

PIRATE = SessionOptions(instructions="Talk like a pirate.", voice="alloy",
                        turn_detection=TurnDetection.server_vad(),
                        tools=[FunctionTool("get_weather_for_location", "weather",
                                            {"type": "object", "properties": {"location": {"type": "string"}}})])


def drain_until(session, kind, timeout=5.0):
    seen = []
    for update in session.receive_updates(timeout=timeout):
        seen.append(update)
        if update.kind is kind:
            return seen
    raise AssertionError(f"iterator ended before {kind}")


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_every_method(server, protocol):
    client = client_for(server.base_url, protocol=protocol)
    with client.start_session(PIRATE) as session:
        assert session.id == "sess_TEST123"
        assert session.session_info.instructions == "Talk like a pirate."
        first_two = [next(session.receive_updates()).kind for _ in range(2)]
        assert first_two == [UpdateKind.SESSION_CREATED, UpdateKind.SESSION_UPDATED]

        eid = session.add_item(ConversationItem.user_message("Hi there"))
        assert eid.startswith("evt_")
        seen = drain_until(session, UpdateKind.ITEM_CREATED if protocol == "beta" else UpdateKind.ITEM_DONE)
        assert seen[0].item.content[0].text == "Hi there"

        session.start_response(ResponseOptions(instructions="be brief"))
        seen = drain_until(session, UpdateKind.RESPONSE_DONE)
        text = "".join(u.delta for u in seen if u.kind is UpdateKind.OUTPUT_TEXT_DELTA)
        assert text == "Hello"
        expected_delta = "response.text.delta" if protocol == "beta" else "response.output_text.delta"
        assert expected_delta in [u.type for u in seen]

        session.commit_audio()
        assert drain_until(session, UpdateKind.INPUT_AUDIO_COMMITTED)
        session.clear_audio()
        assert drain_until(session, UpdateKind.INPUT_AUDIO_CLEARED)
        session.truncate_item("item_a", 0, 1500)
        truncated = drain_until(session, UpdateKind.ITEM_TRUNCATED)[-1]
        assert (truncated.item_id, truncated.audio_end_ms) == ("item_a", 1500)
        session.delete_item("item_a")
        assert drain_until(session, UpdateKind.ITEM_DELETED)[-1].item_id == "item_a"
        session.retrieve_item("item_b")
        assert drain_until(session, UpdateKind.ITEM_RETRIEVED)[-1].item.id == "item_b"
        cancel_id = session.cancel_response()
        err = drain_until(session, UpdateKind.ERROR)[-1]
        assert err.client_event_id == cancel_id and err.code == "response_cancel_not_active"

    sent = server.received
    assert types_of(sent) == ["session.update", "conversation.item.create", "response.create",
                              "input_audio_buffer.commit", "input_audio_buffer.clear", "conversation.item.truncate",
                              "conversation.item.delete", "conversation.item.retrieve", "response.cancel"]
    update = first(sent, "session.update")["session"]
    if protocol == "ga":
        assert update["type"] == "realtime" and update["audio"]["output"]["voice"] == "alloy"
        assert "OpenAI-Beta" not in server.requests[0]["headers"]
    else:
        assert update["voice"] == "alloy" and "type" not in update
        assert server.requests[0]["headers"]["OpenAI-Beta"] == "realtime=v1"
    assert first(sent, "response.create")["response"]["instructions"] == "be brief"
    assert all("event_id" in json.loads(m) for m in sent)
    assert len({json.loads(m)["event_id"] for m in sent}) == len(sent)


def test_configure_session_error_raises_server_error(server):
    with client_for(server.base_url).start_session() as session:
        with pytest.raises(ServerError) as info:
            session.configure_session({"type": "realtime", "bogus_field": 1})
        assert info.value.code == "unknown_parameter"
        assert info.value.param == "session.bogus_field"
        assert info.value.event_id == first(server.received, "session.update")["event_id"]
        # the error is also an update, and the session keeps working
        kinds = [u.kind for u in _take(session, 2)]
        assert kinds == [UpdateKind.SESSION_CREATED, UpdateKind.ERROR]
        assert session.configure_session(SessionOptions(instructions="x")).kind is UpdateKind.SESSION_UPDATED
        assert session.configure_session(SessionOptions(instructions="y"), wait=False) is None


def test_start_session_options_refused(server):
    with pytest.raises(ServerError):
        client_for(server.base_url).start_session(SessionOptions(extra={"bogus_field": True}))


def _take(session, n):
    it = session.receive_updates(timeout=5)
    return [next(it) for _ in range(n)]


def test_hooks_see_every_message_in_order(server):
    client = client_for(server.base_url)
    sent, received = [], []

    @client.on_sending_command
    def on_send(message: str) -> None:
        sent.append(message)

    client.on_receiving_command(received.append)
    with client.start_session(PIRATE) as session:
        session.add_item(ConversationItem.user_message("hello"))
        session.start_response()
        updates = drain_until(session, UpdateKind.RESPONSE_DONE)
        session.send_audio(b"\x00\x01" * 2400).wait(5)
    assert server.wait_received(len(sent))
    assert sent == server.received
    assert types_of(received)[0] == "session.created"
    # every received message reached the hook as raw JSON text, in the order the updates were yielded
    assert [json.loads(m) for m in received[:len(updates)]] == [u.raw for u in updates]
    assert callable(on_send)  # the decorator returns the function


def test_observers_and_wait_for(server):
    class Recorder:
        def __init__(self):
            self.kinds = []
            self.thread = None
            self.closed = []

        def handle_update(self, update):
            self.thread = threading.current_thread().name
            self.kinds.append(update.kind)

        def handle_connection_closed(self, error):
            self.closed.append(error)

    class Broken:
        def handle_update(self, update):
            raise RuntimeError("observer bug")

    rec = Recorder()
    with client_for(server.base_url).start_session() as session:
        session.add_observer(Broken())
        session.add_observer(rec)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("u", session.wait_for("response.done", timeout=5)))
        t.start()
        assert wait_until(lambda: bool(session._delivery.waiters))
        session.start_response()
        t.join(5)
        assert result["u"].kind is UpdateKind.RESPONSE_DONE
        with pytest.raises(RealtimeTimeoutError):
            session.wait_for(UpdateKind.SESSION_UPDATED, timeout=0.05)
        session.remove_observer(rec)
        n = len(rec.kinds)
        session.wait_for([UpdateKind.RESPONSE_DONE, "response.cancelled"], timeout=5, after=session.start_response)
        assert len(rec.kinds) == n
    assert rec.thread.endswith("-reader")
    assert rec.kinds[-1] is UpdateKind.RESPONSE_DONE
    assert rec.closed == []  # removed before close
    with pytest.raises(TypeError):
        session.add_observer(object())


def test_wait_for_fails_when_connection_ends(server):
    session = client_for(server.base_url).start_session()
    box = {}

    def waiter():
        try:
            session.wait_for("response.done", timeout=10)
        except Exception as exc:
            box["exc"] = exc

    t = threading.Thread(target=waiter)
    t.start()
    assert wait_until(lambda: bool(session._delivery.waiters))
    session.close()
    t.join(5)
    assert isinstance(box["exc"], SessionClosedError)


def test_send_command_passthrough(server):
    with client_for(server.base_url).start_session() as session:
        assert session.send_command({"type": "response.create", "event_id": "mine_1"}) == "mine_1"
        session.send_command('{"type":"conversation.item.delete","item_id":"x"}')
        session.send_command(b'{"type":"input_audio_buffer.clear"}')
        session.send_command(ResponseCancelCommand(response_id="resp_1"))
        session.send_command({"type": "bogus.event"})
        err = next(u for u in session.receive_updates(timeout=5) if u.kind is UpdateKind.ERROR and u.param)
        assert err.param == "type"
        for bad in ("not json", "[1, 2]", '{"no_type": 1}'):
            with pytest.raises(ValueError):
                session.send_command(bad)
        with pytest.raises(TypeError):
            session.send_command(42)
    assert types_of(server.received) == ["response.create", "conversation.item.delete", "input_audio_buffer.clear",
                                         "response.cancel", "bogus.event"]
    assert server.received[1] == '{"type":"conversation.item.delete","item_id":"x"}'  # sent byte for byte


def test_unknown_event_is_yielded_raw():
    def on_connect(conn):
        conn.send({"type": "brand_new.event", "payload": {"x": 1}})

    with MiniServer(on_connect=on_connect) as srv, client_for(srv.base_url).start_session() as session:
        updates = _take(session, 2)
        assert isinstance(updates[1], UnknownUpdate)
        assert updates[1].raw["payload"] == {"x": 1}


def test_many_threads_sending_at_once(server):
    n_threads, per_thread = 8, 60
    with client_for(server.base_url).start_session() as session:
        def work(i):
            for j in range(per_thread):
                session.send_command({"type": "conversation.item.retrieve", "item_id": f"t{i}_{j}",
                                      "event_id": f"e{i}_{j}", "padding": "x" * (j * 97 % 3000)})
                if j % 20 == 0:
                    session.send_audio(b"\x01\x00" * 4800)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        total = n_threads * per_thread + n_threads * 3 * 2  # each send_audio = 2 chunks of 100 ms
        assert server.wait_received(total, 10)
    messages = [json.loads(m) for m in server.received]  # every frame is whole, valid JSON
    assert len(messages) == total
    retrieves = [m for m in messages if m["type"] == "conversation.item.retrieve"]
    for i in range(n_threads):  # each thread's commands arrive in its own order
        mine = [m["item_id"] for m in retrieves if m["item_id"].startswith(f"t{i}_")]
        assert mine == [f"t{i}_{j}" for j in range(per_thread)]


def test_close_while_another_thread_iterates(server):
    session = client_for(server.base_url).start_session()
    got, done = [], threading.Event()

    def consume():
        for update in session.receive_updates():
            got.append(update)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    assert wait_until(lambda: len(got) == 1)
    session.close()
    assert done.wait(5)
    t.join(5)
    assert not session_threads()
    session.close()  # idempotent
    assert session.closed and session.error is None
    with pytest.raises(SessionClosedError):
        session.start_response()
    with pytest.raises(SessionClosedError):
        session.send_audio(b"\x00\x00")
    assert list(session.receive_updates()) == []


def test_close_from_an_observer(server):
    session = client_for(server.base_url).start_session()

    class Closer:
        def handle_update(self, update):
            if update.kind is UpdateKind.RESPONSE_DONE:
                session.close()

    session.add_observer(Closer())
    session.start_response()
    kinds = [u.kind for u in session.receive_updates(timeout=5)]
    assert kinds[-1] is UpdateKind.RESPONSE_DONE
    assert session.closed


def test_receive_timeout(server):
    with client_for(server.base_url).start_session() as session:
        it = session.receive_updates(timeout=0.1)
        assert next(it).kind is UpdateKind.SESSION_CREATED
        with pytest.raises(RealtimeTimeoutError):
            next(it)


def test_azure_entra_and_key_against_server(server):
    cred = FakeCredential()
    client = RealtimeClient_azure(server, credential=cred)
    with client.start_session():
        pass
    with client.start_session():
        pass
    assert cred.scopes == ["https://cognitiveservices.azure.com/.default"] * 2
    assert [r["headers"]["Authorization"] for r in server.requests] == ["Bearer token-1", "Bearer token-2"]
    assert server.requests[0]["path"] == "/openai/v1/realtime?model=my-deployment"
    keyed = RealtimeClient_azure(server, api_key="azure-key-123", api_version="2025-04-01-preview")
    with keyed.start_session(SessionOptions(voice="alloy")) as session:
        assert session.dialect.value == "beta"
    req = server.requests[-1]
    assert req["path"] == "/openai/realtime?api-version=2025-04-01-preview&deployment=my-deployment"
    assert req["headers"]["api-key"] == "azure-key-123" and "Authorization" not in req["headers"]
    assert first(server.received, "session.update")["session"]["voice"] == "alloy"


def RealtimeClient_azure(server, **kwargs):  # reads like the constructor it wraps
    from realtime_sync import RealtimeClient
    return RealtimeClient.azure(server.base_url.replace("/v1", ""), "my-deployment", request_timeout=10, **kwargs)


def test_error_event_alone_is_not_fatal():
    def on_connect(conn):
        for _ in range(4):
            conn.send({"type": "error", "error": {"type": "invalid_request_error", "code": "invalid_json",
                                                  "message": "bad", "param": None, "event_id": None}})

    with MiniServer(on_connect=on_connect) as srv, client_for(srv.base_url).start_session() as session:
        updates = _take(session, 5)
        assert all(isinstance(u, ErrorUpdate) for u in updates[1:])
        assert session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5, after=session.start_response)


def test_queue_off_and_queue_limit(server):
    seen = []

    class Obs:
        def handle_update(self, update):
            seen.append(update.kind)

    with client_for(server.base_url).start_session(queue_updates=False) as session:
        session.add_observer(Obs())
        session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5, after=session.start_response)
        assert len(session._delivery.queue) == 0 and UpdateKind.RESPONSE_DONE in seen
    assert list(session.receive_updates()) == []
    with client_for(server.base_url, queue_limit=3).start_session() as session:
        session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5, after=session.start_response)
        queue = session._delivery.queue
        assert queue.dropped == 2  # session.created + 4 response events: the 2 oldest dropped
        assert len(queue) == 4  # ... and one in-band marker in their place
        it = session.receive_updates(timeout=1)
        marker = next(it)
        assert isinstance(marker, UpdatesDroppedUpdate) and marker.count == 2
        assert marker.kind is UpdateKind.UPDATES_DROPPED and marker.raw == {"type": marker.kind.value, "count": 2}
        assert [next(it).kind for _ in range(3)][-1] is UpdateKind.RESPONSE_DONE
