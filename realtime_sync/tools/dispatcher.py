"""The tool dispatcher: answers the model's function calls with a registry's functions (see :mod:`realtime_sync.tools`
for the rules). Import :class:`ToolDispatcher` from :mod:`realtime_sync.tools`."""
import collections
import dataclasses
import itertools
import json
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Set, Union

from ..observers import SessionLike
from ..protocol.commands import ItemCreateCommand, ResponseCreateCommand
from ..protocol.models import ConversationItem, Response
from ..protocol.options import FunctionTool, ResponseOptions
from ..protocol.tool_schema import ToolArgumentsError, coerce_arguments
from ..protocol.updates import (ConversationUpdate, ErrorUpdate, FunctionCallArgumentsDoneUpdate,
                                OutputItemAddedUpdate, OutputItemDoneUpdate, ResponseCreatedUpdate,
                                ResponseDoneUpdate)
from .pool import DaemonPool
from .registry import PENDING, RUNNING, ToolCall, ToolRegistry, encode_tool_result, error_output

__all__ = ["ToolDispatcher", "CONTINUATION_KEY"]

log = logging.getLogger("realtime_sync.tools")

#: ``response.create`` metadata key naming the response a continuation follows (lets waiters correlate).
CONTINUATION_KEY = "realtime_sync_continues"


@dataclass
class _ResponseState:
    call_ids: List[str] = dataclasses.field(default_factory=list)
    done: bool = False
    status: Optional[str] = None
    settled: bool = False  #: continuation decided (sent, deferred or skipped)


