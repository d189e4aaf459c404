"""A voice kiosk in a few lines: microphone -> session -> speaker, with barge-in and an echo guard.

::

    with client.start_session(options) as session:
        with KioskAudio(session, input_device="USB", output_device="USB", on_state=print) as kiosk:
            kiosk.run(duration=None)          # until Ctrl-C / stop() / the session ends

:class:`KioskAudio` wires:

- the :class:`~realtime_sync.audio.Microphone` into ``session.send_audio`` (server VAD), or, with
  ``push_to_talk=True`` (turn detection off), only between :meth:`~KioskAudio.start_talking` and
  :meth:`~KioskAudio.stop_talking` (then commit + ``response.create``);
- the model's audio into the :class:`~realtime_sync.audio.Speaker` through an
  :class:`~realtime_sync.playback.AudioPlayer` (``session.interrupt()`` works; automatic barge-in on
  ``speech_started`` unless ``barge_in=False``);
- an :class:`~realtime_sync.audio.EchoGuard` as the microphone's gate: ``half_duplex`` (default) sends silence
  while the speaker plays and for ``tail_ms`` after, so open speakers do not make the model hear itself (voice
  barge-in is then impossible while it speaks: use push-to-talk, headphones, or OS echo cancellation with
  ``full_duplex``); ``full_duplex`` never mutes; ``raised_threshold_while_playing`` raises the server VAD
  threshold while the assistant is audible;
- a monitor thread reporting state changes (listening / user_speaking / thinking / assistant_speaking /
  interrupted) to ``on_state``.

Devices the kiosk opened itself are closed by :meth:`~KioskAudio.stop` (each stream by the thread that owns it);
devices passed in are left open. Every wait is bounded.
"""
import logging
import queue
import threading
import time
from typing import Any, Callable, Iterator, Optional, Protocol, Sequence, TypeVar

from .errors import ProtocolError, RealtimeError, RealtimeTimeoutError
from .audio.file_microphone import FileMicrophone  # noqa: F401 - re-exported
from .observers import SendHandle, SessionLike
from .playback import INTERRUPTED, LISTENING, USER_SPEAKING, AudioPlayer, InterruptResult
from .protocol.audio_formats import bytes_per_second, normalize_format

# (FileMicrophone: from .audio)
__all__ = ["KioskAudio", "KioskDevices", "KioskSession", "FileMicrophone", "ECHO_POLICIES", "consume_updates"]

log = logging.getLogger("realtime_sync.kiosk")

ECHO_POLICIES = ("half_duplex", "full_duplex", "raised_threshold_while_playing")


def consume_updates(session: Any, duration: Optional[float], on_update: Optional[Callable[[Any], None]],
                    stops: Sequence[Optional[threading.Event]]) -> str:
    """Iterate ``session.receive_updates()`` (passing each to ``on_update``) until ``duration`` seconds passed
    ("duration"), one of ``stops`` is set ("stopped") or the session ended ("closed"); raises the connection's
    error if it failed."""
    deadline = None if duration is None else time.monotonic() + duration
    events = [e for e in stops if e is not None]

    def stopped() -> bool:
        return any(e.is_set() for e in events)

    while True:
        if stopped():
            return "stopped"
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return "duration"
        try:
            for update in session.receive_updates(timeout=min(0.1, left) if left is not None else 0.1):
                if on_update is not None:
                    on_update(update)
                if stopped():
                    return "stopped"
                if deadline is not None and time.monotonic() >= deadline:
                    return "duration"
            return "closed"
        except RealtimeTimeoutError:
            continue


class KioskSession(SessionLike, Protocol):
    """The session as the kiosk uses it: a :class:`~realtime_sync.observers.SessionLike` that also plays the
    model's audio (:class:`~realtime_sync.session.RealtimeSession` is one)."""

    @property
    def player(self) -> Optional[AudioPlayer]: ...

    def play_audio(self, sink: Any, *, barge_in: bool = True, flush_timeout: float = 1.0,
                   on_interrupt: Optional[Callable[[InterruptResult], None]] = None) -> AudioPlayer: ...

    def interrupt(self, *, cancel: Optional[bool] = None, wait: bool = True,
                  timeout: Optional[float] = None) -> Optional[InterruptResult]: ...

    def stop_playing_audio(self) -> None: ...


Devices = TypeVar("Devices", bound="KioskDevices")


