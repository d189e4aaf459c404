"""Session and response options, encoded to the wire shape of either dialect.

GA nests audio settings (``audio.input.format``, ``audio.output.voice``...); beta keeps them flat
(``input_audio_format``, ``voice``...). The option classes hold one dialect-neutral set of fields and
:meth:`SessionOptions.to_wire` picks the shape. Anything not modelled yet goes in ``extra`` and is deep-merged
into the wire object as it is.
"""
import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Union

from ..errors import ProtocolError
from ._json_config import JsonConfigMixin, exclude_field
from .kinds import Dialect
from .model_names import REASONING_EFFORTS, transcription_model
from .models import ConversationItem, audio_format_name, audio_format_wire
from .tool_schema import describe_callable

__all__ = ["TurnDetection", "InputTranscription", "FunctionTool", "SessionOptions", "ResponseOptions"]

Json = Dict[str, Any]


def _clean(obj: Json) -> Json:
    return {k: v for k, v in obj.items() if v is not None}


def deep_merge(base: Json, extra: Optional[Json]) -> Json:
    """Merge ``extra`` into ``base`` (nested dicts merged, everything else replaced); returns ``base``."""
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


@dataclass
class TurnDetection(JsonConfigMixin):
    """Voice activity detection: ``server_vad``, ``semantic_vad``, or ``none`` (sent as ``null``: VAD off)."""

    type: str = "server_vad"
    threshold: Optional[float] = None
    prefix_padding_ms: Optional[int] = None
    silence_duration_ms: Optional[int] = None
    create_response: Optional[bool] = None
    interrupt_response: Optional[bool] = None
    eagerness: Optional[str] = None  #: semantic_vad: low / medium / high / auto
    idle_timeout_ms: Optional[int] = None  #: GA server_vad only

    @classmethod
    def server_vad(cls, threshold: Optional[float] = None, prefix_padding_ms: Optional[int] = None,
                   silence_duration_ms: Optional[int] = None, create_response: Optional[bool] = None,
                   interrupt_response: Optional[bool] = None) -> "TurnDetection":
        return cls("server_vad", threshold, prefix_padding_ms, silence_duration_ms, create_response,
                   interrupt_response)

    @classmethod
    def semantic_vad(cls, eagerness: Optional[str] = None, create_response: Optional[bool] = None,
                     interrupt_response: Optional[bool] = None) -> "TurnDetection":
        return cls("semantic_vad", create_response=create_response, interrupt_response=interrupt_response,
                   eagerness=eagerness)

    @classmethod
    def disabled(cls) -> "TurnDetection":
        """No turn detection: the client commits the input buffer and asks for responses itself."""
        return cls("none")

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Optional[Json]:
        if self.type == "none":
            return None
        if self.type not in ("server_vad", "semantic_vad"):
            raise ProtocolError(f"unknown turn detection type {self.type!r}")
        if self.idle_timeout_ms is not None and Dialect.coerce(dialect) is Dialect.BETA:
            raise ProtocolError("idle_timeout_ms exists only in the GA protocol")
        return _clean(self.to_dict(encode_json=False))

    @classmethod
    def from_wire(cls, data: Optional[Json]) -> "TurnDetection":
        if data is None:
            return cls.disabled()
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class InputTranscription(JsonConfigMixin):
    """Transcription of the user's input audio (``model``: ``gpt-transcribe`` by default, ``gpt-realtime-whisper``,
    or an older one). ``delay`` (``minimal``...``xhigh``, latency against accuracy) is for ``gpt-realtime-whisper``
    only, which takes no ``prompt``; ``keywords`` and ``languages`` are for ``gpt-transcribe``."""

    model: Optional[str] = None  #: None: ``gpt-transcribe`` (GA), ``gpt-4o-mini-transcribe`` (beta)
    language: Optional[str] = None
    prompt: Optional[str] = None
    delay: Optional[str] = None
    keywords: Optional[List[str]] = None
    languages: Optional[List[str]] = None

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        newer = [name for name in ("delay", "keywords", "languages") if getattr(self, name) is not None]
        if newer and Dialect.coerce(dialect) is Dialect.BETA:
            raise ProtocolError(f"transcription {', '.join(newer)}: not in the beta protocol (GA only)")
        if self.delay is not None:
            if self.model != "gpt-realtime-whisper":
                raise ProtocolError(f"transcription delay is accepted by gpt-realtime-whisper only, not {self.model}")
            if self.delay not in REASONING_EFFORTS:
                raise ProtocolError(f"transcription delay must be one of {', '.join(REASONING_EFFORTS)}")
        if self.prompt is not None and self.model == "gpt-realtime-whisper":
            raise ProtocolError("gpt-realtime-whisper takes no transcription prompt (use another model, or delay)")
        if (self.keywords is not None or self.languages is not None) and \
                self.model not in (None, "gpt-transcribe", "gpt-live-transcribe"):
            raise ProtocolError(f"transcription keywords/languages are accepted by gpt-transcribe, not {self.model}")
        out = _clean(self.to_dict(encode_json=False))
        out["model"] = transcription_model(self.model, Dialect.coerce(dialect) is Dialect.BETA)
        return out


