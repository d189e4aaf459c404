"""``@openai/agents-realtime`` (the official TypeScript Agents SDK) under node against the simulator (issue 11).

``scripts/setup.sh`` installs node (apt, under CI) and the SDK (``npm install`` in ``tests/node``). Without node or
the installed SDK these tests are skipped, except under CI (env ``CI`` set), where they fail with the reason.
"""
import json
import os
import shutil
import subprocess

import pytest

from realtime_sync.testing import FunctionCall, scripted, scripted_transcripts

NODE_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "node")
SCRIPT = os.path.join(NODE_DIR, "agents_realtime.mjs")


def _node() -> str:
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed (apt-get install nodejs npm)"
    elif not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@openai", "agents-realtime")):
        reason = "@openai/agents-realtime is not installed (cd tests/node && npm install)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"node client test cannot run under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return node  # type: ignore[return-value]


def _run(server, scenario):
    out = subprocess.run([_node(), SCRIPT, server.url("gpt-realtime"), server.api_key, scenario],
                         capture_output=True, text=True, timeout=90, cwd=NODE_DIR)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from node (exit {out.returncode}): {out.stderr[-2000:]}"
    result = json.loads(lines[-1])
    assert result["errors"] == [] and out.returncode == 0, result["errors"]
    return result


def test_agents_realtime_text_turn(make_fake_server):
    server = make_fake_server(responder=scripted("Hello there!", then=None))
    result = _run(server, "text")
    assert result["agentEnds"] == 1
    assert [(h["type"], h.get("role")) for h in result["history"]] == [("message", "user"), ("message", "assistant")]


def test_agents_realtime_tool_round(make_fake_server):
    server = make_fake_server(responder=scripted(FunctionCall("get_weather", {"city": "Paris"}),
                                                 "It is sunny in Paris."))
    result = _run(server, "tool")
    assert result["calls"] == ["Paris"] and "agent_tool_end" in result["events"]
    assert [h["type"] for h in result["history"]] == ["message", "function_call", "message"]
    outputs = [e for e in server.received if e["type"] == "conversation.item.create"
               and e["item"]["type"] == "function_call_output"]
    assert outputs and "Sunny in Paris." in outputs[0]["item"]["output"]


def test_agents_realtime_audio_turn_with_server_vad(make_fake_server):
    """The turn that used to end in an uncaught schema error: user audio content without ``transcript: null``."""
    server = make_fake_server(responder=scripted("Heard you.", then=None),
                              transcriber=scripted_transcripts("Hello."))
    result = _run(server, "audio")
    assert result["agentEnds"] == 1 and result["audioBytes"] > 0
    assert [(h["type"], h.get("role")) for h in result["history"]] == [("message", "user"), ("message", "assistant")]
    assert "input_audio_buffer.append" in [e["type"] for e in server.received]
    assert "input_audio_buffer.commit" not in [e["type"] for e in server.received]  # server VAD committed
