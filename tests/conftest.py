"""Fixtures shared by the whole test suite (keep this file small; put area-specific fixtures in the area's folder).

* ``_simulator_events_are_schema_valid`` (autouse): every event any :class:`realtime_sync.testing.FakeRealtimeServer`
  emits while a test runs is validated against the strict JSON schema of its dialect, message by message; an
  invalid event fails the test (at teardown) with the list of offending events.
* ``fake_server``: a started simulator in fast mode (``pace=0``) with the default responder.
* ``make_fake_server``: a factory ``make_fake_server(**options)`` for simulators with other options; each one is
  stopped after the test.
"""
from typing import Any, Callable, Iterator, List

import pytest

try:  # the simulator needs the ``testing`` extra (websockets, jsonschema, numpy)
    from realtime_sync.testing import FakeRealtimeServer, validation_scope
except ImportError:  # pragma: no cover - core-only environments
    FakeRealtimeServer = None  # type: ignore[assignment,misc]
    validation_scope = None  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _simulator_events_are_schema_valid() -> Iterator[Any]:
    if validation_scope is None:
        yield None
        return
    with validation_scope() as scope:
        yield scope
    scope.assert_clean()


@pytest.fixture
def make_fake_server() -> Iterator[Callable[..., Any]]:
    if FakeRealtimeServer is None:
        pytest.skip("realtime_sync[testing] is not installed")
    servers: List[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("pace", 0)
        server = FakeRealtimeServer(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fake_server(make_fake_server: Callable[..., Any]) -> Any:
    return make_fake_server()
