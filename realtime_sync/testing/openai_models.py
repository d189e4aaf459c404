"""Check emitted GA events against openai-python's own pydantic models (``openai.types.realtime``).

openai-python is optional (``pip install openai``); :func:`openai_model_checker` returns None without it. The checker
fits :func:`~realtime_sync.testing.validation_scope`'s ``extra_checks``::

    checker = openai_model_checker()
    with validation_scope(extra_checks=[checker] if checker else []) as scope:
        ...
    scope.assert_clean()

Beta events are not checked (openai-python no longer ships beta realtime server-event models). Translation-session
events are checked against ``RealtimeTranslationServerEvent`` by :func:`openai_translation_checker` (the
``translation_checks`` of a validation scope); None when the installed openai-python predates translation sessions.
"""
from typing import Any, Callable, Dict, List, Optional

from ..protocol import Dialect

__all__ = ["openai_model_checker", "openai_model_errors", "openai_translation_checker", "openai_translation_errors"]

Json = Dict[str, Any]
_adapter: Any = None
_by_type: Dict[str, Any] = {}


_translation_adapter: Any = None
_translation_by_type: Dict[str, Any] = {}


def _members(tp: Any) -> List[Any]:
    import typing

    args = typing.get_args(tp)
    if not args:
        return [tp]
    return [m for a in args for m in _members(a)] if typing.get_origin(tp) is not None else [tp]


def _adapter_for(union: Any, by_type: Dict[str, Any]) -> Any:
    """A TypeAdapter of a discriminated union; fills ``by_type`` (event type -> its model)."""
    import typing

    from pydantic import TypeAdapter

    for model in _members(union):
        field = getattr(model, "model_fields", {}).get("type")
        for literal in typing.get_args(field.annotation) if field is not None else ():
            by_type[literal] = model
    return TypeAdapter(union)


def _load() -> Any:
    """The union's TypeAdapter; also fills ``_by_type`` (event type -> its model) for precise error messages."""
    global _adapter
    if _adapter is None:
        from openai.types.realtime import RealtimeServerEvent

        _adapter = _adapter_for(RealtimeServerEvent, _by_type)
    return _adapter


def _load_translation() -> Any:
    global _translation_adapter
    if _translation_adapter is None:
        from openai.types.realtime import RealtimeTranslationServerEvent

        _translation_adapter = _adapter_for(RealtimeTranslationServerEvent, _translation_by_type)
    return _translation_adapter


def _errors(adapter: Any, by_type: Dict[str, Any], event: Json) -> List[str]:
    from pydantic import ValidationError

    model = by_type.get(str(event.get("type"))) if isinstance(event, dict) else None
    try:
        if model is not None:
            model.model_validate(event)
        adapter.validate_python(event)
    except ValidationError as exc:
        return [f"openai-python: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()[:3]]
    return []


def openai_model_errors(event: Json, dialect: Dialect = Dialect.GA) -> List[str]:
    """Why openai-python's ``RealtimeServerEvent`` refuses a GA event (empty list: accepted, or a beta event)."""
    if Dialect.coerce(dialect) is not Dialect.GA:
        return []
    return _errors(_load(), _by_type, event)


def openai_model_checker() -> Optional[Callable[[Json, Dialect], List[str]]]:
    """:func:`openai_model_errors` when openai-python is importable, else None."""
    try:
        _load()
    except ImportError:
        return None
    return openai_model_errors


def openai_translation_errors(event: Json) -> List[str]:
    """Why openai-python's ``RealtimeTranslationServerEvent`` refuses a translation-session event (empty list:
    accepted). Like openai-python's own ``session.closed`` check, each event is validated with its own model too."""
    return _errors(_load_translation(), _translation_by_type, event)


def openai_translation_checker() -> Optional[Callable[[Json], List[str]]]:
    """:func:`openai_translation_errors` when the installed openai-python has translation sessions, else None."""
    try:
        _load_translation()
    except ImportError:
        return None
    return openai_translation_errors
