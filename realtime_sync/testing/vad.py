"""The input audio buffer and server VAD, computed frame by frame on the real samples.

Energy detector, 10 ms frames (240 samples of PCM16 at 24 kHz, 80 of G.711 at 8 kHz):

* a frame is *voiced* when its RMS level, in dBFS (full scale = 32768), is at least ``-70 + 60 * threshold``:
  threshold 0 -> -70 dBFS, the default 0.5 -> -40 dBFS, 0.9 -> -16 dBFS, 1.0 -> -10 dBFS;
* speech starts after :data:`MIN_SPEECH_MS` of consecutive voiced frames; ``speech_started.audio_start_ms`` is the
  start of the first voiced frame minus ``prefix_padding_ms`` (never before the start of the buffer, never < 0);
* speech stops once ``silence_duration_ms`` of unvoiced frames follow the last voiced one;
  ``speech_stopped.audio_end_ms`` is the end of the last voiced frame plus ``silence_duration_ms``, i.e. the moment
  the silence was confirmed, as the service reports it ("includes the min_silence_duration_ms").

All times are milliseconds since the first audio the session received (monotonic across turns, cleared and
committed audio included), as the service counts them. Detected boundaries are within one frame (10 ms) of the
true ones.
"""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..protocol.audio_formats import PCM16, wire_rate, wire_sample_width
from ._util import bytes_per_ms, decode_to_float

__all__ = ["VadEvent", "InputAudioBuffer", "threshold_dbfs", "FRAME_MS", "MIN_SPEECH_MS"]

FRAME_MS = 10
MIN_SPEECH_MS = 30


def threshold_dbfs(threshold: float) -> float:
    """The frame level (dBFS) at which a frame counts as speech for a VAD ``threshold`` in 0..1."""
    return -70.0 + 60.0 * min(1.0, max(0.0, float(threshold)))


@dataclass
class VadEvent:
    kind: str  #: ``started`` / ``stopped`` / ``timeout``
    ms: int  #: audio_start_ms (started) or audio_end_ms (stopped, timeout)
    start_ms: int = 0  #: timeout: where the idle window began


