"""FakeRealtimeServer: a local simulator of the OpenAI / Azure OpenAI Realtime WebSocket service.

It listens on a loopback port (ephemeral by default) and serves ``/v1/realtime?model=`` (OpenAI), Azure GA
``/openai/v1/realtime?model=`` and Azure preview ``/openai/realtime?api-version=&deployment=`` over the threaded
server of the ``websockets`` package, plus ``POST /v1/realtime/client_secrets`` and the SIP calls endpoints, with a
phone that places calls to an app (:meth:`FakeRealtimeServer.place_call`), and live translation sessions on
``/v1/realtime/translations?model=`` with ``POST /v1/realtime/translations/client_secrets``
(:mod:`realtime_sync.testing.translation`). See the package docstring.
"""
import fnmatch
import inspect
import logging
import os
import secrets as _secrets
import selectors
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from websockets.sync.server import serve

from ..errors import RealtimeTimeoutError
from ..protocol import Dialect
from .calls import CallRegistry
from .connection import Route, ServerConfig, SimConnection
from .faults import Faults
from .phone import AudioInput, PlacedCall, place_call
from .responder import Responder, Transcriber, default_responder, default_transcriber
from .rest import mint_secret, mint_translation_secret, serve_http
from .routing import DEFAULT_MODELS, route_request
from .translation import TranslationConnection
from .translation_session import TRANSLATION_MODELS
from .translator import Translator, default_translator

__all__ = ["FakeRealtimeServer"]

logger = logging.getLogger("realtime_sync.testing.server")
Json = Dict[str, Any]
MAX_MESSAGE = 32 * 1024 * 1024  #: a 15 MiB append is ~20 MiB of base64


