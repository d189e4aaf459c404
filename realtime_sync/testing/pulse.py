"""A private PulseAudio daemon for tests that need real PortAudio devices on a machine without a sound card.

Used by this project's tests and benchmarks, and usable by yours (import it explicitly; ``realtime_sync.testing``
does not load it)::

    from realtime_sync.testing.pulse import PulseDaemon, PulseUnavailable
    with PulseDaemon.start() as pulse:      # raises PulseUnavailable with the reason when it cannot start
        with pulse.client_env():            # PULSE_SERVER etc. for PortAudio's ALSA "pulse"/"default" devices
            ...

The daemon runs as the current user (root works: no ``--system`` needed) with its runtime, state and home in a
temporary directory, no config file (``-n -F /dev/null``), anonymous auth on a private unix socket and:

- ``rs_sink``: a null sink at 48 kHz (what is played there can be recorded from ``rs_sink.monitor``), with
  ``norewinds=1``: with rewinds, a stream connecting to a sink that rendered ahead at its idle 2 s latency makes
  the monitor miss up to ~0.5 s of the new stream's start;
- ``rs_sine``: a 440 Hz sine source at 48 kHz (a known "microphone" signal).

PortAudio reaches it through the ALSA pulse plugin (Debian ``libasound2-plugins``): the ALSA device named
"pulse" (always defined by the plugin's config) or "default" (when the plugin sees the daemon at ALSA
initialisation). Needed packages: ``pulseaudio pulseaudio-utils libasound2-plugins libportaudio2``.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Dict, Iterator, List, Optional

from ..protocol.audio_formats import PCM16_RATE

__all__ = ["PulseDaemon", "PulseUnavailable", "SINK", "SINE_SOURCE", "SINE_HZ"]

SINK = "rs_sink"
SINE_SOURCE = "rs_sine"
SINE_HZ = 440
RATE = 48000


class PulseUnavailable(RuntimeError):
    """The private PulseAudio daemon could not be started; the message says why."""


class PulseDaemon:
    """A running private PulseAudio daemon (see :meth:`start`)."""

    def __init__(self, proc: "subprocess.Popen[bytes]", root: str, socket_path: str, log_path: str) -> None:
        self.proc = proc
        self.root = root
        self.socket_path = socket_path
        self.log_path = log_path
        self.server = f"unix:{socket_path}"
        self.client_conf = os.path.join(root, "client.conf")
        with open(self.client_conf, "w") as fh:
            fh.write(f"autospawn = no\ndefault-server = {self.server}\n")

    # ------------------------------------------------------------------------------------------------------ start
    @classmethod
    def start(cls, timeout: float = 15.0, extra_modules: Optional[List[str]] = None) -> "PulseDaemon":
        exe = shutil.which("pulseaudio")
        if exe is None:
            raise PulseUnavailable("`pulseaudio` is not installed (apt-get install pulseaudio pulseaudio-utils)")
        if shutil.which("pactl") is None:
            raise PulseUnavailable("`pactl` is not installed (apt-get install pulseaudio-utils)")
        root = tempfile.mkdtemp(prefix="rs-pulse-")
        for sub in ("runtime", "state", "home"):
            os.makedirs(os.path.join(root, sub), mode=0o700, exist_ok=True)
        socket_path = os.path.join(root, "native")
        log_path = os.path.join(root, "pulse.log")
        modules = [
            f"module-native-protocol-unix socket={socket_path} auth-anonymous=1",
            f"module-null-sink sink_name={SINK} rate={RATE} channels=2 norewinds=1",
            f"module-sine-source source_name={SINE_SOURCE} rate={RATE} frequency={SINE_HZ}",
        ] + list(extra_modules or [])
        args = [exe, "--daemonize=no", "--system=false", "--exit-idle-time=-1", "--disallow-exit=yes",
                "--use-pid-file=no", "--log-target=stderr", "--log-level=notice", "-n", "-F", "/dev/null",
                "--realtime=no", "--high-priority=no"]
        args += [f"--load={m}" for m in modules]
        env = dict(os.environ)
        env.update({"HOME": os.path.join(root, "home"), "XDG_RUNTIME_DIR": os.path.join(root, "runtime"),
                    "PULSE_RUNTIME_PATH": os.path.join(root, "runtime"),
                    "PULSE_STATE_PATH": os.path.join(root, "state"), "XDG_CONFIG_HOME": os.path.join(root, "home"),
                    "DBUS_SESSION_BUS_ADDRESS": "disabled:"})
        env.pop("PULSE_SERVER", None)
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        finally:
            log.close()
        daemon = cls(proc, root, socket_path, log_path)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                tail = daemon.log_tail()
                daemon._cleanup()
                raise PulseUnavailable(f"pulseaudio exited with {proc.returncode}: {tail}")
            if os.path.exists(socket_path) and daemon._pactl_ok("info"):
                break
            if time.monotonic() > deadline:
                tail = daemon.log_tail()
                daemon.stop()
                raise PulseUnavailable(f"pulseaudio did not answer within {timeout} s: {tail}")
            time.sleep(0.1)
        daemon.pactl("set-default-sink", SINK)
        daemon.pactl("set-default-source", f"{SINK}.monitor")
        return daemon

    # ------------------------------------------------------------------------------------------------------ client
    def env(self) -> Dict[str, str]:
        """Environment variables a client process (or this one) needs to use this daemon."""
        return {"PULSE_SERVER": self.server, "PULSE_CLIENTCONFIG": self.client_conf}

    @contextlib.contextmanager
    def client_env(self) -> Iterator[Dict[str, str]]:
        """Set :meth:`env` in ``os.environ`` for the duration (restoring the previous values)."""
        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            yield self.env()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _client_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(self.env())
        return env

    def _pactl_ok(self, *args: str) -> bool:
        try:
            res = subprocess.run(["pactl", *args], env=self._client_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return res.returncode == 0

    def pactl(self, *args: str) -> str:
        """Run ``pactl`` against this daemon; returns stdout, raises ``RuntimeError`` on failure."""
        res = subprocess.run(["pactl", *args], env=self._client_env(), capture_output=True, timeout=10)
        if res.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {res.stderr.decode(errors='replace').strip()}")
        return res.stdout.decode(errors="replace")

    def set_default_source(self, name: str) -> None:
        self.pactl("set-default-source", name)

    def record(self, seconds: float, source: str, rate: int = PCM16_RATE) -> bytes:
        """Record ``seconds`` of mono s16le from ``source`` with ``parec`` (independent of PortAudio)."""
        nbytes = int(seconds * rate) * 2
        proc = subprocess.Popen(["parec", "-d", source, "--format=s16le", f"--rate={rate}", "--channels=1",
                                 "--raw", "--latency-msec=20"], env=self._client_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        data = b""
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + seconds * 4 + 5
            while len(data) < nbytes and time.monotonic() < deadline:
                chunk = proc.stdout.read1(nbytes - len(data))  # type: ignore[attr-defined]
                if not chunk:
                    break
                data += chunk
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return data

    # -------------------------------------------------------------------------------------------------------- stop
    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return " | ".join(fh.read().decode(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the daemon (SIGTERM, then SIGKILL) and remove its directory."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    self.proc.kill()
                self.proc.wait(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PulseDaemon":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
