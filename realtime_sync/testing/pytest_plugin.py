"""pytest plugin (entry point ``pytest11``: loaded by pytest once realtime_sync[testing] is installed).

Fixtures:

* ``realtime_server``: a running :class:`~realtime_sync.testing.FakeRealtimeServer` in fast mode (``pace=0``),
  shared by the test session; its faults are cleared before and after every test. Point a client at
  ``realtime_server.base_url`` / ``realtime_server.url(model)`` with ``realtime_server.api_key`` (translation
  sessions: ``realtime_server.translation_url()``).
* ``realtime_server_factory``: ``realtime_server_factory(**options)`` starts a simulator with other options
  (``pace=0`` unless given); each one is stopped after the test.

Outside this package's own test suite, load it explicitly with ``pytest -p realtime_sync.testing.pytest_plugin``
when the entry point is not installed.
"""
import contextlib
from typing import Any, Callable, Iterator, List

import pytest

from .server import FakeRealtimeServer

__all__ = ["realtime_server", "realtime_server_factory", "simulators"]


@contextlib.contextmanager
def simulators(**defaults: Any) -> Iterator[Callable[..., FakeRealtimeServer]]:
    """``make(**options)`` starts a simulator (``pace=0`` and ``defaults`` unless given); all stop on exit."""
    servers: List[FakeRealtimeServer] = []

    def make(**options: Any) -> FakeRealtimeServer:
        server = FakeRealtimeServer(**{"pace": 0, **defaults, **options}).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def _realtime_server_shared() -> Iterator[FakeRealtimeServer]:
    server = FakeRealtimeServer(pace=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def realtime_server(_realtime_server_shared: FakeRealtimeServer) -> Iterator[FakeRealtimeServer]:
    server = _realtime_server_shared
    server.faults.clear()
    try:
        yield server
    finally:
        server.faults.clear()


@pytest.fixture
def realtime_server_factory() -> Iterator[Callable[..., FakeRealtimeServer]]:
    with simulators() as make:
        yield make
