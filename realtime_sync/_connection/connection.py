"""One live WebSocket connection: its socket on the shared I/O thread, its reader thread, and how it ends.

Everything that belongs to one connection (socket, outbox, reader thread, the last error event) lives here, so a
session can replace its connection (reconnect) without stale state; what outlives it (queue, waiters, observers)
is the session's :class:`~realtime_sync._connection.delivery.Delivery`. However the connection ends, it ends once
(:meth:`Connection._finish`), on the first of: the channel's final event (after every message received before
it was delivered), or the bound of a user's :meth:`close`. Queued audio handles fail, the delivery ends (cleanly
after a user close, with the typed error otherwise) and the error says how many queued commands were not sent.
Between the socket's end and that moment (the reader still delivers what came before it), a connection whose
session may reconnect keeps what is sent (see :meth:`Connection.send`) with its leftovers, so the session decides
for those sends as for the rest (resent after a reconnect, or counted as unsent).
"""
import logging
import threading
from typing import Any, Callable, NamedTuple, Optional, Sequence, Tuple

from ..errors import RealtimeConnectionError, SessionClosedError
from ..protocol import ConversationUpdate, encode_audio_append, parse_update
from .audio_jobs import AudioJob
from .channel import Channel
from .delivery import Delivery, clone_error
from .ioloop import IOLoop, shared_loop
from .reader import Inbox, Reader, close_error
from .writer import Leftovers, Outbox

__all__ = ["Connection", "WireProtocol", "REALTIME_WIRE"]

log = logging.getLogger("realtime_sync.session")


class WireProtocol(NamedTuple):
    """What a connection speaks: how received messages decode, how an audio chunk becomes an append event."""

    parse: Callable[[bytes], ConversationUpdate]
    encode_audio: Callable[[bytes], str]
    audio_type: str


#: ``/realtime`` (and its sidebands): :func:`parse_update` and ``input_audio_buffer.append``.
REALTIME_WIRE = WireProtocol(parse_update, encode_audio_append, "input_audio_buffer.append")