class InputAudioBuffer:
    """The uncommitted input audio of a session, plus the VAD state over the whole input stream."""

    def __init__(self, fmt: str = PCM16) -> None:
        self.fmt = fmt
        self.rate = wire_rate(fmt)
        self.width = wire_sample_width(fmt)
        self.buffer = bytearray()
        self.buffer_start_ms = 0.0  #: stream time of buffer[0]
        self.stream_samples = 0  #: samples received since the session's audio began
        self._pending = np.zeros(0, dtype=np.float32)  # samples of an incomplete frame
        self._frame = self.rate * FRAME_MS // 1000
        self.reset_vad()
        self.idle_since_ms: Optional[float] = None  #: set when a response finishes (server_vad idle_timeout_ms)

    @classmethod
    def rebased(cls, old: "InputAudioBuffer", fmt: str) -> "InputAudioBuffer":
        """A new (empty) buffer in another format whose stream clock continues ``old``'s."""
        new = cls(fmt)
        ms = old.stream_ms
        new.stream_samples = int(round(ms * new.rate / 1000.0))
        new.buffer_start_ms = new.stream_ms
        new.idle_since_ms = old.idle_since_ms
        return new

    def reset_vad(self) -> None:
        self.speaking = False
        self._run = 0
        self._candidate_ms = 0.0
        self._last_voiced_end = 0.0

    # -- buffer ---------------------------------------------------------------------------------------------------
    @property
    def stream_ms(self) -> float:
        return self.stream_samples * 1000.0 / self.rate

    @property
    def duration_ms(self) -> float:
        return len(self.buffer) / self.width * 1000.0 / self.rate

    def clear(self) -> None:
        self.buffer_start_ms += self.duration_ms
        self.buffer.clear()
        self.reset_vad()

    def _offset(self, ms: Optional[float], default: int) -> int:
        """The buffer offset (whole samples) of stream time ``ms`` (``default`` when None)."""
        if ms is None:
            return default
        off = int(round((ms - self.buffer_start_ms) * bytes_per_ms(self.fmt)))
        off -= off % self.width
        return max(0, min(len(self.buffer), off))

    def peek(self, start_ms: Optional[float] = None, end_ms: Optional[float] = None) -> bytes:
        """A copy of the buffered audio between ``start_ms`` and ``end_ms`` (stream times; None: the ends)."""
        end = self._offset(end_ms, len(self.buffer))
        return bytes(self.buffer[min(self._offset(start_ms, 0), end):end])

    def take(self, start_ms: Optional[float] = None, end_ms: Optional[float] = None) -> bytes:
        """Remove and return the buffer up to ``end_ms`` (all of it when None); audio before ``start_ms`` is
        dropped. What follows ``end_ms`` stays buffered."""
        audio = self.peek(start_ms, end_ms)
        end = self._offset(end_ms, len(self.buffer))
        del self.buffer[:end]
        self.buffer_start_ms += end / self.width * 1000.0 / self.rate
        return audio

    # -- VAD ------------------------------------------------------------------------------------------------------
    def append(self, data: bytes, vad: Optional[dict]) -> List[VadEvent]:
        """Buffer ``data``; with ``vad`` (the session's turn_detection settings) return what the VAD detected."""
        self.buffer += data
        samples = decode_to_float(data, self.fmt)
        if vad is None:
            self.stream_samples += len(samples)
            return []
        first_sample = self.stream_samples - self._pending.size
        self.stream_samples += samples.size
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        n = samples.size // self._frame
        self._pending = samples[n * self._frame:].copy()
        if not n:
            return []
        frames = samples[: n * self._frame].reshape(n, self._frame)
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
        voiced = 20.0 * np.log10(rms + 1e-12) >= threshold_dbfs(vad.get("threshold", 0.5))
        return self._run_frames(voiced, first_sample * 1000.0 / self.rate, vad)

    def _run_frames(self, voiced: np.ndarray, t0_ms: float, vad: dict) -> List[VadEvent]:
        events: List[VadEvent] = []
        prefix = float(vad.get("prefix_padding_ms") or 0)
        silence = float(self._silence_ms(vad))
        idle = vad.get("idle_timeout_ms") if vad.get("type") == "server_vad" else None
        for i, v in enumerate(voiced.tolist()):
            start = t0_ms + i * FRAME_MS
            end = start + FRAME_MS
            if not self.speaking:
                if v:
                    if self._run == 0:
                        self._candidate_ms = start
                    self._run += 1
                    if self._run * FRAME_MS >= MIN_SPEECH_MS:
                        self.speaking = True
                        self._last_voiced_end = end
                        self.idle_since_ms = None
                        onset = max(0.0, self.buffer_start_ms, self._candidate_ms - prefix)
                        events.append(VadEvent("started", int(round(onset))))
                else:
                    self._run = 0
                    if idle and self.idle_since_ms is not None and end - self.idle_since_ms >= idle:
                        events.append(VadEvent("timeout", int(round(end)), int(round(self.idle_since_ms))))
                        self.idle_since_ms = None
            elif v:
                self._last_voiced_end = end
            elif end - self._last_voiced_end >= silence:
                self.speaking = False
                self._run = 0
                events.append(VadEvent("stopped", int(round(self._last_voiced_end + silence))))
        return events

    @staticmethod
    def _silence_ms(vad: dict) -> float:
        if vad.get("type") == "semantic_vad":
            from .session_state import SEMANTIC_SILENCE_MS
            return SEMANTIC_SILENCE_MS.get(vad.get("eagerness") or "auto", 600)
        value = vad.get("silence_duration_ms")
        return 200.0 if value is None else float(value)
