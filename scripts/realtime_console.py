#!/usr/bin/env python
"""The /realtime basic console app (the Python twin of the OpenAI .NET sample).

A two-turn conversation: a spoken question is streamed from a WAV file, server VAD ends the user's turn, the
model calls the ``get_weather_for_location`` tool, the app answers with made-up weather, and the model speaks the
answer. Streamed text and the items are printed as they arrive; the model's audio is written to ``output.raw``
(PCM16, 24 kHz, mono).

With ``OPENAI_API_KEY`` (or ``AZURE_OPENAI_ENDPOINT`` + ``AZURE_OPENAI_API_KEY``, or ``--entra`` for
DefaultAzureCredential) it talks to the service; with none of them it starts the embedded simulator.

    python scripts/realtime_console.py [--input question.wav] [--output output.raw] [--simulator] [--fast]
"""
import argparse
import json
import os
import sys
from typing import Any, Literal, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(HERE, "..", "realtime_sync")):
    sys.path.insert(0, os.path.join(HERE, ".."))

from realtime_sync import (FunctionTool, InputTranscription, RealtimeClient, RealtimeError,  # noqa: E402
                           SessionOptions, TurnDetection, UpdateKind)
from realtime_sync.data import WEATHER_QUESTION_WAV  # noqa: E402

INSTRUCTIONS = ("You are a cheerful assistant who talks like a pirate. Call provided tools if appropriate for the "
                "user's input.")
FAKE_WEATHER = {"temperature": 70, "unit": "f", "conditions": "sunny"}


def get_weather_for_location(location: str, unit: Literal["c", "f"]) -> dict:
    """gets the weather for a location

    Args:
        location: The city and state, e.g. San Francisco, CA
    """
    return FAKE_WEATHER


# The tool's schema comes from the function's hints; because the FunctionTool carries the function, the session
# answers the model's calls itself (worker pool, function_call_output, then response.create to continue the turn).
WEATHER_TOOL = FunctionTool.from_callable(get_weather_for_location)


def session_options() -> SessionOptions:
    return SessionOptions(instructions=INSTRUCTIONS, voice="alloy", tools=[WEATHER_TOOL],
                          turn_detection=TurnDetection.server_vad(),
                          input_transcription=InputTranscription(model="whisper-1"))


def pirate_responder(ctx: Any) -> Any:
    """What the simulated model says: ask for the weather, then report it like a pirate."""
    from realtime_sync.testing import FunctionCall, Reply
    outputs = ctx.function_outputs
    if outputs and ctx.last_item is not None and ctx.last_item.type == "function_call_output":
        try:
            weather = json.loads(outputs[-1].output or "{}")
        except ValueError:
            weather = {}
        temp, conditions = weather.get("temperature", 70), weather.get("conditions", "sunny")
        return Reply(text=f"Arrr! The weather in San Francisco be a balmy {temp} degrees Fahrenheit and "
                          f"{conditions}! A perfect day for sailing the seas or wandering the shore! Ye might want "
                          "to dress light, but keep a jacket close by, as the sea breeze can be cool.")
    return Reply(text="Ahoy! Let's see what the weather be like in San Francisco. I'll find that out for ye right "
                      "now! *yo-ho-ho* Calling the weather service for ye!",
                 function_calls=[FunctionCall("get_weather_for_location",
                                              '{"location":"San Francisco, CA","unit":"f"}')])


def make_client(args: argparse.Namespace, simulator: Any) -> RealtimeClient:
    if simulator is not None:
        print("No OPENAI_API_KEY or AZURE_OPENAI_* variables are set: using the local simulator.")
        print(f"Connecting using the local simulator URI: {simulator.base_url}")
        return RealtimeClient(simulator.api_key, endpoint=simulator.base_url)
    azure = os.environ.get("AZURE_OPENAI_ENDPOINT")
    if azure:
        print(f"Connecting using Azure resource URI: {azure}")
        credential = None
        if args.entra:
            from azure.identity import DefaultAzureCredential
            credential = DefaultAzureCredential()
        return RealtimeClient.from_env(credential=credential)
    client = RealtimeClient.from_env()
    print(f"Connecting using OpenAI endpoint: {os.environ.get('OPENAI_BASE_URL') or 'https://api.openai.com/v1'}")
    return client


