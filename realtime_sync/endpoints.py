"""Where and how to connect: the ``/realtime`` WebSocket URL, the auth headers and the protocol dialect.

An :class:`Endpoint` is built once per client and asked for fresh headers at every connect, so a credential
(Entra ``TokenCredential``) or a key provider callable (ephemeral keys) is consulted each time. Nothing here
ever puts a key in a log line, a repr or an exception text.
"""
import copy
import logging
import os
import re
from collections import deque
from typing import Any, Callable, Deque, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import AuthenticationError, ConfigurationError
from .protocol import Dialect
from .protocol.model_names import DEFAULT_REALTIME_MODEL, warn_if_deprecated

__all__ = ["Endpoint", "openai_endpoint", "azure_endpoint", "endpoint_from_env", "redact_url", "mask_key_shapes",
           "ConfigurationError", "DEFAULT_MODEL", "OPENAI_BASE_URL", "AZURE_SCOPE", "ApiKey"]

log = logging.getLogger("realtime_sync.endpoints")

DEFAULT_MODEL = DEFAULT_REALTIME_MODEL
OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
#: An API key, or a callable returning one (called at every connect: ephemeral keys, rotating secrets).
ApiKey = Union[str, Callable[[], str]]


def to_websocket_url(base: str, path: str, query: Mapping[str, str]) -> str:
    """``base`` (http, https, ws or wss) + ``path`` + ``query``, with http -> ws and https -> wss."""
    parts = urlsplit(base.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ConfigurationError(f"endpoint must be an http(s) or ws(s) URL, got scheme {parts.scheme!r}")
    full_path = parts.path.rstrip("/") + path
    existing = parts.query
    extra = urlencode({k: v for k, v in query.items() if v is not None})
    q = "&".join(p for p in (existing, extra) if p)
    return urlunsplit((scheme, parts.netloc, full_path, q, ""))


class Endpoint:
    """A resolved ``/realtime`` endpoint: URL, dialect and a header factory.

    ``auth`` is ``("bearer", key_or_provider)``, ``("api-key", key_or_provider)`` or ``("entra", credential)``.
    """

    def __init__(self, url: str, dialect: Union[Dialect, str], auth: Tuple[str, Any], *, kind: str = "openai",
                 extra_headers: Optional[Mapping[str, str]] = None) -> None:
        self.url = url
        self.dialect = Dialect.coerce(dialect)
        self.kind = kind
        self._auth_style, self._secret_source = auth
        self._extra_headers = dict(extra_headers or {})
        self._secrets: Deque[str] = deque(maxlen=64)  # every secret sent lately (rotating keys, Entra tokens)

    # -- what gets sent -------------------------------------------------------------------------------------------
    def headers(self) -> Dict[str, str]:
        """Fresh headers for one connect (fetches an Entra token / calls a key provider now)."""
        secret = self._secret()
        if secret not in self._secrets:
            self._secrets.append(secret)
        headers = dict(self._extra_headers)
        if self._auth_style == "api-key":
            headers["api-key"] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
        if self.dialect is Dialect.BETA and self.kind == "openai":
            headers["OpenAI-Beta"] = "realtime=v1"
        return headers

    def _secret(self) -> str:
        source = self._secret_source
        if self._auth_style == "entra":
            try:
                token = source.get_token(AZURE_SCOPE)
            except Exception as exc:  # azure-identity raises its own ClientAuthenticationError family
                raise AuthenticationError(f"could not get an Entra token for {AZURE_SCOPE}: "
                                          f"{type(exc).__name__}: {_safe_cause(exc)}") from None
            value = getattr(token, "token", token)
        elif callable(source):
            value = source()
        else:
            value = source
        if not isinstance(value, str) or not value:
            raise ConfigurationError("no API key: pass api_key=, set OPENAI_API_KEY (or AZURE_OPENAI_API_KEY), "
                                     "or use a credential")
        return value

    def scrub(self, text: str) -> str:
        """``text`` with every secret this endpoint sent (the last 64 distinct keys or tokens, so a rotating key
        provider is covered) replaced by ``***``, for messages that echo what we sent."""
        if text:
            for secret in tuple(self._secrets):
                if secret in text:
                    text = text.replace(secret, "***")
        return text

    @property
    def auth_style(self) -> str:
        return self._auth_style

    def with_intent(self, intent: Optional[str]) -> "Endpoint":
        """A copy of this endpoint whose URL carries ``intent=<intent>`` (``"transcription"``: a transcription-only
        session). OpenAI URLs drop ``model`` (the transcription model is set in the session); Azure URLs keep
        their deployment (PROTOCOL.md section 2). ``None`` returns this endpoint itself."""
        if intent is None:
            return self
        parts = urlsplit(self.url)
        drop = ("intent",) if self.kind == "azure" else ("intent", "model")
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
        query.append(("intent", intent))
        out = copy.copy(self)
        out.url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
        return out

    def __repr__(self) -> str:
        return (f"Endpoint({self.kind}, {redact_url(self.url)!r}, protocol={self.dialect.value}, "
                f"auth={self._auth_style})")


def openai_endpoint(api_key: Optional[ApiKey] = None, *, model: str = DEFAULT_MODEL, endpoint: Optional[str] = None,
                    protocol: Union[Dialect, str] = Dialect.GA, query: Optional[Mapping[str, str]] = None,
                    extra_headers: Optional[Mapping[str, str]] = None) -> Endpoint:
    """OpenAI (or any OpenAI-compatible server): ``<endpoint>/realtime?model=<model>``, ``Authorization: Bearer``.

    ``api_key`` defaults to ``OPENAI_API_KEY``; ``endpoint`` to ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``.
    """
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if key is None:
        raise ConfigurationError("no API key: pass api_key= or set OPENAI_API_KEY")
    base = endpoint or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
    warn_if_deprecated(model)  # (Azure deployments are names the user chose: never checked)
    params = {"model": model}
    params.update(query or {})
    url = to_websocket_url(base, "/realtime", params)
    ep = Endpoint(url, protocol, ("bearer", key), kind="openai", extra_headers=extra_headers)
    log.debug("OpenAI realtime endpoint %s (protocol %s)", redact_url(url), ep.dialect.value)
    return ep


def azure_endpoint(endpoint: str, deployment: str, *, api_key: Optional[ApiKey] = None, credential: Any = None,
                   api_version: Optional[str] = None, extra_headers: Optional[Mapping[str, str]] = None) -> Endpoint:
    """Azure OpenAI. GA by default: ``/openai/v1/realtime?model=<deployment>`` (no api-version). With an
    ``api_version`` the preview path ``/openai/realtime?api-version=..&deployment=..`` and the beta protocol.

    Auth: ``api-key`` header, or ``Authorization: Bearer`` with a token from ``credential`` (any azure-identity
    ``TokenCredential``, scope ``https://cognitiveservices.azure.com/.default``), fetched at every connect.
    """
    if not endpoint:
        raise ConfigurationError("Azure needs an endpoint (https://<resource>.openai.azure.com)")
    if not deployment:
        raise ConfigurationError("Azure needs a deployment name")
    if credential is not None and api_key is not None:
        raise ConfigurationError("pass api_key= or credential=, not both")
    if credential is not None:
        if not callable(getattr(credential, "get_token", None)):
            raise ConfigurationError("credential must be a TokenCredential (with get_token(scope))")
        auth: Tuple[str, Any] = ("entra", credential)
    else:
        key = api_key if api_key is not None else os.environ.get("AZURE_OPENAI_API_KEY")
        if key is None:
            raise ConfigurationError("no Azure key: pass api_key=, credential=, or set AZURE_OPENAI_API_KEY")
        auth = ("api-key", key)
    base = endpoint.rstrip("/")
    if base.endswith("/openai/v1"):
        base = base[: -len("/openai/v1")]
    elif base.endswith("/openai"):
        base = base[: -len("/openai")]
    if api_version:
        url = to_websocket_url(base, "/openai/realtime", {"api-version": api_version, "deployment": deployment})
        dialect = Dialect.BETA
    else:
        url = to_websocket_url(base, "/openai/v1/realtime", {"model": deployment})
        dialect = Dialect.GA
    ep = Endpoint(url, dialect, auth, kind="azure", extra_headers=extra_headers)
    log.debug("Azure realtime endpoint %s (protocol %s, auth %s)", redact_url(url), dialect.value, auth[0])
    return ep


def endpoint_from_env(*, model: Optional[str] = None, credential: Any = None,
                      environ: Optional[Mapping[str, str]] = None) -> Endpoint:
    """Pick OpenAI or Azure from the standard variables.

    Azure when ``AZURE_OPENAI_ENDPOINT`` is set (deployment from ``AZURE_OPENAI_DEPLOYMENT`` or
    ``AZURE_OPENAI_REALTIME_DEPLOYMENT``, else ``model``; key ``AZURE_OPENAI_API_KEY`` unless a credential is
    given; preview protocol when ``AZURE_OPENAI_API_VERSION`` / ``OPENAI_API_VERSION`` is set); otherwise OpenAI
    with ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
    """
    env = os.environ if environ is None else environ

    def get(*names: str) -> Optional[str]:
        for name in names:
            if env.get(name):
                return env[name]
        return None

    azure = get("AZURE_OPENAI_ENDPOINT")
    if azure:
        deployment = get("AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_REALTIME_DEPLOYMENT", "AZURE_OPENAI_DEPLOYMENT_NAME")
        deployment = deployment or model or DEFAULT_MODEL
        version = get("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION")
        key = None if credential is not None else get("AZURE_OPENAI_API_KEY")
        if credential is None and key is None:
            raise ConfigurationError("AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not "
                                     "(or pass credential=DefaultAzureCredential())")
        return azure_endpoint(azure, deployment, api_key=key, credential=credential, api_version=version)
    key = get("OPENAI_API_KEY")
    if key is None:
        raise ConfigurationError("set OPENAI_API_KEY, or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY")
    return openai_endpoint(key, model=model or get("OPENAI_REALTIME_MODEL") or DEFAULT_MODEL,
                           endpoint=get("OPENAI_BASE_URL"))


_SECRET_PARAMS = ("api-key", "api_key", "key", "token", "access_token", "sig")

#: Keys and tokens by their shape: a bearer or ``api-key`` value, ``sk-``/``ek_``/``whsec_`` keys, JWTs.
_KEY_SHAPES = re.compile(r"(?i)(bearer\s+|api-key[\"':= ]+)[^\s\"',]+|(?:sk-|ek_)[A-Za-z0-9_\-]{8,}"
                         r"|\b(?:sk|ek|whsec)[-_][A-Za-z0-9_\-]{8,}|eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_.\-]+")


def mask_key_shapes(text: str) -> str:
    """``text`` with anything shaped like a key or token replaced by ``***`` (for what servers send back: error
    bodies and reasons may echo keys this process never sent). :meth:`Endpoint.scrub` masks the exact ones sent."""
    return _KEY_SHAPES.sub(lambda m: (m.group(1) or "") + "***", text)


#: what may be a secret in a credential library's message: JWTs, ``sk-`` keys, ``secret=/password=/token=`` values,
#: and long unbroken runs of key-like characters
_SECRET_PATTERNS = (
    re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"),
    re.compile(r"\bsk-[\w-]{8,}"),
    re.compile(r"(?i)(secret|password|token|key|assertion|signature)(\s*[=:]\s*)[^\s,;'\"]+"),
    re.compile(r"[A-Za-z0-9+/_~.-]{40,}={0,2}"),
)


def _safe_cause(exc: BaseException, limit: int = 600) -> str:
    """What a credential library said (``str(exc)``), on one line, without anything that looks like a secret."""
    text = " ".join(str(exc).split())
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + m.group(2) + "***") if m.lastindex else "***", text)
    if len(text) > limit:
        text = text[:limit] + "..."
    return text or "(no message)"


def redact_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters (``api-key=``...) replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = []
    for pair in parts.query.split("&"):
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}=***" if sep and name.lower() in _SECRET_PARAMS else pair)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(pairs), ""))
