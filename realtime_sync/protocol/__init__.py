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
from .local import ReconnectedUpdate, UpdatesDroppedUpdate
from .options import FunctionTool, InputTranscription, ResponseOptions, SessionOptions, TurnDetection
from .updates import (UPDATE_CLASSES, ConversationUpdate, UnknownUpdate, parse_update, ContentPartAddedUpdate,
                      ContentPartDoneUpdate, ConversationCreatedUpdate, ErrorUpdate,
                      FunctionCallArgumentsDeltaUpdate, FunctionCallArgumentsDoneUpdate, InputAudioClearedUpdate,
                      InputAudioCommittedUpdate, InputAudioDtmfReceivedUpdate, InputAudioTimeoutTriggeredUpdate,
                      InputSpeechStartedUpdate, InputSpeechStoppedUpdate, InputTranscriptionCompletedUpdate,
                      InputTranscriptionDeltaUpdate, InputTranscriptionFailedUpdate, InputTranscriptionSegmentUpdate,
                      ItemAddedUpdate, ItemCreatedUpdate, ItemDeletedUpdate, ItemDoneUpdate, ItemRetrievedUpdate,
                      ItemTruncatedUpdate, McpCallArgumentsDeltaUpdate, McpCallArgumentsDoneUpdate,
                      McpCallCompletedUpdate, McpCallFailedUpdate, McpCallInProgressUpdate,
                      McpListToolsCompletedUpdate, McpListToolsFailedUpdate, McpListToolsInProgressUpdate,
                      OutputAudioBufferClearedUpdate, OutputAudioBufferStartedUpdate, OutputAudioBufferStoppedUpdate,
                      OutputAudioDeltaUpdate, OutputAudioDoneUpdate, OutputAudioTranscriptDeltaUpdate,
                      OutputAudioTranscriptDoneUpdate, OutputItemAddedUpdate, OutputItemDoneUpdate,
                      OutputTextDeltaUpdate, OutputTextDoneUpdate, RateLimitsUpdatedUpdate, ResponseCreatedUpdate,
                      ResponseDoneUpdate, SessionCreatedUpdate, SessionUpdatedUpdate)

__all__ = [
    "COMMAND_CLASSES", "Command", "InputAudioAppendCommand", "InputAudioClearCommand", "InputAudioCommitCommand",
    "ItemCreateCommand", "ItemDeleteCommand", "ItemRetrieveCommand", "ItemTruncateCommand",
    "OutputAudioClearCommand", "ResponseCancelCommand", "ResponseCreateCommand", "SessionUpdateCommand",
    "TranscriptionSessionUpdateCommand", "encode_audio_append", "parse_command", "BETA_TO_GA_SERVER",
    "GA_TO_BETA_SERVER", "Dialect", "UpdateKind", "wire_server_type", "CachedTokensDetails", "ContentPart",
    "Conversation", "ConversationItem", "ErrorDetail", "InputTokenDetails", "OutputTokenDetails", "RateLimit",
    "Response", "ResponseStatusDetails", "SessionInfo", "Usage", "audio_format_name", "audio_format_wire",
    "FunctionTool", "InputTranscription", "ResponseOptions", "SessionOptions", "TurnDetection",
    "ContentPartAddedUpdate", "ContentPartDoneUpdate", "ConversationCreatedUpdate", "ErrorUpdate",
    "FunctionCallArgumentsDeltaUpdate", "FunctionCallArgumentsDoneUpdate", "InputAudioClearedUpdate",
    "InputAudioCommittedUpdate", "InputAudioDtmfReceivedUpdate", "InputAudioTimeoutTriggeredUpdate",
    "InputSpeechStartedUpdate", "InputSpeechStoppedUpdate", "InputTranscriptionCompletedUpdate",
    "InputTranscriptionDeltaUpdate", "InputTranscriptionFailedUpdate", "InputTranscriptionSegmentUpdate",
    "ItemAddedUpdate", "ItemCreatedUpdate", "ItemDeletedUpdate", "ItemDoneUpdate", "ItemRetrievedUpdate",
    "ItemTruncatedUpdate", "McpCallArgumentsDeltaUpdate", "McpCallArgumentsDoneUpdate", "McpCallCompletedUpdate",
    "McpCallFailedUpdate", "McpCallInProgressUpdate", "McpListToolsCompletedUpdate", "McpListToolsFailedUpdate",
    "McpListToolsInProgressUpdate", "OutputAudioBufferClearedUpdate", "OutputAudioBufferStartedUpdate",
    "OutputAudioBufferStoppedUpdate", "OutputAudioDeltaUpdate", "OutputAudioDoneUpdate",
    "OutputAudioTranscriptDeltaUpdate", "OutputAudioTranscriptDoneUpdate", "OutputItemAddedUpdate",
    "OutputItemDoneUpdate", "OutputTextDeltaUpdate", "OutputTextDoneUpdate", "RateLimitsUpdatedUpdate",
    "ResponseCreatedUpdate", "ResponseDoneUpdate", "SessionCreatedUpdate", "SessionUpdatedUpdate",
    "ConversationUpdate", "UnknownUpdate", "UPDATE_CLASSES", "parse_update", "UpdatesDroppedUpdate",
    "ReconnectedUpdate",
]
