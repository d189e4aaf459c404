"""The pure protocol layer: typed server updates, client commands, options and items, for GA and beta.

No sockets, threads or audio devices here: the client and the simulator both build on this package.
"""
from .commands import (COMMAND_CLASSES, Command, InputAudioAppendCommand, InputAudioClearCommand,
                       InputAudioCommitCommand, ItemCreateCommand, ItemDeleteCommand, ItemRetrieveCommand,
                       ItemTruncateCommand, OutputAudioClearCommand, ResponseCancelCommand, ResponseCreateCommand,
                       SessionUpdateCommand, TranscriptionSessionUpdateCommand, encode_audio_append, parse_command)
from .kinds import BETA_TO_GA_SERVER, GA_TO_BETA_SERVER, Dialect, UpdateKind, wire_server_type
from .models import (CachedTokensDetails, ContentPart, Conversation, ConversationItem, ErrorDetail,
                     InputTokenDetails, OutputTokenDetails, RateLimit, Response, ResponseStatusDetails, SessionInfo,
                     Usage, audio_format_name, audio_format_wire)
from .options import FunctionTool, InputTranscription, ResponseOptions, SessionOptions, TurnDetection
from .updates import *  # noqa: F401,F403 - every update class
from .updates import UPDATE_CLASSES, ConversationUpdate, UnknownUpdate, parse_update

from . import updates as _updates

__all__ = [
    "COMMAND_CLASSES", "Command", "InputAudioAppendCommand", "InputAudioClearCommand", "InputAudioCommitCommand",
    "ItemCreateCommand", "ItemDeleteCommand", "ItemRetrieveCommand", "ItemTruncateCommand",
    "OutputAudioClearCommand", "ResponseCancelCommand", "ResponseCreateCommand", "SessionUpdateCommand",
    "TranscriptionSessionUpdateCommand", "encode_audio_append", "parse_command",
    "BETA_TO_GA_SERVER", "GA_TO_BETA_SERVER", "Dialect", "UpdateKind", "wire_server_type",
    "CachedTokensDetails", "ContentPart", "Conversation", "ConversationItem", "ErrorDetail", "InputTokenDetails",
    "OutputTokenDetails", "RateLimit", "Response", "ResponseStatusDetails", "SessionInfo", "Usage",
    "audio_format_name", "audio_format_wire",
    "FunctionTool", "InputTranscription", "ResponseOptions", "SessionOptions", "TurnDetection",
] + list(_updates.__all__)
