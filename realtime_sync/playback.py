"""Playing a session's audio: :class:`AudioPlayer` routes the model's audio to a sink and owns barge-in.

An :class:`AudioPlayer` is a session observer (``handle_update`` runs on the reader thread and never blocks):

- ``response.output_audio.delta`` audio goes to the sink (a :class:`~realtime_sync.audio.Speaker`, a file sink,
  a :class:`~realtime_sync.audio.NullSink`, anything with ``write/flush/reset_clock/played_ms/received_ms``),
  converted when the session's output format differs from the sink's ``wire_format`` (G.711 <-> PCM16).
- It tracks the assistant audio item being played (``item_id``, ``content_index``) and starts the sink's clock
  afresh (``reset_clock()``) when a new audio item starts, so ``played_ms``/``received_ms`` are per item.
- It tracks "a response is active" (``response.created`` -> ``response.done``) separately from "audio is still
  playing" (the sink's ``is_playing``): a response is often done long before its audio has been heard.
- :meth:`AudioPlayer.interrupt` (also ``session.interrupt()``) stops and flushes playback, sends
  ``conversation.item.truncate`` at ``min(played_ms, received_ms)`` of the current item (skipped at 0 ms or when
  there is no item) and ``response.cancel`` only while a response is active. Audio of an interrupted item or
  response that still arrives afterwards is dropped, never played.

Automatic barge-in (``barge_in=True``): on ``input_audio_buffer.speech_started`` while the assistant is audible
or a response is active, the player interrupts. Whether it also sends ``response.cancel`` depends on the session's
turn detection (:func:`server_cancels_on_speech`): with server or semantic VAD and ``interrupt_response`` true (or
unset: the service's default) the *server* cancels the response itself at speech start, and a client cancel would
only earn a ``response_cancel_not_active`` error, so none is sent. With ``interrupt_response: false`` the server
keeps generating, so the player cancels (when a response is active). Truncation is needed either way: the server
does not know how much of the audio was heard.

The flush waits for the block being written (so ``played_ms`` is final); an automatic barge-in therefore runs on a
small worker thread, never on the reader thread. Until it has read the clock, audio of *new* items is held back
(deferred), so the truncate arithmetic always refers to the interrupted item.
"""
import collections
import functools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Deque, List, Optional, Tuple

from .errors import RealtimeError
from .observers import SessionLike
from .protocol.audio_formats import PCM16, PCM16_RATE, normalize_format
from .protocol.models import SessionInfo
from .protocol.updates import (ConversationUpdate, ErrorUpdate, InputSpeechStartedUpdate, InputSpeechStoppedUpdate,
                               ItemTruncatedUpdate, OutputAudioDeltaUpdate, ResponseCreatedUpdate,
                               ResponseDoneUpdate)

__all__ = ["AudioPlayer", "InterruptResult", "server_cancels_on_speech", "LISTENING", "USER_SPEAKING", "THINKING",
           "ASSISTANT_SPEAKING", "INTERRUPTED", "STATES"]

log = logging.getLogger("realtime_sync.playback")

LISTENING = "listening"
USER_SPEAKING = "user_speaking"
THINKING = "thinking"
ASSISTANT_SPEAKING = "assistant_speaking"
INTERRUPTED = "interrupted"
STATES = (LISTENING, USER_SPEAKING, THINKING, ASSISTANT_SPEAKING, INTERRUPTED)


@dataclass(frozen=True)
class InterruptResult:
    """What :meth:`AudioPlayer.interrupt` did.

    ``truncated_at_ms`` is the ``audio_end_ms`` sent (None: no truncate, nothing was heard or no audio item);
    ``cancelled`` whether ``response.cancel`` was sent; ``dropped_ms`` the queued audio thrown away;
    ``played_ms``/``received_ms`` the interrupted item's clocks; ``reason`` "manual" or "speech_started".
    """

    item_id: Optional[str]
    content_index: int
    truncated_at_ms: Optional[int]
    cancelled: bool
    dropped_ms: float
    played_ms: float
    received_ms: float
    reason: str = "manual"
    server_cancels: bool = False  #: the server cancels the response itself (VAD ``interrupt_response``)
    error: Optional[str] = None  #: why a command could not be sent (session closed), if it could not

    @property
    def truncated(self) -> bool:
        return self.truncated_at_ms is not None


