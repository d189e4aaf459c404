import pytest

from tests.support.waiting import wait_until

from .helpers import session_threads
from .server import MiniServer


@pytest.fixture
def server():
    with MiniServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_thread_leaks():
    yield
    assert wait_until(lambda: not session_threads(), 5.0), f"threads left running: {session_threads()}"
