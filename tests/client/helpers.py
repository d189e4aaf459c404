"""Helpers of the client tests (the shared ones are in tests/support)."""
import json
import threading
import time
from collections import namedtuple
from typing import Any, Dict, List, Optional

AccessToken = namedtuple("AccessToken", "token expires_on")


class FakeCredential:
    """An azure-identity TokenCredential stand-in recording every get_token call."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.scopes: List[str] = []
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token or f"token-{len(self.scopes)}", int(time.time()) + 3600)


def session_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("realtime-") and t.is_alive()]


def types_of(messages: List[str]) -> List[str]:
    return [json.loads(m)["type"] for m in messages]


def first(messages: List[str], type_: str) -> Dict[str, Any]:
    return next(json.loads(m) for m in messages if json.loads(m)["type"] == type_)
