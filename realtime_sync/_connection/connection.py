"""One live WebSocket connection: its reader thread, its writer, and how it ends.

Everything that belongs to one connection (socket, threads, the last error event) lives here, so a session can
replace its connection (reconnect) without stale state; what outlives it (queue, waiters, observers) is the
session's :class:`~realtime_sync._connection.delivery.Delivery`. However the connection ends, it ends once
(:meth:`Connection._finish`): queued audio handles fail, the socket is shut down, and the delivery ends (cleanly
after a user close, with the typed error otherwise).
"""
import logging
import threading
from logging import DEBUG
from typing import Any, Callable, Optional, Sequence

from ..errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError, MessageDecodeError,
                     RealtimeConnectionError, RequestRefusedError, SessionClosedError)
from ..protocol import parse_update
from ..protocol.updates import ErrorUpdate
from .transport import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Transport, TransportTimeout, parse_close
from .audio_jobs import AudioJob
from .delivery import Delivery, clone_error
from .writer import Writer

__all__ = ["Connection", "close_error"]

log = logging.getLogger("realtime_sync.session")


def close_error(code: Optional[int], reason: str,
                last_error: Optional[ErrorUpdate]) -> RealtimeConnectionError:
    """The exception for a close the server started (the error event just before it names the cause)."""
    err_code = last_error.code if last_error is not None else None
    if not err_code and reason and "." in reason:
        err_code = reason.rpartition(".")[2]
    if code == 3000:
        return AuthenticationError(f"authentication failed: the server closed the connection with 3000 "
                                   f"({err_code or reason or 'no reason'})", code=err_code, close_code=code,
                                   close_reason=reason)
    if code == 4000:
        return RequestRefusedError(code, reason, error_code=err_code,
                                   message=f"request refused by the server (close 4000, {err_code or reason!r})")
    if code in (1006, None):
        return ConnectionLostError(code, reason, f"connection lost (code {code})")
    return ConnectionClosedError(code, reason, f"the server closed the connection (code {code}, reason {reason!r})")


