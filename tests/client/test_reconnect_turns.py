"""Calls in flight at a drop (issue 12) on a session shared by many threads (issue 14): an interrupted call raises
SessionInterruptedError and nothing it sent reaches the new server session (no "ghost" response); a call made
during the outage completes after it. The decisions without threads first, then against the simulator."""
import json
import socket
import threading

import pytest

from realtime_sync import ConversationItem, SessionInterruptedError, SessionOptions, TurnDetection, UpdateKind
from realtime_sync._connection.delivery import WaiterSet
from realtime_sync.errors import SendQueueFullError, ServerError
from realtime_sync.observers import notify_interrupted
from realtime_sync.protocol import ItemCreateCommand
from realtime_sync.reconnect import KeptCommands, ReconnectPolicy, command_event_id, withdraw_commands
from realtime_sync.tools import ToolDispatcher
from realtime_sync.turn_collector import TURN_KEY, TurnCollector

from tests.features.helpers import response_events
from tests.support.fake_session import FakeSession
from tests.support.sessions import client_for
from tests.support.waiting import next_of_kind, wait_until

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, attempt_timeout=5.0)


def _cmd(event_id, type_="response.create", **body):
    return (json.dumps({"type": type_, "event_id": event_id, **body}, separators=(",", ":")), type_, False)


def _interrupted():
    return SessionInterruptedError(None, "connection lost", "the connection dropped")


def _user_item(text):
    return ItemCreateCommand(item=ConversationItem.user_message(text))


# -- decisions and per-call state (no connection) ------------------------------------------------------------
def test_withdrawing_drops_only_the_commands_of_failed_calls_in_order():
    a, b, c = _cmd("rs_turn_t1_1", "conversation.item.create"), _cmd("evt_app_1"), _cmd("rs_turn_t1_2")
    mention = _cmd("evt_app_2", "conversation.item.create", item={"text": "rs_turn_t1_1"})  # names it, is not it
    keep, withdrawn = withdraw_commands([a, b, mention, c], {"rs_turn_t1_1", "rs_turn_t1_2"})
    assert keep == [b, mention] and withdrawn == [a, c]
    assert withdraw_commands([a, b], set()) == ([a, b], [])
    assert command_event_id(a[0]) == "rs_turn_t1_1" and command_event_id("not json") is None
    assert command_event_id('{"type": "x"}') is None and command_event_id("[1]") is None


def test_kept_commands_are_bounded_ordered_and_never_resend_a_withdrawn_call():
    kept = KeptCommands(limit=200)
    app, turn_item, turn_response = _cmd("evt_1"), _cmd("rs_turn_t9_1", "conversation.item.create"), \
        _cmd("rs_turn_t9_2")
    kept.put(*app)
    kept.put_first([turn_item])  # never written by the old connection: first
    assert kept.commands == [turn_item, app] and kept.bytes == len(turn_item[0]) + len(app[0])
    assert kept.withdraw({"rs_turn_t9_1", "rs_turn_t9_2"}) == 1
    assert kept.commands == [app] and kept.bytes == len(app[0])
    assert kept.put(*turn_response) is False  # sent after its call failed: dropped too
    kept.put_first([turn_response])
    assert kept.commands == [app] and kept.dropped == 3
    with pytest.raises(SendQueueFullError):
        kept.put(*_cmd("evt_2", "conversation.item.create", item={"text": "x" * 200}))
    assert kept.take() == [app] and kept.bytes == 0 and not kept.withdrawn and len(kept) == 0
    assert kept.put(*turn_response) is True  # a new outage starts with nothing withdrawn


def test_an_interrupted_turn_fails_sends_nothing_more_and_names_its_commands():
    session = FakeSession()
    turn = TurnCollector(session, None, "t1")
    session.add_observer(turn)
    turn.arm()
    assert turn.send(_user_item("hi"))
    handle = session.send_audio(b"\x00\x00" * 10)
    turn.track(handle)
    error = _interrupted()
    assert notify_interrupted(turn, error) == {"rs_turn_t1_1"}
    assert handle.cancelled  # its audio does not go on to the new connection
    assert turn.respond(None) is False and [s["type"] for s in session.sent] == ["conversation.item.create"]
    with pytest.raises(SessionInterruptedError):
        turn.wait(float("inf"), "ask")
    assert notify_interrupted(turn, error) == frozenset()  # already failed: nothing more to withdraw
    late = session.send_audio(b"\x00\x00")
    turn.track(late)
    assert late.cancelled


