"""The opening handshake: which endpoint, which dialect, which model, and whether the key is good.

Failures follow PROTOCOL.md section 12: on OpenAI paths the upgrade succeeds and the session then gets an ``error``
event and a close (3000 for auth, 4000 for the model or a refused beta); Azure paths answer HTTP 401/404 at the
handshake. ``?intent=transcription`` (PROTOCOL.md section 2) opens a transcription session and needs no ``model``
(Azure: no deployment); any other ``intent`` is refused with ``invalid_value`` and close 4000 (Azure: HTTP 400).
``?call_id=`` attaches a sideband WebSocket to an accepted SIP call (see :mod:`realtime_sync.testing.calls`; on
the Azure GA path too, a guess: refusals there are HTTP 404/400 at the handshake, as Azure refuses other requests).
``/v1/realtime/translations`` opens a translation session (:mod:`realtime_sync.testing.translation`); Azure documents
no translation endpoint, so its translation paths answer HTTP 404 as Azure does for a path it does not serve.
"""
import logging
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs, urlsplit

from ..protocol import Dialect
from ..protocol.model_names import REALTIME_MODELS
from ._util import api_error
from .calls import call_route_failure
from .connection import Route

__all__ = ["DEFAULT_MODELS", "route_request", "extract_key", "mask_key", "AZURE_401"]

logger = logging.getLogger("realtime_sync.testing.routing")

#: Models the simulator accepts on OpenAI paths by default: exactly the names the service knows (fnmatch patterns
#: are allowed when a test passes its own ``models=``).
DEFAULT_MODELS: Tuple[str, ...] = REALTIME_MODELS

AZURE_401 = {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API "
                       "endpoint. Make sure to provide a valid key for an active subscription and use a correct "
                       "regional API endpoint for your resource."}}
_AZURE_404 = {"error": {"code": "404", "message": "Resource not found"}}
_DEPLOYMENT_404 = {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does "
                             "not exist. If you created the deployment within the last 5 minutes, please wait a "
                             "moment and try again."}}

HttpReply = Tuple[int, Dict[str, Any]]


def mask_key(key: str) -> str:
    """How the service echoes a wrong key: only its first three and last four characters."""
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * min(24, len(key) - 7) + key[-4:]


