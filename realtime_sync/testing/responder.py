"""What the simulated model says: the pluggable responder and transcriber, and sensible defaults.

A *responder* is any callable ``(ResponderContext) -> Reply | str``. It sees the conversation as protocol
:class:`~realtime_sync.protocol.ConversationItem` dataclasses and returns what the assistant answers: text (spoken,
when the output modality is audio) and/or function calls. A *transcriber* ``(TranscriptionRequest) -> str`` turns
committed user audio into the input transcript (only used when the session enables input transcription).
"""
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ..protocol import ConversationItem, Dialect, ResponseOptions
from ._util import tokenize
from .synth import spoken_ends_ms

__all__ = [
    "FunctionCall", "Reply", "ResponderContext", "Responder", "TranscriptionRequest", "Transcriber",
    "default_responder", "default_transcriber", "scripted", "scripted_transcripts", "arguments_for_schema",
]

logger = logging.getLogger("realtime_sync.testing.responder")
Json = Dict[str, Any]


@dataclass
class FunctionCall:
    """A function call the assistant makes. ``arguments`` is a dict (sent as JSON) or a JSON string."""

    name: str
    arguments: Union[str, Json] = field(default_factory=dict)
    call_id: Optional[str] = None  #: generated (``call_...``) when None

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class Reply:
    """The assistant's answer to one ``response.create``.

    ``text`` is the message (its transcript when the output is audio); ``function_calls`` follow the message as
    further output items. ``audio`` replaces the synthesised speech (wire bytes of the session's output format).
    ``delay`` waits that many seconds (scaled by the server's ``pace``) before the first output.
    """

    text: str = ""
    function_calls: List[FunctionCall] = field(default_factory=list)
    audio: Optional[bytes] = None
    delay: float = 0.0

    @classmethod
    def coerce(cls, value: Any) -> "Reply":
        """A Reply from what a responder returned: Reply, str, FunctionCall, a list of those, or None (silence)."""
        if isinstance(value, Reply):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, FunctionCall):
            return cls(function_calls=[value])
        if isinstance(value, (list, tuple)):
            out = cls()
            for part in value:
                sub = cls.coerce(part)
                out.text += sub.text
                out.function_calls += sub.function_calls
            return out
        raise TypeError(f"a responder returns Reply, str, FunctionCall or a list of them, not {type(value).__name__}")


@dataclass
class ResponderContext:
    """What a responder can look at. ``items`` are copies: changing them changes nothing on the server."""

    items: List[ConversationItem]  #: the conversation (or ``response.input`` when the client gave one)
    instructions: str
    tools: List[Json]  #: function tools in effect (session's, or the response's override)
    tool_choice: Any
    output_modalities: List[str]  #: ``["audio"]`` or ``["text"]``
    dialect: Dialect
    model: str
    response: Optional[ResponseOptions] = None  #: the ``response.create`` overrides, if any
    metadata: Optional[Json] = None

    @property
    def last_item(self) -> Optional[ConversationItem]:
        return self.items[-1] if self.items else None

    @property
    def last_user_message(self) -> Optional[ConversationItem]:
        for item in reversed(self.items):
            if item.type == "message" and item.role == "user":
                return item
        return None

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (typed text and input-audio transcripts)."""
        item = self.last_user_message
        return item.text if item is not None else ""

    @property
    def function_outputs(self) -> List[ConversationItem]:
        """The ``function_call_output`` items that arrived after the last user message."""
        out: List[ConversationItem] = []
        for item in reversed(self.items):
            if item.type == "message" and item.role == "user":
                break
            if item.type == "function_call_output":
                out.insert(0, item)
        return out


Responder = Callable[[ResponderContext], Any]


@dataclass
class TranscriptionRequest:
    """Committed user audio to transcribe: wire bytes of ``format`` (pcm16 24 kHz, or G.711 8 kHz), with the
    session's transcription settings (``language`` and ``prompt`` are None when the session set none).

    A transcriber may also have a ``partial(request) -> str`` method (a *streaming* transcriber, like
    :func:`scripted_transcripts`): while server VAD hears speech, the simulator asks it every 100 ms of audio what
    it has recognised so far of the speech since ``speech_started`` (the request then holds the audio until now) and
    streams what it adds as deltas. The final call gets the committed audio; deltas continue from what was streamed
    when the final transcript starts with it."""

    audio: bytes
    format: str
    duration_ms: int
    item_id: str
    model: str
    language: Optional[str] = None
    prompt: Optional[str] = None


Transcriber = Callable[[TranscriptionRequest], str]


def default_transcriber(request: TranscriptionRequest) -> str:
    """The simulator cannot recognise speech: the transcript names the audio's length."""
    return f"(audio {request.duration_ms} ms)"


# -- arguments from a JSON Schema -----------------------------------------------------------------------------------
_STRINGS = (("location", "San Francisco, CA"), ("city", "San Francisco"), ("country", "United States"),
            ("email", "user@example.com"), ("url", "https://example.com"), ("date", "2024-06-01"),
            ("time", "12:00"), ("query", "weather today"), ("name", "Alice"), ("unit", "celsius"),
            ("language", "en"), ("id", "123"), ("phone", "+1-555-0100"), ("address", "1 Market St"))
_FORMATS = {"date": "2024-06-01", "date-time": "2024-06-01T12:00:00Z", "email": "user@example.com",
            "uri": "https://example.com", "uuid": "123e4567-e89b-12d3-a456-426614174000", "time": "12:00:00"}


