"""JSON Schema for function tools, generated from a Python callable's signature and docstring (pure).

:func:`describe_callable` gives the name, the description (the docstring before its sections) and the
``parameters`` schema of a function; :func:`coerce_arguments` turns the model's decoded JSON arguments back into the
Python values the function's annotations ask for (dataclasses from objects, enums from values).

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Optional[X]`` / ``X | None``,
``Union``, ``Literal[...]``, ``Enum`` subclasses, ``list`` / ``List[X]`` / ``Sequence[X]`` / ``Tuple[X, ...]`` /
``Set[X]``, ``dict`` / ``Dict[str, X]``, dataclasses (nested), ``Any`` (or no annotation) and
``Annotated[X, "description"]``. A parameter with a default is not required. Parameter descriptions are read
from a Google-style ``Args:`` section or from Sphinx ``:param name:`` lines.
"""
import collections.abc
import dataclasses
import enum
import inspect
import re
import sys
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import ToolArgumentsError, ToolSchemaError

__all__ = ["ToolSchemaError", "ToolArgumentsError", "describe_callable", "parameters_schema", "type_schema",
           "coerce_arguments", "parse_docstring"]

Json = Dict[str, Any]

_NoneType = type(None)
_UNION_TYPES: Tuple[Any, ...] = (typing.Union,)
if sys.version_info >= (3, 10):  # pragma: no cover - depends on the interpreter
    import types as _types
    _UNION_TYPES = (typing.Union, _types.UnionType)

_SCALARS: Dict[Any, Json] = {str: {"type": "string"}, bool: {"type": "boolean"}, int: {"type": "integer"},
                             float: {"type": "number"}, _NoneType: {"type": "null"}}
_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set,
              collections.abc.Iterable, collections.abc.Collection, collections.abc.MutableSequence)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


# -- docstrings -------------------------------------------------------------------------------------------------
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Returns|Return|Raises|Yields|"
                      r"Examples?|Notes?)\s*:\s*$")
