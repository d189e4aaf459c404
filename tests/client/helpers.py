"""Shared helpers for the client tests."""
import json
import os
import threading
import time
from collections import namedtuple
from typing import Any, Callable, Dict, List, Optional

from realtime_sync import RealtimeClient

AccessToken = namedtuple("AccessToken", "token expires_on")
TRACES_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "traces")
CLIENT_TYPES = {"session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
                "input_audio_buffer.clear", "conversation.item.create", "conversation.item.truncate",
                "conversation.item.delete", "conversation.item.retrieve", "response.create", "response.cancel",
                "output_audio_buffer.clear", "transcription_session.update"}


class FakeCredential:
    """An azure-identity TokenCredential stand-in recording every get_token call."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.scopes: List[str] = []
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token or f"token-{len(self.scopes)}", int(time.time()) + 3600)


def client_for(base_url: str, **kwargs: Any) -> RealtimeClient:
    kwargs.setdefault("request_timeout", 10.0)
    kwargs.setdefault("connect_timeout", 10.0)
    return RealtimeClient(kwargs.pop("api_key", "sk-test-key-0123456789"), endpoint=base_url, **kwargs)


def trace_files() -> List[str]:
    return sorted(f for f in os.listdir(TRACES_DIR) if f.endswith(".jsonl"))


def trace_server_lines(name: str) -> List[str]:
    """The server events of a trace, as the raw JSON lines."""
    out = []
    with open(os.path.join(TRACES_DIR, name), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and json.loads(line)["type"] not in CLIENT_TYPES:
                out.append(line)
    return out


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def session_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("realtime-") and t.is_alive()]


def types_of(messages: List[str]) -> List[str]:
    return [json.loads(m)["type"] for m in messages]


def first(messages: List[str], type_: str) -> Dict[str, Any]:
    return next(json.loads(m) for m in messages if json.loads(m)["type"] == type_)
