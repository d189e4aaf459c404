"""Issue 11, client item 10: usage read from both ``input_token_details`` and ``input_tokens_details`` spellings."""
import pytest

from realtime_sync.protocol import parse_update
from realtime_sync.usage import UsageTotals


def _done(usage):
    return parse_update({"type": "response.done", "event_id": "e", "response": {
        "object": "realtime.response", "id": "r", "status": "completed", "output": [], "usage": usage}})


@pytest.mark.parametrize("inp, outp", [("input_token_details", "output_token_details"),
                                       ("input_tokens_details", "output_tokens_details")])
def test_both_spellings_split_text_and_audio(inp, outp):
    usage = {"total_tokens": 100, "input_tokens": 60, "output_tokens": 40,
             inp: {"text_tokens": 10, "audio_tokens": 50, "cached_tokens": 4,
                   "cached_tokens_details": {"text_tokens": 1, "audio_tokens": 3}},
             outp: {"text_tokens": 15, "audio_tokens": 25}}
    totals = UsageTotals.from_usage(_done(usage).response.usage)
    assert (totals.input_text_tokens, totals.input_audio_tokens) == (10, 50)
    assert (totals.output_text_tokens, totals.output_audio_tokens) == (15, 25)
    assert (totals.cached_tokens, totals.cached_text_tokens, totals.cached_audio_tokens) == (4, 1, 3)


def test_the_service_spelling_wins_when_both_are_present():
    usage = {"total_tokens": 3, "input_tokens": 2, "output_tokens": 1,
             "input_token_details": {"text_tokens": 2, "audio_tokens": 0},
             "input_tokens_details": {"text_tokens": 0, "audio_tokens": 2}}
    totals = UsageTotals.from_usage(_done(usage).response.usage)
    assert (totals.input_text_tokens, totals.input_audio_tokens) == (2, 0)
