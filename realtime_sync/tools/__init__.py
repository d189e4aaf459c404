"""Function tools: a registry of Python functions the model may call, and a dispatcher that answers the calls."""
from .dispatcher import CONTINUATION_KEY, ToolDispatcher
from .registry import ToolCall, ToolRegistry, encode_tool_result

__all__ = ["ToolRegistry", "ToolCall", "ToolDispatcher", "encode_tool_result", "CONTINUATION_KEY"]