def test_an_interrupted_turn_names_its_items_so_the_restore_leaves_them_out():
    """Its user message and what its response said (a message and a call) are not replayed: the caller has
    SessionInterruptedError and may ask again, which must add the question once."""
    session = FakeSession()
    turn = TurnCollector(session, None, "t2")
    session.add_observer(turn)
    assert turn.send(_user_item("what now?"))
    user = {"id": "item_user", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": "what now?"}]}
    session.feed({"type": "conversation.item.added", "previous_item_id": None, "item": user})
    assert turn.respond(None)
    streaming = response_events("resp_1", text="Let me check.", calls=[("item_call", "call_1", "lookup", "{}")],
                                done=False)  # still streaming at the drop
    streaming[0]["response"]["metadata"] = {TURN_KEY: "t2"}
    for event in streaming:
        session.feed(event)
    assert notify_interrupted(turn, _interrupted()) == {"rs_turn_t2_1", "rs_turn_t2_2", "item_user", "msg_resp_1",
                                                        "item_call"}


def _error(code, event_id=None):
    return {"type": "error", "event_id": "ev_1", "error": {"type": "invalid_request_error", "code": code,
                                                           "message": "m", "param": None, "event_id": event_id}}


def test_session_expired_fails_no_turn_other_unnamed_errors_still_do():
    session = FakeSession()
    turn = TurnCollector(session, None, "t2")
    session.add_observer(turn)
    turn.arm()
    turn.send(_user_item("hi"))
    turn.respond(None)
    session.feed(_error("session_expired"))  # the close that follows decides
    assert not turn.finished
    session.feed(_error("conversation_already_has_active_response"))
    with pytest.raises(ServerError):
        turn.wait(float("inf"), "ask")


def test_a_finished_turn_has_nothing_to_withdraw_and_handlers_may_fail():
    session = FakeSession()
    turn = TurnCollector(session, None, "t3")
    session.add_observer(turn)
    turn.arm()
    turn.respond(None)
    for event in response_events("r1", text="fine"):
        session.feed(event)
    assert turn.finished and turn.result().text == "fine"
    assert notify_interrupted(turn, _interrupted()) == frozenset()

    class Broken:
        def handle_update(self, update):
            pass

        def handle_connection_interrupted(self, error):
            raise RuntimeError("bug")

    assert notify_interrupted(Broken(), _interrupted()) == frozenset()
    assert notify_interrupted(object(), _interrupted()) == frozenset()


def test_interrupted_waiters_name_the_commands_they_waited_for():
    waiters = WaiterSet()
    update, plain = waiters.add(UpdateKind.SESSION_UPDATED, "evt_cfg_1"), waiters.add(UpdateKind.RESPONSE_DONE)
    assert waiters.interrupt(_interrupted) == {"evt_cfg_1"}
    for w in (update, plain):
        with pytest.raises(SessionInterruptedError):
            w.wait(0)
    assert waiters.interrupt(_interrupted) == set()


def test_the_dispatcher_neither_answers_nor_continues_an_old_session_response():
    started, gate = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        started.set()
        gate.wait(5)
        return x

    def quick() -> str:
        return "ok"

    session = FakeSession()
    dispatcher = ToolDispatcher(session, [slow, quick], timeout=5.0).attach()
    try:
        for event in response_events("r1", calls=[("i1", "c1", "quick", "{}")]):
            session.feed(event)
        assert dispatcher.wait_idle(5)
        sent_ids = {s["event_id"] for s in session.sent}
        assert [s["type"] for s in session.sent] == ["conversation.item.create", "response.create"]
        for event in response_events("r2", calls=[("i2", "c2", "slow", '{"x": 1}')]):
            session.feed(event)
        assert started.wait(5)
        withdrawn = notify_interrupted(dispatcher, _interrupted())
        assert withdrawn == sent_ids  # what it sent may still wait for the socket: withdrawn if so
        gate.set()
        assert dispatcher.wait_idle(5)
        assert len(session.sent) == 2  # the slow call's output and a continuation never go out
        assert dispatcher.get("c2").status == "completed"
    finally:
        gate.set()
        dispatcher.close()


# -- against the simulator -----------------------------------------------------------------------------------------
def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # the test checks the type
        return exc


def _of_type(conn, type_):
    return [e for e in conn.received if e.get("type") == type_]


def test_an_interrupted_audio_turn_sends_nothing_to_the_new_session(fake_server):
    """The ghost: a turn held on its audio when the connection drops used to resume it on the new connection,
    then commit and ``response.create`` there although the caller already had SessionInterruptedError."""
    release = threading.Event()

    def speech():
        yield b"\x01\x00" * 2400  # 100 ms, sent on the first connection
        release.wait(10)
        yield b"\x02\x00" * 2400

    client = client_for(fake_server, reconnect=FAST)
    manual = SessionOptions(output_modalities=["text"], turn_detection=TurnDetection.disabled())
    with client.start_session(manual) as session:
        outcome = []
        asker = threading.Thread(target=lambda: outcome.append(_outcome(
            lambda: session.ask(audio=speech(), timeout=20))))
        asker.start()
        first = fake_server.connections[0]
        assert wait_until(lambda: _of_type(first, "input_audio_buffer.append"), 5)
        it = session.receive_updates(timeout=10)
        first.ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops
        next_of_kind(it, UpdateKind.RECONNECTED)
        release.set()
        asker.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], SessionInterruptedError)
        assert session.ask(text="after", timeout=10).output_text == "You said: after"
        new = fake_server.connections[-1]
        assert not _of_type(new, "input_audio_buffer.append") and not _of_type(new, "input_audio_buffer.commit")
        assert len(_of_type(new, "response.create")) == 1  # the answered ask's, no ghost


