"""One connection's socket: the only code that reads or writes it after the handshake.

Received bytes go through a :class:`~.frames.FrameParser`; messages are posted to the connection's reader thread
(which decodes them and runs the app's hooks and observers), pings are answered here. Outbound frames come from the
connection's :class:`~.writer.Outbox`, are masked and written without blocking; what the socket does not take yet
waits in a small output buffer. Keepalive (a ping every ``ping_interval``, a dead peer after ``dead_peer_timeout``
of silence), the close handshake and back-pressure (stop reading while the reader thread is far behind) live here
too. However the socket ends, :meth:`Channel._finish` runs once and posts one final event to the reader.

One thread at a time calls into the socket (and so into its SSL object, which allows no concurrent read and
write): whoever holds the channel's lock. The I/O thread takes it for each of its turns (a socket ready, a call, a
timer) and waits in ``select()`` without it. While the loop serves few sockets (:attr:`IOLoop.writes_inline`), a
thread that queues something to send (the app's, or an audio feeder's) takes the lock if it is free and the socket
is idle, and writes the new frames itself without blocking: a kiosk's few appends a second then cost no wake-up of
the I/O thread. Anything else (the lock busy, a full socket, an error, the close, a loop serving many sessions,
where one turn batches the writes of all) is left to the I/O thread.
"""
import functools
import logging
import socket
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple, Type, TypeVar, cast

from ..errors import ConnectionClosedError, ConnectionLostError, RealtimeConnectionError, SessionClosedError
from .frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameParser, close_payload, encode_frame, \
    parse_close
from .ioloop import EVENT_READ, EVENT_WRITE, IOLoop, Timer
from .writer import Leftovers, Outbox

__all__ = ["Channel", "EndEvent"]

log = logging.getLogger("realtime_sync.io")
_monotonic = time.monotonic
_WOULD_BLOCK_PLAIN = (BlockingIOError, InterruptedError)


def _would_block() -> Tuple[Type[BaseException], ...]:
    """The exceptions meaning "try later" on a non-blocking socket (TLS ones too once ``ssl`` was loaded: it is
    loaded by the handshake of any TLS socket, so the channel never imports it itself)."""
    ssl = sys.modules.get("ssl")
    if ssl is None:
        return _WOULD_BLOCK_PLAIN
    return _WOULD_BLOCK_PLAIN + (ssl.SSLWantReadError, ssl.SSLWantWriteError)


_RECV_SIZE = 262144
_OUT_BUDGET = 65536  # bytes of frames taken from the outbox at a time (commands are never more than this behind)

#: The last thing a channel posts: ``("end", error, close_code, close_reason, leftovers)``. ``error`` None with a
#: close code is a close the server started; with no code, a clean end (our close, answered or timed out).
EndEvent = Tuple[str, Optional[BaseException], Optional[int], str, Leftovers]

_F = TypeVar("_F", bound=Callable[..., Any])


def _turn(method: _F) -> _F:
    """An I/O-thread entry point (a socket ready, a call, a timer): it runs holding the channel's lock, so a sending
    thread's direct write happens between two of them, never during one."""
    @functools.wraps(method)
    def run(self: "Channel", *args: Any) -> Any:
        with self._owner:
            return method(self, *args)
    return cast(_F, run)