def server_cancels_on_speech(session_info: Optional[SessionInfo]) -> bool:
    """True when the server cancels the active response by itself at ``speech_started``: server or semantic VAD
    with ``interrupt_response`` true or unset (the service's default; also assumed when the session is unknown)."""
    if session_info is None:
        return True
    td = session_info.turn_detection
    if not td:
        return False  # no turn detection: the server never detects speech
    if td.get("type") not in (None, "server_vad", "semantic_vad"):
        return False
    value = td.get("interrupt_response")
    return True if value is None else bool(value)


def _transcode(decode: Callable[[bytes], bytes], encode: Callable[[bytes], bytes], data: bytes) -> bytes:
    return encode(decode(data))


class _Task:
    __slots__ = ("item", "cancelled", "error", "reason", "server_cancels", "result")

    def __init__(self, item: Optional[Tuple[str, int]], reason: str, server_cancels: bool) -> None:
        self.item = item
        self.cancelled = False
        self.error: Optional[str] = None
        self.reason = reason
        self.server_cancels = server_cancels
        self.result: Optional[InterruptResult] = None


class AudioPlayer:
    """Plays a session's output audio into ``sink`` and handles interruptions (see the module docstring).

    :param session: the :class:`~realtime_sync.observers.SessionLike` whose audio it plays (a
        :class:`~realtime_sync.session.RealtimeSession`); it sends ``truncate_item`` and ``cancel_response``.
    :param sink: where audio goes: a Speaker, a file sink or a NullSink.
    :param barge_in: interrupt automatically on ``input_audio_buffer.speech_started``.
    :param flush_timeout: bound of the wait for the sink's current block when flushing.
    :param on_interrupt: ``fn(InterruptResult)`` after every interrupt (on the interrupting or worker thread).
    :param attach: add the player to the session's observers now (else call :meth:`attach`).
    :param remember: how many interrupted item and response ids (and own event ids) are kept to drop late audio.
    """

    def __init__(self, session: SessionLike, sink: Any, *, barge_in: bool = True, flush_timeout: float = 1.0,
                 on_interrupt: Optional[Callable[[InterruptResult], None]] = None, attach: bool = True,
                 remember: int = 32) -> None:
        self.session = session
        self.sink = sink
        self.barge_in = barge_in
        self.flush_timeout = flush_timeout
        self.on_interrupt = on_interrupt
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._current: Optional[Tuple[str, int]] = None  # the audio item whose clock the sink holds
        self._current_response: Optional[str] = None  # the response that item belongs to
        self._active: List[str] = []  # ids of the responses in progress, oldest first
        self._cancel_sent_for: Optional[str] = None
        self._user_speaking = False
        self._dropped_items: Deque[str] = collections.deque(maxlen=remember)
        self._dropped_responses: Deque[str] = collections.deque(maxlen=remember)
        self._pending = 0  # interrupts that have not read the clock yet
        self._deferred: List[Tuple[str, int, Optional[str], bytes]] = []
        self._our_events: Deque[str] = collections.deque(maxlen=remember)
        self._converter: Optional[Tuple[Optional[str], Optional[Callable[[bytes], bytes]]]] = None
        self._worker: Optional[threading.Thread] = None
        self._worker_lock = threading.Lock()
        self._tasks: "queue.Queue[Optional[_Task]]" = queue.Queue()
        self._closed = False
        self.interrupts = 0  #: interrupts performed (manual and automatic)
        self.last_interrupt: Optional[InterruptResult] = None
        self.deltas_played = 0
        self.late_deltas_dropped = 0  #: deltas of an interrupted item/response that arrived afterwards
        self.errors: List[ErrorUpdate] = []  #: server errors answering this player's truncate/cancel
        self.truncated: List[Tuple[str, int]] = []  #: (item_id, audio_end_ms) the server confirmed
        self._attached = False
        if attach:
            self.attach()

    # ------------------------------------------------------------------------------------------------ lifecycle
    def attach(self) -> "AudioPlayer":
        if not self._attached:
            self.session.add_observer(self)
            self._attached = True
        return self

    def close(self, timeout: float = 2.0) -> None:
        """Stop observing the session and stop the worker (bounded). The sink is not closed (it is yours)."""
        if self._attached:
            try:
                self.session.remove_observer(self)
            except Exception:  # a closed session may not care
                pass
            self._attached = False
        self._closed = True
        worker = self._worker
        if worker is not None:
            self._tasks.put(None)
            if worker is not threading.current_thread():
                worker.join(timeout)

    def __enter__(self) -> "AudioPlayer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------------- state
    @property
    def response_active(self) -> bool:
        """A response is in progress (between ``response.created`` and ``response.done``)."""
        return bool(self._active)

    @property
    def active_response_id(self) -> Optional[str]:
        """The id of the (latest) response in progress, or None."""
        active = self._active
        return active[-1] if active else None

    @property
    def current_item(self) -> Optional[Tuple[str, int]]:
        """(item_id, content_index) of the assistant audio the sink's clock belongs to, or None."""
        return self._current

    @property
    def user_speaking(self) -> bool:
        """Between ``speech_started`` and ``speech_stopped`` (server VAD)."""
        return self._user_speaking

    @property
    def is_playing(self) -> bool:
        """The sink still has audio to play (queued, pre-rolling or being written)."""
        return bool(getattr(self.sink, "is_playing", False))

    @property
    def state(self) -> str:
        """listening / user_speaking / thinking (a response is active, nothing audible yet) / assistant_speaking."""
        if self._user_speaking:
            return USER_SPEAKING
        if self.is_playing:
            return ASSISTANT_SPEAKING
        active = self._active
        if active:  # audio of the active response has started: a gap (underrun) is still "speaking"
            return ASSISTANT_SPEAKING if self._current_response in active else THINKING
        return LISTENING

    def wait_idle(self, timeout: float) -> bool:
        """Block until no response is active and the sink has played everything; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.response_active or self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        drain = getattr(self.sink, "drain", None)
        if drain is None:
            return True
        return bool(drain(max(0.0, deadline - time.monotonic())))

    # ------------------------------------------------------------------------------------- observer (reader thread)
    @property
    def inline_safe(self) -> bool:
        """The library's sinks never block in ``write`` (they say so with ``nonblocking``); an app's sink might,
        so with one this player runs on the reader thread (see observers.runs_inline)."""
        return bool(getattr(self.sink, "nonblocking", False))

    def handle_update(self, u: ConversationUpdate) -> None:
        if type(u) is OutputAudioDeltaUpdate:
            self._on_delta(u)
        elif isinstance(u, ResponseCreatedUpdate):
            rid = (u.response.id if u.response is not None else None) or ""
            with self._lock:
                self._active = self._active[-7:] + [rid]
        elif isinstance(u, ResponseDoneUpdate):
            rid = (u.response.id if u.response is not None else None) or ""
            with self._idle:
                if rid in self._active:
                    self._active = [r for r in self._active if r != rid]
                elif not rid:
                    self._active = []
                self._idle.notify_all()
        elif isinstance(u, InputSpeechStartedUpdate):
            self._user_speaking = True
            if self.barge_in and (self.response_active or self.is_playing):
                server = server_cancels_on_speech(self.session.session_info)
                self._submit(self._begin(cancel=False if server else None, reason="speech_started",
                                         server_cancels=server))
        elif isinstance(u, InputSpeechStoppedUpdate):
            self._user_speaking = False
        elif isinstance(u, ItemTruncatedUpdate):
            if u.item_id is not None:
                self.truncated.append((u.item_id, int(u.audio_end_ms or 0)))
                del self.truncated[:-64]
        elif isinstance(u, ErrorUpdate):
            if u.client_event_id is not None and u.client_event_id in self._our_events:
                log.warning("server refused the player's %s (code %s)", u.client_event_id, u.code)
                self.errors.append(u)
                del self.errors[:-64]

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        with self._idle:
            self._active = []
            self._idle.notify_all()
        with self._worker_lock:
            if self._worker is not None and self._worker.is_alive():
                self._tasks.put(None)  # the worker ends after the tasks queued before; a later one restarts it
                self._worker = None

    def handle_connection_interrupted(self, error: BaseException) -> None:
        """The connection dropped: the old response's audio still buffered is flushed (it will not be continued),
        and items of the old server session are forgotten (a later barge-in truncates only new items)."""
        self.handle_connection_closed(error)
        flush = getattr(self.sink, "flush", None)
        if callable(flush):
            try:
                flush()
            except Exception:
                log.exception("flushing the sink after a drop failed (ignored)")
        with self._lock:
            self._current = None
            self._current_response = None

    def _on_delta(self, u: OutputAudioDeltaUpdate) -> None:
        iid = u.item_id or ""
        rid = u.response_id
        ci = u.content_index or 0
        with self._lock:  # held briefly: interrupts only take it for bookkeeping, never while flushing
            if iid in self._dropped_items or (rid is not None and rid in self._dropped_responses):
                self.late_deltas_dropped += 1
                return
            audio = u.audio
            convert = self._convert_fn()
            if convert is not None:
                audio = convert(audio)
            if self._pending:
                self._deferred.append((iid, ci, rid, audio))
                return
            self._write(iid, ci, rid, audio)

    def _write(self, iid: str, ci: int, rid: Optional[str], audio: bytes) -> None:  # lock held
        if self._current != (iid, ci):
            self.sink.reset_clock()
            self._current = (iid, ci)
            self._current_response = rid
            log.debug("playing a new audio item (content %d)", ci)
        if audio:
            self.sink.write(audio)
        self.deltas_played += 1

    def _convert_fn(self) -> Optional[Callable[[bytes], bytes]]:
        info = self.session.session_info
        fmt = normalize_format(info.output_audio_format if info is not None else None)
        cached = self._converter
        if cached is not None and cached[0] == fmt:
            return cached[1]
        sink_fmt = normalize_format(getattr(self.sink, "wire_format", None))
        fn: Optional[Callable[[bytes], bytes]] = None
        if fmt != sink_fmt:
            from .audio import g711  # the audio extra (numpy) is only needed when formats differ

            if sink_fmt == PCM16:
                fn = g711.WireDecoder(fmt, PCM16_RATE).decode
            elif fmt == PCM16:
                fn = g711.WireEncoder(sink_fmt, PCM16_RATE).encode
            else:  # one G.711 law to the other, through PCM16
                fn = functools.partial(_transcode, g711.WireDecoder(fmt, PCM16_RATE).decode,
                                       g711.WireEncoder(sink_fmt, PCM16_RATE).encode)
            log.info("converting model audio from %s to the sink's %s", fmt, sink_fmt)
        self._converter = (fmt, fn)
        return fn

    # ------------------------------------------------------------------------------------------------ interrupting
    def interrupt(self, *, cancel: Optional[bool] = None, wait: bool = True,
                  timeout: Optional[float] = None) -> Optional[InterruptResult]:
        """Stop playback now, flush it, truncate the current item at what was heard and cancel the active response.

        ``cancel``: None (default) cancels only while a response is active; False never cancels; True cancels when
        a response is active (a cancel without one is a server error, so it is never sent then).
        ``wait=False`` returns None at once and finishes on the player's worker (see :attr:`last_interrupt`,
        ``on_interrupt``); use it from observers and callbacks. ``timeout`` bounds the flush (default
        ``flush_timeout``). Never raises for a closed session: the result's ``error`` says what could not be sent.
        """
        task = self._begin(cancel=cancel, reason="manual", server_cancels=False)
        if not wait:
            self._submit(task)
            return None
        return self._finish(task, timeout)

    def _begin(self, *, cancel: Optional[bool], reason: str, server_cancels: bool) -> _Task:
        """The immediate part (any thread, never blocks): forget the item, drop its late audio, send the cancel
        (first, so generation stops as early as possible; the truncate follows once the clock is final)."""
        with self._lock:
            item = self._current
            self._current = self._current_response = None
            if item is not None:
                self._dropped_items.append(item[0])
            rid = self._active[-1] if self._active else None
            if rid is not None:
                self._dropped_responses.append(rid)
            do_cancel = rid is not None and cancel is not False and self._cancel_sent_for != rid
            if do_cancel:
                self._cancel_sent_for = rid
            self._pending += 1
            self.interrupts += 1
        task = _Task(item, reason, server_cancels)
        if do_cancel:
            try:
                self._our_events.append(self.session.cancel_response())
                task.cancelled = True
            except RealtimeError as exc:
                task.error = f"cancel not sent: {type(exc).__name__}"
        return task

    def _finish(self, task: _Task, timeout: Optional[float] = None) -> InterruptResult:
        """The blocking part: flush (waiting for the current block), read the clock, send truncate/cancel."""
        bound = self.flush_timeout if timeout is None else timeout
        item = task.item
        dropped = played = received = 0.0
        truncated_at: Optional[int] = None
        error = task.error
        try:
            try:
                dropped = float(self.sink.flush(wait=True, timeout=bound) or 0.0)
            except Exception as exc:  # a broken sink must not stop the truncate/cancel
                log.warning("flushing the sink failed: %s", type(exc).__name__)
            if item is not None:
                played = float(self.sink.played_ms)
                received = float(self.sink.received_ms)
                end_ms = int(min(played, received))
                if end_ms > 0:
                    try:
                        self._our_events.append(self.session.truncate_item(item[0], item[1], end_ms))
                        truncated_at = end_ms
                    except RealtimeError as exc:
                        error = f"truncate not sent: {type(exc).__name__}"
        finally:
            self._release()
        result = InterruptResult(item_id=item[0] if item else None, content_index=item[1] if item else 0,
                                 truncated_at_ms=truncated_at, cancelled=task.cancelled, dropped_ms=dropped,
                                 played_ms=played, received_ms=received, reason=task.reason,
                                 server_cancels=task.server_cancels, error=error)
        log.info("interrupted (%s): truncate at %s ms, cancel %s, dropped %.0f ms", task.reason,
                 truncated_at, task.cancelled, dropped)
        self.last_interrupt = result
        task.result = result
        if self.on_interrupt is not None:
            try:
                self.on_interrupt(result)
            except Exception:  # a user callback must not break playback
                log.exception("on_interrupt callback raised (ignored)")
        return result

    def _release(self) -> None:
        """The clock has been read: play the audio of new items held back meanwhile."""
        with self._idle:
            self._pending -= 1
            if self._pending:
                return
            deferred, self._deferred = self._deferred, []
            for iid, ci, rid, audio in deferred:
                if iid in self._dropped_items or (rid is not None and rid in self._dropped_responses):
                    self.late_deltas_dropped += 1
                    continue
                self._write(iid, ci, rid, audio)
            self._idle.notify_all()

    # ------------------------------------------------------------------------------------------------------ worker
    def _submit(self, task: _Task) -> None:
        if self._closed:
            self._release()
            return
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="realtime_sync-barge-in", daemon=True)
                self._worker.start()
        self._tasks.put(task)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                self._finish(task)
            except Exception:  # keep the worker alive
                log.exception("interrupt failed")

    def __repr__(self) -> str:
        return (f"<AudioPlayer state={self.state} response_active={self.response_active} "
                f"interrupts={self.interrupts}>")
