"""ToolDispatcher against a fake session fed with recorded and synthetic server events.

The fake session calls the observers on the test's thread, so once ``feed`` returns only the tool pool is still
working; ``dispatcher.wait_idle()`` says when that is finished too (nothing left to run or send), and only then do
the tests assert what was *not* sent.
"""
import enum
import json
import threading
import time
from dataclasses import dataclass

import pytest

from realtime_sync import FunctionTool
from realtime_sync.protocol import ResponseOptions
from realtime_sync.tools import CONTINUATION_KEY, ToolDispatcher, ToolRegistry, encode_tool_result

from tests.support.fake_session import FakeSession
from tests.support.traces import server_events

from .helpers import response_events


_DISPATCHERS = []


@pytest.fixture(autouse=True)
def _close_dispatchers():
    """Close every dispatcher a test made, so no idle pool thread outlives it (other suites check for leaks)."""
    yield
    while _DISPATCHERS:
        _DISPATCHERS.pop().close()


def dispatcher_for(session, tools, **kwargs):
    dispatcher = ToolDispatcher(session, tools, **kwargs).attach()
    _DISPATCHERS.append(dispatcher)
    return dispatcher


def outputs(session):
    return [s["item"] for s in session.sent_of("conversation.item.create")]


def make(tools, **kwargs):
    session = FakeSession()
    kwargs.setdefault("timeout", 5.0)
    return session, dispatcher_for(session, tools, **kwargs)


def feed_all(session, events):
    for e in events:
        session.feed(e)


def test_recorded_tool_round_is_answered_and_continued_once():
    def get_weather(city: str) -> str:
        """Look up the weather for a city."""
        return f"It is foggy and 12 degrees in {city}."

    session, dispatcher = make([get_weather])
    events = server_events("pydantic-ai__gpt-realtime-2.1-tool-round-multi-item__ga.jsonl")
    first_done = next(i for i, e in enumerate(events) if e["type"] == "response.done")
    feed_all(session, events[:first_done + 1])
    assert dispatcher.wait_idle(5)
    assert session.wait_sent(lambda s: any(x["type"] == "response.create" for x in s))
    assert outputs(session) == [{"type": "function_call_output", "call_id": "call_qBWDkMS4urWSGbSx",
                                 "output": "It is foggy and 12 degrees in London."}]
    creates = session.sent_of("response.create")
    assert len(creates) == 1
    assert creates[0]["response"]["metadata"] == {CONTINUATION_KEY: "resp_E7VIlpAE2T2hhKFLCR0Xg"}
    assert [s["type"] for s in session.sent] == ["conversation.item.create", "response.create"]
    # the rest of the trace (the final answer) triggers nothing more
    feed_all(session, events[first_done + 1:])
    assert dispatcher.wait_idle(5)
    assert len(session.sent) == 2
    (call,) = dispatcher.calls()
    assert call.status == "completed" and call.name == "get_weather" and call.parsed_arguments == {"city": "London"}
    dispatcher.close()


def test_continuation_waits_for_response_done_and_for_slow_calls():
    started, gate = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        started.set()
        gate.wait(5)
        return x * 2

    session, dispatcher = make([slow])
    events = response_events("r1", calls=[("i1", "c1", "slow", '{"x": 21}')])
    feed_all(session, events)  # response.done arrives while the tool still runs
    assert started.wait(5)
    assert not dispatcher.settled and not dispatcher.wait_idle(0)  # the tool is running
    assert session.sent == []  # its output (and so the continuation) cannot have gone out
    gate.set()
    assert dispatcher.wait_idle(5) and dispatcher.settled
    assert [s["type"] for s in session.sent] == ["conversation.item.create", "response.create"]
    assert outputs(session)[0]["output"] == "42"


def test_calls_finishing_before_response_done_wait_for_it():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "ok", name="quick")])
    events = response_events("r1", calls=[("i1", "c1", "quick", "{}")])
    feed_all(session, events[:-1])
    assert dispatcher.wait_idle(5)
    assert [s["type"] for s in session.sent] == ["conversation.item.create"]  # the response is still streaming
    session.feed(events[-1])
    assert session.wait_sent(lambda s: len(s) == 2)


