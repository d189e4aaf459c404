#!/usr/bin/env python
"""Translate the speech in an audio file with a live translation session; write the translated speech as WAV and
print both transcripts.

With ``OPENAI_API_KEY`` it uses the service (``/v1/realtime/translations``, model ``gpt-realtime-translate``);
with no key, or with ``--simulator``, it starts the embedded simulator, whose translation is a marked stand-in.
Azure OpenAI documents no translation endpoint: with ``AZURE_OPENAI_*`` variables it says so and exits.

    python scripts/translate.py talk.wav --to es [--output talk.es.wav] [--no-source-transcript] [--realtime]

Exit status: 0 done, 1 the translation failed (one ``error:`` line on stderr says why), 2 bad arguments.
"""
import argparse
import os
import sys
from typing import Any, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(HERE, "..", "realtime_sync")):
    sys.path.insert(0, os.path.join(HERE, ".."))

from realtime_sync import RealtimeClient, RealtimeError  # noqa: E402
from realtime_sync.protocol.translation import TRANSLATION_MODEL  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path", help="the audio: a WAV file (any rate, converted) or raw PCM16 24 kHz mono")
    p.add_argument("--to", required=True, metavar="LANG", help="the target language, e.g. es, fr, de")
    p.add_argument("--output", "-o", default=None,
                   help="where to write the translated speech (default: <file name>.<LANG>.wav here)")
    p.add_argument("--no-source-transcript", action="store_true",
                   help="do not ask for the source-language transcript")
    p.add_argument("--noise-reduction", choices=("near_field", "far_field"), default=None,
                   help="input noise reduction (near_field: headset; far_field: laptop or room)")
    p.add_argument("--model", default=TRANSLATION_MODEL, help=f"translation model (default {TRANSLATION_MODEL})")
    p.add_argument("--realtime", action="store_true", help="send the audio at playback speed, as a live talk")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole translation")
    p.add_argument("--simulator", action="store_true", help="use the local simulator even if a key is set")
    return p.parse_args(argv)


def output_path(args: argparse.Namespace) -> str:
    if args.output:
        return str(args.output)
    stem = os.path.splitext(os.path.basename(args.path))[0]
    return f"{stem}.{args.to}.wav"


def make_client(args: argparse.Namespace) -> Any:
    """(client, simulator or None)."""
    have_key = bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_ENDPOINT"))
    if args.simulator or not have_key:
        from realtime_sync.testing import FakeRealtimeServer

        reason = "--simulator given" if args.simulator else "no OPENAI_API_KEY is set"
        server = FakeRealtimeServer(pace=0).start()
        print(f"{reason}: using the local simulator (its translation is a stand-in)", file=sys.stderr)
        return RealtimeClient(server.api_key, endpoint=server.base_url), server
    return RealtimeClient.from_env(), None


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not os.path.isfile(args.path):
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    target = output_path(args)
    if not os.path.isdir(os.path.dirname(os.path.abspath(target))):
        print(f"error: cannot write {target}: no such directory", file=sys.stderr)
        return 2
    server = None
    try:
        client, server = make_client(args)
        result = client.translate_file(args.path, args.to, transcribe_input=not args.no_source_transcript,
                                       noise_reduction=args.noise_reduction, model=args.model, timeout=args.timeout,
                                       realtime=args.realtime)
        result.write_wav(target)
    except RealtimeError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    if not args.no_source_transcript:
        print(f"source: {result.source_text.strip()}")
    print(f"translation ({args.to}): {result.text.strip()}")
    print(f"wrote {target} ({result.duration_ms / 1000:.1f} s, {result.sample_rate} Hz, "
          f"{result.channels} channel{'s' if result.channels != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