class Connection:
    """A socket driven by the I/O loop (:class:`Channel`) plus this connection's reader thread."""

    def __init__(self, sock: Any, delivery: Delivery, *, recv_hooks: Sequence[Callable[[str], Any]],
                 send_hooks: Sequence[Callable[[str], Any]], ping_interval: Optional[float],
                 dead_peer_timeout: Optional[float] = None, close_timeout: float = 2.0,
                 max_message_size: Optional[int] = None, scrub: Callable[[str], str] = lambda s: s,
                 name: str = "realtime", loop: Optional[IOLoop] = None,
                 protocol: Optional[WireProtocol] = None) -> None:
        self.delivery = delivery
        self._scrub = scrub
        self._close_timeout = close_timeout
        self._loop = loop or shared_loop()
        self.inbox = Inbox()
        wire = protocol or REALTIME_WIRE
        self.outbox = Outbox(lambda: self.channel.kick(), encode_audio=wire.encode_audio, audio_type=wire.audio_type)
        self._send_hooks = send_hooks
        self.reader = Reader(self.inbox, delivery.deliver, recv_hooks=recv_hooks, send_hooks=send_hooks,
                             on_end=self._on_end, caught_up=self._caught_up, inline_ok=self._inline_ok, name=name,
                             parse=wire.parse)
        self.channel = Channel(self._loop, sock, self.outbox, self.inbox.put, self.reader.offer,
                               max_message_size=max_message_size,
                               ping_interval=ping_interval, dead_peer_timeout=dead_peer_timeout,
                               close_timeout=close_timeout, send_hooks=send_hooks)
        self._lock = threading.Lock()
        self._closing = False
        self._finished = threading.Event()
        self.error: Optional[BaseException] = None
        #: ``fn(error, leftovers) -> bool``: the session takes over a failed connection (reconnects) when True
        self.on_lost: Optional[Callable[[BaseException, Leftovers], bool]] = None
        self.retired = False  #: replaced by a newer connection (a refresh): its end does not end the session
        self._late = Leftovers()  # sent after the socket ended, before the end was handled (see send)

    def start(self) -> None:
        self.reader.start()
        self.channel.start()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def closing(self) -> bool:
        return self._closing

    def check_open(self) -> None:
        """Raise the reason this connection can no longer send (user close or the connection's error)."""
        if self._closing or self._finished.is_set():
            raise clone_error(self.error) if self.error is not None else SessionClosedError()

    # -- sending (any thread; the I/O thread does the I/O) --------------------------------------------------------
    def send(self, text: str, type_: str = "", *, after_audio: bool = False) -> None:
        """Queue one JSON text frame; ``after_audio`` holds it until the audio queued before it was sent."""
        self.check_open()
        try:
            self.outbox.send(text, type_, after_audio=after_audio)
        except RealtimeConnectionError:
            if not self._keep_late(command=(text, type_, after_audio)):
                raise

    def add_audio(self, job: AudioJob) -> None:
        """Queue an audio job (its chunks interleave with commands); on refusal the job ends cancelled."""
        try:
            self.check_open()
            try:
                self.outbox.add_audio(job)
            except RealtimeConnectionError:
                if not self._keep_late(job=job):
                    raise
        except BaseException:
            job.cancel()
            job.finish()
            raise

    def _keep_late(self, command: Optional[Tuple[str, str, bool]] = None, job: Optional[AudioJob] = None) -> bool:
        """The socket ended (the outbox refuses) but the end is not handled yet: the reader is still delivering
        what came before it. A connection whose session may take over (``on_lost``) keeps the send with its
        leftovers, so it is decided on with them (sent after a reconnect, or counted as unsent) instead of
        failing with the close's error while a reconnect follows. False: raise as usual."""
        with self._lock:
            if self._finished.is_set() or self._closing or self.on_lost is None:
                return False
            if command is not None:
                self._late.commands.append(command)
            if job is not None:
                self._late.jobs.append(job)
            return True

    def cancel_audio(self) -> int:
        """Cancel every queued audio job; returns how many."""
        self.check_open()
        return self.outbox.cancel_audio()

    # -- receiving ------------------------------------------------------------------------------------------------
    def _inline_ok(self) -> bool:
        """Updates may be delivered on the I/O thread: no hook and only the library's own non-blocking observers
        and predicates would run, and a full queue drops rather than blocks."""
        return not self._send_hooks and self.delivery.inline_safe

    # -- the reader thread ----------------------------------------------------------------------------------------
    def _caught_up(self) -> None:
        if self.channel._paused:
            self.channel.resume_reading()

    def _on_end(self, error: Optional[BaseException], code: Optional[int], reason: str,
                leftovers: Leftovers) -> None:
        """The channel's final event, after every message before it was delivered."""
        if error is None and code is not None and not self._closing:
            error = close_error(code, self._scrub(reason), self.reader.last_error, self._scrub)
            log.info("server closed the connection: code %s (%s)", code, type(error).__name__)
        self._finish(error, leftovers)

    # -- ending ---------------------------------------------------------------------------------------------------
    def _finish(self, err: Optional[BaseException], leftovers: Optional[Leftovers] = None) -> None:
        leftovers = leftovers or Leftovers()
        with self._lock:
            if self._finished.is_set():
                return
            late, self._late = self._late, Leftovers()
            leftovers.commands.extend(late.commands)
            leftovers.jobs.extend(late.jobs)
            if err is not None and self._closing:  # a failure while we were closing anyway: a clean end
                err = None
            taken = err is not None and self.on_lost is not None and self.on_lost(err, leftovers)
            unsent = 0 if taken else leftovers.fail(err or SessionClosedError())
            if isinstance(err, RealtimeConnectionError) and unsent:
                err.unsent_commands = unsent
            self.error = err
            self._finished.set()
        if taken or self.retired:  # the session goes on (reconnecting, or already on a newer connection)
            return
        if unsent:
            log.warning("%d queued commands not sent: the connection ended", unsent)

        def make_error() -> BaseException:
            return SessionClosedError() if err is None else clone_error(err)

        self.delivery.end(err, make_error)

    def close(self, timeout: Optional[float] = None) -> None:
        """Close from our side: send what is queued, a close frame, wait (bounded) for the reply, shut down.
        Idempotent; safe from any thread, including observers and hooks (then it does not wait)."""
        bound = self._close_timeout if timeout is None else timeout
        with self._lock:
            start = not self._closing and not self._finished.is_set()
            self._closing = True
        if start:
            self.outbox.stop(SessionClosedError(), drain=True)
            self.delivery.queue.closing()
            self.channel.close()
        if self.in_own_thread():
            return
        if not self.reader.done.wait(bound + 0.5):
            log.warning("session reader still busy after close (stuck in a user hook or observer?)")
        self._finish(None)

    def in_own_thread(self) -> bool:
        """The caller is this connection's reader thread or the I/O thread (an observer, a hook): it must not wait
        for what those threads deliver."""
        return threading.current_thread() is self.reader.thread or self._loop.in_loop()

    def retire(self) -> Leftovers:
        """A newer connection took over (a refresh before expiry): hand over what is still queued (commands
        never written, audio jobs) and close this one cleanly, without ending the session's delivery."""
        with self._lock:
            self.retired = True
            self.on_lost = None
            self._closing = True
        leftovers = self.outbox.detach(SessionClosedError())
        self.channel.close()
        return leftovers

    def wait_finished(self, timeout: Optional[float]) -> bool:
        return self._finished.wait(timeout)
