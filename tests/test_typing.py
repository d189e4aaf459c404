"""The package is typed for its users: a downstream file using the README's imports passes ``mypy --strict``.

``py.typed`` ships, so a type checker trusts the package's annotations; this only helps if the names the README
imports are explicitly exported (literal ``__all__``) and every public signature is annotated.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOWNSTREAM = ROOT / "tests" / "data" / "downstream_typed.py"


def _mypy(tmp_path: Path, source: str, *flags: str) -> subprocess.CompletedProcess:
    """mypy on ``source`` in a clean directory (none of our config), the package found through MYPYPATH; only the
    downstream file's own errors count (``--follow-imports=silent``)."""
    pytest.importorskip("mypy")
    target = tmp_path / "app.py"
    target.write_text(source)
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    env = dict(os.environ, MYPYPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mypy", *flags, "--follow-imports=silent", "--no-incremental",
                           "--config-file", str(config), str(target)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_py_typed_ships():
    assert (ROOT / "realtime_sync" / "py.typed").exists()


def test_a_downstream_file_using_the_readme_imports_type_checks(tmp_path):
    done = _mypy(tmp_path, DOWNSTREAM.read_text(), "--strict")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_quick_start_type_checks(tmp_path):
    from tests.test_readme import _quick_start

    done = _mypy(tmp_path, _quick_start(), "--no-implicit-reexport", "--check-untyped-defs")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_use_is_caught(tmp_path):
    """The check can fail: a wrong argument type and a name the package does not export are reported."""
    done = _mypy(tmp_path, "from realtime_sync import RealtimeClient, NotAName\n"
                           "RealtimeClient(request_timeout='soon')\n", "--strict")
    assert done.returncode != 0
    assert "NotAName" in done.stdout and "request_timeout" in done.stdout
