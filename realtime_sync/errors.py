"""The exception hierarchy of realtime_sync.

Every error the library raises derives from :class:`RealtimeError`. None of them ever carries an API key: texts are
built from codes, messages and sizes only.
"""
from typing import Any, Optional

__all__ = [
    "RealtimeError",
    "ProtocolError",
    "MessageDecodeError",
    "RealtimeConnectionError",
    "AuthenticationError",
    "RequestRefusedError",
    "ConnectionClosedError",
    "ConnectionLostError",
    "ServerError",
    "RealtimeTimeoutError",
    "AudioFormatError",
]


class RealtimeError(Exception):
    """Base class of every error raised by realtime_sync."""


class ProtocolError(RealtimeError, ValueError):
    """A message or a value does not fit the Realtime protocol (bad input from the user or the server)."""


class MessageDecodeError(ProtocolError):
    """A server message could not be decoded: not JSON, not an object, or without a ``type``."""

    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(f"cannot decode server message ({size} bytes): {reason}")
        self.reason = reason
        self.size = size


class RealtimeConnectionError(RealtimeError):
    """The connection could not be opened or has failed."""


class AuthenticationError(RealtimeConnectionError):
    """The service refused the credentials: HTTP 401/403 at the handshake, or an ``error`` event then close 3000."""

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ConnectionClosedError(RealtimeConnectionError):
    """The connection closed while the caller still expected traffic."""

    def __init__(self, code: Optional[int], reason: str = "", message: Optional[str] = None) -> None:
        self.code = code
        self.reason = reason
        super().__init__(message or f"connection closed (code={code}, reason={reason!r})")


class RequestRefusedError(ConnectionClosedError):
    """The service refused the request and closed with 4000: unknown or missing model, beta protocol refused."""

    def __init__(self, code: Optional[int], reason: str = "", error_code: Optional[str] = None,
                 message: Optional[str] = None) -> None:
        self.error_code = error_code
        super().__init__(code, reason, message or f"request refused (close {code}, reason={reason!r})")


class ConnectionLostError(ConnectionClosedError):
    """The connection dropped without a close handshake (network failure, dead peer)."""


class ServerError(RealtimeError):
    """An ``error`` event from the server, raised by the blocking call it answers."""

    def __init__(self, message: Optional[str], *, type: Optional[str] = None, code: Optional[str] = None,
                 param: Optional[str] = None, event_id: Optional[str] = None, update: Any = None) -> None:
        self.message = message or ""
        self.type = type
        self.code = code
        self.param = param
        self.event_id = event_id
        self.update = update
        detail = ", ".join(f"{k}={v}" for k, v in (("code", code), ("param", param), ("event_id", event_id)) if v)
        super().__init__(f"{self.message} ({detail})" if detail else self.message)


class RealtimeTimeoutError(RealtimeError, TimeoutError):
    """A blocking call did not complete within its timeout."""


class AudioFormatError(RealtimeError, ValueError):
    """Audio input that cannot be streamed as it is (wrong WAV rate, channels or sample width, odd byte count)."""
