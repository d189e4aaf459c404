"""Fixtures for the example web apps (scripts/examples): their folders on ``sys.path``, a simulator speaking as the
examples' phone line, a webhook secret, the environment that points an app at the simulator, and headless Chromium.

Chromium (Debian's ``chromium``, installed by scripts/setup.sh under CI): its tests skip when it is not installed,
except under CI (``CI=true``), where they fail."""
import os
import sys
from typing import Any, Dict, Iterator

import pytest

from tests.examples.chromium import Chromium, chromium_binary

pytest.register_assert_rewrite("tests.examples.helpers")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "scripts", "examples")
for _path in (EXAMPLES, os.path.join(EXAMPLES, "django_project")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from run_demo import new_webhook_secret, simulator_env  # noqa: E402
from simulated_model import billing_line  # noqa: E402


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
def sim(make_fake_server: Any) -> Any:
    """The simulator, answering as the phone line's model (and ``You said: <question>`` elsewhere)."""
    return make_fake_server(responder=billing_line)


def app_env(server: Any, secret: str) -> Dict[str, str]:
    """The environment of an app subprocess: the simulator's address and key, and this checkout's realtime_sync."""
    return {**simulator_env(server, secret), "PYTHONPATH": ROOT}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/setup.sh installs it under CI)", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    browser = Chromium(binary)
    try:
        yield browser
    finally:
        browser.close()
