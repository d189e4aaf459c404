"""Replaying the recorded audio traces: server-VAD turns with input transcription (GA, pydantic-ai) and WebRTC
sessions with barge-ins (beta, banyan-landing). The comparison and its tolerances are in
:mod:`tests.support.trace_order`; this module drives the simulator through each trace's scenario.

The scenario is read from the trace: the client's ``session.update``; each user turn, said by the simulator's
speech synth (the recorded audio was cut to 32 bytes a chunk) with the transcript the trace's transcription gave it,
sent in 100 ms appends; the transcripts and answers (scripted transcriber and responder). Where the user's speech
starts relative to the answer follows the trace: after ``response.done``, before the answer's first output (the
responder is held until the speech has cancelled the response), or while the answer streams (that response runs
at ``pace`` :data:`MID_PACE` with a long answer, so the speech lands inside it; everything else runs at pace 0).

Besides the tolerances of :mod:`tests.support.trace_order`, the WebRTC traces (banyan-landing) differ from a
WebSocket session in ways this test states and checks rather than filters silently:

* ``output_audio_buffer.started/stopped/cleared`` are WebRTC/SIP only (PROTOCOL.md section 5, notes: "a WebSocket
  server never sends them"); the simulator has no WebRTC transport, so they are dropped from the trace;
* the answer's audio went over the WebRTC media track (SOURCES.md), so the simulator's ``response.audio.delta``
  events (a WebSocket session's audio) are dropped from its side;
* on barge-in a WebRTC server truncates the playing item itself (``conversation.item.truncated`` with no client
  event); over a WebSocket only the client knows what was played, so the test sends ``conversation.item.truncate``
  where the trace shows the truncation (PROTOCOL.md section 5: ``conversation.item.truncated`` is "returned when
  ... truncated by the client with a ``conversation.item.truncate`` event");
* the greeting's ``conversation.item.create`` and ``response.create`` were not logged (SOURCES.md); the test sends
  them, with the item the trace's ``conversation.item.created`` shows;
* the recordings are of May 2025: fields the service added since, which the simulator sends as the 2026 recordings
  show them, are accepted only where a 2026 trace has the same field on the same event type
  (:func:`_newer_fields`), plus :data:`SIMULATOR_ONLY`.
"""
import base64
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import numpy as np
import pytest

from realtime_sync.testing import Reply, scripted, scripted_transcripts
from tests.support.trace_order import (field_paths, ga_type, main_types, relations_holding, reply_of,
                                       transcription_streams)
from tests.support.traces import CLIENT_TYPES, load_trace, server_events, trace_names
from tests.testing.sim_client import SimClient, append_events, silence, spoken

Json = Dict[str, Any]

LEAD_MS, ONSET_MS, TAIL_MS = 600, 200, 600  #: silence before a turn, speech sent before waiting for its start
MID_PACE = 0.2  #: pace of a response the trace interrupts while it streams
#: what such a response says: long enough (about a minute of audio) that the speech lands while it streams
LONG_ANSWER = " ".join(["Let me walk you through every option we have on your bill, one at a time."] * 10)
WEBRTC_ONLY = frozenset({"output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared"})
MEDIA_TRACK = frozenset({"response.audio.delta"})
#: fields the simulator sends that no recording shows, with the reason
SIMULATOR_ONLY = {
    # the strict beta schema (openai-python's beta types) names the seconds ``duration``; clients read ``seconds``
    "conversation.item.input_audio_transcription.completed": {"usage.duration"},
}
GATE_S = 10.0  #: longest a held responder waits


@dataclass
class _Response:
    id: str
    mode: str = "completed"  #: completed / before_output (cancelled with no output) / mid_output (cancelled later)
    reply: Reply = field(default_factory=Reply)
    items: List[str] = field(default_factory=list)  #: output item ids


@dataclass
class _Turn:
    item_id: str
    transcript: str = ""
    truncate: Optional[Tuple[int, int]] = None  #: (response index, audio_end_ms) truncated at this turn's start


