"""Checking client events the way the service does, and pruning nulls the strict schema does not allow.

The service answers a bad client event with an ``error`` event naming the failing field in ``param``
(PROTOCOL.md sections 8 and 12): ``unknown_parameter`` (the schemas allow extra fields, so unknown ones are found by
walking the strict schema's ``properties``), range errors (``integer_below_min_value`` ...: the vendored schemas
lack most ranges, so they come from :data:`RANGES`), then type / enum / required errors from the strict schema.
"""
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple, Union

from ..protocol import Dialect
from ..protocol.audio_formats import PCM16_RATE
from .validate import SERVICE_NULL_KEYS, load_schema, validator_for

__all__ = ["EventError", "check_client_event", "check_with_schema", "prune_nulls", "restore_service_nulls",
           "format_path", "client_event_types"]

Json = Dict[str, Any]

#: Keys the vendored schemas dropped with their descriptions (a function tool's ``description``).
_ALWAYS_KNOWN = frozenset({"description"})

#: (path, minimum, maximum, integer?) per dialect and client event type; ``*`` matches any list index.
RANGES: Dict[str, Dict[str, List[Tuple[str, Optional[float], Optional[float], bool]]]] = {
    "ga": {
        "session.update": [
            ("session.audio.input.format.rate", PCM16_RATE, PCM16_RATE, True),
            ("session.audio.output.format.rate", PCM16_RATE, PCM16_RATE, True),
            ("session.audio.output.speed", 0.25, 1.5, False),
            ("session.audio.input.turn_detection.threshold", 0.0, 1.0, False),
            ("session.audio.input.turn_detection.prefix_padding_ms", 0, None, True),
            ("session.audio.input.turn_detection.silence_duration_ms", 0, None, True),
            ("session.audio.input.turn_detection.idle_timeout_ms", 5000, 30000, True),
            ("session.max_output_tokens", 1, 4096, True),
        ],
        "response.create": [("response.max_output_tokens", 1, 4096, True),
                            ("response.audio.output.format.rate", PCM16_RATE, PCM16_RATE, True)],
        "conversation.item.truncate": [("audio_end_ms", 0, None, True), ("content_index", 0, None, True)],
    },
    "beta": {
        "session.update": [
            ("session.speed", 0.25, 1.5, False),
            ("session.temperature", 0.6, 1.2, False),
            ("session.turn_detection.threshold", 0.0, 1.0, False),
            ("session.turn_detection.prefix_padding_ms", 0, None, True),
            ("session.turn_detection.silence_duration_ms", 0, None, True),
            ("session.max_response_output_tokens", 1, 4096, True),
        ],
        "transcription_session.update": [
            ("session.turn_detection.threshold", 0.0, 1.0, False),
            ("session.turn_detection.prefix_padding_ms", 0, None, True),
            ("session.turn_detection.silence_duration_ms", 0, None, True),
        ],
        "response.create": [("response.temperature", 0.6, 1.2, False),
                            ("response.max_response_output_tokens", 1, 4096, True)],
        "conversation.item.truncate": [("audio_end_ms", 0, None, True), ("content_index", 0, None, True)],
    },
}


