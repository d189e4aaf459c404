"""realtime_sync: a synchronous, threaded client for the OpenAI and Azure OpenAI Realtime API.

Layers (imports point down only): ``protocol`` (pure events, commands, options; shared with the simulator) <-
``transport`` (the only user of websocket-client) <- ``session`` / ``client`` (the facade) <- features (tools, turns,
conversation mirror, usage, transcription, playback). Audio devices live in ``realtime_sync.audio`` (PyAudio only
there) and the simulator in ``realtime_sync.testing``.
"""
import logging

from .errors import (AudioFormatError, AuthenticationError, ConnectionClosedError, ConnectionLostError,
                     MessageDecodeError, ProtocolError, RealtimeConnectionError, RealtimeError,
                     RealtimeTimeoutError, RequestRefusedError, ServerError)
from .protocol import *  # noqa: F401,F403 - updates, commands, options, items
from .protocol import __all__ as _protocol_all
from .protocol.tool_schema import ToolArgumentsError, ToolSchemaError
from .protocol.transcription import TranscriptionOptions
from ._connection.audio_jobs import AudioSendHandle
from .endpoints import Endpoint
from .errors import ConfigurationError, SessionClosedError
from .session import RealtimeSession
from .client import RealtimeClient
from .conversation import ConversationMirror, MirrorItem
from .tools.registry import ToolCall, ToolRegistry
from .tools.dispatcher import ToolDispatcher
from .turns import PushToTalk, TurnResult, ask, push_to_talk
from .usage import Prices, UsageTotals, UsageTracker
from .transcription import TranscriptionResult, Transcriber, transcribe_file
from .playback import AudioPlayer, InterruptResult

__version__ = "0.1.0"

__all__ = list(_protocol_all) + [
    "AudioFormatError", "AuthenticationError", "ConnectionClosedError", "ConnectionLostError", "MessageDecodeError",
    "ProtocolError", "RealtimeConnectionError", "RealtimeError", "RealtimeTimeoutError", "RequestRefusedError",
    "ServerError", "ToolArgumentsError", "ToolSchemaError", "ConfigurationError", "SessionClosedError",
    "RealtimeClient", "RealtimeSession", "Endpoint", "AudioSendHandle", "TranscriptionOptions",
    "ConversationMirror", "MirrorItem", "ToolCall", "ToolRegistry", "ToolDispatcher", "PushToTalk", "TurnResult",
    "ask", "push_to_talk", "Prices", "UsageTotals", "UsageTracker", "TranscriptionResult", "Transcriber",
    "transcribe_file", "AudioPlayer", "InterruptResult",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
