"""Strict / lenient schema validation and sample-event generation for the conformance tests."""
import functools
import json
import os
from typing import Any, Dict, List

import jsonschema

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "realtime_sync", "testing", "spec")
DATA = os.path.join(os.path.dirname(__file__), "..", "data")


@functools.lru_cache(maxsize=None)
def schema_doc(dialect: str, lenient: bool = False) -> Dict[str, Any]:
    name = f"realtime-{dialect}{'.lenient' if lenient else ''}.schema.json"
    with open(os.path.join(SPEC, name)) as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=None)
def _validator(dialect: str, direction: str, wire_type: str, lenient: bool) -> Any:
    doc = schema_doc(dialect, lenient)
    schema = {**doc[f"{direction}_events"][wire_type], "definitions": doc["definitions"]}
    return jsonschema.Draft202012Validator(schema)


def errors(event: Dict[str, Any], dialect: str, direction: str, lenient: bool = False) -> List[str]:
    doc = schema_doc(dialect, lenient)
    if event.get("type") not in doc[f"{direction}_events"]:
        return [f"unknown {direction} event type {event.get('type')!r} in {dialect}"]
    v = _validator(dialect, direction, event["type"], lenient)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(event)]


def load_examples(dialect: str) -> List[Dict[str, Any]]:
    with open(os.path.join(DATA, f"examples-{dialect}.json")) as fh:
        return json.load(fh)


def sample(schema: Dict[str, Any], doc: Dict[str, Any], depth: int = 0) -> Any:
    """A minimal instance of ``schema`` with every property filled (to exercise every decoded field)."""
    if "$ref" in schema:
        return sample(doc["definitions"][schema["$ref"].split("/")[-1]], doc, depth)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return sample(schema[key][0], doc, depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next(t for t in typ if t != "null")
    if typ == "object" or "properties" in schema:
        if depth > 6:
            return {}
        return {k: sample(v, doc, depth + 1) for k, v in schema.get("properties", {}).items()}
    if typ == "array":
        return [sample(schema.get("items", {"type": "string"}), doc, depth + 1)]
    if typ == "integer":
        return max(1, schema.get("minimum", 1))
    if typ == "number":
        return float(schema.get("minimum", 0.5))
    if typ == "boolean":
        return True
    if typ == "string":
        return "AAAA" if schema.get("format") != "uri" else "https://example.com/x.png"
    return "x"
