"""Nested protocol objects: errors, content parts, conversation items, responses, usage, rate limits, sessions.

Objects decoded from the wire keep the dict they came from in ``raw`` (unknown fields included). Conversation items
are also built by the user (``ConversationItem.user_message("hi")``) and encoded with :meth:`ConversationItem.to_wire`
for either dialect.
"""
import base64
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from ..errors import AudioFormatError, ProtocolError
from ._decode import decoder, nested, nested_list, raw_field
from .audio_formats import PCM16, audio_format, normalize_format
from .kinds import Dialect
from .model_names import MESSAGE_PHASES

__all__ = [
    "ErrorDetail", "ContentPart", "ConversationItem", "ResponseStatusDetails", "CachedTokensDetails",
    "InputTokenDetails", "OutputTokenDetails", "Usage", "Response", "RateLimit", "Conversation", "SessionInfo",
    "audio_format_name", "audio_format_wire",
]

Json = Dict[str, Any]


@dataclass
class ErrorDetail:
    """The ``error`` object of an ``error`` event (or of a failed transcription / response)."""

    type: Optional[str] = None
    code: Optional[str] = None
    message: Optional[str] = None
    param: Optional[str] = None
    event_id: Optional[str] = None
    raw: Optional[Json] = raw_field()


@dataclass
class ContentPart:
    """One content part of a message item (``input_text``, ``input_audio``, ``output_text``, ``audio``...)."""

    type: Optional[str] = None
    text: Optional[str] = None
    audio: Optional[str] = None  #: base64, as on the wire; see :attr:`audio_bytes`
    transcript: Optional[str] = None
    image_url: Optional[str] = None
    detail: Optional[str] = None
    id: Optional[str] = None  #: beta ``item_reference`` content
    format: Optional[str] = None
    raw: Optional[Json] = raw_field()

    @property
    def audio_bytes(self) -> bytes:
        return base64.b64decode(self.audio) if self.audio else b""

    def to_wire(self) -> Json:
        return {k: v for k, v in (("type", self.type), ("text", self.text), ("audio", self.audio),
                                  ("transcript", self.transcript), ("image_url", self.image_url),
                                  ("detail", self.detail), ("id", self.id)) if v is not None}


_ASSISTANT_CONTENT = {
    Dialect.GA: {"text": "output_text", "audio": "output_audio"},
    Dialect.BETA: {"output_text": "text", "output_audio": "audio"},
}


