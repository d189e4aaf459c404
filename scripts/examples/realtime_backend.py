"""The Realtime side of the example web apps, framework-neutral (Flask: ``flask_app/app.py``; Django:
``django_project/``). Copy it into your app as a module of its own; the views only translate HTTP.

What a synchronous web app does with the Realtime API, and how this module does it:

* **one question, one session** (:meth:`RealtimeBackend.ask_once`): each request opens a session, asks, closes it.
  Simple and isolated; every request pays for a connection (a fraction of a second against the service).
* **one session shared by every request thread** (:class:`SharedSession`): opened on first use (one thread connects,
  the others wait for it), reconnected by the library when the network or the service drops it, opened again if
  it ended for good, closed when the app stops. ``session.ask`` from many threads is
  safe: turns go one at a time, first come first served, each caller getting its own answer within its own timeout
  (which covers the wait for its turn). So the answers are serialised: at most one answer at a time per process.
  Each request's question and answer are deleted from the conversation once answered, so requests do not see each
  other and the context does not grow. Under gunicorn each worker process has its own shared session.
* **browser keys** (:meth:`RealtimeBackend.browser_token`): the backend mints a short-lived ``ek_`` key (the
  API key never leaves the server); the page opens the WebSocket itself with the key as a subprotocol.
* **phone calls** (:class:`PhoneLine`): the SIP webhook is verified (bad signature: 400, the call is not touched),
  the call accepted with a tool, and a background thread attaches to it and runs the conversation (greeting, the
  caller's keypad digits, a tool answer), then hangs up. The webhook answers at once; the call goes on.

Configuration (:meth:`Settings.from_env`): ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` (the simulator's
``http://127.0.0.1:PORT/v1``, or unset for the service), ``REALTIME_MODEL`` (the library's default) and
``OPENAI_WEBHOOK_SECRET`` (``whsec_...``, needed for phone calls only).
"""
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from realtime_sync import ConversationItem, RealtimeClient, RealtimeSession, SessionOptions, webhooks
from realtime_sync.dtmf import DtmfCollector
from realtime_sync.endpoints import DEFAULT_MODEL
from realtime_sync.errors import (ConnectionClosedError, RealtimeError, RealtimeTimeoutError, RestError,
                                  SessionClosedError, UnexpectedWebhookEventError, WebhookVerificationError)
from realtime_sync.protocol import (ConversationUpdate, OutputAudioBufferClearedUpdate,
                                    OutputAudioBufferStartedUpdate, OutputAudioBufferStoppedUpdate)
from realtime_sync.tools import ToolRegistry

__all__ = ["Settings", "RealtimeBackend", "SharedSession", "PhoneLine", "lookup_bill", "PAGE_PATH"]

log = logging.getLogger("examples.realtime_backend")
Json = Dict[str, Any]
Reply = Tuple[int, Json]  #: an HTTP status and a JSON body, which each framework sends its own way

#: the browser page (served as it is by both apps)
PAGE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "index.html")
ASK_TIMEOUT = 30.0  #: seconds a request waits for its answer (its turn included, on the shared session)
MAX_QUESTION = 2000  #: characters
HELP_DESK = SessionOptions(instructions="You are the help desk of Example Energy. Answer in one short sentence.",
                           output_modalities=["text"])


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: Optional[str] = None  #: None: the service (``https://api.openai.com/v1``)
    model: str = DEFAULT_MODEL
    webhook_secret: Optional[str] = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        return cls(api_key=environ.get("OPENAI_API_KEY", ""), base_url=environ.get("OPENAI_BASE_URL") or None,
                   model=environ.get("REALTIME_MODEL") or DEFAULT_MODEL,
                   webhook_secret=environ.get("OPENAI_WEBHOOK_SECRET") or None)

    def client(self) -> RealtimeClient:
        return RealtimeClient(self.api_key, endpoint=self.base_url, model=self.model)


