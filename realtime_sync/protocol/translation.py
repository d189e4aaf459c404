"""Live translation sessions (``/v1/realtime/translations``, ADDENDUM-2026-12 A3): configuration, client commands
and typed server events. Pure: no I/O, shared by the client and the simulator.

A translation session has no conversation, items or responses: the client streams 24 kHz PCM16 mono audio
(``session.input_audio_buffer.append``, 200 ms frames) and the server streams translated speech
(``session.output_audio.delta``) and text (``session.output_transcript.delta``; the source-language text
``session.input_transcript.delta`` only while input transcription is on). ``session.close`` ends it gracefully:
the server translates what it holds, sends the rest, then ``session.closed``. ``error`` is the same event as on
``/v1/realtime`` (:class:`~realtime_sync.protocol.updates.ErrorUpdate`).
"""
import base64
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Optional, Type, Union

from ..errors import ConfigurationError, ProtocolError
from ._decode import decoder
from .audio_formats import PCM16, PCM16_RATE, bytes_for_ms
from .commands import Command
from .kinds import Dialect, UpdateKind
from .model_names import TRANSLATION_MODEL
from .updates import Base64Audio, ConversationUpdate, ErrorUpdate, UnknownUpdate, decode_message, load_message

__all__ = [
    "TRANSLATION_MODEL", "TRANSLATION_TRANSCRIPTION_MODEL", "FRAME_MS", "FRAME_BYTES", "NOISE_REDUCTION_TYPES",
    "APPEND_TYPE", "KEEP", "NoiseReduction", "TranslationOptions", "TranslationSessionInfo",
    "TranslationSessionUpdateCommand", "TranslationAudioAppendCommand", "SessionCloseCommand",
    "TRANSLATION_COMMAND_CLASSES", "parse_translation_command", "encode_translation_append",
    "TranslationSessionCreatedUpdate", "TranslationSessionUpdatedUpdate", "SessionClosedUpdate",
    "InputTranscriptDeltaUpdate", "OutputTranscriptDeltaUpdate", "TranslatedAudioDeltaUpdate",
    "TRANSLATION_UPDATE_CLASSES", "parse_translation_update",
]

Json = Dict[str, Any]

#: The transcription model ``transcribe_input=True`` asks for (the addendum's example).
TRANSLATION_TRANSCRIPTION_MODEL = "gpt-realtime-whisper"
#: The engine's frame: 200 ms of 24 kHz PCM16 mono = 9,600 bytes (12,800 base64 characters).
FRAME_MS = 200
FRAME_BYTES = bytes_for_ms(PCM16, FRAME_MS)
NOISE_REDUCTION_TYPES = ("near_field", "far_field")
APPEND_TYPE = "session.input_audio_buffer.append"


class _Keep:
    """The default of :meth:`TranslationOptions` fields an update leaves as they are."""

    _instance: Optional["_Keep"] = None

    def __new__(cls) -> "_Keep":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        return False


#: "leave this setting as it is" (the default of :class:`TranslationOptions` and ``TranslationSession.update``).
KEEP: Any = _Keep()


@dataclass(frozen=True)
class NoiseReduction:
    """Input noise reduction: ``type`` ``near_field`` (headsets, close microphones) or ``far_field`` (laptops,
    rooms); ``strength`` (larger suppresses more; 1 when first enabled, kept when an update omits it)."""

    type: str
    strength: Optional[float] = None

    def __post_init__(self) -> None:
        if self.type not in NOISE_REDUCTION_TYPES:
            raise ConfigurationError(f"noise reduction type must be one of {', '.join(NOISE_REDUCTION_TYPES)}, "
                                     f"not {self.type!r}")
        strength = self.strength
        if strength is not None and (isinstance(strength, bool) or not isinstance(strength, (int, float))):
            raise ConfigurationError(f"noise reduction strength must be a number, not {strength!r}")

    @classmethod
    def coerce(cls, value: Any) -> Optional["NoiseReduction"]:
        """From a type name, a wire dict, a NoiseReduction or None (off)."""
        if value is None or isinstance(value, NoiseReduction):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict):
            return cls(value.get("type"), value.get("strength"))  # type: ignore[arg-type]
        raise ConfigurationError(f"noise_reduction takes 'near_field', 'far_field', a dict, NoiseReduction or None, "
                                 f"not {type(value).__name__}")

    def to_wire(self) -> Json:
        out: Json = {"type": self.type}
        if self.strength is not None:
            out["strength"] = self.strength
        return out


