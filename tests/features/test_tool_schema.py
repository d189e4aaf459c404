"""FunctionTool.from_callable: JSON Schema from type hints and docstrings; arguments back to Python values."""
import enum
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

import jsonschema
import pytest

from realtime_sync import FunctionTool, SessionOptions
from realtime_sync.protocol.tool_schema import (ToolArgumentsError, ToolSchemaError, coerce_arguments,
                                                parse_docstring, type_schema)

try:
    from typing import Annotated
except ImportError:  # pragma: no cover
    from typing_extensions import Annotated


class Unit(enum.Enum):
    """Temperature unit."""

    C = "celsius"
    F = "fahrenheit"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Location:
    """A place on earth."""

    city: str
    country: Optional[str] = None
    tags: List[str] = field(default_factory=list)


def get_weather(location: Location, unit: Unit = Unit.C, days: int = 1, detailed: bool = False,
                scale: float = 1.0, mode: Literal["brief", "full"] = "brief", note: Optional[str] = None,
                hours: Optional[List[int]] = None) -> dict:
    """Look up the weather.

    Uses the fake service.

    Args:
        location: Where to look.
        unit: The unit of the
            temperatures.
        days: How many days.
    """
    return {}


@pytest.mark.parametrize("tp, schema", [
    (str, {"type": "string"}),
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (bool, {"type": "boolean"}),
    (type(None), {"type": "null"}),
    (Any, {}),
    (Optional[int], {"type": ["integer", "null"]}),
    (Union[int, None], {"type": ["integer", "null"]}),
    (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
    (Literal[1, "x"], {"enum": [1, "x"]}),
    (Level, {"type": "integer", "enum": [1, 2]}),
    (list, {"type": "array"}),
    (List[str], {"type": "array", "items": {"type": "string"}}),
    (Sequence[float], {"type": "array", "items": {"type": "number"}}),
    (Tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
    (Tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "minItems": 2, "maxItems": 2}),
    (dict, {"type": "object"}),
    (Dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
    (Annotated[int, "how many"], {"type": "integer", "description": "how many"}),
])
def test_type_schema(tp, schema):
    assert type_schema(tp) == schema


def test_enum_schema_has_values_and_description():
    assert type_schema(Unit) == {"type": "string", "enum": ["celsius", "fahrenheit"],
                                 "description": "Temperature unit."}
    assert type_schema(Optional[Unit]) == {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None],
                                           "description": "Temperature unit."}


def test_dataclass_schema_nested_required_and_defaults():
    assert type_schema(Location) == {
        "type": "object", "description": "A place on earth.",
        "properties": {"city": {"type": "string"}, "country": {"type": ["string", "null"], "default": None},
                       "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["city"], "additionalProperties": False}


def test_from_callable_full():
    tool = FunctionTool.from_callable(get_weather)
    assert tool.name == "get_weather"
    assert tool.description == "Look up the weather.\n\nUses the fake service."
    assert tool.function is get_weather
    params = tool.parameters
    assert params["type"] == "object" and params["additionalProperties"] is False
    assert params["required"] == ["location"]  # everything with a default is optional
    props = params["properties"]
    assert props["location"]["description"] == "Where to look."
    assert props["location"]["required"] == ["city"]
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"],  # continuation line joined
                             "description": "The unit of the temperatures.", "default": "celsius"}
    assert props["days"] == {"type": "integer", "description": "How many days.", "default": 1}
    assert props["detailed"] == {"type": "boolean", "default": False}
    assert props["scale"] == {"type": "number", "default": 1.0}
    assert props["mode"] == {"type": "string", "enum": ["brief", "full"], "default": "brief"}
    assert props["note"] == {"type": ["string", "null"], "default": None}
    assert props["hours"] == {"type": ["array", "null"], "items": {"type": "integer"}, "default": None}
    # the schema is itself valid JSON Schema and accepts what the model would send
    jsonschema.Draft202012Validator.check_schema(params)
    jsonschema.validate({"location": {"city": "Paris"}, "unit": "fahrenheit", "hours": [1, 2]}, params)


def test_to_wire_is_exact_and_function_never_serialised():
    tool = FunctionTool.from_callable(get_weather, name="weather", description="Weather.")
    wire = tool.to_wire()
    assert list(wire) == ["type", "name", "description", "parameters"]
    assert wire["type"] == "function" and wire["name"] == "weather" and wire["description"] == "Weather."
    assert "function" not in json.loads(tool.to_json())
    assert "function" not in tool.to_dict()
    assert FunctionTool.from_json(tool.to_json()) == tool  # the callable does not take part in equality
    assert "get_weather" not in repr(tool)
    plain = FunctionTool("x", "d", {"type": "object", "properties": {}})
    assert plain.to_wire() == {"type": "function", "name": "x", "description": "d",
                               "parameters": {"type": "object", "properties": {}}}
    session = SessionOptions(tools=[tool]).to_wire("ga")
    assert session["tools"] == [wire]
    assert "function" not in json.loads(SessionOptions(tools=[tool]).to_json())["tools"][0]


def test_docstring_styles():
    def sphinx(a: int, b: str = "x") -> None:
        """Do it.

        :param a: the first
        :param b: the second
        :returns: nothing
        """
    tool = FunctionTool.from_callable(sphinx)
    assert tool.description == "Do it."
    assert tool.parameters["properties"]["a"]["description"] == "the first"
    assert tool.parameters["properties"]["b"]["description"] == "the second"
    assert parse_docstring(None) == ("", {})
    assert FunctionTool.from_callable(lambda: None, name="noop").description == ""


def test_parameters_without_hints_and_kwargs():
    def loose(a, b=2, *args, **kwargs):
        pass
    params = FunctionTool.from_callable(loose).parameters
    assert params == {"type": "object", "properties": {"a": {}, "b": {"default": 2}}, "required": ["a"]}


def test_no_parameters():
    def now() -> str:
        """The time."""
        return "noon"
    assert FunctionTool.from_callable(now).parameters == {"type": "object", "properties": {},
                                                          "additionalProperties": False}


def test_unsupported_annotation_is_a_typed_error():
    class Opaque:
        pass

    def bad(x: Opaque) -> None:
        pass
    with pytest.raises(ToolSchemaError):
        FunctionTool.from_callable(bad)
    with pytest.raises(ToolSchemaError):
        FunctionTool.from_callable(lambda: None, name="bad name!")
    with pytest.raises(ToolSchemaError):
        FunctionTool.from_callable(42)  # type: ignore[arg-type]


def test_coerce_arguments_builds_dataclasses_and_enums():
    kwargs = coerce_arguments(get_weather, {"location": {"city": "Oslo", "tags": ["a"]}, "unit": "fahrenheit",
                                            "scale": 2, "hours": [1]})
    assert kwargs["location"] == Location("Oslo", None, ["a"])
    assert kwargs["unit"] is Unit.F
    assert kwargs["scale"] == 2.0 and isinstance(kwargs["scale"], float)
    assert kwargs["hours"] == [1]
    with pytest.raises(ToolArgumentsError, match="unexpected argument"):
        coerce_arguments(get_weather, {"location": {"city": "x"}, "bogus": 1})
    with pytest.raises(ToolArgumentsError, match="missing"):
        coerce_arguments(get_weather, {})
    with pytest.raises(ToolArgumentsError, match="not one of"):
        coerce_arguments(get_weather, {"location": {"city": "x"}, "unit": "kelvin"})
    with pytest.raises(ToolArgumentsError, match="unknown field"):
        coerce_arguments(get_weather, {"location": {"city": "x", "zip": 1}})
    with pytest.raises(ToolArgumentsError, match="JSON object"):
        coerce_arguments(get_weather, [1, 2])


def test_string_annotations_resolve():
    ns: Dict[str, Any] = {}
    exec("from __future__ import annotations\nfrom typing import Optional\n"
         "def f(a: int, b: Optional[str] = None) -> None:\n    'Doc.'\n", ns)
    assert FunctionTool.from_callable(ns["f"]).parameters["properties"] == {
        "a": {"type": "integer"}, "b": {"type": ["string", "null"], "default": None}}


def test_callable_object_and_method():
    class Greeter:
        def __call__(self, name: str) -> str:
            """Greet someone."""
            return "hi " + name

        def shout(self, text: str, times: int = 1) -> str:
            """Shout."""
            return text.upper() * times

    g = Greeter()
    tool = FunctionTool.from_callable(g, name="greet")
    assert tool.parameters["properties"] == {"name": {"type": "string"}}
    method = FunctionTool.from_callable(g.shout)
    assert method.name == "shout" and "self" not in method.parameters["properties"]
