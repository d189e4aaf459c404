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

    def samples(self):
        """What was recorded so far."""
        data = b"".join(list(self.chunks))
        return np.frombuffer(data[:len(data) // 2 * 2], dtype="<i2").astype(np.float64)

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


def pieces_found(recorded, expected, piece=4800, threshold=0.9):
    """The share of ``expected``'s loud ``piece``-sample pieces (200 ms at 24 kHz) found undistorted somewhere in
    ``recorded`` (peak normalised cross-correlation above ``threshold``). A real-time path may shift pieces against
    each other (a capture or playback period late under load) without changing a sample of them; a whole-signal
    correlation would call that distortion, this does not."""
    start, end = loud_region(expected)
    pieces = [expected[i:i + piece] for i in range(start, end - piece + 1, piece)]
    loud = [p for p in pieces if np.sqrt(np.mean(p ** 2)) > 500.0]
    if not loud:
        return 0.0
    return sum(_normalised_peak(recorded, p) > threshold for p in loud) / len(loud)


def _normalised_peak(recorded, piece):
    """The highest normalised correlation of ``piece`` with any same-length window of ``recorded``."""
    if len(recorded) < len(piece):
        return 0.0
    size = 1 << (len(recorded) + len(piece) - 1).bit_length()
    raw = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(piece, size)), size)
    raw = raw[:len(recorded) - len(piece) + 1]
    energy = np.concatenate([[0.0], np.cumsum(recorded ** 2)])
    windows = energy[len(piece):] - energy[:-len(piece)]
    piece_energy = float(np.sum(piece ** 2))
    denom = np.sqrt(np.maximum(windows, 1e-4 * piece_energy) * piece_energy)  # a near-silent window matches nothing
    return float(np.max(raw / denom))


class VoiceRig:
    """A "user" for an app's real microphone: a null sink ``rs_voice`` whose monitor is made the default source.
    ``speak(pcm)`` plays mono s16le 24 kHz into it (``pacat``), ``record()`` starts a :class:`Recorder` on the app's
    speaker (``rs_sink``), ``run(proc)`` registers the app's process. Leaving the ``with`` kills what still runs
    and removes the sink."""

    def __init__(self, pulse, pulse_source):
        self.pulse, self._set_source = pulse, pulse_source
        self.module = None
        self.feeder = self.recorder = self.proc = None

    def __enter__(self):
        self.module = self.pulse.pactl("load-module", "module-null-sink", "sink_name=rs_voice", "rate=24000",
                                       "channels=1").strip()
        self._set_source("rs_voice.monitor")
        return self

    def record(self, source="rs_sink.monitor"):
        self.recorder = Recorder(self.pulse, source)
        return self.recorder

    def run(self, proc):
        self.proc = proc
        return proc

    def speak(self, pcm):
        self.feeder = subprocess.Popen(["pacat", "--playback", "-d", "rs_voice", "--format=s16le", "--rate=24000",
                                        "--channels=1", "--raw"], env=script_env(self.pulse), stdin=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        self.feeder.stdin.write(pcm)
        self.feeder.stdin.close()

    def __exit__(self, *exc):
        if self.feeder is not None and self.feeder.poll() is None:
            self.feeder.kill()
        if self.recorder is not None and self.recorder.p.poll() is None:
            self.recorder.stop()
        if self.proc is not None:
            self.proc.kill()
        self.pulse.pactl("unload-module", self.module)
