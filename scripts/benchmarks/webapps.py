"""The example web apps under concurrent load: 20 requests at once on each ask endpoint, per framework.

For each framework (the Flask app on werkzeug's threaded server; the Django project under gunicorn, gthread
workers) and each simulator pace, the app runs as a subprocess against a simulator in this process (as
``scripts/examples/run_demo.py`` runs it). ``--count`` requests (20), each with a distinct question, are released
together on ``/ask`` (a session per request) and on ``/ask/shared`` (one session per process, shared by the request
threads: turns go one at a time). Reported per endpoint: correct answers (each request got the answer to its own
question), p50 and max latency. Pace 0 measures the app and the library (the simulator answers at once); pace 1
adds the simulator's model-like latency, where the shared session's turns queue behind each other.

Usage: python scripts/benchmarks/webapps.py [--count 20] [--paces 0,1] [--frameworks flask,django]
       [--workers 1] [--threads 20]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "scripts", "examples"), ROOT]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--paces", default="0,1")
    ap.add_argument("--frameworks", default="flask,django")
    ap.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (Django)")
    ap.add_argument("--threads", type=int, default=20, help="threads per gunicorn worker (Django)")
    args = ap.parse_args()
    from realtime_sync.testing import FakeRealtimeServer
    from run_demo import AppProcess, ask_concurrently, figures, new_webhook_secret, simulator_env

    print(f"{args.count} concurrent requests per endpoint; gunicorn: {args.workers} worker(s) x {args.threads} "
          "threads")
    print(f"{'framework':10} {'pace':>4} {'endpoint':12} {'correct':>8} {'p50 ms':>8} {'max ms':>8}")
    all_correct = True
    for framework in args.frameworks.split(","):
        for pace in (float(p) for p in args.paces.split(",")):
            with FakeRealtimeServer(pace=pace) as server:
                env = {**simulator_env(server, new_webhook_secret()), "PYTHONPATH": ROOT}
                options = {"workers": args.workers, "threads": args.threads} if framework == "django" else {}
                with AppProcess(framework, env, **options) as app:
                    ask_concurrently(app.url + "/ask", 2)  # warm-up: imports, the first connection
                    for path in ("/ask", "/ask/shared"):
                        numbers = figures(ask_concurrently(app.url + path, args.count))
                        all_correct = all_correct and numbers["correct"] == numbers["of"]
                        print(f"{framework:10} {pace:>4g} {path:12} {numbers['correct']:>5}/{numbers['of']:<2} "
                              f"{numbers['p50_ms']:>8} {numbers['max_ms']:>8}", flush=True)
    return 0 if all_correct else 1


if __name__ == "__main__":
    sys.exit(main())