def _plan(server_events: List[Json]) -> Tuple[List[_Response], List[_Turn], int]:
    """The trace's responses and user turns, and how many responses came before the first turn (the client's)."""
    responses: List[_Response] = []
    turns: List[_Turn] = []
    transcripts: Dict[str, str] = {}
    for e in server_events:
        t = e["type"]
        if t == "response.created":
            responses.append(_Response(e["response"]["id"]))
        elif t == "response.output_item.added":
            next(r for r in responses if r.id == e["response_id"]).items.append(e["item"]["id"])
        elif t == "response.done":
            r = next(r for r in responses if r.id == e["response"]["id"])
            r.reply = reply_of(e)
            if e["response"]["status"] == "cancelled":
                r.mode = "mid_output" if r.items else "before_output"
        elif t == "input_audio_buffer.speech_started":
            turns.append(_Turn(e["item_id"]))
        elif t == "conversation.item.truncated":
            index = next(i for i, r in enumerate(responses) if e["item_id"] in r.items)
            turns[-1].truncate = (index, e["audio_end_ms"])
        elif t == "conversation.item.input_audio_transcription.completed":
            transcripts[e["item_id"]] = e["transcript"].strip()
    for turn in turns:
        turn.transcript = transcripts[turn.item_id]
    first_turn = next(i for i, e in enumerate(server_events) if e["type"] == "input_audio_buffer.speech_started")
    offset = sum(e["type"] == "response.created" for e in server_events[:first_turn])
    assert len(responses) == len(turns) + offset  # every turn starts one response
    return responses, turns, offset


def _responder(responses: List[_Response], gates: List[threading.Event]) -> Callable[..., Any]:
    def held(k: int) -> Callable[[Any], Reply]:
        def answer(ctx: Any) -> Reply:
            assert gates[k].wait(GATE_S), "the speech never cancelled the held response"
            return Reply(text=LONG_ANSWER)  # never said: the response was cancelled meanwhile
        return answer

    script: List[Any] = []
    for k, r in enumerate(responses):
        script.append(r.reply if r.mode == "completed" else held(k) if r.mode == "before_output"
                      else Reply(text=LONG_ANSWER))
    return scripted(*script, then=None)


class _Driver:
    def __init__(self, client: SimClient) -> None:
        self.c = client

    def count(self, etype: str) -> int:
        return sum(e["type"] == etype for e in self.c.events)

    def until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        while not done():
            self.c.recv(timeout)

    def until_count(self, etype: str, n: int) -> None:
        self.until(lambda: self.count(etype) >= n)

    def response_id(self, k: int) -> str:
        return [e for e in self.c.events if e["type"] == "response.created"][k]["response"]["id"]

    def send_audio(self, samples: np.ndarray) -> None:
        for ev in append_events(samples.astype("<i2").tobytes()):
            self.c.send(ev)

    def audio_ms(self, item_id: str) -> int:
        return sum(len(base64.b64decode(e["delta"])) // 48 for e in self.c.events
                   if e["type"] in ("response.audio.delta", "response.output_audio.delta") and e["item_id"] == item_id)


def _drive(server: Any, trace: List[Json], beta: bool, responses: List[_Response], turns: List[_Turn], offset: int,
           gates: List[threading.Event]) -> List[Json]:
    """Play the client's side of the trace (module docstring); every server event received."""
    model = next(e for e in trace if e["type"] == "session.created")["session"]["model"]
    headers = {"Authorization": f"Bearer {server.api_key}", **({"OpenAI-Beta": "realtime=v1"} if beta else {})}
    with SimClient(server.url(model), headers) as c:
        d = _Driver(c)
        c.expect("session.created")
        c.send(next(e for e in trace if e["type"] == "session.update"))
        d.until_count("session.updated", 1)
        if offset:  # the conversation.item.create and response.create the recording did not log (SOURCES.md)
            item = next(e for e in trace if e["type"] == "conversation.item.created")["item"]
            fields = ("id", "type", "role", "content")
            c.send({"type": "conversation.item.create", "item": {key: item[key] for key in fields}})
            c.send({"type": "response.create"})
        for j, turn in enumerate(turns):
            k = j - 1 + offset  # the response before this turn
            before = responses[k] if k >= 0 else None
            if before is not None and before.mode == "completed":
                d.until_count("response.done", k + 1)
            elif before is not None:
                d.until_count("response.created", k + 1)
                if before.mode == "mid_output":  # it streams (at MID_PACE): the speech starts inside it
                    rid = d.response_id(k)
                    d.until(lambda: any(ga_type(e["type"]) == "response.output_audio_transcript.delta"
                                        and e["response_id"] == rid for e in c.events))
            speech = spoken(turn.transcript)
            onset = ONSET_MS * 24
            d.send_audio(np.concatenate([silence(LEAD_MS), speech[:onset]]))
            d.until_count("input_audio_buffer.speech_started", j + 1)
            if before is not None and before.mode != "completed":  # the speech cancelled it
                d.until_count("response.done", k + 1)
                server.pace = 0
                gates[k].set()
            if turn.truncate is not None:
                index, ms = turn.truncate
                item_id = next(e["item"]["id"] for e in c.events if e["type"] == "response.output_item.added"
                               and e["response_id"] == d.response_id(index))
                c.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                        "audio_end_ms": min(ms, d.audio_ms(item_id))})
                d.until_count("conversation.item.truncated", 1 + sum(t.truncate is not None for t in turns[:j]))
            if responses[j + offset].mode == "mid_output":
                server.pace = MID_PACE
            d.send_audio(np.concatenate([speech[onset:], silence(TAIL_MS)]))
            d.until_count("input_audio_buffer.committed", j + 1)
        d.until_count("response.done", len(responses))
        c.drain(0.3)
        return list(c.events)


