"""CPU cost of a live translation session fed by a 20 ms microphone at real time, translated speech streaming back.

The method of ``duplex.py``, against the load server of :mod:`loadserver` (another process, so its CPU is not
counted; one selector thread) speaking the translation protocol: for every 200 ms frame it receives it answers with
an input and an output transcript fragment and 200 ms of translated audio, so the output runs at the pace of the
input. For ``--seconds`` of wall time each client sends PCM16 24 kHz frames of 20 ms (quiet noise) at real-time
pace, receives every server event, decodes the translated audio into a :class:`~realtime_sync.audio.NullSink`;
the benchmark reports the client process's CPU time (``time.process_time``: all threads) per second of session:

1. realtime_sync: ``client.start_translation("es", transcribe_input=True)``, ``session.send_audio(paced 20 ms
   frames)`` (the session joins them into the engine's 200 ms frames), an observer writing the translated audio to
   the sink, the main thread iterating ``receive_updates()``;
2. openai-python's sync client: ``OpenAI(...).realtime.translations.connect(model=...)``, a sender thread joining
   the 20 ms frames into 200 ms ``session.input_audio_buffer.append`` events (what its docs recommend), the main
   thread iterating the connection's typed events and decoding ``session.output_audio.delta``;
3. the 20 ms frame generator alone (the app's own wake-ups, a floor both pay);
4. realtime_sync through real PyAudio streams (the :class:`~realtime_sync.translation.interpreter.Interpreter`: a
   Microphone on a PulseAudio 440 Hz source, a Speaker on a PulseAudio null sink) on the private daemon of
   ``realtime_sync.testing.pulse``; skipped with a note when unavailable, or with ``--no-pyaudio``.

Usage: python scripts/benchmarks/translate_cpu.py [--seconds 10] [--repeat 2] [--no-pyaudio]
"""
import base64
import os
import sys
import threading
import time
from typing import Any, Iterator, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from duplex import (Measure, Runner, noise_frame, parse_args, receive_openai_audio, report,  # noqa: E402
                    run_all, run_source_alone)

LANGUAGE = "es"
MODEL = "gpt-realtime-translate"


def serve(conn: Any) -> None:
    """Child process: the load server (translation sessions on ``/realtime/translations``)."""
    import loadserver

    server = loadserver.LoadServer()
    conn.send((f"http://127.0.0.1:{server.port}/v1", "sk-load-benchmark"))
    server.run(conn)  # until the parent says stop


def paced(frames: List[bytes]) -> Iterator[bytes]:
    t0 = time.monotonic()
    for i, frame in enumerate(frames):
        delay = t0 + i * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


class Output:
    """The observer of run 1: translated audio into a sink, transcript fragments counted."""

    def __init__(self) -> None:
        from realtime_sync.audio import NullSink

        self.sink = NullSink()
        self.fragments = 0

    def handle_update(self, update: Any) -> None:
        kind = update.type
        if kind == "session.output_audio.delta":
            self.sink.write(update.audio)
        elif kind.endswith("_transcript.delta"):
            self.fragments += 1


def run_ours(base: str, key: str, seconds: float, frames: List[bytes]) -> Measure:
    from realtime_sync import RealtimeClient, RealtimeTimeoutError

    client = RealtimeClient(key, endpoint=base)
    session = client.start_translation(LANGUAGE, transcribe_input=True, model=MODEL, timeout=10)
    out = Output()
    session.add_observer(out)
    m = Measure()
    handle = session.send_audio(paced(frames))
    end = m.wall0 + seconds
    while time.monotonic() < end:
        try:
            for _update in session.receive_updates(timeout=0.1):
                if time.monotonic() >= end:
                    break
        except RealtimeTimeoutError:
            pass
    m.stop()
    m.down_bytes, m.up_bytes = out.sink.total_frames * 2, handle.bytes_sent
    handle.cancel()
    session.close(timeout=2.0)
    return m


def run_openai(base: str, key: str, seconds: float, frames: List[bytes]) -> Measure:
    from openai import OpenAI

    from realtime_sync.audio import NullSink

    client = OpenAI(api_key=key, base_url=base)
    sink = NullSink()
    with client.realtime.translations.connect(model=MODEL) as conn:
        conn.session.update(session={"audio": {"input": {"transcription": {"model": "gpt-realtime-whisper"}},
                                               "output": {"language": LANGUAGE}}})
        for event in conn:
            if event.type == "session.updated":
                break
        m = Measure()
        sent = [0]
        stop = threading.Event()

        def sender() -> None:
            buf = b""
            for chunk in paced(frames):
                if stop.is_set():
                    return
                buf += chunk
                if len(buf) >= 9600:
                    conn.session.input_audio_buffer.append(audio=base64.b64encode(buf[:9600]).decode("ascii"))
                    sent[0] += 9600
                    buf = buf[9600:]

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        receive_openai_audio(conn, "session.output_audio.delta", sink, m.wall0 + seconds)
        m.stop()
        stop.set()
        t.join(2)
        m.down_bytes, m.up_bytes = sink.total_frames * 2, sent[0]
    return m


def run_source(base: str, key: str, seconds: float, frames: List[bytes]) -> Measure:
    return run_source_alone(base, key, seconds, frames[0])


def run_pyaudio(base: str, key: str, seconds: float, frames: List[bytes]) -> Measure:
    """realtime_sync through real PortAudio streams: the Interpreter with a Microphone and a Speaker on PulseAudio."""
    from realtime_sync import RealtimeClient
    from realtime_sync.translation.interpreter import Interpreter

    client = RealtimeClient(key, endpoint=base)
    session = client.start_translation(LANGUAGE, transcribe_input=True, model=MODEL, timeout=10)
    interpreter = Interpreter(session, input_device="pulse", output_device="pulse", echo_policy="full_duplex",
                              quiet=True).start()
    handle = interpreter._handle
    m = Measure()
    up0, down0 = handle.bytes_sent, interpreter.speaker.total_played_frames
    why = interpreter.run(seconds)
    m.stop()
    assert why == "duration", why
    m.down_bytes = int(interpreter.speaker.total_played_frames - down0) * 2
    m.up_bytes = int(handle.bytes_sent - up0)
    interpreter.stop()
    session.close(timeout=2.0)
    return m


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    runners: List[Runner] = [
        ("realtime_sync translation session", run_ours),
        ("openai-python sync translations.connect, 200 ms appends", run_openai),
        ("the 20 ms frame generator alone (no client)", run_source)]
    frames = [noise_frame()] * int((args.seconds + 5) * 50)  # more than the window: input until the measure ends
    results, why = run_all(args, serve, (), runners, frames,
                           ("realtime_sync + PyAudio (Interpreter on PulseAudio)", run_pyaudio))
    print(f"translation session: 20 ms frames in at real time, translated speech and text back; median of "
          f"{args.repeat} x {args.seconds:g} s; client process CPU only (the load server runs in another process)")
    figures = {name: report(name, runs, args.seconds) for name, runs in results.items()}
    ours, oai, source = (figures[runners[i][0]] for i in range(3))
    print(f"realtime_sync / openai-python CPU = {ours / oai:.2f}x")
    print(f"without the app's frame generator ({source * 1000:.1f} ms/s, the same in both): "
          f"{(ours - source) / (oai - source):.2f}x")
    if why:
        print(f"real PyAudio measurement skipped: {why}")


if __name__ == "__main__":
    main()
