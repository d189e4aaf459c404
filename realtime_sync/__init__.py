"""realtime_sync: a synchronous, threaded client for the OpenAI and Azure OpenAI Realtime API."""
import logging

from .errors import (AudioFormatError, AuthenticationError, ConnectionClosedError, ConnectionLostError,
                     MessageDecodeError, ProtocolError, RealtimeConnectionError, RealtimeError,
                     RealtimeTimeoutError, RequestRefusedError, ServerError)
from .protocol import *  # noqa: F401,F403
from .protocol import (ContentPart, ConversationItem, ConversationUpdate, Dialect, FunctionTool, InputTranscription,
                       ResponseOptions, SessionOptions, TurnDetection, UpdateKind, parse_update)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from .audio_input import AudioSendHandle
from .client import RealtimeClient
from .endpoints import ConfigurationError, Endpoint
from .session import RealtimeSession, SessionClosedError
