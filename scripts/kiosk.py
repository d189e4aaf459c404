#!/usr/bin/env python
"""A voice kiosk: talk with the model through a microphone and a speaker (Raspberry Pi friendly).

Server VAD ends your turns (default), or push-to-talk: press Enter to talk, Enter again to send. Speaking while the
assistant talks interrupts it (barge-in: playback stops, the reply is truncated at what you heard). The state is
printed as it changes: listening, user speaking, thinking, assistant speaking, interrupted.

With ``OPENAI_API_KEY`` (or ``AZURE_OPENAI_ENDPOINT`` + ``AZURE_OPENAI_API_KEY``) it talks to the service; with none
of them, or with ``--simulator``, it starts the local simulator (real-time pacing) and says so.

    python scripts/kiosk.py --list-devices
    python scripts/kiosk.py --input-device "USB" --output-device "USB" --voice alloy
    python scripts/kiosk.py --push-to-talk --echo full_duplex --duration 60
    python scripts/kiosk.py --translate es        # an interpreter: speech in, Spanish speech out

With ``--translate LANG`` it is an interpreter instead: a live translation session hears the microphone and the
speaker plays the translation; what was heard and its translation are printed a sentence at a time.

Ctrl-C (SIGINT) or SIGTERM (systemd) ends it cleanly within a couple of seconds.
"""
import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(HERE, "..", "realtime_sync")):
    sys.path.insert(0, os.path.join(HERE, ".."))

from realtime_sync import RealtimeClient, RealtimeError, SessionOptions, TurnDetection  # noqa: E402
from realtime_sync.protocol.updates import ErrorUpdate  # noqa: E402

STATE_TEXT = {"listening": "listening", "user_speaking": "user speaking", "thinking": "thinking",
              "assistant_speaking": "assistant speaking", "interrupted": "interrupted"}
DEFAULT_INSTRUCTIONS = "You are a friendly kiosk assistant. Answer briefly, in one or two sentences."


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list-devices", action="store_true", help="list audio devices (with their rates) and exit")
    p.add_argument("--input-device", help="microphone: name substring or index (default: the system default)")
    p.add_argument("--output-device", help="speaker: name substring or index (default: the system default)")
    p.add_argument("--input-file", help="use a WAV file as the microphone (played in real time, then silence)")
    p.add_argument("--output-file", help="write the assistant's audio to a WAV file instead of a speaker")
    p.add_argument("--instructions", default=DEFAULT_INSTRUCTIONS, help="system instructions for the model")
    p.add_argument("--voice", default="alloy", help="the model's voice (default alloy)")
    p.add_argument("--model", default=None, help="model / Azure deployment (default gpt-realtime)")
    p.add_argument("--push-to-talk", action="store_true", help="Enter starts talking, Enter again sends")
    p.add_argument("--echo", default="half_duplex",
                   choices=["half_duplex", "full_duplex", "raised_threshold_while_playing"],
                   help="echo policy: half_duplex mutes the mic while the assistant speaks (default; open "
                        "speakers), full_duplex never mutes (headphones or OS echo cancellation)")
    p.add_argument("--tail-ms", type=float, default=300.0, help="half duplex: mute this long after playback")
    p.add_argument("--vad-threshold", type=float, default=None, help="server VAD threshold 0..1 (default 0.5)")
    p.add_argument("--silence-ms", type=int, default=None, help="server VAD silence that ends a turn")
    p.add_argument("--no-barge-in", action="store_true", help="do not interrupt the assistant on user speech")
    p.add_argument("--duration", type=float, default=None, help="exit after this many seconds")
    p.add_argument("--simulator", action="store_true", help="use the local simulator even if a key is set")
    p.add_argument("--quiet-audio", action="store_true", help="hide ALSA/JACK start-up noise on stderr")
    p.add_argument("--translate", metavar="LANG", default=None,
                   help="interpreter mode: translate what is said into LANG (e.g. es) and speak it")
    p.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    args = p.parse_args(argv)
    if args.translate and args.push_to_talk:
        p.error("--translate streams continuously: it does not take --push-to-talk")
    return args


