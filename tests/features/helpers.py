"""Helpers for the feature tests: server events of one response, and a fake session that answers by script."""
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from realtime_sync.protocol import Dialect
from tests.support.fake_session import FakeAudioHandle, FakeSession

__all__ = ["ScriptedSession", "response_events"]


def response_events(resp_id: str, calls: List[tuple] = (), text: Optional[str] = None, status: str = "completed",
                    usage: Optional[Dict[str, Any]] = None, beta: bool = False, prev: Optional[str] = None,
                    done: bool = True) -> List[Dict[str, Any]]:
    """Server events of one response: an optional text message, then function calls ``(item_id, call_id, name,
    arguments)``, then ``response.done`` (GA shapes; ``beta=True`` drops ``name`` from arguments.done)."""
    events: List[Dict[str, Any]] = [{"type": "response.created", "event_id": f"ev_{resp_id}_c",
                                     "response": {"id": resp_id, "status": "in_progress", "output": []}}]
    output = []
    index = 0
    if text is not None:
        item_id = f"msg_{resp_id}"
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        events.append({"type": "response.output_item.added", "response_id": resp_id, "output_index": index,
                       "item": item})
        events.append({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        events.append({"type": "response.output_text.delta", "response_id": resp_id, "item_id": item_id,
                       "output_index": index, "content_index": 0, "delta": text})
        events.append({"type": "response.output_text.done", "response_id": resp_id, "item_id": item_id,
                       "output_index": index, "content_index": 0, "text": text})
        final = dict(item, status="completed", content=[{"type": "output_text", "text": text}])
        events.append({"type": "conversation.item.done", "previous_item_id": prev, "item": final})
        events.append({"type": "response.output_item.done", "response_id": resp_id, "output_index": index,
                       "item": final})
        output.append(final)
        prev = item_id
        index += 1
    for item_id, call_id, name, args in calls:
        item = {"id": item_id, "type": "function_call", "status": "in_progress", "name": name, "call_id": call_id,
                "arguments": ""}
        events.append({"type": "response.output_item.added", "response_id": resp_id, "output_index": index,
                       "item": item})
        events.append({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        args_done = {"type": "response.function_call_arguments.done", "response_id": resp_id, "item_id": item_id,
                     "output_index": index, "call_id": call_id, "name": name, "arguments": args}
        if beta:
            del args_done["name"]
        events.append(args_done)
        final = dict(item, status="completed" if status == "completed" else "incomplete", arguments=args)
        events.append({"type": "conversation.item.done", "previous_item_id": prev, "item": final})
        events.append({"type": "response.output_item.done", "response_id": resp_id, "output_index": index,
                       "item": final})
        output.append(final)
        prev = item_id
        index += 1
    if done:
        events.append({"type": "response.done", "event_id": f"ev_{resp_id}_d",
                       "response": {"id": resp_id, "status": status, "output": output, "usage": usage}})
    return events


class ScriptedSession(FakeSession):
    """A FakeSession whose ``script(session, wire)`` answers each command (emit events from a thread)."""

    def __init__(self, script: Callable[["ScriptedSession", Dict[str, Any]], None], *,
                 turn_detection: Optional[Dict[str, Any]] = None, dialect: Dialect = Dialect.GA) -> None:
        super().__init__(dialect, turn_detection=turn_detection)
        self.script = script
        self._reader: Optional[threading.Thread] = None

    def send_command(self, cmd: Any) -> Optional[str]:
        event_id = super().send_command(cmd)
        self.script(self, self.sent[-1])
        return event_id

    def send_audio(self, source: Any, *, chunk_ms: int = 100, realtime: bool = False) -> FakeAudioHandle:
        handle = super().send_audio(source, chunk_ms=chunk_ms, realtime=realtime)
        self.script(self, {"type": "<audio>", "bytes": handle.bytes_sent})
        return handle

    def emit(self, events: List[Dict[str, Any]], delay: float = 0.0) -> None:
        """Feed events from one "reader" thread, in emit order, after ``delay`` seconds."""
        if self._reader is None:
            import queue
            self._todo: Any = queue.SimpleQueue()
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        self._todo.put((delay, events))

    def _read(self) -> None:
        while True:
            delay, events = self._todo.get()
            if delay:
                time.sleep(delay)
            for e in events:
                self.feed(e)