_GOOGLE_PARAM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: Optional[str]) -> Tuple[str, Dict[str, str]]:
    """Return (description, {parameter: description}) from a docstring (Google ``Args:`` or Sphinx ``:param:``).

    The description is the text before the first section (``Args:``, ``Returns:``...) or ``:param`` line, its
    paragraphs kept apart by blank lines and each paragraph's lines joined.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    paragraphs: List[List[str]] = [[]]
    params: Dict[str, str] = {}
    i = 0
    while i < len(lines) and not _SECTION.match(lines[i]) and not lines[i].lstrip().startswith(":"):
        if lines[i].strip():
            paragraphs[-1].append(lines[i].strip())
        elif paragraphs[-1]:
            paragraphs.append([])
        i += 1
    summary = "\n\n".join(" ".join(p) for p in paragraphs if p)
    section, current, indent = None, None, 0
    for line in lines[i:]:
        m = _SECTION.match(line)
        if m:
            section, current = m.group(1).lower(), None
            continue
        m = _SPHINX_PARAM.match(line)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
            section = "sphinx"
            continue
        if line.lstrip().startswith(":") and section == "sphinx":  # :returns:, :raises: ...
            current = None
            continue
        if section in ("args", "arguments", "parameters", "params", "keyword args"):
            m = _GOOGLE_PARAM.match(line)
            this_indent = len(line) - len(line.lstrip())
            if m and (current is None or this_indent <= indent):
                current, indent = m.group(1), this_indent
                params[current] = m.group(2).strip()
                continue
        if current is not None and line.strip() and section in (
                "args", "arguments", "parameters", "params", "keyword args", "sphinx"):
            params[current] = (params[current] + " " + line.strip()).strip()
        elif not line.strip() and section == "sphinx":
            current = None
    return summary, params


# -- annotations -> schema --------------------------------------------------------------------------------------
def _enum_schema(cls: Any) -> Json:
    values = [m.value for m in cls]
    schema: Json = {}
    types = {_json_type(v) for v in values}
    if len(types) == 1 and None not in types:
        schema["type"] = types.pop()
    schema["enum"] = values
    doc = cls.__dict__.get("__doc__")
    if doc and not doc.startswith("An enumeration"):
        schema["description"] = parse_docstring(doc)[0]
    return schema


def _json_type(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return None


def _nullable(schema: Json) -> Json:
    t = schema.get("type")
    if isinstance(t, str) and "enum" not in schema:
        return {**schema, "type": [t, "null"]}
    if isinstance(t, list) and "null" not in t and "enum" not in schema:
        return {**schema, "type": t + ["null"]}
    if "enum" in schema and None not in schema["enum"]:
        out = {**schema, "enum": schema["enum"] + [None]}
        if isinstance(t, str):
            out["type"] = [t, "null"]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def _dataclass_schema(cls: Any, seen: Tuple[Any, ...]) -> Json:
    if cls in seen:
        raise ToolSchemaError(f"recursive dataclass {cls.__name__} cannot be described")
    hints = _hints(cls)
    desc, field_docs = parse_docstring(cls.__dict__.get("__doc__"))
    if desc.startswith(cls.__name__ + "("):  # the docstring dataclasses generates
        desc = ""
    props: Json = {}
    required: List[str] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        schema = dict(type_schema(hints.get(f.name, Any), seen + (cls,)))
        text = f.metadata.get("description") or field_docs.get(f.name)
        if text:
            schema["description"] = text
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        elif f.default is not dataclasses.MISSING:
            _put_default(schema, f.default)
        props[f.name] = schema
    out: Json = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    if desc:
        out["description"] = desc
    return out


def _put_default(schema: Json, default: Any) -> None:
    if isinstance(default, enum.Enum):
        default = default.value
    if default is None or isinstance(default, (str, int, float, bool)):
        schema["default"] = default


def type_schema(tp: Any, _seen: Tuple[Any, ...] = ()) -> Json:
    """The JSON Schema of one annotation. Raises :class:`ToolSchemaError` for an unsupported one."""
    if tp is Any or tp is inspect.Parameter.empty or tp is object:
        return {}
    if tp is None:
        tp = _NoneType
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        schema = dict(type_schema(args[0], _seen))
        texts = [a for a in args[1:] if isinstance(a, str)]
        if texts:
            schema["description"] = " ".join(texts)
        return schema
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_schema(tp, _seen)
    if origin in _UNION_TYPES:
        members = [a for a in args if a is not _NoneType]
        if len(members) == 1:
            inner = type_schema(members[0], _seen)
        else:
            inner = {"anyOf": [type_schema(a, _seen) for a in members]}
        return _nullable(inner) if len(members) < len(args) else inner
    if origin is typing.Literal:
        values = [a.value if isinstance(a, enum.Enum) else a for a in args]
        schema = {}
        types = {_json_type(v) for v in values}
        if len(types) == 1 and None not in types:
            schema["type"] = types.pop()
        schema["enum"] = values
        return schema
    if tp in _SEQUENCES or origin in _SEQUENCES:
        schema = {"type": "array"}
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            schema["prefixItems"] = [type_schema(a, _seen) for a in args]
            schema["minItems"] = schema["maxItems"] = len(args)
        elif args:
            schema["items"] = type_schema(args[0], _seen)
        if tp in (set, frozenset) or origin in (set, frozenset, collections.abc.Set):
            schema["uniqueItems"] = True
        return schema
    if tp in _MAPPINGS or origin in _MAPPINGS:
        schema = {"type": "object"}
        if len(args) == 2:
            if args[0] not in (str, Any):
                raise ToolSchemaError(f"JSON object keys are strings, not {args[0]!r}")
            value = type_schema(args[1], _seen)
            if value:
                schema["additionalProperties"] = value
        return schema
    raise ToolSchemaError(f"cannot describe the annotation {tp!r} as JSON Schema")


def _hints(obj: Any) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception as exc:  # unresolvable forward reference and the like
        raise ToolSchemaError(f"cannot resolve the annotations of {getattr(obj, '__name__', obj)!r}: "
                              f"{type(exc).__name__}: {exc}") from None


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolSchemaError(f"cannot read the signature of {fn!r}: {exc}") from None


def _hint_target(fn: Callable[..., Any]) -> Any:
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return fn
    call = getattr(type(fn), "__call__", None)  # a callable object
    return call if call is not None else fn


def parameters_schema(fn: Callable[..., Any], param_docs: Optional[Dict[str, str]] = None) -> Json:
    """The ``parameters`` object schema of ``fn``'s keyword-callable parameters."""
    sig = _signature(fn)
    hints = _hints(_hint_target(fn))
    docs = param_docs or {}
    props: Json = {}
    required: List[str] = []
    open_kwargs = False
    for name, param in sig.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            open_kwargs = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            if param.kind is param.POSITIONAL_ONLY and param.default is param.empty:
                raise ToolSchemaError(f"positional-only parameter {name!r} cannot be passed by name")
            continue
        schema = dict(type_schema(hints.get(name, param.annotation), ()))
        if docs.get(name):  # the parameter's own words beat its type's docstring
            schema["description"] = docs[name]
        if param.default is param.empty:
            required.append(name)
        else:
            _put_default(schema, param.default)
        props[name] = schema
    out: Json = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if not open_kwargs:
        out["additionalProperties"] = False
    return out


