"""scripts/kiosk.py with file "devices" (no PyAudio needed): push-to-talk on stdin, SIGINT, --duration."""
import signal
import subprocess
import time
import wave

import numpy as np
import pytest

from tests.kiosk.helpers import REPLY, SCRIPT, Proc
from tests.support.waiting import wait_until
from tests.support.wav import write_wav

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import synthesize  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}


def run(*args, stdin=None):
    import sys

    return Proc([sys.executable, SCRIPT, *args], env(), stdin=stdin)


def test_push_to_talk_with_enter(tmp_path):
    mic, out = tmp_path / "question.wav", tmp_path / "answer.wav"
    write_wav(mic, bytes(24000) + synthesize("What time is it") + bytes(96000))
    proc = run("--push-to-talk", "--input-file", str(mic), "--output-file", str(out), stdin=subprocess.PIPE)
    try:
        assert wait_until(lambda: proc.saw("press Enter to talk"), 30), proc.lines
        proc.p.stdin.write(b"\n")
        proc.p.stdin.flush()
        assert wait_until(lambda: proc.saw("talking..."), 10), proc.lines
        time.sleep(2.5)  # "hold the button" while the question plays into the mic
        proc.p.stdin.write(b"\n")
        proc.p.stdin.flush()
        assert wait_until(lambda: proc.saw("sent"), 10), proc.lines
        assert wait_until(lambda: proc.saw("state: assistant speaking"), 15), proc.lines
        assert wait_until(lambda: proc.lines[-1:] == ["state: listening"], 15), proc.lines
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, proc.lines
    finally:
        proc.kill()
    states = [line.split(": ", 1)[1] for line in proc.lines if line.startswith("state: ")]
    assert states[:2] == ["listening", "user speaking"] and "assistant speaking" in states, states
    assert proc.lines[-1] == "bye"
    with wave.open(str(out)) as w:
        answer = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    expected = np.frombuffer(synthesize(REPLY), dtype="<i2").astype(np.float64)
    assert len(answer) == len(expected)  # the whole answer (the simulator synthesises it clause by clause)
    corr = float(np.dot(answer, expected) / np.sqrt(np.dot(answer, answer) * np.dot(expected, expected)))
    assert corr > 0.9, corr


def test_duration_and_sigint_exit_cleanly(tmp_path):
    mic = tmp_path / "silence.wav"
    write_wav(mic, bytes(4800))
    proc = run("--input-file", str(mic), "--output-file", str(tmp_path / "o.wav"), "--duration", "2")
    t0 = time.monotonic()
    assert proc.wait(30) == 0, proc.lines
    assert time.monotonic() - t0 >= 2 and proc.lines[-1] == "bye" and proc.saw("using the local simulator")
    proc = run("--input-file", str(mic), "--output-file", str(tmp_path / "o.wav"))
    try:
        assert wait_until(lambda: proc.saw("speak any time"), 30), proc.lines
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, proc.lines
        assert proc.lines[-1] == "bye"
    finally:
        proc.kill()
