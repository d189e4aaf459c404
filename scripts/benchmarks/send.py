"""Send throughput: how fast 10 minutes of PCM16 audio reach the server as 100 ms appends.

Against the load server of :mod:`loadserver` (another process, counting the audio it receives), in the same run:

1. a raw websocket-client loop: ``base64`` + ``json.dumps`` + ``ws.send`` per 100 ms chunk, in one thread;
2. realtime_sync: ``session.send_audio(pcm)`` (the I/O thread chunks, encodes and writes) until the handle is done
   and the server has counted every byte;
3. openai-python's sync client: ``conn.input_audio_buffer.append(audio=...)`` per 100 ms chunk.

Reports audio seconds sent per wall second, best of ``--repeat``, and the ratios (target: realtime_sync at least as
fast as the raw loop).

Usage: python scripts/benchmarks/send.py [--minutes 10] [--repeat 3]
"""
import argparse
import base64
import json
import multiprocessing
import os
import sys
import time
from typing import Any, Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import loadserver  # noqa: E402

CHUNK = 4800  # 100 ms of PCM16 24 kHz


def wait_counted(control: Any, index: int, total: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        control.send("stats")
        stats = control.recv()
        if len(stats) > index and stats[index][1] >= total:
            return
        time.sleep(0.002)  # polling the server process's counter
    raise RuntimeError("the server did not receive all the audio")


def run_raw(base: str, pcm: bytes, control: Any, index: int) -> float:
    import websocket

    ws = websocket.create_connection(base.replace("http", "ws") + "/realtime?model=gpt-realtime",
                                     header={"Authorization": "Bearer sk-bench"}, skip_utf8_validation=True)
    ws.recv()  # session.created
    t0 = time.monotonic()
    for pos in range(0, len(pcm), CHUNK):
        ws.send(json.dumps({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(pcm[pos:pos + CHUNK]).decode("ascii")}))
    wait_counted(control, index, len(pcm))
    elapsed = time.monotonic() - t0
    ws.close()
    return elapsed


def run_ours(base: str, pcm: bytes, control: Any, index: int) -> float:
    from realtime_sync import RealtimeClient

    session = RealtimeClient("sk-bench", endpoint=base).start_session(timeout=10)
    t0 = time.monotonic()
    session.send_audio(pcm).wait(120)
    wait_counted(control, index, len(pcm))
    elapsed = time.monotonic() - t0
    session.close()
    return elapsed


def run_openai(base: str, pcm: bytes, control: Any, index: int) -> float:
    from openai import OpenAI

    client = OpenAI(api_key="sk-bench", base_url=base)
    with client.realtime.connect(model="gpt-realtime") as conn:
        t0 = time.monotonic()
        for pos in range(0, len(pcm), CHUNK):
            conn.input_audio_buffer.append(audio=base64.b64encode(pcm[pos:pos + CHUNK]).decode("ascii"))
        wait_counted(control, index, len(pcm))
        return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pcm = os.urandom(int(args.minutes * 60 * 48000) // CHUNK * CHUNK)
    ctx = multiprocessing.get_context("spawn")
    control, child = ctx.Pipe()
    server = ctx.Process(target=loadserver.serve, args=(child,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{control.recv()}/v1"
    runners: List[Any] = [("raw websocket-client loop", run_raw), ("realtime_sync send_audio()", run_ours),
                          ("openai-python input_audio_buffer.append()", run_openai)]
    best: Dict[str, float] = {}
    index = 0
    try:
        for _ in range(args.repeat):
            for name, fn in runners:
                runner: Callable[..., float] = fn
                elapsed = runner(base, pcm, control, index)
                index += 1
                best[name] = min(best.get(name, elapsed), elapsed)
    finally:
        control.send("stop")
        server.join(10)
    audio_s = len(pcm) / 48000.0
    print(f"{audio_s / 60:.0f} min of PCM16 24 kHz as 100 ms appends, best of {args.repeat}")
    for name, _fn in runners:
        print(f"  {name:<45} {audio_s / best[name]:8.0f} audio s per s   ({best[name]:.2f} s)")
    raw, ours, oai = (best[name] for name, _ in runners)
    print(f"realtime_sync / raw loop = {raw / ours:.2f}x faster  (target >= 1x)")
    print(f"realtime_sync / openai-python = {oai / ours:.2f}x faster")


if __name__ == "__main__":
    main()
