"""Throughput of ``RealtimeSession.receive_updates()`` against a loopback flood of a realistic event mix.

Compared in the same run with (a) a raw websocket-client ``recv()`` + ``json.loads`` loop and (b) openai-python's
synchronous realtime connection (``client.realtime.connect()``, iterating typed events).

The flood server runs in a child process (so it does not share the GIL with the client under test) and writes
pre-built WebSocket frames with ``sendall``: after the handshake it sends ``session.created``, waits for one client
frame, then sends N server events taken from the recorded GA traces (audio deltas restored to 100 ms of audio,
6,400 base64 characters, as the live service sends), cycling through the mix.

The default session carries the feature observers (tool dispatcher, conversation mirror, usage tracker); a fourth
run without them shows what they cost per update.

Usage: python scripts/benchmarks/receive.py [--messages 30000] [--repeat 3]
Targets: realtime_sync >= 0.6x the raw loop, >= 3x openai-python.
"""
import argparse
import base64
import glob
import hashlib
import json
import multiprocessing
import os
import socket
import struct
import sys
import time
from typing import Callable, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

CLIENT_TYPES = {"session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
                "input_audio_buffer.clear", "conversation.item.create", "conversation.item.truncate",
                "conversation.item.delete", "conversation.item.retrieve", "response.create", "response.cancel",
                "output_audio_buffer.clear"}
AUDIO_B64 = base64.b64encode(bytes(range(256)) * 18 + bytes(192)).decode()  # 4,800 bytes = 100 ms PCM16 24 kHz


def event_mix() -> List[str]:
    """Server events of the GA traces, in recorded order, audio deltas at full size."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "traces", "*__ga.jsonl"))):
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            ev = json.loads(line)
            if ev["type"] in CLIENT_TYPES or ev["type"] == "session.created":
                continue
            if ev["type"] == "response.output_audio.delta":
                ev["delta"] = AUDIO_B64
            out.append(json.dumps(ev, separators=(",", ":")))
    return out


def frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


SESSION_CREATED = json.dumps({"type": "session.created", "event_id": "event_0", "session": {
    "type": "realtime", "object": "realtime.session", "id": "sess_bench", "model": "gpt-realtime",
    "output_modalities": ["audio"], "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}},
                                              "output": {"format": {"type": "audio/pcm", "rate": 24000},
                                                         "voice": "marin"}}, "tools": []}})


def flood_server(sock: socket.socket, blob: bytes, connections: int) -> None:
    for _ in range(connections):
        conn, _addr = sock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = b""
        while b"\r\n\r\n" not in req:
            req += conn.recv(4096)
        key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n")
               if ln.lower().startswith(b"sec-websocket-key")][0]
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        conn.sendall(frame(SESSION_CREATED.encode()))
        conn.recv(65536)  # the client's "go" frame
        try:
            conn.sendall(blob)
            conn.settimeout(10)
            while conn.recv(65536):  # until the client closes
                pass
        except OSError:
            pass
        conn.close()


def run_raw(url: str, n: int) -> float:
    import websocket
    ws = websocket.create_connection(url, skip_utf8_validation=True, header={"Authorization": "Bearer sk-bench"})
    json.loads(ws.recv())
    ws.send('{"type":"response.create"}')
    loads, recv = json.loads, ws.recv
    t0 = time.perf_counter()
    for _ in range(n):
        loads(recv())
    dt = time.perf_counter() - t0
    ws.close(timeout=0.2)
    return dt


def run_realtime_sync(url_base: str, n: int, bare: bool = False) -> float:
    from realtime_sync import RealtimeClient
    client = RealtimeClient("sk-bench", endpoint=url_base, ping_interval=None)
    session = client.start_session()
    if bare:  # without the feature observers every session carries (tools, conversation mirror, usage)
        for observer in list(getattr(session, "_observers", ())):
            session.remove_observer(observer)
    it = session.receive_updates()
    next(it)  # session.created
    session.start_response()
    t0 = time.perf_counter()
    for _ in range(n):
        next(it)
    dt = time.perf_counter() - t0
    session.close(timeout=0.2)
    return dt


def run_openai(url_base: str, n: int) -> float:
    from openai import OpenAI
    client = OpenAI(api_key="sk-bench", base_url=url_base.replace("ws://", "http://"),
                    websocket_base_url=url_base)
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.recv()  # session.created
        conn.send({"type": "response.create"})
        recv = conn.recv
        t0 = time.perf_counter()
        for _ in range(n):
            recv()
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=30000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    mix = event_mix()
    events = [mix[i % len(mix)] for i in range(args.messages)]
    blob = b"".join(frame(e.encode()) for e in events)
    mb = len(blob) / 1e6
    runners: List[Tuple[str, Callable[[str, int], float]]] = [
        ("raw websocket-client + json.loads", run_raw),
        ("realtime_sync receive_updates()", run_realtime_sync),
        ("openai-python realtime (sync)", run_openai),
        ("  (realtime_sync, no feature observers)", lambda url, n: run_realtime_sync(url, n, bare=True)),
    ]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = sock.getsockname()[1]
    ctx = multiprocessing.get_context("fork")
    server = ctx.Process(target=flood_server, args=(sock, blob, len(runners) * args.repeat), daemon=True)
    server.start()
    base = f"ws://127.0.0.1:{port}/v1"
    best = {}
    print(f"{args.messages} server events per run ({mb:.1f} MB; mix of {len(mix)} events from the GA traces), "
          f"best of {args.repeat}")
    for _ in range(args.repeat):
        for name, fn in runners:
            target = f"{base}/realtime?model=gpt-realtime" if fn is run_raw else base
            dt = fn(target, args.messages)
            best[name] = min(dt, best.get(name, dt))
    server.join(10)
    rates = {}
    for name, _fn in runners:
        rates[name] = args.messages / best[name]
        print(f"  {name:38s} {rates[name]:10,.0f} msg/s  {mb / best[name]:7.1f} MB/s")
    raw, ours, oai, bare = (rates[r[0]] for r in runners)
    print(f"realtime_sync / raw loop      = {ours / raw:.2f}x  (target >= 0.6x)")
    print(f"realtime_sync / openai-python = {ours / oai:.2f}x  (target >= 3x)")
    print(f"(without the feature observers: {bare / raw:.2f}x the raw loop; the difference is their per-update "
          f"cost on the reader thread)")


if __name__ == "__main__":
    main()
