"""RealtimeSession: one live ``/realtime`` conversation session (.NET's ``RealtimeConversationSession``).

Get one from :meth:`RealtimeClient.start_session`; use it as a context manager. Every method is safe from any
thread: one thread may iterate :meth:`receive_updates` while others send. Sends are queued for the connection's
I/O thread and return at once; the blocking calls (:meth:`configure_session`, :meth:`wait_for`, :meth:`ask`...)
take timeouts. This file is the whole public surface of a session; the machinery is in
:mod:`realtime_sync._connection` and the features (tools, turns, transcription, playback, kiosk) are modules of
their own that see the session as a :class:`~realtime_sync.observers.SessionLike`.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union, overload

from ._connection.audio_jobs import AudioInputStream, AudioSendHandle, make_audio_job, push_audio_job
from ._connection.connection import Connection
from ._connection.delivery import DEFAULT_QUEUE_LIMIT, Delivery, Match
from ._connection.recovery import Recovery
from .errors import ConnectionClosedError, RealtimeError
from .observers import AudioSource, Observer, TurnQueue
from .session_info import SessionInfoTracker
from .protocol import (Command, ConversationItem, ConversationUpdate, Dialect, FunctionTool, InputAudioClearCommand,
                       InputAudioCommitCommand, ItemCreateCommand, ItemDeleteCommand, ItemRetrieveCommand,
                       ItemTruncateCommand, ResponseCancelCommand, ResponseCreateCommand, ResponseOptions,
                       SessionInfo, SessionOptions, SessionUpdateCommand, UpdateKind)
from .protocol.commands import passthrough_text
from .protocol.options import deep_merge
from .protocol.transcription import TranscriptionOptions
from .reconnect import ReconnectPolicy

if TYPE_CHECKING:  # the features load with the first session (or the first call that uses them), not at import
    from .conversation import ConversationMirror
    from .kiosk import KioskAudio
    from .playback import AudioPlayer, InterruptResult
    from .tools import ToolDispatcher, ToolRegistry
    from .transcription import TranscriptionResult
    from .turns import PushToTalk, TurnResult
    from .usage import UsageTracker

__all__ = ["RealtimeSession"]

log = logging.getLogger("realtime_sync.session")
_BARRIER_TYPES = ("input_audio_buffer.commit",)
ToolFunction = Callable[..., Any]


class _UpdateIterator:
    """What :meth:`RealtimeSession.receive_updates` returns: unlike a generator, it survives a timeout raised
    from ``__next__``."""

    __slots__ = ("_get", "_timeout")

    def __init__(self, get: Callable[[Optional[float]], ConversationUpdate], timeout: Optional[float]) -> None:
        self._get = get
        self._timeout = timeout

    def __iter__(self) -> "_UpdateIterator":
        return self

    def __next__(self) -> ConversationUpdate:
        return self._get(self._timeout)  # StopIteration at a clean end, the typed error at a failed one


class RealtimeSession:
    """A connected session. Observers (``obj.handle_update(update)``) see every update on the reader thread, in
    order, before it is queued for :meth:`receive_updates`.

    Built in: :attr:`tools` (functions the model may call) answered by :attr:`tool_dispatcher`, the
    :attr:`conversation` mirror and :attr:`usage` totals; :meth:`play_audio` adds a player with barge-in.
    """

    tools: ToolRegistry  #: functions the model may call; answered by :attr:`tool_dispatcher`
    tool_dispatcher: ToolDispatcher  #: runs registered functions on a worker pool, sends outputs, continues turns
    conversation: ConversationMirror  #: the conversation as the server has it (ordered, bounded, no audio)
    usage: UsageTracker  #: token usage per response and per session

    def __init__(self, sock: Any, *, dialect: Dialect, recv_hooks: Sequence[Callable[[str], Any]] = (),
                 send_hooks: Sequence[Callable[[str], Any]] = (), ping_interval: Optional[float] = 10.0,
                 dead_peer_timeout: Optional[float] = 30.0, max_message_size: Optional[int] = None,
                 close_timeout: float = 2.0, request_timeout: Optional[float] = 30.0,
                 queue_limit: Optional[int] = DEFAULT_QUEUE_LIMIT, queue_policy: str = "drop_oldest",
                 queue_updates: bool = True,
                 scrub: Optional[Callable[[str], str]] = None, name: str = "realtime", tool_workers: int = 4,
                 tool_timeout: float = 30.0, max_conversation_items: int = 500,
                 reconnect: Optional[ReconnectPolicy] = None, connector: Optional[Callable[..., Any]] = None,
                 on_reconnecting: Sequence[Callable[..., Any]] = (),
                 on_reconnected: Sequence[Callable[..., Any]] = ()) -> None:
        self._dialect = dialect
        self._name = name
        self.request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._tag = os.urandom(2).hex()
        scrub = scrub or (lambda s: s)
        self._delivery = Delivery(queue_limit=queue_limit, queue_policy=queue_policy, queue_updates=queue_updates,
                                  scrub=scrub)
        self._conn_args: Dict[str, Any] = dict(
            recv_hooks=recv_hooks, send_hooks=send_hooks, ping_interval=ping_interval,
            dead_peer_timeout=dead_peer_timeout, close_timeout=close_timeout, max_message_size=max_message_size,
            scrub=scrub, name=name)
        self.turns = TurnQueue()  #: ask() turns, one at a time, first come first served
        self._applied: Dict[str, Any] = {}  # the session configuration applied so far (what a reconnect restores)
        self._recovery: Optional[Recovery] = None
        if reconnect is not None and connector is not None:
            self._recovery = Recovery(self, reconnect, connector, on_reconnecting=on_reconnecting,
                                      on_reconnected=on_reconnected)
        self._conn = self._attach(sock)
        from .conversation import ConversationMirror
        from .tools import ToolDispatcher, ToolRegistry
        from .usage import UsageTracker

        self._player: Optional[AudioPlayer] = None
        self.tools = ToolRegistry()
        self.tool_dispatcher = ToolDispatcher(self, self.tools, max_workers=tool_workers, timeout=tool_timeout)
        self.conversation = ConversationMirror(max_items=max_conversation_items)
        self.usage = UsageTracker()
        self._session_info = SessionInfoTracker()  # first: later observers read the merged session
        for observer in (self._session_info, self.tool_dispatcher, self.conversation, self.usage):
            self.add_observer(observer)
        if self._recovery is not None:
            self.add_observer(self._recovery.watch)

    # -- state ----------------------------------------------------------------------------------------------------
    @property
    def dialect(self) -> Dialect:
        """The protocol dialect this session speaks (GA or beta)."""
        return self._dialect

    @property
    def id(self) -> Optional[str]:
        """The server's session id (``sess_...``) from ``session.created``."""
        info = self._session_info.info
        return info.id if info is not None else None

    @property
    def session_info(self) -> Optional[SessionInfo]:
        """The session as the server described it (``session.created`` / ``session.updated``, merged: a field an
        update leaves out keeps its known value)."""
        return self._session_info.info

    @property
    def queue_updates(self) -> bool:
        """False: updates are not kept for :meth:`receive_updates` (for apps that only use observers, hooks and
        ``wait_for``, so a long session does not accumulate them); the iterator then only reports the end."""
        return self._delivery.queue_updates

    @property
    def closed(self) -> bool:
        """True once the session was closed or its connection ended for good (not while it reconnects)."""
        conn = self._conn
        if conn.closing:
            return True
        return conn.finished and not (self._recovery is not None and self._recovery.active)

    @property
    def reconnecting(self) -> bool:
        """True while the session is reconnecting after a drop (sends are kept meanwhile)."""
        return self._recovery is not None and self._recovery.active

    @property
    def error(self) -> Optional[BaseException]:
        """Why the connection ended, if it failed for good (None while open, reconnecting, after a clean close)."""
        if self.reconnecting:
            return None
        queue = self._delivery.queue
        return queue.error if queue.ended else self._conn.error

    @property
    def observers(self) -> Tuple[Observer, ...]:
        """The observers, in the order they see updates (the built-in dispatcher, mirror and usage first)."""
        return self._delivery.observers

    def new_event_id(self) -> str:
        """A fresh client ``event_id`` (``evt_<tag>_<n>``), echoed by the server in errors about that event."""
        return f"evt_{self._tag}_{next(self._ids)}"

    # -- receiving ------------------------------------------------------------------------------------------------
    def receive_updates(self, timeout: Optional[float] = None) -> Iterator[ConversationUpdate]:
        """Iterate over server updates as they arrive (.NET's ``ReceiveUpdatesAsync``).

        Ends when the session is closed by this process; raises the typed error (after every update received
        before it) when the connection fails or the server closes it. ``timeout`` bounds the wait for each update
        (RealtimeTimeoutError); the iterator keeps working after one, so a loop can catch it and go on. Meant for
        one consumer thread.
        """
        return _UpdateIterator(self._delivery.queue.get, timeout)

    def wait_for(self, match: Match, timeout: Optional[float] = None, *,
                 after: Optional[Callable[[], Any]] = None) -> ConversationUpdate:
        """Block until the next update that matches arrives and return it.

        ``match`` is an UpdateKind, a wire type of either dialect (``"response.done"``), a collection of those, or
        a predicate ``fn(update) -> bool`` (called on the reader thread). Only updates arriving after the call
        count; ``after`` (e.g. ``session.start_response``) is called once the wait is in place, so the answer to
        what it sends cannot be missed. Raises RealtimeTimeoutError, or the connection's error if it ends first.
        """
        return self._delivery.wait_for(match, self._timeout(timeout), "matching update", send=after)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer.handle_update(update)`` for every update (reader thread, in order, before queueing).
        If it has ``handle_connection_closed(error)`` that is called once when the connection ends."""
        self._delivery.add_observer(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._delivery.remove_observer(observer)

    # -- sending --------------------------------------------------------------------------------------------------
    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.request_timeout if timeout is None else timeout

    def _send(self, command: Command, *, after_audio: bool = False) -> str:
        if command.event_id is None:
            command.event_id = self.new_event_id()
        self._send_text(command.to_json(self._dialect), command.type, after_audio)
        return command.event_id

    def _send_text(self, text: str, type_: str, after_audio: bool = False) -> None:
        """Send now, or keep it for the new connection while the session reconnects."""
        recovery = self._recovery
        if recovery is not None and recovery.active and recovery.keep(text, type_, after_audio):
            return
        try:
            self._conn.send(text, type_, after_audio=after_audio)
        except ConnectionClosedError:
            if recovery is None or not recovery.keep(text, type_, after_audio):  # (the drop raced this send)
                raise

    def _add_audio(self, job: Any) -> None:
        recovery = self._recovery
        if recovery is not None and recovery.active and recovery.keep_audio(job):
            return
        self._conn.add_audio(job)

    def _attach(self, sock: Any) -> Connection:
        """A connection over ``sock`` feeding this session (the first one, or a reconnect's)."""
        conn = Connection(sock, self._delivery, **self._conn_args)
        if self._recovery is not None:
            conn.on_lost = self._recovery.on_lost
        self._conn = conn
        return conn

    def configure_session(self, options: Union[SessionOptions, Dict[str, Any]], wait: bool = True,
                          timeout: Optional[float] = None) -> Optional[ConversationUpdate]:
        """Send ``session.update``. With ``wait`` block until ``session.updated`` and return it, or raise the
        ServerError the server answered with (matched by event_id). ``options`` may be a wire-shaped dict.
        Function tools in the options join :attr:`tools` (those with a function are answered automatically)."""
        if isinstance(options, SessionOptions):
            tools = options.tools
        elif isinstance(options, dict):
            tools = options.get("tools")
        else:
            raise TypeError("options must be SessionOptions or a dict")
        if tools is not None:
            self.tools.sync(tools)
        event_id = self.new_event_id()
        if isinstance(options, SessionOptions):
            text = SessionUpdateCommand(event_id=event_id, session=options).to_json(self._dialect)
        else:
            text = json.dumps({"type": "session.update", "event_id": event_id, "session": options},
                              separators=(",", ":"))

        deep_merge(self._applied, json.loads(text).get("session") or {})

        def send() -> None:
            self._send_text(text, "session.update")

        if not wait:
            send()
            return None
        return self._delivery.wait_for(UpdateKind.SESSION_UPDATED, self._timeout(timeout), "session.updated",
                                       event_id=event_id, send=send)

    def add_item(self, item: Union[ConversationItem, Dict[str, Any]], previous_item_id: Optional[str] = None) -> str:
        """Add a conversation item (text message, history, a tool's output). Returns the command's event_id."""
        if isinstance(item, dict):
            item = ConversationItem.from_wire(item)
        return self._send(ItemCreateCommand(item=item, previous_item_id=previous_item_id))

    def send_audio(self, source: AudioSource, *, chunk_ms: int = 100, realtime: bool = False) -> AudioSendHandle:
        """Stream audio into the input buffer in the background; returns at once with a handle.

        ``source``: raw PCM bytes, a path (``.wav``: checked, resampled if the audio extra is installed; other
        files are raw PCM16 24 kHz mono), a binary file object, or an iterable of byte chunks (a microphone).
        ``chunk_ms`` sets the size of each append (100 ms by default, as the service recommends): an iterable's
        small chunks (20 ms microphone frames) are joined and large ones split; ``realtime`` paces chunks at
        playback speed.
        """
        if not self.reconnecting:
            self._conn.check_open()
        info = self._session_info.info
        fmt = info.input_audio_format if info is not None else None
        job = make_audio_job(source, input_format=fmt, chunk_ms=chunk_ms, realtime=realtime)
        self._add_audio(job)
        return AudioSendHandle(job)

    def stream_audio(self, *, chunk_ms: int = 100) -> AudioInputStream:
        """Open an input stream the app writes audio into as it comes (a PyAudio callback, a decoder): no thread
        is started; ``write(frame)`` returns at once and ~``chunk_ms`` appends go out (the write that completes one
        sends it itself when the socket is free, without blocking; else the I/O thread does). ``close()``
        ends it (the rest is sent), ``cancel()`` drops it; :meth:`commit_audio` waits for what was written before
        it. Usable as a context manager."""
        if not self.reconnecting:
            self._conn.check_open()
        info = self._session_info.info
        job = push_audio_job(input_format=info.input_audio_format if info is not None else None, chunk_ms=chunk_ms)
        self._add_audio(job)
        return AudioInputStream(job)

    def commit_audio(self) -> str:
        """Commit the input buffer (needed without server VAD). Goes out after audio queued before it."""
        return self._send(InputAudioCommitCommand(), after_audio=True)

    def clear_audio(self) -> str:
        """Cancel pending ``send_audio`` streams and clear the server's input buffer."""
        self._conn.cancel_audio()
        return self._send(InputAudioClearCommand())

    def start_response(self, options: Optional[ResponseOptions] = None) -> str:
        """Ask the model to respond (``response.create``), optionally with per-response overrides."""
        return self._send(ResponseCreateCommand(response=options))

    def cancel_response(self, response_id: Optional[str] = None) -> str:
        """Cancel the active response (or the one named)."""
        return self._send(ResponseCancelCommand(response_id=response_id))

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> str:
        """Cut an assistant item's audio at ``audio_end_ms`` (what the user actually heard)."""
        return self._send(ItemTruncateCommand(item_id=item_id, content_index=content_index,
                                              audio_end_ms=audio_end_ms))

    def delete_item(self, item_id: str) -> str:
        """Delete a conversation item."""
        return self._send(ItemDeleteCommand(item_id=item_id))

    def retrieve_item(self, item_id: str) -> str:
        """Ask for a conversation item (answered with ``conversation.item.retrieved``)."""
        return self._send(ItemRetrieveCommand(item_id=item_id))

    def send_command(self, command: Union[Dict[str, Any], str, bytes, Command]) -> Optional[str]:
        """Passthrough: send any client event (a dict, JSON text, or a protocol Command) as it is.
        Returns its event_id, if it has one."""
        text, type_, event_id = passthrough_text(command, self._dialect, self.new_event_id)
        self._send_text(text, type_, type_ in _BARRIER_TYPES)
        return event_id

    # -- tools ----------------------------------------------------------------------------------------------------
    @overload
    def register_tool(self, fn: None = None, *, name: Optional[str] = None, description: Optional[str] = None,
                      timeout: Optional[float] = None,
                      update_session: bool = True) -> Callable[[ToolFunction], ToolFunction]: ...

    @overload
    def register_tool(self, fn: Union[ToolFunction, FunctionTool], *, name: Optional[str] = None,
                      description: Optional[str] = None, timeout: Optional[float] = None,
                      update_session: bool = True) -> FunctionTool: ...

    def register_tool(self, fn: Union[ToolFunction, FunctionTool, None] = None, *, name: Optional[str] = None,
                      description: Optional[str] = None, timeout: Optional[float] = None,
                      update_session: bool = True) -> Union[FunctionTool, Callable[[ToolFunction], ToolFunction]]:
        """Register a function (or a :class:`FunctionTool`) as a tool answered automatically, and (by default)
        send the session's new tool list, waiting for ``session.updated``. Usable as a decorator."""
        if fn is None:
            def decorate(func: ToolFunction) -> ToolFunction:
                self.register_tool(func, name=name, description=description, timeout=timeout,
                                   update_session=update_session)
                return func
            return decorate
        tool = self.tools.register(fn, name=name, description=description, timeout=timeout)
        if update_session:
            self.configure_session(SessionOptions(tools=self.tools.definitions()))
        return tool

    def unregister_tool(self, name: str, update_session: bool = True) -> bool:
        """Remove a registered tool (and by default send the new tool list). False if it was not registered."""
        removed = self.tools.unregister(name)
        if removed and update_session:
            self.configure_session(SessionOptions(tools=self.tools.definitions()))
        return removed

    # -- turns and transcription ----------------------------------------------------------------------------------
    def ask(self, prompt: Any = None, timeout: float = 60.0, *, text: Optional[str] = None, audio: Any = None,
            response_options: Optional[ResponseOptions] = None, dispatcher: Optional[ToolDispatcher] = None,
            collect_audio: bool = True, vad_tail_ms: Optional[int] = None,
            wait_for_transcript: float = 0.0) -> TurnResult:
        """One whole turn (``text=`` or ``audio=`` in, the reply out, across tool rounds): see
        :func:`realtime_sync.turns.ask`."""
        from .turns import ask

        return ask(self, prompt, timeout, text=text, audio=audio, response_options=response_options,
                   dispatcher=dispatcher, collect_audio=collect_audio, vad_tail_ms=vad_tail_ms,
                   wait_for_transcript=wait_for_transcript)

    def push_to_talk(self, *, respond: bool = True, response_options: Optional[ResponseOptions] = None,
                     dispatcher: Optional[ToolDispatcher] = None, min_ms: int = 100,
                     send_timeout: float = 10.0) -> PushToTalk:
        """A talk-button context manager (turn detection off): see :func:`realtime_sync.turns.push_to_talk`."""
        from .turns import push_to_talk

        return push_to_talk(self, respond=respond, response_options=response_options, dispatcher=dispatcher,
                            min_ms=min_ms, send_timeout=send_timeout)

    def configure_transcription(self, options: TranscriptionOptions, timeout: float = 30.0, *,
                                realtime_session: bool = False) -> Optional[ConversationUpdate]:
        """Make this a transcription session: see :func:`realtime_sync.transcription.configure_transcription`."""
        from .transcription import configure_transcription

        return configure_transcription(self, options, timeout, realtime_session=realtime_session)

    def transcribe(self, source: AudioSource, timeout: float = 120.0, *,
                   options: Optional[TranscriptionOptions] = None, settle: float = 0.5, vad_tail_ms: int = 1000,
                   realtime_session: bool = False) -> TranscriptionResult:
        """Transcribe a file or bytes: see :func:`realtime_sync.transcription.transcribe_file`."""
        from .transcription import transcribe_file

        return transcribe_file(self, source, timeout, options=options, settle=settle, vad_tail_ms=vad_tail_ms,
                               realtime_session=realtime_session)

    # -- local audio ----------------------------------------------------------------------------------------------
    @property
    def player(self) -> Optional[AudioPlayer]:
        """The :class:`~realtime_sync.playback.AudioPlayer` playing this session's audio, if any."""
        return self._player

    def play_audio(self, sink: Any, *, barge_in: bool = True, flush_timeout: float = 1.0,
                   on_interrupt: Optional[Callable[[InterruptResult], None]] = None) -> AudioPlayer:
        """Play the model's audio into ``sink`` (a :class:`~realtime_sync.audio.Speaker`, a file sink, a
        :class:`~realtime_sync.audio.NullSink`) from now on, with automatic barge-in on ``speech_started`` unless
        ``barge_in=False``. Replaces the previous player (the previous sink is left open)."""
        from .playback import AudioPlayer

        self.stop_playing_audio()
        self._player = AudioPlayer(self, sink, barge_in=barge_in, flush_timeout=flush_timeout,
                                   on_interrupt=on_interrupt)
        return self._player

    def stop_playing_audio(self) -> None:
        """Detach the player (its sink is left open)."""
        player, self._player = self._player, None
        if player is not None:
            player.close()

    def interrupt(self, *, cancel: Optional[bool] = None, wait: bool = True,
                  timeout: Optional[float] = None) -> Optional[InterruptResult]:
        """Barge in: stop and flush playback, truncate the assistant's audio item at what was heard
        (``min(played_ms, received_ms)``; nothing at 0 ms) and cancel the response if one is active.
        See :meth:`realtime_sync.playback.AudioPlayer.interrupt`. Needs :meth:`play_audio` first."""
        player = self._player
        if player is None:
            raise RealtimeError("interrupt() needs a player: call session.play_audio(sink) first (or use "
                                "cancel_response()/truncate_item() directly)")
        return player.interrupt(cancel=cancel, wait=wait, timeout=timeout)

    def start_conversation_audio(self, microphone: Any = None, speaker: Any = None, *, input_device: Any = None,
                                 output_device: Any = None, echo_policy: str = "half_duplex", tail_ms: float = 300.0,
                                 barge_in: bool = True, push_to_talk: bool = False,
                                 on_state: Optional[Callable[[str], None]] = None, chunk_ms: int = 100,
                                 min_talk_ms: int = 100, raised_threshold: float = 0.8, quiet: Optional[bool] = None,
                                 close_given: bool = False, stop_timeout: float = 3.0) -> "KioskAudio":
        """Talk with the model through a microphone and a speaker: mic -> ``send_audio``, model audio -> speaker,
        barge-in and the echo guard; returns a started :class:`~realtime_sync.kiosk.KioskAudio` (call its
        ``stop()``, or use it as a context manager). Devices not given are opened by name or index
        (``input_device``, ``output_device``); the other parameters are KioskAudio's."""
        from .kiosk import KioskAudio  # the audio extra (PyAudio, numpy) loads only here

        return KioskAudio(self, microphone, speaker, input_device=input_device, output_device=output_device,
                          echo_policy=echo_policy, tail_ms=tail_ms, barge_in=barge_in, push_to_talk=push_to_talk,
                          on_state=on_state, chunk_ms=chunk_ms, min_talk_ms=min_talk_ms,
                          raised_threshold=raised_threshold, quiet=quiet, close_given=close_given,
                          stop_timeout=stop_timeout).start()

    # -- ending ---------------------------------------------------------------------------------------------------
    def close(self, timeout: Optional[float] = None) -> None:
        """Close the session: queued commands go out, pending audio is cancelled, the socket closes (bounded).
        Idempotent. ``receive_updates()`` then ends cleanly after the updates already received."""
        if self._recovery is not None:
            self._recovery.stop(timeout)  # an outage in progress ends; a restore in progress finishes first
        self._conn.close(timeout)

    def __enter__(self) -> "RealtimeSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<RealtimeSession {self.id or '(no id yet)'} {self._dialect.value} {state}>"

    # -- used by RealtimeClient.start_session ---------------------------------------------------------------------
    def _start(self, timeout: Optional[float]) -> None:
        self._delivery.wait_for(UpdateKind.SESSION_CREATED, timeout, "session.created", send=self._conn.start)
        if self._recovery is not None:
            self._recovery.schedule_refresh()