class EventError(Exception):
    """What goes into an ``error`` event: code, message and the failing parameter's path."""

    def __init__(self, code: Optional[str], message: str, param: Optional[str] = None,
                 error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.error_type = error_type


@lru_cache(maxsize=None)
def client_event_types(dialect: Dialect) -> Tuple[str, ...]:
    """Client event types a dialect accepts, in the schema's order."""
    return tuple(load_schema(dialect)["client_events"])


def format_path(path: Any) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- schema walking ---------------------------------------------------------------------------------------------------
def _branches(schema: Json, defs: Json, depth: int = 0) -> List[Json]:
    """The concrete alternatives of a schema: $ref resolved, anyOf/oneOf/allOf flattened."""
    if depth > 12 or not isinstance(schema, dict):
        return []
    ref = schema.get("$ref")
    if ref:
        return _branches(defs.get(ref.rsplit("/", 1)[-1], {}), defs, depth + 1)
    subs = [s for key in ("anyOf", "oneOf", "allOf") for s in schema.get(key, ())]
    if not subs:
        return [schema]
    out = [] if not any(k in schema for k in ("properties", "items")) else [schema]
    for s in subs:
        out.extend(_branches(s, defs, depth + 1))
    return out


def _types(schema: Json) -> List[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _discriminated(branches: List[Json], value: Json) -> List[Json]:
    keep = []
    for s in branches:
        props = s.get("properties", {})
        ok = True
        for key in ("type", "role"):
            if key in value and key in props:
                allowed = props[key].get("enum") or ([props[key]["const"]] if "const" in props[key] else None)
                if allowed is not None and value[key] not in allowed:
                    ok = False
        if ok:
            keep.append(s)
    return keep or branches


def _unknown(value: Any, schema: Json, defs: Json, path: List[Any]) -> Optional[List[Any]]:
    branches = _branches(schema, defs)
    if isinstance(value, dict):
        objs = [s for s in branches if "object" in _types(s) or "properties" in s]
        if not objs or any("properties" not in s for s in objs):
            return None  # a free-form object (tool parameters, metadata ...)
        cands = _discriminated(objs, value)
        for key, sub in value.items():
            subs = [s["properties"][key] for s in cands if key in s["properties"]]
            if not subs:
                if key in _ALWAYS_KNOWN:
                    continue
                return path + [key]
            found = [_unknown(sub, s, defs, path + [key]) for s in subs]
            if all(f is not None for f in found):
                return found[0]
    elif isinstance(value, list):
        items = [s["items"] for s in branches if isinstance(s.get("items"), dict)]
        for i, sub in enumerate(value):
            found = [_unknown(sub, s, defs, path + [i]) for s in items]
            if found and all(f is not None for f in found):
                return found[0]
    return None


def _allows_null(schema: Json, defs: Json) -> bool:
    return any("null" in _types(s) or (not _types(s) and "properties" not in s and "enum" not in s)
               for s in _branches(schema, defs))


def prune_nulls(value: Any, schema: Json, defs: Json) -> Any:
    """Drop ``null`` members the schema does not allow (the live service sends ``"include": null`` and the like,
    which the strict schema rejects). Members the schema does not know are kept as they are."""
    if isinstance(value, dict):
        branches = [s for s in _branches(schema, defs) if isinstance(s.get("properties"), dict)]
        branches = _discriminated(branches, value) if branches else []
        out = {}
        for key, sub in value.items():
            subs = [s["properties"][key] for s in branches if key in s["properties"]]
            if sub is None and subs and not any(_allows_null(s, defs) for s in subs):
                continue
            out[key] = prune_nulls(sub, subs[0], defs) if subs and isinstance(sub, (dict, list)) else sub
        return out
    if isinstance(value, list):
        items = [s["items"] for s in _branches(schema, defs) if isinstance(s.get("items"), dict)]
        return [prune_nulls(v, items[0], defs) for v in value] if items else value
    return value


def restore_service_nulls(pruned: Any, original: Any) -> None:
    """Put back into ``pruned`` (in place) the ``null`` members of ``original`` the service sends although the strict
    schema does not allow them (:data:`~realtime_sync.testing.validate.SERVICE_NULL_KEYS`), in their places."""
    if isinstance(pruned, dict) and isinstance(original, dict):
        for key, value in original.items():
            if value is None and key in SERVICE_NULL_KEYS and key not in pruned:
                pruned[key] = None
            elif key in pruned:
                restore_service_nulls(pruned[key], value)
        order = list(original)
        items = sorted(pruned.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
        pruned.clear()
        pruned.update(items)
    elif isinstance(pruned, list) and isinstance(original, list):
        for a, b in zip(pruned, original):
            restore_service_nulls(a, b)


# -- ranges and schema errors --------------------------------------------------------------------------------------
def _lookup(event: Json, dotted: str) -> List[Tuple[str, Any]]:
    nodes: List[Tuple[str, Any]] = [("", event)]
    for part in dotted.split("."):
        nxt = []
        for prefix, node in nodes:
            if part == "*" and isinstance(node, list):
                nxt += [(f"{prefix}[{i}]", v) for i, v in enumerate(node)]
            elif isinstance(node, dict) and part in node:
                nxt.append((f"{prefix}.{part}" if prefix else part, node[part]))
        nodes = nxt
    return nodes


def _range_error(event: Json, dialect: Dialect) -> Optional[EventError]:
    for dotted, lo, hi, integer in RANGES[dialect.value].get(event.get("type", ""), ()):
        for param, value in _lookup(event, dotted):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value,
                                                                                                             int)):
                continue
            kind = "integer" if integer else "decimal"
            if lo is not None and value < lo:
                return EventError(f"{kind}_below_min_value", f"Invalid '{param}': {kind} below minimum value. "
                                  f"Expected a value >= {lo}, but got {value} instead.", param)
            if hi is not None and value > hi:
                return EventError(f"{kind}_above_max_value", f"Invalid '{param}': {kind} above maximum value. "
                                  f"Expected a value <= {hi}, but got {value} instead.", param)
    return None


_JSON_TYPES = {"string": "a string", "integer": "an integer", "number": "a decimal", "boolean": "a boolean",
               "object": "an object", "array": "an array", "null": "null"}


def _got(value: Any) -> str:
    for name, typ in (("a boolean", bool), ("an integer", int), ("a decimal", float), ("a string", str),
                      ("an array", list), ("an object", dict)):
        if isinstance(value, typ):
            return name
    return "null"


def _narrow(err: Any) -> Any:
    """For an ``anyOf`` failure of an object whose ``type`` picks one alternative (GA ``session``: realtime or
    transcription), the error inside that alternative, so ``param`` names the failing field."""
    from jsonschema.exceptions import best_match

    while err.validator in ("anyOf", "oneOf") and err.context and isinstance(err.instance, dict):
        groups: Dict[Any, List[Any]] = {}
        for sub in err.context:
            groups.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(sub)
        matching = [errs for errs in groups.values()
                    if not any(list(e.relative_path) == ["type"] and e.validator in ("enum", "const") for e in errs)]
        if len(matching) != 1:
            break
        err = best_match(matching[0])
    return err


def _schema_error(event: Json, dialect: Dialect) -> Optional[EventError]:
    val = validator_for(dialect, "client_events", event["type"])
    return _first_error(val, event) if val is not None else None


def _first_error(val: Any, event: Json) -> Optional[EventError]:
    """The error the service reports first for a value its schema's validator ``val`` refuses (None: valid)."""
    from jsonschema.exceptions import best_match

    err = best_match(val.iter_errors(event))
    if err is None:
        return None
    err = _narrow(err)
    path = list(err.absolute_path)
    param = format_path(path) or None
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in (err.instance or {})]
        param = format_path(path + missing[:1])
        return EventError("missing_required_parameter", f"Missing required parameter: '{param}'.", param)
    if err.validator == "type":
        expected = " or ".join(_JSON_TYPES.get(t, t) for t in _types(err.schema))
        return EventError("invalid_type", f"Invalid type for '{param}': expected {expected}, but got "
                          f"{_got(err.instance)} instead.", param)
    if err.validator in ("enum", "const"):
        allowed = err.validator_value if err.validator == "enum" else [err.validator_value]
        listed = ", ".join(repr(a) for a in allowed)
        return EventError("invalid_value", f"Invalid value: {err.instance!r}. Supported values are: {listed}.", param)
    if err.validator == "maxLength":
        return EventError("string_above_max_length", f"Invalid '{param}': string too long. Expected a string with "
                          f"maximum length {err.validator_value}, but got a string with length "
                          f"{len(err.instance)} instead.", param)
    if err.validator in ("minimum", "maximum"):
        side = "below_min" if err.validator == "minimum" else "above_max"
        kind = "integer" if isinstance(err.instance, int) else "decimal"
        return EventError(f"{kind}_{side}_value", f"Invalid '{param}': {err.message}", param)
    return EventError("invalid_value", f"Invalid value for '{param}': {err.message[:200]}", param)


