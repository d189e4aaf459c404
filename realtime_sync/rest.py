"""The REST side of the Realtime API: ephemeral keys for browsers (client secrets) and SIP call control.

Both go to the HTTP(S) base of a client's :class:`~realtime_sync.endpoints.Endpoint` (``wss://host/v1/realtime``
gives ``https://host/v1``; Azure GA ``wss://<res>.openai.azure.com/openai/v1/realtime`` gives ``.../openai/v1``),
with the same auth headers the WebSocket sends (``Authorization: Bearer`` or Azure's ``api-key``)::

    secret = create_client_secret(client.endpoint, SessionOptions(instructions="Be brief."), expires_after=600)
    secret.value        # "ek_...": give it to the browser, which opens the WebSocket with the subprotocols
                        # ["realtime", "openai-insecure-api-key." + secret.value]

    calls = Calls(client.endpoint)
    calls.accept(call.call_id, SessionOptions(instructions="You answer the phone."))
    calls.refer(call.call_id, "tel:+14155550123"); calls.hangup(call.call_id)

Every request has one deadline (``timeout`` seconds for the whole call, retries included). 429 and 5xx answers are
retried (``max_retries``, 2 by default) after the server's ``Retry-After`` (or ``retry-after-ms``) when it gives one
that fits in the deadline and ``max_retry_wait``, else after a short backoff; a wait that does not fit ends the call
with the error at once. Errors: :class:`~realtime_sync.errors.AuthenticationError` (401/403),
:class:`~realtime_sync.errors.RateLimitError` (429), :class:`~realtime_sync.errors.RestRequestError` (other 4xx),
:class:`~realtime_sync.errors.RestServerError` (5xx), :class:`~realtime_sync.errors.RealtimeTimeoutError` and
:class:`~realtime_sync.errors.RealtimeConnectionError` (no answer). Their texts carry the status and the server's
message with every key the endpoint sent replaced by ``***``; logs carry the path and status only.

``requests`` is imported on the first request, so importing this module stays cheap.
"""
import copy
import email.utils
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .endpoints import Endpoint, mask_key_shapes
from .errors import (AuthenticationError, ConfigurationError, ProtocolError, RateLimitError, RealtimeConnectionError,
                     RealtimeTimeoutError, RestError, RestRequestError, RestServerError)
from .protocol import Dialect, SessionOptions
from .protocol.transcription import TranscriptionOptions

__all__ = ["ClientSecret", "Calls", "RestClient", "create_client_secret", "rest_base_url", "call_endpoint",
           "expires_after_wire", "client_secret_from_reply", "DEFAULT_TIMEOUT"]

log = logging.getLogger("realtime_sync.rest")
Json = Dict[str, Any]
Options = Union[SessionOptions, TranscriptionOptions, Mapping[str, Any], None]
DEFAULT_TIMEOUT = 30.0
MAX_REPLY = 1 << 20  #: the largest reply body read (1 MiB)
_RETRY_STATUSES = (429, 500, 502, 503, 504)


def rest_base_url(endpoint: Endpoint) -> str:
    """The HTTP(S) base of an endpoint's REST API: its WebSocket URL with ws -> http, wss -> https, the trailing
    ``/realtime`` and the query removed."""
    parts = urlsplit(endpoint.url)
    scheme = {"ws": "http", "wss": "https", "http": "http", "https": "https"}.get(parts.scheme.lower())
    if scheme is None:
        raise ConfigurationError(f"cannot derive a REST URL from scheme {parts.scheme!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/realtime"):
        path = path[: -len("/realtime")]
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def _endpoint_model(endpoint: Endpoint) -> Optional[str]:
    query = dict(parse_qsl(urlsplit(endpoint.url).query))
    return query.get("model") or query.get("deployment")


def _session_body(endpoint: Endpoint, options: Options) -> Json:
    """The GA session object for ``options``: ``type`` is always set; a realtime session gets the endpoint's
    model (the deployment on Azure) unless the options name one."""
    if options is None:
        body: Json = {"type": "realtime"}
    elif isinstance(options, (SessionOptions, TranscriptionOptions)):
        body = options.to_wire(Dialect.GA)
    elif isinstance(options, Mapping):
        body = json.loads(json.dumps(dict(options)))  # a deep copy that also proves it is JSON
        body.setdefault("type", "realtime")
    else:
        raise TypeError(f"options must be SessionOptions, TranscriptionOptions, a dict or None, "
                        f"not {type(options).__name__}")
    if body.get("type") == "realtime" and "model" not in body:
        model = _endpoint_model(endpoint)
        if model:
            body["model"] = model
    return body


