"""openai-agents-python's ``RealtimeRunner`` against the simulator: one turn with a tool (issue 11)."""
import asyncio

import pytest

pytest.importorskip("agents.realtime")
from agents import function_tool  # noqa: E402
from agents.realtime import RealtimeAgent, RealtimeRunner  # noqa: E402

from realtime_sync.testing import FunctionCall, scripted  # noqa: E402


def test_realtime_runner_completes_a_tool_turn(make_fake_server):
    calls = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"Sunny in {city}."

    server = make_fake_server(responder=scripted(FunctionCall("get_weather", {"city": "Paris"}),
                                                 "It is sunny in Paris."))
    agent = RealtimeAgent(name="Assistant", instructions="Answer briefly.", tools=[get_weather])
    runner = RealtimeRunner(starting_agent=agent, config={"model_settings": {
        "model_name": "gpt-realtime", "modalities": ["text"]}})

    async def main():
        session = await runner.run(model_config={"api_key": server.api_key,
                                                 "url": server.url("gpt-realtime")})
        types, errors, done = [], [], 0
        async with session:
            await session.send_message("Weather in Paris?")
            async for event in session:
                types.append(event.type)
                if event.type == "error" or (event.type == "raw_model_event"
                                             and getattr(event.data, "type", "") == "error"):
                    errors.append(event)
                raw = getattr(event.data, "data", None) if event.type == "raw_model_event" else None
                done += isinstance(raw, dict) and raw.get("type") == "response.done"
                if event.type == "agent_end" and done >= 2:  # the answer after the tool output has ended too
                    break
        return types, errors

    types, errors = asyncio.run(asyncio.wait_for(main(), 30))
    assert errors == []
    assert calls == ["Paris"]
    assert "tool_start" in types and "tool_end" in types and types[-1] == "agent_end"
    received = [e["type"] for e in server.received]
    assert "conversation.item.create" in received  # the tool output went back
    outputs = [e for e in server.received if e["type"] == "conversation.item.create"
               and e["item"]["type"] == "function_call_output"]
    assert outputs and "Sunny in Paris." in outputs[0]["item"]["output"]