class KioskDevices:
    """What both kiosks share (:class:`KioskAudio`, and the translation
    :class:`~realtime_sync.translation.interpreter.Interpreter`): the devices they open (a speaker, the
    :class:`~realtime_sync.audio.EchoGuard` listening to it, a microphone gated by the guard) and close (only those
    they opened, or all with ``close_given``), the update loop and the context manager. Subclasses define
    :meth:`start` and :meth:`stop`."""

    def __init__(self, session: Any, microphone: Any, speaker: Any, *, input_device: Any, output_device: Any,
                 echo_policy: str, tail_ms: float, chunk_ms: int, quiet: Optional[bool], close_given: bool,
                 stop_timeout: float) -> None:
        if echo_policy not in ECHO_POLICIES:
            raise ValueError(f"echo_policy must be one of {ECHO_POLICIES} (got {echo_policy!r})")
        self.session = session
        self.mic = microphone
        self.speaker = speaker
        self.input_device = input_device
        self.output_device = output_device
        self.echo_policy = echo_policy
        self.tail_ms = tail_ms
        self.chunk_ms = chunk_ms
        self.quiet = quiet
        self.stop_timeout = stop_timeout
        self.guard: Any = None
        self._own_mic = microphone is None or close_given
        self._own_speaker = speaker is None or close_given
        self._stop = threading.Event()

    def start(self: Devices) -> Devices:  # pragma: no cover - defined by the subclasses
        raise NotImplementedError

    def stop(self, timeout: Optional[float] = None) -> None:  # pragma: no cover - defined by the subclasses
        raise NotImplementedError

    def _open_devices(self, in_format: str, out_format: str, **speaker_options: Any) -> None:
        """Open the speaker (with ``speaker_options``) and the microphone not given (the audio extra) and gate the
        microphone."""
        from .audio import EchoGuard, Microphone, Speaker

        if self.speaker is None:
            self.speaker = Speaker(self.output_device, wire_format=out_format, quiet=self.quiet, **speaker_options)
        self.guard = EchoGuard(self.speaker, self.echo_policy, self.tail_ms)
        if self.mic is None:
            self.mic = Microphone(self.input_device, wire_format=in_format, chunk_ms=self.chunk_ms, gate=self.guard,
                                  quiet=self.quiet)
        elif getattr(self.mic, "gate", False) is None:
            self.mic.gate = self.guard

    def _close_mic(self, deadline: float) -> None:
        if self.mic is not None and self._own_mic:
            self.mic.close(timeout=max(0.1, deadline - time.monotonic()))

    def _close_speaker(self, deadline: float) -> None:
        if self.speaker is not None and self._own_speaker:
            self.speaker.close(timeout=max(0.1, deadline - time.monotonic()))

    def __enter__(self: Devices) -> Devices:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def run(self, duration: Optional[float] = None, on_update: Optional[Callable[[Any], None]] = None,
            stop_event: Optional[threading.Event] = None) -> str:
        """Consume the session's updates (so they do not pile up) until ``duration`` seconds passed,
        ``stop_event`` or :meth:`stop` was set, or the session ended. Returns why: "duration", "stopped" or
        "closed". Raises the connection's error if it failed. ``on_update(update)`` sees every update."""
        return consume_updates(self.session, duration, on_update, (self._stop, stop_event))