_SAY_LOCK = threading.Lock()


def say(text: str) -> None:
    """One whole line on stdout (the state monitor and the main thread both print)."""
    with _SAY_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def list_audio_devices(quiet: bool) -> int:
    try:
        from realtime_sync.audio import AudioBackendUnavailableError, list_devices
        devices = list_devices(quiet=quiet or None)
    except (ImportError, AudioBackendUnavailableError) as exc:  # type: ignore[misc]
        say(f"cannot list audio devices: {exc}")
        return 2
    if not devices:
        say("no audio devices found (check the sound card, PulseAudio/PipeWire, `arecord -l` / `aplay -l`)")
    for dev in devices:
        say(dev.describe())
    return 0


def make_client(args: argparse.Namespace) -> Any:
    """(client, simulator or None)."""
    have_key = bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_ENDPOINT"))
    if args.simulator or not have_key:
        from realtime_sync.testing import FakeRealtimeServer

        reason = "--simulator given" if args.simulator else "no OPENAI_API_KEY or AZURE_OPENAI_* variables are set"
        server = FakeRealtimeServer(pace=1.0, allow_beta=True).start()
        say(f"{reason}: using the local simulator at {server.base_url} (it answers with synthetic speech)")
        return RealtimeClient(server.api_key, endpoint=server.base_url), server
    kwargs = {"model": args.model} if args.model else {}
    client = RealtimeClient.from_env(**kwargs)
    say(f"connecting to {client.url.split('?')[0]}")
    return client, None


def session_options(args: argparse.Namespace) -> SessionOptions:
    if args.push_to_talk:
        turn = TurnDetection.disabled()
    else:
        turn = TurnDetection.server_vad(threshold=args.vad_threshold, silence_duration_ms=args.silence_ms)
    return SessionOptions(instructions=args.instructions, voice=args.voice, output_modalities=["audio"],
                          turn_detection=turn)


class Transcripts:
    """Interpreter mode: transcript fragments in, one printed line per sentence ("heard: ...", "LANG: ...")."""

    def __init__(self, language: str) -> None:
        from realtime_sync.translation.interpreter import SentenceBuffer

        self.labels = {"source": "heard", "translation": language}
        self.buffers = {kind: SentenceBuffer() for kind in self.labels}

    def add(self, kind: str, fragment: str) -> None:
        for sentence in self.buffers[kind].add(fragment):
            say(f"{self.labels[kind]}: {sentence}")

    def flush(self) -> None:
        for kind, buffer in self.buffers.items():
            rest = buffer.flush()
            if rest:
                say(f"{self.labels[kind]}: {rest}")


def files_as_devices(args: argparse.Namespace, in_format: str = "pcm16", out_format: str = "pcm16") -> Any:
    """(microphone, speaker): ``--input-file`` / ``--output-file`` when given, else None (devices)."""
    from realtime_sync.audio import FileMicrophone, WavFileSink

    mic = FileMicrophone(args.input_file, wire_format=in_format) if args.input_file else None
    speaker = WavFileSink(args.output_file, wire_format=out_format) if args.output_file else None
    return mic, speaker


def start_kiosk(args: argparse.Namespace, client: Any) -> Any:
    """(session, kiosk) of the voice kiosk, started."""
    from realtime_sync.kiosk import KioskAudio

    # The session survives drops and the service's 60-minute limit: say so on the status line.
    client.on_reconnecting(lambda info: say(f"connection lost ({info.why}): reconnecting, attempt "
                                            f"{info.attempt} of {info.max_attempts}"))
    client.on_reconnected(lambda update: say("refreshed the session before it expired" if update.why == "refresh"
                                             else f"reconnected after {update.downtime:.1f} s; conversation "
                                                  f"restored ({update.items_restored} items)"))
    session = client.start_session(session_options(args), timeout=30)
    try:
        info = session.session_info
        mic, speaker = files_as_devices(args, (info and info.input_audio_format) or "pcm16",
                                        (info and info.output_audio_format) or "pcm16")
        kiosk = KioskAudio(session, mic, speaker, input_device=args.input_device, output_device=args.output_device,
                           echo_policy=args.echo, tail_ms=args.tail_ms, barge_in=not args.no_barge_in,
                           push_to_talk=args.push_to_talk, quiet=True if args.quiet_audio else None,
                           close_given=True, on_state=lambda state: say(f"state: {STATE_TEXT.get(state, state)}"))
        kiosk.start()
    except BaseException:
        session.close(timeout=1.0)
        raise
    return session, kiosk