def _transcription_wire(value: Any) -> Optional[Json]:
    if value is None or value is False:
        return None
    if value is True:
        return {"model": TRANSLATION_TRANSCRIPTION_MODEL}
    if isinstance(value, str) and value:
        return {"model": value}
    raise ConfigurationError(f"transcribe_input takes a transcription model name, True (the default model), "
                             f"False or None (off), not {value!r}")


@dataclass
class TranslationOptions:
    """What a ``session.update`` of a translation session changes. A field left at :data:`KEEP` is not sent (the
    session keeps it); ``None`` (or ``False``) turns input transcription / noise reduction off.

    ``target_language``: the output language (``"es"``, ``"fr"``...). ``transcribe_input``: a transcription model
    name, or True for :data:`TRANSLATION_TRANSCRIPTION_MODEL` (the source-language text then streams as
    ``session.input_transcript.delta``). ``noise_reduction``: ``"near_field"``, ``"far_field"``, a
    :class:`NoiseReduction` or its wire dict. The model and the session type cannot change.
    """

    target_language: Any = KEEP
    transcribe_input: Any = KEEP
    noise_reduction: Any = KEEP

    def __post_init__(self) -> None:
        lang = self.target_language
        if lang is not KEEP and (not isinstance(lang, str) or not lang.strip()):
            raise ConfigurationError(f"target_language must be a language code such as 'es', not {lang!r}")
        if self.transcribe_input is not KEEP:
            _transcription_wire(self.transcribe_input)
        if self.noise_reduction is not KEEP:
            self.noise_reduction = NoiseReduction.coerce(self.noise_reduction)

    @property
    def empty(self) -> bool:
        return self.target_language is KEEP and self.transcribe_input is KEEP and self.noise_reduction is KEEP

    def to_wire(self) -> Json:
        """The ``session`` object of the update: ``{"audio": {"input": {...}, "output": {"language": ...}}}``."""
        audio: Json = {}
        inp: Json = {}
        if self.noise_reduction is not KEEP:
            inp["noise_reduction"] = self.noise_reduction.to_wire() if self.noise_reduction is not None else None
        if self.transcribe_input is not KEEP:
            inp["transcription"] = _transcription_wire(self.transcribe_input)
        if inp:
            audio["input"] = inp
        if self.target_language is not KEEP:
            audio["output"] = {"language": self.target_language}
        return {"audio": audio} if audio else {}

    @classmethod
    def from_wire(cls, session: Json) -> "TranslationOptions":
        """The options a ``session`` object of an update (or a client-secret request) carries."""
        audio = _obj(session, "audio")
        inp, out = _obj(audio, "input"), _obj(audio, "output")
        kwargs: Dict[str, Any] = {}
        if "language" in out:
            kwargs["target_language"] = out["language"]
        if "transcription" in inp:
            tr = inp["transcription"]
            kwargs["transcribe_input"] = tr.get("model") if isinstance(tr, dict) else None
        if "noise_reduction" in inp:
            kwargs["noise_reduction"] = inp["noise_reduction"]
        return cls(**kwargs)


