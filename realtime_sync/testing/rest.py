"""The REST side of the simulator: ephemeral keys (client secrets) and the SIP calls endpoints.

``POST /v1/realtime/client_secrets`` (GA; Azure: ``/openai/v1/realtime/client_secrets``) mints an ``ek_...`` key that
the WebSocket accepts until it expires, starting sessions with the secret's session configuration; the beta
``POST /v1/realtime/sessions`` is served too, and ``POST /v1/realtime/translations/client_secrets`` mints secrets that
open translation sessions only (Azure has no such endpoint: HTTP 404). ``POST
/v1/realtime/calls/{call_id}/accept|reject|refer|hangup`` (Azure: under ``/openai/v1``) go to
:mod:`realtime_sync.testing.calls`. Requests are read with a small HTTP/1.1
parser (one request per connection, ``Connection: close``), since the WebSocket server only speaks GET.
"""
import http.client
import json
import logging
import re
import socket
import time
from http import HTTPStatus
from typing import Any, Dict, Optional, Tuple

from ..protocol import Dialect
from ._util import api_error, new_id
from .checks import check_client_event
from .routing import AZURE_401, extract_key, mask_key
from .session_state import SessionState
from .translation_session import TranslationSessionState, check_secret_request

__all__ = ["serve_http", "handle_rest", "mint_secret", "mint_translation_secret"]

logger = logging.getLogger("realtime_sync.testing.rest")
Json = Dict[str, Any]
MAX_BODY = 1 << 20


def _expires_error(expires: Any) -> Optional[Tuple[int, Json]]:
    """The reply refusing a secret's ``expires_after.seconds`` (10 to 7200), or None."""
    if not isinstance(expires, int) or isinstance(expires, bool):
        return api_error(400, "Invalid type for 'expires_after.seconds': expected an integer.", "invalid_type",
                         "expires_after.seconds")
    if expires < 10 or expires > 7200:
        side = "below_min" if expires < 10 else "above_max"
        return api_error(400, f"Invalid 'expires_after.seconds': integer {side.replace('_', ' ')}imum value. Expected "
                         "a value between 10 and 7200.", f"integer_{side}_value", "expires_after.seconds")
    return None


def mint_translation_secret(server: Any, body: Json) -> Tuple[int, Json]:
    """``POST /v1/realtime/translations/client_secrets`` (ADDENDUM-2026-12 A3): a secret that opens translation
    sessions only, with ``body["session"]`` as their configuration; returns (HTTP status, JSON reply)."""
    err = check_secret_request(body, server._translation_languages)
    if err is not None:
        return api_error(400, err.message, err.code, err.param)
    expires = body.get("expires_after", {}).get("seconds", 600)
    refused = _expires_error(expires)
    if refused is not None:
        return refused
    session = body["session"]
    if not server._translation_model_allowed(session["model"]):
        return api_error(400, f"The model '{session['model']}' does not exist or you do not have access to it.",
                         "invalid_value", "session.model")
    value = "ek_" + new_id("x")[2:]
    expires_at = int(time.time() + expires)
    state = TranslationSessionState(session["model"], new_id("sess"), initial=session, expires_at=expires_at)
    server._store_translation_secret(value, expires_at, session)
    logger.info("minted a translation client secret (%d s)", expires)
    return 200, {"value": value, "expires_at": expires_at, "session": state.to_wire()}


def mint_secret(server: Any, body: Json, dialect: Dialect = Dialect.GA) -> Tuple[int, Json]:
    """Create a client secret from a request body; returns (HTTP status, JSON reply)."""
    if dialect is Dialect.BETA:
        session = dict(body)
        expires = ((session.pop("client_secret", None) or {}).get("expires_after") or {}).get("seconds", 60)
    else:
        expires = (body.get("expires_after") or {}).get("seconds", 600)
        session = body.get("session") or {"type": "realtime"}
        if not isinstance(session, dict):
            return api_error(400, "Invalid type for 'session': expected an object.", "invalid_type", "session")
        unknown = [k for k in body if k not in ("expires_after", "session")]
        if unknown:
            return api_error(400, f"Unknown parameter: '{unknown[0]}'.", "unknown_parameter", unknown[0])
    refused = _expires_error(expires)
    if refused is not None:
        return refused
    err = check_client_event({"type": "session.update", "session": session}, dialect)
    if err is not None:
        return api_error(400, err.message, err.code, err.param)
    model = session.get("model") or ("gpt-4o-realtime-preview" if dialect is Dialect.BETA else "gpt-realtime")
    state = SessionState(dialect, model, new_id("sess"), initial=session)
    value = "ek_" + new_id("x")[2:]
    expires_at = int(time.time() + expires)
    server._store_secret(value, expires_at, dialect, session)
    logger.info("minted a client secret (%s, %d s)", dialect.value, expires)
    wire = state.to_wire()
    if dialect is Dialect.BETA:
        return 200, {**wire, "client_secret": {"value": value, "expires_at": expires_at}}
    return 200, {"value": value, "expires_at": expires_at, "session": wire}