def _retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (seconds or an HTTP date); None if absent."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RestClient:
    """POSTs JSON to an endpoint's REST API with one deadline per call, bounded retries and typed errors.

    ``timeout`` is the default deadline (seconds, retries included); ``max_retries`` the retries after a 429 or
    5xx; ``max_retry_wait`` the longest ``Retry-After`` honoured (a longer one, or one past the deadline, ends
    the call with the error). ``sleep`` waits between attempts (tests pass a recorder). Thread-safe: every request
    is independent (no shared connection pool).
    """

    def __init__(self, endpoint: Endpoint, *, timeout: Optional[float] = DEFAULT_TIMEOUT, max_retries: int = 2,
                 max_retry_wait: float = 20.0, sleep: Callable[[float], Any] = time.sleep) -> None:
        if max_retries < 0:
            raise ConfigurationError("max_retries must be 0 or more")
        self.endpoint = endpoint
        self.base_url = rest_base_url(endpoint)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep

    def _headers(self, has_body: bool) -> Dict[str, str]:
        headers = {k: v for k, v in self.endpoint.headers().items() if k.lower() != "openai-beta"}
        if has_body:
            headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json, */*"
        return headers

    def scrub(self, text: str) -> str:
        """``text`` without any key: the endpoint's own keys, then anything shaped like a key or bearer token."""
        return mask_key_shapes(self.endpoint.scrub(text))

    def post(self, path: str, body: Optional[Json] = None, *, timeout: Optional[float] = None) -> Optional[Json]:
        """POST ``body`` as JSON to ``<base>/<path>``; the reply's JSON object, or None for an empty reply."""
        import requests  # the first request pays for the import, not ``import realtime_sync``

        bound = self.timeout if timeout is None else timeout
        if bound is None:
            bound = DEFAULT_TIMEOUT
        deadline = time.monotonic() + bound
        url = self.base_url + path
        data = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else b""
        attempt = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RealtimeTimeoutError(f"POST {path}: no answer within {bound} s")
            try:
                status, headers, raw = self._attempt(requests, url, data, left, deadline)
            except requests.Timeout:
                raise RealtimeTimeoutError(f"POST {path}: no answer within {bound} s") from None
            except requests.RequestException as exc:
                raise RealtimeConnectionError(f"POST {path} failed: {type(exc).__name__}: "
                                              f"{self.scrub(str(exc))[:300]}") from None
            log.info("POST %s -> %d (attempt %d, %d bytes)", path, status, attempt + 1, len(raw))
            if 200 <= status < 300:
                return self._json_reply(path, status, raw)
            error = self._error(path, status, headers, raw)
            wait = self._retry_wait(status, headers, attempt, deadline)
            if wait is None:
                raise error
            log.info("POST %s: retrying in %.2f s after HTTP %d", path, wait, status)
            self._sleep(wait)
            attempt += 1

    def _attempt(self, requests: Any, url: str, data: bytes, left: float,
                 deadline: float) -> Tuple[int, Mapping[str, str], bytes]:
        with requests.post(url, data=data, headers=self._headers(bool(data)), timeout=(left, left), stream=True,
                           allow_redirects=False) as resp:
            chunks = []
            size = 0
            for chunk in resp.iter_content(16384):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REPLY:
                    break
                if time.monotonic() > deadline:
                    raise requests.Timeout("deadline passed while reading the reply")
            return resp.status_code, resp.headers, b"".join(chunks)[:MAX_REPLY]

    def _retry_wait(self, status: int, headers: Mapping[str, str], attempt: int, deadline: float) -> Optional[float]:
        if status not in _RETRY_STATUSES and status < 500 or attempt >= self.max_retries:
            return None
        server_wait = _retry_after(headers)
        wait = min(0.5 * 2 ** attempt, 4.0) if server_wait is None else server_wait
        if wait > self.max_retry_wait or time.monotonic() + wait >= deadline:
            return None
        return wait

    def _json_reply(self, path: str, status: int, raw: bytes) -> Optional[Json]:
        if not raw.strip():
            return None
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ProtocolError(f"POST {path}: HTTP {status} with a reply that is not JSON ({len(raw)} bytes)") \
                from None
        if not isinstance(reply, dict):
            raise ProtocolError(f"POST {path}: HTTP {status} with a reply that is not a JSON object")
        return reply

    def _error(self, path: str, status: int, headers: Mapping[str, str], raw: bytes) -> Exception:
        text = raw.decode("utf-8", "replace")
        message, code, err_type, param = "", None, None, None
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        err = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            code = None if err.get("code") is None else str(err.get("code"))
            err_type = err.get("type") if isinstance(err.get("type"), str) else None
            param = err.get("param") if isinstance(err.get("param"), str) else None
        elif isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
            message = parsed["message"]
        else:
            message = " ".join(text.split())[:300]
        message = self.scrub(message) or f"HTTP {status}"
        request_id = headers.get("x-request-id") or headers.get("apim-request-id")
        if status in (401, 403):
            return AuthenticationError(f"HTTP {status} from POST {path}: {message}", status=status, code=code)
        kwargs: Dict[str, Any] = dict(status=status, code=code, type=err_type, param=param, request_id=request_id,
                                      path=path)
        if status == 429:
            return RateLimitError(message, retry_after=_retry_after(headers), **kwargs)
        if 400 <= status < 500:
            return RestRequestError(message, **kwargs)
        if status >= 500:
            return RestServerError(message, **kwargs)
        return RestError(message, **kwargs)  # 1xx/3xx: a redirect is not followed (it could leak the key)


# -- client secrets -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientSecret:
    """An ephemeral key (``ek_...``) for a browser or a device: it starts sessions with ``session``'s
    configuration until ``expires_at`` (Unix seconds); a session started with it outlives it."""

    value: str = field(repr=False)
    expires_at: int
    session: Json = field(default_factory=dict)

    @property
    def subprotocols(self) -> Tuple[str, str]:
        """The WebSocket subprotocols a browser sends the key as: ``("realtime", "openai-insecure-api-key.<key>")``."""
        return ("realtime", f"openai-insecure-api-key.{self.value}")


def create_client_secret(endpoint: Endpoint, options: Options = None, *, expires_after: int = 600,
                         timeout: Optional[float] = DEFAULT_TIMEOUT, max_retries: int = 2,
                         sleep: Callable[[float], Any] = time.sleep) -> ClientSecret:
    """Mint an ephemeral key with ``POST <base>/realtime/client_secrets`` (OpenAI ``/v1``; Azure GA
    ``/openai/v1``), for ``expires_after`` seconds (10-7200). ``options``: SessionOptions (a realtime session, with
    the endpoint's model unless the options set one), TranscriptionOptions (a transcription session), a dict (the
    GA ``session`` object as it is) or None. Only the GA protocol: a beta endpoint raises ConfigurationError."""
    if endpoint.dialect is not Dialect.GA:
        raise ConfigurationError("client secrets are minted with the GA protocol; this endpoint uses the beta one "
                                 "(its keys come from POST /v1/realtime/sessions)")
    body = {"expires_after": expires_after_wire(expires_after), "session": _session_body(endpoint, options)}
    rest = RestClient(endpoint, timeout=timeout, max_retries=max_retries, sleep=sleep)
    secret = client_secret_from_reply(rest.post("/realtime/client_secrets", body))
    log.info("client secret minted (%s session, expires in %d s)", body["session"].get("type"), expires_after)
    return secret


def expires_after_wire(seconds: int) -> Json:
    """The ``expires_after`` object of a client-secret request; ConfigurationError outside 10-7200 seconds."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 10 <= seconds <= 7200:
        raise ConfigurationError(f"expires_after must be an integer from 10 to 7200 seconds, not {seconds!r}")
    return {"anchor": "created_at", "seconds": seconds}


def client_secret_from_reply(reply: Optional[Json]) -> ClientSecret:
    """The :class:`ClientSecret` a client-secrets endpoint answered; ProtocolError without value and expiry."""
    reply = reply or {}
    value, expires_at = reply.get("value"), reply.get("expires_at")
    if not isinstance(value, str) or not value or not isinstance(expires_at, int):
        raise ProtocolError("client_secrets reply without value and expires_at")
    session = reply.get("session")
    return ClientSecret(value=value, expires_at=expires_at, session=session if isinstance(session, dict) else {})


# -- SIP calls ----------------------------------------------------------------------------------------------------
class Calls:
    """Control of SIP calls (``POST <base>/realtime/calls/{call_id}/accept|reject|refer|hangup``).

    The ``call_id`` comes from a verified ``realtime.call.incoming`` webhook
    (:func:`realtime_sync.webhooks.verify`). Each method returns None when the service accepted the request and
    raises the errors of :class:`RestClient` otherwise; an empty ``call_id`` raises ProtocolError (a ValueError)
    before anything is sent.
    """

    def __init__(self, endpoint: Endpoint, *, timeout: Optional[float] = DEFAULT_TIMEOUT, max_retries: int = 2,
                 max_retry_wait: float = 20.0, sleep: Callable[[float], Any] = time.sleep) -> None:
        self._rest = RestClient(endpoint, timeout=timeout, max_retries=max_retries, max_retry_wait=max_retry_wait,
                                sleep=sleep)
        self._endpoint = endpoint

    def _post(self, call_id: str, action: str, body: Optional[Json], timeout: Optional[float]) -> None:
        if not isinstance(call_id, str) or not call_id:
            raise ProtocolError(f"expected a non-empty call_id, got {call_id!r}")
        self._rest.post(f"/realtime/calls/{quote(call_id, safe='')}/{action}", body, timeout=timeout)
        log.info("call %s: %s done", call_id, action)

    def accept(self, call_id: str, options: Options = None, *, timeout: Optional[float] = None) -> None:
        """Answer an incoming SIP call with a realtime session configured by ``options`` (SessionOptions, a GA
        session dict, or None; the model is the endpoint's unless set). Attach to it with ``attach_call``."""
        self._post(call_id, "accept", _session_body(self._endpoint, options), timeout)

    def reject(self, call_id: str, status_code: int = 603, *, timeout: Optional[float] = None) -> None:
        """Decline an incoming SIP call with the SIP ``status_code`` (603 Decline by default; 486 Busy Here...)."""
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 300 <= status_code <= 699:
            raise ProtocolError(f"status_code must be a SIP final status from 300 to 699, not {status_code!r}")
        self._post(call_id, "reject", {"status_code": status_code}, timeout)

    def refer(self, call_id: str, target_uri: str, *, timeout: Optional[float] = None) -> None:
        """Transfer the call (SIP REFER) to ``target_uri``: ``"tel:+14155550123"`` or ``"sip:agent@example.com"``."""
        if not isinstance(target_uri, str) or not target_uri:
            raise ProtocolError(f"expected a non-empty target_uri, got {target_uri!r}")
        self._post(call_id, "refer", {"target_uri": target_uri}, timeout)

    def hangup(self, call_id: str, *, timeout: Optional[float] = None) -> None:
        """End an active call (SIP or WebRTC)."""
        self._post(call_id, "hangup", None, timeout)


def call_endpoint(endpoint: Endpoint, call_id: str, *, model: Optional[str] = None) -> Endpoint:
    """A copy of ``endpoint`` for the sideband WebSocket of call ``call_id``: ``.../realtime?call_id=<id>``, the
    same auth (ADDENDUM-2026-12 A4, as openai-python's ``connect(call_id=...)``). OpenAI URLs lose their
    ``model`` (the call's session got it at accept) unless ``model`` is given; ``call_id`` comes last, so it cannot
    be overridden. Azure URLs keep their deployment (a guess: Azure documents no sideband URL) and ``intent``."""
    if not isinstance(call_id, str) or not call_id:
        raise ProtocolError(f"expected a non-empty call_id, got {call_id!r}")
    parts = urlsplit(endpoint.url)
    drop = ("call_id", "intent") if endpoint.kind == "azure" else ("call_id", "intent", "model")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    if model is not None:
        query = [(k, v) for k, v in query if k != "model"] + [("model", model)]
    query.append(("call_id", call_id))
    out = copy.copy(endpoint)
    out.url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return out
