"""RealtimeSession: one live ``/realtime`` conversation session (.NET's ``RealtimeConversationSession``).

Get one from :meth:`RealtimeClient.start_session`; use it as a context manager. Every method is safe from any
thread: one thread may iterate :meth:`receive_updates` while others send. Sends are queued for the session's
writer thread and return at once; the blocking calls (:meth:`configure_session`, :meth:`wait_for`) take timeouts.
"""
import itertools
import json
import logging
import os
from typing import Any, Dict, Iterator, Optional, Union

from ._connection.audio_jobs import AudioSendHandle, make_audio_job
from .errors import ProtocolError
from .protocol import (Command, ConversationItem, ConversationUpdate, Dialect, InputAudioClearCommand,
                       InputAudioCommitCommand, ItemCreateCommand, ItemDeleteCommand, ItemRetrieveCommand,
                       ItemTruncateCommand, ResponseCancelCommand, ResponseCreateCommand, ResponseOptions,
                       SessionInfo, SessionOptions, SessionUpdateCommand, UpdateKind)
from ._connection.connection import Connection
from .errors import SessionClosedError
from ._session_features import SessionFeatures
from ._session_audio import SessionAudio
from ._connection.delivery import Match, UpdateQueue

__all__ = ["RealtimeSession", "SessionClosedError"]

log = logging.getLogger("realtime_sync.session")
_SESSION_KINDS = (UpdateKind.SESSION_CREATED, UpdateKind.SESSION_UPDATED)
_BARRIER_TYPES = ("input_audio_buffer.commit",)