_CALL_PATH = re.compile(r"^(/openai)?/v1/realtime/calls/([^/]+)/(accept|reject|refer|hangup)$")


def handle_rest(server: Any, method: str, target: str, headers: Any, body: bytes) -> Tuple[int, Optional[Json]]:
    """The reply to one REST request: (HTTP status, JSON body, or None for an empty body)."""
    path = target.split("?", 1)[0].rstrip("/")
    if path == "/openai/v1/realtime/translations/client_secrets":
        return 404, {"error": {"code": "404", "message": "Resource not found"}}  # not an Azure endpoint
    routes = {"/v1/realtime/client_secrets": (Dialect.GA, False), "/openai/v1/realtime/client_secrets":
              (Dialect.GA, True), "/v1/realtime/sessions": (Dialect.BETA, False),
              "/openai/realtimeapi/sessions": (Dialect.BETA, True), "/v1/realtime/translations/client_secrets":
              (Dialect.GA, False)}
    call = _CALL_PATH.match(path)
    if call is not None:
        dialect, azure = Dialect.GA, bool(call.group(1))
    elif path in routes:
        dialect, azure = routes[path]
    else:
        return api_error(404, f"Invalid URL ({method} {path})")
    if method != "POST":
        return api_error(405, f"Method {method} not allowed on {path}")
    key = extract_key(headers, {})
    if not key or key.startswith("ek_") or not server._check_key(key, dialect)[0]:
        if azure:
            return 401, AZURE_401
        if not key:
            return api_error(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                             "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        return api_error(401, f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                         "https://platform.openai.com/account/api-keys.", "invalid_api_key")
    try:
        payload = json.loads(body.decode("utf-8")) if body else {}
    except (ValueError, UnicodeDecodeError):
        return api_error(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                         "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent "
                         "was not valid JSON.")
    if not isinstance(payload, dict):
        return api_error(400, "Invalid type for the request body: expected an object.", "invalid_type")
    if call is not None:
        return server.calls.handle(call.group(2), call.group(3), payload, azure)
    if path == "/v1/realtime/translations/client_secrets":
        return mint_translation_secret(server, payload)
    return mint_secret(server, payload, dialect)


def serve_http(server: Any, sock: socket.socket) -> None:
    """Answer one plain HTTP request on ``sock`` and close it."""
    try:
        sock.settimeout(10.0)
        reader = sock.makefile("rb")
        line = reader.readline(65537).decode("latin-1").rstrip("\r\n")
        method, target, _version = (line.split(" ", 2) + ["", ""])[:3]
        headers = http.client.parse_headers(reader)
        length = int(headers.get("Content-Length") or 0)
        payload: Optional[Json]
        if length > MAX_BODY:
            status, payload = api_error(413, "Request body too large.")
        else:
            body = reader.read(length) if length else b""
            status, payload = handle_rest(server, method, target, headers, body)
        data = json.dumps(payload).encode("utf-8") if payload is not None else b""
        reason = HTTPStatus(status).phrase
        kind = "Content-Type: application/json\r\n" if payload is not None else ""
        head = (f"HTTP/1.1 {status} {reason}\r\n{kind}Content-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n").encode("latin-1")
        sock.sendall(head + data)
        logger.debug("REST %s -> %d (%d bytes)", method, status, len(data))
    except Exception as exc:  # one bad request must not kill the thread noisily
        logger.debug("REST request failed: %s", type(exc).__name__)
    finally:
        try:
            sock.close()
        except OSError:
            pass
