"""realtime_sync.testing: a local simulator of the Realtime service (``pip install realtime_sync[testing]``).

::

    from realtime_sync.testing import FakeRealtimeServer, Reply, FunctionCall, scripted

    with FakeRealtimeServer(pace=0, responder=scripted("Hello!")) as server:
        ...  # point any client at server.base_url / server.azure_endpoint with server.api_key
        assert server.received[0]["type"] == "session.update"

See :class:`FakeRealtimeServer` for the options, :mod:`realtime_sync.testing.faults` for fault injection and
:mod:`realtime_sync.testing.vad` for how server VAD is computed, :mod:`realtime_sync.testing.calls` and
:mod:`realtime_sync.testing.phone` for SIP calls (``server.place_call(webhook_url, secret, audio=..., dtmf=...)``
rings an app's webhook and plays a caller into the call). Live translation sessions (``server.translation_url()``)
are described in :mod:`realtime_sync.testing.translation`; what they say comes from a :data:`Translator` (default:
``"[es] good morning everyone"`` for the synthetic speech of "good morning everyone").
``python -m realtime_sync.testing --port 8080`` runs it standalone.
"""
from .calls import SimCall
from .connection import SimConnection
from .faults import FaultRule, Faults
from .phone import PlacedCall
from .responder import (FunctionCall, Reply, Responder, ResponderContext, Transcriber, TranscriptionRequest,
                        arguments_for_schema, default_responder, default_transcriber, scripted, scripted_transcripts)
from .routing import DEFAULT_MODELS
from .server import FakeRealtimeServer
from .speech_marks import spoken_text
from .synth import synthesize
from .translation import TranslationConnection
from .translation_session import TRANSLATION_MODELS
from .translator import TRANSLATION_MARK, Translator, default_translator, scripted_translations
from .validate import ValidationScope, server_event_errors, validation_scope
from .vad import threshold_dbfs

__all__ = [
    "FakeRealtimeServer", "SimConnection", "Faults", "FaultRule", "Reply", "FunctionCall", "ResponderContext",
    "Responder", "Transcriber", "TranscriptionRequest", "default_responder", "default_transcriber", "scripted",
    "scripted_transcripts", "arguments_for_schema", "synthesize", "validation_scope", "ValidationScope",
    "server_event_errors", "threshold_dbfs", "DEFAULT_MODELS", "PlacedCall", "SimCall", "TranslationConnection",
    "Translator", "default_translator", "scripted_translations", "TRANSLATION_MARK", "TRANSLATION_MODELS",
    "spoken_text",
]