class FakeRealtimeServer:
    """A local Realtime service for tests, examples and benchmarks.

    Args:
        responder: ``(ResponderContext) -> Reply | str``; default :func:`default_responder`.
        transcriber: ``(TranscriptionRequest) -> str`` for input audio transcription; default names the duration.
        api_key: the key clients must present (``Authorization: Bearer`` or ``api-key``); random when None.
        host, port: where to listen (loopback, ephemeral port by default).
        pace: 1.0 streams audio at real-time rate with model-like latencies; 0 sends everything at once (tests);
            0.1 is ten times faster than real time.
        models: fnmatch patterns of accepted models on OpenAI paths (None: any model).
        azure_deployments: accepted Azure deployment names (None: any).
        allow_beta: serve the beta protocol (``OpenAI-Beta: realtime=v1``) on the OpenAI path, for tests of the beta
            dialect. Off by default: like today's OpenAI, a beta request gets ``beta_api_shape_disabled`` and close
            4000. Azure preview paths speak beta either way.
        rate_limits: send ``rate_limits.updated`` after each ``response.done``.
        session_seconds: session lifetime before ``session_expired`` (the service's 60 minutes by default).
        ping_interval: seconds between the server's WebSocket pings (the service pings every ~20 s).
        validate: check every emitted event against the strict schema (failures in :attr:`validation_errors`).
        event_hook: called as ``hook(connection, event)`` before each server event is sent.
        translator: ``(text, language) -> str`` for translation sessions; default :func:`default_translator`
            (``"[es] good morning everyone"``).
        translation_models: models ``/v1/realtime/translations`` accepts (exact names; None: any).
        translation_languages: output languages translation sessions accept (None: any language code).
    """

    def __init__(self, *, responder: Optional[Responder] = None, transcriber: Optional[Transcriber] = None,
                 api_key: Optional[str] = None, host: str = "127.0.0.1", port: int = 0, pace: float = 1.0,
                 models: Optional[Sequence[str]] = DEFAULT_MODELS, azure_deployments: Optional[Sequence[str]] = None,
                 allow_beta: bool = False, rate_limits: bool = True, session_seconds: float = 3600.0,
                 ping_interval: Optional[float] = 20.0, validate: bool = False,
                 event_hook: Optional[Callable[[SimConnection, Json], None]] = None,
                 translator: Optional[Translator] = None,
                 translation_models: Optional[Sequence[str]] = TRANSLATION_MODELS,
                 translation_languages: Optional[Sequence[str]] = None) -> None:
        self.api_key = api_key or "sk-test-" + _secrets.token_hex(16)
        self._host, self._port = host, port
        self._models = tuple(models) if models is not None else None
        self._azure_deployments = tuple(azure_deployments) if azure_deployments is not None else None
        self._refuse_beta = not allow_beta
        self._ping_interval = ping_interval
        self._config = ServerConfig(responder=responder or default_responder,
                                    transcriber=transcriber or default_transcriber, pace=max(0.0, float(pace)),
                                    rate_limits=rate_limits, session_seconds=session_seconds, validate=validate,
                                    event_hook=event_hook)
        self.faults = Faults(self)
        #: SIP calls placed with :meth:`place_call`, by id (see :mod:`realtime_sync.testing.calls`)
        self.calls = CallRegistry(self)
        self._translator: Translator = translator or default_translator
        self._translation_models = tuple(translation_models) if translation_models is not None else None
        self._translation_languages = tuple(translation_languages) if translation_languages is not None else None
        self._translation_secrets: Dict[str, Tuple[int, Json]] = {}
        #: strict-schema failures of emitted events (``validate=True`` or inside a validation scope)
        self.validation_errors: List[str] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._received: List[Json] = []
        self._connections: List[SimConnection] = []
        self._routes: Dict[int, Route] = {}
        self._secrets: Dict[str, Tuple[int, Dialect, Json]] = {}
        self._threads: List[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener: Optional[socket.socket] = None
        self._ws_server: Any = None
        self._accept_thread: Optional[threading.Thread] = None
        self._wake_r: Any = None
        self._wake_w: Any = None

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def start(self) -> "FakeRealtimeServer":
        if self._listener is not None:
            return self
        self._stopping.clear()
        listener = socket.create_server((self._host, self._port))
        kwargs: Dict[str, Any] = dict(sock=listener, process_request=self._process_request,
                                      select_subprotocol=self._select_subprotocol, compression=None,
                                      max_size=MAX_MESSAGE, server_header="realtime-sync-simulator")
        params = inspect.signature(serve).parameters
        if "ping_interval" in params:
            kwargs.update(ping_interval=self._ping_interval, ping_timeout=20.0 if self._ping_interval else None)
        if "close_timeout" in params:
            kwargs["close_timeout"] = 2.0
        self._ws_server = serve(self._handle_ws, **kwargs)
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, name="rt-sim-accept", daemon=True)
        self._accept_thread.start()
        logger.info("simulator listening on %s:%d", self._host, self._port)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (1001), stop listening and join the server's threads (bounded by ``timeout``)."""
        if self._listener is None:
            return
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self.calls.end_all()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        closers = [threading.Thread(target=c.shutdown, name="rt-sim-stop", daemon=True)
                   for c in self._open_connections()]
        for t in closers:
            t.start()
        with self._lock:
            threads = list(self._threads)
        for t in closers + threads + ([self._accept_thread] if self._accept_thread else []):
            t.join(max(0.0, deadline - time.monotonic()))
        for conn in self.connections:
            conn._drop() if conn.is_open else None
        for name in ("shutdown_watcher", "shutdown_notifier"):  # serve_forever() (never run) would close these
            handle = getattr(self._ws_server, name, None)
            try:
                os.close(handle) if isinstance(handle, int) else handle.close() if handle is not None else None
            except OSError:
                pass
        for sock in (self._listener, self._wake_r, self._wake_w):
            try:
                sock.close()
            except OSError:
                pass
        self._listener = None
        logger.info("simulator stopped")

    def __enter__(self) -> "FakeRealtimeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (``http://127.0.0.1:PORT/v1``); clients append ``/realtime``."""
        return f"http://{self._host}:{self._port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host}:{self._port}/v1/realtime"

    def url(self, model: str = "gpt-realtime", intent: Optional[str] = None) -> str:
        """The full WebSocket URL of an OpenAI session for ``model``; ``intent="transcription"`` gives the URL of
        a transcription session (``?intent=transcription``, no model)."""
        if intent is not None:
            return f"{self.ws_url}?intent={intent}"
        return f"{self.ws_url}?model={model}"

    def translation_url(self, model: str = TRANSLATION_MODELS[0]) -> str:
        """The WebSocket URL of a translation session (``/v1/realtime/translations?model=``)."""
        return f"ws://{self._host}:{self._port}/v1/realtime/translations?model={model}"

    @property
    def pace(self) -> float:
        return self._config.pace

    @pace.setter
    def pace(self, value: float) -> None:
        self._config.pace = max(0.0, float(value))

    @property
    def responder(self) -> Responder:
        return self._config.responder

    @responder.setter
    def responder(self, value: Optional[Responder]) -> None:
        """Swap the responder (applies to responses created from now on)."""
        self._config.responder = value or default_responder

    @property
    def translator(self) -> Translator:
        return self._translator

    @translator.setter
    def translator(self, value: Optional[Translator]) -> None:
        """Swap the translator (applies to phrases translated from now on)."""
        self._translator = value or default_translator

    # -- inspection ---------------------------------------------------------------------------------------------------
    @property
    def received(self) -> List[Json]:
        """Every client event received so far (all connections), as dicts, in arrival order."""
        with self._lock:
            return list(self._received)

    def clear_received(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for_received(self, event_type: str, timeout: float = 5.0, count: int = 1,
                          predicate: Optional[Callable[[Json], bool]] = None) -> Json:
        """Block until ``count`` client events of ``event_type`` (matching ``predicate``) arrived; return the
        ``count``-th. Raises :class:`~realtime_sync.errors.RealtimeTimeoutError`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self._received if e.get("type") == event_type and (predicate is None
                                                                                       or predicate(e))]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RealtimeTimeoutError(f"no {count} {event_type!r} client event(s) within {timeout} s")
                self._cond.wait(left)

    @property
    def connections(self) -> List[SimConnection]:
        """Every session opened so far, in order (closed ones included)."""
        with self._lock:
            return list(self._connections)

    def wait_for_connection(self, index: int = 0, timeout: float = 5.0) -> SimConnection:
        """The ``index``-th session (0: the first), waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._connections) <= index:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RealtimeTimeoutError(f"no connection #{index} within {timeout} s")
                self._cond.wait(left)
            return self._connections[index]

    def _open_connections(self) -> List[SimConnection]:
        with self._lock:
            return [c for c in self._connections if c.is_open]

    # -- phone calls --------------------------------------------------------------------------------------------------
    def place_call(self, webhook_url: str, secret: str, *, caller: str = "+15550100", audio: AudioInput = None,
                   dtmf: str = "", timeout: float = 10.0, wait_for_greeting: bool = True,
                   to: str = "sip:proj_simulator@sip.api.openai.com", sip_headers: Optional[List[Json]] = None,
                   sip_media_security: Optional[str] = "srtp",
                   webhook_timeout: Optional[float] = None) -> PlacedCall:
        """Place a SIP call to the app whose webhook is ``webhook_url``: POST a ``realtime.call.incoming`` signed
        with ``secret``, wait for the accept and a sideband, then play ``audio`` (WAV path or PCM16 24 kHz bytes)
        and press ``dtmf`` into the call. Returns a :class:`~realtime_sync.testing.phone.PlacedCall` at once; see
        :func:`realtime_sync.testing.phone.place_call`."""
        return place_call(self, webhook_url, secret, caller=caller, audio=audio, dtmf=dtmf, timeout=timeout,
                          wait_for_greeting=wait_for_greeting, to=to, sip_headers=sip_headers,
                          sip_media_security=sip_media_security, webhook_timeout=webhook_timeout)

    def _track_thread(self, thread: threading.Thread) -> None:
        """A thread ``stop()`` joins (within its timeout), besides the connections'."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)

    def _model_allowed(self, model: str, azure: bool = False) -> bool:
        """Whether a model (an Azure deployment when ``azure``) is served."""
        if azure:
            return self._azure_deployments is None or model in self._azure_deployments
        return self._models is None or any(fnmatch.fnmatchcase(model, p) for p in self._models)

    # -- keys ---------------------------------------------------------------------------------------------------------
    def mint_client_secret(self, seconds: int = 600, session: Optional[Json] = None) -> Json:
        """Mint an ephemeral key as ``POST /v1/realtime/client_secrets`` would; returns the reply body."""
        status, body = mint_secret(self, {"expires_after": {"anchor": "created_at", "seconds": seconds},
                                          "session": session or {"type": "realtime"}})
        if status != 200:
            raise ValueError(body["error"]["message"])
        return body

    def mint_translation_secret(self, seconds: int = 600, session: Optional[Json] = None) -> Json:
        """Mint a translation client secret as ``POST /v1/realtime/translations/client_secrets`` would (``session``
        defaults to ``{"model": "gpt-realtime-translate"}``); returns the reply body. Raises ValueError (the
        service's message) when the request would be refused."""
        status, body = mint_translation_secret(self, {"expires_after": {"anchor": "created_at", "seconds": seconds},
                                                      "session": session or {"model": TRANSLATION_MODELS[0]}})
        if status != 200:
            raise ValueError(body["error"]["message"])
        return body

    def _store_translation_secret(self, value: str, expires_at: int, session: Json) -> None:
        with self._lock:
            self._translation_secrets[value] = (expires_at, session)

    def _check_translation_key(self, key: Optional[str]) -> Tuple[bool, Optional[Json]]:
        """(valid, session of the secret) for a translation session's key: the API key or a translation secret."""
        if not key:
            return False, None
        if _secrets.compare_digest(key, self.api_key):
            return True, None
        found = self._live_secret(self._translation_secrets, key)
        return (True, dict(found[1])) if found is not None else (False, None)

    def _live_secret(self, store: Dict[str, Any], key: str) -> Any:
        """The stored entry (its expiry first) of a client secret that has not expired, else None."""
        with self._lock:
            found = store.get(key)
        return found if found is not None and found[0] >= time.time() else None

    def _translation_model_allowed(self, model: str) -> bool:
        return self._translation_models is None or model in self._translation_models

    def _store_secret(self, value: str, expires_at: int, dialect: Dialect, session: Json) -> None:
        with self._lock:
            self._secrets[value] = (expires_at, dialect, session)

    def _check_key(self, key: Optional[str], dialect: Dialect) -> Tuple[bool, Optional[Json]]:
        if not key:
            return False, None
        if _secrets.compare_digest(key, self.api_key):
            return True, None
        found = self._live_secret(self._secrets, key)
        if found is None:
            return False, None
        return True, (dict(found[2]) if found[1] is dialect else None)

    # -- plumbing -----------------------------------------------------------------------------------------------------
    def _record_received(self, event: Json) -> None:
        with self._cond:
            self._received.append(event)
            self._cond.notify_all()

    def _validation_failed(self, conn: SimConnection, event: Json, errors: List[str]) -> None:
        logger.warning("simulator emitted an invalid %s event (%s)", event.get("type"), conn.dialect.value)
        with self._lock:
            self.validation_errors.append(f"{conn.dialect.value} {event.get('type')!r}: {'; '.join(errors)}")

    def _select_subprotocol(self, ws: Any, offered: Sequence[str]) -> Optional[str]:
        return "realtime" if "realtime" in offered else None

    def _process_request(self, ws: Any, request: Any) -> Any:
        target = request.path
        if target.split("?", 1)[0].rstrip("/") in ("", "/health"):
            return ws.respond(200, "ok\n")
        decided = route_request(self, target, request.headers)
        if isinstance(decided, Route):
            with self._lock:
                self._routes[id(ws)] = decided
            return None
        import json as _json

        status, body = decided
        response = ws.respond(status, _json.dumps(body))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        logger.info("handshake refused with HTTP %d", status)
        return response

    def _handle_ws(self, ws: Any) -> None:
        with self._lock:
            route = self._routes.pop(id(ws), None)
        if route is None:
            ws.close(1011, "no route")
            return
        conn = TranslationConnection(self, ws, route) if route.kind == "translation" else SimConnection(self, ws, route)
        with self._cond:
            self._connections.append(conn)
            self._cond.notify_all()
        logger.info("session opened (%s, %s)", route.kind, route.dialect.value)
        conn.run()
        logger.info("session closed after %d events", conn.sent_count)

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                if not selector.select(timeout=1.0) or self._stopping.is_set():
                    continue
                try:
                    sock, addr = listener.accept()
                except OSError:
                    break
                thread = threading.Thread(target=self._dispatch, args=(sock, addr), name="rt-sim-conn", daemon=True)
                self._track_thread(thread)
                thread.start()
        finally:
            selector.close()

    def _dispatch(self, sock: socket.socket, addr: Any) -> None:
        """Peek at the request line: GET goes to the WebSocket server, anything else to the REST handler."""
        head = b""
        try:
            sock.settimeout(10.0)
            for _ in range(200):
                head = sock.recv(8, socket.MSG_PEEK)
                if len(head) >= 4 or not head:
                    break
                time.sleep(0.005)
            sock.settimeout(None)
        except OSError:
            sock.close()
            return
        if not head:
            sock.close()
        elif head.startswith(b"GET "):
            self._ws_server.handler(sock, addr)
        else:
            serve_http(self, sock)
