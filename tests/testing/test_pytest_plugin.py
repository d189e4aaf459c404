"""The pytest plugin: an entry point, and a ``realtime_server`` fixture with faults reset between tests."""
import configparser
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

USER_TESTS = '''
from realtime_sync import RealtimeClient


def test_one(realtime_server):
    realtime_server.faults.stall(after=10**6)
    client = RealtimeClient(realtime_server.api_key, endpoint=realtime_server.base_url)
    with client.start_session() as session:
        assert session.ask(text="hi", timeout=20).output_text


def test_two_sees_no_fault_of_test_one(realtime_server):
    assert realtime_server.faults.rules_for_new_connection() == []
    assert realtime_server.config_pace == 0


def test_factory(realtime_server_factory):
    server = realtime_server_factory(api_key="sk-own")
    assert server.api_key == "sk-own"
'''


def test_setup_cfg_declares_the_pytest11_entry_point():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert "realtime_sync = realtime_sync.testing.pytest_plugin" in cfg["options.entry_points"]["pytest11"]


def test_plugin_fixtures_in_a_users_test_file(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TESTS.replace("realtime_server.config_pace",
                                                              "realtime_server._config.pace"))
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    from importlib.metadata import entry_points

    eps = entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])  # (3.9: a dict)
    installed = any(ep.name == "realtime_sync" for ep in group)
    load = [] if installed else ["-p", "realtime_sync.testing.pytest_plugin"]  # (an installed package loads it)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load,
                          str(tmp_path / "test_user.py")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout
