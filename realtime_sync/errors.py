"""Every exception of realtime_sync, in one place.

Every error the library raises derives from :class:`RealtimeError`. None of them ever carries an API key: texts are
built from codes, messages and sizes only. This module imports nothing from the rest of the package, so every layer
(protocol, connection, features, audio, simulator) can use it::

    RealtimeError
    +-- ProtocolError (ValueError)           bad input from the user or the server
    |   +-- MessageDecodeError               a server message that cannot be decoded
    |   +-- ToolSchemaError (TypeError)      a function signature that has no JSON Schema
    |   +-- ToolArgumentsError               the model's arguments do not fit the function
    +-- ConfigurationError (ValueError)      a missing key, endpoint or deployment
    +-- RealtimeConnectionError              the connection could not be opened or failed
    |   +-- AuthenticationError              credentials refused (HTTP 401/403, close 3000)
    |   +-- HandshakeError                   the HTTP upgrade was refused for another reason (status, path, body)
    |   +-- ConnectionClosedError            the connection closed while traffic was expected
    |       +-- RequestRefusedError          close 4000 (unknown model, beta refused)
    |       +-- MessageTooLargeError         the server sent a message over the size limit (we close 1009)
    |       +-- ConnectionLostError          dropped without a close handshake
    |       |   +-- SessionInterruptedError  a call in flight when the connection dropped (the session reconnects)
    |       +-- SessionClosedError           closed by this process
    +-- ServerError                          an ``error`` event answering a blocking call
    +-- RestError                            a REST request refused (status, code, message; keys scrubbed)
    |   +-- RestRequestError                 HTTP 4xx other than 401/403 (those raise AuthenticationError)
    |   |   +-- RateLimitError               HTTP 429, still refused after the retries (retry_after)
    |   +-- RestServerError                  HTTP 5xx, still failing after the retries
    +-- WebhookVerificationError (ValueError)  a webhook whose headers, timestamp or signature do not check out
    +-- UnexpectedWebhookEventError          a verified webhook of another type than the one asked for
    +-- RealtimeTimeoutError (TimeoutError)  a blocking call ran out of time
    +-- SendQueueFullError                   too many commands waiting for a peer that does not read
    +-- AudioFormatError (ValueError)        audio that cannot be streamed as it is
    +-- AudioDeviceError                     a sound device that cannot be found, opened or used
        +-- AudioBackendUnavailableError (ImportError)  PyAudio is not installed
"""
from typing import Any, Optional, Sequence

__all__ = [
    "RealtimeError",
    "ProtocolError",
    "MessageDecodeError",
    "RealtimeConnectionError",
    "AuthenticationError",
    "HandshakeError",
    "MessageTooLargeError",
    "RequestRefusedError",
    "ConnectionClosedError",
    "ConnectionLostError",
    "ServerError",
    "RestError",
    "RestRequestError",
    "RateLimitError",
    "RestServerError",
    "WebhookVerificationError",
    "UnexpectedWebhookEventError",
    "RealtimeTimeoutError",
    "SendQueueFullError",
    "SessionInterruptedError",
    "AudioFormatError",
    "ConfigurationError",
    "SessionClosedError",
    "ToolSchemaError",
    "ToolArgumentsError",
    "AudioDeviceError",
    "AudioBackendUnavailableError",
    "AUDIO_INSTALL_HINT",
]

AUDIO_INSTALL_HINT = (
    "PyAudio is not installed: run `pip install realtime_sync[audio]` "
    "(on Debian/Raspberry Pi OS first `apt install portaudio19-dev`, or use the piwheels wheel)"
)


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


class ToolSchemaError(ProtocolError, TypeError):
    """A function's signature cannot be described as a JSON Schema (an unsupported annotation)."""


class ToolArgumentsError(ProtocolError):
    """The model's arguments do not fit the function (unknown or missing parameter, wrong type)."""


class ConfigurationError(RealtimeError, ValueError):
    """The client is missing something it needs to connect (a key, an endpoint, a deployment)."""


class RealtimeConnectionError(RealtimeError):
    """The connection could not be opened or has failed.

    ``unsent_commands``: when a live connection failed, how many commands the app had queued (accepted by a send
    call) that never reached the socket; they were not sent and are not retried."""

    unsent_commands: int = 0


class AuthenticationError(RealtimeConnectionError):
    """The service refused the credentials: HTTP 401/403 at the handshake, or an ``error`` event then close 3000."""

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[str] = None,
                 close_code: Optional[int] = None, close_reason: str = "") -> None:
        super().__init__(message)
        self.status = status  #: the HTTP status of a refused handshake
        self.code = code  #: the service's error code (``invalid_api_key``...)
        self.close_code = close_code  #: the close code (3000) when the server closed the connection
        self.close_reason = close_reason


class HandshakeError(RealtimeConnectionError):
    """The WebSocket upgrade was refused with an HTTP status that is not an authentication failure (or a 403 whose
    body names no credential problem): the status, the path and an excerpt of the body (keys scrubbed) say why."""

    def __init__(self, message: str, *, status: Optional[int] = None, path: str = "", body: str = "") -> None:
        super().__init__(message)
        self.status = status  #: the HTTP status of the refused handshake
        self.path = path  #: the request path (no query: it may carry a key)
        self.body = body  #: the start of the response body, keys scrubbed


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


