"""Model names: the defaults, and the models with an announced shutdown (ADDENDUM-2026-12 A1, openai-python 3.57).

A deprecated model still works until its date; :func:`warn_if_deprecated` logs one warning per model per process,
naming the date and the replacement. Azure deployment names are the user's own and are never checked.
"""
import logging
import threading
from typing import Dict, Optional, Set, Tuple

__all__ = ["REALTIME_MODELS", "DEFAULT_REALTIME_MODEL", "TRANSLATION_MODEL", "DEFAULT_TRANSCRIPTION_MODEL",
           "BETA_TRANSCRIPTION_MODEL", "DEPRECATED_MODELS", "REASONING_EFFORTS", "MESSAGE_PHASES",
           "transcription_model", "deprecation",
           "warn_if_deprecated"]

log = logging.getLogger("realtime_sync.models")

DEFAULT_REALTIME_MODEL = "gpt-realtime-2.1"
#: The live translation model (``/v1/realtime/translations``, ADDENDUM-2026-12 A3).
TRANSLATION_MODEL = "gpt-realtime-translate"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-transcribe"
#: The beta dialect (Azure preview deployments) only knows the older transcription models.
BETA_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
#: ``reasoning.effort`` values (2.x models) and transcription ``delay`` values (``gpt-realtime-whisper``).
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
#: ``phase`` of an assistant message from a 2.x model (ADDENDUM-2026-12 A2.3): a preamble or the answer; clients
#: keep it and send it back when they replay history.
MESSAGE_PHASES = ("commentary", "final_answer")

#: Every realtime session model openai-python 3.57 names (its ``Literal`` list, ADDENDUM-2026-12 A1); the service
#: refuses other names (PROTOCOL.md section 12: ``invalid_model``, close 4000), and so does the simulator by default.
REALTIME_MODELS: Tuple[str, ...] = (
    "gpt-realtime-2.1", "gpt-realtime-2.1-mini", "gpt-realtime-2", "gpt-realtime-1.5",
    "gpt-realtime", "gpt-realtime-2025-08-28", "gpt-realtime-mini", "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15", "gpt-audio-1.5", "gpt-audio-mini", "gpt-audio-mini-2025-10-06",
    "gpt-audio-mini-2025-12-15", "gpt-4o-realtime-preview", "gpt-4o-realtime-preview-2024-10-01",
    "gpt-4o-realtime-preview-2024-12-17", "gpt-4o-realtime-preview-2025-06-03", "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17",
)

_REALTIME_END = "2027-01-20"
_TRANSCRIBE_END = "2027-02-26"
#: model -> (announced shutdown date, replacement)
DEPRECATED_MODELS: Dict[str, Tuple[str, str]] = {
    "gpt-realtime": (_REALTIME_END, "gpt-realtime-2.1"),
    "gpt-realtime-2025-08-28": (_REALTIME_END, "gpt-realtime-2.1"),
    "gpt-realtime-mini": (_REALTIME_END, "gpt-realtime-2.1-mini"),
    "gpt-realtime-mini-2025-12-15": (_REALTIME_END, "gpt-realtime-2.1-mini"),
    "gpt-audio-mini": (_REALTIME_END, "gpt-realtime-2.1-mini"),
    "gpt-audio-mini-2025-12-15": (_REALTIME_END, "gpt-realtime-2.1-mini"),
    "gpt-4o-transcribe": (_TRANSCRIBE_END, "gpt-transcribe"),
    "gpt-4o-mini-transcribe": (_TRANSCRIBE_END, "gpt-transcribe"),
    "gpt-4o-mini-transcribe-2025-12-15": (_TRANSCRIBE_END, "gpt-transcribe"),
    "gpt-4o-transcribe-diarize": (_TRANSCRIBE_END, "gpt-transcribe"),
    "whisper-1": (_TRANSCRIBE_END, "gpt-realtime-whisper"),
}

_warned: Set[str] = set()
_lock = threading.Lock()


def transcription_model(model: Optional[str], beta: bool) -> str:
    """The transcription model to send: the one given, else the current default of the dialect. A deprecated
    one given for a GA session is warned about once (the beta dialect has nothing newer to offer)."""
    if model is None:
        return BETA_TRANSCRIPTION_MODEL if beta else DEFAULT_TRANSCRIPTION_MODEL
    if not beta:
        warn_if_deprecated(model)
    return model


def deprecation(model: Optional[str]) -> Optional[Tuple[str, str]]:
    """(shutdown date, replacement) when ``model`` has an announced shutdown, else None."""
    return DEPRECATED_MODELS.get(model or "")


def warn_if_deprecated(model: Optional[str]) -> bool:
    """Log one warning (per model, per process) when ``model`` is to be shut down; True if it is deprecated."""
    found = deprecation(model)
    if found is None:
        return False
    with _lock:
        first = model not in _warned
        _warned.add(model or "")
    if first:
        log.warning("model %s is deprecated and will be shut down on %s: use %s", model, found[0], found[1])
    return True
