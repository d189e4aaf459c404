"""Transcription-only sessions (pure): :class:`TranscriptionOptions` and the command that applies them.

GA configures them with ``session.update`` and ``session.type = "transcription"`` (nested ``audio.input``); beta
uses its own ``transcription_session.update`` with flat fields. A GA transcription-only connection is opened with
``?intent=transcription``.
"""
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Union

from ..errors import ProtocolError
from .audio_formats import PCM16
from .commands import Command, SessionUpdateCommand, TranscriptionSessionUpdateCommand
from .kinds import Dialect
from .model_names import transcription_model
from .models import audio_format_wire
from .options import InputTranscription, SessionOptions, TurnDetection, deep_merge

__all__ = ["TranscriptionOptions", "TRANSCRIPTION_LOGPROBS"]

Json = Dict[str, Any]

#: The ``include`` entry asking for log probabilities in transcription events.
TRANSCRIPTION_LOGPROBS = "item.input_audio_transcription.logprobs"


@dataclass
class TranscriptionOptions:
    """Configuration of a transcription-only session (no model responses, only input transcripts).

    ``turn_detection`` ``None`` leaves the server default (server VAD); :meth:`TurnDetection.disabled` turns VAD
    off so the client commits the buffer itself. ``languages``, ``keywords`` and ``delay`` are GA only.
    """

    model: Optional[str] = None  #: None: ``gpt-transcribe`` (GA), ``gpt-4o-mini-transcribe`` (beta)
    language: Optional[str] = None
    prompt: Optional[str] = None
    input_audio_format: str = PCM16
    turn_detection: Optional[TurnDetection] = None
    noise_reduction: Optional[str] = None  #: ``near_field`` / ``far_field``
    include: Optional[List[str]] = None  #: e.g. ``[TRANSCRIPTION_LOGPROBS]``
    languages: Optional[List[str]] = None  #: GA only
    keywords: Optional[List[str]] = None  #: GA only
    delay: Optional[str] = None  #: GA only: minimal / low / medium / high / xhigh
    extra: Optional[Json] = field(default=None)  #: deep-merged as-is into the wire ``session`` object

    def _transcription(self, dialect: Dialect) -> Json:
        out: Json = {"model": transcription_model(self.model, dialect is Dialect.BETA)}
        for key in ("language", "prompt"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        ga_only = {k: getattr(self, k) for k in ("languages", "keywords", "delay") if getattr(self, k) is not None}
        if ga_only and dialect is Dialect.BETA:
            raise ProtocolError(f"{sorted(ga_only)} exist only in the GA protocol")
        out.update(ga_only)
        return out

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        """The wire ``session`` object: GA ``session.update`` body or beta ``transcription_session.update`` body."""
        dialect = Dialect.coerce(dialect)
        transcription = self._transcription(dialect)
        noise = {"type": self.noise_reduction} if self.noise_reduction else None
        fmt = audio_format_wire(self.input_audio_format, dialect)
        if dialect is Dialect.BETA:
            out: Json = {"input_audio_format": fmt, "input_audio_transcription": transcription}
            if self.turn_detection is not None:
                out["turn_detection"] = self.turn_detection.to_wire(dialect)
            if noise:
                out["input_audio_noise_reduction"] = noise
            if self.include is not None:
                out["include"] = list(self.include)
            return deep_merge(out, self.extra)
        a_in: Json = {"format": fmt, "transcription": transcription}
        if self.turn_detection is not None:
            a_in["turn_detection"] = self.turn_detection.to_wire(dialect)
        if noise:
            a_in["noise_reduction"] = noise
        out = {"type": "transcription", "audio": {"input": a_in}}
        if self.include is not None:
            out["include"] = list(self.include)
        return deep_merge(out, self.extra)

    def to_command(self, dialect: Union[Dialect, str] = Dialect.GA, event_id: Optional[str] = None) -> Command:
        """The client event that applies these options: ``session.update`` (GA) or
        ``transcription_session.update`` (beta)."""
        dialect = Dialect.coerce(dialect)
        wire = self.to_wire(dialect)
        if dialect is Dialect.BETA:
            return TranscriptionSessionUpdateCommand(event_id=event_id, session=wire)
        # SessionOptions.extra carries the whole GA object (its own fields all None, so only ``extra`` is sent).
        return SessionUpdateCommand(event_id=event_id, session=SessionOptions(extra=wire))

    def to_session_options(self) -> SessionOptions:
        """The same transcription on a regular realtime session (no ``intent``; for servers without
        transcription sessions): input transcription on, and VAD never creating responses."""
        td = self.turn_detection
        if td is None:
            td = TurnDetection.server_vad(create_response=False)
        elif td.type != "none":
            td = replace(td, create_response=False)
        extra = {"audio": {"input": {"transcription": self._transcription(Dialect.GA)}}} if any(
            getattr(self, k) is not None for k in ("languages", "keywords", "delay")) else None
        return SessionOptions(input_audio_format=self.input_audio_format, turn_detection=td,
                              input_transcription=InputTranscription(self.model, self.language, self.prompt),
                              noise_reduction=self.noise_reduction, output_modalities=["text"], extra=extra)

    @property
    def vad_enabled(self) -> bool:
        """False when turn detection was explicitly disabled (the client commits)."""
        return self.turn_detection is None or self.turn_detection.type != "none"