def test_tool_that_raises_becomes_an_error_output_and_the_turn_goes_on():
    def explode(reason: str) -> str:
        raise ValueError(f"cannot do {reason}")

    results = []
    session, dispatcher = make([explode], on_call=results.append)
    feed_all(session, response_events("r1", calls=[("i1", "c1", "explode", '{"reason": "that"}')]))
    assert session.wait_sent(lambda s: len(s) == 2)
    out = json.loads(outputs(session)[0]["output"])
    assert out == {"error": "ValueError: cannot do that"}
    assert session.sent[1]["type"] == "response.create"
    assert results[0].status == "error" and results[0].error == "ValueError: cannot do that"


def test_tool_that_times_out_is_answered_and_its_late_result_dropped():
    release = threading.Event()

    def hang() -> str:
        release.wait(5)
        return "too late"

    registry = ToolRegistry()
    registry.register(hang, timeout=0.2)
    session, dispatcher = make(registry, timeout=30)
    started = time.monotonic()
    feed_all(session, response_events("r1", calls=[("i1", "c1", "hang", "{}")]))
    assert session.wait_sent(lambda s: len(s) == 2, timeout=3)
    assert time.monotonic() - started < 2
    assert json.loads(outputs(session)[0]["output"]) == {"error": "tool 'hang' timed out after 0.2 s"}
    assert not dispatcher.wait_idle(0)  # the timed-out tool still runs
    release.set()
    assert dispatcher.wait_idle(5)  # it returned, and its result was dropped
    assert len(session.sent) == 2  # the late result is not sent
    assert dispatcher.get("c1").status == "timeout"


def test_two_calls_in_one_response_get_two_outputs_and_one_continuation():
    barrier = threading.Barrier(2, timeout=5)

    def first(n: int) -> dict:
        barrier.wait()  # both run at once on the pool
        return {"n": n}

    def second(s: str) -> str:
        barrier.wait()
        return s.upper()

    session, dispatcher = make([first, second], max_workers=2)
    feed_all(session, response_events("r1", calls=[("i1", "c1", "first", '{"n": 1}'),
                                                   ("i2", "c2", "second", '{"s": "a"}')]))
    assert dispatcher.wait_idle(5)
    assert len(session.sent) == 3
    assert sorted((o["call_id"], o["output"]) for o in outputs(session)) == [("c1", '{"n": 1}'), ("c2", "A")]
    assert len(session.sent_of("response.create")) == 1 and session.sent[-1]["type"] == "response.create"
    assert [c.call_id for c in dispatcher.calls("r1")] == ["c1", "c2"]


def test_unknown_tool_and_bad_arguments_get_error_outputs():
    def known(a: int) -> int:
        return a

    session, dispatcher = make([known])
    feed_all(session, response_events("r1", calls=[("i1", "c1", "made_up", "{}"),
                                                   ("i2", "c2", "known", "{not json"),
                                                   ("i3", "c3", "known", '{"b": 1}')]))
    assert session.wait_sent(lambda s: len(s) == 4)
    by_call = {o["call_id"]: json.loads(o["output"])["error"] for o in outputs(session)}
    assert by_call["c1"] == "unknown tool 'made_up'"
    assert by_call["c2"].startswith("invalid arguments: not JSON")
    assert "unexpected argument 'b'" in by_call["c3"]
    assert [c.status for c in dispatcher.calls()] == ["unknown_tool", "invalid_arguments", "invalid_arguments"]
    assert session.sent[-1]["type"] == "response.create"


def test_cancelled_response_gets_outputs_but_no_continuation():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "x", name="t")])
    feed_all(session, response_events("r1", calls=[("i1", "c1", "t", "{}")], status="cancelled"))
    assert dispatcher.wait_idle(5)
    assert [s["type"] for s in session.sent] == ["conversation.item.create"]


