"""CPU cost of full-duplex real-time audio: 20 ms microphone frames up while the model's audio streams down.

The simulator (:class:`realtime_sync.testing.FakeRealtimeServer`, real-time pacing) runs in a child process so its
CPU is not counted; it answers one ``response.create`` with a long spoken reply whose audio it streams at real time
(250 ms ahead, in the service's delta sizes). For ``--seconds`` of wall time each client

- sends PCM16 24 kHz frames of 20 ms (quiet noise) at real-time pace as ``input_audio_buffer.append``, and
- receives every server event, decodes the audio deltas and writes them to a :class:`~realtime_sync.audio.NullSink`;

and the benchmark reports the client process's CPU time (``time.process_time``: all threads) per second of audio:

1. realtime_sync: ``session.send_audio(paced 20 ms frames)`` + ``session.play_audio(NullSink())``, the main
   thread iterating ``receive_updates()``; ``send_audio`` joins the frames into its default 100 ms appends (what
   the service recommends; a microphone's frames reach the server at most 80 ms later), and again forced to one
   20 ms append per frame (``chunk_ms=20``), the same wire traffic as openai-python;
2. openai-python's sync client: ``OpenAI(...).realtime.connect()``, a sender thread calling
   ``conn.input_audio_buffer.append()`` every 20 ms, the main thread iterating the connection's typed events and
   decoding ``response.output_audio.delta`` (target: realtime_sync <= 0.2x its CPU; the frame generator alone is
   measured too, since its own wake-ups are a floor that both clients pay);
3. the floor: no library, raw websocket-client in the same shape (a sender thread joins the frames into 100 ms
   appends and sends each itself; the main thread receives, parses the JSON and decodes the audio): what any client
   built on websocket-client pays at least, so what the 0.2x target leaves for the library is visible; and below
   it, the cost of the traffic alone: the same socket, pre-encoded append frames written every 100 ms and the
   received bytes read and thrown away (no JSON, no base64, no WebSocket parsing: only the system calls and the
   threads' wake-ups);
4. realtime_sync through real PyAudio streams (``KioskAudio``: a Microphone on a 440 Hz PulseAudio source, a
   Speaker on a PulseAudio null sink), using the private daemon of ``realtime_sync.testing.pulse`` (needs ``pulseaudio``
   and ``libasound2-plugins``; skipped with a note when unavailable, or with ``--no-pyaudio``).

Usage: python scripts/benchmarks/duplex.py [--seconds 10] [--repeat 2] [--no-pyaudio]   (about 90 s with the defaults)
"""
import argparse
import base64
import multiprocessing
import os
import random
import socket
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

FRAME_MS = 20
FRAME_BYTES = 24000 * 2 * FRAME_MS // 1000
SENTENCE = "The quick brown fox jumps over the lazy dog, and then it runs back home again. "


def long_reply(seconds: float) -> str:
    from realtime_sync.testing import synthesize

    text = SENTENCE
    while len(synthesize(text)) / 48000.0 < seconds + 5:
        text += SENTENCE
    return text.strip()


def serve(seconds: float, conn: Any) -> None:
    """Child process: the simulator answering every response with a reply longer than ``seconds``."""
    from realtime_sync.testing import FakeRealtimeServer

    reply = long_reply(seconds)
    server = FakeRealtimeServer(pace=1.0, responder=lambda ctx: reply, rate_limits=False).start()
    conn.send((server.base_url, server.api_key))
    conn.recv()  # until the parent says stop
    server.stop()


