"""Event type names: the :class:`UpdateKind` enum, the two dialects and the beta <-> GA renames."""
import enum
from typing import Dict, Optional, Union

__all__ = ["Dialect", "UpdateKind", "BETA_TO_GA_SERVER", "GA_TO_BETA_SERVER", "CLIENT_SIDE_KINDS", "TRANSLATION_KINDS",
           "wire_server_type"]


class Dialect(str, enum.Enum):
    """The two shapes of the protocol: GA (the default) and beta (``OpenAI-Beta: realtime=v1``, Azure preview)."""

    GA = "ga"
    BETA = "beta"

    @classmethod
    def coerce(cls, value: Union["Dialect", str, None]) -> "Dialect":
        if value is None:
            return cls.GA
        if isinstance(value, Dialect):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"unknown protocol {value!r}: expected 'ga' or 'beta'") from None


class UpdateKind(str, enum.Enum):
    """One member per GA server event type; the value is the GA wire type. The members in
    :data:`CLIENT_SIDE_KINDS` (values ``realtime_sync.*``) are updates this library adds to the stream itself, never
    sent by the server; those in :data:`TRANSLATION_KINDS` are sent only by translation sessions
    (``/v1/realtime/translations``, which also send ``session.created``, ``session.updated`` and ``error``).

    Beta names resolve to their GA twin (``UpdateKind.from_type("response.audio.delta")`` is
    :attr:`OUTPUT_AUDIO_DELTA`); any type the protocol does not define is :attr:`UNKNOWN`.
    """

    CONVERSATION_CREATED = "conversation.created"
    ITEM_ADDED = "conversation.item.added"
    ITEM_CREATED = "conversation.item.created"
    ITEM_DELETED = "conversation.item.deleted"
    ITEM_DONE = "conversation.item.done"
    INPUT_TRANSCRIPTION_COMPLETED = "conversation.item.input_audio_transcription.completed"
    INPUT_TRANSCRIPTION_DELTA = "conversation.item.input_audio_transcription.delta"
    INPUT_TRANSCRIPTION_FAILED = "conversation.item.input_audio_transcription.failed"
    INPUT_TRANSCRIPTION_SEGMENT = "conversation.item.input_audio_transcription.segment"
    ITEM_RETRIEVED = "conversation.item.retrieved"
    ITEM_TRUNCATED = "conversation.item.truncated"
    ERROR = "error"
    INPUT_AUDIO_CLEARED = "input_audio_buffer.cleared"
    INPUT_AUDIO_COMMITTED = "input_audio_buffer.committed"
    INPUT_AUDIO_DTMF_RECEIVED = "input_audio_buffer.dtmf_event_received"
    INPUT_SPEECH_STARTED = "input_audio_buffer.speech_started"
    INPUT_SPEECH_STOPPED = "input_audio_buffer.speech_stopped"
    INPUT_AUDIO_TIMEOUT_TRIGGERED = "input_audio_buffer.timeout_triggered"
    MCP_LIST_TOOLS_COMPLETED = "mcp_list_tools.completed"
    MCP_LIST_TOOLS_FAILED = "mcp_list_tools.failed"
    MCP_LIST_TOOLS_IN_PROGRESS = "mcp_list_tools.in_progress"
    OUTPUT_AUDIO_BUFFER_CLEARED = "output_audio_buffer.cleared"
    OUTPUT_AUDIO_BUFFER_STARTED = "output_audio_buffer.started"
    OUTPUT_AUDIO_BUFFER_STOPPED = "output_audio_buffer.stopped"
    RATE_LIMITS_UPDATED = "rate_limits.updated"
    CONTENT_PART_ADDED = "response.content_part.added"
    CONTENT_PART_DONE = "response.content_part.done"
    RESPONSE_CREATED = "response.created"
    RESPONSE_DONE = "response.done"
    FUNCTION_CALL_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
    FUNCTION_CALL_ARGUMENTS_DONE = "response.function_call_arguments.done"
    MCP_CALL_COMPLETED = "response.mcp_call.completed"
    MCP_CALL_FAILED = "response.mcp_call.failed"
    MCP_CALL_IN_PROGRESS = "response.mcp_call.in_progress"
    MCP_CALL_ARGUMENTS_DELTA = "response.mcp_call_arguments.delta"
    MCP_CALL_ARGUMENTS_DONE = "response.mcp_call_arguments.done"
    OUTPUT_AUDIO_DELTA = "response.output_audio.delta"
    OUTPUT_AUDIO_DONE = "response.output_audio.done"
    OUTPUT_AUDIO_TRANSCRIPT_DELTA = "response.output_audio_transcript.delta"
    OUTPUT_AUDIO_TRANSCRIPT_DONE = "response.output_audio_transcript.done"
    OUTPUT_ITEM_ADDED = "response.output_item.added"
    OUTPUT_ITEM_DONE = "response.output_item.done"
    OUTPUT_TEXT_DELTA = "response.output_text.delta"
    OUTPUT_TEXT_DONE = "response.output_text.done"
    SESSION_CREATED = "session.created"
    SESSION_UPDATED = "session.updated"
    SESSION_CLOSED = "session.closed"
    SESSION_INPUT_TRANSCRIPT_DELTA = "session.input_transcript.delta"
    SESSION_OUTPUT_TRANSCRIPT_DELTA = "session.output_transcript.delta"
    SESSION_OUTPUT_AUDIO_DELTA = "session.output_audio.delta"
    UNKNOWN = "unknown"
    UPDATES_DROPPED = "realtime_sync.updates_dropped"
    RECONNECTED = "realtime_sync.reconnected"

    @classmethod
    def from_type(cls, wire_type: Optional[str]) -> "UpdateKind":
        """The member for a wire type of either dialect; :attr:`UNKNOWN` for anything else."""
        return _BY_TYPE.get(wire_type, cls.UNKNOWN)  # type: ignore[arg-type]