def test_manual_mode_sends_nothing():
    for dispatcher_args in ({"tools": []}, {"tools": [lambda: 1], "auto_dispatch": False}):
        session = FakeSession()
        tools = dispatcher_args.pop("tools")
        registry = ToolRegistry([FunctionTool.from_callable(t, name="t") for t in tools])
        dispatcher = dispatcher_for(session, registry, **dispatcher_args)
        feed_all(session, response_events("r1", calls=[("i1", "c1", "t", "{}")]))
        assert dispatcher.wait_idle(5)
        assert session.sent == [] and not dispatcher.active and dispatcher.calls() == []


def test_declared_only_tool_is_left_to_the_user():
    registry = ToolRegistry([FunctionTool.from_callable(lambda: "auto", name="auto")])
    registry.register(FunctionTool("by_hand", "answered by the app"))
    session, dispatcher = make(registry)
    feed_all(session, response_events("r1", calls=[("i1", "c1", "auto", "{}"), ("i2", "c2", "by_hand", "{}")]))
    assert dispatcher.wait_idle(5)
    assert [o["call_id"] for o in outputs(session)] == ["c1"]
    assert session.sent_of("response.create") == []
    assert dispatcher.get("c2").status == "manual"


def test_beta_name_comes_from_the_output_item():
    session, dispatcher = make([FunctionTool.from_callable(lambda city: city, name="echo")])
    events = response_events("r1", calls=[("i1", "c1", "echo", '{"city": "Rome"}')], beta=True)
    args_done = [e for e in events if e["type"] == "response.function_call_arguments.done"][0]
    assert "name" not in args_done
    # the call must be scheduled by arguments.done alone (before output_item.done)
    for e in events:
        session.feed(e)
        if e is args_done:
            break
    assert session.wait_sent(lambda s: len(s) == 1)
    assert outputs(session)[0]["output"] == "Rome"


def test_continuation_deferred_while_another_response_is_active():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "x", name="t")])
    events = response_events("r1", calls=[("i1", "c1", "t", "{}")])
    feed_all(session, events[:-1])
    session.feed({"type": "response.created", "response": {"id": "r2", "status": "in_progress"}})  # VAD turn
    session.feed(events[-1])
    assert dispatcher.wait_idle(5)  # answered, and the continuation deferred
    assert [s["type"] for s in session.sent] == ["conversation.item.create"]
    session.feed({"type": "response.done", "response": {"id": "r2", "status": "completed", "output": []}})
    assert session.wait_sent(lambda s: len(s) == 2)
    assert session.sent[-1]["type"] == "response.create"


def test_refused_continuation_is_retried_after_the_active_response():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "x", name="t")],
                               response_options=ResponseOptions(instructions="Be brief."))
    feed_all(session, response_events("r1", calls=[("i1", "c1", "t", "{}")]))
    assert session.wait_sent(lambda s: len(s) == 2)
    create = session.sent[-1]
    assert create["response"]["instructions"] == "Be brief."
    assert dispatcher.is_continuation_event(create["event_id"])
    session.feed({"type": "error", "error": {"type": "invalid_request_error",
                                             "code": "conversation_already_has_active_response",
                                             "message": "busy", "event_id": create["event_id"]}})
    session.feed({"type": "response.done", "response": {"id": "r9", "status": "completed", "output": []}})
    assert session.wait_sent(lambda s: len(s) == 3)
    assert session.sent[-1]["type"] == "response.create"


class Unit(enum.Enum):
    C = "c"
    F = "f"


@dataclass
class Place:
    city: str
    zip: str = ""


@dataclass
class Report:
    city: str
    unit: Unit
    temperature: float


def test_dataclass_and_enum_arguments_and_results():
    def report(place: Place, unit: Unit = Unit.C) -> Report:
        assert isinstance(place, Place) and isinstance(unit, Unit)
        return Report(place.city, unit, 21.5)

    session, dispatcher = make([report])
    feed_all(session, response_events("r1", calls=[("i1", "c1", "report",
                                                    '{"place": {"city": "Lima"}, "unit": "f"}')]))
    assert session.wait_sent(lambda s: len(s) == 2)
    assert json.loads(outputs(session)[0]["output"]) == {"city": "Lima", "unit": "f", "temperature": 21.5}
    assert dispatcher.get("c1").result == Report("Lima", Unit.F, 21.5)


