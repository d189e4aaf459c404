"""Fast dict -> dataclass decoding, generated once per class.

dataclasses-json's ``from_dict`` re-introspects types on every call (~100 µs per event); these decoders are plain
generated functions (``cls(d.get("a"), conv(d.get("b")), ...)``), so decoding costs little more than ``json.loads``.
A field declared with ``metadata={"decode": fn}`` gets ``fn(value)`` when the value is not None; a field named
``raw`` receives the source dict itself.
"""
import dataclasses
from typing import Any, Callable, Dict, List, Type, TypeVar

T = TypeVar("T")

__all__ = ["decoder", "decode_list", "nested", "nested_list", "raw_field"]


def decoder(cls: Type[T]) -> Callable[[Dict[str, Any]], T]:
    """Return (and cache on the class) a function that builds ``cls`` from a wire dict."""
    fn = cls.__dict__.get("_decoder")
    if fn is not None:
        return fn
    namespace: Dict[str, Any] = {"cls": cls}
    args: List[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name == "raw":
            args.append("d")
            continue
        wire = f.metadata.get("wire", f.name)
        conv = f.metadata.get("decode")
        if conv is None:
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


def _opt(conv: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else conv(value)


def decode_list(cls: Type[T], values: Any) -> List[T]:
    if type(values) is not list:  # a wrongly shaped value is kept as it came (``raw`` has it too)
        return values
    dec = decoder(cls)
    return [dec(v) if isinstance(v, dict) else v for v in values]


def nested(cls: type, **kwargs: Any) -> Any:
    """A dataclass field holding one nested object, decoded on construction from the wire."""
    return dataclasses.field(default=None, metadata={"decode": lambda v: decoder(cls)(v) if isinstance(v, dict) else v},
                             **kwargs)


def nested_list(cls: type, **kwargs: Any) -> Any:
    """A dataclass field holding a list of nested objects."""
    return dataclasses.field(default=None, metadata={"decode": lambda v: decode_list(cls, v)}, **kwargs)


def raw_field() -> Any:
    """The ``raw`` field: the dict as received, kept out of repr and equality."""
    return dataclasses.field(default=None, repr=False, compare=False)
