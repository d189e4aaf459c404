"""scripts/realtime_console.py end to end against the embedded simulator (a subprocess, fast mode)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "realtime_console.py")


def run_console(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env["PYTHONPATH"] = ROOT
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=60)


def test_console_two_turns_with_simulator(tmp_path):
    out = tmp_path / "answer.raw"
    proc = run_console(tmp_path, "--fast", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "No OPENAI_API_KEY or AZURE_OPENAI_* variables are set: using the local simulator."
    assert lines[1].startswith("Connecting using the local simulator URI: http://127.0.0.1:")
    assert re.fullmatch(r"<<< Session started\. ID: sess_\w+", lines[2]) and lines[3] == ""
    assert re.fullmatch(r"  -- Voice activity detection started at \d+ ms", lines[4])
    assert re.fullmatch(r"  -- Voice activity detection ended at \d+ ms", lines[5])
    body = "\n".join(lines[6:])
    expected = [  # gpt-realtime-2.1 (the default): a commentary message streams while the tool call opens
        "  -- Begin streaming of new item",
        "Ahoy! Let's see what the weather be like in San Francisco.",
        "  -- Begin streaming of new item",
        '{"location":"San Francisco, CA","unit":"f"}',
        "  -- Item finished, response_id=resp_",
        "    + [assistant]: Ahoy!",
        "  -- Item finished, response_id=resp_",
        "    + Tool invoked by item: get_weather_for_location",
        "  -- Model turn generation finished. Status: completed",
        "  -- Ending client turn for pending tool responses",
        "  -- Begin streaming of new item",
        "Arrr! The weather in San Francisco be a balmy 70 degrees Fahrenheit and sunny!",
        "  -- Item finished, response_id=resp_",
        "    + [assistant]: Arrr!",
        "  -- Model turn generation finished. Status: completed",
        f"Raw output audio written to {out}: ",
    ]
    pos = 0
    for piece in expected:  # in this order
        found = body.find(piece, pos)
        assert found >= 0, f"missing after position {pos}: {piece!r}\n{proc.stdout}"
        pos = found + len(piece)
    size = int(re.search(r"written to .*: (\d+) bytes", proc.stdout).group(1))
    assert size > 0 and out.stat().st_size == size
    assert "ERROR" not in proc.stdout and proc.stderr == ""


def test_console_bad_key_is_one_clear_line(tmp_path, make_fake_server):
    """Issue 11: a bad key ends in one ``error:`` line and exit 1, not a traceback."""
    server = make_fake_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env.update(PYTHONPATH=ROOT, OPENAI_API_KEY="sk-wrong-key-1234567890", OPENAI_BASE_URL=server.base_url)
    proc = subprocess.run([sys.executable, SCRIPT, "--output", str(tmp_path / "a.raw")], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "sk-wrong-key-1234567890" not in lines[0]
