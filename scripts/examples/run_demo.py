"""One command to try an example web app against the local simulator (nothing leaves this machine)::

    python scripts/examples/run_demo.py flask          # the Flask app on werkzeug's threaded server
    python scripts/examples/run_demo.py django         # the Django project under gunicorn (gthread workers)
    python scripts/examples/run_demo.py django --call  # ... and the simulator's phone calls its SIP webhook

It starts the simulator in this process and the app as a subprocess configured through the environment, as in
production (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_WEBHOOK_SECRET``), then prints the app's URL (open
it in a browser) and ``curl`` lines for the ask endpoints. ``--call`` places a SIP call to the app's webhook: the
caller speaks, types ``12#``, and what they heard is printed. ``--load 20`` sends 20 concurrent questions to each
ask endpoint and prints how many were answered correctly and the latencies. Ctrl-C stops everything (``--exit``
stops once the call and the load are done). The tests and ``scripts/benchmarks/webapps.py`` start the apps with
:class:`AppProcess` too.
"""
import argparse
import base64
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FLASK_APP = os.path.join(HERE, "flask_app", "app.py")
DJANGO_DIR = os.path.join(HERE, "django_project")
FRAMEWORKS = ("flask", "django")
_LISTENING = re.compile(r"(?:Running on|Listening at:) (http://[\w.\[\]:]+)")


def app_command(framework: str, *, host: str = "127.0.0.1", port: int = 0, workers: int = 1,
                threads: int = 10) -> List[str]:
    """The command that serves an example app: werkzeug's threaded server (Flask) or gunicorn with ``workers``
    processes of ``threads`` threads (Django)."""
    if framework == "flask":
        return [sys.executable, FLASK_APP, "--host", host, "--port", str(port)]
    if framework != "django":
        raise ValueError(f"framework must be one of {FRAMEWORKS}, not {framework!r}")
    from gunicorn.config import KNOWN_SETTINGS  # gunicorn 24+ opens a control socket in ~/.gunicorn: not here

    quiet = ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []
    return [sys.executable, "-m", "gunicorn", "--chdir", DJANGO_DIR, "--bind", f"{host}:{port}", "--worker-class",
            "gthread", "--workers", str(workers), "--threads", str(threads), "--graceful-timeout", "5", *quiet,
            "voice_site.wsgi"]


def simulator_env(server: Any, webhook_secret: str) -> Dict[str, str]:
    """The environment that points an app at a running simulator."""
    return {"OPENAI_API_KEY": server.api_key, "OPENAI_BASE_URL": server.base_url,
            "OPENAI_WEBHOOK_SECRET": webhook_secret}


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")