def describe_callable(fn: Callable[..., Any], name: Optional[str] = None,
                      description: Optional[str] = None) -> Tuple[str, str, Json]:
    """(name, description, parameters) of a function: the description is the docstring's text before its
    ``Args:`` / ``Returns:`` / ``:param`` sections."""
    if not callable(fn):
        raise ToolSchemaError(f"a tool needs a callable, not {type(fn).__name__}")
    doc_desc, param_docs = parse_docstring(inspect.getdoc(fn))
    tool_name = name or getattr(fn, "__name__", None) or type(fn).__name__
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool_name):
        raise ToolSchemaError(f"invalid tool name {tool_name!r}: letters, digits, _ and - only (max 64)")
    return tool_name, description if description is not None else doc_desc, parameters_schema(fn, param_docs)


# -- JSON arguments -> Python values ----------------------------------------------------------------------------
def _coerce(tp: Any, value: Any, where: str) -> Any:
    if tp is Any or tp is inspect.Parameter.empty or value is None:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _coerce(args[0], value, where)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        try:
            return tp(value)
        except ValueError:
            raise ToolArgumentsError(f"{where}: {value!r} is not one of "
                                     f"{[m.value for m in tp]}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ToolArgumentsError(f"{where}: expected an object for {tp.__name__}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp) if f.init}
        unknown = set(value) - names
        if unknown:
            raise ToolArgumentsError(f"{where}: unknown field(s) {sorted(unknown)} for {tp.__name__}")
        kwargs = {k: _coerce(hints.get(k, Any), v, f"{where}.{k}") for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise ToolArgumentsError(f"{where}: {exc}") from None
    if origin in _UNION_TYPES:
        for member in args:
            if member is _NoneType:
                continue
            try:
                return _coerce(member, value, where)
            except ToolArgumentsError:
                continue
        return value
    if origin in _SEQUENCES and isinstance(value, list):
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item_tp = args[0] if args else Any
        items = [_coerce(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
        if origin in (tuple,):
            return tuple(items)
        if origin in (set, frozenset, collections.abc.Set):
            return set(items)
        return items
    if tp in (tuple, set, frozenset) and isinstance(value, list):
        return tp(value)
    if origin in _MAPPINGS and isinstance(value, dict) and len(args) == 2:
        return {k: _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    return value


def coerce_arguments(fn: Callable[..., Any], arguments: Any) -> Dict[str, Any]:
    """Keyword arguments for ``fn`` from the model's decoded JSON ``arguments`` (a dict).

    Dataclass parameters are built from objects, Enum parameters from values, ints widened to floats; unknown or
    missing parameters raise :class:`ToolArgumentsError`.
    """
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolArgumentsError(f"arguments must be a JSON object, not {type(arguments).__name__}")
    sig = _signature(fn)
    hints = _hints(_hint_target(fn))
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    out: Dict[str, Any] = {}
    for key, value in arguments.items():
        param = sig.parameters.get(key)
        if param is None or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            if not accepts_any:
                raise ToolArgumentsError(f"unexpected argument {key!r}")
            out[key] = value
            continue
        out[key] = _coerce(hints.get(key, param.annotation), value, key)
    missing = [n for n, p in sig.parameters.items()
               if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in out]
    if missing:
        raise ToolArgumentsError(f"missing required argument(s) {missing}")
    return out
