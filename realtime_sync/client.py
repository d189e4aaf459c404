"""RealtimeClient: connection settings and hooks; starts :class:`RealtimeSession` objects.

The peer of .NET's ``RealtimeConversationClient``::

    client = RealtimeClient()                       # OPENAI_API_KEY, model gpt-realtime-2.1
    with client.start_session() as session:
        session.add_item(ConversationItem.user_message("Hello!"))
        session.start_response()
        for update in session.receive_updates():
            ...
"""
import logging
import time
from urllib.parse import urlencode
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TypeVar, Union

from .endpoints import ApiKey, DEFAULT_MODEL, Endpoint, azure_endpoint, endpoint_from_env, openai_endpoint
from .errors import ConfigurationError
from .protocol import Dialect, SessionOptions
from .protocol.transcription import TranscriptionOptions
from .protocol.model_names import TRANSLATION_MODEL
from .protocol.local import ReconnectedUpdate
from .reconnect import ReconnectPolicy
from .session import RealtimeSession
from ._connection.recovery import ReconnectingInfo
from ._connection.delivery import DEFAULT_QUEUE_LIMIT, QUEUE_POLICIES
from ._connection.frames import DEFAULT_MAX_MESSAGE_SIZE
from ._connection.transport import open_websocket

__all__ = ["RealtimeClient"]

if TYPE_CHECKING:  # REST (and its requests import) and translation load on first use
    from .rest import Calls, ClientSecret
    from .translation import TranslationResult, TranslationSession

log = logging.getLogger("realtime_sync.client")
Hook = TypeVar("Hook", bound=Callable[[str], Any])


def _check_keepalive(ping_interval: Optional[float], dead_peer_timeout: Optional[float]) -> None:
    """A healthy idle session is never declared dead: our ping (answered by a pong) comes well within the
    dead-peer timeout."""
    for name, value in (("ping_interval", ping_interval), ("dead_peer_timeout", dead_peer_timeout)):
        if value is not None and not value > 0:
            raise ConfigurationError(f"{name} must be a positive number of seconds or None, not {value!r}")
    if ping_interval is not None and dead_peer_timeout is not None and ping_interval * 2 > dead_peer_timeout:
        raise ConfigurationError(f"ping_interval ({ping_interval} s) must be at most half of dead_peer_timeout "
                                 f"({dead_peer_timeout} s), or an idle healthy session could be declared dead")


