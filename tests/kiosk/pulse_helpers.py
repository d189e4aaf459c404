"""Helpers of the tests running scripts/kiosk.py through real PyAudio streams on the private PulseAudio daemon: the
script's environment and process, a ``parec`` recorder, and the checks of what reached the sink."""
import os
import subprocess
import sys
import threading

import numpy as np

from tests.kiosk.helpers import SCRIPT, Proc


def script_env(pulse):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env.update(pulse.env())
    env["REALTIME_SYNC_QUIET_AUDIO"] = "1"
    return env


def kiosk(pulse, *args, **kwargs):
    return Proc([sys.executable, SCRIPT, *args], script_env(pulse), **kwargs)


class Recorder:
    """``parec`` on a source (mono s16le 24 kHz) until stopped."""

    def __init__(self, pulse, source):
        self.p = subprocess.Popen(["parec", "-d", source, "--format=s16le", "--rate=24000", "--channels=1", "--raw",
                                   "--latency-msec=20"], env=script_env(pulse), stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.chunks = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        while True:
            data = self.p.stdout.read1(65536)
            if not data:
                return
            self.chunks.append(data)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
        self.t.join(5)
        return np.frombuffer(b"".join(self.chunks), dtype="<i2").astype(np.float64)


def loud_region(x, threshold=1500.0):
    idx = np.nonzero(np.abs(x) > threshold)[0]
    return (0, 0) if len(idx) == 0 else (int(idx[0]), int(idx[-1]) + 1)


def best_correlation(recorded, expected):
    """Peak normalised cross-correlation of ``expected`` inside ``recorded`` (FFT)."""
    n = len(recorded) + len(expected)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(expected, size)), size)
    lag = int(np.argmax(corr[:len(recorded)]))
    seg = recorded[lag:lag + len(expected)]
    denom = np.sqrt(np.sum(seg ** 2) * np.sum(expected[:len(seg)] ** 2)) or 1.0
    return float(corr[lag] / denom), lag
