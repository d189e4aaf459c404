"""The one fake session: a :class:`realtime_sync.observers.SessionLike` with no connection behind it.

Tests feed it server updates (``feed``: every observer sees them, in order, as on the reader thread) and read what
the code under test sent (``sent``: wire dicts, in order; ``calls()``: compact tuples; ``wait_sent``: block until a
predicate holds). ``closed=True`` makes every send raise, as a closed session does.
"""
import itertools
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from realtime_sync.observers import TurnQueue
from realtime_sync.errors import SessionClosedError
from realtime_sync.protocol import (Command, ConversationItem, ConversationUpdate, Dialect, InputAudioClearCommand,
                                    InputAudioCommitCommand, ItemCreateCommand, ItemTruncateCommand,
                                    ResponseCancelCommand, ResponseCreateCommand, ResponseOptions, SessionInfo,
                                    SessionOptions, SessionUpdateCommand, parse_update)


class FakeAudioHandle:
    """What the fake's ``send_audio`` returns: already sent."""

    def __init__(self, nbytes: int) -> None:
        self.bytes_sent = nbytes
        self.done = True
        self.cancelled = False

    def wait(self, timeout: Optional[float] = None) -> bool:
        return True

    def cancel(self) -> None:
        self.cancelled = True


class FakeSession:
    """Just enough of a session for features: observers, state, and sends recorded as wire dicts."""

    def __init__(self, dialect: Dialect = Dialect.GA, *, turn_detection: Optional[Dict[str, Any]] = None,
                 output_format: str = "pcm16", session_info: Optional[SessionInfo] = None,
                 closed: bool = False) -> None:
        self.dialect = dialect
        self.session_info = session_info or SessionInfo(type="realtime", turn_detection=turn_detection,
                                                        input_audio_format="pcm16", output_audio_format=output_format)
        self.closed = closed
        self.observers: Tuple[Any, ...] = ()
        self.sent: List[Dict[str, Any]] = []
        self.audio: List[bytes] = []
        self._ids = itertools.count(1)
        self.turns = TurnQueue()
        self._lock = threading.Lock()
        self._sent_cond = threading.Condition(self._lock)

    # -- SessionLike ----------------------------------------------------------------------------------------------
    def new_event_id(self) -> str:
        return f"evt_{next(self._ids)}"

    def add_observer(self, obs: Any) -> None:
        self.observers = self.observers + (obs,)

    def remove_observer(self, obs: Any) -> None:
        self.observers = tuple(o for o in self.observers if o is not obs)

    def receive_updates(self, timeout: Optional[float] = None) -> Iterator[ConversationUpdate]:
        return iter(())

    def send_command(self, command: Union[Dict[str, Any], str, bytes, Command]) -> Optional[str]:
        if self.closed:
            raise SessionClosedError()
        wire = command.to_wire(self.dialect) if isinstance(command, Command) else command
        assert isinstance(wire, dict), "the fake records dicts and Commands"
        with self._sent_cond:
            self.sent.append(wire)
            self._sent_cond.notify_all()
        return wire.get("event_id")

    def _command(self, command: Command) -> str:
        command.event_id = self.new_event_id()
        self.send_command(command)
        return command.event_id

    def configure_session(self, options: Union[SessionOptions, Dict[str, Any]], wait: bool = True,
                          timeout: Optional[float] = None) -> Optional[ConversationUpdate]:
        if isinstance(options, SessionOptions):
            self._command(SessionUpdateCommand(session=options))
        else:
            self.send_command({"type": "session.update", "session": options})
        return None

    def add_item(self, item: Union[ConversationItem, Dict[str, Any]], previous_item_id: Optional[str] = None) -> str:
        if isinstance(item, dict):
            item = ConversationItem.from_wire(item)
        return self._command(ItemCreateCommand(item=item, previous_item_id=previous_item_id))

    def send_audio(self, source: Any, *, chunk_ms: int = 100, realtime: bool = False) -> FakeAudioHandle:
        if self.closed:
            raise SessionClosedError()
        data = bytes(source) if isinstance(source, (bytes, bytearray)) else b"\x01\x00" * 2400
        self.audio.append(data)
        return FakeAudioHandle(len(data))

    def commit_audio(self) -> str:
        return self._command(InputAudioCommitCommand())

    def clear_audio(self) -> str:
        return self._command(InputAudioClearCommand())

    def start_response(self, options: Optional[ResponseOptions] = None) -> str:
        return self._command(ResponseCreateCommand(response=options))

    def cancel_response(self, response_id: Optional[str] = None) -> str:
        return self._command(ResponseCancelCommand(response_id=response_id))

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> str:
        return self._command(ItemTruncateCommand(item_id=item_id, content_index=content_index,
                                                 audio_end_ms=audio_end_ms))

    # -- test conveniences ----------------------------------------------------------------------------------------
    def feed(self, update: Union[ConversationUpdate, Dict[str, Any]]) -> None:
        """Hand one server update (or its wire dict) to every observer, as the reader thread does."""
        if isinstance(update, dict):
            update = parse_update(update)
        for obs in self.observers:
            obs.handle_update(update)

    def close_connection(self, error: Optional[BaseException]) -> None:
        """The connection ended: observers with ``handle_connection_closed`` hear it."""
        self.closed = True
        for obs in self.observers:
            fn = getattr(obs, "handle_connection_closed", None)
            if fn is not None:
                fn(error)

    def wait_sent(self, predicate: Callable[[List[Dict[str, Any]]], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while not predicate(self.sent):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sent_cond.wait(left)
            return True

    def sent_of(self, type_: str) -> List[Dict[str, Any]]:
        with self._lock:
            return [s for s in self.sent if s["type"] == type_]

    def calls(self) -> List[Tuple[Any, ...]]:
        """What was sent, compactly: ``("cancel",)``, ``("truncate", item_id, content_index, audio_end_ms)``,
        else ``(type,)``."""
        out: List[Tuple[Any, ...]] = []
        for wire in list(self.sent):
            if wire["type"] == "response.cancel":
                out.append(("cancel",))
            elif wire["type"] == "conversation.item.truncate":
                out.append(("truncate", wire["item_id"], wire["content_index"], wire["audio_end_ms"]))
            else:
                out.append((wire["type"],))
        return out
