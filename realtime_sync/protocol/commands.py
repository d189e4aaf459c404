"""Client events ("commands"): one dataclass per type, encoded for either dialect, and :func:`parse_command`.

The client encodes these; the simulator decodes what it receives with :func:`parse_command`, so both ends share
one definition of every client event.
"""
import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple, Type, Union

from ..errors import MessageDecodeError, ProtocolError
from .kinds import Dialect
from .models import ConversationItem
from .options import ResponseOptions, SessionOptions

__all__ = [
    "Command", "SessionUpdateCommand", "TranscriptionSessionUpdateCommand", "ItemCreateCommand",
    "ItemDeleteCommand", "ItemRetrieveCommand", "ItemTruncateCommand", "InputAudioAppendCommand",
    "InputAudioClearCommand", "InputAudioCommitCommand", "OutputAudioClearCommand", "ResponseCreateCommand",
    "ResponseCancelCommand", "COMMAND_CLASSES", "parse_command", "encode_audio_append", "passthrough_text",
]

Json = Dict[str, Any]


@dataclass
class Command:
    """Base class of client events. ``event_id`` is echoed in ``error.event_id`` when the event fails."""

    type: ClassVar[str] = ""
    event_id: Optional[str] = None

    def _body(self, dialect: Dialect) -> Json:
        return {}

    def to_wire(self, dialect: Union[Dialect, str] = Dialect.GA) -> Json:
        out: Json = {"type": self.type}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        out.update(self._body(Dialect.coerce(dialect)))
        return out

    def to_json(self, dialect: Union[Dialect, str] = Dialect.GA) -> str:
        return json.dumps(self.to_wire(dialect), separators=(",", ":"))

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        return cls(event_id=data.get("event_id"))


@dataclass
class SessionUpdateCommand(Command):
    type: ClassVar[str] = "session.update"
    session: SessionOptions = field(default_factory=SessionOptions)

    def _body(self, dialect: Dialect) -> Json:
        return {"session": self.session.to_wire(dialect)}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        session = data.get("session")
        if not isinstance(session, dict):
            raise ProtocolError("session.update needs a 'session' object")
        return cls(event_id=data.get("event_id"), session=SessionOptions.from_wire(session, dialect))


@dataclass
class TranscriptionSessionUpdateCommand(Command):
    """Beta only: configure a transcription session (the wire ``session`` object is passed as it is)."""

    type: ClassVar[str] = "transcription_session.update"
    session: Json = field(default_factory=dict)

    def _body(self, dialect: Dialect) -> Json:
        if dialect is not Dialect.BETA:
            raise ProtocolError("transcription_session.update is beta only; GA uses session.update with "
                                "session.type='transcription'")
        return {"session": self.session}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        return cls(event_id=data.get("event_id"), session=data.get("session") or {})


@dataclass
class ItemCreateCommand(Command):
    type: ClassVar[str] = "conversation.item.create"
    item: ConversationItem = field(default_factory=ConversationItem)
    previous_item_id: Optional[str] = None

    def _body(self, dialect: Dialect) -> Json:
        body: Json = {"item": self.item.to_wire(dialect)}
        if self.previous_item_id is not None:
            body["previous_item_id"] = self.previous_item_id
        return body

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        item = data.get("item")
        if not isinstance(item, dict):
            raise ProtocolError("conversation.item.create needs an 'item' object")
        return cls(event_id=data.get("event_id"), item=ConversationItem.from_wire(item),
                   previous_item_id=data.get("previous_item_id"))


@dataclass
class _ItemIdCommand(Command):
    item_id: str = ""

    def _body(self, dialect: Dialect) -> Json:
        return {"item_id": self.item_id}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        return cls(event_id=data.get("event_id"), item_id=data.get("item_id"))  # type: ignore[arg-type]


@dataclass
class ItemDeleteCommand(_ItemIdCommand):
    type: ClassVar[str] = "conversation.item.delete"


@dataclass
class ItemRetrieveCommand(_ItemIdCommand):
    type: ClassVar[str] = "conversation.item.retrieve"


@dataclass
class ItemTruncateCommand(Command):
    """Truncate an assistant item's audio at ``audio_end_ms`` (what the user actually heard)."""

    type: ClassVar[str] = "conversation.item.truncate"
    item_id: str = ""
    content_index: int = 0
    audio_end_ms: int = 0

    def _body(self, dialect: Dialect) -> Json:
        return {"item_id": self.item_id, "content_index": self.content_index, "audio_end_ms": self.audio_end_ms}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        return cls(event_id=data.get("event_id"), item_id=data.get("item_id"),  # type: ignore[arg-type]
                   content_index=data.get("content_index"), audio_end_ms=data.get("audio_end_ms"))  # type: ignore


def encode_audio_append(audio: bytes, event_id: Optional[str] = None) -> str:
    """The JSON text of an ``input_audio_buffer.append`` (the hot path: no dict, no json.dumps)."""
    b64 = base64.b64encode(audio).decode("ascii")
    if event_id is None:
        return '{"type":"input_audio_buffer.append","audio":"' + b64 + '"}'
    return '{"type":"input_audio_buffer.append","event_id":' + json.dumps(event_id) + ',"audio":"' + b64 + '"}'


