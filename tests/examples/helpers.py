"""Checks shared by the Flask and Django tests: the same app behaviour, whichever framework serves it."""
import json
import uuid
from typing import Any, List

from realtime_sync.testing import synthesize
from run_demo import Asked, ask_concurrently, new_webhook_secret
from simulated_model import ASK_FOR_ACCOUNT, GREETING

CONCURRENT = 20
BILL = "Account 12: 42.00 USD is due on 2026-12-31."


def ask_twenty(url: str) -> List[Asked]:
    """20 concurrent requests with distinct questions; every one must get the answer to its own question."""
    results = ask_concurrently(url, CONCURRENT, timeout=60)
    wrong = [(r.question, r.status, r.answer) for r in results if not r.correct]
    assert not wrong, wrong
    return results


def ask_in_the_browser(chromium: Any, page_url: str, server: Any) -> None:
    """The page mints a key at the app, opens the WebSocket to the simulator with it and shows the reply."""
    before = len(server.connections)
    tab = chromium.open(page_url)
    try:
        question = f"Hello from Chromium {uuid.uuid4().hex[:6]}"
        reply = chromium.evaluate(tab, f"document.getElementById('question').value = {json.dumps(question)};"
                                       "document.getElementById('ask').click(); window.lastTurn")
        shown = chromium.evaluate(tab, "[document.getElementById('reply').textContent,"
                                       " document.getElementById('status').textContent]")
    finally:
        chromium.close_tab(tab)
    assert reply == f"You said: {question}"
    assert shown == [reply, "done"]
    assert len(server.connections) == before + 1  # the browser's own session, started by the ek_ key's settings
    browser_session = server.connections[-1]
    assert browser_session.session_wire["output_modalities"] == ["text"]
    assert "help desk" in browser_session.session_wire["instructions"]
    assert browser_session.wait_closed(10)  # the page closes it after the answer


def place_answered_call(server: Any, webhook_url: str, secret: str) -> Any:
    """A call that the app verifies, accepts with its tool, greets, answers (audio, then digits 12#, a tool
    answer) and hangs up."""
    call = server.place_call(webhook_url, secret, caller="+15550123",
                             audio=synthesize("I have a question about my bill", "pcm16"), dtmf="12#", timeout=20)
    assert call.wait_accepted(20) is True
    assert call.wait_ended(30) == "ended", (call.state, call.error, call.replies)
    assert call.ended_by == "app" and call.webhook_status == 200 and call.error is None
    replies = call.replies  # a 2.x model may say a preamble ("I'll check that...") before it calls the tool
    assert replies[:2] == [GREETING, ASK_FOR_ACCOUNT] and replies[-1] == BILL and len(replies) <= 4, replies
    assert call.digits_sent == "12#"
    accepted = call.accepted_session
    assert [t["name"] for t in accepted["tools"]] == ["lookup_bill"] and "billing line" in accepted["instructions"]
    output = server.wait_for_received("conversation.item.create", timeout=5, predicate=lambda e: e["item"].get(
        "type") == "function_call_output")
    assert json.loads(output["item"]["output"])["account"] == "12"  # the app ran its tool with the digits
    return call


def place_forged_call(server: Any, webhook_url: str) -> Any:
    """A webhook signed with another secret: 400, and the call is neither accepted nor attached."""
    call = server.place_call(webhook_url, new_webhook_secret(), timeout=10)
    assert call.wait_webhook(10) == 400
    assert call.wait_ended(10) == "refused"
    assert call.accepted_session is None and call.sideband_count == 0
    return call