def _subprotocols(headers: Any) -> Sequence[str]:
    raw = ",".join(headers.get_all("Sec-WebSocket-Protocol") or []) if hasattr(headers, "get_all") else \
        (headers.get("Sec-WebSocket-Protocol") or "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def extract_key(headers: Any, query: Dict[str, Any], allow_query: bool = False) -> Optional[str]:
    """The credential of a request: ``Authorization: Bearer``, ``api-key``, the browser subprotocol
    ``openai-insecure-api-key.<key>``, or (Azure) the ``api-key`` query parameter."""
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if headers.get("api-key"):
        return str(headers.get("api-key")).strip()
    for proto in _subprotocols(headers):
        if proto.startswith("openai-insecure-api-key."):
            return proto[len("openai-insecure-api-key."):]
    if allow_query and query.get("api-key"):
        return query["api-key"][0]
    return None


def _key_failure(key: Optional[str], valid: bool) -> Optional[Tuple[Optional[str], str, int, str]]:
    """How an OpenAI path refuses a missing or wrong key after the upgrade: ``error``, then close 3000."""
    if not key:
        return None, "Missing bearer or basic authentication in header", 3000, "invalid_request_error"
    if not valid:
        return ("invalid_api_key", f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.", 3000, "invalid_request_error.invalid_api_key")
    return None


def _check_model(route: Route, session_init: Optional[Dict[str, Any]], allowed: Callable[[str], bool]) -> Route:
    """The model of the URL, else the client secret's; refused when missing (``missing_model``) or unknown
    (``invalid_model``), close 4000 either way."""
    model = route.model
    if not model and session_init and isinstance(session_init.get("model"), str):
        route.model = model = session_init["model"]
    if not model:
        route.failure = ("missing_model", "Missing required parameter: 'model'.", 4000,
                         "invalid_request_error.missing_model")
    elif not allowed(model):
        route.failure = ("invalid_model", f"The model '{model}' does not exist or you do not have access to it.",
                         4000, "invalid_request_error.invalid_model")
    return route


def _intent_error(intent: Optional[str]) -> Optional[str]:
    if intent is None or intent == "transcription":
        return None
    return f"Invalid value: '{intent}'. Supported values are: 'transcription'."


def _is_transcription(intent: Optional[str], session_init: Optional[Dict[str, Any]]) -> bool:
    return intent == "transcription" or (session_init or {}).get("type") == "transcription"


def route_request(server: Any, target: str, headers: Any) -> Union[Route, HttpReply]:
    """Decide what to do with a WebSocket upgrade: a :class:`Route` (maybe carrying a post-upgrade failure) or an
    HTTP reply ``(status, json body)`` that refuses the handshake."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    query = parse_qs(parts.query)
    first = {k: v[0] for k, v in query.items()}
    beta_header = "realtime=v1" in (headers.get("OpenAI-Beta") or "")
    beta_proto = "openai-beta.realtime-v1" in _subprotocols(headers)
    if path == "/v1/realtime/translations":
        return _translation_route(server, path, first, headers)
    if path in ("/openai/v1/realtime/translations", "/openai/realtime/translations"):
        return 404, _AZURE_404  # Azure documents no translation sessions: an unknown path there
    if path == "/v1/realtime":
        return _openai_route(server, path, first, headers, beta_header or beta_proto)
    if path in ("/openai/v1/realtime", "/openai/realtime"):
        return _azure_route(server, path, first, headers, beta_header or beta_proto)
    return api_error(404, f"Invalid URL (GET {path})")


def _openai_route(server: Any, path: str, query: Dict[str, str], headers: Any, beta: bool) -> Route:
    dialect = Dialect.BETA if beta else Dialect.GA
    key = extract_key(headers, {})
    model = query.get("model") or ""
    intent = query.get("intent")
    route = Route(path=path, kind="openai", dialect=dialect, model=model, intent=intent)
    valid, session_init = server._check_key(key, dialect)
    route.failure = _key_failure(key, valid)
    if route.failure is not None:
        return route
    route.session_init = session_init
    if beta and server._refuse_beta:
        route.failure = ("beta_api_shape_disabled", "The Realtime Beta API is no longer supported. Please use "
                         "/v1/realtime for the GA API.", 4000, "invalid_request_error.beta_api_shape_disabled")
        return route
    if "call_id" in query:
        return _call_route(server, route, query["call_id"])
    bad_intent = _intent_error(intent)
    if bad_intent is not None:
        route.failure = ("invalid_value", bad_intent, 4000, "invalid_request_error.invalid_value")
        return route
    if _is_transcription(intent, session_init):
        return route  # the transcription model is set in the session, not in the URL
    return _check_model(route, session_init, server._model_allowed)


def _call_route(server: Any, route: Route, call_id: str) -> Route:
    """``?call_id=``: a sideband attached to an accepted SIP call (``model`` optional and ignored; the session is
    the call's). See :mod:`realtime_sync.testing.calls`."""
    if route.dialect is not Dialect.GA:
        route.failure = ("invalid_request_error", "Sideband connections (call_id) use the GA protocol.", 4000,
                         "invalid_request_error")
        return route
    call, refused = call_route_failure(server, call_id)
    if refused is not None:
        code, message = refused
        route.failure = (code, message, 4000, f"invalid_request_error.{code}")
        return route
    assert call is not None and call.session is not None
    route.call = call
    route.model = call.session.model
    route.session_init = None
    return route


def _translation_route(server: Any, path: str, query: Dict[str, str], headers: Any) -> Route:
    """``/v1/realtime/translations?model=``: a translation session (ADDENDUM-2026-12 A3). Keys: the API key or a
    translation client secret (a realtime secret does not open one, nor does a translation secret open a realtime
    session); ``model`` required and known; no ``intent``. Refusals as on ``/v1/realtime``: ``error``, then close
    3000 (auth) or 4000."""
    key = extract_key(headers, {})
    model = query.get("model") or ""
    route = Route(path=path, kind="translation", dialect=Dialect.GA, model=model)
    valid, session_init = server._check_translation_key(key)
    route.failure = _key_failure(key, valid)
    if route.failure is not None:
        return route
    route.session_init = session_init
    if "intent" in query:
        route.failure = ("unknown_parameter", "Unknown parameter: 'intent'. Translation sessions take no intent.",
                         4000, "invalid_request_error.unknown_parameter")
        return route
    return _check_model(route, session_init, server._translation_model_allowed)


def _azure_route(server: Any, path: str, query: Dict[str, str], headers: Any,
                 beta: bool) -> Union[Route, HttpReply]:
    preview = path == "/openai/realtime"
    key = extract_key(headers, {k: [v] for k, v in query.items()}, allow_query=True)
    valid, session_init = server._check_key(key, Dialect.BETA if preview or beta else Dialect.GA) if key else \
        (False, None)
    if not valid or (not preview and "api-version" in query):
        return 401, AZURE_401
    if preview:
        deployment = query.get("deployment") or ""
        if "api-version" not in query:
            return 404, _AZURE_404
    else:
        deployment = query.get("model") or ""
    if "call_id" in query:  # a guess: Azure documents no sideband; served as on OpenAI, refusals at the handshake
        if preview or beta:
            return 400, {"error": {"code": "invalid_value", "message": "Sideband connections (call_id) use the GA "
                                   "protocol."}}
        call, refused = call_route_failure(server, query["call_id"])
        if refused is not None:
            return 404 if refused[0] == "call_not_found" else 400, {"error": {"code": refused[0],
                                                                              "message": refused[1]}}
        assert call is not None and call.session is not None
        return Route(path=path, kind="azure", dialect=Dialect.GA, model=call.session.model, call=call)
    intent = query.get("intent")
    bad_intent = _intent_error(intent)
    if bad_intent is not None:
        return 400, {"error": {"code": "invalid_value", "message": bad_intent}}
    transcription = _is_transcription(intent, session_init)
    if (not deployment and not transcription) or (deployment and server._azure_deployments is not None
                                                  and deployment not in server._azure_deployments):
        return 404, _DEPLOYMENT_404
    dialect = Dialect.BETA if (preview or beta) else Dialect.GA
    return Route(path=path, kind="azure-preview" if preview else "azure", dialect=dialect, model=deployment,
                 session_init=session_init, intent=intent)
