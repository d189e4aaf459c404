"""realtime_sync: a synchronous, threaded client for the OpenAI and Azure OpenAI Realtime API.

The package, by layer (imports point down only)::

    protocol/      pure events, commands, options, audio formats; shared with the simulator (no I/O)
    errors.py      every exception;  observers.py  the SessionLike / Observer protocols features rely on
    _connection/   one live connection (private): the handshake (the only user of websocket-client), the
                   process's I/O thread that watches every socket, frames, outbox lanes, the reader thread,
                   delivery to the iterator / observers / waiters, audio send jobs
    session.py     RealtimeSession, the whole session surface;  client.py  RealtimeClient;  endpoints.py
    tools/ turns.py turn_collector.py conversation.py usage.py transcription.py playback.py kiosk.py
                   features (SessionLike)
    rest.py        client secrets and SIP call control over REST (``requests``, imported on first use)
    translation/   live translation sessions (``/realtime/translations``) on the same connection core
    webhooks.py    webhook signature verification, the ``realtime.call.incoming`` event;  dtmf.py  keypad digits
    audio/         devices and DSP, the only place PyAudio is imported (the ``audio`` extra)
    testing/       the local simulator (FakeRealtimeServer) for tests, demos and benchmarks

Most apps need only what this module exports::

    from realtime_sync import RealtimeClient, SessionOptions
"""
import importlib
import logging
from typing import TYPE_CHECKING, Any

from .errors import (RealtimeError, ProtocolError, MessageDecodeError, ToolSchemaError, ToolArgumentsError,
                     ConfigurationError, RealtimeConnectionError, AuthenticationError, ConnectionClosedError,
                     RequestRefusedError, ConnectionLostError, SessionClosedError, ServerError, RealtimeTimeoutError,
                     AudioFormatError, AudioDeviceError, AudioBackendUnavailableError, HandshakeError,
                     SendQueueFullError, MessageTooLargeError, SessionInterruptedError, RestError,
                     RestRequestError, RateLimitError, RestServerError, WebhookVerificationError,
                     UnexpectedWebhookEventError)
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
                       UpdatesDroppedUpdate, ReconnectedUpdate)
from .protocol.transcription import (TranscriptionOptions)
from .observers import (Observer, ClosingObserver, SessionLike)
from .endpoints import (Endpoint)
from ._connection.audio_jobs import (AudioSendHandle, AudioInputStream)
from .observers import AudioSendStatus
from .reconnect import ReconnectPolicy
from ._connection.recovery import ReconnectingInfo
from .session import (RealtimeSession)
from .client import (RealtimeClient)

if TYPE_CHECKING:  # the feature modules load on first use (see __getattr__ below); type checkers see them here
    from .conversation import (ConversationMirror, MirrorItem)
    from .tools import (ToolCall, ToolDispatcher, ToolRegistry)
    from .turns import (PushToTalk, TurnResult, ask, push_to_talk)
    from .usage import (Prices, UsageTotals, UsageTracker)
    from .transcription import (TranscriptionResult, Transcriber, transcribe_file)
    from .playback import (AudioPlayer, InterruptResult)
    from .rest import (Calls, ClientSecret, create_client_secret)
    from .webhooks import (CallIncoming, SipHeader, WebhookEvent)
    from .dtmf import (DtmfCollector)
    from .translation import (TranslationSession, TranslationResult, NoiseReduction)

#: Names exported from a feature module that is imported the first time one of them is used, so that
#: ``import realtime_sync`` stays cheap (a session imports the ones it needs when it starts).
_LAZY = {
    "ConversationMirror": "conversation", "MirrorItem": "conversation",
    "ToolCall": "tools", "ToolDispatcher": "tools", "ToolRegistry": "tools",
    "PushToTalk": "turns", "TurnResult": "turns", "ask": "turns", "push_to_talk": "turns",
    "Prices": "usage", "UsageTotals": "usage", "UsageTracker": "usage",
    "TranscriptionResult": "transcription", "Transcriber": "transcription", "transcribe_file": "transcription",
    "AudioPlayer": "playback", "InterruptResult": "playback",
    "Calls": "rest", "ClientSecret": "rest", "create_client_secret": "rest",
    "CallIncoming": "webhooks", "SipHeader": "webhooks", "WebhookEvent": "webhooks", "DtmfCollector": "dtmf",
    "TranslationSession": "translation", "TranslationResult": "translation", "NoiseReduction": "translation",
}


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name from the package
    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'realtime_sync' has no attribute {name!r}")
        value = getattr(importlib.import_module(f"realtime_sync.{module}"), name)
        globals()[name] = value
        return value


__version__ = "0.1.0"

__all__ = [
    "RealtimeError", "ProtocolError", "MessageDecodeError", "ToolSchemaError", "ToolArgumentsError",
    "ConfigurationError", "RealtimeConnectionError", "AuthenticationError", "ConnectionClosedError",
    "RequestRefusedError", "ConnectionLostError", "SessionClosedError", "ServerError", "RealtimeTimeoutError",
    "AudioFormatError", "AudioDeviceError", "AudioBackendUnavailableError", "HandshakeError", "SendQueueFullError",
    "SessionInterruptedError", "MessageTooLargeError", "RestError", "RestRequestError", "RateLimitError",
    "RestServerError", "WebhookVerificationError", "UnexpectedWebhookEventError", "COMMAND_CLASSES", "Command",
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
    "ReconnectedUpdate",
    "TranscriptionOptions", "Observer", "ClosingObserver", "SessionLike", "Endpoint", "AudioSendHandle",
    "AudioInputStream", "AudioSendStatus", "ReconnectPolicy", "ReconnectingInfo", "RealtimeSession", "RealtimeClient",
    "ConversationMirror", "MirrorItem", "ToolCall", "ToolDispatcher", "ToolRegistry", "PushToTalk", "TurnResult",
    "ask", "push_to_talk", "Prices", "UsageTotals", "UsageTracker", "TranscriptionResult", "Transcriber",
    "transcribe_file", "AudioPlayer", "InterruptResult", "Calls", "ClientSecret", "create_client_secret",
    "CallIncoming", "SipHeader", "WebhookEvent", "DtmfCollector", "TranslationSession", "TranslationResult",
    "NoiseReduction",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
