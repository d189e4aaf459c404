"""Scale: N concurrent full-duplex sessions in one client process, against a load server in another process.

Each session streams 20 ms microphone frames up in real time and receives 100 ms audio deltas (the load server,
:mod:`loadserver`, sends one per session every 100 ms, phases spread over the period), with one app thread per
session iterating ``receive_updates()`` and decoding the audio. The frames come from one "sound card" thread that
writes a 20 ms frame into every session's ``session.stream_audio()`` every 20 ms (as a PortAudio callback would);
the library joins them into 100 ms appends. For each N, in a fresh client process, after a warm-up:

- client CPU (all threads, ``time.process_time``) as a percentage of one core, and per session;
- threads: total, the library's (the shared I/O thread counts once), per session;
- RSS added per session (VmRSS with the N sessions streaming, minus before the first session);
- delivery lag of the audio deltas (server send time to the app thread's ``next()``): p50, p99, max;
- whether every session got all its audio, down and up (counted by both ends after the streams close).

Targets (issue 10): at 500 sessions, CPU at most 100% of one core, p99 lag at most 50 ms, all audio delivered, at
most 1 MB RSS and at most 1 library thread per session. Earlier figures on this machine (two threads per session
and a writer): 100 sessions at 0.46% of a core each with 3 library threads each and p99 63 ms; 300 sessions at
133% of a core with p99 2.7 s.

Usage: python scripts/benchmarks/scale.py [--sessions 10,100,300,500] [--seconds 10]
"""
import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FRAME = b"\x01\x00" * 480  # 20 ms of PCM16 24 kHz


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def thread_ticks() -> Dict[int, int]:
    """CPU time in ns of each thread of this process (``schedstat``: finer than the clock ticks of ``stat``)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def cpu_by_role(before: Dict[int, int], after: Dict[int, int], wall: float) -> Dict[str, float]:
    """% of a core per kind of thread: the I/O thread, the session reader threads, the app threads, the rest."""
    roles: Dict[str, float] = {}
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None or tid not in after:
            continue
        name = t.name
        role = ("io" if name == "realtime_sync-io" else "readers" if name.endswith("-reader")
                else "apps" if name.startswith("app-") else name)
        roles[role] = roles.get(role, 0.0) + 100 * (after[tid] - before.get(tid, 0)) / 1e9 / wall
    return roles


def percentile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def worker(n: int, seconds: float, warmup: float) -> Dict[str, Any]:
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    import loadserver
    from realtime_sync import RealtimeClient, RealtimeTimeoutError, UpdateKind

    ctx = multiprocessing.get_context("spawn")
    control, child = ctx.Pipe()
    server = ctx.Process(target=loadserver.serve, args=(child,), daemon=True)
    server.start()
    port = control.recv()
    rss0 = rss_kb()
    client = RealtimeClient("sk-load", endpoint=f"http://127.0.0.1:{port}/v1", connect_timeout=60)
    sessions = [client.start_session() for _ in range(n)]
    streams = [s.stream_audio() for s in sessions]
    measuring = threading.Event()
    stop = threading.Event()
    lags: List[List[float]] = [[] for _ in range(n)]
    received = [0] * n
    deltas = [0] * n

    def app(i: int) -> None:  # what an app does with its session: iterate, play (here: decode and count)
        lag, session = lags[i], sessions[i]
        it = session.receive_updates(timeout=0.5)
        while not stop.is_set():
            try:
                update = next(it)
            except RealtimeTimeoutError:
                continue
            except StopIteration:
                return
            if update.kind is UpdateKind.OUTPUT_AUDIO_DELTA:
                now = time.monotonic()
                received[i] += len(update.audio)  # type: ignore[attr-defined]
                deltas[i] += 1
                if measuring.is_set():
                    lag.append(now - float(update.event_id[1:]))  # type: ignore[index]

    written = [0]

    def sound_card() -> None:  # one 20 ms frame into every stream every 20 ms, on an absolute schedule
        t0 = time.monotonic()
        k = 0
        while not stop.is_set():
            for stream in streams:
                stream.write(FRAME)
            written[0] += len(FRAME)
            k += 1
            delay = t0 + k * 0.02 - time.monotonic()
            if delay > 0:
                stop.wait(delay)

    apps = [threading.Thread(target=app, args=(i,), name=f"app-{i}", daemon=True) for i in range(n)]
    for t in apps:
        t.start()
    mic = threading.Thread(target=sound_card, name="sound-card", daemon=True)
    mic.start()
    control.send("start")
    time.sleep(warmup)  # the measurement window's start (not a synchronisation)
    measuring.set()
    cpu0, wall0, ticks0 = time.process_time(), time.monotonic(), thread_ticks()
    time.sleep(seconds)  # the measurement window
    cpu, wall, ticks1 = time.process_time() - cpu0, time.monotonic() - wall0, thread_ticks()
    by_thread = cpu_by_role(ticks0, ticks1, wall)
    measuring.clear()
    rss1 = rss_kb()
    names = [t.name for t in threading.enumerate()]
    library = [name for name in names if name.startswith("realtime")]
    shared = [name for name in library if name == "realtime_sync-io"]  # one per process, whatever N
    control.send("pause")
    stop.set()
    mic.join(5)
    for stream in streams:
        stream.close()
    uplink_done = all(stream.wait(10) for stream in streams)
    deadline = time.monotonic() + 15
    control.send("stats")
    stats = control.recv()
    while time.monotonic() < deadline and (any(deltas[i] < stats[i][0] for i in range(n))
                                           or any(stats[i][1] < streams[i].bytes_sent for i in range(n))):
        time.sleep(0.05)  # polling two processes' counters at the end of the run
        control.send("stats")
        stats = control.recv()
    down_ok = all(deltas[i] == stats[i][0] and received[i] == 4800 * stats[i][0] for i in range(n))
    up_ok = uplink_done and all(stats[i][1] == streams[i].bytes_sent == written[0] for i in range(n))
    for s in sessions:
        s.close(timeout=2)
    control.send("stop")
    server.join(10)
    all_lags = [x for lag in lags for x in lag]
    return {
        "sessions": n, "cpu_pct": 100 * cpu / wall, "cpu_pct_per_session": 100 * cpu / wall / n,
        "threads": len(names), "library_threads": len(library), "shared_threads": len(shared),
        "library_threads_per_session": (len(library) - len(shared)) / n,
        "rss_kb_per_session": (rss1 - rss0) / n, "lag_p50_ms": 1000 * percentile(all_lags, 0.5),
        "lag_p99_ms": 1000 * percentile(all_lags, 0.99), "lag_max_ms": 1000 * max(all_lags or [float("nan")]),
        "lag_samples": len(all_lags), "audio_down_complete": down_ok, "audio_up_complete": up_ok,
        "mean_lag_ms": 1000 * statistics.mean(all_lags) if all_lags else float("nan"),
        "cpu_pct_by_thread": {k: round(v, 1) for k, v in by_thread.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="10,100,300,500", help="comma-separated values of N")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window per N")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.seconds, args.warmup)))
        return
    rows = []
    for n in [int(x) for x in args.sessions.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--worker", str(n), "--seconds", str(args.seconds),
                              "--warmup", str(args.warmup)], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(f"N={n}: worker failed\n{out.stderr[-3000:]}")
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("library threads: the per-session ones plus the shared I/O thread, counted once (thr/sess excludes it)")
    print(f"{'N':>5} {'CPU %core':>10} {'per sess':>9} {'lib thr':>8} {'thr/sess':>9} {'RSS KB/sess':>12} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  audio down/up")
    for r in rows:
        print(f"{r['sessions']:>5} {r['cpu_pct']:>10.1f} {r['cpu_pct_per_session']:>9.3f} {r['library_threads']:>8} "
              f"{r['library_threads_per_session']:>9.3f} {r['rss_kb_per_session']:>12.0f} {r['lag_p50_ms']:>8.1f} "
              f"{r['lag_p99_ms']:>8.1f} {r['lag_max_ms']:>8.1f}  {r['audio_down_complete']}/{r['audio_up_complete']}")
    for r in rows:
        print(f"  N={r['sessions']}: CPU % of a core by thread: {r['cpu_pct_by_thread']}")
    last = rows[-1] if rows else None
    if last is not None:
        ok = (last["cpu_pct"] <= 100 and last["lag_p99_ms"] <= 50 and last["audio_down_complete"]
              and last["audio_up_complete"] and last["rss_kb_per_session"] <= 1024
              and last["library_threads_per_session"] <= 1)
        print(f"targets at N={last['sessions']} (CPU <= 100% of a core, p99 <= 50 ms, all audio, <= 1 MB and "
              f"<= 1 library thread per session): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
