"""Fixtures for the audio tests: a private PulseAudio daemon for the real-PortAudio tests.

When the daemon (or PyAudio) is unavailable the real-audio tests are skipped, except under CI (env ``CI`` set),
where they fail with the reason: CI must install ``pulseaudio pulseaudio-utils libasound2-plugins
portaudio19-dev`` and the ``audio`` extra.
"""
import importlib
import os
from typing import Iterator

import pytest

from tests.audio.pulse import PulseDaemon, PulseUnavailable


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"real-audio test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseDaemon]:
    """A private PulseAudio daemon with a null sink ``rs_sink`` and a 440 Hz source ``rs_sine``; ``PULSE_SERVER``
    points at it for the whole session."""
    try:
        importlib.import_module("pyaudio")
    except ImportError as exc:
        _unavailable(f"PyAudio is not importable ({exc}); pip install pyaudio (needs portaudio19-dev)")
    try:
        daemon = PulseDaemon.start()
    except PulseUnavailable as exc:
        _unavailable(str(exc))
    try:
        with daemon.client_env():
            from realtime_sync.audio import list_devices

            names = [d.name for d in list_devices(probe=False, quiet=True)]
            if "pulse" not in names:
                _unavailable(f"PortAudio sees no ALSA 'pulse' device (devices: {names}); "
                             "apt-get install libasound2-plugins")
            yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def pulse_source(pulse: PulseDaemon):
    """Set the daemon's default source (what the ALSA "pulse" capture device records) for one test."""
    def set_source(name: str) -> None:
        pulse.set_default_source(name)

    yield set_source
    pulse.set_default_source("rs_sink.monitor")
