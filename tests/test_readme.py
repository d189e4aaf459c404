"""README.rst tells the truth: its quick start runs, and CI runs exactly the test command it gives."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme() -> str:
    with open(os.path.join(ROOT, "README.rst")) as fh:
        return fh.read()


def _quick_start() -> str:
    return _first_code_block("Quick start\n-----------\n")


def _first_code_block(heading: str) -> str:
    section = _readme().split(heading, 1)[1]
    block = section.split(".. code-block:: python\n\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    return "\n".join(lines)


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^    (scripts/setup\.sh && .+)$", _readme(), re.M)
    assert len(commands) == 2 and "python3 scripts/realtime_console.py" in commands[0]
    with open(os.path.join(ROOT, ".ci", "run")) as fh:
        ci = fh.read()
    assert commands[1] in ci.splitlines()


def test_quick_start_runs_against_the_simulator(make_fake_server, tmp_path):
    script = tmp_path / "quick_start.py"
    script.write_text(_quick_start())
    server = make_fake_server()
    env = dict(os.environ, OPENAI_API_KEY=server.api_key, OPENAI_BASE_URL=server.base_url)
    env.pop("AZURE_OPENAI_ENDPOINT", None)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "temperature" in out[0]  # the simulator answers with the tool's output
    assert out[1].startswith("['get_weather']") and out[1].endswith("tokens")
    assert any(e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
               for e in server.received)


def test_translation_example_runs(tmp_path):
    """The live-translation example, against the scripted translation server of the client tests (it "translates"
    each frame of speech into itself) reached as the service is: a key and ``OPENAI_BASE_URL``."""
    from tests.client.translation_server import KEY, Translator

    script = tmp_path / "translation.py"
    script.write_text(_first_code_block("Live translation\n----------------\n"))
    translator = Translator()
    with translator.serve() as server:
        env = dict(os.environ, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url,
                   PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        env.pop("AZURE_OPENAI_ENDPOINT", None)
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90,
                              cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    first, streamed = done.stdout.splitlines()[:2]
    source, _, translation = first.partition(" -> ")
    assert source.startswith("s") and translation.startswith("f") and translation.endswith("end.")
    assert streamed.startswith("f") and streamed.endswith("end.")
    assert (tmp_path / "question.es.wav").stat().st_size > 44
    assert [r["path"] for r in server.requests] == ["/v1/realtime/translations?model=gpt-realtime-translate"] * 2


def test_simulator_translation_example_runs(tmp_path):
    """The simulator's translation example: synthetic speech carries its words, the default translator marks them."""
    script = tmp_path / "sim_translation.py"
    script.write_text(_first_code_block("Translation sessions\n~~~~~~~~~~~~~~~~~~~~\n"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Good morning everyone. -> [es] Good morning everyone."
