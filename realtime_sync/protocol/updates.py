"""Typed server events: one :class:`ConversationUpdate` subclass per event type, and :func:`parse_update`.

Beta events decode to the class of their GA twin (``response.audio.delta`` is an :class:`OutputAudioDeltaUpdate`);
``.type`` keeps the wire name as received. Types the protocol does not define decode to :class:`UnknownUpdate`.
"""
import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, List, Optional, Type, Union

from ..errors import MessageDecodeError
from ._decode import decoder, nested, nested_list, raw_field
from .kinds import UpdateKind
from .models import (Conversation, ConversationItem, ContentPart, ErrorDetail, RateLimit, Response, SessionInfo,
                     Usage)

Json = Dict[str, Any]


@dataclass(eq=False)
class ConversationUpdate:
    """Base class of every server event. ``raw`` is the message exactly as received."""

    kind: ClassVar[UpdateKind] = UpdateKind.UNKNOWN
    raw: Json = raw_field()
    event_id: Optional[str] = None

    @property
    def type(self) -> str:
        """The wire type as received (a beta name for beta events)."""
        return self.raw.get("type", "")

    def to_json(self) -> str:
        """The raw JSON of the message (re-serialised from :attr:`raw`)."""
        return json.dumps(self.raw)

    def __repr__(self) -> str:  # short: never dumps audio payloads
        return f"<{type(self).__name__} {self.type} event_id={self.event_id!r}>"


def _session(v: Any) -> Any:
    return SessionInfo.from_wire(v) if isinstance(v, dict) else None


def _part() -> Any:
    return nested(ContentPart)


def _item() -> Any:
    return nested(ConversationItem)


# -- session ----------------------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class SessionCreatedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_CREATED
    session: Optional[SessionInfo] = field(default=None, metadata={"decode": _session})


@dataclass(eq=False, repr=False)
class SessionUpdatedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.SESSION_UPDATED
    session: Optional[SessionInfo] = field(default=None, metadata={"decode": _session})


@dataclass(eq=False, repr=False)
class ErrorUpdate(ConversationUpdate):
    """An ``error`` event. Not fatal by itself: it fails the blocking call whose ``event_id`` it names."""

    kind: ClassVar[UpdateKind] = UpdateKind.ERROR
    error: Optional[ErrorDetail] = nested(ErrorDetail)

    @property
    def error_type(self) -> Optional[str]:
        return self.error.type if self.error else None

    @property
    def code(self) -> Optional[str]:
        return self.error.code if self.error else None

    @property
    def message(self) -> str:
        return (self.error.message if self.error else None) or ""

    @property
    def param(self) -> Optional[str]:
        return self.error.param if self.error else None

    @property
    def client_event_id(self) -> Optional[str]:
        """The ``event_id`` of the client event that failed (``error.event_id``)."""
        return self.error.event_id if self.error else None


@dataclass(eq=False, repr=False)
class ConversationCreatedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.CONVERSATION_CREATED
    conversation: Optional[Conversation] = nested(Conversation)


@dataclass(eq=False, repr=False)
class RateLimitsUpdatedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.RATE_LIMITS_UPDATED
    rate_limits: Optional[List[RateLimit]] = nested_list(RateLimit)


# -- conversation items -----------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class _ItemEvent(ConversationUpdate):
    previous_item_id: Optional[str] = None
    item: Optional[ConversationItem] = _item()