class RealtimeSession(SessionFeatures, SessionAudio):
    """A connected session. Observers (``obj.handle_update(update)``) see every update on the reader thread, in
    order, before it is queued for :meth:`receive_updates`."""

    def __init__(self, transport: Any, *, dialect: Dialect, recv_hooks: list, send_hooks: list,
                 ping_interval: Optional[float] = 20.0, close_timeout: float = 2.0,
                 request_timeout: Optional[float] = 30.0, queue_limit: Optional[int] = None,
                 queue_updates: bool = True, scrub: Any = None, name: str = "realtime") -> None:
        self.dialect = dialect
        self.request_timeout = request_timeout
        #: False: updates are not kept for :meth:`receive_updates` (for apps that only use observers, hooks and
        #: ``wait_for``, so a long session does not accumulate them); the iterator then only reports the end.
        self.queue_updates = queue_updates
        self._observers: tuple = ()
        self._queue = UpdateQueue(queue_limit)
        self._info: Optional[SessionInfo] = None
        self._ids = itertools.count(1)
        self._tag = os.urandom(2).hex()
        self._conn = Connection(transport, sink=self._handle_update, queue=self._queue, recv_hooks=recv_hooks,
                                send_hooks=send_hooks, ping_interval=ping_interval, close_timeout=close_timeout,
                                scrub=scrub or (lambda s: s), on_closed=self._connection_closed, name=name)
        self._init_features()  # tools, tool_dispatcher, conversation, usage (see _session_features)

    # -- state ----------------------------------------------------------------------------------------------------
    @property
    def id(self) -> Optional[str]:
        """The server's session id (``sess_...``) from ``session.created``."""
        return self._info.id if self._info is not None else None

    @property
    def session_info(self) -> Optional[SessionInfo]:
        """The session as the server last described it (``session.created`` / ``session.updated``)."""
        return self._info

    @property
    def closed(self) -> bool:
        """True once the session was closed or its connection ended."""
        return self._conn.closing or self._conn.finished

    @property
    def error(self) -> Optional[BaseException]:
        """Why the connection ended, if it failed (None while open and after a clean close)."""
        return self._conn.error

    def new_event_id(self) -> str:
        """A fresh client ``event_id`` (``evt_<tag>_<n>``), echoed by the server in errors about that event."""
        return f"evt_{self._tag}_{next(self._ids)}"

    # -- receiving ------------------------------------------------------------------------------------------------
    def receive_updates(self, timeout: Optional[float] = None) -> Iterator[ConversationUpdate]:
        """Iterate over server updates as they arrive (.NET's ``ReceiveUpdatesAsync``).

        Ends when the session is closed by this process; raises the typed error (after every update received
        before it) when the connection fails or the server closes it. ``timeout`` bounds the wait for each update
        (RealtimeTimeoutError). Meant for one consumer thread.
        """
        get = self._queue.get
        while True:
            try:
                update = get(timeout)
            except StopIteration:
                return
            yield update

    def wait_for(self, match: Match, timeout: Optional[float] = None) -> ConversationUpdate:
        """Block until the next update that matches arrives and return it.

        ``match`` is an UpdateKind, a wire type of either dialect (``"response.done"``), a collection of those, or
        a predicate ``fn(update) -> bool`` (called on the reader thread). Only updates arriving after the call
        count. Raises RealtimeTimeoutError, or the connection's error if it ends first.
        """
        waiter = self._conn.waiters.add(match)
        try:
            return waiter.wait(self.request_timeout if timeout is None else timeout, "matching update")
        finally:
            self._conn.waiters.discard(waiter)

    def add_observer(self, observer: Any) -> None:
        """Call ``observer.handle_update(update)`` for every update (reader thread, in order, before queueing).
        If it has ``handle_connection_closed(error)`` that is called once when the connection ends."""
        if not callable(getattr(observer, "handle_update", None)):
            raise TypeError("an observer needs a handle_update(update) method")
        self._observers = self._observers + (observer,)

    def remove_observer(self, observer: Any) -> None:
        self._observers = tuple(o for o in self._observers if o is not observer)

    def _handle_update(self, update: ConversationUpdate) -> None:  # reader thread, per update: keep it cheap
        if update.kind in _SESSION_KINDS:
            session = getattr(update, "session", None)
            if isinstance(session, SessionInfo):
                self._info = session
        for observer in self._observers:
            try:
                observer.handle_update(update)
            except Exception:
                log.exception("observer %s raised (ignored)", type(observer).__name__)
        if self.queue_updates:
            self._queue.put(update)
        waiters = self._conn.waiters
        if waiters:
            waiters.dispatch(update)

    def _connection_closed(self, error: Optional[BaseException]) -> None:
        for observer in self._observers:
            fn = getattr(observer, "handle_connection_closed", None)
            if fn is not None:
                try:
                    fn(error)
                except Exception:
                    log.exception("observer %s raised in handle_connection_closed (ignored)", type(observer).__name__)

    # -- sending --------------------------------------------------------------------------------------------------
    def _send(self, command: Command, *, after_audio: bool = False) -> str:
        self._conn.check_open()
        if command.event_id is None:
            command.event_id = self.new_event_id()
        self._conn.writer.send(command.to_json(self.dialect), command.type, after_audio=after_audio)
        return command.event_id

    def configure_session(self, options: Union[SessionOptions, Dict[str, Any]], wait: bool = True,
                          timeout: Optional[float] = None) -> Optional[ConversationUpdate]:
        """Send ``session.update``. With ``wait`` block until ``session.updated`` and return it, or raise the
        ServerError the server answered with (matched by event_id). ``options`` may be a wire-shaped dict."""
        self._note_session_options(options)  # FunctionTools with a function are answered automatically
        event_id = self.new_event_id()
        if isinstance(options, SessionOptions):
            command: Command = SessionUpdateCommand(event_id=event_id, session=options)
        elif isinstance(options, dict):
            command = _RawCommand("session.update", {"type": "session.update", "event_id": event_id,
                                                     "session": options})
        else:
            raise TypeError("options must be SessionOptions or a dict")
        if not wait:
            self._send(command)
            return None
        waiter = self._conn.waiters.add(UpdateKind.SESSION_UPDATED, event_id)
        try:
            self._send(command)
            return waiter.wait(self.request_timeout if timeout is None else timeout, "session.updated")
        finally:
            self._conn.waiters.discard(waiter)

    def add_item(self, item: Union[ConversationItem, Dict[str, Any]], previous_item_id: Optional[str] = None) -> str:
        """Add a conversation item (text message, history, a tool's output). Returns the command's event_id."""
        if isinstance(item, dict):
            item = ConversationItem.from_wire(item)
        return self._send(ItemCreateCommand(item=item, previous_item_id=previous_item_id))

    def send_audio(self, source: Any, *, chunk_ms: int = 100, realtime: bool = False) -> AudioSendHandle:
        """Stream audio into the input buffer from the writer thread; returns at once with a handle.

        ``source``: raw PCM bytes, a path (``.wav``: checked, resampled if the audio extra is installed; other
        files are raw PCM16 24 kHz mono), a binary file object, or an iterable of byte chunks (a microphone).
        ``chunk_ms`` sets the size of each append (100 ms by default, as the service recommends): an iterable's
        small chunks (20 ms microphone frames) are joined and large ones split; ``realtime`` paces chunks at
        playback speed.
        """
        self._conn.check_open()
        fmt = self._info.input_audio_format if self._info is not None else None
        job = make_audio_job(source, input_format=fmt, chunk_ms=chunk_ms, realtime=realtime)
        try:
            self._conn.writer.add_audio(job)
        except BaseException:
            job.cancel()
            job.finish()
            raise
        return AudioSendHandle(job)

    def commit_audio(self) -> str:
        """Commit the input buffer (needed without server VAD). Goes out after audio queued before it."""
        return self._send(InputAudioCommitCommand(), after_audio=True)

    def clear_audio(self) -> str:
        """Cancel pending ``send_audio`` streams and clear the server's input buffer."""
        self._conn.check_open()
        self._conn.writer.cancel_audio()
        return self._send(InputAudioClearCommand())

    def start_response(self, options: Optional[ResponseOptions] = None) -> str:
        """Ask the model to respond (``response.create``), optionally with per-response overrides."""
        return self._send(ResponseCreateCommand(response=options))

    def cancel_response(self, response_id: Optional[str] = None) -> str:
        return self._send(ResponseCancelCommand(response_id=response_id))

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> str:
        """Cut an assistant item's audio at ``audio_end_ms`` (what the user actually heard)."""
        return self._send(ItemTruncateCommand(item_id=item_id, content_index=content_index,
                                              audio_end_ms=audio_end_ms))

    def delete_item(self, item_id: str) -> str:
        return self._send(ItemDeleteCommand(item_id=item_id))

    def retrieve_item(self, item_id: str) -> str:
        return self._send(ItemRetrieveCommand(item_id=item_id))

    def send_command(self, command: Union[Dict[str, Any], str, bytes, Command]) -> Optional[str]:
        """Passthrough: send any client event (a dict, JSON text, or a protocol Command) as it is.
        Returns its event_id, if it has one."""
        if isinstance(command, Command):
            return self._send(command, after_audio=command.type in _BARRIER_TYPES)
        if isinstance(command, (bytes, bytearray)):
            command = command.decode("utf-8")
        if isinstance(command, str):
            text = command
            try:
                data = json.loads(text)
            except ValueError:
                raise ProtocolError("send_command needs JSON text") from None
        elif isinstance(command, dict):
            data = command
            text = json.dumps(command, separators=(",", ":"))
        else:
            raise TypeError("send_command takes a dict, JSON text or a Command")
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise ProtocolError("a client event is a JSON object with a 'type'")
        self._conn.check_open()
        self._conn.writer.send(text, data["type"], after_audio=data["type"] in _BARRIER_TYPES)
        return data.get("event_id")

    # -- ending ---------------------------------------------------------------------------------------------------
    def close(self, timeout: Optional[float] = None) -> None:
        """Close the session: queued commands go out, pending audio is cancelled, the socket closes (bounded).
        Idempotent. ``receive_updates()`` then ends cleanly after the updates already received."""
        self._conn.close(timeout)

    def __enter__(self) -> "RealtimeSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<RealtimeSession {self.id or '(no id yet)'} {self.dialect.value} {state}>"

    # -- used by RealtimeClient.start_session ---------------------------------------------------------------------
    def _start(self, timeout: Optional[float]) -> None:
        waiter = self._conn.waiters.add(UpdateKind.SESSION_CREATED)
        self._conn.start()
        try:
            waiter.wait(timeout, "session.created")
        finally:
            self._conn.waiters.discard(waiter)


class _RawCommand(Command):
    """A pre-built wire dict sent as a Command (for dict options)."""

    def __init__(self, type_: str, wire: Dict[str, Any]) -> None:
        super().__init__(event_id=wire.get("event_id"))
        self._type = type_
        self._wire = wire

    @property  # type: ignore[override]
    def type(self) -> str:  # type: ignore[override]
        return self._type

    def to_json(self, dialect: Any = None) -> str:
        return json.dumps(self._wire, separators=(",", ":"))
