"""Check emitted GA events against openai-python's own pydantic models (``openai.types.realtime``).

openai-python is optional (``pip install openai``); :func:`openai_model_checker` returns None without it. The checker
fits :func:`~realtime_sync.testing.validation_scope`'s ``extra_checks``::

    checker = openai_model_checker()
    with validation_scope(extra_checks=[checker] if checker else []) as scope:
        ...
    scope.assert_clean()

Beta events are not checked (openai-python no longer ships beta realtime server-event models).
"""
from typing import Any, Callable, Dict, List, Optional

from ..protocol import Dialect

__all__ = ["openai_model_checker", "openai_model_errors"]

Json = Dict[str, Any]
_adapter: Any = None
_by_type: Dict[str, Any] = {}


def _load() -> Any:
    """The union's TypeAdapter; also fills ``_by_type`` (event type -> its model) for precise error messages."""
    global _adapter
    if _adapter is None:
        import typing

        from openai.types.realtime import RealtimeServerEvent
        from pydantic import TypeAdapter

        def members(tp: Any) -> List[Any]:
            args = typing.get_args(tp)
            if not args:
                return [tp]
            return [m for a in args for m in members(a)] if typing.get_origin(tp) is not None else [tp]

        for model in members(RealtimeServerEvent):
            field = getattr(model, "model_fields", {}).get("type")
            for literal in typing.get_args(field.annotation) if field is not None else ():
                _by_type[literal] = model
        _adapter = TypeAdapter(RealtimeServerEvent)
    return _adapter


def openai_model_errors(event: Json, dialect: Dialect = Dialect.GA) -> List[str]:
    """Why openai-python's ``RealtimeServerEvent`` refuses a GA event (empty list: accepted, or a beta event)."""
    if Dialect.coerce(dialect) is not Dialect.GA:
        return []
    from pydantic import ValidationError

    adapter = _load()
    model = _by_type.get(str(event.get("type"))) if isinstance(event, dict) else None
    try:
        if model is not None:
            model.model_validate(event)
        adapter.validate_python(event)
    except ValidationError as exc:
        return [f"openai-python: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()[:3]]
    return []


def openai_model_checker() -> Optional[Callable[[Json, Dialect], List[str]]]:
    """:func:`openai_model_errors` when openai-python is importable, else None."""
    try:
        _load()
    except ImportError:
        return None
    return openai_model_errors
