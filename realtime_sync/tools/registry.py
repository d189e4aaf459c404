"""The tool registry, the record of one function call, and how tool results become output text.

Import the public names from :mod:`realtime_sync.tools`.
"""
import dataclasses
import enum
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

from ..protocol.options import FunctionTool

__all__ = ["ToolRegistry", "ToolCall", "encode_tool_result", "error_output", "PENDING", "RUNNING"]

log = logging.getLogger("realtime_sync.tools")

PENDING, RUNNING = "pending", "running"
_ANSWERED = ("completed", "error", "timeout", "unknown_tool", "invalid_arguments")


class ToolRegistry:
    """Named :class:`FunctionTool` objects with their Python functions (thread-safe).

    ``register`` accepts a function (schema generated from its hints) or a ready :class:`FunctionTool` (with or
    without ``function``); it works as a decorator too (``@registry.register`` or ``@registry.register(timeout=5)``).
    """

    def __init__(self, tools: Optional[Iterable[Union[Callable[..., Any], FunctionTool]]] = None) -> None:
        self._lock = threading.Lock()
        self._tools: Dict[str, FunctionTool] = {}
        self._timeouts: Dict[str, Optional[float]] = {}
        for tool in tools or ():
            self.register(tool)

    def register(self, fn: Any = None, *, name: Optional[str] = None, description: Optional[str] = None,
                 timeout: Optional[float] = None) -> Any:
        """Register a tool and return it (a :class:`FunctionTool`); without ``fn``, return a decorator that
        registers the function and returns the function unchanged."""
        if fn is None:
            def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
                self.register(func, name=name, description=description, timeout=timeout)
                return func
            return decorate
        if isinstance(fn, FunctionTool):
            tool = fn if name is None and description is None else dataclasses.replace(
                fn, name=name or fn.name, description=fn.description if description is None else description)
        elif isinstance(fn, dict):
            tool = FunctionTool(fn["name"], fn.get("description", ""), fn.get("parameters") or
                                {"type": "object", "properties": {}})
        else:
            tool = FunctionTool.from_callable(fn, name=name, description=description)
        with self._lock:
            self._tools[tool.name] = tool
            self._timeouts[tool.name] = timeout
        log.debug("tools: registered %s (callable=%s)", tool.name, tool.function is not None)
        return tool

    def sync(self, tools: Optional[Iterable[Any]]) -> None:
        """Make the registry match a session's ``tools`` list (``session.update`` replaces the list): tools with
        a function are (re)registered, declared-only ones and dicts are kept as declared-only, others dropped.
        Timeouts of tools that stay are kept."""
        wanted: Dict[str, FunctionTool] = {}
        for tool in tools or ():
            if isinstance(tool, FunctionTool):
                wanted[tool.name] = tool
            elif isinstance(tool, dict) and tool.get("type", "function") == "function" and tool.get("name"):
                wanted[tool["name"]] = FunctionTool(tool["name"], tool.get("description", ""),
                                                    tool.get("parameters") or {"type": "object", "properties": {}})
        with self._lock:
            for name, tool in wanted.items():
                old = self._tools.get(name)
                if tool.function is None and old is not None and old.function is not None:
                    tool = old  # a dict echo of a tool we already have a function for
                self._tools[name] = tool
                self._timeouts.setdefault(name, None)
            for name in [n for n in self._tools if n not in wanted]:
                del self._tools[name]
                self._timeouts.pop(name, None)

    def unregister(self, name: str) -> bool:
        with self._lock:
            self._timeouts.pop(name, None)
            return self._tools.pop(name, None) is not None

    def get(self, name: Optional[str]) -> Optional[FunctionTool]:
        with self._lock:
            return self._tools.get(name or "")

    def timeout_for(self, name: str) -> Optional[float]:
        with self._lock:
            return self._timeouts.get(name)

    def definitions(self) -> List[FunctionTool]:
        """The tools, for ``SessionOptions(tools=...)`` (only name, description and parameters go on the wire)."""
        with self._lock:
            return list(self._tools.values())

    def has_functions(self) -> bool:
        with self._lock:
            return any(t.function is not None for t in self._tools.values())

    def names(self) -> List[str]:
        with self._lock:
            return list(self._tools)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._tools

    def __len__(self) -> int:
        with self._lock:
            return len(self._tools)

    def __iter__(self) -> Iterator[FunctionTool]:
        return iter(self.definitions())


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    to_dict = getattr(obj, "to_dict", None) or getattr(obj, "model_dump", None)
    if callable(to_dict):
        return to_dict()
    return str(obj)


def encode_tool_result(result: Any) -> str:
    """A tool's return value as ``function_call_output`` text: ``str`` as is, anything else as JSON
    (dataclasses via ``asdict``, enums by value, unknown objects via ``str``)."""
    if isinstance(result, str):
        return result
    return json.dumps(result, default=_default, ensure_ascii=False)


def error_output(message: str) -> str:
    """The ``function_call_output`` text of a call the dispatcher could not answer with a result."""
    return json.dumps({"error": message}, ensure_ascii=False)


@dataclass
class ToolCall:
    """One function call of the model and what the dispatcher did with it.

    ``status``: ``pending`` / ``running`` / ``completed`` / ``error`` (the tool raised) / ``timeout`` /
    ``unknown_tool`` / ``invalid_arguments`` / ``manual`` (left for the user to answer).
    """

    call_id: str
    name: Optional[str]
    arguments: str
    item_id: Optional[str] = None
    response_id: Optional[str] = None
    status: str = PENDING
    output: Optional[str] = None  #: the ``function_call_output`` text sent
    result: Any = None  #: the tool's return value (completed calls)
    error: Optional[str] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None

    @property
    def answered(self) -> bool:
        return self.status in _ANSWERED

    @property
    def duration(self) -> Optional[float]:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def parsed_arguments(self) -> Dict[str, Any]:
        """The arguments decoded from JSON (``{}`` when they are not a JSON object)."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
