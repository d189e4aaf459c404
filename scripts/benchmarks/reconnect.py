"""Recovery time: from a dropped connection to ``ReconnectedUpdate``, with the default ``ReconnectPolicy``.

Against the simulator (:class:`realtime_sync.testing.FakeRealtimeServer`, no pacing), one session holds a
conversation of ``--items`` items (user and assistant text). The server then cuts the TCP connection ``--drops``
times; each time the session reconnects, restores its configuration and replays the conversation, and the app's
``receive_updates()`` loop sees a ``ReconnectedUpdate``. Reported: the time from the cut (when the server drops the
socket) to that update, p50 and max, and the library's own ``downtime`` (from noticing the drop to the restored
session). The default policy waits 0.375-0.5 s before the first attempt (backoff with jitter). Target: p50 below
1 s.

Usage: python scripts/benchmarks/reconnect.py [--drops 20] [--items 50]
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drops", type=int, default=20)
    ap.add_argument("--items", type=int, default=50)
    args = ap.parse_args()
    from realtime_sync import ConversationItem, RealtimeClient, SessionOptions, UpdateKind
    from realtime_sync.testing import FakeRealtimeServer

    server = FakeRealtimeServer(pace=0).start()
    try:
        client = RealtimeClient(server.api_key, endpoint=server.base_url)  # reconnect=True: the default policy
        session = client.start_session(SessionOptions(instructions="Be brief."), timeout=10)
        for i in range(args.items // 2):
            session.add_item(ConversationItem.user_message(f"question {i}: what is {i} + {i}?"))
            session.add_item(ConversationItem.assistant_message(f"{i} + {i} is {2 * i}."))
        deadline = time.monotonic() + 10
        while len(session.conversation) < args.items and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for the simulator's confirmations (a benchmark's setup)
        it = session.receive_updates(timeout=30)
        wall, downtime, restored = [], [], []
        for _ in range(args.drops):
            conn = server.connections[-1]
            t0 = time.monotonic()
            conn.ws.socket.shutdown(2)  # the network drops (no close frame)
            for update in it:
                if update.kind is UpdateKind.RECONNECTED:
                    wall.append(time.monotonic() - t0)
                    downtime.append(update.downtime)
                    restored.append(update.items_restored)
                    break
        session.close()
    finally:
        server.stop()
    print(f"{args.drops} drops, {args.items}-item conversation, default ReconnectPolicy "
          f"(first attempt after 0.375-0.5 s)")
    print(f"  drop -> ReconnectedUpdate: p50 {statistics.median(wall) * 1000:.0f} ms, "
          f"max {max(wall) * 1000:.0f} ms  (target p50 < 1000 ms)")
    print(f"  the library's downtime:    p50 {statistics.median(downtime) * 1000:.0f} ms, "
          f"max {max(downtime) * 1000:.0f} ms")
    print(f"  items restored each time:  {sorted(set(restored))}")


if __name__ == "__main__":
    main()
