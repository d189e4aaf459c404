"""What features rely on: the typed surface of a session (:class:`SessionLike`) and of an observer (:class:`Observer`).

The feature modules (tools, turns, transcription, playback, kiosk, conversation, usage) never import
:class:`~realtime_sync.session.RealtimeSession`: they take a :class:`SessionLike`, so they work with the real
session, with a test double, or with a wrapper an app writes. :class:`RealtimeSession` satisfies every protocol
here (mypy checks it). This module only imports the protocol layer, so every other layer may import it.
"""
import collections
import enum
import logging
import threading
from typing import Any, Dict, FrozenSet, Iterator, Optional, Protocol, Tuple, Union, runtime_checkable

from .protocol import Command, ConversationItem, ConversationUpdate, Dialect, ResponseOptions, SessionInfo
from .protocol.options import SessionOptions

__all__ = ["Observer", "ClosingObserver", "AudioSendStatus", "SendHandle", "SessionLike", "AudioSource",
           "notify_closed", "notify_interrupted", "runs_inline", "TurnQueue"]

#: What ``send_audio`` streams: PCM bytes, a path, a binary file object, or an iterable of byte chunks.
AudioSource = Any


@runtime_checkable
class Observer(Protocol):
    """Sees every update on the reader thread, in order, before it is queued for ``receive_updates()``.
    It must return quickly and never block (hand work to another thread)."""

    def handle_update(self, update: ConversationUpdate) -> None: ...


@runtime_checkable
class ClosingObserver(Observer, Protocol):
    """An observer that is also told, once, that the connection ended (``error`` None after a clean close)."""

    def handle_connection_closed(self, error: Optional[BaseException]) -> None: ...


def notify_interrupted(observer: Any, error: BaseException) -> FrozenSet[str]:
    """Tell ``observer`` the connection dropped and the session is reconnecting (``handle_connection_interrupted``,
    if it has one): per-connection state (a turn in flight, tool continuations, playback) ends here, while the
    session and its conversation go on. The handler may return ids of what must not reach the new connection (those
    of a turn that now failed): the ``event_id`` s of commands it sent, withdrawn if unsent, and the ids of its
    conversation items, left out of the restore; they are returned here (exceptions are logged and ignored)."""
    handler = getattr(observer, "handle_connection_interrupted", None)
    if callable(handler):
        try:
            withdrawn = handler(error)
            return frozenset(e for e in withdrawn or () if isinstance(e, str))
        except Exception:
            logging.getLogger("realtime_sync.session").exception(
                "observer %s raised in handle_connection_interrupted (ignored)", type(observer).__name__)
    return frozenset()


def notify_closed(observer: Observer, error: Optional[BaseException]) -> None:
    """Call ``observer.handle_connection_closed(error)`` if the observer has it."""
    if isinstance(observer, ClosingObserver):
        observer.handle_connection_closed(error)


class AudioSendStatus(str, enum.Enum):
    """Where a ``send_audio`` stream is: what :meth:`AudioSendHandle.wait` returns. ``PENDING`` (still sending when
    the wait timed out) is falsy, so ``if handle.wait(5):`` still reads "finished in time"."""

    PENDING = "pending"
    COMPLETED = "completed"  #: every chunk of the source was sent
    CANCELLED = "cancelled"  #: stopped early (``cancel()``, ``clear_audio()``, barge-in or ``close()``)

    def __bool__(self) -> bool:
        return self is not AudioSendStatus.PENDING


def runs_inline(observer: Any) -> bool:
    """True when ``observer`` declares (``inline_safe``) that its ``handle_update`` never blocks nor calls app code:
    then, with nothing else in the way, updates are delivered on the I/O thread without a hand-off. Observers
    that do not say so always run on the session's reader thread."""
    try:
        return bool(getattr(observer, "inline_safe", False))
    except Exception:
        return False


class SendHandle(Protocol):
    """What ``send_audio`` returns (:class:`~realtime_sync.AudioSendHandle`)."""

    @property
    def done(self) -> bool: ...

    @property
    def bytes_sent(self) -> int: ...

    def wait(self, timeout: Optional[float] = None) -> AudioSendStatus: ...

    def cancel(self) -> None: ...


class TurnQueue:
    """First come, first served: one turn at a time on a session (``ask()`` from many threads). Each caller waits
    for its turn within its own deadline; a caller that gives up leaves the queue without holding anyone up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: "collections.deque[threading.Event]" = collections.deque()
        self._busy = False

    def acquire(self, timeout: Optional[float]) -> bool:
        """Wait for this caller's turn; False if ``timeout`` passed first."""
        me = threading.Event()
        with self._lock:
            if not self._busy and not self._waiting:
                self._busy = True
                return True
            self._waiting.append(me)
        if me.wait(timeout):
            return True
        with self._lock:
            try:
                self._waiting.remove(me)
                return False
            except ValueError:  # handed the turn just as the wait timed out: keep it
                return True

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes straight to the next caller
            else:
                self._busy = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)


class SessionLike(Protocol):
    """The session as features use it: state, observers, sends and the blocking waits."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def session_info(self) -> Optional[SessionInfo]: ...

    @property
    def closed(self) -> bool: ...

    @property
    def observers(self) -> Tuple[Observer, ...]: ...

    @property
    def turns(self) -> TurnQueue: ...

    def new_event_id(self) -> str: ...

    def add_observer(self, observer: Observer) -> None: ...

    def remove_observer(self, observer: Observer) -> None: ...

    def receive_updates(self, timeout: Optional[float] = None) -> Iterator[ConversationUpdate]: ...

    def send_command(self, command: Union[Dict[str, Any], str, bytes, Command]) -> Optional[str]: ...

    def configure_session(self, options: Union[SessionOptions, Dict[str, Any]], wait: bool = True,
                          timeout: Optional[float] = None) -> Optional[ConversationUpdate]: ...

    def add_item(self, item: Union[ConversationItem, Dict[str, Any]],
                 previous_item_id: Optional[str] = None) -> str: ...

    def send_audio(self, source: AudioSource, *, chunk_ms: int = 100, realtime: bool = False) -> SendHandle: ...

    def commit_audio(self) -> str: ...

    def clear_audio(self) -> str: ...

    def start_response(self, options: Optional[ResponseOptions] = None) -> str: ...

    def cancel_response(self, response_id: Optional[str] = None) -> str: ...

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> str: ...