class SharedSession:
    """One long-lived session shared by every request thread of the process."""

    def __init__(self, client: RealtimeClient, options: SessionOptions, connect_timeout: float = 10.0) -> None:
        self._client = client
        self._options = options
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()  # held while connecting: the other threads wait for that one session
        self._session: Optional[RealtimeSession] = None
        self._closed = False

    def session(self, timeout: float) -> RealtimeSession:
        """The live session: opened on first use, and again if it ended (expired, or the network went away)."""
        if not self._lock.acquire(timeout=timeout):
            raise RealtimeTimeoutError(f"the shared session was not ready within {timeout} s")
        try:
            if self._closed:
                raise SessionClosedError("the shared session is closed: the app is stopping")
            if self._session is None or self._session.closed:
                log.info("opening the shared session")
                self._session = self._client.start_session(self._options, timeout=min(timeout,
                                                                                      self._connect_timeout))
            return self._session
        finally:
            self._lock.release()

    def ask(self, question: str, timeout: float = ASK_TIMEOUT) -> str:
        """The answer (the turn waits for the ones asked before it). When the connection drops or the service ends
        the session (its 60-minute limit), the library reconnects and restores it: questions asked meanwhile wait
        for it, and one that was being answered at that moment fails (SessionInterruptedError: ask again)."""
        deadline = time.monotonic() + timeout
        session = self.session(timeout)
        result = session.ask(text=question, timeout=max(0.0, deadline - time.monotonic()))
        # forget this exchange: the next request starts from the instructions alone, and the context stays small
        try:
            for item_id in [result.user_item_id] + [item.id for item in result.items]:
                if item_id:
                    session.delete_item(item_id)
        except RealtimeError:  # the session ended just now: its conversation went with it
            pass
        return result.output_text

    def close(self) -> None:
        with self._lock:
            self._closed = True
            session, self._session = self._session, None
        if session is not None:
            session.close()


# -- the phone line ------------------------------------------------------------------------------------------------
def lookup_bill(account: str) -> Json:
    """Look up the amount due on a customer account.

    :param account: the account number the caller typed
    """
    return {"account": account, "amount_due": "42.00 USD", "due_date": "2026-12-31"}


PHONE_OPTIONS = SessionOptions(
    instructions="You answer the billing line of Example Energy. Greet the caller and ask them to type their "
                 "account number on the keypad, then the hash key. Use lookup_bill to tell them what they owe.",
    tools=ToolRegistry([lookup_bill]).definitions())
GREETING = ConversationItem.system_message("A caller is on the line: greet them.")


class _CallerHears:
    """Follows the call's audio: the service says when what the assistant says starts and stops playing."""

    def __init__(self) -> None:
        self._quiet = threading.Event()
        self._quiet.set()

    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, OutputAudioBufferStartedUpdate):
            self._quiet.clear()
        elif isinstance(update, (OutputAudioBufferStoppedUpdate, OutputAudioBufferClearedUpdate)):
            self._quiet.set()

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        self._quiet.set()

    def wait_quiet(self, timeout: float) -> bool:
        return self._quiet.wait(timeout)


