"""``python -m realtime_sync.testing --port 8080``: run the simulator standalone until Ctrl-C (or SIGTERM).

It prints the endpoints and the API key to use, one per line, then ``ready``. Besides realtime sessions it serves
live translation sessions (``/v1/realtime/translations?model=gpt-realtime-translate``, printed as ``translations:``)
and their client secrets (``POST /v1/realtime/translations/client_secrets``).
"""
import argparse
import importlib
import logging
import signal
import sys
import threading
from typing import Any, Dict, List, Optional

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
    return p


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
        stop.wait(args.exit_after)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