class _Gate:
    """An app observer (so updates go through the reader thread) that holds that thread on one user message."""

    def __init__(self, text):
        self.text, self.entered, self.release = text, threading.Event(), threading.Event()

    def handle_update(self, update):
        item = getattr(update, "item", None)
        if update.kind is UpdateKind.ITEM_ADDED and item is not None and item.text == self.text:
            self.entered.set()
            self.release.wait(10)


def test_an_ask_sent_as_the_socket_ends_is_interrupted_and_withdrawn(fake_server):
    """The window between the socket's end (the outbox refuses) and the session handling it (the reader still
    delivers what came before): the ask used to fail with the close's ConnectionClosedError."""
    client = client_for(fake_server, reconnect=FAST)
    with client.start_session(SessionOptions(output_modalities=["text"])) as session:
        gate = _Gate("hold the reader")
        session.add_observer(gate)
        session.add_item(ConversationItem.user_message("hold the reader"))
        assert gate.entered.wait(5)
        it = session.receive_updates(timeout=10)
        conn = session._conn
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops
        assert wait_until(lambda: conn.channel._done, 5)  # the socket ended; its end waits behind the gate
        outcome = []
        asker = threading.Thread(target=lambda: outcome.append(_outcome(
            lambda: session.ask(text="caught", timeout=20))))
        asker.start()
        assert wait_until(lambda: len(conn._late.commands) == 2, 5)  # its item and response.create, kept
        gate.release.set()
        asker.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], SessionInterruptedError), outcome
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        assert update.commands_resent == 0
        assert session.ask(text="next", timeout=10).output_text == "You said: next"
        assert not any("caught" in json.dumps(e) for c in fake_server.connections for e in c.received)


def test_configure_session_and_wait_for_in_flight_raise_session_interrupted(fake_server):
    client = client_for(fake_server, reconnect=FAST)
    with client.start_session() as session:
        fake_server.faults.stall(0, scope="open")  # no answer comes: both calls are surely in flight
        results = []
        calls = [lambda: session.configure_session(SessionOptions(instructions="Be brief."), timeout=20),
                 lambda: session.wait_for(UpdateKind.RESPONSE_DONE, timeout=20)]
        threads = [threading.Thread(target=lambda f=f: results.append(_outcome(f))) for f in calls]
        for t in threads:
            t.start()
        assert wait_until(lambda: len(session._delivery.waiters._waiters) == 2, 5)
        fake_server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(10)
        assert len(results) == 2 and all(isinstance(r, SessionInterruptedError) for r in results), results
        fake_server.faults.clear()