def check_client_event(event: Json, dialect: Union[Dialect, str]) -> Optional[EventError]:
    """The error the service would answer this client event with (None: acceptable). ``event`` has a known type."""
    dialect = Dialect.coerce(dialect)
    etype = event["type"]
    doc = load_schema(dialect)
    schema = doc["client_events"].get(etype)
    if schema is None:
        return None
    if dialect is Dialect.GA and etype == "session.update" and isinstance(event.get("session"), dict) \
            and "type" not in event["session"]:
        return EventError("missing_required_parameter", "Missing required parameter: 'session.type'.",
                          "session.type")
    unknown = _unknown(event, schema, doc["definitions"], [])
    if unknown is not None:
        param = format_path(unknown)
        return EventError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    return _range_error(event, dialect) or _schema_error(event, dialect)


def check_with_schema(value: Json, schema: Json, defs: Json, validator: Any) -> Optional[EventError]:
    """The error the service would answer ``value`` with, checked against any ``schema`` (its ``definitions`` in
    ``defs``, compiled as ``validator``): an unknown parameter first, then the schema's first error. Used for the
    translation events and requests, which have a schema of their own."""
    unknown = _unknown(value, schema, defs, [])
    if unknown is not None:
        param = format_path(unknown)
        return EventError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    return _first_error(validator, value)
