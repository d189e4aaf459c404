"""Function tools: a registry, and a dispatcher that answers the model's function calls automatically.

:class:`ToolDispatcher` is a session observer. When a ``function_call`` item completes it runs the tool on a
bounded worker pool (never on the reader thread) with a timeout, sends the result as ``function_call_output``
(an exception, a timeout, an unknown tool or invalid JSON arguments become a JSON ``{"error": ...}`` output and
the session lives on) and, once every call of that response is answered *and* its ``response.done`` arrived,
sends exactly one ``response.create`` to continue the turn::

    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict:
        "Look up the weather for a city."
        return {"city": city, "temperature": 21, "unit": unit}

    tools = ToolRegistry([get_weather])
    session.configure_session(SessionOptions(tools=tools.definitions()))
    dispatcher = ToolDispatcher(session, tools).attach()

Continuation rules: a response whose status is not ``completed`` (``cancelled`` by a barge-in, ``incomplete``,
``failed``) gets its outputs but no automatic ``response.create`` (the user is speaking, or the turn failed); a
response calling a tool registered without a function (a declared-only tool) is left to the user to answer and
continue; while another response is active the ``response.create`` waits for it to finish. With no function
tools registered, or ``auto_dispatch=False``, nothing is automatic: the updates are there to answer by hand
(``ConversationItem.function_call_output`` + ``session.start_response()``).

:meth:`ToolDispatcher.wait_idle` (and :attr:`ToolDispatcher.settled`) tell when the dispatcher has nothing left
to do for the updates it has seen: no tool is running or queued, and every finished response's continuation has
been decided (sent, deferred behind an active response, or skipped). From then on it sends nothing until a new
update arrives.

The package: :mod:`~realtime_sync.tools.registry` (:class:`ToolRegistry`, :class:`ToolCall`, how results become
output text), :mod:`~realtime_sync.tools.pool` (the daemon worker pool) and :mod:`~realtime_sync.tools.dispatcher`
(:class:`ToolDispatcher`).
"""
from .dispatcher import CONTINUATION_KEY, ToolDispatcher
from .registry import ToolCall, ToolRegistry, encode_tool_result

__all__ = ["ToolRegistry", "ToolCall", "ToolDispatcher", "encode_tool_result", "CONTINUATION_KEY"]