def start_interpreter(args: argparse.Namespace, client: Any) -> Any:
    """(session, interpreter, transcripts) of interpreter mode, started."""
    from realtime_sync.translation.interpreter import Interpreter

    session = client.start_translation(args.translate, transcribe_input=True, timeout=30)
    try:
        transcripts = Transcripts(args.translate)
        mic, speaker = files_as_devices(args)
        interpreter = Interpreter(session, mic, speaker, input_device=args.input_device,
                                  output_device=args.output_device, echo_policy=args.echo, tail_ms=args.tail_ms,
                                  quiet=True if args.quiet_audio else None, close_given=True,
                                  on_text=transcripts.add)
        interpreter.start()
    except BaseException:
        session.close(timeout=1.0)
        raise
    return session, interpreter, transcripts


def read_enter_presses(kiosk: Any, stop: threading.Event) -> None:
    """Push-to-talk on a terminal: every Enter toggles talking (stdin closed, e.g. under systemd: nothing)."""
    while not stop.is_set():
        line = sys.stdin.readline()
        if not line or stop.is_set():
            return
        try:
            say("talking... (Enter to send)" if kiosk.toggle_talk() else "sent")
        except RealtimeError as exc:
            say(f"push-to-talk failed: {exc}")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signals = {"count": 0, "running": False}

    def on_signal(signum: int, frame: Any) -> None:
        signals["count"] += 1
        stop.set()
        if signals["count"] > 1:  # a second Ctrl-C: stop waiting for a clean shutdown
            os._exit(130)
        if not signals["running"]:  # still connecting / opening devices: abort that (bounded cleanup below)
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    session = kiosk = server = transcripts = None
    code = 0
    try:
        client, server = make_client(args)
        if args.translate:
            session, kiosk, transcripts = start_interpreter(args, client)
            say(f"translating into {args.translate}: speak any time; Ctrl-C to quit")
        else:
            session, kiosk = start_kiosk(args, client)
            say("push-to-talk: press Enter to talk, Enter again to send; Ctrl-C to quit" if args.push_to_talk else
                "speak any time; Ctrl-C to quit")
            if args.push_to_talk:
                threading.Thread(target=read_enter_presses, args=(kiosk, stop), name="kiosk-stdin",
                                 daemon=True).start()
        signals["running"] = True
        why = "stopped" if stop.is_set() else kiosk.run(args.duration, on_update=report_errors, stop_event=stop)
        if why == "closed":
            say("the session ended")
    except KeyboardInterrupt:
        say("interrupted while starting")
    except RealtimeError as exc:
        say(f"error: {type(exc).__name__}: {exc}")
        code = 1
    finally:
        signals["running"] = True  # no KeyboardInterrupt during the cleanup
        stop.set()
        t0 = time.monotonic()
        if args.translate and session is not None:  # the rest of the translation, before the devices close
            session.close(timeout=2.0)
        if kiosk is not None:
            kiosk.stop(timeout=2.0)
        if session is not None:
            session.close(timeout=1.0)
        if transcripts is not None:
            transcripts.flush()
        if server is not None:
            server.stop(timeout=1.0)
        logging.getLogger("realtime_sync.kiosk").debug("shutdown took %.2f s", time.monotonic() - t0)
    say("bye")
    return code


def report_errors(update: Any) -> None:
    if isinstance(update, ErrorUpdate):
        say(f"server error: {update.code or update.error_type}: {update.message}")


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.quiet_audio:
        os.environ.setdefault("REALTIME_SYNC_QUIET_AUDIO", "1")
    if args.list_devices:
        return list_audio_devices(args.quiet_audio)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
