"""openai-python's own sync Realtime client against the simulator: a turn with a function call, ephemeral keys."""
import json

import pytest

openai = pytest.importorskip("openai")

# openai-python opens its websockets connection without a context manager (its business, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")

TOOL = {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}


def _run_turn(conn):
    """Until response.done; returns the events' types and the function call (if any)."""
    types, call = [], None
    for event in conn:
        types.append(event.type)
        if event.type == "response.function_call_arguments.done":
            call = event
        if event.type == "response.done":
            return types, call, event
    raise AssertionError("connection ended before response.done")


def test_openai_client_completes_a_function_call_turn(fake_server):
    client = openai.OpenAI(api_key=fake_server.api_key, base_url=fake_server.base_url)
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [TOOL]})
        conn.conversation.item.create(item={"type": "message", "role": "user",
                                            "content": [{"type": "input_text", "text": "Weather in Paris?"}]})
        conn.response.create()
        types, call, done = _run_turn(conn)
        assert types[:2] == ["session.created", "session.updated"]
        assert call is not None and call.name == "get_weather"
        assert json.loads(call.arguments) == {"location": "San Francisco, CA"}
        assert done.response.status == "completed" and done.response.output[0].type == "function_call"
        conn.conversation.item.create(item={"type": "function_call_output", "call_id": call.call_id,
                                            "output": json.dumps({"temp_c": 21})})
        conn.response.create()
        types, call, done = _run_turn(conn)
        assert call is None and "response.output_text.delta" in types
        assert done.response.output[0].content[0].text == 'Here is what I found: {"temp_c": 21}'
        assert done.response.usage.total_tokens > 0
    assert [e["type"] for e in fake_server.received] == [
        "session.update", "conversation.item.create", "response.create", "conversation.item.create",
        "response.create"]


def test_openai_client_mints_and_uses_an_ephemeral_key(fake_server):
    client = openai.OpenAI(api_key=fake_server.api_key, base_url=fake_server.base_url)
    secret = client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 120},
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "Ephemeral."})
    assert secret.value.startswith("ek_") and secret.session.instructions == "Ephemeral."
    browser_like = openai.OpenAI(api_key=secret.value, base_url=fake_server.base_url)
    with browser_like.realtime.connect(model="gpt-realtime") as conn:
        created = conn.recv()
        assert created.type == "session.created" and created.session.instructions == "Ephemeral."


def test_openai_client_sees_a_bad_key(fake_server):
    client = openai.OpenAI(api_key="sk-not-the-key-000000", base_url=fake_server.base_url)
    with client.realtime.connect(model="gpt-realtime") as conn:
        event = conn.recv()
        assert event.type == "error" and event.error.code == "invalid_api_key"


def test_openai_client_audio_append_commit_turn(make_fake_server):
    """Audio in (append + commit, turn detection off), text out, with input transcription."""
    import base64

    from realtime_sync.testing import scripted, scripted_transcripts
    from tests.testing.sim_client import silence, voiced

    server = make_fake_server(responder=scripted("Heard you."), transcriber=scripted_transcripts("Hello there."))
    client = openai.OpenAI(api_key=server.api_key, base_url=server.base_url)
    audio = voiced(600).astype("<i2").tobytes() + silence(200).astype("<i2").tobytes()
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {"input": {
            "turn_detection": None, "transcription": {"model": "gpt-4o-mini-transcribe"}}}})
        for i in range(0, len(audio), 9600):
            conn.input_audio_buffer.append(audio=base64.b64encode(audio[i:i + 9600]).decode())
        conn.input_audio_buffer.commit()
        conn.response.create()
        types, transcript = [], None
        for event in conn:
            types.append(event.type)
            if event.type == "conversation.item.input_audio_transcription.completed":
                transcript = event.transcript
            if event.type == "response.done" and transcript is not None:
                break
        assert "input_audio_buffer.committed" in types and "error" not in types
        assert transcript == "Hello there."
        assert event.type == "response.done" and event.response.output[0].content[0].text == "Heard you."


def test_async_openai_client_text_turn_and_tool_round(fake_server):
    import asyncio

    async def main():
        client = openai.AsyncOpenAI(api_key=fake_server.api_key, base_url=fake_server.base_url)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [TOOL]})
            await conn.conversation.item.create(item={"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather in Paris?"}]})
            await conn.response.create()
            call = None
            async for event in conn:
                if event.type == "response.function_call_arguments.done":
                    call = event
                if event.type == "response.done":
                    break
            assert call is not None and call.name == "get_weather"
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call.call_id,
                                                      "output": json.dumps({"temp_c": 21})})
            await conn.response.create()
            async for event in conn:
                assert event.type != "error", event
                if event.type == "response.done":
                    return event

    done = asyncio.run(main())
    assert done.response.status == "completed" and "temp_c" in done.response.output[0].content[0].text
