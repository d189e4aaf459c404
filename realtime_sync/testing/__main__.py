"""``python -m realtime_sync.testing --port 8080``: run the simulator standalone until Ctrl-C (or SIGTERM).

It prints the endpoints and the API key to use, one per line, then ``ready``. Besides realtime sessions it serves
live translation sessions (``/v1/realtime/translations?model=gpt-realtime-translate``, printed as ``translations:``)
and their client secrets (``POST /v1/realtime/translations/client_secrets``).

``--place-call URL --webhook-secret whsec_...`` also places one SIP call to the app whose webhook is ``URL`` (the app
answers it through this simulator: start it with a fixed ``--port`` and ``--api-key``). It prints ``call: <id>``,
then, when the call ends, ``ended: <state> by <who>`` (plus ``rejected: <SIP status>`` / ``referred: <uri>`` /
``webhook: <error>``) and one ``assistant: <text>`` line per thing the assistant said, and exits: 0 when the app
accepted the call, 1 otherwise.
"""
import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from ..errors import RealtimeError, RealtimeTimeoutError
from .server import FakeRealtimeServer

__all__ = ["main"]


def load_responder(spec: str) -> Any:
    """The callable named by ``module:attr`` (``attr`` may be dotted)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError("expected MODULE:ATTR, e.g. myapp.sim:responder")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a callable")
    return obj


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m realtime_sync.testing",
                                description="Local simulator of the OpenAI / Azure OpenAI Realtime API: realtime and "
                                "transcription sessions on /v1/realtime, live translation sessions on "
                                "/v1/realtime/translations (the synthetic speech of 'good morning' comes back as "
                                "'[es] good morning'), client secrets for both.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0: pick a free one; default 8080)")
    p.add_argument("--api-key", default=None, help="key clients must send (default: a random sk-test-... key)")
    p.add_argument("--pace", type=float, default=1.0,
                   help="1 = real time (default), 0 = as fast as possible, 0.5 = twice as fast")
    p.add_argument("--allow-beta", action="store_true",
                   help="serve the beta protocol on /v1/realtime (by default it is refused like today's OpenAI: "
                        "beta_api_shape_disabled, close 4000)")
    p.add_argument("--any-model", action="store_true", help="accept any model name on OpenAI paths")
    p.add_argument("--responder", default=None, metavar="MODULE:ATTR",
                   help="the responder to use, e.g. myapp.sim:responder (a callable; default: the built-in one)")
    p.add_argument("--translator", default=None, metavar="MODULE:ATTR",
                   help="the translator of translation sessions, a callable (text, language) -> translated text "
                        "(default: the phrase marked with its language, '[es] good morning')")
    p.add_argument("--validate", action="store_true", help="log events that fail the strict schema")
    p.add_argument("--exit-after", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    call = p.add_argument_group("placing a SIP call", "the simulator's phone calls an app, then exits when the call "
                                "ends (see realtime_sync.testing.phone)")
    call.add_argument("--place-call", metavar="URL", default=None,
                      help="POST a signed realtime.call.incoming webhook to URL and play a caller into the call")
    call.add_argument("--webhook-secret", metavar="WHSEC", default=None,
                      help="the secret the webhook is signed with (default: $OPENAI_WEBHOOK_SECRET)")
    call.add_argument("--caller", default="+15550100", help="the caller's number (default +15550100)")
    call.add_argument("--audio", metavar="WAV", default=None, help="what the caller says (a WAV file)")
    call.add_argument("--say", metavar="TEXT", default=None,
                      help="what the caller says, as speech-like audio the length of TEXT (instead of --audio)")
    call.add_argument("--dtmf", default="", help="keys the caller presses after speaking, e.g. 12#")
    call.add_argument("--no-greeting", action="store_true",
                      help="the caller speaks as soon as the app attaches (default: after its first response)")
    call.add_argument("--call-timeout", type=float, default=30.0,
                      help="how long the caller waits for each step: accept, attach, greeting, answer (default 30)")
    call.add_argument("--hangup-after", type=float, default=None, metavar="SECONDS",
                      help="the caller hangs up this long after speaking and pressing keys (default: wait for the "
                           "app to end the call)")
    return p


def _place_call(server: FakeRealtimeServer, args: argparse.Namespace, stop: threading.Event) -> int:
    from .phone import place_call
    from .synth import synthesize

    secret = args.webhook_secret or os.environ.get("OPENAI_WEBHOOK_SECRET")
    if not secret:
        print("error: --place-call needs --webhook-secret (or OPENAI_WEBHOOK_SECRET)", file=sys.stderr)
        return 2
    audio: Any = args.audio
    if args.say:
        audio = synthesize(args.say, "pcm16")
    try:
        call = place_call(server, args.place_call, secret, caller=args.caller, audio=audio, dtmf=args.dtmf,
                          timeout=args.call_timeout, wait_for_greeting=not args.no_greeting)
    except (ValueError, TypeError, OSError, RealtimeError) as exc:
        print(f"error: --place-call: {exc}", file=sys.stderr)
        return 2
    print(f"call: {call.call_id}", flush=True)
    deadline = None if args.exit_after is None else time.monotonic() + args.exit_after
    hangup_at: Optional[float] = None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        try:
            call.wait_ended(0.2)
            break
        except RealtimeTimeoutError:
            pass
        if args.hangup_after is not None and hangup_at is None and call.script_done:
            hangup_at = time.monotonic() + args.hangup_after
        if hangup_at is not None and time.monotonic() >= hangup_at:
            call.hangup()
    if not call.sim_call.ended:
        call.hangup()
    print(f"ended: {call.state} by {call.ended_by}", flush=True)
    if call.webhook_error:
        print(f"webhook: {call.webhook_error}", flush=True)
    if call.reject_status is not None:
        print(f"rejected: {call.reject_status}", flush=True)
    if call.referred_to is not None:
        print(f"referred: {call.referred_to}", flush=True)
    for reply in call.replies:
        print(f"assistant: {reply}", flush=True)
    return 0 if call.accepted_session is not None else 1


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kwargs: Dict[str, Any] = {} if not args.any_model else {"models": None}
    for option, name in (("responder", args.responder), ("translator", args.translator)):
        if not name:
            continue
        try:
            kwargs[option] = load_responder(name)
        except (ImportError, AttributeError, ValueError, TypeError) as exc:
            print(f"error: --{option} {name}: {exc}", file=sys.stderr)
            return 2
    server = FakeRealtimeServer(host=args.host, port=args.port, api_key=args.api_key, pace=args.pace,
                                allow_beta=args.allow_beta, validate=args.validate, **kwargs)
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server.start()
    try:
        print(f"base_url: {server.base_url}", flush=True)
        print(f"azure_endpoint: {server.azure_endpoint}", flush=True)
        print(f"websocket: {server.url()}", flush=True)
        print(f"translations: {server.translation_url()}", flush=True)
        print(f"api_key: {server.api_key}", flush=True)
        print("ready", flush=True)
        if args.place_call:
            return _place_call(server, args, stop)
        stop.wait(args.exit_after)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