class PhoneLine:
    """Answers SIP calls: :meth:`webhook` is the view's body; each accepted call runs on a thread of its own."""

    def __init__(self, client: RealtimeClient, secret: Optional[str], *, digit_timeout: float = 60.0) -> None:
        self._client = client
        self._secret = secret
        self._digit_timeout = digit_timeout
        self._lock = threading.Lock()
        self._calls: Dict[str, Tuple[threading.Thread, List[RealtimeSession]]] = {}
        self._closing = False

    def webhook(self, body: bytes, headers: Any) -> Reply:
        """``body``: the raw request body; ``headers``: the request's headers (any mapping, WSGI names too)."""
        try:
            call = webhooks.verify(body, headers, self._secret)
        except UnexpectedWebhookEventError as exc:
            return 200, {"ignored": exc.event.type}  # another event type, correctly signed
        except WebhookVerificationError as exc:
            log.warning("webhook refused (%s)", exc.reason)
            return 400, {"error": exc.reason}
        try:
            self._client.calls.accept(call.call_id, PHONE_OPTIONS)
        except RealtimeError as exc:  # the call ended meanwhile, or the service is unreachable (it redelivers)
            log.warning("call %s not accepted: %s", call.call_id, type(exc).__name__)
            return 500, {"error": type(exc).__name__}
        thread = threading.Thread(target=self._converse, args=(call.call_id,), name=f"call-{call.call_id[-8:]}",
                                  daemon=True)
        with self._lock:
            self._calls[call.call_id] = (thread, [])
        thread.start()
        return 200, {"accepted": call.call_id}

    def _converse(self, call_id: str) -> None:
        try:
            with self._client.attach_call(call_id, timeout=10) as session:
                with self._lock:
                    self._calls[call_id][1].append(session)
                    closing = self._closing
                if not closing:
                    self._talk(call_id, session)
        except RealtimeError as exc:  # the caller hung up, or the connection failed
            log.info("call %s ended: %s", call_id, type(exc).__name__)
        finally:
            with self._lock:
                self._calls.pop(call_id, None)

    def _talk(self, call_id: str, session: RealtimeSession) -> None:
        session.register_tool(lookup_bill, update_session=False)  # the accept declared it; this answers it
        hears = _CallerHears()
        session.add_observer(hears)
        with DtmfCollector(session) as keypad:  # from now on no key press is lost
            session.ask(GREETING, timeout=ASK_TIMEOUT)
            try:
                account = keypad.read(terminators="#", timeout=self._digit_timeout, inter_digit_timeout=10)
            except RealtimeTimeoutError:
                account = ""
            if account:
                session.ask(text=f"My account number is {account}.", timeout=ASK_TIMEOUT)  # the tool answers
            else:
                session.ask(ConversationItem.system_message("The caller typed nothing: say goodbye."),
                            timeout=ASK_TIMEOUT)
        hears.wait_quiet(ASK_TIMEOUT)  # let the caller hear the end before hanging up
        try:
            self._client.calls.hangup(call_id)
        except RestError as exc:  # the caller hung up first
            log.info("call %s: hangup refused (%s)", call_id, exc.code)

    @property
    def active_calls(self) -> List[str]:
        with self._lock:
            return list(self._calls)

    def join(self, timeout: float) -> bool:
        """Wait for the calls in progress to end; False if some are still going at the deadline."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [thread for thread, _ in self._calls.values()]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.active_calls

    def close(self, timeout: float = 5.0) -> None:
        """Stop answering: the sidebands close (the calls go on at the service) and the call threads end."""
        with self._lock:
            self._closing = True
            calls = list(self._calls.values())
        for thread, sessions in calls:
            for session in sessions:
                session.close()
            thread.join(timeout)


class RealtimeBackend:
    """Everything the views need, built from :class:`Settings`; close it when the app stops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = settings.client()
        self.shared = SharedSession(self.client, HELP_DESK)
        self.phone = PhoneLine(self.client, settings.webhook_secret)

    def ask_once(self, question: str, timeout: float = ASK_TIMEOUT) -> str:
        """A session of its own for one question."""
        deadline = time.monotonic() + timeout
        with self.client.start_session(HELP_DESK, timeout=min(timeout, 10.0)) as session:
            return session.ask(text=question, timeout=max(0.0, deadline - time.monotonic())).output_text

    def answer(self, payload: Any, shared: bool) -> Reply:
        """The ask views: ``{"question": "..."}`` in, ``{"question": ..., "answer": ...}`` out."""
        question = payload.get("question") if isinstance(payload, dict) else None
        if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION:
            return 400, {"error": f"send JSON {{\"question\": \"...\"}} (1 to {MAX_QUESTION} characters)"}
        ask: Callable[[str], str] = self.shared.ask if shared else self.ask_once
        try:
            answer = ask(question.strip())
        except RealtimeTimeoutError:
            return 504, {"error": "the assistant did not answer in time"}
        except ConnectionClosedError as exc:  # the session ended or was interrupted under the question
            log.warning("ask interrupted: %s", type(exc).__name__)
            return 503, {"error": "the assistant was interrupted: ask again"}
        except RealtimeError as exc:  # texts may say more than a browser should see: log them, answer the type
            log.warning("ask failed: %s: %s", type(exc).__name__, exc)
            return 502, {"error": type(exc).__name__}
        return 200, {"question": question, "answer": answer}

    def browser_token(self) -> Reply:
        """A key for the page: ``value`` (``ek_...``, for 10 minutes), ``expires_at`` and the WebSocket ``url``."""
        try:
            secret = self.client.create_client_secret(HELP_DESK, expires_after=600, timeout=10)
        except RealtimeError as exc:
            log.warning("no browser key: %s: %s", type(exc).__name__, exc)
            return 502, {"error": type(exc).__name__}
        return 200, {"value": secret.value, "expires_at": secret.expires_at, "url": self.client.url}

    def close(self) -> None:
        self.phone.close()
        self.shared.close()


def read_page() -> bytes:
    with open(PAGE_PATH, "rb") as f:
        return f.read()
