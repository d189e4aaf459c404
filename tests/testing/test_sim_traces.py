"""Replaying recorded live traffic: the simulator answers a trace's client events with the trace's server event types.

For each recorded text-input turn, the client events are sent at the points they occur (after the server events
that preceded them in the trace arrived), with a responder scripted from the trace's answers. The simulator's
server event types must equal the trace's, in order, and each event type must have the same fields (key paths, at
every depth) as in the trace. Ids and content are not compared, and neither is the
*number* of consecutive deltas of one type: it depends on tokenisation and audio chunking (content), so a run of
``*.delta`` events of one type counts as one. ``rate_limits.updated`` is enabled only when the trace has it
(the 2026-08 recordings stop at ``response.done`` or show none; PROTOCOL.md section 12 and the newer traces show
it after ``response.done``, which is what the simulator does by default).
"""
from typing import Any, Dict, Iterable, List, Set

import pytest

from realtime_sync.testing import FunctionCall, Reply, scripted
from tests.support.traces import CLIENT_TYPES, load_trace
from tests.testing.sim_client import SimClient


def _collapse(types: List[str]) -> List[str]:
    out: List[str] = []
    for t in types:
        if not (out and out[-1] == t and t.endswith(".delta")):
            out.append(t)
    return out


def _paths(value: Any, prefix: str = "") -> Set[str]:
    out: Set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            out |= _paths(sub, path)
    elif isinstance(value, list):
        for sub in value:
            out |= _paths(sub, prefix + "[]")
    return out


def _field_paths(events: Iterable[Dict[str, Any]]) -> Set[str]:
    """Every key path the events have (``response.output[].content[].text``), merged over the events."""
    out: Set[str] = set()
    for event in events:
        out |= _paths(event)
    return out


def _replies(trace: List[Dict[str, Any]]) -> List[Reply]:
    """The assistant's answers, one per response.done, from the trace's output items."""
    replies = []
    for event in trace:
        if event["type"] != "response.done":
            continue
        reply = Reply()
        for item in event["response"]["output"]:
            if item["type"] == "message":
                reply.text += "".join(p.get("text") or p.get("transcript") or "" for p in item["content"])
            elif item["type"] == "function_call":
                reply.function_calls.append(FunctionCall(item["name"], item["arguments"], item["call_id"]))
        replies.append(reply)
    return replies


@pytest.mark.parametrize("name", [
    "pydantic-ai__text-in-audio-out-turn__ga.jsonl",
    "pydantic-ai__function-call-round-trip-text__ga.jsonl",
    "pydantic-ai__history-seeding-text-turn__ga.jsonl",
    "pydantic-ai__text-in-audio-out-turn-gpt-4o-realtime-preview__beta.jsonl",
    "pydantic-ai__gpt-realtime-2.1-tool-round-multi-item__ga.jsonl",
])
def test_replayed_trace_yields_the_same_server_event_types(make_fake_server, name):
    trace = load_trace(name)
    server = make_fake_server(responder=scripted(*_replies(trace), then=None),
                              rate_limits=any(e["type"] == "rate_limits.updated" for e in trace))
    beta = name.endswith("__beta.jsonl")
    model = trace[0]["session"]["model"]
    headers = {"Authorization": f"Bearer {server.api_key}", **({"OpenAI-Beta": "realtime=v1"} if beta else {})}
    expected: List[str] = []
    got: List[str] = []
    got_events: List[Dict[str, Any]] = []
    with SimClient(server.url(model), headers) as client:
        for event in trace:
            if event["type"] in CLIENT_TYPES:
                # the server events recorded before this client event must have arrived first
                while len(_collapse(got)) < len(_collapse(expected)) or (expected and got[-1] != expected[-1]):
                    got_events.append(client.recv(5))
                    got.append(got_events[-1]["type"])
                client.send(event)
            else:
                expected.append(event["type"])
        while len(_collapse(got)) < len(_collapse(expected)) or got[-1] != expected[-1]:
            got_events.append(client.recv(5))
            got.append(got_events[-1]["type"])
        got_events += client.drain(0.3)  # nothing more may follow
        got = [e["type"] for e in got_events]
    if expected[-1] == "response.done" and got[-1] == "rate_limits.updated" and "rate_limits.updated" in expected:
        got.pop()  # the recording stopped at the last response.done, before its rate_limits.updated
    assert _collapse(got) == _collapse(expected)
    assert server.connections[0].dialect.value == ("beta" if beta else "ga")
    # the same fields, present or absent, in each event type (values, ids and null-vs-value are not compared)
    for etype in sorted(set(expected)):
        want = _field_paths(e for e in trace if e["type"] == etype)
        have = _field_paths(e for e in got_events if e["type"] == etype)
        assert want and have == want, f"{etype}: missing {sorted(want - have)}, extra {sorted(have - want)}"