def want_simulator(args: argparse.Namespace) -> bool:
    if args.simulator:
        return True
    return not (os.environ.get("OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_ENDPOINT"))


def start_simulator(fast: bool) -> Any:
    from realtime_sync.testing import FakeRealtimeServer
    return FakeRealtimeServer(responder=pirate_responder, pace=0.0 if fast else 1.0, allow_beta=True)


def run(client: RealtimeClient, input_path: str, output_path: str, realtime_audio: bool) -> int:
    with client.start_session() as session, open(output_path, "wb") as audio_out:
        session.configure_session(session_options())
        # Sending audio does not block: chunks stream from the session's writer thread while we receive.
        session.send_audio(input_path, realtime=realtime_audio)
        for update in session.receive_updates():
            kind = update.kind
            if kind is UpdateKind.SESSION_CREATED:
                print(f"<<< Session started. ID: {update.session.id}")
                print()
            elif kind is UpdateKind.INPUT_SPEECH_STARTED:
                print(f"  -- Voice activity detection started at {update.audio_start_ms} ms")
            elif kind is UpdateKind.INPUT_SPEECH_STOPPED:
                print(f"  -- Voice activity detection ended at {update.audio_end_ms} ms")
            elif kind is UpdateKind.OUTPUT_ITEM_ADDED:
                print("  -- Begin streaming of new item")
            elif kind in (UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA, UpdateKind.OUTPUT_TEXT_DELTA,
                          UpdateKind.FUNCTION_CALL_ARGUMENTS_DELTA):
                print(update.delta or "", end="", flush=True)
            elif kind is UpdateKind.OUTPUT_AUDIO_DELTA:
                audio_out.write(update.audio)
            elif kind is UpdateKind.OUTPUT_ITEM_DONE:
                item = update.item
                print()
                print(f"  -- Item finished, response_id={update.response_id}")
                if item is not None and item.type == "function_call":
                    print(f"    + Tool invoked by item: {item.name}")  # the session's tool registry answers it
                elif item is not None and item.content:
                    print(f"    + [{item.role}]: {item.text}")
            elif kind is UpdateKind.RESPONSE_DONE:
                response = update.response
                print(f"  -- Model turn generation finished. Status: {response.status}")
                if any(i.type == "function_call" for i in response.output or ()):
                    print("  -- Ending client turn for pending tool responses")  # the registry continues the turn
                else:
                    break
            elif kind is UpdateKind.ERROR:
                print()
                print(f"ERROR: {update.message}")
                return 1
        size = audio_out.tell()
    print(f"Raw output audio written to {output_path}: {size} bytes")
    return 0


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", default=WEATHER_QUESTION_WAV, help="question to send (WAV, default: shipped)")
    parser.add_argument("--output", default="output.raw", help="where the model's raw PCM16 audio goes")
    parser.add_argument("--simulator", action="store_true", help="use the local simulator even with credentials")
    parser.add_argument("--fast", action="store_true", help="simulator: no real-time pacing (finishes at once)")
    parser.add_argument("--entra", action="store_true", help="Azure: authenticate with DefaultAzureCredential")
    args = parser.parse_args(argv)
    simulator = start_simulator(args.fast) if want_simulator(args) else None
    try:
        if simulator is not None:
            simulator.__enter__()
        client = make_client(args, simulator)
        return run(client, args.input, args.output, realtime_audio=simulator is not None and not args.fast)
    except (RealtimeError, OSError) as exc:  # one clear line (no traceback), as the other scripts do
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if simulator is not None:
            simulator.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
