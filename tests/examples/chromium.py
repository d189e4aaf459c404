"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
no port, no driver binary, no extra package): open a page, run JavaScript (awaiting its promise), take a screenshot.

Messages are JSON, each ended by a NUL byte; Chromium reads commands on its fd 3 and writes answers and events on its
fd 4. Every wait has a deadline."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

Json = Dict[str, Any]


def chromium_binary() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    pass


class Chromium:
    def __init__(self, binary: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="rs-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # bash moves the pipes to fds 3 and 4, where Chromium expects them
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self._proc = subprocess.Popen(
            ["bash", "-c", script, binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={self._profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._ids = iter(range(1, 1 << 30))
        self._cond = threading.Condition()
        self._answers: Dict[int, Json] = {}
        self._events: List[Json] = []
        self._ended = False
        self._targets: Dict[str, str] = {}  # tab session id -> its browser context id
        self._stderr: List[bytes] = []
        self._threads = [threading.Thread(target=self._read, name="chromium-cdp", daemon=True),
                         threading.Thread(target=self._drain_stderr, name="chromium-stderr", daemon=True)]
        for thread in self._threads:
            thread.start()

    # -- the pipe --------------------------------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self._events.append(message)
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)

    def _wait(self, found: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = found()
                if value is not None:
                    return value
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    tail = b"".join(self._stderr[-10:]).decode("utf-8", "replace")
                    raise BrowserError(f"{what}: {'the browser exited' if self._ended else 'timed out'}\n{tail}")
                self._cond.wait(left)

    def send(self, method: str, params: Optional[Json] = None, *, session: Optional[str] = None,
             timeout: float = 20.0) -> Json:
        """One command; its result (BrowserError for a protocol error)."""
        message_id = next(self._ids)
        message: Json = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        answer = self._wait(lambda: self._answers.pop(message_id, None), timeout, method)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait_event(self, method: str, session: str, timeout: float = 20.0) -> Json:
        def found() -> Optional[Json]:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            return None

        return self._wait(found, timeout, f"waiting for {method}")

    # -- pages -----------------------------------------------------------------------------------------------------
    def open(self, url: str, timeout: float = 20.0) -> str:
        """A new tab showing ``url`` once loaded; its session id, for :meth:`evaluate` and :meth:`screenshot`. Each
        tab has a browser context of its own (cookies, cache, connections), gone with :meth:`close_tab`."""
        context = self.send("Target.createBrowserContext")["browserContextId"]
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Runtime.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self._targets[session] = context
        self.wait_event("Page.loadEventFired", session, timeout)
        return session

    def close_tab(self, session: str) -> None:
        """Close the tab and its context: its keep-alive connections to the app close too."""
        self.send("Target.disposeBrowserContext", {"browserContextId": self._targets.pop(session)})

    def evaluate(self, session: str, expression: str, timeout: float = 20.0) -> Any:
        """The value of ``expression`` (a promise is awaited); BrowserError if it throws or rejects."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": int(timeout * 1000)},
                           session=session, timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"JavaScript error: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def screenshot(self, session: str) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])

    def console_messages(self) -> List[str]:
        with self._cond:
            return [" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"].get("args", []))
                    for e in self._events if e.get("method") == "Runtime.consoleAPICalled"]

    def close(self, timeout: float = 10.0) -> None:
        try:
            if self._proc.poll() is None:
                self.send("Browser.close", timeout=timeout)
        except (BrowserError, OSError):
            pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        os.close(self._to_browser)
        for thread in self._threads:
            thread.join(5)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)
