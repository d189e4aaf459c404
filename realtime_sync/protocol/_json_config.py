"""JSON config for the option classes (``to_json``/``from_json``/``to_dict``/``from_dict``/``schema``) through
dataclasses-json, loaded the first time one of them is used rather than at ``import realtime_sync``
(dataclasses-json and marshmallow take longer to import than the rest of the package). The wire encoding
(``to_wire``) never needs it."""
from collections.abc import Mapping
from typing import Any, Dict, Iterator, Type, TypeVar

__all__ = ["JsonConfigMixin", "exclude_field"]

T = TypeVar("T", bound="JsonConfigMixin")


def _mixin() -> Any:
    from dataclasses_json import DataClassJsonMixin

    return DataClassJsonMixin


class _ExcludedField(Mapping):
    """dataclasses-json field config for a field never serialised (its marshmallow field built on demand)."""

    def __getitem__(self, key: str) -> Any:
        if key == "exclude":
            return lambda _value: True
        if key == "mm_field":
            from marshmallow import fields

            return fields.Raw(load_only=True, allow_none=True)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("exclude", "mm_field"))

    def __len__(self) -> int:
        return 2


def exclude_field() -> Dict[str, Any]:
    """``field(metadata=...)`` for a field dataclasses-json leaves out (a callable, a handle)."""
    return {"dataclasses_json": _ExcludedField()}


class JsonConfigMixin:
    """The methods of dataclasses-json's ``DataClassJsonMixin``, with the library imported on first use."""

    dataclass_json_config = None

    def to_dict(self, encode_json: bool = False) -> Dict[str, Any]:
        return _mixin().to_dict(self, encode_json=encode_json)

    def to_json(self, **kwargs: Any) -> str:
        return _mixin().to_json(self, **kwargs)

    @classmethod
    def from_dict(cls: Type[T], kvs: Any, *, infer_missing: bool = False) -> T:
        return _mixin().from_dict.__func__(cls, kvs, infer_missing=infer_missing)

    @classmethod
    def from_json(cls: Type[T], s: Any, **kwargs: Any) -> T:
        return _mixin().from_json.__func__(cls, s, **kwargs)

    @classmethod
    def schema(cls, **kwargs: Any) -> Any:
        from dataclasses_json.mm import build_schema

        infer_missing = kwargs.pop("infer_missing", False)
        partial = kwargs.get("partial", False)
        return build_schema(cls, JsonConfigMixin, infer_missing, partial)(**kwargs)
