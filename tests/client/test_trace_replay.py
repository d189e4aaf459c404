"""The recorded ``gpt-realtime-2.1`` tool round (ADDENDUM-2026-12 A2.3), replayed by a raw server against ``ask()``:
a commentary message streams interleaved with the function call, the tool runs, and the answer after the tool round
is the final answer. The server sends the trace's server events verbatim and waits, at each client event of the
trace, for the client to send one of that type."""
import json
import threading

from realtime_sync import SessionOptions
from tests.client.rawserver import RawServer
from tests.support.sessions import client_for
from tests.support.traces import CLIENT_TYPES, load_trace

TRACE = "pydantic-ai__gpt-realtime-2.1-tool-round-multi-item__ga.jsonl"


def _replay(received):
    trace = load_trace(TRACE)
    updated = next(e for e in trace if e["type"] == "session.updated")

    def script(conn):
        conn.sock.settimeout(10)  # a client that never sends what the trace expects fails the test, not hangs it
        for event in trace:
            if event["type"] not in CLIENT_TYPES:
                conn.send_json(event)
                continue
            while True:  # the next client event of that type (an extra session.update is answered)
                op, payload = conn.recv_frame()
                if op == 1:
                    sent = json.loads(payload)
                    received.append(sent)
                    if sent["type"] == event["type"]:
                        break
                    if sent["type"] == "session.update":  # one more than the trace's (a tool registered)
                        conn.send_json({**updated, "event_id": f"event_extra{len(received)}"})
        done.set()
        while conn.recv_frame()[0] != 8:
            pass
        conn.send_frame(8, b"\x03\xe8")
    done = threading.Event()
    return script, done


def test_the_recorded_2_1_tool_round_replays_through_ask_with_the_commentary_apart():
    received = []
    script, done = _replay(received)
    with RawServer(script) as srv:
        options = SessionOptions(instructions="Call get_weather for weather.", output_modalities=["text"])
        with client_for(srv.base_url, model="gpt-realtime-2.1").start_session(options) as session:
            @session.register_tool
            def get_weather(city: str) -> str:
                """Look up the weather for a city."""
                return f"It is foggy and 12 degrees in {city}."

            result = session.ask("What is the weather in London?", timeout=20)
            assert result.commentary == "I\u2019ll check the current weather in London for you."
            assert result.output_text == "It\u2019s foggy and 12 degrees in London."
            assert [(i.type, i.phase) for i in result.items] == [
                ("message", "commentary"), ("function_call", None), ("message", "final_answer")]
            mirror = [(i.type, i.phase) for i in session.conversation.items()]
            assert mirror == [("message", None), ("message", "commentary"), ("function_call", None),
                              ("function_call_output", None), ("message", "final_answer")]
            assert done.wait(10)
        assert srv.error is None
    outputs = [e["item"] for e in received if e["type"] == "conversation.item.create"
               and e["item"]["type"] == "function_call_output"]
    assert outputs == [{"type": "function_call_output", "call_id": "call_qBWDkMS4urWSGbSx",
                        "output": "It is foggy and 12 degrees in London."}]
    assert sum(e["type"] == "response.create" for e in received) == 2
