"""What :class:`~realtime_sync.session.RealtimeSession` gains for local audio: a player with barge-in
(:mod:`realtime_sync.playback`) and the kiosk wiring (:mod:`realtime_sync.kiosk`).

Mixed into the session class. Nothing here imports the audio extra (PyAudio, numpy) until it is used.
"""
from typing import Any, Optional

from .errors import RealtimeError
from .playback import AudioPlayer, InterruptResult

__all__ = ["SessionAudio"]


class SessionAudio:
    """Mixin: :meth:`play_audio`, :meth:`interrupt` and :meth:`start_conversation_audio`."""

    _audio_player: Optional[AudioPlayer] = None

    @property
    def player(self) -> Optional[AudioPlayer]:
        """The :class:`~realtime_sync.playback.AudioPlayer` playing this session's audio, if any."""
        return self._audio_player

    def play_audio(self, sink: Any, *, barge_in: bool = True, **kwargs: Any) -> AudioPlayer:
        """Play the model's audio into ``sink`` (a :class:`~realtime_sync.audio.Speaker`, a file sink, a
        :class:`~realtime_sync.audio.NullSink`) from now on, with automatic barge-in on ``speech_started`` unless
        ``barge_in=False``. Replaces the previous player (the previous sink is left open). ``kwargs`` go to
        :class:`~realtime_sync.playback.AudioPlayer` (``flush_timeout``, ``on_interrupt``)."""
        old = self._audio_player
        if old is not None:
            old.close()
        player = AudioPlayer(self, sink, barge_in=barge_in, **kwargs)
        self._audio_player = player
        return player

    attach_player = play_audio

    def stop_playing_audio(self) -> None:
        """Detach the player (its sink is left open)."""
        player, self._audio_player = self._audio_player, None
        if player is not None:
            player.close()

    def interrupt(self, *, cancel: Optional[bool] = None, wait: bool = True,
                  timeout: Optional[float] = None) -> Optional[InterruptResult]:
        """Barge in: stop and flush playback, truncate the assistant's audio item at what was heard
        (``min(played_ms, received_ms)``; nothing at 0 ms) and cancel the response if one is active.
        See :meth:`realtime_sync.playback.AudioPlayer.interrupt`. Needs :meth:`play_audio` first."""
        player = self._audio_player
        if player is None:
            raise RealtimeError("interrupt() needs a player: call session.play_audio(sink) first (or use "
                                "cancel_response()/truncate_item() directly)")
        return player.interrupt(cancel=cancel, wait=wait, timeout=timeout)

    def start_conversation_audio(self, microphone: Any = None, speaker: Any = None, **kwargs: Any) -> Any:
        """Talk with the model through a microphone and a speaker: mic -> ``send_audio``, model audio -> speaker,
        barge-in and the echo guard; returns a started :class:`~realtime_sync.kiosk.KioskAudio` (call its
        ``stop()``, or use it as a context manager). Devices not given are opened by name (``input_device``,
        ``output_device``). ``kwargs`` go to :class:`~realtime_sync.kiosk.KioskAudio` (``echo_policy``,
        ``tail_ms``, ``barge_in``, ``push_to_talk``, ``on_state``...)."""
        from .kiosk import KioskAudio

        return KioskAudio(self, microphone, speaker, **kwargs).start()
