"""Fixtures for the kiosk tests: the private PulseAudio daemon of ``tests/audio`` (reused, not duplicated)."""
from tests.audio.conftest import pulse, pulse_source  # noqa: F401 - re-exported fixtures
