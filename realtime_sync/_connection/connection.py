"""One live WebSocket connection: its reader thread, its writer, and how it ends.

Everything that belongs to one connection (socket, threads, the last error event) lives here, so a session can
replace its connection (reconnect) without stale state; what outlives it (queue, waiters, observers) is the
session's :class:`~realtime_sync._connection.delivery.Delivery`. However the connection ends, it ends once
(:meth:`Connection._finish`): queued audio handles fail, the socket is shut down, and the delivery ends (cleanly
after a user close, with the typed error otherwise).
"""
import logging
import threading
from typing import Any, Callable, Optional, Sequence

from ..errors import SessionClosedError
from .audio_jobs import AudioJob
from .delivery import Delivery, clone_error
from .reader import Reader, close_error
from .transport import Transport
from .writer import Writer

__all__ = ["Connection"]

log = logging.getLogger("realtime_sync.session")


class Connection:
    """Reader thread + writer thread over one :class:`Transport`."""

    def __init__(self, transport: Transport, delivery: Delivery, *, recv_hooks: Sequence[Callable[[str], Any]],
                 send_hooks: Sequence[Callable[[str], Any]], ping_interval: Optional[float],
                 close_timeout: float = 2.0, scrub: Callable[[str], str] = lambda s: s,
                 name: str = "realtime") -> None:
        self.transport = transport
        self.delivery = delivery
        self._scrub = scrub
        self._close_timeout = close_timeout
        self.reader = Reader(transport, delivery.deliver, recv_hooks=recv_hooks, on_close=self._on_peer_close,
                             on_failure=self._end, name=name)
        self.reader_done = self.reader.done
        self.writer = Writer(transport, send_hooks=send_hooks, on_failure=self._end, ping_interval=ping_interval,
                             close_timeout=close_timeout, reader_done=self.reader_done, name=name)
        self.reader.on_ping = self.writer.pong
        self._lock = threading.Lock()
        self._closing = False
        self._finished = threading.Event()
        self.error: Optional[BaseException] = None

    def start(self) -> None:
        self.writer.start()
        self.reader.start()

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

    def _on_peer_close(self, code: Optional[int], reason: str) -> None:
        if self._closing:  # the reply to our close
            log.debug("close handshake complete (code %s)", code)
            self.reader_done.set()
            self._finish(None)
            return
        err = close_error(code, self._scrub(reason), self.reader.last_error)
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
        if current is self.reader.thread or current is self.writer.thread:
            return
        if self.reader.thread.is_alive():
            self.reader.thread.join(bound + 0.5)
        if self.reader.thread.is_alive():
            self.transport.abort()
            self.reader.thread.join(1.0)
        self._finish(None)
        if self.writer.thread.is_alive():
            self.writer.thread.join(1.0)
        if self.reader.thread.is_alive() or self.writer.thread.is_alive():
            log.warning("session threads still running after close (stuck in a user hook?)")

    def wait_finished(self, timeout: Optional[float]) -> bool:
        return self._finished.wait(timeout)
