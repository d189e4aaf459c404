"""The configuration of a translation session (``RealtimeTranslationSession``, ADDENDUM-2026-12 A3) and how
``session.update`` and client-secret requests are checked.

Only ``audio.output.language``, ``audio.input.transcription`` and ``audio.input.noise_reduction`` can change; an
update naming anything else (``session.type``, ``session.model``, ``session.audio.input.format`` ...) is refused
with ``unknown_parameter`` and its ``param``, as the service's update object has no such members. Events and
requests are checked against ``spec/realtime-translation.schema.json`` (written from openai-python's models), then
for what the schema cannot say: a language must be a language code (``es``, ``pt-BR``) and, when the server was
given ``translation_languages``, one of them; a transcription model must not be empty.

Defaults of a new session (the service's are not recorded): output language ``en``, no input transcription, no
noise reduction. Noise reduction starts at strength 1 when first enabled; an update that omits ``strength`` keeps
the current one. Noise reduction is reported but changes nothing the simulator hears.
"""
import re
import time
from typing import Any, Dict, Optional, Sequence, Tuple

from .checks import EventError, check_with_schema
from .validate import load_translation_schema, translation_validator

__all__ = ["TRANSLATION_MODELS", "DEFAULT_LANGUAGE", "TranslationSessionState", "check_translation_event",
           "check_secret_request", "language_error"]

Json = Dict[str, Any]

#: The translation models the service knows (ADDENDUM-2026-12 A1: the docs name one).
TRANSLATION_MODELS: Tuple[str, ...] = ("gpt-realtime-translate",)
#: The output language of a session that set none (the simulator's choice).
DEFAULT_LANGUAGE = "en"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_LANGUAGE_PARAM = "session.audio.output.language"


def language_error(language: Any, allowed: Optional[Sequence[str]], param: str = _LANGUAGE_PARAM
                   ) -> Optional[EventError]:
    """The error for a target language the service would refuse (None: acceptable)."""
    if not isinstance(language, str):
        return None  # the schema reports the type
    if not _LANGUAGE.match(language):
        return EventError("invalid_value", f"Invalid value: '{language}'. Expected a language code such as 'es' "
                          "or 'pt-BR'.", param)
    if allowed is not None and language not in allowed:
        listed = ", ".join(f"'{code}'" for code in allowed)
        return EventError("invalid_value", f"Invalid value: '{language}'. Supported values are: {listed}.", param)
    return None


def _audio_errors(session: Json, allowed: Optional[Sequence[str]], prefix: str) -> Optional[EventError]:
    audio = session.get("audio") or {}
    language = (audio.get("output") or {}).get("language")
    err = language_error(language, allowed, f"{prefix}.audio.output.language")
    if err is not None:
        return err
    transcription = (audio.get("input") or {}).get("transcription")
    if isinstance(transcription, dict) and not str(transcription.get("model", "x")).strip():
        param = f"{prefix}.audio.input.transcription.model"
        return EventError("invalid_value", f"Invalid '{param}': expected a transcription model such as "
                          "'gpt-realtime-whisper'.", param)
    return None


def check_translation_event(event: Json, languages: Optional[Sequence[str]] = None) -> Optional[EventError]:
    """The error the service answers a translation client event with (None: acceptable). ``event`` has a known
    type; ``languages``: the accepted output languages (None: any language code)."""
    doc = load_translation_schema()
    err = check_with_schema(event, doc["client_events"][event["type"]], doc["definitions"],
                            translation_validator("client_events", event["type"]))
    if err is None and event["type"] == "session.update":
        err = _audio_errors(event["session"], languages, "session")
    return err


def check_secret_request(body: Json, languages: Optional[Sequence[str]] = None) -> Optional[EventError]:
    """The error of a ``POST /v1/realtime/translations/client_secrets`` body (``expires_after.seconds`` ranges are
    the caller's); None: acceptable."""
    doc = load_translation_schema()
    name = "RealtimeTranslationClientSecretCreateRequest"
    err = check_with_schema(body, doc["definitions"][name], doc["definitions"],
                            translation_validator("definitions", name))
    return err if err is not None else _audio_errors(body["session"], languages, "session")


class TranslationSessionState:
    """One translation session's configuration: :meth:`to_wire` is the ``session`` of ``session.created`` /
    ``session.updated`` (and of a client secret)."""

    def __init__(self, model: str, session_id: str, lifetime_s: float = 3600.0, initial: Optional[Json] = None,
                 expires_at: Optional[int] = None) -> None:
        self.id = session_id
        self.model = model
        self.expires_at = int(expires_at if expires_at is not None else time.time() + lifetime_s)
        self.language = DEFAULT_LANGUAGE
        self.transcription: Optional[Json] = None
        self.noise_reduction: Optional[Json] = None
        if initial:
            self.apply_update(initial)

    def apply_update(self, session: Json) -> None:
        """Apply a checked update (or a client secret's session): only the members it names change."""
        audio = session.get("audio") or {}
        inp, out = audio.get("input") or {}, audio.get("output") or {}
        if "language" in out:
            self.language = out["language"]
        if "transcription" in inp:
            tr = inp["transcription"]
            self.transcription = {"model": tr["model"]} if tr is not None else None
        if "noise_reduction" in inp:
            nr = inp["noise_reduction"]
            if nr is None:
                self.noise_reduction = None
            else:
                kept = self.noise_reduction["strength"] if self.noise_reduction is not None else 1.0
                self.noise_reduction = {"type": nr["type"], "strength": float(nr.get("strength", kept))}

    @property
    def transcribing(self) -> bool:
        return self.transcription is not None

    def to_wire(self) -> Json:
        return {"id": self.id, "type": "translation", "model": self.model, "expires_at": self.expires_at,
                "audio": {"input": {"noise_reduction": dict(self.noise_reduction) if self.noise_reduction else None,
                                    "transcription": dict(self.transcription) if self.transcription else None},
                          "output": {"language": self.language}}}
