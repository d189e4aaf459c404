"""Every recorded live session (tests/data/traces) replayed by a test server comes out of receive_updates()
complete, in order and typed.

The replay is interactive: the server sends the trace's server events in order and, where the trace has client
events, waits for the client to send events of those types (the test sends the trace's own client events through
``send_command``). Client events recorded before the first server event are skipped on both sides.
"""
import json

import pytest

from realtime_sync import UpdateKind
from realtime_sync.protocol.updates import UnknownUpdate

from tests.support.sessions import client_for
from tests.support.traces import CLIENT_TYPES, trace_lines, trace_names
from .server import MiniServer


def load(name):
    events = trace_lines(name)
    while events and json.loads(events[0])["type"] in CLIENT_TYPES:
        events.pop(0)
    return [(json.loads(e)["type"] in CLIENT_TYPES, e) for e in events]


def replay_server(events, errors):
    def on_connect(conn):
        ws = conn.ws
        for is_client, line in events:
            if is_client:
                got = json.loads(ws.recv(timeout=10))["type"]
                if got != json.loads(line)["type"]:
                    errors.append(f"expected client {json.loads(line)['type']}, got {got}")
                    return
            else:
                ws.send(line)
    return MiniServer(handler=None, on_connect=on_connect, send_created=False)


@pytest.mark.parametrize("name", trace_names())
def test_trace_replay(name):
    events = load(name)
    server_lines = [line for is_client, line in events if not is_client]
    errors, hooked = [], []
    protocol = "beta" if name.endswith("__beta.jsonl") else "ga"
    with replay_server(events, errors) as srv:
        client = client_for(srv.base_url, protocol=protocol)
        client.on_receiving_command(hooked.append)
        session = client.start_session()
        updates = []
        it = session.receive_updates(timeout=10)
        while len(updates) < len(server_lines):
            updates.append(next(it))
            # after the server event at `index`, send the client events that follow it in the trace
            index = _index_of_server_event(events, len(updates) - 1)
            j = index + 1
            while j < len(events) and events[j][0]:
                session.send_command(events[j][1])
                j += 1
        session.close()
        assert list(session.receive_updates()) == []  # nothing extra, clean end
    assert not errors
    assert len(updates) == len(server_lines)
    for update, line in zip(updates, server_lines):
        raw = json.loads(line)
        assert update.raw == raw
        assert update.type == raw["type"]
        assert not isinstance(update, UnknownUpdate), raw["type"]
        assert update.kind is UpdateKind.from_type(raw["type"])
        assert update.event_id == raw.get("event_id")
    assert hooked == server_lines  # the receive hook saw the raw text, byte for byte


def _index_of_server_event(events, n):
    """Position in ``events`` of the n-th (0-based) server event."""
    seen = -1
    for i, (is_client, _line) in enumerate(events):
        if not is_client:
            seen += 1
            if seen == n:
                return i
    raise IndexError(n)


def test_all_traces_present():
    assert len(trace_names()) == 9
