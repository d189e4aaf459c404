"""Decode cost of parse_update against json.loads of the same frame (issue 2 target: at most 2x).

Also shows dataclasses-json's from_dict on the same frame, the cost the protocol layer avoids.
Run: python scripts/benchmarks/decode.py
"""
import base64
import json
import os
import sys
import timeit
from dataclasses import dataclass
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from dataclasses_json import DataClassJsonMixin  # noqa: E402

from realtime_sync.protocol import parse_update  # noqa: E402

AUDIO_FRAME = json.dumps({
    "type": "response.output_audio.delta", "event_id": "event_E6U0uu5iYiFiuEN7mAc9g",
    "response_id": "resp_E6U0utdfn8rQdwHYPNrmv", "item_id": "item_E6U0uHIVQSnuTXndsNjl4", "output_index": 0,
    "content_index": 0, "delta": base64.b64encode(os.urandom(4800)).decode()})
TEXT_FRAME = json.dumps({
    "type": "response.output_audio_transcript.delta", "event_id": "event_E6U0u4M7V32eo9tjIzugE",
    "response_id": "resp_E6U0utdfn8rQdwHYPNrmv", "item_id": "item_E6U0uHIVQSnuTXndsNjl4", "output_index": 0,
    "content_index": 0, "delta": " there", "obfuscation": "5qkdkt9FlQ"})


@dataclass
class _DcjDelta(DataClassJsonMixin):
    type: str
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    obfuscation: Optional[str] = None


def best(fn, number: int) -> float:
    """Best per-call time in microseconds over several repeats (the least noisy estimate)."""
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def main() -> int:
    print(f"{'frame':<28}{'json.loads':>12}{'parse_update':>14}{'ratio':>8}{'dcj from_dict':>15}")
    worst = 0.0
    for name, frame in (("audio delta (4800 B PCM)", AUDIO_FRAME), ("transcript delta", TEXT_FRAME)):
        loads = best(lambda: json.loads(frame), 20000)
        parse = best(lambda: parse_update(frame), 20000)
        dcj = best(lambda: _DcjDelta.from_dict(json.loads(frame)), 2000)
        ratio = parse / loads
        worst = max(worst, ratio)
        print(f"{name:<28}{loads:>10.2f}us{parse:>12.2f}us{ratio:>7.2f}x{dcj:>13.1f}us")
    print(f"worst ratio parse_update / json.loads: {worst:.2f}x (target <= 2.0x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
