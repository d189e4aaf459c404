"""realtime_sync: a synchronous, threaded client for the OpenAI and Azure OpenAI Realtime API.

The package, by layer (imports point down only)::

    protocol/      pure events, commands, options, audio formats; shared with the simulator (no I/O)
    errors.py      every exception;  observers.py  the SessionLike / Observer protocols features rely on
    _connection/   one live connection (private): transport (the only user of websocket-client), reader and
                   writer threads, delivery to the iterator / observers / waiters, audio send jobs
    session.py     RealtimeSession, the whole session surface;  client.py  RealtimeClient;  endpoints.py
    tools/ turns.py conversation.py usage.py transcription.py playback.py kiosk.py    features (SessionLike)
    audio/         devices and DSP, the only place PyAudio is imported (the ``audio`` extra)
    testing/       the local simulator (FakeRealtimeServer) for tests, demos and benchmarks

Most apps need only what this module exports::

    from realtime_sync import RealtimeClient, SessionOptions
"""
import logging

from .errors import (RealtimeError, ProtocolError, MessageDecodeError, ToolSchemaError, ToolArgumentsError,
                     ConfigurationError, RealtimeConnectionError, AuthenticationError, ConnectionClosedError,
                     RequestRefusedError, ConnectionLostError, SessionClosedError, ServerError, RealtimeTimeoutError,
                     AudioFormatError, AudioDeviceError, AudioBackendUnavailableError, HandshakeError,
                     MessageTooLargeError)
from .protocol import (COMMAND_CLASSES, Command, InputAudioAppendCommand, InputAudioClearCommand,
                       InputAudioCommitCommand, ItemCreateCommand, ItemDeleteCommand, ItemRetrieveCommand,
                       ItemTruncateCommand, OutputAudioClearCommand, ResponseCancelCommand, ResponseCreateCommand,
                       SessionUpdateCommand, TranscriptionSessionUpdateCommand, encode_audio_append, parse_command,
                       BETA_TO_GA_SERVER, GA_TO_BETA_SERVER, Dialect, UpdateKind, wire_server_type,
                       CachedTokensDetails, ContentPart, Conversation, ConversationItem, ErrorDetail,
                       InputTokenDetails, OutputTokenDetails, RateLimit, Response, ResponseStatusDetails,
                       SessionInfo, Usage, audio_format_name, audio_format_wire, FunctionTool, InputTranscription,
                       ResponseOptions, SessionOptions, TurnDetection, ContentPartAddedUpdate, ContentPartDoneUpdate,
                       ConversationCreatedUpdate, ErrorUpdate, FunctionCallArgumentsDeltaUpdate,
                       FunctionCallArgumentsDoneUpdate, InputAudioClearedUpdate, InputAudioCommittedUpdate,
                       InputAudioDtmfReceivedUpdate, InputAudioTimeoutTriggeredUpdate, InputSpeechStartedUpdate,
                       InputSpeechStoppedUpdate, InputTranscriptionCompletedUpdate, InputTranscriptionDeltaUpdate,
                       InputTranscriptionFailedUpdate, InputTranscriptionSegmentUpdate, ItemAddedUpdate,
                       ItemCreatedUpdate, ItemDeletedUpdate, ItemDoneUpdate, ItemRetrievedUpdate,
                       ItemTruncatedUpdate, McpCallArgumentsDeltaUpdate, McpCallArgumentsDoneUpdate,
                       McpCallCompletedUpdate, McpCallFailedUpdate, McpCallInProgressUpdate,
                       McpListToolsCompletedUpdate, McpListToolsFailedUpdate, McpListToolsInProgressUpdate,
                       OutputAudioBufferClearedUpdate, OutputAudioBufferStartedUpdate,
                       OutputAudioBufferStoppedUpdate, OutputAudioDeltaUpdate, OutputAudioDoneUpdate,
                       OutputAudioTranscriptDeltaUpdate, OutputAudioTranscriptDoneUpdate, OutputItemAddedUpdate,
                       OutputItemDoneUpdate, OutputTextDeltaUpdate, OutputTextDoneUpdate, RateLimitsUpdatedUpdate,
                       ResponseCreatedUpdate, ResponseDoneUpdate, SessionCreatedUpdate, SessionUpdatedUpdate,
                       ConversationUpdate, UnknownUpdate, UPDATE_CLASSES, parse_update,
                       UpdatesDroppedUpdate)
