"""Shared helpers for the feature tests: recorded traces and a fake session that records commands."""
import json
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

from realtime_sync.protocol import Dialect, parse_update
from realtime_sync.protocol.commands import Command

TRACES = os.path.join(os.path.dirname(__file__), os.pardir, "data", "traces")
CLIENT_TYPES = {"session.update", "transcription_session.update", "input_audio_buffer.append",
                "input_audio_buffer.commit", "input_audio_buffer.clear", "conversation.item.create",
                "conversation.item.truncate", "conversation.item.delete", "conversation.item.retrieve",
                "response.create", "response.cancel", "output_audio_buffer.clear"}


def trace_events(name: str) -> List[Dict[str, Any]]:
    """The server events of a recorded trace (client events skipped), as dicts."""
    path = os.path.join(TRACES, name)
    with open(path, encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    return [e for e in events if e["type"] not in CLIENT_TYPES]


def trace_updates(name: str) -> Iterator[Any]:
    for event in trace_events(name):
        yield parse_update(event)


class FakeSession:
    """Just enough of a session for observers: observers, and ``send_command`` recording wire dicts."""

    def __init__(self, dialect: Dialect = Dialect.GA) -> None:
        self.dialect = dialect
        self.observers: List[Any] = []
        self.sent: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sent_cond = threading.Condition(self._lock)

    def add_observer(self, obs: Any) -> None:
        self.observers.append(obs)

    def remove_observer(self, obs: Any) -> None:
        self.observers.remove(obs)

    def send_command(self, cmd: Any) -> None:
        wire = cmd.to_wire(self.dialect) if isinstance(cmd, Command) else cmd
        with self._sent_cond:
            self.sent.append(wire)
            self._sent_cond.notify_all()

    def feed(self, update: Any) -> None:
        if isinstance(update, dict):
            update = parse_update(update)
        for obs in list(self.observers):
            obs.handle_update(update)

    def wait_sent(self, predicate: Callable[[List[Dict[str, Any]]], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while not predicate(self.sent):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sent_cond.wait(left)
            return True

    def sent_of(self, type_: str) -> List[Dict[str, Any]]:
        with self._lock:
            return [s for s in self.sent if s["type"] == type_]


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


class FakeAudioHandle:
    def __init__(self, nbytes: int) -> None:
        self.bytes_sent = nbytes
        self.cancelled = False

    def wait(self, timeout: Optional[float] = None) -> bool:
        return True

    def cancel(self) -> None:
        self.cancelled = True


class ScriptedSession(FakeSession):
    """A FakeSession whose ``script(session, wire)`` answers each command (emit events from a thread)."""

    def __init__(self, script: Callable[["ScriptedSession", Dict[str, Any]], None], *,
                 turn_detection: Optional[Dict[str, Any]] = None, dialect: Dialect = Dialect.GA) -> None:
        super().__init__(dialect)
        from realtime_sync.protocol import SessionInfo
        self.session_info = SessionInfo(type="realtime", input_audio_format="pcm16", turn_detection=turn_detection)
        self.script = script
        self.audio: List[bytes] = []
        self._reader: Optional[threading.Thread] = None

    def send_command(self, cmd: Any) -> None:
        super().send_command(cmd)
        self.script(self, self.sent[-1])

    def send_audio(self, source: Any) -> FakeAudioHandle:
        data = bytes(source) if isinstance(source, (bytes, bytearray)) else b"\x01\x00" * 2400
        self.audio.append(data)
        self.script(self, {"type": "<audio>", "bytes": len(data)})
        return FakeAudioHandle(len(data))

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

    def close_connection(self, error: BaseException) -> None:
        for obs in list(self.observers):
            fn = getattr(obs, "handle_connection_closed", None)
            if fn:
                fn(error)
