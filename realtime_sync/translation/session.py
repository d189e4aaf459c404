"""TranslationSession: one live translation session (``/v1/realtime/translations``), on the same connection core
as :class:`~realtime_sync.session.RealtimeSession`.

Get one from :meth:`RealtimeClient.start_translation`; use it as a context manager. The shape is the realtime
session's: a connection on the process's I/O thread and a reader thread, :meth:`receive_updates` (a blocking
iterator of typed updates, each with its raw JSON), observers, :meth:`wait_for`, the client's send/receive hooks,
typed errors, every blocking call bounded. What differs is the protocol (ADDENDUM-2026-12 A3): no conversation,
items or responses; the input is one continuous stream of 200 ms frames (:mod:`.stream`) and the session ends with
a graceful close that drains the remaining output (:meth:`close`).
"""
import itertools
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

from .._connection.audio_jobs import AudioInputStream, AudioSendHandle, AudioJob
from .._connection.connection import Connection, WireProtocol
from .._connection.delivery import DEFAULT_QUEUE_LIMIT, Delivery, Match
from ..errors import ConfigurationError, RealtimeError
from ..observers import AudioSource, Observer
from ..protocol import Command, ConversationUpdate, Dialect, UpdateKind
from ..protocol.commands import passthrough_text
from ..protocol.audio_formats import PCM16_RATE
from ..protocol.translation import (APPEND_TYPE, KEEP, SessionCloseCommand, TranslationOptions,
                                    TranslationSessionInfo, TranslationSessionUpdateCommand,
                                    encode_translation_append, parse_translation_update)
from ..session import _UpdateIterator
from .pacing import CloseDrain
from .stream import TranslationStream, push_job, source_job

__all__ = ["TranslationSession", "TRANSLATION_WIRE", "DRAIN_TIMEOUT"]

log = logging.getLogger("realtime_sync.translation")

#: What a translation connection speaks: its own events, and audio as ``session.input_audio_buffer.append``.
TRANSLATION_WIRE = WireProtocol(parse_translation_update, encode_translation_append, APPEND_TYPE)
#: The default bound of :meth:`TranslationSession.close` (the server translates what it still holds first).
DRAIN_TIMEOUT = 10.0


class _Watch:
    """The session's own observer: the session info, and the end (``session.closed`` or the connection)."""

    inline_safe = True  #: bookkeeping and a non-blocking close (see observers.runs_inline)

    def __init__(self, session: "TranslationSession") -> None:
        self._session = session

    def handle_update(self, update: ConversationUpdate) -> None:
        kind = update.kind
        if kind is UpdateKind.SESSION_CREATED or kind is UpdateKind.SESSION_UPDATED:
            info = getattr(update, "session", None)
            if isinstance(info, TranslationSessionInfo):
                self._session._info = info
        elif kind is UpdateKind.SESSION_CLOSED:
            self._session._server_closed()

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        self._session._connection_ended()


