"""Comparing the simulator's server events with a recorded trace's (``tests/testing/test_sim_traces*.py``).

The comparison is of event types in order and of the fields each event type has (key paths at every depth, so a
key sent as ``null`` differs from a key left out); ids, values and content are not compared. The tolerances, each
one for an ordering the recordings show to depend on timing or content rather than on the protocol:

* :func:`collapse`: a run of consecutive deltas of one type counts as one (their number depends on tokenisation and
  audio chunking);
* :func:`main_types` (audio traces only):
  - an assistant audio part's transcript deltas and audio deltas count as one run: how they interleave depends on
    when the model's text and the synthesised audio are ready (three-server-vad-turns shows ``T T T A A A T T T A``
    in one turn and ``T T T A A A T T T A A T T`` in the next, the simulator streams clause by clause);
  - input-audio transcription events are left out: they come from a separate model running beside the response,
    so where they fall among the response's events is timing (the two GA server-VAD traces put the same
    transcription's deltas during speech and after ``response.created`` respectively, depending only on how fast
    the client sent the audio). They are compared per item by :func:`transcription_streams` and by the
    :data:`RELATIONS` to the other events that the trace shows for every item (:func:`relations_holding`);
  - a ``speech_started`` that interrupts a response (it comes between that response's ``response.created`` and its
    ``response.done``) counts as coming just before that ``response.done``: where the user's speech lands inside
    the response is the speaker's timing (the multiturn WebRTC trace has barge-ins before any output, in the
    middle of the output and after the last output item was done).
"""
from typing import Any, Callable, Dict, Iterable, List, Optional, Set

from realtime_sync.protocol import UpdateKind
from realtime_sync.testing import FunctionCall, Reply

Json = Dict[str, Any]

TRANSCRIPTION = "conversation.item.input_audio_transcription."
#: an assistant audio part's deltas (GA names; beta names are mapped to them)
CONTENT_DELTAS = frozenset({"response.output_audio.delta", "response.output_audio_transcript.delta"})
CONTENT_RUN = "response.output_audio{,_transcript}.delta"


def ga_type(wire_type: str) -> str:
    """The GA name of a server event type of either dialect."""
    kind = UpdateKind.from_type(wire_type)
    return wire_type if kind is UpdateKind.UNKNOWN else kind.value


def collapse(types: List[str]) -> List[str]:
    """Consecutive deltas of one type count as one."""
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


def field_paths(events: Iterable[Json]) -> Set[str]:
    """Every key path the events have (``response.output[].content[].text``), merged over the events."""
    out: Set[str] = set()
    for event in events:
        out |= _paths(event)
    return out


def reply_of(done: Json) -> Reply:
    """What the assistant answered in a ``response.done``: its messages' text or transcript, its function calls."""
    reply = Reply()
    for item in done["response"]["output"]:
        if item["type"] == "message":
            reply.text += "".join(p.get("text") or p.get("transcript") or "" for p in item["content"])
        elif item["type"] == "function_call":
            reply.function_calls.append(FunctionCall(item["name"], item["arguments"], item["call_id"]))
    return reply


def replies(trace: List[Json]) -> List[Reply]:
    """The assistant's answers, one per ``response.done``, from the trace's output items."""
    return [reply_of(e) for e in trace if e["type"] == "response.done"]


def is_transcription(event: Json) -> bool:
    return event["type"].startswith(TRANSCRIPTION)


def main_types(events: List[Json]) -> List[str]:
    """The event types in order with the tolerances of the module docstring (GA names, deltas collapsed)."""
    out: List[str] = []
    open_response: Optional[str] = None
    barge_in: List[str] = []
    for event in events:
        t = ga_type(event["type"])
        if is_transcription(event):
            continue
        if t == "response.created":
            open_response = event["response"]["id"]
        elif t == "input_audio_buffer.speech_started" and open_response is not None:
            barge_in.append(t)  # counted just before the interrupted response's response.done
            continue
        elif t == "response.done" and event["response"]["id"] == open_response:
            out += barge_in
            barge_in, open_response = [], None
        out.append(CONTENT_RUN if t in CONTENT_DELTAS else t)
    return collapse(out)


def transcription_streams(events: List[Json]) -> List[List[str]]:
    """Each user item's transcription events (deltas collapsed), items in the order they were committed."""
    order = [e["item_id"] for e in events if e["type"] == "input_audio_buffer.committed"]
    per_item: Dict[str, List[str]] = {}
    for event in events:
        if is_transcription(event):
            per_item.setdefault(event["item_id"], []).append(event["type"])
    return [collapse(per_item.get(item_id, [])) for item_id in order]


def _index(events: List[Json], pred: Callable[[Json], bool], start: int = 0) -> Optional[int]:
    return next((i for i in range(start, len(events)) if pred(events[i])), None)


def _item_relations(events: List[Json], item_id: str) -> Set[str]:
    """The :data:`RELATIONS` that hold for one committed user item."""
    def at(etype: str, start: int = 0, item: bool = True) -> Optional[int]:
        return _index(events, lambda e: ga_type(e["type"]) == etype and (not item or e.get("item_id") == item_id),
                      start)

    mine = [i for i, e in enumerate(events) if is_transcription(e) and e["item_id"] == item_id]
    deltas = [i for i in mine if events[i]["type"].endswith(".delta")]
    completed = next((i for i in mine if events[i]["type"].endswith(".completed")), None)
    started = at("input_audio_buffer.speech_started")
    stopped = at("input_audio_buffer.speech_stopped")
    committed = at("input_audio_buffer.committed")
    if committed is None or completed is None:
        return set()
    created = at("response.created", committed, item=False)
    part = at("response.content_part.added", committed, item=False)
    done = at("response.done", committed, item=False)
    holds = {
        "deltas before completed": all(i < completed for i in deltas),
        "a delta during speech": (started is not None and stopped is not None
                                  and any(started < i < stopped for i in deltas)),
        "deltas after the commit follow the next response.created": (created is not None
                                                                     and all(i > created for i in deltas
                                                                             if i > committed)),
        "completed after the next response.created": created is not None and completed > created,
        "completed after the next response's first content part": part is not None and completed > part,
        "completed before the next response.done": done is not None and completed < done,
    }
    return {name for name, ok in holds.items() if ok}


#: what is checked of each user item's transcription against the other events
RELATIONS = ("deltas before completed", "a delta during speech",
             "deltas after the commit follow the next response.created", "completed after the next response.created",
             "completed after the next response's first content part", "completed before the next response.done")


def relations_holding(events: List[Json]) -> Set[str]:
    """The :data:`RELATIONS` that hold for every committed user item with a transcription."""
    items = [e["item_id"] for e in events if e["type"] == "input_audio_buffer.committed"
             and any(is_transcription(t) and t["item_id"] == e["item_id"] for t in events)]
    out = set(RELATIONS)
    for item_id in items:
        out &= _item_relations(events, item_id)
    return out
