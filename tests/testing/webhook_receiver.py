"""A tiny webhook endpoint for the phone tests: stdlib ``http.server`` on a thread, one handler function."""
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Tuple

#: ``handle(body, headers) -> HTTP status`` (headers: a dict of the request's headers as sent)
Handler = Callable[[bytes, Dict[str, str]], int]


class WebhookReceiver:
    """POSTs to :attr:`url` go to ``handle``; every request is kept in :attr:`requests` as (body, headers).
    A handler that raises answers 500."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.requests: List[Tuple[bytes, Dict[str, str]]] = []
        self.errors: List[BaseException] = []
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                receiver.requests.append((body, headers))
                try:
                    status = receiver.handle(body, headers)
                except Exception as exc:  # reported by the test through .errors
                    receiver.errors.append(exc)
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="test-webhook",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/webhook"

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def ringing_call(server: Any, secret: str, timeout: float = 30.0) -> Iterator[Any]:
    """A call ringing at an app that answers the webhook 200 and nothing else (the test drives the calls REST);
    the caller hangs up at the end."""
    with WebhookReceiver(lambda body, headers: 200) as app:
        call = server.place_call(app.url, secret, timeout=timeout)
        try:
            yield call
        finally:
            call.hangup()
