"""The one factory of clients and sessions for a server under test (the simulator, or any base URL)."""
from typing import Any, Optional, Union

from realtime_sync import RealtimeClient, RealtimeSession, SessionOptions
from realtime_sync.protocol.transcription import TranscriptionOptions

TEST_KEY = "sk-test-key-0123456789"
BETA_MODEL = "gpt-4o-realtime-preview"


def client_for(server: Any, *, protocol: str = "ga", **kwargs: Any) -> RealtimeClient:
    """A client for ``server`` (a :class:`~realtime_sync.testing.FakeRealtimeServer`, or a base URL string), with
    10 s request and connect timeouts; beta clients ask for the preview model, as beta deployments are named."""
    if isinstance(server, str):
        base_url, key = server, kwargs.pop("api_key", TEST_KEY)
    else:
        base_url, key = server.base_url, kwargs.pop("api_key", server.api_key)
    kwargs.setdefault("request_timeout", 10.0)
    kwargs.setdefault("reconnect", False)  # tests of failures see the failure; reconnect tests ask for it
    kwargs.setdefault("connect_timeout", 10.0)
    if protocol == "beta":
        kwargs.setdefault("model", BETA_MODEL)
    return RealtimeClient(key, endpoint=base_url, protocol=protocol, **kwargs)


def start_session(server: Any, options: Optional[Union[SessionOptions, TranscriptionOptions]] = None, *,
                  protocol: str = "ga", timeout: float = 10.0, **kwargs: Any) -> RealtimeSession:
    """A started session on ``server`` (``options`` applied); ``kwargs`` go to :func:`client_for`."""
    return client_for(server, protocol=protocol, **kwargs).start_session(options, timeout=timeout)
