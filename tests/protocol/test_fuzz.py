"""Fuzzing the decode path with mutated live traffic: bad server input never escapes as an untyped exception.

Every server event of the recorded traces is mutated many ways (a value replaced by one of the wrong type, a key
dropped, the type swapped for another event's, the JSON text cut or its bytes flipped) and fed to
``parse_update``, to every typed accessor of the update and of the objects nested in it, and to the built-in
observers (conversation mirror, usage, tool dispatcher, audio player). Each may succeed or raise the library's own
error (``RealtimeError``: ``MessageDecodeError`` for bad input); any other exception fails the test. Seeded, so a
failure reproduces.
"""
import dataclasses
import json
import random
from typing import Any, Dict, Iterator, List

import pytest

from realtime_sync.conversation import ConversationMirror
from realtime_sync.errors import RealtimeError
from realtime_sync.protocol import UPDATE_CLASSES, parse_update
from realtime_sync.tools import ToolDispatcher
from realtime_sync.usage import UsageTracker
from tests.support.fake_session import FakeSession
from tests.support.traces import server_events, trace_names

FRAMES = 100_000
WRONG: List[Any] = [None, True, 0, -1, 2 ** 70, 1.5, "", "boom", "!!not base64!!", [], [1, "x", None], {},
                    {"type": 7}, {"a": {"b": []}}]
TYPES = sorted(cls.kind.value for cls in UPDATE_CLASSES.values())


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, prefix + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, prefix + (i,))


def _set(doc: Any, path: tuple, value: Any, delete: bool = False) -> None:
    for key in path[:-1]:
        doc = doc[key]
    if delete and isinstance(doc, dict):
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


def _mutants(events: List[Dict[str, Any]], rng: random.Random) -> Iterator[Any]:
    while True:
        event = json.loads(json.dumps(rng.choice(events)))
        how = rng.random()
        paths = [p for p in _paths(event) if p]
        if how < 0.55 and paths:
            path = rng.choice(paths)
            _set(event, path, rng.choice(WRONG), delete=rng.random() < 0.2)
            yield event
        elif how < 0.7:
            event["type"] = rng.choice(TYPES)
            yield event
        elif how < 0.85:
            text = json.dumps(event).encode()
            yield text[:rng.randrange(len(text))]
        else:
            data = bytearray(json.dumps(event).encode())
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            yield bytes(data)


def _touch(obj: Any, depth: int = 0) -> None:
    """Read every field and property of a decoded object, and of the objects nested in it."""
    if depth > 6 or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _touch(item, depth + 1)
        return
    if isinstance(obj, dict):
        return  # raw wire data (``raw``, ``extra``): not a typed accessor
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name != "raw":
                _touch(getattr(obj, f.name), depth + 1)
    for klass in type(obj).__mro__:
        for name, attr in vars(klass).items():
            if isinstance(attr, property) and not name.startswith("_"):
                _touch(getattr(obj, name), depth + 1)


def _guarded(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except RealtimeError:
        return None


@pytest.mark.timeout(600)
def test_mutated_trace_frames_never_raise_untyped_exceptions():
    from realtime_sync.audio import NullSink
    from realtime_sync.playback import AudioPlayer

    events = [e for name in trace_names() for e in server_events(name)]
    rng = random.Random(20261205)
    session = FakeSession()
    observers = [ConversationMirror(max_items=50), UsageTracker(max_responses=50),
                 ToolDispatcher(session, auto_dispatch=False), AudioPlayer(session, NullSink(), attach=False)]
    decoded = failures = 0
    for n, frame in enumerate(_mutants(events, rng)):
        if n >= FRAMES:
            break
        try:
            update = _guarded(parse_update, frame)
            if update is None:
                continue
            decoded += 1
            _guarded(_touch, update)
            for observer in observers:
                _guarded(observer.handle_update, update)
        except Exception as exc:  # the assertion below reports the first few
            failures += 1
            if failures <= 5:
                print(f"frame {n}: {type(exc).__name__}: {exc}: {frame!r:.300}")
    assert failures == 0, f"{failures} untyped exceptions in {FRAMES} mutated frames (see the output)"
    assert decoded > FRAMES // 3  # most mutants still decode, so accessors and observers were exercised
