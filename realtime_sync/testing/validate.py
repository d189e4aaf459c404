"""The vendored JSON schemas of both dialects, compiled validators, and validation scopes.

Every event a :class:`~realtime_sync.testing.FakeRealtimeServer` emits can be checked against the *strict* schema of
its dialect (``spec/realtime-{ga,beta}.schema.json``). Validation is off by default (it costs time when a benchmark
floods a client); it is on for a server built with ``validate=True`` and for every server while a
:func:`validation_scope` is open, which is how the test suite's shared fixture checks each message::

    with validation_scope() as scope:
        ...  # run servers and clients
    scope.assert_clean()  # AssertionError listing every invalid event

Translation sessions (``/v1/realtime/translations``) have a protocol of their own: their events are checked against
``spec/realtime-translation.schema.json`` (:func:`translation_event_errors`, written from openai-python's
``RealtimeTranslation*`` models) and a scope's ``translation_checks``.
"""
import contextlib
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..protocol import Dialect
from ..protocol.model_names import MESSAGE_PHASES

__all__ = [
    "SPEC_DIR", "load_schema", "validator_for", "server_event_errors", "client_event_errors", "ValidationScope",
    "validation_scope", "current_scope", "SERVICE_NULL_KEYS", "drop_service_nulls", "emitted_event_errors",
    "load_translation_schema", "translation_validator", "translation_event_errors", "TranslationChecker",
]

logger = logging.getLogger("realtime_sync.testing.validate")

#: Folder of the vendored schemas (shipped as package data).
SPEC_DIR = Path(__file__).resolve().parent / "spec"
Json = Dict[str, Any]
#: An extra per-event check of a :class:`ValidationScope`: ``(event, dialect) -> errors`` (empty: valid).
Checker = Callable[[Json, Dialect], List[str]]
#: An extra check of every emitted translation-session event: ``(event) -> errors``.
TranslationChecker = Callable[[Json], List[str]]


@lru_cache(maxsize=None)
def load_schema(dialect: Union[Dialect, str], lenient: bool = False) -> Json:
    """The schema document of a dialect: ``{"client_events": ..., "server_events": ..., "definitions": ...}``."""
    name = f"realtime-{Dialect.coerce(dialect).value}{'.lenient' if lenient else ''}.schema.json"
    with open(SPEC_DIR / name, encoding="utf-8") as fh:
        doc = json.load(fh)
    if Dialect.coerce(dialect) is Dialect.GA:
        _add_addendum_fields(doc)
        assistant = doc["definitions"].get("RealtimeConversationItemMessageAssistant")
        if isinstance(assistant, dict):  # ADDENDUM A2.3: 2.x models mark assistant messages; clients resend it
            assistant.setdefault("properties", {}).setdefault("phase", {"type": "string",
                                                                        "enum": list(MESSAGE_PHASES)})
    return doc


