"""``python -m realtime_sync.testing`` runs the simulator standalone."""
import signal
import subprocess
import sys
import time

from tests.testing.sim_client import SimClient


def test_cli_starts_serves_and_stops_on_sigint():
    proc = subprocess.Popen([sys.executable, "-m", "realtime_sync.testing", "--port", "0", "--pace", "0",
                             "--api-key", "sk-cli-test", "--log-level", "WARNING", "--exit-after", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            if line == "ready" or not line:
                break
            key, _, value = line.partition(": ")
            info[key] = value
        assert info["api_key"] == "sk-cli-test" and info["base_url"].startswith("http://127.0.0.1:")
        with SimClient(info["websocket"], {"Authorization": "Bearer sk-cli-test"}) as client:
            assert client.expect("session.created")["session"]["model"] == "gpt-realtime"
            client.send({"type": "response.create"})
            assert client.recv_until("response.done")[-1]["response"]["status"] == "completed"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
