"""``python -m realtime_sync.testing`` runs the simulator standalone."""
import contextlib
import os
import signal
import subprocess
import sys
import time

from tests.testing.sim_client import SimClient

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@contextlib.contextmanager
def cli(*extra):
    """The standalone simulator in a child process: yields (process, what it printed before "ready"); it must
    stop cleanly on SIGINT."""
    proc = subprocess.Popen([sys.executable, "-m", "realtime_sync.testing", "--port", "0", "--pace", "0",
                             "--api-key", "sk-cli-test", "--log-level", "WARNING", "--exit-after", "60", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        info = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            if line == "ready" or not line:
                break
            key, _, value = line.partition(": ")
            info[key] = value
        yield proc, info
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_starts_serves_and_stops_on_sigint():
    with cli() as (_proc, info):
        assert info["api_key"] == "sk-cli-test" and info["base_url"].startswith("http://127.0.0.1:")
        with SimClient(info["websocket"], {"Authorization": "Bearer sk-cli-test"}) as client:
            assert client.expect("session.created")["session"]["model"] == "gpt-realtime"
            client.send({"type": "response.create"})
            assert client.recv_until("response.done")[-1]["response"]["status"] == "completed"


def test_cli_takes_a_responder_module_attr():
    with cli("--responder", "tests.testing.sim_client:cli_responder") as (_proc, info):
        with SimClient(info["websocket"], {"Authorization": "Bearer sk-cli-test"}) as client:
            client.expect("session.created")
            client.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
            client.send({"type": "response.create"})
            done = client.recv_until("response.done")[-1]["response"]
            assert done["output"][0]["content"][0]["text"] == "From the CLI responder."


def test_cli_bad_responder_is_one_clear_line_and_exit_2():
    out = subprocess.run([sys.executable, "-m", "realtime_sync.testing", "--port", "0", "--responder", "nosuch"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "MODULE:ATTR" in out.stderr
    out = subprocess.run([sys.executable, "-m", "realtime_sync.testing", "--port", "0",
                          "--responder", "tests.testing.sim_client:no_such_name"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "no_such_name" in out.stderr and "Traceback" not in out.stderr
