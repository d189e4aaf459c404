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
from typing import Any, Dict, List

import pytest

from realtime_sync.testing import scripted
from tests.support.trace_order import collapse, field_paths, replies
from tests.support.traces import CLIENT_TYPES, load_trace
from tests.testing.sim_client import SimClient


#: the recorded text-input turns (the audio traces are replayed by test_sim_traces_audio.py)
TEXT_TRACES = [
    "pydantic-ai__text-in-audio-out-turn__ga.jsonl",
    "pydantic-ai__function-call-round-trip-text__ga.jsonl",
    "pydantic-ai__history-seeding-text-turn__ga.jsonl",
    "pydantic-ai__text-in-audio-out-turn-gpt-4o-realtime-preview__beta.jsonl",
    "pydantic-ai__gpt-realtime-2.1-tool-round-multi-item__ga.jsonl",
]


@pytest.mark.parametrize("name", TEXT_TRACES)
def test_replayed_trace_yields_the_same_server_event_types(make_fake_server, name):
    trace = load_trace(name)
    server = make_fake_server(responder=scripted(*replies(trace), then=None),
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
                while len(collapse(got)) < len(collapse(expected)) or (expected and got[-1] != expected[-1]):
                    got_events.append(client.recv(5))
                    got.append(got_events[-1]["type"])
                client.send(event)
            else:
                expected.append(event["type"])
        while len(collapse(got)) < len(collapse(expected)) or got[-1] != expected[-1]:
            got_events.append(client.recv(5))
            got.append(got_events[-1]["type"])
        got_events += client.drain(0.3)  # nothing more may follow
        got = [e["type"] for e in got_events]
    if expected[-1] == "response.done" and got[-1] == "rate_limits.updated" and "rate_limits.updated" in expected:
        got.pop()  # the recording stopped at the last response.done, before its rate_limits.updated
    assert collapse(got) == collapse(expected)
    assert server.connections[0].dialect.value == ("beta" if beta else "ga")
    # the same fields, present or absent, in each event type (values, ids and null-vs-value are not compared)
    for etype in sorted(set(expected)):
        want = field_paths(e for e in trace if e["type"] == etype)
        have = field_paths(e for e in got_events if e["type"] == etype)
        assert want and have == want, f"{etype}: missing {sorted(want - have)}, extra {sorted(have - want)}"