def _newer_fields() -> Dict[str, Set[str]]:
    """Per GA event type, the fields the 2026 recordings (pydantic-ai, both dialects) show."""
    out: Dict[str, Set[str]] = {}
    for name in trace_names():
        if name.startswith("pydantic-ai__"):
            for e in server_events(name):
                out.setdefault(ga_type(e["type"]), set()).update(field_paths([e]))
    return out


AUDIO_TRACES = [
    "pydantic-ai__server-vad-audio-turn-with-input-transcription__ga.jsonl",
    "pydantic-ai__three-server-vad-turns__ga.jsonl",
    "banyan-landing__webrtc-greeting-then-barge-in-vad-turn__beta.jsonl",
    "banyan-landing__webrtc-multiturn-vad-function-call-barge-in__beta.jsonl",
]


@pytest.mark.parametrize("name", AUDIO_TRACES)
def test_replayed_audio_trace_yields_the_same_server_events(make_fake_server, name):
    trace = load_trace(name)
    webrtc = name.startswith("banyan-landing__")
    recorded = [e for e in trace if e["type"] not in CLIENT_TYPES]
    responses, turns, offset = _plan(recorded)
    gates = [threading.Event() for _ in responses]
    server = make_fake_server(responder=_responder(responses, gates),
                              transcriber=scripted_transcripts(*(t.transcript for t in turns), then=None),
                              rate_limits=any(e["type"] == "rate_limits.updated" for e in trace))
    try:
        got = _drive(server, trace, name.endswith("__beta.jsonl"), responses, turns, offset, gates)
    finally:
        for gate in gates:
            gate.set()
    assert not [e for e in got if e["type"] in WEBRTC_ONLY]
    if webrtc:  # stated differences of a WebRTC recording (module docstring), not silent filtering
        assert {e["type"] for e in recorded} & WEBRTC_ONLY == WEBRTC_ONLY
        assert not [e for e in recorded if e["type"] in MEDIA_TRACK] and [e for e in got if e["type"] in MEDIA_TRACK]
        recorded = [e for e in recorded if e["type"] not in WEBRTC_ONLY]
        got = [e for e in got if e["type"] not in MEDIA_TRACK]
    assert main_types(got) == main_types(recorded)
    assert transcription_streams(got) == transcription_streams(recorded)
    missing = relations_holding(recorded) - relations_holding(got)
    assert not missing, f"transcription relations the trace shows and the simulator does not: {missing}"
    newer = _newer_fields() if webrtc else {}
    for etype in sorted({e["type"] for e in recorded}):
        want = field_paths(e for e in recorded if e["type"] == etype)
        have = field_paths(e for e in got if e["type"] == etype)
        allowed = newer.get(ga_type(etype), set()) | SIMULATOR_ONLY.get(ga_type(etype), set()) if webrtc else set()
        assert want <= have and have - want <= allowed, \
            f"{etype}: missing {sorted(want - have)}, extra {sorted(have - want - allowed)}"


def test_every_recorded_trace_is_replayed():
    """Each file of tests/data/traces (copies of ../shared/spec/traces) has an order test, here or for the text
    turns in test_sim_traces.py."""
    from tests.testing.test_sim_traces import TEXT_TRACES

    assert sorted(TEXT_TRACES + AUDIO_TRACES) == trace_names()