#: Beta server event types whose name differs from their GA twin.
BETA_TO_GA_SERVER: Dict[str, str] = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "transcription_session.created": "session.created",
    "transcription_session.updated": "session.updated",
}
#: GA server event types renamed in beta (session events keep their name in beta realtime sessions).
GA_TO_BETA_SERVER: Dict[str, str] = {
    ga: beta for beta, ga in BETA_TO_GA_SERVER.items() if not beta.startswith("transcription_session.")
}

#: Server events only translation sessions send (decoded by ``protocol.translation.parse_translation_update``).
TRANSLATION_KINDS = frozenset({UpdateKind.SESSION_CLOSED, UpdateKind.SESSION_INPUT_TRANSCRIPT_DELTA,
                               UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA, UpdateKind.SESSION_OUTPUT_AUDIO_DELTA})
#: Updates the client adds to the stream (never decoded from server messages).
CLIENT_SIDE_KINDS = frozenset({UpdateKind.UPDATES_DROPPED, UpdateKind.RECONNECTED})
_BY_TYPE: Dict[str, UpdateKind] = {k.value: k for k in UpdateKind
                                   if k is not UpdateKind.UNKNOWN and k not in CLIENT_SIDE_KINDS}
_BY_TYPE.update({beta: UpdateKind(ga) for beta, ga in BETA_TO_GA_SERVER.items()})


def wire_server_type(kind: Union[UpdateKind, str], dialect: Union[Dialect, str] = Dialect.GA) -> str:
    """The wire type of a server event kind in a dialect (``response.audio.delta`` for beta audio deltas)."""
    ga = kind.value if isinstance(kind, UpdateKind) else BETA_TO_GA_SERVER.get(kind, kind)
    if Dialect.coerce(dialect) is Dialect.BETA:
        return GA_TO_BETA_SERVER.get(ga, ga)
    return ga