def test_encode_tool_result():
    assert encode_tool_result("plain") == "plain"
    assert encode_tool_result({"a": [1, 2]}) == '{"a": [1, 2]}'
    assert encode_tool_result(None) == "null"
    assert encode_tool_result({"s": {3}, "e": Unit.F}) == '{"s": [3], "e": "f"}'


def test_expects_continuation_and_registry_decorator():
    registry = ToolRegistry()

    @registry.register(timeout=3)
    def ping() -> str:
        """Ping."""
        return "pong"

    assert ping() == "pong" and "ping" in registry and registry.timeout_for("ping") == 3
    assert [t.name for t in registry] == ["ping"] and len(registry) == 1
    session, dispatcher = make(registry)
    from realtime_sync.protocol import parse_update
    done = parse_update(response_events("r1", calls=[("i1", "c1", "ping", "{}")])[-1])
    assert dispatcher.expects_continuation(done.response)
    cancelled = parse_update(response_events("r2", calls=[("i1", "c1", "ping", "{}")], status="cancelled")[-1])
    assert not dispatcher.expects_continuation(cancelled.response)
    text_only = parse_update(response_events("r3", text="hi")[-1])
    assert not dispatcher.expects_continuation(text_only.response)
    assert registry.unregister("ping") and not dispatcher.active
    dispatcher.close()


def test_bounded_tracking():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "x", name="t")], max_tracked=8)
    for n in range(30):
        feed_all(session, response_events(f"r{n}", calls=[(f"i{n}", f"c{n}", "t", "{}")]))
        assert dispatcher.wait_idle(5)
    assert len(dispatcher.calls()) == 8
    assert len(dispatcher._responses) <= 8 and len(dispatcher._names) <= 8
    assert len(session.sent_of("response.create")) == 30


def test_registry_sync_with_session_tools_and_tools_declared_by_hand():
    def auto(x: int = 1) -> int:
        return x

    registry = ToolRegistry()
    registry.register(auto, timeout=2)
    registry.sync([FunctionTool.from_callable(auto), {"type": "function", "name": "by_hand", "parameters": {}},
                   {"type": "mcp", "server_label": "x"}])
    assert registry.names() == ["auto", "by_hand"] and registry.timeout_for("auto") == 2
    assert registry.get("by_hand").function is None
    registry.sync([{"type": "function", "name": "auto"}])  # a dict echo keeps the function
    assert registry.names() == ["auto"] and registry.get("auto").function is auto
    registry.sync([])
    assert len(registry) == 0

    # a tool the session declares (session.updated) but the registry lacks is the user's to answer
    from realtime_sync.protocol import SessionInfo
    session = FakeSession()
    session.session_info = SessionInfo(tools=[{"type": "function", "name": "external"}])
    dispatcher = dispatcher_for(session, [auto])
    feed_all(session, response_events("r1", calls=[("i1", "c1", "external", "{}")]))
    assert dispatcher.wait_idle(5)
    assert session.sent == [] and dispatcher.get("c1").status == "manual"


def test_connection_end_stops_the_pool_and_a_new_one_serves_later_calls():
    session, dispatcher = make([FunctionTool.from_callable(lambda: "x", name="t")])
    feed_all(session, response_events("r1", calls=[("i1", "c1", "t", "{}")]))
    assert session.wait_sent(lambda s: len(s) == 2)
    old_threads = list(dispatcher._pool._threads)
    assert old_threads and all(t.daemon for t in old_threads)
    dispatcher.handle_connection_closed(None)
    for t in old_threads:
        t.join(2)
    assert not any(t.is_alive() for t in old_threads)
    feed_all(session, response_events("r2", calls=[("i2", "c2", "t", "{}")]))
    assert session.wait_sent(lambda s: len(s) == 4)
    dispatcher.close()
    assert dispatcher.calls()[-1].status == "completed"
