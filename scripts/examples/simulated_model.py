"""What the simulator says on the example phone line: the part of a model that follows the line's instructions
(``realtime_backend.PHONE_OPTIONS``), so that a simulated call goes as a real one would. Sessions without the
``lookup_bill`` tool get the simulator's default answers (``"You said: <question>"``).

Use it as the simulator's responder: ``FakeRealtimeServer(responder=billing_line)``, or
``python -m realtime_sync.testing --responder simulated_model:billing_line`` with this folder on ``PYTHONPATH``.
"""
import json
import re
from typing import Any

from realtime_sync.testing import FunctionCall, ResponderContext, default_responder

__all__ = ["billing_line", "GREETING", "ASK_FOR_ACCOUNT", "GOODBYE"]

GREETING = "Hello, you reached Example Energy billing. How can I help?"
ASK_FOR_ACCOUNT = "Please type your account number on the keypad, then the hash key."
GOODBYE = "I did not get an account number. Goodbye."
_ACCOUNT = re.compile(r"account number is (\w+)")


def billing_line(ctx: ResponderContext) -> Any:
    if not any(tool.get("name") == "lookup_bill" for tool in ctx.tools):
        return default_responder(ctx)
    last = ctx.last_item
    if last is not None and last.type == "function_call_output":
        bill = json.loads(last.output or "{}")
        return f"Account {bill.get('account')}: {bill.get('amount_due')} is due on {bill.get('due_date')}."
    if last is not None and last.role == "system":
        return GREETING if "greet" in last.text else GOODBYE
    typed = _ACCOUNT.search(ctx.last_user_text)
    if typed:
        return FunctionCall("lookup_bill", {"account": typed.group(1)})
    return ASK_FOR_ACCOUNT  # what the caller said (audio): the account number is needed first
