"""Where translation sessions connect, and their client secrets (ADDENDUM-2026-12 A3).

The WebSocket is ``<base>/realtime/translations?model=<model>`` with the client's own auth (a bearer API key, or an
``ek_`` translation secret); :func:`create_translation_secret` mints such a secret over REST
(``POST <base>/realtime/translations/client_secrets``, through :class:`~realtime_sync.rest.RestClient`). Azure
OpenAI documents no translation endpoint, so an Azure client raises :class:`ConfigurationError` here (as
openai-python refuses it), and so does a model or a query carrying an ``intent``.
"""
import copy
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..endpoints import Endpoint
from ..errors import ConfigurationError
from ..protocol import Dialect
from ..protocol.translation import KEEP, TRANSLATION_MODEL, TranslationOptions

if TYPE_CHECKING:  # requests loads with the first REST call
    from ..rest import ClientSecret

__all__ = ["translation_endpoint", "initial_options", "create_translation_secret"]

log = logging.getLogger("realtime_sync.translation")


def _check_provider(endpoint: Endpoint) -> None:
    if endpoint.kind == "azure":
        raise ConfigurationError("Azure OpenAI documents no realtime translation endpoint: translation sessions "
                                 "need an OpenAI client (RealtimeClient(api_key=...))")


def translation_endpoint(endpoint: Endpoint, model: str = TRANSLATION_MODEL) -> Endpoint:
    """A copy of a client's ``/realtime`` endpoint for translation sessions: the path gains ``/translations``,
    ``model`` replaces the realtime model, other query parameters stay; always the GA shape (no ``OpenAI-Beta``
    header: translation has one protocol)."""
    _check_provider(endpoint)
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(f"a translation model is required (e.g. {TRANSLATION_MODEL!r}), not {model!r}")
    parts = urlsplit(endpoint.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "intent" for k, _ in query):
        raise ConfigurationError("translation sessions do not take an intent query parameter")
    query = [(k, v) for k, v in query if k not in ("model", "call_id")] + [("model", model)]
    path = parts.path.rstrip("/")
    if not path.endswith("/realtime"):
        path += "/realtime"
    out = copy.copy(endpoint)
    out.url = urlunsplit((parts.scheme, parts.netloc, path + "/translations", urlencode(query), ""))
    out.dialect = Dialect.GA
    return out


def initial_options(target_language: str, transcribe_input: Any = None,
                    noise_reduction: Any = None) -> TranslationOptions:
    """The configuration a new session is given: the target language (required), input transcription and noise
    reduction when asked for (None leaves the server's default: off)."""
    if not isinstance(target_language, str) or not target_language.strip():
        raise ConfigurationError(f"target_language must be a language code such as 'es', not {target_language!r}")
    return TranslationOptions(target_language=target_language,
                              transcribe_input=KEEP if transcribe_input in (None, False) else transcribe_input,
                              noise_reduction=KEEP if noise_reduction is None else noise_reduction)


def create_translation_secret(endpoint: Endpoint, target_language: Optional[str] = None, *,
                              transcribe_input: Any = None, noise_reduction: Any = None,
                              model: str = TRANSLATION_MODEL, expires_after: int = 600,
                              timeout: Optional[float] = None, max_retries: int = 2,
                              sleep: Callable[[float], Any] = time.sleep) -> "ClientSecret":
    """Mint an ephemeral key (``ek_...``) for translation sessions in a browser or on a device
    (``POST <base>/realtime/translations/client_secrets``): a :class:`~realtime_sync.rest.ClientSecret`. It
    opens sessions of ``model`` with this configuration until it expires (``expires_after``, 10-7200 s); a
    session outlives it."""
    from ..rest import DEFAULT_TIMEOUT, RestClient, client_secret_from_reply, expires_after_wire

    _check_provider(endpoint)
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(f"a translation model is required (e.g. {TRANSLATION_MODEL!r}), not {model!r}")
    options = TranslationOptions(
        target_language=KEEP if target_language is None else target_language,
        transcribe_input=KEEP if transcribe_input in (None, False) else transcribe_input,
        noise_reduction=KEEP if noise_reduction is None else noise_reduction)
    body = {"expires_after": expires_after_wire(expires_after), "session": {"model": model, **options.to_wire()}}
    rest = RestClient(endpoint, timeout=DEFAULT_TIMEOUT if timeout is None else timeout, max_retries=max_retries,
                      sleep=sleep)
    secret = client_secret_from_reply(rest.post("/realtime/translations/client_secrets", body))
    log.info("translation client secret minted (expires in %d s)", expires_after)
    return secret
