#!/usr/bin/env python
"""Transcribe a WAV file with a Realtime transcription session and print the transcript.

With ``OPENAI_API_KEY`` (or ``AZURE_OPENAI_ENDPOINT`` + ``AZURE_OPENAI_API_KEY``, or ``--entra``) it uses the
service (GA: ``?intent=transcription``, ``session.type = "transcription"``; Azure preview: beta
``transcription_session.update``); with none of them it starts the embedded simulator (a transcription session
too), which names the audio's length instead of recognising speech.

    python scripts/transcribe.py question.wav [--model gpt-4o-transcribe] [--language en] [--vad] [--segments]
"""
import argparse
import os
import sys
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(HERE, "..", "realtime_sync")):
    sys.path.insert(0, os.path.join(HERE, ".."))

from realtime_sync import RealtimeClient, RealtimeError, TurnDetection  # noqa: E402
from realtime_sync.protocol.transcription import TranscriptionOptions  # noqa: E402
from realtime_sync.transcription import transcribe_file  # noqa: E402


def want_simulator(args: argparse.Namespace) -> bool:
    return args.simulator or not (os.environ.get("OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_ENDPOINT"))


def make_client(args: argparse.Namespace, simulator: Any) -> RealtimeClient:
    if simulator is not None:
        print("No OPENAI_API_KEY or AZURE_OPENAI_* variables are set: using the local simulator.", file=sys.stderr)
        return RealtimeClient(simulator.api_key, endpoint=simulator.base_url, protocol=args.protocol)
    credential = None
    if args.entra:
        from azure.identity import DefaultAzureCredential
        credential = DefaultAzureCredential()
    return RealtimeClient.from_env(credential=credential)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the WAV file (or raw PCM16 24 kHz mono) to transcribe")
    parser.add_argument("--model", default="gpt-4o-mini-transcribe", help="transcription model")
    parser.add_argument("--language", default=None, help="ISO-639-1 language of the audio, e.g. en")
    parser.add_argument("--prompt", default=None, help="text to guide the transcription (names, terms)")
    parser.add_argument("--vad", action="store_true",
                        help="let server VAD cut the audio into segments (default: one manual commit)")
    parser.add_argument("--segments", action="store_true", help="print one line per segment")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the transcript")
    parser.add_argument("--simulator", action="store_true", help="use the local simulator even with credentials")
    parser.add_argument("--entra", action="store_true", help="Azure: authenticate with DefaultAzureCredential")
    parser.add_argument("--protocol", choices=("ga", "beta"), default="ga",
                        help="protocol spoken with the simulator (the service's follows its variables)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.path):
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    options = TranscriptionOptions(model=args.model, language=args.language, prompt=args.prompt,
                                   turn_detection=None if args.vad else TurnDetection.disabled())
    simulator = None
    if want_simulator(args):
        from realtime_sync.testing import FakeRealtimeServer
        simulator = FakeRealtimeServer(pace=0, allow_beta=True).start()  # --protocol beta is asked for explicitly
    try:
        client = make_client(args, simulator)
        with client.start_session(intent="transcription") as session:
            result = transcribe_file(session, args.path, timeout=args.timeout, options=options)
    except RealtimeError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if simulator is not None:
            simulator.stop()
    if args.segments:
        for segment in result.segments:
            print(segment.text.strip() if segment.status == "completed" else f"[{segment.status}: {segment.error}]")
    else:
        print(result.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