class MessageTooLargeError(ConnectionClosedError):
    """The server announced a message larger than the client's ``max_message_size``; it was not read and the
    connection was closed with 1009 (message too big)."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size  #: the size the server announced, in bytes
        self.limit = limit
        super().__init__(1009, "message too big", f"the server sent a message of {size} bytes, over the limit of "
                         f"{limit} bytes (max_message_size): connection closed with 1009")


class ConnectionLostError(ConnectionClosedError):
    """The connection dropped without a close handshake (network failure, dead peer)."""


class SessionInterruptedError(ConnectionLostError):
    """A blocking call (``ask``, ``configure_session``, ``wait_for``...) was in flight when the connection dropped;
    what it sent that the old connection never wrote is not sent on the new one. The session reconnects and
    restores itself (see ``ReconnectPolicy``): the call may be retried once ``ReconnectedUpdate`` arrives (or right
    away: a call made during the outage is kept and completes after the restore)."""


class SessionClosedError(ConnectionClosedError):
    """The session was closed by this process (``close()``): it cannot send any more."""

    def __init__(self, message: str = "the session is closed") -> None:
        super().__init__(1000, "closed by client", message)


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

    @classmethod
    def from_update(cls, update: Any, scrub: Any = None) -> "ServerError":
        """The error an ``error`` event (:class:`~realtime_sync.protocol.updates.ErrorUpdate`) reports; ``scrub``
        (``fn(text) -> text``) removes secrets from the message."""
        message = update.message or ""
        if scrub is not None:
            message = scrub(message)
        return cls(message or "server error", type=update.error_type, code=update.code, param=update.param,
                   event_id=update.client_event_id, update=update)


class RestError(RealtimeError):
    """A REST request (client secrets, SIP calls) answered with an error status. ``message`` is the server's
    message with every key scrubbed; ``code``, ``type`` and ``param`` come from its ``error`` object when it has
    one; ``request_id`` is the ``x-request-id`` header (quote it to support)."""

    def __init__(self, message: str, *, status: int, code: Optional[str] = None, type: Optional[str] = None,
                 param: Optional[str] = None, request_id: Optional[str] = None, path: str = "") -> None:
        self.message = message
        self.status = status  #: the HTTP status
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.path = path  #: the request path (no query)
        super().__init__(f"HTTP {status} from POST {path}: {message}" if path else f"HTTP {status}: {message}")


class RestRequestError(RestError):
    """HTTP 4xx other than 401/403 (which raise :class:`AuthenticationError`): the request itself was refused
    (bad parameter 400, unknown call 404...)."""


class RateLimitError(RestRequestError):
    """HTTP 429 after the retries. ``retry_after`` is the server's ``Retry-After`` in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class RestServerError(RestError):
    """HTTP 5xx after the retries: the service failed (try again later)."""


class WebhookVerificationError(RealtimeError, ValueError):
    """A webhook request that must be refused (answer it 400): a header is missing, the timestamp is malformed or
    outside the tolerance window, the signature does not match, or the body is not UTF-8 JSON. ``reason`` says
    which: one of :attr:`REASONS`. Never carries the secret or a signature."""

    REASONS = ("missing_header", "invalid_timestamp", "too_old", "too_new", "bad_signature", "invalid_body")

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnexpectedWebhookEventError(RealtimeError):
    """A correctly signed webhook whose ``type`` is not the one asked for (``event_type``); ``event`` is the
    verified, parsed event, so the app can still handle it (and should answer 2xx, or the sender retries)."""

    def __init__(self, event_type: str, event: Any) -> None:
        super().__init__(f"verified webhook of type {event_type!r}, not the expected one")
        self.event_type = event_type
        self.event = event


class RealtimeTimeoutError(RealtimeError, TimeoutError):
    """A blocking call did not complete within its timeout."""


class SendQueueFullError(RealtimeError):
    """A command was refused (not queued, not sent) because the commands already waiting for the socket exceed the
    send queue's bound: the server is not reading. Nothing already queued is lost."""

    def __init__(self, queued_bytes: int, limit: int) -> None:
        self.queued_bytes = queued_bytes
        self.limit = limit
        super().__init__(f"send queue full: {queued_bytes} bytes of commands wait for the socket (limit {limit}); "
                         f"the server is not reading")


class TransportTimeout(RealtimeTimeoutError):
    """Internal: no byte arrived within the read timeout (the reader turns this into a dead-peer error)."""


class AudioFormatError(RealtimeError, ValueError):
    """Audio input that cannot be streamed as it is (wrong WAV rate, channels or sample width, odd byte count)."""


class AudioDeviceError(RealtimeError):
    """A sound device could not be found, opened or used.

    ``devices`` names the devices that were available, ``supported_rates`` the sample rates the device accepts (when
    known) and ``pa_error`` the PortAudio error code (-9996 invalid device, -9997 invalid sample rate, ...).
    """

    def __init__(self, message: str, *, devices: Optional[Sequence[str]] = None,
                 supported_rates: Optional[Sequence[int]] = None, pa_error: Optional[int] = None) -> None:
        super().__init__(message)
        self.devices = list(devices or [])
        self.supported_rates = list(supported_rates or [])
        self.pa_error = pa_error


class AudioBackendUnavailableError(AudioDeviceError, ImportError):
    """PyAudio (PortAudio) is not installed, so no sound device can be used (files still work)."""

    def __init__(self, message: str = AUDIO_INSTALL_HINT) -> None:
        super().__init__(message)
