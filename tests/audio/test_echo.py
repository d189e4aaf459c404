import pytest

from realtime_sync.audio import EchoGuard, Microphone
from tests.audio.fakes import FakeInputStream


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class FakeSpeaker:
    def __init__(self):
        self.is_playing = False
        self.total_played_frames = 0


def test_half_duplex_mutes_while_playing_plus_tail():
    clock, spk = FakeClock(), FakeSpeaker()
    guard = EchoGuard(spk, "half_duplex", tail_ms=300, clock=clock)
    assert guard() is False  # nothing played yet
    spk.is_playing = True
    spk.total_played_frames = 480
    assert guard() is True
    clock.t += 5.0  # a long response: still muted while playing
    spk.total_played_frames = 120_000
    assert guard() is True
    spk.is_playing = False  # last frame written at t
    assert guard() is True
    clock.t += 0.299
    assert guard() is True
    clock.t += 0.002
    assert guard() is False
    assert guard.speaking is False


def test_tail_restarts_when_clock_advances_again():
    clock, spk = FakeClock(), FakeSpeaker()
    guard = EchoGuard(spk, tail_ms=300, clock=clock)
    guard()
    spk.total_played_frames = 100  # clock advanced between two polls without is_playing seen True
    assert guard() is True
    clock.t += 0.2
    assert guard() is True
    clock.t += 0.2
    assert guard() is False


@pytest.mark.parametrize("policy", ["full_duplex", "raised_threshold_while_playing"])
def test_other_policies_never_mute_but_report_speaking(policy):
    clock, spk = FakeClock(), FakeSpeaker()
    guard = EchoGuard(spk, policy, clock=clock)
    spk.is_playing = True
    assert guard() is False
    assert guard.speaking is True
    spk.is_playing = False
    clock.t += 0.1
    assert guard.speaking is True  # within the tail
    clock.t += 0.3
    assert guard.speaking is False


def test_zero_tail_and_reset():
    clock, spk = FakeClock(), FakeSpeaker()
    guard = EchoGuard(spk, tail_ms=0, clock=clock)
    spk.is_playing = True
    assert guard()
    spk.is_playing = False
    assert guard() is False
    guard2 = EchoGuard(spk, tail_ms=1000, clock=clock)
    spk.is_playing = True
    guard2()
    spk.is_playing = False
    assert guard2()
    guard2.reset()
    assert guard2() is False


def test_played_frames_fallback_and_no_speaker():
    class Sink:
        is_playing = False
        played_frames = 0

    clock, sink = FakeClock(), Sink()
    guard = EchoGuard(sink, tail_ms=100, clock=clock)
    guard()
    sink.played_frames = 10
    assert guard()
    assert EchoGuard(None)() is False


def test_bad_arguments():
    with pytest.raises(ValueError):
        EchoGuard(None, "echo_cancel")
    with pytest.raises(ValueError):
        EchoGuard(None, tail_ms=-1)


def test_plugs_into_microphone_gate():
    spk = FakeSpeaker()
    spk.is_playing = True
    guard = EchoGuard(spk)
    stream = FakeInputStream(24000, total_seconds=0.5)
    with Microphone.from_stream(stream, device_rate=24000, gate=guard, max_queue_ms=60_000) as mic:
        chunk = next(iter(mic))
    assert chunk == b"\x00" * 960
    assert guard.muted_calls >= 1