def noise_frame() -> bytes:
    rnd = random.Random(7)
    return b"".join(rnd.randint(-40, 40).to_bytes(2, "little", signed=True) for _ in range(FRAME_BYTES // 2))


def paced_frames(seconds: float, frame: bytes) -> Iterator[bytes]:
    t0 = time.monotonic()
    for i in range(int(seconds * 1000 / FRAME_MS)):
        delay = t0 + i * FRAME_MS / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


class Measure:
    """CPU and wall time of the measured window, plus the audio moved each way."""

    def __init__(self) -> None:
        self.cpu0 = time.process_time()
        self.wall0 = time.monotonic()
        self.cpu = self.wall = 0.0
        self.down_bytes = 0
        self.up_bytes = 0

    def stop(self) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.monotonic() - self.wall0

    @property
    def per_second(self) -> float:
        return self.cpu / self.wall


def options() -> Any:
    from realtime_sync import SessionOptions, TurnDetection

    return SessionOptions(output_modalities=["audio"], turn_detection=TurnDetection.disabled())


def run_ours_20(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    return run_ours(base, key, seconds, frame, append_ms=FRAME_MS)


def run_ours(base: str, key: str, seconds: float, frame: bytes, append_ms: int = 100) -> Measure:
    from realtime_sync import RealtimeClient, RealtimeTimeoutError
    from realtime_sync.audio import NullSink

    session = RealtimeClient(key, endpoint=base).start_session(options(), timeout=10)
    sink = NullSink()
    session.play_audio(sink, barge_in=False)
    m = Measure()
    session.start_response()
    handle = session.send_audio(paced_frames(seconds, frame), chunk_ms=append_ms)
    end = m.wall0 + seconds
    while time.monotonic() < end:
        try:
            for _update in session.receive_updates(timeout=max(0.01, end - time.monotonic())):
                if time.monotonic() >= end:
                    break
        except RealtimeTimeoutError:
            pass
    m.stop()
    m.down_bytes, m.up_bytes = sink.total_frames * 2, handle.bytes_sent
    session.close(timeout=1.0)
    return m


def run_openai(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    from openai import OpenAI

    from realtime_sync.audio import NullSink

    client = OpenAI(api_key=key, base_url=base)
    sink = NullSink()
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["audio"],
                                     "audio": {"input": {"turn_detection": None}}})
        for event in conn:
            if event.type == "session.updated":
                break
        m = Measure()
        sent = [0]

        def sender() -> None:
            for chunk in paced_frames(seconds, frame):
                conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode("ascii"))
                sent[0] += len(chunk)

        t = threading.Thread(target=sender, daemon=True)
        conn.response.create()
        t.start()
        receive_openai_audio(conn, "response.output_audio.delta", sink, m.wall0 + seconds)
        m.stop()
        t.join(2)
        m.down_bytes, m.up_bytes = sink.total_frames * 2, sent[0]
    return m


def receive_openai_audio(conn: Any, delta_type: str, sink: Any, end: float) -> None:
    """openai-python's receive loop of the benchmarks: iterate the connection's typed events until ``end``
    (monotonic), decoding each ``delta_type`` event's audio into ``sink``."""
    for event in conn:
        if event.type == delta_type:
            sink.write(base64.b64decode(event.delta))
        if time.monotonic() >= end:
            break


def raw_session(base: str, key: str) -> Any:
    """A websocket-client connection to the simulator, configured as the other clients are (audio out, no VAD)."""
    import json

    import websocket

    ws = websocket.create_connection(base.replace("http", "ws", 1) + "/realtime?model=gpt-realtime",
                                     header={"Authorization": f"Bearer {key}"}, skip_utf8_validation=True)
    ws.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "output_modalities": ["audio"], "audio": {"input": {"turn_detection": None}}}}))
    while json.loads(ws.recv())["type"] != "session.updated":
        pass
    return ws