def arguments_for_schema(schema: Any, name: str = "", depth: int = 0) -> Any:
    """A plausible value for a JSON Schema: ``default``/``const``/first ``enum`` value, numbers at their minimum
    (else 1), strings guessed from the property name (``location`` -> ``"San Francisco, CA"``), one-element arrays,
    objects with their required properties (all properties when none is required)."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        subs = [s for s in schema.get(key, ()) if isinstance(s, dict) and s.get("type") != "null"]
        if subs:
            return arguments_for_schema(subs[0], name, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), None)
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    if typ == "object":
        props = schema.get("properties") or {}
        keys = schema.get("required") or list(props)
        return {k: arguments_for_schema(props.get(k, {}), k, depth + 1) for k in keys}
    if typ == "array":
        count = max(1, int(schema.get("minItems") or 1))
        return [arguments_for_schema(schema.get("items") or {}, name, depth + 1) for _ in range(count)]
    if typ in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return int(value) if typ == "integer" else float(value)
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    lowered = name.lower()
    for key, value in _STRINGS:
        if key in lowered:
            return value
    return "example"


def _tool_to_call(ctx: ResponderContext) -> Optional[Json]:
    if ctx.tool_choice == "none":
        return None
    tools = [t for t in ctx.tools if t.get("type", "function") == "function" and t.get("name")]
    if isinstance(ctx.tool_choice, dict) and ctx.tool_choice.get("name"):
        tools = [t for t in tools if t["name"] == ctx.tool_choice["name"]] or tools
    return tools[0] if tools else None


def default_responder(ctx: ResponderContext) -> Reply:
    """Sensible answers with no configuration.

    * ``tool_choice`` ``required`` or naming a function: call that tool (the first one for ``required``);
    * after function outputs: a sentence that repeats them;
    * a user turn while function tools are set (and ``tool_choice`` is not ``none``): call the first tool with
      arguments generated from its JSON Schema (:func:`arguments_for_schema`);
    * otherwise echo the user: ``"You said: ..."`` (or a fixed sentence for audio without a transcript).
    """
    outputs = ctx.function_outputs
    last = ctx.last_item
    forced = ctx.tool_choice == "required" or isinstance(ctx.tool_choice, dict)
    tool = _tool_to_call(ctx)
    if forced and tool is not None:
        return Reply(function_calls=[FunctionCall(tool["name"], arguments_for_schema(tool.get("parameters") or {}))])
    if last is not None and last.type == "function_call_output" and outputs:
        joined = "; ".join((o.output or "").strip() for o in outputs)
        if len(joined) > 300:
            joined = joined[:297] + "..."
        return Reply(text=f"Here is what I found: {joined}")
    user = ctx.last_user_message
    if user is not None and last is user and tool is not None:
        return Reply(function_calls=[FunctionCall(tool["name"], arguments_for_schema(tool.get("parameters") or {}))])
    if user is None:
        return Reply(text="Hello! How can I help you today?")
    text = user.text.strip()
    if text:
        return Reply(text=f"You said: {text}")
    return Reply(text="I heard you. How can I help you today?")


class _Script:
    def __init__(self, replies: Sequence[Any], then: Optional[Responder]) -> None:
        self._replies = list(replies)
        self._then = then
        self._lock = threading.Lock()
        self.calls: List[ResponderContext] = []

    def __call__(self, ctx: ResponderContext) -> Any:
        with self._lock:
            self.calls.append(ctx)
            if self._replies:
                nxt = self._replies.pop(0)
                return nxt(ctx) if callable(nxt) and not isinstance(nxt, (Reply, FunctionCall)) else nxt
        if self._then is None:
            raise RuntimeError("scripted responder has no reply left")
        logger.debug("scripted responder exhausted; falling back")
        return self._then(ctx)


def scripted(*replies: Any, then: Optional[Responder] = default_responder) -> Callable[[ResponderContext], Any]:
    """A responder answering each ``response.create`` with the next of ``replies`` (a str, Reply, FunctionCall,
    list of those, or a callable taking the context); when they run out it defers to ``then`` (None: fail the
    response). The returned callable records the contexts it saw in ``.calls``."""
    return _Script(replies, then)


#: how long after a word was said a streaming transcriber recognises it (ms of audio), see :func:`scripted_transcripts`
RECOGNITION_LAG_MS = 900.0


class _ScriptedTranscripts:
    def __init__(self, transcripts: Sequence[str], then: Optional[Transcriber]) -> None:
        self._queue = list(transcripts)
        self._then = then
        self._lock = threading.Lock()

    def __call__(self, request: TranscriptionRequest) -> str:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        if self._then is None:
            raise RuntimeError("scripted transcriber has no transcript left")
        return self._then(request)

    def partial(self, request: TranscriptionRequest) -> str:
        """What has been recognised of the next transcript after ``request.duration_ms`` of the speech: each word
        :data:`RECOGNITION_LAG_MS` after it was said at :func:`~realtime_sync.testing.synthesize`'s speaking rate."""
        with self._lock:
            text = self._queue[0] if self._queue else None
        if text is None:
            then_partial = getattr(self._then, "partial", None)
            return str(then_partial(request)) if then_partial is not None else ""
        ends = iter(spoken_ends_ms(text))
        heard = ""
        for tok in tokenize(text):
            if tok.strip() and next(ends) + RECOGNITION_LAG_MS > request.duration_ms:
                break
            heard += tok
        return heard


def scripted_transcripts(*transcripts: str, then: Optional[Transcriber] = default_transcriber) -> Transcriber:
    """A transcriber returning ``transcripts`` in order (then deferring to ``then``).

    It also *streams*: its ``partial(request)`` is what a streaming model has recognised so far of the transcript it
    will return next, given the speech heard until now (see :data:`TranscriptionRequest`; the simulator calls it
    while server VAD hears speech, for models other than ``whisper-1``, and sends the new words as
    ``conversation.item.input_audio_transcription.delta`` before ``speech_stopped``, as the service does)."""
    return _ScriptedTranscripts(transcripts, then)
