"""A tiny scriptable Realtime-like WebSocket server for the client tests (websockets' sync server, one thread).

``MiniServer`` records every request (path, headers) and every message it receives; its behaviour is a
``handler(conn, message_dict)`` plus an ``on_connect(conn)``. :func:`realtime_like` answers the common client
events the way the live service does (shapes reduced to what the client needs).
"""
import json
import threading
import time
from http import HTTPStatus
from typing import Any, Callable, Dict, List, Optional

from websockets.sync.server import serve


def session_created(beta: bool = False, sid: str = "sess_TEST123") -> Dict[str, Any]:
    if beta:
        session = {"id": sid, "object": "realtime.session", "model": "gpt-4o-realtime-preview",
                   "modalities": ["text", "audio"], "voice": "alloy", "input_audio_format": "pcm16",
                   "output_audio_format": "pcm16", "turn_detection": {"type": "server_vad"}, "tools": []}
    else:
        session = {"id": sid, "object": "realtime.session", "type": "realtime", "model": "gpt-realtime",
                   "output_modalities": ["audio"],
                   "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                       "turn_detection": {"type": "server_vad"}},
                             "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
                   "tools": []}
    return {"type": "session.created", "event_id": "event_1", "session": session}


def error_event(code: Optional[str], message: str, event_id: Optional[str] = None,
                param: Optional[str] = None) -> Dict[str, Any]:
    return {"type": "error", "event_id": "event_err", "error": {"type": "invalid_request_error", "code": code,
                                                                "message": message, "param": param,
                                                                "event_id": event_id}}


class Conn:
    """What a handler gets: send JSON, close, and the request."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.path = ws.request.path
        self.headers = ws.request.headers
        self.beta = self.headers.get("OpenAI-Beta") == "realtime=v1" or "/openai/realtime" in self.path
        self.n = 0

    def send(self, event: Dict[str, Any]) -> None:
        if "event_id" not in event:
            self.n += 1
            event = {"event_id": f"event_s{self.n}", **event}
        self.ws.send(json.dumps(event))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.ws.close(code, reason)


def realtime_like(conn: Conn, msg: Dict[str, Any]) -> None:
    t = msg.get("type")
    eid = msg.get("event_id")
    if t == "session.update":
        session = msg.get("session") or {}
        if "bogus_field" in session:
            conn.send(error_event("unknown_parameter", "Unknown parameter: 'session.bogus_field'.", eid,
                                  "session.bogus_field"))
            return
        base = session_created(conn.beta)["session"]
        base.update(session)
        conn.send({"type": "session.updated", "session": base})
    elif t == "conversation.item.create":
        item = dict(msg.get("item") or {})
        item.setdefault("id", f"item_{conn.n}")
        kind = "conversation.item.created" if conn.beta else "conversation.item.added"
        conn.send({"type": kind, "previous_item_id": None, "item": item})
        if not conn.beta:
            conn.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
    elif t == "response.create":
        text_type = "response.text" if conn.beta else "response.output_text"
        conn.send({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})
        for d in ("Hel", "lo"):
            conn.send({"type": f"{text_type}.delta", "response_id": "resp_1", "item_id": "item_r",
                       "output_index": 0, "content_index": 0, "delta": d})
        conn.send({"type": "response.done", "response": {"id": "resp_1", "status": "completed", "output": []}})
    elif t == "response.cancel":
        conn.send(error_event("response_cancel_not_active", "Cancellation failed: no active response found",
                              eid))
    elif t == "input_audio_buffer.commit":
        conn.send({"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "item_c"})
    elif t == "input_audio_buffer.clear":
        conn.send({"type": "input_audio_buffer.cleared"})
    elif t == "conversation.item.delete":
        conn.send({"type": "conversation.item.deleted", "item_id": msg.get("item_id")})
    elif t == "conversation.item.truncate":
        conn.send({"type": "conversation.item.truncated", "item_id": msg.get("item_id"),
                   "content_index": msg.get("content_index"), "audio_end_ms": msg.get("audio_end_ms")})
    elif t == "conversation.item.retrieve":
        conn.send({"type": "conversation.item.retrieved", "item": {"id": msg.get("item_id"), "type": "message"}})
    elif t in (None, "") or t.startswith("bogus"):
        conn.send(error_event("invalid_value", "Invalid value: 'type'.", eid, "type"))


class MiniServer:
    def __init__(self, handler: Optional[Callable[[Conn, Dict[str, Any]], None]] = realtime_like,
                 on_connect: Optional[Callable[[Conn], None]] = None, status: Optional[int] = None,
                 send_created: bool = True, ssl_context: Any = None, body: str = "Unauthorized\n") -> None:
        self.ssl_context = ssl_context
        self.body = body
        self.handler = handler
        self.on_connect = on_connect
        self.status = status
        self.send_created = send_created
        self.received: List[str] = []
        self.requests: List[Dict[str, Any]] = []
        self.conns: List[Conn] = []
        self._lock = threading.Lock()
        self._server: Any = None

    def _process_request(self, ws: Any, request: Any) -> Any:
        self.requests.append({"path": request.path, "headers": dict(request.headers.raw_items())})
        if self.status is not None:
            return ws.respond(HTTPStatus(self.status), self.body)
        return None

    def _handle(self, ws: Any) -> None:
        conn = Conn(ws)
        self.conns.append(conn)
        try:
            if self.send_created:
                conn.send(session_created(conn.beta))
            if self.on_connect is not None:
                self.on_connect(conn)
            for raw in ws:
                with self._lock:
                    self.received.append(raw)
                if self.handler is not None:
                    self.handler(conn, json.loads(raw))
        except Exception:
            pass

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    def types(self) -> List[str]:
        with self._lock:
            return [json.loads(m).get("type") for m in self.received]

    def wait_received(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= n:
                return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> "MiniServer":
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request,
                             compression=None, ping_interval=None, max_size=None, ssl=self.ssl_context)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(5)