def _add_addendum_fields(node: Any) -> None:
    """Fields the service accepts that the vendored schema predates (ADDENDUM-2026-12 A2.1; ``phase`` A2.3 is added
    by :func:`load_schema`):
    ``audio.input.noise_reduction.strength`` (a number; a larger value suppresses more)."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and isinstance(props.get("noise_reduction"), dict):
            inner = props["noise_reduction"].setdefault("properties", {})
            if "type" in inner:
                inner.setdefault("strength", {"type": "number"})
        for value in node.values():
            _add_addendum_fields(value)
    elif isinstance(node, list):
        for value in node:
            _add_addendum_fields(value)


_validators: Dict[Tuple[str, bool, str, str], Optional[Draft202012Validator]] = {}
_validators_lock = threading.Lock()


def validator_for(dialect: Union[Dialect, str], side: str, event_type: str,
                  lenient: bool = False) -> Optional[Draft202012Validator]:
    """The compiled validator of one event type (``side``: ``server_events`` / ``client_events``); None if the
    dialect does not define the type. Compiled once and cached."""
    d = Dialect.coerce(dialect)
    key = (d.value, lenient, side, event_type)
    found = _validators.get(key, False)
    if found is not False:
        return found
    with _validators_lock:
        doc = load_schema(d, lenient)
        schema = doc[side].get(event_type)
        val = None
        if schema is not None:
            val = Draft202012Validator({**schema, "definitions": doc["definitions"]})
        _validators[key] = val
        return val


@lru_cache(maxsize=None)
def load_translation_schema() -> Json:
    """The strict schema of translation sessions: ``client_events``, ``server_events`` and ``definitions`` (the
    client-secret request is ``definitions.RealtimeTranslationClientSecretCreateRequest``)."""
    with open(SPEC_DIR / "realtime-translation.schema.json", encoding="utf-8") as fh:
        doc: Json = json.load(fh)
    return doc


_translation_validators: Dict[Tuple[str, str], Optional[Draft202012Validator]] = {}


def translation_validator(side: str, name: str) -> Optional[Draft202012Validator]:
    """The compiled validator of a translation event type (``side``: ``server_events`` / ``client_events``) or of
    a definition (``side="definitions"``); None when the schema has no such entry."""
    key = (side, name)
    found = _translation_validators.get(key, False)
    if found is not False:
        return found
    with _validators_lock:
        doc = load_translation_schema()
        schema = doc[side].get(name)
        val = Draft202012Validator({**schema, "definitions": doc["definitions"]}) if schema is not None else None
        _translation_validators[key] = val
        return val


def translation_event_errors(event: Any) -> List[str]:
    """Why a translation-session server event does not validate against the strict schema (empty: valid)."""
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return ["not an event object with a string 'type'"]
    val = translation_validator("server_events", event["type"])
    if val is None:
        return [f"type {event['type']!r} is not a translation server event"]
    return _describe(list(val.iter_errors(event)))


def _format_path(path: Any) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<event>"


def _errors(event: Any, dialect: Union[Dialect, str], side: str, lenient: bool) -> List[str]:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return ["not an event object with a string 'type'"]
    val = validator_for(dialect, side, event["type"], lenient)
    if val is None:
        return [f"type {event['type']!r} is not a {Dialect.coerce(dialect).value} {side[:-1].replace('_', ' ')}"]
    return _describe(list(val.iter_errors(event)))


def _describe(errors: List[Any]) -> List[str]:
    if not errors:
        return []
    best = best_match(errors)
    detail = [f"{_format_path(best.absolute_path)}: {best.message[:300]}"]
    detail += [f"{_format_path(e.absolute_path)}: {e.message[:120]}" for e in errors if e is not best][:3]
    return detail


def server_event_errors(event: Any, dialect: Union[Dialect, str], lenient: bool = False) -> List[str]:
    """Why a server event does not validate (empty list: valid)."""
    return _errors(event, dialect, "server_events", lenient)


def client_event_errors(event: Any, dialect: Union[Dialect, str]) -> List[str]:
    """Why a client event does not validate against the strict schema (empty list: valid)."""
    return _errors(event, dialect, "client_events", False)


#: Members the live service sends as ``null`` where the strict schema types them non-nullable (PROTOCOL.md section
#: 10 and the recorded traces): ``response.status_details`` / ``.usage``, ``session.include``, a transcription's
#: ``language`` / ``prompt``, an ``input_audio`` part's ``transcript``. The simulator sends them as the service does;
#: :func:`emitted_event_errors` drops exactly these (and only when null) before strict validation.
SERVICE_NULL_KEYS = frozenset({"status_details", "usage", "include", "language", "prompt", "transcript"})


def drop_service_nulls(value: Any) -> Any:
    """A copy of ``value`` without the ``null`` members named in :data:`SERVICE_NULL_KEYS` (at any depth)."""
    if isinstance(value, dict):
        return {k: drop_service_nulls(v) for k, v in value.items() if not (v is None and k in SERVICE_NULL_KEYS)}
    if isinstance(value, list):
        return [drop_service_nulls(v) for v in value]
    return value


def emitted_event_errors(event: Any, dialect: Union[Dialect, str]) -> List[str]:
    """Why an event the simulator emits does not validate: the strict schema, allowing the service's nulls."""
    return server_event_errors(drop_service_nulls(event), dialect)


class ValidationScope:
    """Collects validation failures of every event emitted by any simulator while the scope is open."""

    def __init__(self, extra_checks: Sequence[Checker] = (), translation_checks: Sequence[TranslationChecker] = ()
                 ) -> None:
        self._lock = threading.Lock()
        self.checked = 0
        self.failures: List[str] = []
        #: more checks run on every event (``check(event, dialect) -> errors``), e.g. a client library's own models
        self.extra_checks = list(extra_checks)
        #: more checks run on every translation-session event (``check(event) -> errors``)
        self.translation_checks = list(translation_checks)

    def check(self, event: Json, dialect: Union[Dialect, str]) -> List[str]:
        errors = emitted_event_errors(event, dialect)
        for extra in self.extra_checks:
            errors += extra(event, Dialect.coerce(dialect))
        with self._lock:
            self.checked += 1
            if errors:
                self.failures.append(f"{Dialect.coerce(dialect).value} {event.get('type')!r}: {'; '.join(errors)}")
        return errors

    def check_translation(self, event: Json) -> List[str]:
        """Check an event of a translation session (its own schema, then :attr:`translation_checks`)."""
        errors = translation_event_errors(event)
        for extra in self.translation_checks:
            errors += extra(event)
        with self._lock:
            self.checked += 1
            if errors:
                self.failures.append(f"translation {event.get('type')!r}: {'; '.join(errors)}")
        return errors

    def assert_clean(self) -> None:
        """Raise AssertionError naming every emitted event that failed its strict schema."""
        with self._lock:
            failures = list(self.failures)
        if failures:
            raise AssertionError(f"{len(failures)} simulator event(s) failed validation:\n  "
                                 + "\n  ".join(failures[:20]))


_scope_stack: List[ValidationScope] = []
_scope_lock = threading.Lock()


def current_scope() -> Optional[ValidationScope]:
    """The innermost open :func:`validation_scope`, if any (read by servers on every emitted event)."""
    stack = _scope_stack
    return stack[-1] if stack else None


@contextlib.contextmanager
def validation_scope(extra_checks: Sequence[Checker] = (),
                     translation_checks: Sequence[TranslationChecker] = ()) -> Iterator[ValidationScope]:
    """Validate every event emitted by any simulator (existing or new) until the block ends; ``extra_checks`` run
    on realtime events, ``translation_checks`` on translation-session events."""
    scope = ValidationScope(extra_checks, translation_checks)
    with _scope_lock:
        _scope_stack.append(scope)
    try:
        yield scope
    finally:
        with _scope_lock:
            _scope_stack.remove(scope)