def _check_limits(queue_limit: Optional[int], queue_policy: str, max_message_size: Optional[int]) -> None:
    if queue_policy not in QUEUE_POLICIES:
        raise ConfigurationError(f"queue_policy must be one of {', '.join(QUEUE_POLICIES)}, not {queue_policy!r}")
    for name, value in (("queue_limit", queue_limit), ("max_message_size", max_message_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigurationError(f"{name} must be a positive integer or None, not {value!r}")


class RealtimeClient:
    """Settings for ``/realtime`` connections (OpenAI by default; see :meth:`azure` and :meth:`from_env`).

    ``api_key`` (default ``OPENAI_API_KEY``) may be a callable returning the key, called at every connect.
    ``endpoint`` is the HTTP(S) base URL that ``/realtime`` is appended to (default ``OPENAI_BASE_URL`` or
    ``https://api.openai.com/v1``). ``protocol`` is ``"ga"`` or ``"beta"``.

    Keepalive: a ping every ``ping_interval`` seconds (10); a connection that receives nothing for
    ``dead_peer_timeout`` seconds (30) is declared lost (None disables either). The ping must come well before the
    deadline, so an idle healthy session always has a pong to show: ``ping_interval`` must be at most half of
    ``dead_peer_timeout`` (ConfigurationError otherwise). ``request_timeout`` is the default
    bound of blocking calls; ``close_timeout`` bounds the close handshake. ``websocket_options`` go to
    websocket-client (``http_proxy_host``, ``http_proxy_port``, ``proxy_type``, ``http_no_proxy``, ``sslopt``...).
    ``queue_limit`` caps the updates waiting in ``receive_updates()``'s queue (5000 by default; None: no cap) and
    ``queue_policy`` says what happens past it: ``"drop_oldest"`` (the default) drops the oldest and puts one
    :class:`~realtime_sync.protocol.UpdatesDroppedUpdate` in their place with the count (observers and waiters still
    see every update); ``"block"`` stops reading the socket until the consumer catches up (back-pressure; observers
    and waiters wait too). ``max_message_size`` (8 MiB) is the largest server message accepted: a bigger one
    ends the session with :class:`~realtime_sync.errors.MessageTooLargeError` and close 1009, unread.
    ``connect_timeout`` bounds the whole of :meth:`start_session` (TCP, TLS, the HTTP upgrade, ``session.created``
    and the options' ``session.updated``) as one deadline.

    Each session's built-in features: ``tool_workers`` threads (at most) run registered tools, each call bounded by
    ``tool_timeout`` seconds unless the tool sets its own; the conversation mirror keeps the newest
    ``max_conversation_items`` items.
    """

    def __init__(self, api_key: Optional[ApiKey] = None, *, model: str = DEFAULT_MODEL,
                 endpoint: Optional[str] = None, protocol: Union[str, Dialect] = "ga",
                 ping_interval: Optional[float] = 10.0, dead_peer_timeout: Optional[float] = 30.0,
                 connect_timeout: float = 30.0, request_timeout: Optional[float] = 30.0, close_timeout: float = 2.0,
                 queue_limit: Optional[int] = DEFAULT_QUEUE_LIMIT, queue_policy: str = "drop_oldest",
                 max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
                 websocket_options: Optional[Dict[str, Any]] = None,
                 extra_headers: Optional[Dict[str, str]] = None, tool_workers: int = 4, tool_timeout: float = 30.0,
                 max_conversation_items: int = 500, reconnect: Union[bool, ReconnectPolicy] = True,
                 _endpoint: Optional[Endpoint] = None) -> None:
        _check_keepalive(ping_interval, dead_peer_timeout)
        _check_limits(queue_limit, queue_policy, max_message_size)
        self.reconnect = ReconnectPolicy.coerce(reconnect)
        self._endpoint = _endpoint or openai_endpoint(api_key, model=model, endpoint=endpoint, protocol=protocol,
                                                      extra_headers=extra_headers)
        self.model = model
        self.ping_interval = ping_interval
        self.dead_peer_timeout = dead_peer_timeout
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.close_timeout = close_timeout
        self.queue_limit = queue_limit
        self.queue_policy = queue_policy
        self.max_message_size = max_message_size
        self.websocket_options = dict(websocket_options or {})
        self.tool_workers = tool_workers
        self.tool_timeout = tool_timeout
        self.max_conversation_items = max_conversation_items
        self._send_hooks: List[Callable[[str], Any]] = []
        self._recv_hooks: List[Callable[[str], Any]] = []
        self._reconnecting_hooks: List[Callable[[ReconnectingInfo], Any]] = []
        self._reconnected_hooks: List[Callable[[ReconnectedUpdate], Any]] = []
        self._sessions = 0

    # -- other constructors ---------------------------------------------------------------------------------------
    @classmethod
    def azure(cls, endpoint: str, deployment: str, *, api_key: Optional[ApiKey] = None, credential: Any = None,
              api_version: Optional[str] = None, **kwargs: Any) -> "RealtimeClient":
        """Azure OpenAI: GA ``/openai/v1/realtime?model=<deployment>`` unless ``api_version`` is given (then the
        preview path and the beta protocol). ``api_key`` (default ``AZURE_OPENAI_API_KEY``) is sent as
        ``api-key``; or pass ``credential`` (an azure-identity TokenCredential such as DefaultAzureCredential):
        a token is fetched at each connect and sent as a bearer token."""
        ep = azure_endpoint(endpoint, deployment, api_key=api_key, credential=credential, api_version=api_version,
                            extra_headers=kwargs.pop("extra_headers", None))
        return cls(model=deployment, _endpoint=ep, **kwargs)

    @classmethod
    def from_env(cls, *, model: Optional[str] = None, credential: Any = None, **kwargs: Any) -> "RealtimeClient":
        """OpenAI or Azure from the standard variables: Azure when ``AZURE_OPENAI_ENDPOINT`` is set
        (``AZURE_OPENAI_API_KEY`` or ``credential``, ``AZURE_OPENAI_DEPLOYMENT``, optional
        ``AZURE_OPENAI_API_VERSION``), else OpenAI (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``)."""
        ep = endpoint_from_env(model=model, credential=credential)
        return cls(model=model or DEFAULT_MODEL, _endpoint=ep, **kwargs)

    # -- properties -----------------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    @property
    def url(self) -> str:
        """The WebSocket URL sessions connect to (no secrets in it unless you put one in the query)."""
        return self._endpoint.url

    @property
    def protocol(self) -> Dialect:
        return self._endpoint.dialect

    # -- hooks ----------------------------------------------------------------------------------------------------
    def on_sending_command(self, fn: Hook) -> Hook:
        """Register ``fn(message: str)``, called with the raw JSON text of every message sent, in send order
        (on the session's reader thread, as each frame is handed to the socket). Usable as a decorator."""
        self._send_hooks.append(fn)
        return fn

    def on_receiving_command(self, fn: Hook) -> Hook:
        """Register ``fn(message: str)``, called with the raw JSON text of every message received, in order
        (on the reader thread, before the update is decoded). Usable as a decorator."""
        self._recv_hooks.append(fn)
        return fn

    def on_reconnecting(self, fn: Callable[[ReconnectingInfo], Any]) -> Callable[[ReconnectingInfo], Any]:
        """Register ``fn(info)``, called before each reconnect attempt of any session of this client (on the
        session's reconnect thread) with a :class:`ReconnectingInfo` (attempt, why, error, delay); return False to
        give up (the session then ends with the error). Usable as a decorator."""
        self._reconnecting_hooks.append(fn)
        return fn

    def on_reconnected(self, fn: Callable[[ReconnectedUpdate], Any]) -> Callable[[ReconnectedUpdate], Any]:
        """Register ``fn(update)``, called with the :class:`ReconnectedUpdate` once a session is back and restored
        (the same update ``receive_updates()`` yields). Usable as a decorator."""
        self._reconnected_hooks.append(fn)
        return fn

    def remove_hook(self, fn: Callable[..., Any]) -> None:
        for hooks in (self._send_hooks, self._recv_hooks, self._reconnecting_hooks,
                      self._reconnected_hooks):
            while fn in hooks:
                hooks.remove(fn)

    # -- sessions -------------------------------------------------------------------------------------------------
    def start_session(self, options: Optional[Union[SessionOptions, TranscriptionOptions]] = None,
                      timeout: Optional[float] = None, *, queue_updates: bool = True,
                      intent: Optional[str] = None, _endpoint: Optional[Endpoint] = None) -> RealtimeSession:
        """Connect, wait for ``session.created`` and (with ``options``) for ``session.updated``; return the
        session. ``queue_updates=False`` for apps that only use observers, hooks and ``wait_for`` (updates are
        then not kept for ``receive_updates()``). Raises AuthenticationError, RequestRefusedError,
        ConnectionClosedError, RealtimeTimeoutError,
        RealtimeConnectionError or ServerError (options refused).

        ``intent="transcription"`` opens a transcription-only session (``?intent=transcription``, see
        :meth:`Endpoint.with_intent`): the server transcribes committed input audio and never responds.
        :class:`~realtime_sync.protocol.transcription.TranscriptionOptions` as ``options`` imply that intent and
        are applied with :func:`~realtime_sync.transcription.configure_transcription`."""
        bound = self.connect_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if intent is None and isinstance(options, TranscriptionOptions):
            intent = "transcription"
        ep = (_endpoint or self._endpoint).with_intent(intent)
        headers = ep.headers()
        sock = open_websocket(ep.url, headers, deadline=deadline, options=self.websocket_options, scrub=ep.scrub)

        def connector(attempt_deadline: float, extra_headers: Dict[str, str], query: Dict[str, str]) -> Any:
            """Each reconnect attempt: fresh credentials, the same endpoint (plus what an on_reconnecting hook set)."""
            url = ep.url
            if query:
                url += ("&" if "?" in url else "?") + urlencode(query)
            return open_websocket(url, {**ep.headers(), **extra_headers}, deadline=attempt_deadline,
                                  options=self.websocket_options, scrub=ep.scrub)

        self._sessions += 1
        session = RealtimeSession(sock, dialect=ep.dialect, recv_hooks=self._recv_hooks,
                                  send_hooks=self._send_hooks, ping_interval=self.ping_interval,
                                  dead_peer_timeout=self.dead_peer_timeout, max_message_size=self.max_message_size,
                                  close_timeout=self.close_timeout, request_timeout=self.request_timeout,
                                  queue_limit=self.queue_limit, queue_policy=self.queue_policy,
                                  queue_updates=queue_updates, scrub=ep.scrub,
                                  name=f"realtime-{self._sessions}", tool_workers=self.tool_workers,
                                  tool_timeout=self.tool_timeout,
                                  max_conversation_items=self.max_conversation_items, reconnect=self.reconnect,
                                  connector=connector, on_reconnecting=self._reconnecting_hooks,
                                  on_reconnected=self._reconnected_hooks)
        try:
            session._start(left())
            if isinstance(options, TranscriptionOptions):
                from .transcription import configure_transcription

                configure_transcription(session, options, timeout=left())
            elif options is not None:
                session.configure_session(options, wait=True, timeout=left())
        except BaseException:
            session.close()
            raise
        log.info("session started (%s, protocol %s, intent %s)", ep.kind, ep.dialect.value, intent)
        return session

    # -- translation sessions --------------------------------------------------------------------------------------
    def start_translation(self, target_language: str, *, transcribe_input: Any = None, noise_reduction: Any = None,
                          model: str = TRANSLATION_MODEL, timeout: Optional[float] = None,
                          queue_updates: bool = True, fill_silence: bool = True) -> "TranslationSession":
        """Open a live translation session (``/realtime/translations?model=<model>``) into ``target_language``
        (``"es"``, ``"fr"``...): speech in with ``send_audio``, translated speech and text out through
        ``receive_updates()``; see :class:`~realtime_sync.translation.TranslationSession`. ``transcribe_input``
        (a transcription model, or True for the default) adds the source-language text; ``noise_reduction``:
        ``"near_field"`` / ``"far_field"``. ``timeout`` bounds the connect and the configuration (default
        ``connect_timeout``). An Azure client raises ConfigurationError (Azure documents no translation
        endpoint)."""
        from .translation.connect import initial_options, translation_endpoint
        from .translation.session import TranslationSession

        options = initial_options(target_language, transcribe_input, noise_reduction)
        ep = translation_endpoint(self._endpoint, model)
        bound = self.connect_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound
        sock = open_websocket(ep.url, ep.headers(), deadline=deadline, options=self.websocket_options, scrub=ep.scrub)
        self._sessions += 1
        session = TranslationSession(sock, recv_hooks=self._recv_hooks, send_hooks=self._send_hooks,
                                     ping_interval=self.ping_interval, dead_peer_timeout=self.dead_peer_timeout,
                                     max_message_size=self.max_message_size, close_timeout=self.close_timeout,
                                     request_timeout=self.request_timeout, queue_limit=self.queue_limit,
                                     queue_policy=self.queue_policy, queue_updates=queue_updates, scrub=ep.scrub,
                                     name=f"realtime-translation-{self._sessions}", fill_silence=fill_silence)
        try:
            session._start(options, max(0.0, deadline - time.monotonic()))
        except BaseException:
            session._abort()
            raise
        log.info("translation session started (%s, into %s)", model, target_language)
        return session

    def translate_file(self, source: Any, target_language: str, *, transcribe_input: Any = True,
                       noise_reduction: Any = None, model: str = TRANSLATION_MODEL, timeout: float = 120.0,
                       realtime: bool = False, sample_rate: int = 24000, channels: int = 1) -> "TranslationResult":
        """Translate a file (WAV of any rate, raw PCM16, bytes) in one call: a
        :class:`~realtime_sync.translation.TranslationResult` with the source transcript, the translation and
        the translated speech; see :func:`realtime_sync.translation.translate_file`."""
        from .translation.files import translate_file

        return translate_file(self, source, target_language, transcribe_input=transcribe_input,
                              noise_reduction=noise_reduction, model=model, timeout=timeout, realtime=realtime,
                              sample_rate=sample_rate, channels=channels)

    def create_translation_secret(self, target_language: Optional[str] = None, *, transcribe_input: Any = None,
                                  noise_reduction: Any = None, model: str = TRANSLATION_MODEL,
                                  expires_after: int = 600, timeout: Optional[float] = None) -> "ClientSecret":
        """Mint an ephemeral key for translation sessions in a browser or on a device
        (``POST /realtime/translations/client_secrets``): a :class:`~realtime_sync.rest.ClientSecret`."""
        from .translation.connect import create_translation_secret

        return create_translation_secret(self._endpoint, target_language, transcribe_input=transcribe_input,
                                         noise_reduction=noise_reduction, model=model, expires_after=expires_after,
                                         timeout=self.request_timeout if timeout is None else timeout)

    # -- REST: browser keys and phone calls ------------------------------------------------------------------------
    def create_client_secret(self, options: Any = None, *, expires_after: int = 600,
                             timeout: Optional[float] = None) -> "ClientSecret":
        """Mint an ephemeral key for a browser or a device (``POST /realtime/client_secrets``): a
        :class:`~realtime_sync.rest.ClientSecret` (``value``, ``expires_at``, ``session``, ``subprotocols``).
        ``options``: SessionOptions, TranscriptionOptions or a wire dict."""
        from .rest import create_client_secret

        return create_client_secret(self._endpoint, options, expires_after=expires_after,
                                    timeout=self.request_timeout if timeout is None else timeout)

    @property
    def calls(self) -> "Calls":
        """SIP call control over REST: ``accept(call_id, options)``, ``reject``, ``refer``, ``hangup``."""
        from .rest import Calls

        return Calls(self._endpoint, timeout=self.request_timeout)

    def attach_call(self, call_id: str, options: Optional[SessionOptions] = None, timeout: Optional[float] = None,
                    *, queue_updates: bool = True, model: Optional[str] = None) -> RealtimeSession:
        """Open the sideband WebSocket of an accepted call (``/realtime?call_id=<id>``) and return its session:
        everything a session does works on it (tools, ``ask``...)."""
        from .rest import call_endpoint

        return self.start_session(options, timeout, queue_updates=queue_updates,
                                  _endpoint=call_endpoint(self._endpoint, call_id, model=model))

    def __repr__(self) -> str:
        return f"<RealtimeClient {self._endpoint!r}>"