@dataclass(eq=False, repr=False)
class ItemAddedUpdate(_ItemEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_ADDED


@dataclass(eq=False, repr=False)
class ItemCreatedUpdate(_ItemEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_CREATED


@dataclass(eq=False, repr=False)
class ItemDoneUpdate(_ItemEvent):
    """``conversation.item.done``: the item is final (.NET's ``ConversationItemFinishedUpdate``)."""

    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_DONE


@dataclass(eq=False, repr=False)
class ItemRetrievedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_RETRIEVED
    item: Optional[ConversationItem] = _item()


@dataclass(eq=False, repr=False)
class ItemDeletedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_DELETED
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class ItemTruncatedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.ITEM_TRUNCATED
    item_id: Optional[str] = None
    content_index: Optional[int] = None
    audio_end_ms: Optional[int] = None


@dataclass(eq=False, repr=False)
class _TranscriptionEvent(ConversationUpdate):
    item_id: Optional[str] = None
    content_index: Optional[int] = None


@dataclass(eq=False, repr=False)
class InputTranscriptionDeltaUpdate(_TranscriptionEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_TRANSCRIPTION_DELTA
    delta: Optional[str] = None
    logprobs: Optional[List[Json]] = None


@dataclass(eq=False, repr=False)
class InputTranscriptionCompletedUpdate(_TranscriptionEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_TRANSCRIPTION_COMPLETED
    transcript: Optional[str] = None
    logprobs: Optional[List[Json]] = None
    usage: Optional[Usage] = nested(Usage)
    languages: Optional[List[Any]] = None


@dataclass(eq=False, repr=False)
class InputTranscriptionFailedUpdate(_TranscriptionEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_TRANSCRIPTION_FAILED
    error: Optional[ErrorDetail] = nested(ErrorDetail)


@dataclass(eq=False, repr=False)
class InputTranscriptionSegmentUpdate(_TranscriptionEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_TRANSCRIPTION_SEGMENT
    id: Optional[str] = None
    text: Optional[str] = None
    speaker: Optional[str] = None
    start: Optional[float] = None
    end: Optional[float] = None


# -- input audio buffer -----------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class InputAudioClearedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_AUDIO_CLEARED


@dataclass(eq=False, repr=False)
class InputAudioCommittedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_AUDIO_COMMITTED
    previous_item_id: Optional[str] = None
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class InputSpeechStartedUpdate(ConversationUpdate):
    """Voice activity detected (.NET's ``ConversationInputSpeechStartedUpdate``)."""

    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_SPEECH_STARTED
    audio_start_ms: Optional[int] = None
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class InputSpeechStoppedUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_SPEECH_STOPPED
    audio_end_ms: Optional[int] = None
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class InputAudioTimeoutTriggeredUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_AUDIO_TIMEOUT_TRIGGERED
    audio_start_ms: Optional[int] = None
    audio_end_ms: Optional[int] = None
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class InputAudioDtmfReceivedUpdate(ConversationUpdate):
    """[SIP] A DTMF key press; this event has no ``event_id``."""

    kind: ClassVar[UpdateKind] = UpdateKind.INPUT_AUDIO_DTMF_RECEIVED
    event: Optional[str] = None
    received_at: Optional[int] = None


# -- output audio buffer (WebRTC / SIP) -------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class _OutputBufferEvent(ConversationUpdate):
    response_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class OutputAudioBufferStartedUpdate(_OutputBufferEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_BUFFER_STARTED


@dataclass(eq=False, repr=False)
class OutputAudioBufferStoppedUpdate(_OutputBufferEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_BUFFER_STOPPED


@dataclass(eq=False, repr=False)
class OutputAudioBufferClearedUpdate(_OutputBufferEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_BUFFER_CLEARED


# -- responses --------------------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class ResponseCreatedUpdate(ConversationUpdate):
    """.NET's ``ConversationResponseStartedUpdate``."""

    kind: ClassVar[UpdateKind] = UpdateKind.RESPONSE_CREATED
    response: Optional[Response] = nested(Response)


@dataclass(eq=False, repr=False)
class ResponseDoneUpdate(ConversationUpdate):
    """.NET's ``ConversationResponseFinishedUpdate``: status, output items and usage."""

    kind: ClassVar[UpdateKind] = UpdateKind.RESPONSE_DONE
    response: Optional[Response] = nested(Response)


@dataclass(eq=False, repr=False)
class _OutputItemEvent(ConversationUpdate):
    response_id: Optional[str] = None
    output_index: Optional[int] = None
    item: Optional[ConversationItem] = _item()


@dataclass(eq=False, repr=False)
class OutputItemAddedUpdate(_OutputItemEvent):
    """.NET's ``ConversationItemStreamingStartedUpdate``."""

    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_ITEM_ADDED


@dataclass(eq=False, repr=False)
class OutputItemDoneUpdate(_OutputItemEvent):
    """.NET's ``ConversationItemStreamingFinishedUpdate``."""

    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_ITEM_DONE


@dataclass(eq=False, repr=False)
class _ContentEvent(ConversationUpdate):
    response_id: Optional[str] = None
    item_id: Optional[str] = None
    output_index: Optional[int] = None
    content_index: Optional[int] = None


@dataclass(eq=False, repr=False)
class ContentPartAddedUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.CONTENT_PART_ADDED
    part: Optional[ContentPart] = _part()


@dataclass(eq=False, repr=False)
class ContentPartDoneUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.CONTENT_PART_DONE
    part: Optional[ContentPart] = _part()


@dataclass(eq=False, repr=False)
class OutputTextDeltaUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_TEXT_DELTA
    delta: Optional[str] = None


@dataclass(eq=False, repr=False)
class OutputTextDoneUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_TEXT_DONE
    text: Optional[str] = None


class Base64Audio:
    """An audio delta's :attr:`audio`: its base64 ``delta`` decoded on first access (and kept)."""

    delta: Optional[str]

    @property
    def audio(self) -> bytes:
        cached = self.__dict__.get("_audio")
        if cached is None:
            delta = self.delta
            try:
                cached = base64.b64decode(delta) if delta else b""
            except (ValueError, TypeError):  # not base64 (binascii.Error is a ValueError), or not a string
                raise MessageDecodeError(f"audio delta is not base64 ({type(delta).__name__})") from None
            self.__dict__["_audio"] = cached
        return cached


@dataclass(eq=False, repr=False)
class OutputAudioDeltaUpdate(_ContentEvent, Base64Audio):
    """A chunk of model audio. ``delta`` is base64 as received; :attr:`audio` decodes it on first access."""

    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_DELTA
    delta: Optional[str] = None


@dataclass(eq=False, repr=False)
class OutputAudioDoneUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_DONE


@dataclass(eq=False, repr=False)
class OutputAudioTranscriptDeltaUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA
    delta: Optional[str] = None


@dataclass(eq=False, repr=False)
class OutputAudioTranscriptDoneUpdate(_ContentEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DONE
    transcript: Optional[str] = None


@dataclass(eq=False, repr=False)
class FunctionCallArgumentsDeltaUpdate(ConversationUpdate):
    kind: ClassVar[UpdateKind] = UpdateKind.FUNCTION_CALL_ARGUMENTS_DELTA
    response_id: Optional[str] = None
    item_id: Optional[str] = None
    output_index: Optional[int] = None
    call_id: Optional[str] = None
    delta: Optional[str] = None


@dataclass(eq=False, repr=False)
class FunctionCallArgumentsDoneUpdate(ConversationUpdate):
    """Arguments complete. ``name`` is GA only; in beta read it from the output item."""

    kind: ClassVar[UpdateKind] = UpdateKind.FUNCTION_CALL_ARGUMENTS_DONE
    response_id: Optional[str] = None
    item_id: Optional[str] = None
    output_index: Optional[int] = None
    call_id: Optional[str] = None
    name: Optional[str] = None
    arguments: Optional[str] = None


# -- MCP (GA) ---------------------------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class _McpListToolsEvent(ConversationUpdate):
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class McpListToolsInProgressUpdate(_McpListToolsEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_LIST_TOOLS_IN_PROGRESS


@dataclass(eq=False, repr=False)
class McpListToolsCompletedUpdate(_McpListToolsEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_LIST_TOOLS_COMPLETED


@dataclass(eq=False, repr=False)
class McpListToolsFailedUpdate(_McpListToolsEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_LIST_TOOLS_FAILED


@dataclass(eq=False, repr=False)
class _McpCallEvent(ConversationUpdate):
    output_index: Optional[int] = None
    item_id: Optional[str] = None


@dataclass(eq=False, repr=False)
class McpCallInProgressUpdate(_McpCallEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_CALL_IN_PROGRESS


@dataclass(eq=False, repr=False)
class McpCallCompletedUpdate(_McpCallEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_CALL_COMPLETED


@dataclass(eq=False, repr=False)
class McpCallFailedUpdate(_McpCallEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_CALL_FAILED


@dataclass(eq=False, repr=False)
class McpCallArgumentsDeltaUpdate(_McpCallEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_CALL_ARGUMENTS_DELTA
    response_id: Optional[str] = None
    delta: Optional[str] = None
    obfuscation: Optional[str] = None


@dataclass(eq=False, repr=False)
class McpCallArgumentsDoneUpdate(_McpCallEvent):
    kind: ClassVar[UpdateKind] = UpdateKind.MCP_CALL_ARGUMENTS_DONE
    response_id: Optional[str] = None
    arguments: Optional[str] = None


@dataclass(eq=False, repr=False)
class UnknownUpdate(ConversationUpdate):
    """A server event of a type this version does not know; everything is in :attr:`raw`."""

    kind: ClassVar[UpdateKind] = UpdateKind.UNKNOWN


def _all_update_classes() -> List[Type[ConversationUpdate]]:
    found, todo = [], [ConversationUpdate]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__name__.startswith("_") and sub.kind is not UpdateKind.UNKNOWN:
                found.append(sub)
    return found


#: The update class of every GA server event kind.
UPDATE_CLASSES: Dict[UpdateKind, Type[ConversationUpdate]] = {cls.kind: cls for cls in _all_update_classes()}
_DECODERS = {kind.value: decoder(cls) for kind, cls in UPDATE_CLASSES.items()}
_DECODE_UNKNOWN = decoder(UnknownUpdate)
_loads = json.loads


def load_message(message: Union[str, bytes, bytearray, Json]) -> Json:
    """One server message (JSON text, bytes or an already decoded dict) as a dict with a non-empty ``type``.

    Raises :class:`~realtime_sync.errors.MessageDecodeError` for malformed JSON, a non-object or a missing type.
    """
    if isinstance(message, dict):
        data = message
    else:
        try:
            data = _loads(message)
        except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            size = len(message) if isinstance(message, (str, bytes, bytearray)) else 0
            raise MessageDecodeError(f"invalid JSON: {exc.__class__.__name__}", size) from None
        if type(data) is not dict:
            raise MessageDecodeError(f"expected a JSON object, got {type(data).__name__}", len(message))
    wire_type = data.get("type")
    if not isinstance(wire_type, str) or not wire_type:
        raise MessageDecodeError("message has no 'type' string", 0)
    return data


def decode_message(data: Json, dec: Callable[[Json], ConversationUpdate]) -> ConversationUpdate:
    """``dec(data)``, a field of the wrong shape raising :class:`~realtime_sync.errors.MessageDecodeError`."""
    try:
        return dec(data)
    except (TypeError, AttributeError, ValueError, RecursionError) as exc:  # a field of the wrong shape
        raise MessageDecodeError(f"malformed {data.get('type')!r} event: {exc.__class__.__name__}") from None


def parse_update(message: Union[str, bytes, bytearray, Json]) -> ConversationUpdate:
    """Decode one server message (JSON text, bytes or an already decoded dict) into its typed update.

    Raises :class:`~realtime_sync.errors.MessageDecodeError` for malformed JSON, a non-object or a missing type.
    Events of translation sessions (:data:`~realtime_sync.protocol.kinds.TRANSLATION_KINDS`) are
    :class:`UnknownUpdate` here: :func:`~realtime_sync.protocol.translation.parse_translation_update` decodes them.
    """
    data = load_message(message)
    wire_type = data["type"]
    dec = _DECODERS.get(wire_type)
    if dec is None:
        dec = _DECODERS.get(UpdateKind.from_type(wire_type).value, _DECODE_UNKNOWN)
    return decode_message(data, dec)