@dataclass
class FunctionTool(JsonConfigMixin):
    """A function the model may call: a name, a description and JSON Schema parameters.

    ``function`` (never sent, never serialised) is the Python callable that answers the calls; build both at once
    with :meth:`from_callable`.
    """

    name: str
    description: str = ""
    parameters: Json = field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Optional[Callable[..., Any]] = field(
        default=None, compare=False, repr=False,
        metadata=exclude_field())

    def to_wire(self) -> Json:
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": self.parameters}

    @classmethod
    def from_callable(cls, fn: Callable[..., Any], name: Optional[str] = None,
                      description: Optional[str] = None) -> "FunctionTool":
        """A tool from a function: its name, its docstring (before ``Args:``) and JSON Schema parameters from
        its type hints (see :mod:`realtime_sync.protocol.tool_schema`); the function is kept in ``function``."""
        tool_name, tool_description, parameters = describe_callable(fn, name, description)
        return cls(tool_name, tool_description, parameters, function=fn)


def _tools_wire(tools: Optional[List[Any]]) -> Optional[List[Json]]:
    if tools is None:
        return None
    out = []
    for tool in tools:
        if isinstance(tool, dict):  # a function tool read back from JSON config may lack its "type"
            out.append(tool if "type" in tool else {"type": "function", **tool})
        elif hasattr(tool, "to_wire"):
            out.append(tool.to_wire())
        else:
            raise ProtocolError(f"a tool is a FunctionTool or a dict, not {type(tool).__name__}")
    return out


def _beta_tool_choice(choice: Any) -> Any:
    """Beta's ``tool_choice`` is a string: a forced function is named by its name."""
    if isinstance(choice, dict) and choice.get("type") == "function":
        return choice.get("name")
    return choice


def _beta_modalities(output_modalities: Optional[List[str]]) -> Optional[List[str]]:
    if output_modalities is None:
        return None
    return ["text", "audio"] if "audio" in output_modalities else ["text"]


def _ga_modalities(modalities: Optional[List[str]]) -> Optional[List[str]]:
    if modalities is None:
        return None
    return ["audio"] if "audio" in modalities else ["text"]


def _check_ga_only(options: Any, dialect: Dialect, names: Any) -> None:
    """Refuse early, naming them, the options the beta dialect cannot carry."""
    used = [name for name in names if getattr(options, name) is not None]
    if used and dialect is Dialect.BETA:
        raise ProtocolError(f"{', '.join(used)}: not in the beta protocol (GA sessions only)")


def _reasoning_wire(options: Any) -> Json:
    out: Json = {}
    if options.reasoning_effort is not None:
        if options.reasoning_effort not in REASONING_EFFORTS:
            raise ProtocolError(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, "
                                f"not {options.reasoning_effort!r}")
        out["reasoning"] = {"effort": options.reasoning_effort}
    if options.parallel_tool_calls is not None:
        out["parallel_tool_calls"] = bool(options.parallel_tool_calls)
    return out


