"""Fast dict -> dataclass decoding, generated once per class.

dataclasses-json's ``from_dict`` re-introspects types on every call (~100 µs per event); these decoders are plain
generated functions (``cls(d.get("a"), conv(d.get("b")), ...)``), so decoding costs little more than ``json.loads``.
A field declared with ``metadata={"decode": fn}`` gets ``fn(value)`` when the value is not None; a field named
``raw`` receives the source dict itself. Values of the wrong shape decode to None, so typed accessors never meet
them (``raw`` still has them as they came): a scalar field declared ``Optional[str]``, ``Optional[int]``,
``Optional[float]`` or ``Optional[bool]`` takes only a value of that JSON type (an int for a float), and a nested
object or list of the wrong shape is None.
"""
import dataclasses
import typing
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar

T = TypeVar("T")

__all__ = ["decoder", "decode_list", "nested", "nested_list", "raw_field"]


def decoder(cls: Type[T]) -> Callable[[Dict[str, Any]], T]:
    """Return (and cache on the class) a function that builds ``cls`` from a wire dict."""
    fn = cls.__dict__.get("_decoder")
    if fn is not None:
        return fn
    namespace: Dict[str, Any] = {"cls": cls}
    args: List[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name == "raw":
            args.append("d")
            continue
        wire = f.metadata.get("wire", f.name)
        conv = f.metadata.get("decode")
        check = _SCALAR_CHECKS.get(hints.get(f.name))
        if conv is None and check is not None:
            args.append(f"(v if {check.format(v='(v := g(' + repr(wire) + '))')} else None)")
        elif conv is None:
            args.append(f"g({wire!r})")
        else:
            namespace[f"c_{f.name}"] = conv
            args.append(f"_opt(c_{f.name}, g({wire!r}))")
    namespace["_opt"] = _opt
    src = "def _decode(d):\n    g = d.get\n    return cls(" + ", ".join(args) + ")\n"
    exec(src, namespace)  # generated from dataclass field names only
    fn = namespace["_decode"]
    setattr(cls, "_decoder", fn)
    return fn


#: For scalar fields: a test of the wire value's type (``v.__class__ is str``: a bool is not an int here).
_SCALAR_CHECKS: Dict[Any, str] = {
    Optional[str]: "{v}.__class__ is str",
    Optional[int]: "{v}.__class__ is int",
    Optional[float]: "{v}.__class__ in (float, int)",
    Optional[bool]: "{v}.__class__ is bool",
}


def _opt(conv: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else conv(value)


def decode_list(cls: Type[T], values: Any) -> Optional[List[T]]:
    """The objects of a wire list; a value that is not a list is None, and elements that are not objects are
    skipped (``raw`` keeps them)."""
    if type(values) is not list:
        return None
    dec = decoder(cls)
    return [dec(v) for v in values if isinstance(v, dict)]


def nested(cls: type, **kwargs: Any) -> Any:
    """A dataclass field holding one nested object, decoded on construction from the wire."""
    return dataclasses.field(default=None,
                             metadata={"decode": lambda v: decoder(cls)(v) if isinstance(v, dict) else None}, **kwargs)


def nested_list(cls: type, **kwargs: Any) -> Any:
    """A dataclass field holding a list of nested objects."""
    return dataclasses.field(default=None, metadata={"decode": lambda v: decode_list(cls, v)}, **kwargs)


def raw_field() -> Any:
    """The ``raw`` field: the dict as received, kept out of repr and equality."""
    return dataclasses.field(default=None, repr=False, compare=False)
