"""Opening the WebSocket: the only module that imports websocket-client.

websocket-client does the handshake (proxies, TLS, headers) in the caller's thread, bounded by a *deadline*: the
TCP connect and TLS setup get the time left, and a timer on the I/O loop shuts the socket down when the deadline
passes, so a server dripping its HTTP answer one byte at a time cannot hold ``start_session`` past its timeout.
The open socket is then handed to the I/O thread (:mod:`.channel`), which alone reads and writes it. Handshake
failures map to the library's exceptions with the status, the path and an excerpt of the body; key-bearing
headers and every secret the endpoint sent are scrubbed from them.
"""
import logging
import socket
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from ..endpoints import mask_key_shapes, redact_url
from ..errors import AuthenticationError, HandshakeError, RealtimeConnectionError, RealtimeTimeoutError
from .ioloop import shared_loop

__all__ = ["open_websocket", "handshake_error"]

log = logging.getLogger("realtime_sync.transport")

_BODY_EXCERPT = 300
_AUTH_WORDS = ("api key", "api_key", "apikey", "authenticat", "unauthori", "credential", "invalid_token",
               "expired_token", "token expired", "bearer", "invalid subscription key", "access denied due to invalid")


def _excerpt(body: Any, scrub: Callable[[str], str]) -> str:
    if isinstance(body, (bytes, bytearray)):
        text = bytes(body[:4 * _BODY_EXCERPT]).decode("utf-8", "replace")
    elif isinstance(body, str):
        text = body[:4 * _BODY_EXCERPT]
    else:
        return ""
    text = mask_key_shapes(scrub(text))
    text = " ".join(text.split())
    return text[:_BODY_EXCERPT] + ("..." if len(text) > _BODY_EXCERPT else "")


def handshake_error(status: Optional[int], reason: str, body: Any, url: str,
                    scrub: Callable[[str], str] = lambda s: s) -> RealtimeConnectionError:
    """The error for a refused upgrade: 401 (or 403 whose body names a credential problem) is an
    :class:`AuthenticationError`; anything else a :class:`HandshakeError` with status, path and body excerpt."""
    path = urlsplit(url).path or "/"
    excerpt = _excerpt(body, scrub)
    reason = mask_key_shapes(scrub(reason or ""))[:100]
    detail = f"HTTP {status} {reason}".rstrip() + f" at {path}" + (f": {excerpt}" if excerpt else "")
    if status == 401 or (status == 403 and any(word in excerpt.lower() for word in _AUTH_WORDS)):
        err: RealtimeConnectionError = AuthenticationError(f"authentication failed: {detail}", status=status)
    else:
        err = HandshakeError(f"WebSocket handshake refused: {detail}", status=status, path=path, body=excerpt)
    return err


def open_websocket(url: str, headers: Mapping[str, str], *, deadline: float,
                   options: Optional[Dict[str, Any]] = None,
                   scrub: Callable[[str], str] = lambda s: s) -> Any:
    """Connect and upgrade; return the open socket (plain or TLS) for the I/O thread. The whole handshake ends by
    ``deadline`` (a ``time.monotonic()`` value).

    Raises AuthenticationError, HandshakeError, RealtimeTimeoutError or RealtimeConnectionError.
    """
    import websocket  # (here, not at import: it loads ssl and certifi, and most imports never connect)

    safe_url = redact_url(url)
    total = deadline - time.monotonic()
    if total <= 0:
        raise RealtimeTimeoutError(f"connecting to {safe_url}: no time left")
    opts: Dict[str, Any] = {"suppress_origin": True}
    opts.update(options or {})
    ws = websocket.WebSocket(skip_utf8_validation=True, sslopt=opts.pop("sslopt", None),
                             sockopt=opts.pop("sockopt", None))
    expired = threading.Event()

    def on_deadline() -> None:
        expired.set()
        sock = ws.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = shared_loop().call_later(total, on_deadline)
    try:
        ws.connect(url, header=dict(headers), timeout=total, **opts)
    except websocket.WebSocketBadStatusException as exc:
        raise handshake_error(exc.status_code, exc.status_message or "", exc.resp_body, url, scrub) from None
    except (websocket.WebSocketTimeoutException, socket.timeout):
        raise RealtimeTimeoutError(f"connecting to {safe_url} timed out after {total:.3g} s") from None
    except (websocket.WebSocketException, OSError, ValueError) as exc:
        if expired.is_set():
            raise RealtimeTimeoutError(f"connecting to {safe_url} timed out after {total:.3g} s (the server "
                                       f"did not finish the handshake)") from None
        if isinstance(exc, OSError) and not isinstance(exc, websocket.WebSocketException):
            raise RealtimeConnectionError(f"cannot connect to {safe_url}: "
                                          f"{exc.strerror or type(exc).__name__}") from None
        raise RealtimeConnectionError(f"WebSocket handshake with {safe_url} failed: "
                                      f"{type(exc).__name__}") from None
    finally:
        timer.cancel()
    if expired.is_set():  # the timer fired as the handshake completed: the socket may be shut down
        ws.shutdown()
        raise RealtimeTimeoutError(f"connecting to {safe_url} timed out after {total:.3g} s")
    sock = ws.sock
    log.debug("connected to %s", safe_url)
    return sock
