"""A Flask app using the Realtime API: ask endpoints, a browser page with its key endpoint, and a SIP phone line.

Routes::

    POST /ask          {"question": "..."} -> {"question": ..., "answer": ...}    a session per request
    POST /ask/shared   the same, on one session shared by all request threads
    GET  /token        a short-lived browser key: {"value": "ek_...", "expires_at": ..., "url": "wss://..."}
    GET  /             a page that asks from the browser with that key
    POST /webhook      the SIP webhook (realtime.call.incoming): verified, accepted, answered on a thread

Run it against the simulator with ``python scripts/examples/run_demo.py flask``; against the service::

    OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_... python scripts/examples/flask_app/app.py --port 5000

(or ``flask --app scripts/examples/flask_app/app.py run``); in production, under a WSGI server with threads::

    gunicorn --chdir scripts/examples/flask_app --worker-class gthread --threads 10 'app:create_app()'

Configuration: see ``realtime_backend.Settings``.
"""
import argparse
import atexit
import os
import signal
import sys
from typing import Any, Optional

from flask import Flask, Response, jsonify, request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # realtime_backend, next door
from realtime_backend import RealtimeBackend, Reply, Settings, read_page  # noqa: E402


def create_app(settings: Optional[Settings] = None) -> Flask:
    app = Flask(__name__)
    backend = RealtimeBackend(settings or Settings.from_env())
    app.extensions["realtime"] = backend
    atexit.register(backend.close)  # the shared session and the calls' sidebands close with the process

    def send(reply: Reply) -> Any:
        status, body = reply
        return jsonify(body), status

    @app.post("/ask")
    def ask() -> Any:
        return send(backend.answer(request.get_json(silent=True), shared=False))

    @app.post("/ask/shared")
    def ask_shared() -> Any:
        return send(backend.answer(request.get_json(silent=True), shared=True))

    @app.get("/token")
    def token() -> Any:
        response, status = send(backend.browser_token())
        response.headers["Cache-Control"] = "no-store"
        return response, status

    @app.get("/")
    def page() -> Response:
        return Response(read_page(), mimetype="text/html")

    @app.post("/webhook")
    def webhook() -> Any:
        return send(backend.phone.webhook(request.get_data(), request.headers))

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0: any free port (the address is printed)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop like Ctrl-C: atexit closes the sessions
    # werkzeug's threaded server: a thread per request, as a legacy app runs under a threaded WSGI server
    create_app().run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