def test_many_threads_asking_through_several_expiries_get_their_answer_or_an_interruption(fake_server):
    """Issue 14 item 1 across reconnects: 4 threads ask on one session while its connection expires 3 times.
    Every ask returns its own answer or raises SessionInterruptedError (never ServerError, never the close's
    ConnectionClosedError), and every ask begun after the last reconnect succeeds."""
    threads_n, drops = 4, 3
    client = client_for(fake_server, reconnect=FAST)
    state = threading.Condition()
    reconnects = [0]
    outcomes = []  # (thread, reconnects seen when the ask began, question, answer or exception)

    def reconnected(_update):
        with state:
            reconnects[0] += 1
            state.notify_all()

    client.on_reconnected(reconnected)
    stop = threading.Event()
    with client.start_session(SessionOptions(output_modalities=["text"])) as session:
        def worker(k):
            i = 0
            while not stop.is_set():
                i += 1
                question = f"question {k}-{i}"
                with state:
                    epoch = reconnects[0]
                out = _outcome(lambda: session.ask(text=question, timeout=10).output_text)
                with state:
                    outcomes.append((k, epoch, question, out))
                    state.notify_all()

        workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
        for w in workers:
            w.start()
        try:
            for drop in range(drops):
                with state:
                    target = len(outcomes) + 2 * threads_n  # some asks complete on this connection first
                    assert state.wait_for(lambda: len(outcomes) >= target, 10)
                fake_server.connections[-1].set_expiry(0)
                with state:
                    assert state.wait_for(lambda: reconnects[0] == drop + 1, 10)
            with state:  # each thread gets two asks begun after the last reconnect answered
                assert state.wait_for(lambda: all(sum(1 for o in outcomes if o[0] == k and o[1] == drops) >= 2
                                                  for k in range(threads_n)), 10)
        finally:
            stop.set()
            for w in workers:
                w.join(15)
    assert len(fake_server.connections) == drops + 1
    for k, epoch, question, out in outcomes:
        if isinstance(out, BaseException):
            assert isinstance(out, SessionInterruptedError) and epoch < drops, (question, repr(out))
        else:
            assert out == f"You said: {question}"


def test_an_ask_interrupted_mid_answer_is_not_restored_and_its_retry_adds_it_once(make_fake_server):
    """The restore replays the conversation without the interrupted ask's question: the retry the error invites
    puts it in the new server session once, and the exchanges before it are restored."""
    started, release = threading.Event(), threading.Event()

    def responder(ctx):
        if ctx.last_user_text == "slow question" and not release.is_set():
            started.set()
            release.wait(10)  # the answer is being thought of when the network drops
        return f"You said: {ctx.last_user_text}"

    server = make_fake_server(responder=responder)
    with client_for(server, reconnect=FAST).start_session(SessionOptions(output_modalities=["text"])) as session:
        assert session.ask(text="first", timeout=10).output_text == "You said: first"
        it = session.receive_updates(timeout=10)
        outcome = []
        asker = threading.Thread(target=lambda: outcome.append(_outcome(
            lambda: session.ask(text="slow question", timeout=20))))
        asker.start()
        assert started.wait(5)
        server.connections[0].ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops
        update = next_of_kind(it, UpdateKind.RECONNECTED)
        release.set()
        asker.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], SessionInterruptedError), outcome
        assert update.items_restored == 2  # "first" and its answer
        assert session.ask(text="slow question", timeout=10).output_text == "You said: slow question"
        new = server.connections[-1]
        created = [json.dumps(e["item"]) for e in _of_type(new, "conversation.item.create")]
        assert sum("slow question" in c for c in created) == 1 and sum('"first"' in c for c in created) == 1
        assert [i.text for i in session.conversation.items()][-2:] == ["slow question", "You said: slow question"]
