"""A downstream app's file using the README's imports: tests/test_typing.py type-checks it with mypy --strict."""
from typing import Dict, List, Optional

from realtime_sync import (ConversationItem, ConversationUpdate, FunctionTool, RealtimeClient, RealtimeSession,
                           ServerError, SessionOptions, TurnDetection, TurnResult, UpdateKind)
from realtime_sync.kiosk import KioskAudio
from realtime_sync.testing import FakeRealtimeServer, FunctionCall, Reply, scripted


def weather(location: str) -> Dict[str, str]:
    """Gets the weather."""
    return {"location": location}


def run(server: FakeRealtimeServer) -> Optional[str]:
    client: RealtimeClient = RealtimeClient(server.api_key, endpoint=server.base_url)
    options: SessionOptions = SessionOptions(instructions="Be brief.", turn_detection=TurnDetection.server_vad())
    tool: FunctionTool = FunctionTool.from_callable(weather)
    with client.start_session(options) as session:
        s: RealtimeSession = session
        s.add_item(ConversationItem.user_message("Hello"))
        result: TurnResult = s.ask("Hi", timeout=10)
        kinds: List[UpdateKind] = []
        for update in s.receive_updates(timeout=1):
            u: ConversationUpdate = update
            kinds.append(u.kind)
        s.register_tool(tool)
        _: object = (KioskAudio, FunctionCall, Reply, scripted, ServerError)
        return result.output_text
