"""The recorded live sessions in ``tests/data/traces`` (one JSON event a line, client and server events mixed)."""
import json
import os
from typing import Any, Dict, Iterator, List

from realtime_sync.protocol import COMMAND_CLASSES, ConversationUpdate, parse_update

DATA_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "data")
TRACES_DIR = os.path.join(DATA_DIR, "traces")
#: Every client event type of both dialects (the protocol layer's command table is the one list).
CLIENT_TYPES = frozenset(COMMAND_CLASSES)


def trace_names() -> List[str]:
    return sorted(n for n in os.listdir(TRACES_DIR) if n.endswith(".jsonl"))


def trace_lines(name: str) -> List[str]:
    """Every event of a trace, as the raw JSON lines."""
    with open(os.path.join(TRACES_DIR, name), encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def load_trace(name: str) -> List[Dict[str, Any]]:
    """Every event of a trace, as dicts."""
    return [json.loads(line) for line in trace_lines(name)]


def server_lines(name: str) -> List[str]:
    """The server events of a trace, as the raw JSON lines."""
    return [line for line in trace_lines(name) if json.loads(line)["type"] not in CLIENT_TYPES]


def server_events(name: str) -> List[Dict[str, Any]]:
    """The server events of a trace (client events skipped), as dicts."""
    return [e for e in load_trace(name) if e["type"] not in CLIENT_TYPES]


def trace_updates(name: str) -> Iterator[ConversationUpdate]:
    """The server events of a trace, decoded."""
    for event in server_events(name):
        yield parse_update(event)
