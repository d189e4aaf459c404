"""Usage per response and per session, by modality, cached tokens counted once."""
import pytest

from realtime_sync.protocol import parse_update
from realtime_sync.usage import Prices, UsageTotals, UsageTracker

from tests.support.traces import trace_updates

from .helpers import response_events


def done(rid, usage, status="completed"):
    return parse_update(response_events(rid, text="x", usage=usage, status=status)[-1])


U1 = {"total_tokens": 1001, "input_tokens": 853, "output_tokens": 148,
      "input_token_details": {"text_tokens": 700, "audio_tokens": 150, "image_tokens": 3, "cached_tokens": 832,
                              "cached_tokens_details": {"text_tokens": 700, "audio_tokens": 130, "image_tokens": 2}},
      "output_token_details": {"text_tokens": 37, "audio_tokens": 111}}
U2 = {"total_tokens": 50, "input_tokens": 40, "output_tokens": 10,
      "input_token_details": {"text_tokens": 10, "audio_tokens": 30, "cached_tokens": 0},
      "output_token_details": {"text_tokens": 10, "audio_tokens": 0}}


def test_accumulates_by_modality_with_cached_as_a_subset():
    seen = []
    tracker = UsageTracker(on_usage=seen.append)
    tracker.handle_update(done("r1", U1))
    tracker.handle_update(done("r2", U2, status="cancelled"))
    total = tracker.total
    assert total.responses == 2
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (893, 158, 1051)
    assert (total.input_text_tokens, total.input_audio_tokens, total.input_image_tokens) == (710, 180, 3)
    assert (total.cached_tokens, total.cached_text_tokens, total.cached_audio_tokens) == (832, 700, 130)
    assert total.cached_image_tokens == 2
    assert (total.output_text_tokens, total.output_audio_tokens) == (47, 111)
    # cached is inside input: the uncached parts plus the cached parts add up to the input, never more
    assert total.uncached_input_text_tokens == 10 and total.uncached_input_audio_tokens == 50
    assert (total.uncached_input_text_tokens + total.uncached_input_audio_tokens + total.uncached_input_image_tokens
            + total.cached_tokens) == total.input_tokens
    assert [e.response_id for e in seen] == ["r1", "r2"] and seen[1].status == "cancelled"
    assert tracker.get("r2").usage.input_audio_tokens == 30 and tracker.last.response_id == "r2"
    assert tracker.get("nope") is None


def test_cost_prices_cached_tokens_at_their_own_rate():
    usage = UsageTotals.from_usage(done("r1", U1).response.usage)
    prices = Prices(input_text=4.0, cached_input_text=0.4, input_audio=32.0, cached_input_audio=0.4,
                    input_image=5.0, cached_input_image=0.5, output_text=16.0, output_audio=64.0)
    expected = (0 * 4.0 + 700 * 0.4 + 20 * 32.0 + 130 * 0.4 + 1 * 5.0 + 2 * 0.5 + 37 * 16.0 + 111 * 64.0) / 1e6
    assert usage.cost(prices) == pytest.approx(expected)


def test_missing_details_and_no_usage():
    partial = UsageTotals.from_usage(done("r", {"input_tokens": 5, "output_tokens": 2, "input_token_details":
                                                {"cached_tokens": 3}}).response.usage)
    assert partial.total_tokens == 7 and partial.cached_text_tokens == 3 and partial.output_text_tokens == 2
    none = UsageTotals.from_usage(None)
    assert none.responses == 1 and none.total_tokens == 0
    assert (UsageTotals.from_usage(None) + none).responses == 2


def test_recorded_traces_and_transcription_usage():
    tracker = UsageTracker()
    for u in trace_updates("banyan-landing__webrtc-multiturn-vad-function-call-barge-in__beta.jsonl"):
        tracker.handle_update(u)
    total = tracker.total
    assert total.responses == 12
    assert total.total_tokens == sum(r.usage.total_tokens for r in tracker.responses)
    assert total.cached_tokens == total.cached_text_tokens + total.cached_audio_tokens
    assert total.cached_tokens <= total.input_tokens
    assert tracker.transcription.transcriptions == 11

    tracker = UsageTracker()
    tracker.handle_update(parse_update({"type": "conversation.item.input_audio_transcription.completed",
                                        "item_id": "i", "content_index": 0, "transcript": "hi",
                                        "usage": {"type": "tokens", "total_tokens": 9, "input_tokens": 7,
                                                  "output_tokens": 2, "input_token_details":
                                                  {"text_tokens": 1, "audio_tokens": 6}}}))
    tracker.handle_update(parse_update({"type": "conversation.item.input_audio_transcription.completed",
                                        "item_id": "j", "content_index": 0, "transcript": "yo",
                                        "usage": {"type": "duration", "seconds": 1.5}}))
    tr = tracker.transcription
    assert (tr.transcriptions, tr.total_tokens, tr.input_audio_tokens, tr.seconds) == (2, 9, 6, 1.5)


def test_bounded_history_and_callback_errors_are_contained():
    def bad(_):
        raise RuntimeError("user bug")

    tracker = UsageTracker(on_usage=bad, max_responses=3)
    for n in range(10):
        tracker.handle_update(done(f"r{n}", U2))
    assert [r.response_id for r in tracker.responses] == ["r7", "r8", "r9"]
    assert tracker.total.responses == 10 and tracker.total.total_tokens == 500
    tracker.reset()
    assert tracker.total.responses == 0 and tracker.responses == []
