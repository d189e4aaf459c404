"""The reader thread of one connection: frames -> receive hooks -> typed updates -> the session's delivery.

Undecodable messages are logged (type and size, never the payload) and dropped; pings are handed to the writer
(the only thread that writes); a close frame or a failure is reported to the connection, which ends everything
once. :func:`close_error` is the plain decision of which typed error a server-side close becomes.
"""
import logging
import threading
from logging import DEBUG
from typing import Any, Callable, Optional, Sequence

from ..errors import (AuthenticationError, ConnectionClosedError, ConnectionLostError, MessageDecodeError,
                      RealtimeConnectionError, RequestRefusedError, TransportTimeout)
from ..protocol import ConversationUpdate, parse_update
from ..protocol.updates import ErrorUpdate
from .transport import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Transport, parse_close

__all__ = ["Reader", "close_error"]

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


class Reader:
    """Reads one transport until it closes or fails (one daemon thread, started by :meth:`start`)."""

    def __init__(self, transport: Transport, deliver: Callable[[ConversationUpdate], None], *,
                 recv_hooks: Sequence[Callable[[str], Any]],
                 on_close: Callable[[Optional[int], str], None], on_failure: Callable[[BaseException], None],
                 name: str = "realtime") -> None:
        self._transport = transport
        self._deliver = deliver
        self._recv_hooks = recv_hooks
        self._on_close = on_close
        self._on_failure = on_failure
        self.on_ping: Callable[[bytes], None] = lambda payload: None
        self.done = threading.Event()  #: set when the reader stopped reading (peer close or failure)
        self.last_error: Optional[ErrorUpdate] = None  #: the last ``error`` event (names the cause of a close)
        self.messages_received = 0
        self.thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        recv = self._transport.recv
        hooks = self._recv_hooks
        sink = self._deliver
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
                        self.last_error = update
                    if debug(DEBUG):
                        log.debug("received %s (%d bytes)", update.type, len(data))
                    sink(update)
                elif op == OP_PING:
                    self.on_ping(data)
                elif op == OP_PONG:
                    continue
                elif op == OP_CLOSE:
                    self.messages_received = n
                    self._on_close(*parse_close(data))
                    return
                else:
                    log.warning("ignored a binary frame (%d bytes): the Realtime API speaks JSON text", len(data))
        except TransportTimeout:
            self._on_failure(ConnectionLostError(None, "dead peer", "connection lost: nothing received from the server "
                                                 "within the dead-peer timeout"))
        except ConnectionClosedError as exc:
            self._on_failure(exc)
        except Exception as exc:  # a bug (ours or in a sink): never die silently
            log.exception("reader thread failed")
            self._on_failure(ConnectionLostError(1006, "reader failed", f"connection ended: reader failed "
                                                 f"({type(exc).__name__})"))
        finally:
            self.messages_received = n
            self.done.set()

    def _run_hooks(self, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for hook in tuple(self._recv_hooks):
            try:
                hook(text)
            except Exception:
                log.exception("on_receiving_command hook raised (ignored)")