@dataclass
class ConversationItem:
    """A conversation item: a message, a function call or a function call's output (MCP items in GA).

    Build one with the class methods (:meth:`user_message`, :meth:`function_call_output`, ...) and pass it to
    ``session.add_item``; items decoded from server events carry every field the server sent in ``raw``.
    """

    id: Optional[str] = None
    type: Optional[str] = None
    object: Optional[str] = None
    status: Optional[str] = None
    role: Optional[str] = None
    content: Optional[List[ContentPart]] = nested_list(ContentPart)
    call_id: Optional[str] = None
    name: Optional[str] = None
    arguments: Optional[str] = None
    output: Optional[str] = None
    phase: Optional[str] = None
    raw: Optional[Json] = raw_field()

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def user_message(cls, *parts: Union[str, bytes, ContentPart], id: Optional[str] = None) -> "ConversationItem":
        """A user message: ``str`` parts become ``input_text``, ``bytes`` parts ``input_audio`` (PCM16 24 kHz)."""
        content = []
        for part in parts:
            if isinstance(part, ContentPart):
                content.append(part)
            elif isinstance(part, str):
                content.append(ContentPart(type="input_text", text=part))
            elif isinstance(part, (bytes, bytearray, memoryview)):
                content.append(ContentPart(type="input_audio", audio=base64.b64encode(part).decode("ascii")))
            else:
                raise TypeError(f"user message parts are str, bytes or ContentPart, not {type(part).__name__}")
        if not content:
            raise ValueError("a user message needs at least one content part")
        return cls(id=id, type="message", role="user", content=content)

    @classmethod
    def system_message(cls, text: str, id: Optional[str] = None) -> "ConversationItem":
        return cls(id=id, type="message", role="system", content=[ContentPart(type="input_text", text=text)])

    @classmethod
    def assistant_message(cls, text: str, id: Optional[str] = None,
                          phase: Optional[str] = None) -> "ConversationItem":
        """A text message from the assistant, e.g. to seed history (assistant audio cannot be injected).
        ``phase`` (``"commentary"`` / ``"final_answer"``, 2.x models) is kept when history is replayed."""
        if phase is not None and phase not in MESSAGE_PHASES:
            raise ValueError(f"phase must be one of {MESSAGE_PHASES}, not {phase!r}")
        return cls(id=id, type="message", role="assistant", content=[ContentPart(type="output_text", text=text)],
                   phase=phase)

    @classmethod
    def function_call(cls, name: str, arguments: Union[str, Json], call_id: str,
                      id: Optional[str] = None) -> "ConversationItem":
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(id=id, type="function_call", name=name, arguments=args, call_id=call_id)

    @classmethod
    def function_call_output(cls, call_id: str, output: Any, id: Optional[str] = None) -> "ConversationItem":
        """The answer to a function call; a non-string ``output`` is sent as JSON."""
        text = output if isinstance(output, str) else json.dumps(output)
        return cls(id=id, type="function_call_output", call_id=call_id, output=text)

    @classmethod
    def from_wire(cls, data: Json) -> "ConversationItem":
        return decoder(cls)(data)

    # -- reading ------------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The text of the item's content: texts and transcripts joined (the output for function outputs)."""
        if self.type == "function_call_output":
            return self.output or ""
        if self.type == "function_call":
            return self.arguments or ""
        return "".join(p.text or p.transcript or "" for p in self.content or ())

    # -- encoding -----------------------------------------------------------------------------------------------
    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        dialect = Dialect.coerce(dialect)
        out: Json = {}
        for key in ("id", "type", "status", "role", "call_id", "name", "arguments", "output"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.type in (None, "message") or self.content is not None:
            renames = _ASSISTANT_CONTENT[dialect] if self.role == "assistant" else {}
            parts = []
            for part in self.content or ():
                wire = part.to_wire()
                if wire.get("type") in renames:
                    wire["type"] = renames[wire["type"]]
                parts.append(wire)
            out["content"] = parts
        out.setdefault("type", "message")
        if self.phase is not None and out["type"] == "message" and self.role == "assistant":
            if dialect is Dialect.BETA:
                raise ProtocolError("phase (gpt-realtime-2.x) cannot be sent in the beta dialect")
            out["phase"] = self.phase
        return out


@dataclass
class ResponseStatusDetails:
    type: Optional[str] = None
    reason: Optional[str] = None
    error: Optional[ErrorDetail] = nested(ErrorDetail)
    raw: Optional[Json] = raw_field()


@dataclass
class CachedTokensDetails:
    text_tokens: Optional[int] = None
    audio_tokens: Optional[int] = None
    image_tokens: Optional[int] = None


@dataclass
class InputTokenDetails:
    text_tokens: Optional[int] = None
    audio_tokens: Optional[int] = None
    image_tokens: Optional[int] = None
    cached_tokens: Optional[int] = None
    cached_tokens_details: Optional[CachedTokensDetails] = nested(CachedTokensDetails)


@dataclass
class OutputTokenDetails:
    text_tokens: Optional[int] = None
    audio_tokens: Optional[int] = None


@dataclass
class Usage:
    """Token usage of a response (or of a transcription: ``type`` ``tokens`` / ``duration``)."""

    total_tokens: Optional[int] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    input_token_details: Optional[InputTokenDetails] = nested(InputTokenDetails)
    output_token_details: Optional[OutputTokenDetails] = nested(OutputTokenDetails)
    type: Optional[str] = None
    seconds: Optional[float] = None
    raw: Optional[Json] = raw_field()
    #: the ``input_tokens_details`` / ``output_tokens_details`` spelling (Responses-API style), read into the two
    #: fields above when they are absent
    input_tokens_details: Optional[InputTokenDetails] = nested(InputTokenDetails, repr=False, compare=False)
    output_tokens_details: Optional[OutputTokenDetails] = nested(OutputTokenDetails, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.input_token_details is None:
            self.input_token_details = self.input_tokens_details
        if self.output_token_details is None:
            self.output_token_details = self.output_tokens_details


@dataclass
class Response:
    """A response object (``response.created`` / ``response.done``)."""

    id: Optional[str] = None
    object: Optional[str] = None
    status: Optional[str] = None
    status_details: Optional[ResponseStatusDetails] = nested(ResponseStatusDetails)
    output: Optional[List[ConversationItem]] = nested_list(ConversationItem)
    usage: Optional[Usage] = nested(Usage)
    conversation_id: Optional[str] = None
    output_modalities: Optional[List[str]] = None
    modalities: Optional[List[str]] = None  #: beta
    max_output_tokens: Optional[Union[int, str]] = None
    metadata: Optional[Json] = None
    raw: Optional[Json] = raw_field()


@dataclass
class RateLimit:
    name: Optional[str] = None
    limit: Optional[int] = None
    remaining: Optional[int] = None
    reset_seconds: Optional[float] = None


@dataclass
class Conversation:
    id: Optional[str] = None
    object: Optional[str] = None


def audio_format_name(value: Any) -> Optional[str]:
    """``pcm16`` / ``g711_ulaw`` / ``g711_alaw`` from a beta string or a GA ``{"type": "audio/pcm"...}`` object
    (a name this library does not know is passed through as the server sent it)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("type")
    try:
        return normalize_format(value)
    except AudioFormatError:
        return value if isinstance(value, str) else None


def audio_format_wire(name: str, dialect: Union[Dialect, str]) -> Any:
    """Encode a format name for a dialect (GA: ``{"type": "audio/pcm", "rate": 24000}``); raises
    :class:`~realtime_sync.errors.AudioFormatError` (a ValueError) for an unknown name."""
    fmt = audio_format(name)
    if Dialect.coerce(dialect) is Dialect.BETA:
        return fmt.name
    wire: Dict[str, Any] = {"type": fmt.ga_type}
    if fmt.name == PCM16:
        wire["rate"] = fmt.rate
    return wire


@dataclass
class SessionInfo:
    """The session as the server reports it, normalised across dialects (GA nested ``audio.*`` or beta flat)."""

    id: Optional[str] = None
    type: Optional[str] = None
    model: Optional[str] = None
    instructions: Optional[str] = None
    voice: Optional[str] = None
    output_modalities: Optional[List[str]] = None
    input_audio_format: Optional[str] = None
    output_audio_format: Optional[str] = None
    turn_detection: Optional[Json] = None
    input_audio_transcription: Optional[Json] = None
    tools: List[Json] = field(default_factory=list)
    tool_choice: Optional[Any] = None
    max_output_tokens: Optional[Union[int, str]] = None
    expires_at: Optional[int] = None
    raw: Optional[Json] = raw_field()

    @classmethod
    def from_wire(cls, data: Json) -> "SessionInfo":
        audio = data.get("audio")
        if isinstance(audio, dict):  # GA shape
            a_in = audio.get("input") or {}
            a_out = audio.get("output") or {}
            voice = a_out.get("voice")
            return cls(id=data.get("id"), type=data.get("type"), model=data.get("model"),
                       instructions=data.get("instructions"),
                       voice=voice.get("id") if isinstance(voice, dict) else voice,
                       output_modalities=data.get("output_modalities"),
                       input_audio_format=audio_format_name(a_in.get("format")),
                       output_audio_format=audio_format_name(a_out.get("format")),
                       turn_detection=a_in.get("turn_detection"),
                       input_audio_transcription=a_in.get("transcription"),
                       tools=data.get("tools") or [], tool_choice=data.get("tool_choice"),
                       max_output_tokens=data.get("max_output_tokens"), expires_at=data.get("expires_at"), raw=data)
        return cls._from_beta(data)

    def merged_over(self, older: Optional["SessionInfo"]) -> "SessionInfo":
        """This report merged into what ``older`` knew: a field the server left out of this event keeps its older
        value (a ``session.updated`` may omit ``id``, ``model`` or ``expires_at``); a field it sent, ``null``
        included, takes the new value. ``raw`` is the two wire objects deep-merged."""
        if older is None:
            return self
        raw = _deep_merge(older.raw or {}, self.raw or {})
        merged = SessionInfo.from_wire(raw)
        sent = self.raw or {}
        ga = isinstance(sent.get("audio"), dict) or isinstance((older.raw or {}).get("audio"), dict)
        for name, path in (_GA_PATHS if ga else _BETA_PATHS).items():
            if not _has_path(sent, path) and getattr(self, name) is None:
                setattr(merged, name, getattr(older, name))
        return merged

    @classmethod
    def _from_beta(cls, data: Json) -> "SessionInfo":
        modalities = data.get("modalities")
        return cls(id=data.get("id"), type=data.get("type") or data.get("object"), model=data.get("model"),
                   instructions=data.get("instructions"), voice=data.get("voice"),
                   output_modalities=(["audio"] if modalities and "audio" in modalities else modalities),
                   input_audio_format=data.get("input_audio_format"),
                   output_audio_format=data.get("output_audio_format"),
                   turn_detection=data.get("turn_detection"),
                   input_audio_transcription=data.get("input_audio_transcription"),
                   tools=data.get("tools") or [], tool_choice=data.get("tool_choice"),
                   max_output_tokens=data.get("max_response_output_tokens"), expires_at=data.get("expires_at"),
                   raw=data)


#: Where each :class:`SessionInfo` field comes from on the wire (GA nested, beta flat).
_GA_PATHS = {"id": ("id",), "type": ("type",), "model": ("model",), "instructions": ("instructions",),
             "voice": ("audio", "output", "voice"), "output_modalities": ("output_modalities",),
             "input_audio_format": ("audio", "input", "format"), "output_audio_format": ("audio", "output", "format"),
             "turn_detection": ("audio", "input", "turn_detection"),
             "input_audio_transcription": ("audio", "input", "transcription"), "tool_choice": ("tool_choice",),
             "max_output_tokens": ("max_output_tokens",), "expires_at": ("expires_at",)}
_BETA_PATHS = {"id": ("id",), "type": ("object",), "model": ("model",), "instructions": ("instructions",),
               "voice": ("voice",), "output_modalities": ("modalities",), "input_audio_format": ("input_audio_format",),
               "output_audio_format": ("output_audio_format",), "turn_detection": ("turn_detection",),
               "input_audio_transcription": ("input_audio_transcription",), "tool_choice": ("tool_choice",),
               "max_output_tokens": ("max_response_output_tokens",), "expires_at": ("expires_at",)}


def _has_path(data: Any, path: Tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def _deep_merge(old: Json, new: Json) -> Json:
    out = dict(old)
    for key, value in new.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out