@dataclass
class SessionOptions(JsonConfigMixin):
    """Session configuration (.NET's ``ConversationSessionOptions``); ``None`` fields are left as they are.

    ``output_modalities`` uses GA meaning: ``["audio"]`` (audio with transcript) or ``["text"]``.
    Formats are ``pcm16``, ``g711_ulaw`` or ``g711_alaw``. ``temperature`` exists only in beta.
    """

    instructions: Optional[str] = None
    voice: Optional[str] = None
    output_modalities: Optional[List[str]] = None
    input_audio_format: Optional[str] = None
    output_audio_format: Optional[str] = None
    turn_detection: Optional[TurnDetection] = None
    input_transcription: Optional[InputTranscription] = None
    noise_reduction: Optional[str] = None  #: ``near_field`` / ``far_field``
    noise_reduction_strength: Optional[float] = None  #: GA: larger suppresses more (1 when first enabled)
    reasoning_effort: Optional[str] = None  #: GA, 2.x models: ``minimal`` / ``low`` / ``medium`` / ``high`` / ``xhigh``
    parallel_tool_calls: Optional[bool] = None  #: GA, 2.x models: several tool calls at once
    tools: Optional[List[Any]] = None
    tool_choice: Optional[Any] = None  #: auto / none / required / {"type": "function", "name": ...}
    max_output_tokens: Optional[Union[int, str]] = None
    speed: Optional[float] = None
    temperature: Optional[float] = None
    extra: Optional[Json] = None  #: merged as-is into the wire ``session`` object

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        dialect = Dialect.coerce(dialect)
        td = self.turn_detection.to_wire(dialect) if self.turn_detection is not None else None
        transcription = self.input_transcription.to_wire(dialect) if self.input_transcription else None
        noise: Optional[Json] = {"type": self.noise_reduction} if self.noise_reduction else None
        _check_ga_only(self, dialect, ("reasoning_effort", "parallel_tool_calls", "noise_reduction_strength"))
        if self.noise_reduction_strength is not None:
            if not noise:
                raise ProtocolError("noise_reduction_strength needs noise_reduction (near_field or far_field)")
            noise["strength"] = self.noise_reduction_strength
        if dialect is Dialect.BETA:
            out = _clean({
                "modalities": _beta_modalities(self.output_modalities), "instructions": self.instructions,
                "voice": self.voice, "input_audio_format": self.input_audio_format and audio_format_wire(
                    self.input_audio_format, dialect),
                "output_audio_format": self.output_audio_format and audio_format_wire(
                    self.output_audio_format, dialect),
                "input_audio_transcription": transcription, "input_audio_noise_reduction": noise,
                "tools": _tools_wire(self.tools), "tool_choice": _beta_tool_choice(self.tool_choice),
                "temperature": self.temperature,
                "max_response_output_tokens": self.max_output_tokens, "speed": self.speed})
            if self.turn_detection is not None:
                out["turn_detection"] = td
            return deep_merge(out, self.extra)
        if self.temperature is not None:
            raise ProtocolError("temperature is not part of the GA protocol (beta only)")
        a_in = _clean({"format": self.input_audio_format and audio_format_wire(self.input_audio_format, dialect),
                       "transcription": transcription, "noise_reduction": noise})
        if self.turn_detection is not None:
            a_in["turn_detection"] = td
        a_out = _clean({"format": self.output_audio_format and audio_format_wire(self.output_audio_format, dialect),
                        "voice": self.voice, "speed": self.speed})
        audio = _clean({"input": a_in or None, "output": a_out or None})
        out = _clean({"type": "realtime", "instructions": self.instructions,
                      "output_modalities": self.output_modalities, "audio": audio or None,
                      "tools": _tools_wire(self.tools), "tool_choice": self.tool_choice,
                      "max_output_tokens": self.max_output_tokens, **_reasoning_wire(self)})
        return deep_merge(out, self.extra)

    @classmethod
    def from_wire(cls, data: Json, dialect: Union[Dialect, str] = Dialect.GA) -> "SessionOptions":
        """Read a wire ``session`` object of either dialect (what a server receives in ``session.update``)."""
        if Dialect.coerce(dialect) is Dialect.BETA:
            transcription = data.get("input_audio_transcription")
            noise = data.get("input_audio_noise_reduction")
            return cls(instructions=data.get("instructions"), voice=data.get("voice"),
                       output_modalities=_ga_modalities(data.get("modalities")),
                       input_audio_format=data.get("input_audio_format"),
                       output_audio_format=data.get("output_audio_format"),
                       turn_detection=TurnDetection.from_wire(data["turn_detection"])
                       if "turn_detection" in data else None,
                       input_transcription=InputTranscription(**transcription) if transcription else None,
                       noise_reduction=noise.get("type") if noise else None, tools=data.get("tools"),
                       tool_choice=data.get("tool_choice"), max_output_tokens=data.get("max_response_output_tokens"),
                       speed=data.get("speed"), temperature=data.get("temperature"))
        audio = data.get("audio") or {}
        a_in, a_out = audio.get("input") or {}, audio.get("output") or {}
        transcription = a_in.get("transcription")
        noise = a_in.get("noise_reduction")
        voice = a_out.get("voice")
        return cls(instructions=data.get("instructions"), voice=voice.get("id") if isinstance(voice, dict) else voice,
                   output_modalities=data.get("output_modalities"),
                   input_audio_format=audio_format_name(a_in.get("format")),
                   output_audio_format=audio_format_name(a_out.get("format")),
                   turn_detection=TurnDetection.from_wire(a_in["turn_detection"])
                   if "turn_detection" in a_in else None,
                   input_transcription=InputTranscription(**{k: transcription[k] for k in (
                       "model", "language", "prompt", "delay", "keywords", "languages") if k in transcription})
                   if transcription else None,
                   noise_reduction=noise.get("type") if noise else None,
                   noise_reduction_strength=noise.get("strength") if noise else None, tools=data.get("tools"),
                   tool_choice=data.get("tool_choice"), max_output_tokens=data.get("max_output_tokens"),
                   speed=a_out.get("speed"),
                   reasoning_effort=(data.get("reasoning") or {}).get("effort")
                   if isinstance(data.get("reasoning"), dict) else None,
                   parallel_tool_calls=data.get("parallel_tool_calls"))