def run_raw_floor(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    """No library: raw websocket-client, a sender thread joining 5 frames per append, the main thread receiving."""
    import json

    from realtime_sync.audio import NullSink

    ws = raw_session(base, key)
    sink = NullSink()
    m = Measure()
    sent = [0]

    def sender() -> None:
        joined = bytearray()
        for chunk in paced_frames(seconds, frame):
            joined += chunk
            if len(joined) >= 5 * len(frame):
                ws.send('{"type":"input_audio_buffer.append","audio":"%s"}' % base64.b64encode(joined).decode())
                sent[0] += len(joined)
                joined.clear()

    t = threading.Thread(target=sender, daemon=True)
    ws.send('{"type":"response.create"}')
    t.start()
    end = m.wall0 + seconds
    while time.monotonic() < end:
        event = json.loads(ws.recv())
        if event["type"] == "response.output_audio.delta":
            sink.write(base64.b64decode(event["delta"]))
    m.stop()
    t.join(2)
    m.down_bytes, m.up_bytes = sink.total_frames * 2, sent[0]
    ws.close(timeout=0.5)
    return m


def run_traffic_only(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    """The same traffic with no work at all: websocket-client only for the handshake, then its raw socket."""
    from realtime_sync._connection.frames import OP_TEXT, encode_frame

    ws = raw_session(base, key)
    append = encode_frame(OP_TEXT, ('{"type":"input_audio_buffer.append","audio":"%s"}'
                                    % base64.b64encode(frame * 5).decode()).encode())
    sock = ws.sock
    m = Measure()
    sent = [0]

    def sender() -> None:
        for i, _chunk in enumerate(paced_frames(seconds, frame)):
            if i % 5 == 4:
                sock.sendall(append)
                sent[0] += 5 * len(frame)

    t = threading.Thread(target=sender, daemon=True)
    ws.send('{"type":"response.create"}')
    t.start()
    end = m.wall0 + seconds
    received = 0
    sock.settimeout(0.5)
    while time.monotonic() < end:
        try:
            received += len(sock.recv(262144))
        except socket.timeout:
            pass
    m.stop()
    t.join(2)
    m.down_bytes, m.up_bytes = received * 3 // 4, sent[0]  # base64 inside JSON: about 3/4 of it is audio
    ws.close(timeout=0.5)
    return m


def run_source_alone(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    """The app's share: the paced 20 ms frame generator alone, in a thread, with no client at all."""
    m = Measure()
    t = threading.Thread(target=lambda: [None for _ in paced_frames(seconds, frame)])
    t.start()
    t.join()
    m.stop()
    return m


def run_pyaudio(base: str, key: str, seconds: float, frame: bytes) -> Measure:
    """realtime_sync through real PortAudio streams: KioskAudio with a Microphone and a Speaker on PulseAudio."""
    from realtime_sync import RealtimeClient
    from realtime_sync.kiosk import KioskAudio

    session = RealtimeClient(key, endpoint=base).start_session(options(), timeout=10)
    kiosk = KioskAudio(session, input_device="pulse", output_device="pulse", echo_policy="full_duplex",
                       barge_in=False, quiet=True).start()
    handle = kiosk._send_handle
    m = Measure()
    up0, down0 = handle.bytes_sent, kiosk.speaker.total_played_frames
    session.start_response()
    why = kiosk.run(seconds)
    m.stop()
    assert why == "duration", why
    m.down_bytes = int(kiosk.speaker.total_played_frames - down0) * 2
    m.up_bytes = int(handle.bytes_sent - up0)
    kiosk.stop()
    session.close(timeout=1.0)
    return m


def start_pulse() -> Tuple[Optional[Any], str]:
    from realtime_sync.audio import AudioBackendUnavailableError
    from realtime_sync.audio.devices import import_pyaudio

    try:
        import_pyaudio()
    except AudioBackendUnavailableError as exc:
        return None, f"PyAudio is not importable ({exc})"
    from realtime_sync.testing.pulse import SINE_SOURCE, PulseDaemon, PulseUnavailable

    try:
        daemon = PulseDaemon.start()
    except PulseUnavailable as exc:
        return None, str(exc)
    os.environ.update(daemon.env())
    daemon.set_default_source(SINE_SOURCE)
    return daemon, ""


def report(name: str, runs: List[Measure], seconds: float) -> float:
    per = statistics.median(m.per_second for m in runs)
    down = statistics.median(m.down_bytes for m in runs) / 48000.0
    up = statistics.median(m.up_bytes for m in runs) / 48000.0
    print(f"  {name:52s} {per * 1000:7.1f} ms CPU per audio second   "
          f"(up {up:5.1f} s, down {down:5.1f} s of audio in {seconds:g} s)")
    return per


def parse_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each measured exchange")
    ap.add_argument("--repeat", type=int, default=2, help="runs per client (the median is reported)")
    ap.add_argument("--no-pyaudio", action="store_true", help="skip the real PyAudio measurement")
    return ap.parse_args()


Runner = Tuple[str, Callable[..., Measure]]


def run_all(args: argparse.Namespace, serve: Callable[..., None], serve_args: Tuple[Any, ...],
            runners: List[Runner], payload: Any, pyaudio: Runner) -> Tuple[Dict[str, List[Measure]], str]:
    """Start ``serve(*serve_args, conn)`` in a child process (it sends back ``(base_url, api_key)``) and the
    private PulseAudio daemon (then ``pyaudio`` runs too), run every runner ``args.repeat`` times with
    ``(base, key, seconds, payload)``, stop everything. Returns the measures by name and why PyAudio was skipped
    ("" when it ran)."""
    os.environ.setdefault("REALTIME_SYNC_QUIET_AUDIO", "1")
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(*serve_args, child), daemon=True)
    server.start()
    base, key = parent.recv()
    pulse, why = (None, "--no-pyaudio") if args.no_pyaudio else start_pulse()
    runners = runners + ([pyaudio] if pulse is not None else [])
    results: Dict[str, List[Measure]] = {name: [] for name, _ in runners}
    try:
        for _ in range(args.repeat):
            for name, fn in runners:
                results[name].append(fn(base, key, args.seconds, payload))
    finally:
        parent.send("stop")
        server.join(10)
        if pulse is not None:
            pulse.stop()
    return results, why


def main() -> None:
    args = parse_args(__doc__.split("\n\n")[0])
    runners: List[Runner] = [
        ("realtime_sync (default: 100 ms appends)", run_ours), ("openai-python sync client, 20 ms appends", run_openai),
        ("realtime_sync forced to 20 ms appends (chunk_ms=20)", run_ours_20),
        ("the 20 ms frame generator alone (no client)", run_source_alone),
        ("floor: raw websocket-client, no library, 100 ms appends", run_raw_floor),
        ("the traffic alone: raw socket, nothing parsed or encoded", run_traffic_only)]
    results, why = run_all(args, serve, (args.seconds,), runners, noise_frame(),
                           ("realtime_sync + PyAudio (KioskAudio on PulseAudio)", run_pyaudio))
    print(f"full-duplex audio, {FRAME_MS} ms frames up and the model's audio down, both at real time; "
          f"median of {args.repeat} x {args.seconds:g} s; client process CPU only (the simulator runs in another "
          f"process)")
    figures = {name: report(name, runs, args.seconds) for name, runs in results.items()}
    ours, oai, ours20, source, floor, traffic = (figures[runners[i][0]] for i in range(6))
    print(f"realtime_sync / openai-python CPU = {ours / oai:.2f}x  (target <= 0.2x; the same 20 ms frames in, "
          f"sent as the library's default 100 ms appends)")
    print(f"without the app's frame generator (its own wake-ups, {source * 1000:.1f} ms/s, the same in both): "
          f"{(ours - source) / (oai - source):.2f}x")
    print(f"realtime_sync forced to 20 ms appends / openai-python = {ours20 / oai:.2f}x")
    print(f"the floor (raw websocket-client, no library) / openai-python = {floor / oai:.2f}x; realtime_sync / floor "
          f"= {ours / floor:.2f}x")
    print(f"the traffic alone (system calls and wake-ups, nothing parsed) / openai-python = {traffic / oai:.2f}x")
    if why:
        print(f"real PyAudio measurement skipped: {why}")


if __name__ == "__main__":
    main()