# -- the session as the server describes it --------------------------------------------------------------------------
@dataclass(frozen=True)
class TranslationSessionInfo:
    """A ``RealtimeTranslationSession`` object (``session.created`` / ``session.updated``, client secrets)."""

    id: Optional[str] = None
    model: Optional[str] = None
    expires_at: Optional[int] = None
    target_language: Optional[str] = None
    transcription_model: Optional[str] = None  #: None: no input transcript
    noise_reduction: Optional[NoiseReduction] = None
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Any) -> Optional["TranslationSessionInfo"]:
        if not isinstance(data, dict):
            return None
        audio = _obj(data, "audio")
        inp, out = _obj(audio, "input"), _obj(audio, "output")
        tr = inp.get("transcription")
        nr = inp.get("noise_reduction")
        try:
            noise = NoiseReduction.coerce(nr) if isinstance(nr, dict) else None
        except ConfigurationError:  # a type this version does not know: raw still has it
            noise = None
        expires = data.get("expires_at")
        return cls(id=_str(data.get("id")), model=_str(data.get("model")),
                   expires_at=expires if type(expires) is int else None,
                   target_language=_str(out.get("language")),
                   transcription_model=_str(tr.get("model")) if isinstance(tr, dict) else None,
                   noise_reduction=noise, raw=data)


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _obj(data: Json, key: str) -> Json:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


# -- client commands -------------------------------------------------------------------------------------------------
@dataclass
class TranslationSessionUpdateCommand(Command):
    """``session.update`` of a translation session (no ``type``, no ``model``: neither can change)."""

    type: ClassVar[str] = "session.update"
    session: TranslationOptions = field(default_factory=TranslationOptions)

    def _body(self, dialect: Dialect) -> Json:
        return {"session": self.session.to_wire()}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        session = data.get("session")
        if not isinstance(session, dict):
            raise ProtocolError("session.update needs a 'session' object")
        return cls(event_id=data.get("event_id"), session=TranslationOptions.from_wire(session))


def encode_translation_append(audio: bytes, event_id: Optional[str] = None) -> str:
    """The JSON text of a ``session.input_audio_buffer.append`` (the hot path: no dict, no json.dumps)."""
    b64 = base64.b64encode(audio).decode("ascii")
    if event_id is None:
        return '{"type":"session.input_audio_buffer.append","audio":"' + b64 + '"}'
    return ('{"type":"session.input_audio_buffer.append","event_id":' + json.dumps(event_id) + ',"audio":"' + b64
            + '"}')


@dataclass
class TranslationAudioAppendCommand(Command):
    """``session.input_audio_buffer.append``: 24 kHz PCM16 mono (raw bytes here; base64 on the wire)."""

    type: ClassVar[str] = APPEND_TYPE
    audio: bytes = b""

    def _body(self, dialect: Dialect) -> Json:
        return {"audio": base64.b64encode(self.audio).decode("ascii")}

    def to_json(self, dialect: Union[Dialect, str] = Dialect.GA) -> str:
        return encode_translation_append(self.audio, self.event_id)

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        audio = data.get("audio")
        if not isinstance(audio, str):
            raise ProtocolError(f"{APPEND_TYPE} needs base64 'audio'")
        try:
            raw = base64.b64decode(audio, validate=True)
        except ValueError:
            raise ProtocolError(f"{APPEND_TYPE} 'audio' is not valid base64") from None
        return cls(event_id=data.get("event_id"), audio=raw)


@dataclass
class SessionCloseCommand(Command):
    """``session.close``: translate what is buffered, send the rest of the output, then ``session.closed``."""

    type: ClassVar[str] = "session.close"


TRANSLATION_COMMAND_CLASSES: Dict[str, Type[Command]] = {c.type: c for c in (
    TranslationSessionUpdateCommand, TranslationAudioAppendCommand, SessionCloseCommand)}


def parse_translation_command(message: Union[str, bytes, Json]) -> Command:
    """Decode one client event of a translation session. Raises MessageDecodeError for bad JSON or a missing
    type, ProtocolError for an unknown type or a malformed required field."""
    data = load_message(message)
    cls = TRANSLATION_COMMAND_CLASSES.get(data["type"])
    if cls is None:
        raise ProtocolError(f"unknown translation client event type {data['type']!r}")
    return cls._from_wire(data, Dialect.GA)


