"""Fixtures shared by the whole test suite (keep this file small; put area-specific fixtures in the area's folder).

* ``_simulator_events_are_schema_valid`` (autouse): every event any :class:`realtime_sync.testing.FakeRealtimeServer`
  emits while a test runs is validated against the strict JSON schema of its dialect, message by message; an
  invalid event fails the test (at teardown) with the list of offending events. GA events are also validated with
  openai-python's ``RealtimeServerEvent`` pydantic models when openai is installed; events of translation sessions
  with the translation schema and openai-python's ``RealtimeTranslationServerEvent``.
* ``fake_server``: a started simulator in fast mode (``pace=0``) with the default responder.
* ``make_fake_server``: a factory ``make_fake_server(**options)`` for simulators with other options (``pace=0`` and
  ``allow_beta=True`` unless given); each one is stopped after the test.
* ``pulse`` (session scope) and ``pulse_source``: one private PulseAudio daemon (null sink ``rs_sink``, 440 Hz
  source ``rs_sine``) for every real-PortAudio test (``tests/audio``, ``tests/kiosk``). When the daemon or PyAudio
  is unavailable those tests are skipped, except under CI (env ``CI`` set), where they fail with the reason.
"""
import importlib
import os
from typing import Any, Callable, Iterator

import pytest

from realtime_sync.testing.pulse import PulseDaemon, PulseUnavailable

try:  # the simulator needs the ``testing`` extra (websockets, jsonschema, numpy)
    from realtime_sync.testing import FakeRealtimeServer, validation_scope
    from realtime_sync.testing.openai_models import openai_model_checker, openai_translation_checker
    from realtime_sync.testing.pytest_plugin import simulators
    _OPENAI_CHECK = openai_model_checker()  # openai-python's pydantic models, when installed (the ``dev`` extra)
    _OPENAI_TRANSLATION_CHECK = openai_translation_checker()
except ImportError:  # pragma: no cover - core-only environments
    FakeRealtimeServer = None  # type: ignore[assignment,misc]
    validation_scope = None  # type: ignore[assignment]
    _OPENAI_CHECK = None
    _OPENAI_TRANSLATION_CHECK = None
    simulators = None  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _simulator_events_are_schema_valid() -> Iterator[Any]:
    if validation_scope is None:
        yield None
        return
    with validation_scope(extra_checks=[_OPENAI_CHECK] if _OPENAI_CHECK else [],
                          translation_checks=[_OPENAI_TRANSLATION_CHECK] if _OPENAI_TRANSLATION_CHECK else []) as scope:
        yield scope
    scope.assert_clean()


@pytest.fixture
def make_fake_server() -> Iterator[Callable[..., Any]]:
    if FakeRealtimeServer is None:
        pytest.skip("realtime_sync[testing] is not installed")
    # the suite covers both dialects: beta on the OpenAI path is an explicit option (off in the simulator)
    with simulators(allow_beta=True) as make:
        yield make


@pytest.fixture
def fake_server(make_fake_server: Callable[..., Any]) -> Any:
    return make_fake_server()


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