class TranslationSession:
    """A connected translation session: speech in (:meth:`send_audio`), translated speech and text out
    (:meth:`receive_updates`: :class:`~realtime_sync.protocol.translation.TranslatedAudioDeltaUpdate`,
    :class:`~realtime_sync.protocol.translation.OutputTranscriptDeltaUpdate`,
    :class:`~realtime_sync.protocol.translation.InputTranscriptDeltaUpdate`, session updates, errors).

    While it is open the input never pauses: with nothing from the app, a frame of silence goes out every 200 ms
    (``fill_silence=False`` turns that off). Every method is safe from any thread.
    """

    def __init__(self, sock: Any, *, recv_hooks: Sequence[Callable[[str], Any]] = (),
                 send_hooks: Sequence[Callable[[str], Any]] = (), ping_interval: Optional[float] = 10.0,
                 dead_peer_timeout: Optional[float] = 30.0, max_message_size: Optional[int] = None,
                 close_timeout: float = 2.0, request_timeout: Optional[float] = 30.0,
                 queue_limit: Optional[int] = DEFAULT_QUEUE_LIMIT, queue_policy: str = "drop_oldest",
                 queue_updates: bool = True, scrub: Optional[Callable[[str], str]] = None,
                 name: str = "translation", fill_silence: bool = True, silence_grace: float = 0.5) -> None:
        self.request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._tag = os.urandom(2).hex()
        scrub = scrub or (lambda s: s)
        self._delivery = Delivery(queue_limit=queue_limit, queue_policy=queue_policy, queue_updates=queue_updates,
                                  scrub=scrub)
        self._info: Optional[TranslationSessionInfo] = None
        self._lock = threading.Lock()
        self._drain = CloseDrain()
        self._over = threading.Event()  # session.closed arrived, or the connection ended
        self._stream = TranslationStream(fill_silence=fill_silence, grace=silence_grace)
        self._conn = Connection(sock, self._delivery, recv_hooks=recv_hooks, send_hooks=send_hooks,
                                ping_interval=ping_interval, dead_peer_timeout=dead_peer_timeout,
                                close_timeout=close_timeout, max_message_size=max_message_size, scrub=scrub,
                                name=name, protocol=TRANSLATION_WIRE)
        self._delivery.add_observer(_Watch(self))

    # -- state ----------------------------------------------------------------------------------------------------
    @property
    def id(self) -> Optional[str]:
        """The server's session id (``sess_...``)."""
        return self._info.id if self._info is not None else None

    @property
    def session_info(self) -> Optional[TranslationSessionInfo]:
        """The session as the server last described it (``session.created``, then each ``session.updated``)."""
        return self._info

    @property
    def target_language(self) -> Optional[str]:
        return self._info.target_language if self._info is not None else None

    @property
    def closed(self) -> bool:
        """True once the session was closed (by either side) or its connection ended."""
        return self._conn.closing or self._conn.finished or self._drain.complete

    @property
    def closed_by_server(self) -> bool:
        """The server ended the session without being asked (``session.closed`` before any :meth:`close`)."""
        return self._drain.complete and not self._drain.asked

    @property
    def error(self) -> Optional[BaseException]:
        """Why the connection ended, if it failed (None while open and after a clean close)."""
        queue = self._delivery.queue
        return queue.error if queue.ended else self._conn.error

    @property
    def queue_updates(self) -> bool:
        return self._delivery.queue_updates

    @property
    def observers(self) -> Tuple[Observer, ...]:
        return self._delivery.observers

    @property
    def frames_sent(self) -> Tuple[int, int]:
        """``(audio, silence)``: 200 ms frames of the app's audio and of silence sent so far."""
        return self._stream.audio_frames, self._stream.silence_frames

    def new_event_id(self) -> str:
        return f"evt_{self._tag}_{next(self._ids)}"

    # -- receiving ------------------------------------------------------------------------------------------------
    def receive_updates(self, timeout: Optional[float] = None) -> Iterator[ConversationUpdate]:
        """Iterate over server updates as they arrive. Ends after ``session.closed`` (or a close of ours), after
        every update received before it; raises the typed error when the connection fails. ``timeout`` bounds
        the wait for each update (RealtimeTimeoutError; the iterator keeps working after one)."""
        return _UpdateIterator(self._delivery.queue.get, timeout)

    def wait_for(self, match: Match, timeout: Optional[float] = None, *,
                 after: Optional[Callable[[], Any]] = None) -> ConversationUpdate:
        """Block until the next update that matches arrives (an UpdateKind, a wire type, a collection of those or
        a predicate); ``after`` runs once the wait is in place. Raises RealtimeTimeoutError, or the connection's
        error if it ends first."""
        return self._delivery.wait_for(match, self._timeout(timeout), "matching update", send=after)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer.handle_update(update)`` for every update (reader thread, in order, before queueing)."""
        self._delivery.add_observer(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._delivery.remove_observer(observer)

    # -- sending --------------------------------------------------------------------------------------------------
    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.request_timeout if timeout is None else timeout

    def send_audio(self, source: AudioSource, *, sample_rate: int = PCM16_RATE, channels: int = 1,
                   realtime: bool = False) -> AudioSendHandle:
        """Stream speech into the session; returns at once with a handle (``wait``, ``cancel``, ``bytes_sent``).

        ``source``: PCM16 bytes, a path (a WAV file of any rate and channels, converted; any other file is raw
        PCM16), a binary file object, or an iterable of byte chunks (a :class:`~realtime_sync.audio.Microphone`).
        Raw PCM16 is 24 kHz mono unless ``sample_rate`` / ``channels`` say otherwise (then converted: the audio
        extra). Sources queue one after another; the audio goes out in 200 ms frames, a source's last frame
        padded with silence. ``realtime`` paces a file or bytes at playback speed (a microphone paces itself).
        Raises AudioFormatError (at once) for audio it cannot convert, SessionClosedError once closing.
        """
        self._conn.check_open()
        job = source_job(source, sample_rate=sample_rate, channels=channels, realtime=realtime)
        return self._add_source(job)

    def stream_audio(self) -> AudioInputStream:
        """An input stream the app writes 24 kHz PCM16 mono into as it comes (``write(data)`` returns at once);
        ``close()`` ends it (the rest is sent), ``cancel()`` drops it. Usable as a context manager."""
        self._conn.check_open()
        job = push_job()
        self._add_source(job)
        return AudioInputStream(job)

    def _add_source(self, job: AudioJob) -> AudioSendHandle:
        try:
            self._conn.check_open()
        except BaseException:
            job.cancel()
            job.finish()
            raise
        self._stream.add_source(job)
        return AudioSendHandle(job)

    def update(self, *, target_language: Any = KEEP, transcribe_input: Any = KEEP, noise_reduction: Any = KEEP,
               wait: bool = True, timeout: Optional[float] = None) -> Optional[ConversationUpdate]:
        """Change the session (``session.update``): the target language, input transcription (a model name,
        True for the default model, None to stop) or noise reduction (``"near_field"``, ``"far_field"``, a
        :class:`~realtime_sync.protocol.translation.NoiseReduction`, None to stop); what is not given stays.
        With ``wait`` block until ``session.updated`` and return it, or raise the ServerError the server
        answered with."""
        options = TranslationOptions(target_language=target_language, transcribe_input=transcribe_input,
                                     noise_reduction=noise_reduction)
        if options.empty:
            raise ConfigurationError("update() needs target_language, transcribe_input or noise_reduction")
        return self._configure(options, wait, timeout)

    def _configure(self, options: TranslationOptions, wait: bool,
                   timeout: Optional[float]) -> Optional[ConversationUpdate]:
        event_id = self.new_event_id()
        text = TranslationSessionUpdateCommand(event_id=event_id, session=options).to_json()

        def send() -> None:
            self._conn.send(text, "session.update")

        if not wait:
            send()
            return None
        return self._delivery.wait_for(UpdateKind.SESSION_UPDATED, self._timeout(timeout), "session.updated",
                                       event_id=event_id, send=send)

    def send_command(self, command: Union[Dict[str, Any], str, bytes, Command]) -> Optional[str]:
        """Passthrough: send any client event (a dict, JSON text, or a protocol Command) as it is. Returns its
        event_id, if it has one. (A ``session.close`` sent this way is not drained: use :meth:`close`.)"""
        text, type_, event_id = passthrough_text(command, Dialect.GA, self.new_event_id)
        self._conn.send(text, type_)
        return event_id

    # -- ending ---------------------------------------------------------------------------------------------------
    def close(self, timeout: Optional[float] = None) -> bool:
        """End the session gracefully, all within ``timeout`` seconds (10 by default): the input ends (audio
        already queued still goes out; live sources stop), ``session.close`` follows it, the remaining output
        arrives until ``session.closed``, then the socket closes. Returns True when ``session.closed`` came (every
        output was received), False when the bound passed first or the connection had ended. Idempotent.
        ``receive_updates()`` then yields what is left and ends."""
        bound = DRAIN_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + bound
        with self._lock:
            start = self._drain.begin()
        if start:
            self._stream.end_input()
            try:
                command = SessionCloseCommand(event_id=self.new_event_id())
                self._conn.send(command.to_json(), command.type, after_audio=True)
                with self._lock:
                    self._drain.close_sent()
            except RealtimeError as exc:  # the connection is gone: nothing more can arrive
                log.info("session.close not sent: %s", type(exc).__name__)
            if not self._conn.in_own_thread():
                self._over.wait(max(0.0, deadline - time.monotonic()))
            if not self._drain.complete and not self._drain.ended:
                log.warning("no session.closed within %.3g s: closing without the rest of the output", bound)
        self._conn.close(max(0.0, deadline - time.monotonic()))
        return self._drain.complete

    def _server_closed(self) -> None:
        """``session.closed`` (reader or I/O thread): the session is over; close the socket (without waiting)."""
        with self._lock:
            unasked = self._drain.server_closed()
        if unasked:
            log.info("the server closed the translation session")
            self._stream.end_input()
        self._over.set()
        self._conn.close()

    def _connection_ended(self) -> None:
        with self._lock:
            self._drain.connection_ended()
        self._over.set()

    def __enter__(self) -> "TranslationSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TranslationSession {self.id or '(no id yet)'} -> {self.target_language or '?'} {state}>"

    # -- used by RealtimeClient.start_translation -----------------------------------------------------------------
    def _abort(self, timeout: Optional[float] = None) -> None:
        """Close the connection without the graceful drain (a start that failed)."""
        self._stream.end_input()
        self._conn.close(timeout)

    def _start(self, options: TranslationOptions, timeout: Optional[float]) -> None:
        """Wait for ``session.created``, apply ``options`` (``session.updated``), then start the input stream."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._delivery.wait_for(UpdateKind.SESSION_CREATED, timeout, "session.created", send=self._conn.start)
        if not options.empty:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._configure(options, True, left)
        self._conn.add_audio(self._stream)