class AppProcess:
    """An example app in a subprocess: started on a free port (the address is read from its log), stopped with
    SIGTERM (the app closes its sessions as it exits). ``env`` is added to this process's environment."""

    def __init__(self, framework: str, env: Dict[str, str], **command: Any) -> None:
        self.command = app_command(framework, **command)
        self.env = {**os.environ, **env}
        self.url = ""
        self.log: List[str] = []
        self.returncode: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None
        self._ready = threading.Condition()
        self._reader: Optional[threading.Thread] = None

    def start(self, timeout: float = 30.0) -> "AppProcess":
        self._proc = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, args=(self._proc,), name="app-log", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        with self._ready:
            while not self.url and self._proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
        if not self.url:
            self.stop()
            raise RuntimeError(f"the app did not start within {timeout} s: {' | '.join(self.log[-20:])}")
        return self

    def _read(self, proc: "subprocess.Popen[str]") -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._ready:
                self.log.append(line.rstrip())
                found = _LISTENING.search(line)
                if found and not self.url:
                    self.url = found.group(1)
                self._ready.notify_all()
        with self._ready:  # the process ended
            self._ready.notify_all()

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        """SIGTERM, then SIGKILL if it is still running after ``timeout``; the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        self.returncode = proc.returncode
        return self.returncode

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class Asked:
    """One request of :func:`ask_concurrently`: the question, the HTTP status, the answer and the latency."""

    question: str
    status: int
    answer: Optional[str]
    seconds: float

    @property
    def correct(self) -> bool:
        """Answered, with the answer to this very question (the simulator answers ``You said: <question>``)."""
        return self.status == 200 and self.answer == f"You said: {self.question}"


def ask_concurrently(url: str, count: int = 20, timeout: float = 60.0) -> List[Asked]:
    """POST ``count`` distinct questions to an ask endpoint at once (one thread each, released together)."""
    import requests

    start = threading.Barrier(count)
    tag = uuid.uuid4().hex[:8]
    results: List[Optional[Asked]] = [None] * count

    def one(i: int) -> None:
        question = f"Request {i + 1} of {count} ({tag}): what is {i + 1} times {i + 7}?"
        start.wait(timeout)
        began = time.monotonic()
        try:
            reply = requests.post(url, json={"question": question}, timeout=timeout)
            answer = reply.json().get("answer") if reply.headers.get("Content-Type", "").startswith(
                "application/json") else None
            status = reply.status_code
        except requests.RequestException:
            answer, status = None, 0
        results[i] = Asked(question, status, answer, time.monotonic() - began)

    threads = [threading.Thread(target=one, args=(i,), name=f"ask-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * 2)
    return [r if r is not None else Asked("(thread did not finish)", 0, None, timeout) for r in results]


def figures(results: List[Asked]) -> Dict[str, Any]:
    """Correct answers out of all, and the latencies' p50 and max (milliseconds)."""
    seconds = [r.seconds for r in results]
    return {"correct": sum(r.correct for r in results), "of": len(results),
            "p50_ms": round(statistics.median(seconds) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


def _place_call(server: Any, url: str, secret: str, timeout: float) -> bool:
    from realtime_sync.errors import RealtimeTimeoutError
    from realtime_sync.testing import synthesize

    call = server.place_call(url + "/webhook", secret, audio=synthesize("I have a question about my bill", "pcm16"),
                             dtmf="12#", timeout=timeout)
    print(f"call {call.call_id}: ringing", flush=True)
    try:
        state = call.wait_ended(timeout * 4)
    except RealtimeTimeoutError:
        call.hangup()
        state = "hung up by the caller (timeout)"
    print(f"call {call.call_id}: {state} (by {call.ended_by}); the caller heard:", flush=True)
    for reply in call.replies:
        print(f"    assistant: {reply}", flush=True)
    return call.accepted_session is not None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run an example web app against the local simulator.")
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--port", type=int, default=8000, help="the app's port (0: any free one; default 8000)")
    parser.add_argument("--pace", type=float, default=1.0, help="the simulator's pace (1: real time, 0: instant)")
    parser.add_argument("--call", action="store_true", help="place a SIP call to the app's webhook")
    parser.add_argument("--load", type=int, default=0, metavar="N",
                        help="send N concurrent questions to each ask endpoint and print the figures")
    parser.add_argument("--exit", action="store_true", help="stop after the call and the load (instead of Ctrl-C)")
    args = parser.parse_args(argv)
    sys.path[:0] = [HERE, ROOT]  # simulated_model, and this repository's realtime_sync (the app gets it too)
    from realtime_sync.testing import FakeRealtimeServer
    from simulated_model import billing_line

    secret = new_webhook_secret()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeRealtimeServer(responder=billing_line, pace=args.pace) as server:
        env = simulator_env(server, secret)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
        with AppProcess(args.framework, env, port=args.port) as app:
            print(f"simulator: {server.base_url}", flush=True)
            print(f"app: {app.url}/  (the browser page)", flush=True)
            print(f"try: curl -s -X POST -H 'Content-Type: application/json' -d '{{\"question\": \"Hello?\"}}' "
                  f"{app.url}/ask   (or {app.url}/ask/shared)", flush=True)
            ok = True
            for path in ("/ask", "/ask/shared") if args.load else ():
                numbers = figures(ask_concurrently(app.url + path, args.load))
                print(f"{path}: {numbers['correct']}/{numbers['of']} correct, p50 {numbers['p50_ms']} ms, "
                      f"max {numbers['max_ms']} ms", flush=True)
                ok = ok and numbers["correct"] == numbers["of"]
            if args.call:
                ok = _place_call(server, app.url, secret, timeout=max(10.0, 30.0 * args.pace)) and ok
            if not args.exit:
                print("Ctrl-C to stop", flush=True)
                try:
                    stop.wait()
                except KeyboardInterrupt:
                    pass
        print(f"app stopped (exit code {app.returncode})", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