class Channel:
    """The socket of one connection, driven by the I/O loop thread. :meth:`start`, :meth:`kick`, :meth:`close` and
    :meth:`resume_reading` are safe from any thread (:meth:`kick` may write at once, under the channel's lock);
    everything else runs on the loop thread."""

    def __init__(self, loop: IOLoop, sock: Any, outbox: Outbox, post: Callable[[List[Any]], int],
                 receive: Optional[Callable[[List[Any]], int]] = None, *,
                 max_message_size: Optional[int], ping_interval: Optional[float],
                 dead_peer_timeout: Optional[float], close_timeout: float,
                 send_hooks: Sequence[Callable[[str], Any]] = (), inbox_high_water: int = 1024) -> None:
        self._loop = loop
        self._sock = sock
        self._outbox = outbox
        self._post = post  # hands events to the reader thread; returns how many it now holds
        self._receive = receive or post  # received messages: to the reader thread, or delivered right here
        self._parser = FrameParser(max_message_size)
        self._would_block = _would_block()
        self._tls = callable(getattr(sock, "pending", None))  # TLS may hold decrypted bytes select() cannot see
        self._ping_interval = ping_interval
        self._dead_after = dead_peer_timeout
        self._close_timeout = close_timeout
        self._send_hooks = send_hooks
        self._high_water = inbox_high_water
        # (frame, (text, type, after_audio) of a command or None), the first maybe partly written
        self._out: Deque[Tuple[bytes, Optional[Tuple[str, str, bool]]]] = deque()
        self._unwritten: List[Tuple[str, str, bool]] = []  # commands dropped from the buffer at a close
        self._out_offset = 0
        self._out_size = 0
        self._events = 0
        self._dirty = False
        self._paused = False
        self._closing = False  # our close was asked for
        self._close_sent = False
        self._done = False
        self._keepalive_timer: Optional[Timer] = None  # one at a time (a long session must not pile them up)
        self._close_timer: Optional[Timer] = None
        self._pace: Optional[Timer] = None
        self.last_received = _monotonic()
        self._last_ping = self.last_received
        self._owner = threading.RLock()  # held by whoever calls into the socket (see the module's docstring)
        self.direct_writes = 0  #: how many times a sending thread wrote its frames itself (no I/O-thread wake)

    # -- any thread -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop.call_soon(self._open)

    def kick(self) -> None:
        """There is something new to send: written at once by the calling thread when the socket is free and idle,
        otherwise by the I/O thread."""
        loop = self._loop
        if loop.writes_inline and not loop.in_loop() and self._owner.acquire(blocking=False):
            try:
                if self._write_now():
                    self.direct_writes += 1
                    return
            finally:
                self._owner.release()
        if not self._dirty:
            self._dirty = True
            self._loop.call_soon(self._flush)

    def close(self) -> None:
        """Start our close handshake once what is queued has gone out (the outbox was stopped by the caller)."""
        self._loop.call_soon(self._begin_close)

    def resume_reading(self) -> None:
        """The reader thread caught up: read again."""
        self._loop.call_soon(self._resume)

    # -- loop thread ----------------------------------------------------------------------------------------------
    @_turn
    def _open(self) -> None:
        if self._done:
            return
        try:
            self._sock.setblocking(False)
            self._set_events(EVENT_READ)
        except (OSError, ValueError) as exc:
            self._fail(ConnectionLostError(1006, "socket", f"connection lost: {type(exc).__name__}"))
            return
        if self._ping_interval or self._dead_after:
            self._keepalive()
        self.on_readable()  # TLS may already hold decrypted bytes that select() will never report
        self._flush()

    def _set_events(self, events: int) -> None:
        if events == self._events:
            return
        if self._events == 0:
            self._loop.add(self._sock, self, events)
        elif events == 0:
            self._loop.remove(self._sock)
        else:
            self._loop.set_events(self._sock, self, events)
        self._events = events

    def _update_events(self) -> None:
        if not self._done:
            self._set_events((0 if self._paused else EVENT_READ) | (EVENT_WRITE if self._out else 0))

    @_turn
    def on_readable(self) -> None:
        if self._done or self._paused:
            return
        sock = self._sock
        parser = self._parser
        batch: List[Any] = []
        close: Optional[bytes] = None
        got = False
        try:
            while close is None and parser.error is None:
                try:
                    data = sock.recv(_RECV_SIZE)
                except self._would_block:
                    break
                if not data:
                    if batch:
                        self._receive(batch)
                    self._eof()
                    return
                got = True
                drained = len(data) < _RECV_SIZE and not (self._tls and sock.pending())
                for op, payload in parser.feed(data):
                    if op == OP_TEXT:
                        batch.append(payload)
                    elif op == OP_PING:
                        self._outbox.control(OP_PONG, payload)
                        self.kick()
                    elif op == OP_CLOSE:
                        close = payload
                        break
                    elif op == OP_BINARY:
                        batch.append(("binary", len(payload)))
                if drained:  # (saves the recv() that would only say "nothing more"; select() reports more)
                    break
        except (OSError, ValueError) as exc:
            if batch:
                self._receive(batch)
            self._fail(ConnectionLostError(1006, type(exc).__name__, f"connection lost: {type(exc).__name__}"))
            return
        if got:
            self.last_received = _monotonic()
        if batch and self._receive(batch) >= self._high_water:
            self._paused = True
            self._update_events()
        if parser.error is not None:  # a protocol violation (1002) or a message over the limit (1009)
            self._fail(parser.error, close_code=parser.error.code or 1002)
        elif close is not None:
            self._peer_closed(close)
        elif self._out:
            self._write()

    @_turn
    def on_writable(self) -> None:
        if not self._done:
            self._write()
            if not self._out:
                self._flush()

    @_turn
    def on_loop_error(self, exc: BaseException) -> None:
        log.error("I/O handler failed: %s", type(exc).__name__, exc_info=exc)
        self._fail(ConnectionLostError(1006, "internal error", f"connection ended: internal error "
                                       f"({type(exc).__name__})"))

    @_turn
    def _resume(self) -> None:
        if self._paused and not self._done:
            self._paused = False
            self._update_events()
            self.on_readable()

    @_turn
    def _flush(self) -> None:
        self._dirty = False
        more = True
        while more and not self._done:
            more = False
            if self._out_size < _OUT_BUDGET and not self._close_sent:
                more = self._take()
                if self._closing and self._outbox.idle:
                    self._queue_close(1000)
            self._write()
            if self._out:  # the socket is full: on_writable() flushes again
                return

    def _write_now(self) -> bool:
        """(A sending thread holding the lock.) Take the frames ready now (one budget's worth) and write them
        without blocking. True: all written and nothing else is ready; False: the I/O thread must go on (the
        channel is not open or is closing, frames were already waiting for the socket, the socket took only part,
        or the write failed: the I/O thread writes again and reports the failure)."""
        if self._done or self._closing or self._out or not self._events:
            return False
        more = self._take()
        try:
            self._send_buffered()
        except (OSError, ValueError):  # failed: the I/O thread writes again and reports it
            return False
        return not more and not self._out

    def _take(self) -> bool:
        """Move ready frames from the outbox to the output buffer; True if more were ready than taken."""
        now = _monotonic()
        frames, wake_at, more = self._outbox.take(now, _OUT_BUDGET - self._out_size)
        hooks = self._send_hooks
        debug = log.isEnabledFor(logging.DEBUG)
        sent: List[Any] = []
        for op, payload, text, type_, is_cmd in frames:
            frame = encode_frame(op, payload)
            self._out.append((frame, (text, type_, False) if is_cmd and text is not None else None))
            self._out_size += len(frame)
            if text is not None:
                if hooks:
                    sent.append(("sent", text))
                if debug:
                    log.debug("sent %s (%d bytes)", type_ or "message", len(payload))
        if sent:
            self._post(sent)
        pace = self._pace
        if wake_at is not None and (pace is None or pace.cancelled or pace.when <= now or pace.when > wake_at):
            if pace is not None:
                pace.cancel()
            self._pace = self._loop.call_later(max(0.0, wake_at - now), self.kick)
        return more

    def _queue_close(self, code: int) -> None:
        if self._close_sent:
            return
        self._close_sent = True
        frame = encode_frame(OP_CLOSE, close_payload(code))
        self._out.append((frame, None))
        self._out_size += len(frame)
        log.debug("close %d queued", code)
        self._close_timer = self._loop.call_later(self._close_timeout, self._close_timed_out)

    def _send_buffered(self) -> None:
        """Write the output buffer until it is empty or the socket is full; raises what a failed send raised."""
        sock = self._sock
        out = self._out
        while out:
            frame, _is_cmd = out[0]
            view = memoryview(frame)[self._out_offset:] if self._out_offset else frame
            try:
                n = sock.send(view)
            except self._would_block:
                return
            if n < len(view):
                self._out_offset += n
                self._out_size -= n
                return
            out.popleft()
            self._out_offset = 0
            self._out_size -= len(view)

    def _write(self) -> None:
        try:
            self._send_buffered()
        except (OSError, ValueError) as exc:
            if self._close_sent:
                self._finish(None)
            else:
                self._fail(ConnectionLostError(1006, "send failed", f"connection lost: send failed "
                                               f"({type(exc).__name__})"))
            return
        self._update_events()

    @_turn
    def _begin_close(self) -> None:
        if not self._done and not self._closing:
            self._closing = True
            self._flush()

    @_turn
    def _close_timed_out(self) -> None:
        if not self._done:
            log.debug("no close reply within %.1f s: shutting the socket down", self._close_timeout)
            self._finish(None)

    @_turn
    def _keepalive(self) -> None:
        if self._done:
            return
        now = _monotonic()
        dead = self._dead_after
        if dead is not None and now - self.last_received >= dead:
            self._fail(ConnectionLostError(None, "dead peer", f"connection lost: nothing received from the server "
                                           f"for {dead} s (dead peer)"))
            return
        due = []
        if self._ping_interval is not None:
            if now - self._last_ping >= self._ping_interval:
                self._last_ping = now
                self._outbox.control(OP_PING, b"")
                self.kick()
            due.append(self._last_ping + self._ping_interval)
        if dead is not None:
            due.append(self.last_received + dead)
        self._keepalive_timer = self._loop.call_later(max(0.01, min(due) - now), self._keepalive)

    def _peer_closed(self, payload: bytes) -> None:
        code, reason = parse_close(payload)
        if self._close_sent:  # the reply to our close
            log.debug("close handshake complete (code %s)", code)
            self._finish(None)
            return
        echo = code if code is not None and 1000 <= code <= 4999 and code not in (1005, 1006, 1015) else 1000
        self._drop_unwritten()
        self._queue_close(echo)
        self._write()
        self._finish(None, code, reason)

    def _drop_unwritten(self) -> None:
        """Drop the frames not yet started on the wire (their commands are kept for :meth:`_finish`)."""
        keep: Deque[Tuple[bytes, Optional[Tuple[str, str, bool]]]] = deque()
        if self._out and self._out_offset:
            keep.append(self._out.popleft())
        self._unwritten.extend(cmd for _frame, cmd in self._out if cmd is not None)
        self._out = keep
        self._out_size = sum(len(f) for f, _c in keep) - self._out_offset

    def _eof(self) -> None:
        if self._close_sent:  # closing anyway: the server just did not send its close frame
            self._finish(None)
        else:
            self._fail(ConnectionLostError(1006, "EOF", "connection lost: the server closed the TCP connection "
                                           "without a close frame"))

    def _fail(self, error: RealtimeConnectionError, close_code: Optional[int] = None) -> None:
        if self._done:
            return
        if self._close_sent and close_code is None:
            self._finish(None)
            return
        if close_code is not None and not self._close_sent:  # tell the server why, best effort
            self._drop_unwritten()
            self._queue_close(close_code)
            self._write()
        self._finish(error)

    def _finish(self, error: Optional[BaseException], code: Optional[int] = None, reason: str = "") -> None:
        if self._done:
            return
        self._done = True
        for timer in (self._keepalive_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        if self._pace is not None:
            self._pace.cancel()
        self._set_events(0)
        # Commands not (fully) written: what is still in the buffer (oldest first), then those dropped from it.
        unwritten = [cmd for _frame, cmd in self._out if cmd is not None] + self._unwritten
        self._out.clear()
        if error is None:
            error_for_sends: BaseException = ConnectionClosedError(code, reason) if code else SessionClosedError()
        else:
            error_for_sends = error
        leftovers = self._outbox.detach(error_for_sends)
        leftovers.commands[:0] = unwritten  # they were taken from the outbox first: they go first
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
        try:
            self._sock.close()
        except (OSError, ValueError):  # pragma: no cover
            pass
        if error is not None:
            log.info("connection ended: %s", type(error).__name__)
        end: EndEvent = ("end", error, code, reason, leftovers)
        self._post([end])