class ToolDispatcher:
    """Answers function calls with the registry's functions (a session observer; see :mod:`realtime_sync.tools`).

    ``session`` is the :class:`~realtime_sync.observers.SessionLike` whose calls it answers (it sends with
    ``send_command``; :meth:`attach`/:meth:`detach` add and remove it as an observer). ``timeout`` (seconds, per
    call; a tool's own ``timeout`` wins) bounds how long the conversation waits for a tool: a late tool thread may
    linger but its result is dropped. ``on_call`` is called with each answered :class:`ToolCall` on a worker
    thread. :meth:`wait_idle` tells when it has settled (nothing left to run or send)."""

    def __init__(self, session: SessionLike, tools: Union[ToolRegistry, Iterable[Any], None] = None, *,
                 max_workers: int = 4, timeout: float = 30.0, auto_dispatch: bool = True,
                 auto_continue: bool = True, response_options: Optional[ResponseOptions] = None,
                 on_call: Optional[Callable[[ToolCall], Any]] = None, max_tracked: int = 256) -> None:
        self.session = session
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.timeout = timeout
        self.auto_dispatch = auto_dispatch
        self.auto_continue = auto_continue
        self.response_options = response_options
        self.on_call = on_call
        self._max = max(8, max_tracked)
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._workers = max_workers
        self._pool = DaemonPool(max_workers, "realtime-sync-tool")
        self._calls: "collections.OrderedDict[str, ToolCall]" = collections.OrderedDict()
        self._responses: "collections.OrderedDict[str, _ResponseState]" = collections.OrderedDict()
        self._names: "collections.OrderedDict[str, str]" = collections.OrderedDict()  # item_id -> tool name
        self._active: "collections.OrderedDict[str, None]" = collections.OrderedDict()  # responses in progress
        self._deferred: List[str] = []  # responses whose continuation waits for the active one
        self._sent: "collections.OrderedDict[str, str]" = collections.OrderedDict()  # event_id -> response id
        self._outputs: "collections.OrderedDict[str, None]" = collections.OrderedDict()  # event ids of outputs sent
        self._abandoned: Set[str] = set()  # calls of a server session that is gone: their outputs are not sent
        self._seq = itertools.count(1)
        self._inflight = 0  # calls scheduled whose answer (and continuation decision) is not finished
        self._executing = 0  # tool functions running on the pool (a timed-out one until it returns)
        self._sending = 0  # continuations decided whose response.create is being sent
        self._closed = False
        self._attached = False
        self._displaced: List["ToolDispatcher"] = []

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def attach(self) -> "ToolDispatcher":
        """Start observing the session. The dispatchers already answering its calls (the session's built-in
        ``tool_dispatcher``) stand aside while this one is attached, so calls are never answered twice."""
        if not self._attached:
            for other in self.session.observers:
                if isinstance(other, ToolDispatcher) and other is not self and other.auto_dispatch:
                    other.auto_dispatch = False
                    self._displaced.append(other)
                    log.debug("tools: a separate dispatcher takes over from the session's one")
            self.session.add_observer(self)
            self._attached = True
        return self

    def detach(self) -> None:
        if self._attached:
            self.session.remove_observer(self)
            self._attached = False
            for other in self._displaced:
                other.auto_dispatch = True
            self._displaced = []

    def close(self) -> None:
        """Detach and stop the pool (running tools are not interrupted; their results are dropped)."""
        self.detach()
        with self._lock:
            self._closed = True
            self._idle.notify_all()
        self._pool.shutdown()

    def handle_connection_closed(self, error: Optional[BaseException]) -> None:
        """The connection ended: stop the pool's idle threads (a new pool starts if calls come again)."""
        with self._lock:
            old, self._pool = self._pool, DaemonPool(self._workers, "realtime-sync-tool")
            self._active.clear()
            self._deferred.clear()
            self._idle.notify_all()
        old.shutdown()

    def handle_connection_interrupted(self, error: BaseException) -> Set[str]:
        """The connection dropped: responses of the old server session are never continued on the new one, and
        the calls still running there are not answered on it. Returns the event ids of the outputs and
        continuations sent so far (those the old connection never wrote are withdrawn)."""
        with self._lock:
            for state in self._responses.values():
                state.settled = True
            self._abandoned |= {c.call_id for c in self._calls.values() if c.status in (PENDING, RUNNING)}
            withdrawn = set(self._sent) | set(self._outputs)
        self.handle_connection_closed(error)
        return withdrawn

    def __enter__(self) -> "ToolDispatcher":
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def active(self) -> bool:
        """True when calls are answered automatically (auto_dispatch and at least one tool with a function)."""
        return self.auto_dispatch and not self._closed and self.registry.has_functions()

    # -- observer (reader thread: bookkeeping only) -------------------------------------------------------------
    inline_safe = True  #: tools run on the pool, never in handle_update (see observers.runs_inline)

    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, ResponseCreatedUpdate):
            rid = update.response.id if update.response else None
            if rid:
                with self._lock:
                    self._state(rid)
                    self._active[rid] = None
        elif isinstance(update, OutputItemAddedUpdate):
            item = update.item
            if item is not None and item.type == "function_call" and item.id and item.name:
                with self._lock:
                    self._remember(self._names, item.id, item.name)
        elif isinstance(update, FunctionCallArgumentsDoneUpdate):
            with self._lock:
                name = update.name or self._names.get(update.item_id or "")
            self._schedule(update.call_id, name, update.arguments, update.item_id, update.response_id)
        elif isinstance(update, OutputItemDoneUpdate):
            item = update.item
            if item is not None and item.type == "function_call" and item.status in (None, "completed"):
                self._schedule(item.call_id, item.name, item.arguments, item.id, update.response_id)
        elif isinstance(update, ResponseDoneUpdate):
            self._response_done(update.response)
        elif isinstance(update, ErrorUpdate):
            self._error(update)

    def _remember(self, table: "collections.OrderedDict[str, Any]", key: str, value: Any) -> None:
        table[key] = value
        while len(table) > self._max:
            table.popitem(last=False)

    def _state(self, response_id: str) -> _ResponseState:
        state = self._responses.get(response_id)
        if state is None:
            state = self._responses[response_id] = _ResponseState()
            if len(self._responses) > self._max:  # evict the oldest settled state (an unsettled one if none is)
                old = next((k for k, v in self._responses.items() if v.settled or (v.done and not v.call_ids)),
                           next(iter(self._responses)))
                del self._responses[old]
                self._active.pop(old, None)
        return state

    def _schedule(self, call_id: Optional[str], name: Optional[str], arguments: Optional[str],
                  item_id: Optional[str], response_id: Optional[str]) -> None:
        if not call_id or not self.active:
            return
        with self._lock:
            if call_id in self._calls:
                return
            call = ToolCall(call_id, name, arguments or "", item_id, response_id)
            self._remember(self._calls, call_id, call)
            if response_id:
                self._state(response_id).call_ids.append(call_id)
            tool = self.registry.get(name)
            if (tool is not None and tool.function is None) or (tool is None and self._declared_elsewhere(name)):
                call.status = "manual"
                log.debug("tools: call to declared-only tool %s left to the user", name)
                return
            call.status = RUNNING
            call.started_at = time.monotonic()
            self._inflight += 1
        timeout = (self.registry.timeout_for(tool.name) if tool is not None else None) or self.timeout
        log.debug("tools: call %s to %s scheduled (args %d chars)", call_id, name, len(call.arguments))
        try:
            future = self._pool.submit(self._run, call, tool)
        except RuntimeError:  # pool shut down
            self._finish(call, "error", error_output("tool dispatcher closed"), None, "dispatcher closed")
            return
        timer = threading.Timer(timeout, self._expire, (call, future, timeout))
        timer.daemon = True
        timer.start()
        future.add_done_callback(lambda _f: timer.cancel())

    def _declared_elsewhere(self, name: Optional[str]) -> bool:
        """True when the session declares the tool (``session.updated``) without a function in the registry:
        configured by hand, so answered by hand."""
        info = self.session.session_info
        for tool in info.tools if info is not None else ():
            if isinstance(tool, dict) and tool.get("name") == name:
                return True
        return False

    def _run(self, call: ToolCall, tool: Optional[FunctionTool]) -> None:
        with self._lock:
            self._executing += 1
        try:
            self._answer(call, tool)
        finally:
            with self._lock:
                self._executing -= 1
                self._idle.notify_all()

    def _answer(self, call: ToolCall, tool: Optional[FunctionTool]) -> None:
        if tool is None:
            self._finish(call, "unknown_tool", error_output(f"unknown tool {call.name!r}"), None,
                         f"unknown tool {call.name!r}")
            return
        try:
            raw = json.loads(call.arguments) if call.arguments.strip() else {}
            kwargs = coerce_arguments(tool.function, raw)  # type: ignore[arg-type]
        except (ValueError, ToolArgumentsError) as exc:
            msg = f"invalid arguments: {exc}" if isinstance(exc, ToolArgumentsError) else \
                f"invalid arguments: not JSON ({type(exc).__name__})"
            self._finish(call, "invalid_arguments", error_output(msg), None, msg)
            return
        try:
            result = tool.function(**kwargs)  # type: ignore[misc]
            output = encode_tool_result(result)
        except Exception as exc:  # the tool's own failure goes back to the model, the session lives on
            msg = f"{type(exc).__name__}: {exc}"
            log.info("tools: %s raised %s", call.name, type(exc).__name__)
            self._finish(call, "error", error_output(msg), None, msg)
            return
        self._finish(call, "completed", output, result, None)

    def _expire(self, call: ToolCall, future: "Future[Any]", timeout: float) -> None:
        future.cancel()  # only helps while still queued
        msg = f"tool {call.name!r} timed out after {timeout:g} s"
        if self._finish(call, "timeout", error_output(msg), None, msg):
            log.warning("tools: %s timed out after %.3g s", call.name, timeout)

    def _finish(self, call: ToolCall, status: str, output: str, result: Any, error: Optional[str]) -> bool:
        with self._lock:
            if call.status != RUNNING:
                return False  # already answered (a late result after a timeout is dropped)
            call.status, call.output, call.result, call.error = status, output, result, error
            call.finished_at = time.monotonic()
            closed = self._closed
            gone = call.call_id in self._abandoned  # its server session is gone: nobody to answer
            self._abandoned.discard(call.call_id)
            event_id = self._event_id("out")
            if not closed and not gone:
                self._remember(self._outputs, event_id, None)
        if not closed and not gone:
            try:
                self.session.send_command(ItemCreateCommand(
                    event_id=event_id, item=ConversationItem.function_call_output(call.call_id, output)))
            except Exception as exc:  # connection gone: nothing to answer to
                log.warning("tools: could not send the output of %s: %s", call.call_id, type(exc).__name__)
        log.debug("tools: call %s answered (%s, %d chars)", call.call_id, status, len(output))
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception as exc:
                log.warning("tools: on_call callback raised %s", type(exc).__name__)
        if call.response_id:
            self._maybe_continue(call.response_id)
        with self._lock:
            self._inflight -= 1
            self._idle.notify_all()
        return True

    def _response_done(self, response: Optional[Response]) -> None:
        if response is None or not response.id:
            return
        rid = response.id
        with self._lock:
            state = self._state(rid)
            state.done, state.status = True, response.status
            self._active.pop(rid, None)
        for item in response.output or ():  # calls we did not see stream (observer attached late)
            if item.type == "function_call" and item.status in (None, "completed"):
                self._schedule(item.call_id, item.name, item.arguments, item.id, rid)
        self._maybe_continue(rid)
        self._flush_deferred()

    def _maybe_continue(self, response_id: str) -> None:
        with self._lock:
            state = self._responses.get(response_id)
            if state is None or not state.done or state.settled or not state.call_ids:
                return
            calls = [self._calls.get(c) for c in state.call_ids]
            if any(c is not None and c.status in (PENDING, RUNNING) for c in calls):
                return
            state.settled = True
            manual = any(c is not None and c.status == "manual" for c in calls)
            if manual or not self.auto_continue or state.status != "completed" or self._closed:
                log.debug("tools: response %s not continued (status=%s, manual=%s)", response_id, state.status,
                          manual)
                self._idle.notify_all()
                return
            if self._active:
                self._deferred.append(response_id)
                log.debug("tools: continuation of %s deferred (another response is active)", response_id)
                self._idle.notify_all()
                return
            self._sending += 1
        self._continue([response_id])

    def _flush_deferred(self) -> None:
        with self._lock:
            if not self._deferred or self._active or self._closed:
                return
            ids, self._deferred = self._deferred, []
            self._sending += 1
        self._continue(ids)

    def _continue(self, response_ids: List[str]) -> None:
        """Send the ``response.create`` continuing ``response_ids`` (the caller counted it in ``_sending``)."""
        try:
            opts = dataclasses.replace(self.response_options) if self.response_options else ResponseOptions()
            opts.metadata = dict(opts.metadata or {}, **{CONTINUATION_KEY: response_ids[-1]})
            event_id = self._event_id("continue")
            with self._lock:
                self._remember(self._sent, event_id, response_ids[-1])
            log.debug("tools: all calls answered, response.create continues %s", response_ids[-1])
            self.session.send_command(ResponseCreateCommand(event_id=event_id, response=opts))
        except Exception as exc:
            log.warning("tools: could not send response.create: %s", type(exc).__name__)
        finally:
            with self._lock:
                self._sending -= 1
                self._idle.notify_all()

    def _error(self, update: ErrorUpdate) -> None:
        with self._lock:
            rid = self._sent.get(update.client_event_id or "")
            if rid is None:
                return
            if update.code == "conversation_already_has_active_response":
                self._deferred.append(rid)  # retry once the active response is done
                log.debug("tools: continuation refused (active response); retried after response.done")
            else:
                log.warning("tools: continuation refused by the server (code=%s)", update.code)

    def _event_id(self, what: str) -> str:
        return f"rs_tool_{what}_{next(self._seq)}"

    # -- reading ------------------------------------------------------------------------------------------------
    def expects_continuation(self, response: Optional[Response]) -> bool:
        """Whether the dispatcher will send a ``response.create`` after this (done) response: it completed, it
        called tools, and every call is answered automatically."""
        if response is None or response.status != "completed" or not self.active or not self.auto_continue:
            return False
        calls = [i for i in response.output or () if i.type == "function_call" and i.status in (None, "completed")]
        if not calls:
            return False
        for item in calls:
            tool = self.registry.get(item.name)
            if (tool is not None and tool.function is None) or (tool is None and self._declared_elsewhere(item.name)):
                return False
        return True

    def is_continuation_event(self, event_id: Optional[str]) -> bool:
        with self._lock:
            return bool(event_id) and event_id in self._sent

    def get(self, call_id: str) -> Optional[ToolCall]:
        with self._lock:
            call = self._calls.get(call_id)
            return dataclasses.replace(call) if call is not None else None

    def calls(self, response_id: Optional[str] = None) -> List[ToolCall]:
        """Snapshots of the tracked calls (of one response), oldest first (bounded by ``max_tracked``)."""
        with self._lock:
            return [dataclasses.replace(c) for c in self._calls.values()
                    if response_id is None or c.response_id == response_id]

    @property
    def settled(self) -> bool:
        """True when the dispatcher has nothing left to do for the updates it has seen (see :meth:`wait_idle`)."""
        with self._lock:
            return self._is_settled()

    def _is_settled(self) -> bool:  # lock held
        if self._closed:
            return True
        if self._inflight or self._executing or self._sending:
            return False
        return all(s.settled or not s.done or not s.call_ids for s in self._responses.values())

    def wait_idle(self, timeout: float) -> bool:
        """Block until the dispatcher has settled; False on timeout (True at once once it is closed).

        Settled means: no call is queued or running, no tool function is still executing (a timed-out tool
        counts until it returns and its late result has been dropped), and every ``response.done`` seen with
        calls has had its continuation decided: sent, deferred until the active response is done, or skipped
        (not completed, declared-only tools, ``auto_continue=False``). After it returns True the dispatcher sends
        nothing more until a new update arrives, so a test can feed updates, wait for this and then assert what
        was (and was not) sent.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._idle:
            while not self._is_settled():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True