from .protocol.transcription import (TranscriptionOptions)
from .observers import (Observer, ClosingObserver, SessionLike)
from .endpoints import (Endpoint)
from ._connection.audio_jobs import (AudioSendHandle)
from .observers import AudioSendStatus
from .session import (RealtimeSession)
from .client import (RealtimeClient)
from .conversation import (ConversationMirror, MirrorItem)
from .tools import (ToolCall, ToolDispatcher, ToolRegistry)
from .turns import (PushToTalk, TurnResult, ask, push_to_talk)
from .usage import (Prices, UsageTotals, UsageTracker)
from .transcription import (TranscriptionResult, Transcriber, transcribe_file)
from .playback import (AudioPlayer, InterruptResult)

__version__ = "0.1.0"

__all__ = [
    "RealtimeError", "ProtocolError", "MessageDecodeError", "ToolSchemaError", "ToolArgumentsError",
    "ConfigurationError", "RealtimeConnectionError", "AuthenticationError", "ConnectionClosedError",
    "RequestRefusedError", "ConnectionLostError", "SessionClosedError", "ServerError", "RealtimeTimeoutError",
    "AudioFormatError", "AudioDeviceError", "AudioBackendUnavailableError", "HandshakeError",
    "MessageTooLargeError", "COMMAND_CLASSES", "Command",
    "InputAudioAppendCommand", "InputAudioClearCommand", "InputAudioCommitCommand", "ItemCreateCommand",
    "ItemDeleteCommand", "ItemRetrieveCommand", "ItemTruncateCommand", "OutputAudioClearCommand",
    "ResponseCancelCommand", "ResponseCreateCommand", "SessionUpdateCommand", "TranscriptionSessionUpdateCommand",
    "encode_audio_append", "parse_command", "BETA_TO_GA_SERVER", "GA_TO_BETA_SERVER", "Dialect", "UpdateKind",
    "wire_server_type", "CachedTokensDetails", "ContentPart", "Conversation", "ConversationItem", "ErrorDetail",
    "InputTokenDetails", "OutputTokenDetails", "RateLimit", "Response", "ResponseStatusDetails", "SessionInfo",
    "Usage", "audio_format_name", "audio_format_wire", "FunctionTool", "InputTranscription", "ResponseOptions",
    "SessionOptions", "TurnDetection", "ContentPartAddedUpdate", "ContentPartDoneUpdate",
    "ConversationCreatedUpdate", "ErrorUpdate", "FunctionCallArgumentsDeltaUpdate",
    "FunctionCallArgumentsDoneUpdate", "InputAudioClearedUpdate", "InputAudioCommittedUpdate",
    "InputAudioDtmfReceivedUpdate", "InputAudioTimeoutTriggeredUpdate", "InputSpeechStartedUpdate",
    "InputSpeechStoppedUpdate", "InputTranscriptionCompletedUpdate", "InputTranscriptionDeltaUpdate",
    "InputTranscriptionFailedUpdate", "InputTranscriptionSegmentUpdate", "ItemAddedUpdate", "ItemCreatedUpdate",
    "ItemDeletedUpdate", "ItemDoneUpdate", "ItemRetrievedUpdate", "ItemTruncatedUpdate",
    "McpCallArgumentsDeltaUpdate", "McpCallArgumentsDoneUpdate", "McpCallCompletedUpdate", "McpCallFailedUpdate",
    "McpCallInProgressUpdate", "McpListToolsCompletedUpdate", "McpListToolsFailedUpdate",
    "McpListToolsInProgressUpdate", "OutputAudioBufferClearedUpdate", "OutputAudioBufferStartedUpdate",
    "OutputAudioBufferStoppedUpdate", "OutputAudioDeltaUpdate", "OutputAudioDoneUpdate",
    "OutputAudioTranscriptDeltaUpdate", "OutputAudioTranscriptDoneUpdate", "OutputItemAddedUpdate",
    "OutputItemDoneUpdate", "OutputTextDeltaUpdate", "OutputTextDoneUpdate", "RateLimitsUpdatedUpdate",
    "ResponseCreatedUpdate", "ResponseDoneUpdate", "SessionCreatedUpdate", "SessionUpdatedUpdate",
    "ConversationUpdate", "UnknownUpdate", "UPDATE_CLASSES", "parse_update", "UpdatesDroppedUpdate",
    "TranscriptionOptions", "Observer", "ClosingObserver", "SessionLike", "Endpoint", "AudioSendHandle",
    "AudioSendStatus", "RealtimeSession", "RealtimeClient",
    "ConversationMirror", "MirrorItem", "ToolCall", "ToolDispatcher", "ToolRegistry", "PushToTalk", "TurnResult",
    "ask", "push_to_talk", "Prices", "UsageTotals", "UsageTracker", "TranscriptionResult", "Transcriber",
    "transcribe_file", "AudioPlayer", "InterruptResult",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