class KioskAudio(KioskDevices):
    """Microphone + speaker + session (see the module docstring).

    :param session: a started :class:`~realtime_sync.session.RealtimeSession` (any :class:`KioskSession`).
    :param microphone: a :class:`~realtime_sync.audio.Microphone` (or any iterable of wire chunks with ``read`` and
        ``close``); None opens ``input_device``.
    :param speaker: a :class:`~realtime_sync.audio.Speaker` or another sink; None opens ``output_device``.
    :param input_device, output_device: device index or name substring (None: the system default).
    :param echo_policy: "half_duplex" (default), "full_duplex" or "raised_threshold_while_playing".
    :param tail_ms: half duplex: how long the mic stays muted after the played-frames clock stopped.
    :param barge_in: interrupt playback on ``speech_started`` (server VAD).
    :param push_to_talk: only send audio between :meth:`start_talking` and :meth:`stop_talking` (turn detection
        must be off: ``TurnDetection.disabled()``).
    :param on_state: ``fn(state)`` for every state change (called on the kiosk's monitor thread).
    :param chunk_ms: size of the microphone chunks the kiosk opens, and of each ``input_audio_buffer.append``.
        100 ms (default) costs a small CPU a third of 20 ms appends (fewer thread wake-ups and frames) and delays
        the server's speech detection by at most that; the echo guard stays exact because it is evaluated when each
        chunk completes and the speaker counts as playing from the moment audio is queued, before it sounds.
    :param raised_threshold: the VAD threshold used while the assistant speaks ("raised_threshold_while_playing").
    :param close_given: :meth:`stop` also closes the microphone and speaker passed in (else only those it opened).
    """

    def __init__(self, session: KioskSession, microphone: Any = None, speaker: Any = None, *, input_device: Any = None,
                 output_device: Any = None, echo_policy: str = "half_duplex", tail_ms: float = 300.0,
                 barge_in: bool = True, push_to_talk: bool = False,
                 on_state: Optional[Callable[[str], None]] = None, chunk_ms: int = 100, poll_interval: float = 0.05,
                 min_talk_ms: int = 100, raised_threshold: float = 0.8, quiet: Optional[bool] = None,
                 close_given: bool = False, stop_timeout: float = 3.0) -> None:
        super().__init__(session, microphone, speaker, input_device=input_device, output_device=output_device,
                         echo_policy=echo_policy, tail_ms=tail_ms, chunk_ms=chunk_ms, quiet=quiet,
                         close_given=close_given, stop_timeout=stop_timeout)
        self.session: KioskSession = session
        self.barge_in = barge_in
        self.push_to_talk = push_to_talk
        self.on_state = on_state
        self.poll_interval = poll_interval
        self.min_talk_ms = min_talk_ms
        self.raised_threshold = raised_threshold
        self.player: Optional[AudioPlayer] = None
        self.state = LISTENING
        self.talk_turns = 0  #: push-to-talk turns committed
        self._send_handle: Optional[SendHandle] = None
        self._threads: list = []
        self._lock = threading.Lock()
        self._talking = False
        self._talk_queue: "Optional[queue.Queue[bytes]]" = None
        self._talk_stop = threading.Event()
        self._talk_handle: Optional[SendHandle] = None
        self._started = False
        self._base_vad: Optional[dict] = None
        self._raised = False

    # ------------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> "KioskAudio":
        """Open the devices not given, attach the player and start streaming the microphone. Returns self."""
        if self._started:
            return self
        info = self.session.session_info
        if self.push_to_talk and (info is None or info.turn_detection is not None):
            raise ProtocolError("push_to_talk needs turn detection off (TurnDetection.disabled()); under server "
                                "VAD the server commits the audio itself")
        in_fmt = normalize_format(info.input_audio_format if info is not None else None)
        out_fmt = normalize_format(info.output_audio_format if info is not None else None)
        try:
            self._open_devices(in_fmt, out_fmt)
            self.player = self.session.play_audio(self.speaker, barge_in=self.barge_in,
                                                  on_interrupt=self._interrupted)
            if self.push_to_talk:
                self._spawn(self._pump, "realtime_sync-kiosk-mic")
            else:
                self._send_handle = self.session.send_audio(self.mic, chunk_ms=self.chunk_ms)
            if self.echo_policy == "raised_threshold_while_playing" and info is not None and info.turn_detection:
                self._base_vad = dict(info.turn_detection)
            self._spawn(self._monitor, "realtime_sync-kiosk-monitor")
        except BaseException:
            self.stop()
            raise
        self._started = True
        log.info("kiosk audio started (%s, echo %s, barge-in %s)", "push-to-talk" if self.push_to_talk else
                 "server VAD", self.echo_policy, self.barge_in)
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop streaming, detach the player, close the devices the kiosk opened (idempotent, bounded)."""
        bound = self.stop_timeout if timeout is None else timeout
        deadline = time.monotonic() + bound
        self._stop.set()
        self._talk_stop.set()
        for handle in (self._send_handle, self._talk_handle):
            if handle is not None:
                handle.cancel()
        self._close_mic(deadline)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(max(0.1, deadline - time.monotonic()))
        self._threads = []
        if self.player is not None:
            if self.session.player is self.player:
                self.session.stop_playing_audio()
            else:
                self.player.close(timeout=max(0.1, deadline - time.monotonic()))
        self._close_speaker(deadline)
        self._started = False

    # -------------------------------------------------------------------------------------------- push to talk
    @property
    def talking(self) -> bool:
        return self._talking

    def start_talking(self) -> None:
        """Push-to-talk: interrupt the assistant if it is speaking, clear the input buffer, stream the mic."""
        if not self.push_to_talk:
            raise RealtimeError("start_talking() is for push_to_talk kiosks")
        with self._lock:
            if self._talking or self._stop.is_set():
                return
            self._talking = True
            self._talk_stop = threading.Event()
            self._talk_queue = queue.Queue(maxsize=max(10, int(60_000 / self.chunk_ms)))
        player = self.player
        if player is not None and (player.response_active or player.is_playing):
            player.interrupt()
        if self.guard is not None:
            self.guard.reset()
        self.session.clear_audio()
        self._talk_handle = self.session.send_audio(self._talk_chunks(self._talk_queue, self._talk_stop),
                                                    chunk_ms=self.chunk_ms)

    def stop_talking(self, respond: bool = True, timeout: float = 5.0) -> bool:
        """Push-to-talk release: commit what was said (at least ``min_talk_ms``, else clear) and ask for a
        response. Returns True when the audio was committed."""
        with self._lock:
            if not self._talking:
                return False
            self._talking = False
            self._talk_queue = None
        self._talk_stop.set()
        handle = self._talk_handle
        if handle is None:
            return False
        if not handle.wait(timeout):
            handle.cancel()
        info = self.session.session_info
        sent_ms = handle.bytes_sent * 1000 // bytes_per_second(info.input_audio_format if info is not None else None)
        if sent_ms < self.min_talk_ms:
            log.info("push-to-talk: %d ms is too short to commit; cleared", sent_ms)
            self.session.clear_audio()
            return False
        self.session.commit_audio()
        if respond:
            self.session.start_response()
        self.talk_turns += 1
        return True

    def toggle_talk(self) -> bool:
        """Start talking if not talking, else stop (Enter on a terminal); returns whether talking now."""
        if self._talking:
            self.stop_talking()
        else:
            self.start_talking()
        return self._talking

    def _pump(self) -> None:
        """Push-to-talk: the only reader of the mic; forwards chunks while talking, drops them otherwise."""
        mic = self.mic
        while not self._stop.is_set():
            try:
                chunk = mic.read(timeout=0.2)
            except Exception as exc:  # the device died: stop pumping, the state shows it
                log.error("microphone failed: %s", type(exc).__name__)
                return
            if chunk is None:
                continue
            if not chunk:
                return
            q = self._talk_queue
            if q is not None:
                try:
                    q.put_nowait(chunk)
                except queue.Full:
                    pass

    @staticmethod
    def _talk_chunks(q: "queue.Queue[bytes]", stop: threading.Event) -> Iterator[bytes]:
        while True:
            try:
                yield q.get(timeout=0.05)
            except queue.Empty:
                if stop.is_set():
                    return

    # ----------------------------------------------------------------------------------------------------- state
    def _interrupted(self, result: InterruptResult) -> None:
        if self.guard is not None:
            self.guard.reset()  # the speaker was flushed on purpose: no echo tail to wait for

    def current_state(self) -> str:
        player = self.player
        if self._talking:
            return USER_SPEAKING
        return player.state if player is not None else LISTENING

    def _emit(self, state: str) -> None:
        self.state = state
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:  # a printing callback must not stop the kiosk
                log.exception("on_state callback raised (ignored)")

    def _monitor(self) -> None:
        seen_interrupts = 0
        self._emit(LISTENING)
        while not self._stop.wait(self.poll_interval):
            player = self.player
            if player is not None and player.interrupts != seen_interrupts:
                seen_interrupts = player.interrupts
                self._emit(INTERRUPTED)
            state = self.current_state()
            if state != self.state:
                self._emit(state)
            if self._base_vad is not None:
                self._adjust_threshold()

    def _adjust_threshold(self) -> None:
        speaking = bool(self.guard.speaking) if self.guard is not None else False
        if speaking == self._raised or self.session.closed:
            return
        from .protocol import SessionOptions, TurnDetection

        vad = dict(self._base_vad or {})
        if speaking:
            vad["threshold"] = max(float(vad.get("threshold") or 0.5), self.raised_threshold)
        try:
            self.session.configure_session(SessionOptions(turn_detection=TurnDetection.from_wire(vad)), wait=False)
            self._raised = speaking
            log.debug("VAD threshold %s while the assistant speaks", "raised" if speaking else "restored")
        except RealtimeError as exc:
            log.warning("could not change the VAD threshold: %s", type(exc).__name__)

    def __repr__(self) -> str:
        return f"<KioskAudio state={self.state} echo={self.echo_policy} ptt={self.push_to_talk}>"
