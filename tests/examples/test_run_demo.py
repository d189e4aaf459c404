"""scripts/examples/run_demo.py, the README's one command per framework: the simulator, the app as a subprocess,
20 concurrent questions per ask endpoint and a SIP call, then a clean stop."""
import os
import subprocess
import sys

import pytest

from tests.examples.conftest import EXAMPLES, ROOT
from tests.examples.helpers import BILL


@pytest.mark.parametrize("framework", ["flask", "django"])
def test_run_demo(framework):
    if framework == "django":
        pytest.importorskip("django")
        pytest.importorskip("gunicorn")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env["PYTHONPATH"] = ROOT
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "run_demo.py"), framework, "--port", "0",
                           "--pace", "0", "--load", "20", "--call", "--exit"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("simulator: http://127.0.0.1:") and lines[1].startswith("app: http://127.0.0.1:")
    assert any(line.startswith("/ask: 20/20 correct, p50 ") for line in lines)
    assert any(line.startswith("/ask/shared: 20/20 correct, p50 ") for line in lines)
    assert f"    assistant: {BILL}" in lines
    assert any(line.endswith(": ended (by app); the caller heard:") for line in lines)
    assert lines[-1] == "app stopped (exit code 0)"
