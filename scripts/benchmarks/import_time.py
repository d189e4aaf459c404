"""Import time: ``import realtime_sync`` against ``import openai``, each in fresh interpreters, interleaved.

Each sample is a new ``python -c`` that times the import alone (``time.perf_counter`` around it; interpreter start
and site packages are not counted). Samples alternate between the two modules so machine noise hits both alike; the
median of each is reported with their ratio (target: at most 0.25).

Usage: python scripts/benchmarks/import_time.py [--runs 21]
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = ("import sys, time; sys.path.insert(0, {root!r}); t = time.perf_counter(); import {module}; "
        "print(time.perf_counter() - t)")


#: Bytecode is written and used as after any install (some machines set PYTHONDONTWRITEBYTECODE, which would make
#: every sample compile this checkout's sources while openai's installed bytecode is read).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sample(module: str) -> float:
    out = subprocess.run([sys.executable, "-c", CODE.format(root=ROOT, module=module)], capture_output=True,
                         text=True, check=True, env=ENV)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    times = {"realtime_sync": [], "openai": []}
    sample("realtime_sync")  # warm the file cache and the bytecode
    sample("openai")
    for _ in range(args.runs):
        for module in times:
            times[module].append(sample(module))
    ours, theirs = statistics.median(times["realtime_sync"]), statistics.median(times["openai"])
    print(f"import realtime_sync: {ours * 1000:7.1f} ms (median of {args.runs})")
    print(f"import openai:        {theirs * 1000:7.1f} ms")
    print(f"ratio:                {ours / theirs:7.3f}x  (target <= 0.25x)")
    loaded = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {ROOT!r}); import realtime_sync; "
                             "print(sorted(m for m in ('dataclasses_json', 'marshmallow', 'websocket', 'ssl', "
                             "'pyaudio', 'numpy', 'requests') if m in sys.modules))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules loaded by the import: {loaded}")


if __name__ == "__main__":
    main()