@dataclass
class InputAudioAppendCommand(Command):
    """Append audio (raw bytes here; base64 on the wire) to the input audio buffer."""

    type: ClassVar[str] = "input_audio_buffer.append"
    audio: bytes = b""

    def _body(self, dialect: Dialect) -> Json:
        return {"audio": base64.b64encode(self.audio).decode("ascii")}

    def to_json(self, dialect: Union[Dialect, str] = Dialect.GA) -> str:
        return encode_audio_append(self.audio, self.event_id)

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        audio = data.get("audio")
        if not isinstance(audio, str):
            raise ProtocolError("input_audio_buffer.append needs base64 'audio'")
        try:
            raw = base64.b64decode(audio, validate=True)
        except ValueError:
            raise ProtocolError("input_audio_buffer.append 'audio' is not valid base64") from None
        return cls(event_id=data.get("event_id"), audio=raw)


@dataclass
class InputAudioClearCommand(Command):
    type: ClassVar[str] = "input_audio_buffer.clear"


@dataclass
class InputAudioCommitCommand(Command):
    type: ClassVar[str] = "input_audio_buffer.commit"


@dataclass
class OutputAudioClearCommand(Command):
    """[WebRTC/SIP] Cut off the audio the server is playing."""

    type: ClassVar[str] = "output_audio_buffer.clear"


@dataclass
class ResponseCreateCommand(Command):
    type: ClassVar[str] = "response.create"
    response: Optional[ResponseOptions] = None

    def _body(self, dialect: Dialect) -> Json:
        if self.response is None:
            return {}
        return {"response": self.response.to_wire(dialect)}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        resp = data.get("response")
        if resp is None:
            return cls(event_id=data.get("event_id"))
        if not isinstance(resp, dict):
            raise ProtocolError("response.create 'response' must be an object")
        extra = dict(resp)
        items = extra.pop("input", None)
        opts = ResponseOptions(extra=extra, input=[ConversationItem.from_wire(i) for i in items]
                               if isinstance(items, list) else None)
        return cls(event_id=data.get("event_id"), response=opts)


@dataclass
class ResponseCancelCommand(Command):
    type: ClassVar[str] = "response.cancel"
    response_id: Optional[str] = None

    def _body(self, dialect: Dialect) -> Json:
        return {"response_id": self.response_id} if self.response_id else {}

    @classmethod
    def _from_wire(cls, data: Json, dialect: Dialect) -> "Command":
        return cls(event_id=data.get("event_id"), response_id=data.get("response_id"))


#: Client event classes by wire type (GA: 11; beta adds ``transcription_session.update``).
COMMAND_CLASSES: Dict[str, Type[Command]] = {c.type: c for c in (
    SessionUpdateCommand, TranscriptionSessionUpdateCommand, ItemCreateCommand, ItemDeleteCommand,
    ItemRetrieveCommand, ItemTruncateCommand, InputAudioAppendCommand, InputAudioClearCommand,
    InputAudioCommitCommand, OutputAudioClearCommand, ResponseCreateCommand, ResponseCancelCommand)}


def parse_command(message: Union[str, bytes, Json], dialect: Union[Dialect, str] = Dialect.GA) -> Command:
    """Decode one client event. Raises MessageDecodeError for bad JSON or a missing type, ProtocolError for an
    unknown type or a malformed required field."""
    dialect = Dialect.coerce(dialect)
    if isinstance(message, dict):
        data = message
    else:
        try:
            data = json.loads(message)
        except ValueError:
            raise MessageDecodeError("invalid JSON", len(message)) from None
        if not isinstance(data, dict):
            raise MessageDecodeError("expected a JSON object", len(message))
    wire_type = data.get("type")
    if not isinstance(wire_type, str):
        raise MessageDecodeError("message has no 'type'")
    cls = COMMAND_CLASSES.get(wire_type)
    if cls is None or (cls is TranscriptionSessionUpdateCommand and dialect is not Dialect.BETA):
        raise ProtocolError(f"unknown client event type {wire_type!r}")
    return cls._from_wire(data, dialect)


def passthrough_text(command: Union[Json, str, bytes, bytearray, Command], dialect: Union[Dialect, str],
                     new_event_id: Callable[[], str]) -> Tuple[str, str, Optional[str]]:
    """``(JSON text, type, event_id)`` of a client event given as a :class:`Command` (its ``event_id`` set from
    ``new_event_id`` when missing), a dict, or JSON text (sent as it is). ProtocolError for text that is not a
    JSON object with a ``type``, TypeError for anything else."""
    if isinstance(command, Command):
        if command.event_id is None:
            command.event_id = new_event_id()
        return command.to_json(dialect), command.type, command.event_id
    if isinstance(command, (bytes, bytearray)):
        command = command.decode("utf-8")
    if isinstance(command, str):
        text = command
        try:
            data = json.loads(text)
        except ValueError:
            raise ProtocolError("send_command needs JSON text") from None
    elif isinstance(command, dict):
        data = command
        text = json.dumps(command, separators=(",", ":"))
    else:
        raise TypeError("send_command takes a dict, JSON text or a Command")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("a client event is a JSON object with a 'type'")
    event_id = data.get("event_id")
    return text, data["type"], event_id if isinstance(event_id, str) else None