class Connection:
    """Reader thread + writer thread over one :class:`Transport`."""

    def __init__(self, transport: Transport, delivery: Delivery, *, recv_hooks: Sequence[Callable[[str], Any]],
                 send_hooks: Sequence[Callable[[str], Any]], ping_interval: Optional[float],
                 close_timeout: float = 2.0, scrub: Callable[[str], str] = lambda s: s,
                 name: str = "realtime") -> None:
        self.transport = transport
        self.delivery = delivery
        self._recv_hooks = recv_hooks
        self._scrub = scrub
        self._close_timeout = close_timeout
        self.reader_done = threading.Event()
        self.writer = Writer(transport, send_hooks=send_hooks, on_failure=self._end, ping_interval=ping_interval,
                             close_timeout=close_timeout, reader_done=self.reader_done, name=name)
        self._reader = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)
        self._lock = threading.Lock()
        self._closing = False
        self._finished = threading.Event()
        self.error: Optional[BaseException] = None
        self.last_error: Optional[ErrorUpdate] = None
        self.messages_received = 0

    def start(self) -> None:
        self.writer.start()
        self._reader.start()

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

    # -- sending (any thread; the writer thread does the I/O) -----------------------------------------------------
    def send(self, text: str, type_: str = "", *, after_audio: bool = False) -> None:
        """Queue one JSON text frame; ``after_audio`` holds it until the audio queued before it was sent."""
        self.check_open()
        self.writer.send(text, type_, after_audio=after_audio)

    def add_audio(self, job: AudioJob) -> None:
        """Queue an audio job (its chunks interleave with commands); on refusal the job ends cancelled."""
        try:
            self.check_open()
            self.writer.add_audio(job)
        except BaseException:
            job.cancel()
            job.finish()
            raise

    def cancel_audio(self) -> int:
        """Cancel every queued audio job; returns how many."""
        self.check_open()
        return self.writer.cancel_audio()

    # -- the reader thread ----------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        recv = self.transport.recv
        hooks = self._recv_hooks
        sink = self.delivery.deliver
        parse = parse_update
        err_type = ErrorUpdate
        debug = log.isEnabledFor
        n = 0
        try:
            while True:
                op, data = recv()
                if op == OP_TEXT:
                    n += 1
                    if hooks:
                        self._run_hooks(data)
                    try:
                        update = parse(data)
                    except MessageDecodeError as exc:
                        log.warning("dropped an undecodable server message (%d bytes): %s", len(data), exc.reason)
                        continue
                    if type(update) is err_type:
                        self.last_error = update  # type: ignore[assignment]
                    if debug(DEBUG):
                        log.debug("received %s (%d bytes)", update.type, len(data))
                    sink(update)
                elif op == OP_PING:
                    self.writer.pong(data)
                elif op == OP_PONG:
                    continue
                elif op == OP_CLOSE:
                    self.messages_received = n
                    self._on_peer_close(*parse_close(data))
                    return
                else:
                    log.warning("ignored a binary frame (%d bytes): the Realtime API speaks JSON text", len(data))
        except TransportTimeout:
            self._end(ConnectionLostError(None, "dead peer", "connection lost: nothing received from the server "
                                          "within the dead-peer timeout"))
        except ConnectionClosedError as exc:
            self._end(exc)
        except Exception as exc:  # a bug (ours or in a sink): never die silently
            log.exception("reader thread failed")
            self._end(ConnectionLostError(1006, "reader failed", f"connection ended: reader failed "
                                          f"({type(exc).__name__})"))
        finally:
            self.messages_received = n
            self.reader_done.set()

    def _run_hooks(self, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for hook in tuple(self._recv_hooks):
            try:
                hook(text)
            except Exception:
                log.exception("on_receiving_command hook raised (ignored)")

    def _on_peer_close(self, code: Optional[int], reason: str) -> None:
        if self._closing:  # the reply to our close
            log.debug("close handshake complete (code %s)", code)
            self.reader_done.set()
            self._finish(None)
            return
        err = close_error(code, self._scrub(reason), self.last_error)
        log.info("server closed the connection: code %s (%s)", code, type(err).__name__)
        echo = code if code is not None and 1000 <= code <= 4999 and code not in (1005, 1006, 1015) else 1000
        self.reader_done.set()
        self.writer.close(echo, "", drain=False, error=err)
        self.writer.thread.join(self._close_timeout)
        self._finish(err)

    def _end(self, err: BaseException) -> None:
        """The connection failed (reader or writer saw it); a failure during a user close is a clean end."""
        self._finish(None if self._closing else err)

    # -- ending ---------------------------------------------------------------------------------------------------
    def _finish(self, err: Optional[BaseException]) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self.error = err
            self._finished.set()
        if err is not None:
            log.info("connection ended: %s", type(err).__name__)

        def make_error() -> BaseException:
            return SessionClosedError() if err is None else clone_error(err)

        self.writer.kill(make_error())
        self.transport.close()
        self.delivery.end(err, make_error)

    def close(self, timeout: Optional[float] = None) -> None:
        """Close from our side: send what is queued, a close frame, wait (bounded) for the reply, shut down.
        Idempotent; safe from any thread, including observers and hooks (then it does not wait)."""
        bound = self._close_timeout if timeout is None else timeout
        with self._lock:
            start = not self._closing and not self._finished.is_set()
            self._closing = True
        if start:
            self.writer.close(1000, "", drain=True, error=SessionClosedError())
        current = threading.current_thread()
        if current is self._reader or current is self.writer.thread:
            return
        if self._reader.is_alive():
            self._reader.join(bound + 0.5)
        if self._reader.is_alive():
            self.transport.abort()
            self._reader.join(1.0)
        self._finish(None)
        if self.writer.thread.is_alive():
            self.writer.thread.join(1.0)
        if self._reader.is_alive() or self.writer.thread.is_alive():
            log.warning("session threads still running after close (stuck in a user hook?)")

    def wait_finished(self, timeout: Optional[float]) -> bool:
        return self._finished.wait(timeout)