@dataclass
class ResponseOptions(JsonConfigMixin):
    """Per-response overrides for ``response.create`` (all optional).

    ``conversation="none"`` makes an out-of-band response; ``input`` replaces the context with the given items.
    """

    instructions: Optional[str] = None
    output_modalities: Optional[List[str]] = None
    voice: Optional[str] = None
    output_audio_format: Optional[str] = None
    tools: Optional[List[Any]] = None
    tool_choice: Optional[Any] = None
    max_output_tokens: Optional[Union[int, str]] = None
    temperature: Optional[float] = None
    conversation: Optional[str] = None
    metadata: Optional[Dict[str, str]] = None
    input: Optional[List[ConversationItem]] = None
    reasoning_effort: Optional[str] = None  #: GA, 2.x models (see SessionOptions)
    parallel_tool_calls: Optional[bool] = None  #: GA, 2.x models
    extra: Optional[Json] = None

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        dialect = Dialect.coerce(dialect)
        items = [i.to_wire(dialect) if isinstance(i, ConversationItem) else i for i in self.input] \
            if self.input is not None else None
        common = {"instructions": self.instructions, "tools": _tools_wire(self.tools),
                  "tool_choice": self.tool_choice, "conversation": self.conversation, "metadata": self.metadata,
                  "input": items}
        _check_ga_only(self, dialect, ("reasoning_effort", "parallel_tool_calls"))
        if dialect is Dialect.BETA:
            common["tool_choice"] = _beta_tool_choice(self.tool_choice)
            out = _clean({**common, "modalities": _beta_modalities(self.output_modalities), "voice": self.voice,
                          "output_audio_format": self.output_audio_format and audio_format_wire(
                              self.output_audio_format, dialect),
                          "temperature": self.temperature, "max_response_output_tokens": self.max_output_tokens})
            return deep_merge(out, self.extra)
        if self.temperature is not None:
            raise ProtocolError("temperature is not part of the GA protocol (beta only)")
        a_out = _clean({"format": self.output_audio_format and audio_format_wire(self.output_audio_format, dialect),
                        "voice": self.voice})
        out = _clean({**common, "output_modalities": self.output_modalities,
                      "audio": {"output": a_out} if a_out else None, "max_output_tokens": self.max_output_tokens,
                      **_reasoning_wire(self)})
        return deep_merge(out, self.extra)