# -- server events ---------------------------------------------------------------------------------------------------
def _session(v: Any) -> Any:
    return TranslationSessionInfo.from_wire(v)


@dataclass(eq=False, repr=False)
class TranslationSessionCreatedUpdate(ConversationUpdate):
    """The first event of a translation session: its configuration (``type: "translation"``)."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_CREATED
    session: Optional[TranslationSessionInfo] = field(default=None, metadata={"decode": _session})


@dataclass(eq=False, repr=False)
class TranslationSessionUpdatedUpdate(ConversationUpdate):
    """The answer to a ``session.update``: the whole new configuration."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_UPDATED
    session: Optional[TranslationSessionInfo] = field(default=None, metadata={"decode": _session})


@dataclass(eq=False, repr=False)
class SessionClosedUpdate(ConversationUpdate):
    """``session.closed``: the session is over (after ``session.close``, every output was sent before it)."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_CLOSED


@dataclass(eq=False, repr=False)
class _TranscriptDelta(ConversationUpdate):
    delta: Optional[str] = None
    elapsed_ms: Optional[int] = None  #: alignment metadata (200 ms steps; may repeat), not an id

    @property
    def text(self) -> str:
        """The fragment (append-only: concatenate fragments exactly, adding nothing between them)."""
        return self.delta or ""


@dataclass(eq=False, repr=False)
class InputTranscriptDeltaUpdate(_TranscriptDelta):
    """Source-language text (only while input transcription is on)."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_INPUT_TRANSCRIPT_DELTA


@dataclass(eq=False, repr=False)
class OutputTranscriptDeltaUpdate(_TranscriptDelta):
    """Text of the translated speech."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA


@dataclass(eq=False, repr=False)
class TranslatedAudioDeltaUpdate(ConversationUpdate, Base64Audio):
    """A chunk of translated speech: base64 PCM16 in ``delta`` (any length), decoded by :attr:`audio` on first
    access. Its rate and channel count are the event's own (:attr:`rate`, :attr:`channel_count`), 24 kHz mono
    when the event does not say."""

    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_OUTPUT_AUDIO_DELTA
    delta: Optional[str] = None
    format: Optional[str] = None
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    elapsed_ms: Optional[int] = None

    @property
    def rate(self) -> int:
        rate = self.sample_rate
        return rate if rate is not None and rate > 0 else PCM16_RATE

    @property
    def channel_count(self) -> int:
        channels = self.channels
        return channels if channels is not None and channels > 0 else 1

    @property
    def duration_ms(self) -> float:
        return len(self.audio) * 1000.0 / (2 * self.rate * self.channel_count)

    def check_format(self) -> None:
        """Raise :class:`~realtime_sync.errors.ProtocolError` unless the audio is PCM16 (the only format the
        protocol defines)."""
        if self.format not in (None, "pcm16"):
            raise ProtocolError(f"translated audio in format {self.format!r}: only pcm16 is supported")


#: The update class of every server event of a translation session, by wire type.
TRANSLATION_UPDATE_CLASSES: Dict[str, Type[ConversationUpdate]] = {c.kind.value: c for c in (
    TranslationSessionCreatedUpdate, TranslationSessionUpdatedUpdate, SessionClosedUpdate,
    InputTranscriptDeltaUpdate, OutputTranscriptDeltaUpdate, TranslatedAudioDeltaUpdate, ErrorUpdate)}
_DECODERS = {wire: decoder(cls) for wire, cls in TRANSLATION_UPDATE_CLASSES.items()}
_DECODE_UNKNOWN = decoder(UnknownUpdate)


def parse_translation_update(message: Union[str, bytes, bytearray, Json]) -> ConversationUpdate:
    """Decode one server message of a translation session into its typed update (:class:`UnknownUpdate` for a
    type the protocol does not define). Raises :class:`~realtime_sync.errors.MessageDecodeError` for malformed
    JSON, a non-object or a missing type."""
    data = load_message(message)
    return decode_message(data, _DECODERS.get(data["type"], _DECODE_UNKNOWN))
