"""Real PyAudio/PortAudio against a private PulseAudio daemon (null sink + sine source), no sound card needed."""
import itertools
import threading

import numpy as np
import pytest

from realtime_sync.audio import (AudioDeviceError, Microphone, Speaker, find_device, list_devices, silence,
                                 ulaw_decode, ulaw_encode)
from tests.audio.fakes import dominant_hz, samples, tone
from tests.support.waiting import wait_until
from realtime_sync.testing.pulse import SINE_HZ, SINE_SOURCE, SINK

pytestmark = pytest.mark.timeout(120)

DEVICE = "pulse"  # the ALSA pulse plugin's PCM; always defined when libasound2-plugins is installed


def take(mic, n):
    return list(itertools.islice(mic, n))


def loud_span(pcm: bytes, threshold: float = 2000.0) -> int:
    idx = np.nonzero(np.abs(samples(pcm)) > threshold)[0]
    return 0 if len(idx) == 0 else int(idx[-1] - idx[0] + 1)


def test_list_and_find_devices(pulse):
    devs = list_devices(quiet=True)
    dev = find_device(DEVICE, "input", quiet=True)
    assert dev in devs
    assert 24000 in dev.input_rates and 48000 in dev.output_rates
    with pytest.raises(AudioDeviceError) as info:
        find_device("no-such-card-xyz", "output", quiet=True)
    assert "pulse" in str(info.value)


def test_microphone_records_sine_source_resampled_to_24k(pulse, pulse_source):
    pulse_source(SINE_SOURCE)
    with Microphone(DEVICE, quiet=True) as mic:
        assert mic.device_rate == find_device(DEVICE, "input", quiet=True).default_rate
        chunks = take(mic, 60)  # 1.2 s
    assert {len(c) for c in chunks} == {960}
    pcm = b"".join(chunks[10:])
    assert abs(dominant_hz(pcm, 24000) - SINE_HZ) < 5
    assert np.abs(samples(pcm)).max() > 1000


@pytest.mark.parametrize("device_rate", [48000, 16000])
def test_microphone_g711_at_explicit_device_rates(pulse, pulse_source, device_rate):
    pulse_source(SINE_SOURCE)
    with Microphone(DEVICE, wire_format="g711_ulaw", device_rate=device_rate, chunk_ms=40, quiet=True) as mic:
        chunks = take(mic, 30)
    assert mic.device_rate == device_rate
    assert {len(c) for c in chunks} == {320}
    assert abs(dominant_hz(ulaw_decode(b"".join(chunks[5:])), 8000) - SINE_HZ) < 5


def quiet_after_loud(pcm: bytes, quiet_samples: int = 7200, threshold: float = 2000.0) -> bool:
    """True once the recording holds the loud part followed by >= 0.3 s of quiet (the tone has fully arrived)."""
    idx = np.nonzero(np.abs(samples(pcm)) > threshold)[0]
    return len(idx) > 0 and len(pcm) // 2 - idx[-1] > quiet_samples


# Lead in with 0.5 s of silence and start the played-frames clock after it (exercises reset_clock() and keeps the
# tone clear of any stream start-up effect of the null sink / its monitor).
LEAD_IN = 0.5


def test_speaker_tone_reaches_sink_monitor(pulse, pulse_source):
    """Play 1.5 s of 440 Hz on the null sink; record its monitor with a real Microphone at the same time."""
    pulse_source(f"{SINK}.monitor")
    seconds = 1.5
    pcm = tone(440, seconds, 24000, amplitude=10000)
    recorded = []
    lock = threading.Lock()
    with Microphone(DEVICE, quiet=True, max_queue_ms=60_000) as mic:
        def collect():
            for chunk in mic:
                with lock:
                    recorded.append(chunk)

        reader = threading.Thread(target=collect, daemon=True)
        reader.start()
        with Speaker(DEVICE, quiet=True) as spk:
            spk.write(bytes(int(24000 * LEAD_IN) * 2))
            spk.reset_clock()
            for i in range(0, len(pcm), 4800):  # 100 ms deltas, like the server sends
                spk.write(pcm[i:i + 4800])
            assert spk.received_ms == seconds * 1000
            assert spk.drain(timeout=30)
            assert spk.played_ms == pytest.approx(seconds * 1000, abs=0.5)
            assert spk.total_played_frames == len(pcm) // 2 + int(24000 * LEAD_IN)

            def arrived():
                with lock:
                    return quiet_after_loud(b"".join(recorded))
            assert wait_until(arrived, timeout=30), "the tone never finished arriving at the sink monitor"
        mic.close()
        reader.join(10)
    audio = b"".join(recorded)
    assert abs(dominant_hz(audio, 24000) - 440) < 5
    assert abs(loud_span(audio) - len(pcm) // 2) < 24000 * 0.1  # the whole tone arrived, once (no repeats/gaps)


def test_speaker_played_audio_recorded_with_parec(pulse):
    """Independent capture path (parec), 8 kHz G.711 input played on a 48 kHz device."""
    rec = {}
    recorder = threading.Thread(target=lambda: rec.update(pcm=pulse.record(4.0, f"{SINK}.monitor")), daemon=True)
    recorder.start()
    with Speaker(DEVICE, wire_format="g711_ulaw", device_rate=48000, quiet=True) as spk:
        spk.write(silence("g711_ulaw", int(8000 * LEAD_IN)))
        spk.reset_clock()
        spk.write(ulaw_encode(tone(600, 1.0, 8000, amplitude=10000)))
        assert spk.drain(timeout=30)
        assert spk.played_ms == pytest.approx(1000, abs=0.5)
        recorder.join(60)
    audio = rec.get("pcm", b"")
    assert quiet_after_loud(audio)
    assert abs(dominant_hz(audio, 24000) - 600) < 5
    assert abs(loud_span(audio) - 24000) < 2400


def test_speaker_flush_stops_playback_on_real_device(pulse):
    """flush() drops the queue and aborts the device buffer: the sink hears about played_ms of the first tone,
    then the stream still works for the next one."""
    rec = {}
    recorder = threading.Thread(target=lambda: rec.update(pcm=pulse.record(6.0, f"{SINK}.monitor")), daemon=True)
    recorder.start()
    with Speaker(DEVICE, quiet=True, latency="high") as spk:
        spk.write(bytes(int(24000 * LEAD_IN) * 2))
        spk.reset_clock()
        spk.write(tone(440, 10.0, 24000, amplitude=10000))
        assert wait_until(lambda: spk.played_ms >= 1000, timeout=30)
        dropped = spk.flush()
        played = spk.played_ms
        assert dropped > 5000 and played + dropped <= 10_000
        assert not spk.is_playing
        assert spk.drain(timeout=5)
        assert spk.played_ms == played  # frozen until the next reset_clock()
        spk.write(bytes(24000))  # 0.5 s gap, then a second tone on the same (restarted) stream
        spk.reset_clock()
        spk.write(tone(1000, 0.5, 24000, amplitude=10000))
        assert spk.drain(timeout=30)
        assert spk.played_ms == 500
        recorder.join(60)
    audio = rec.get("pcm", b"")
    x = samples(audio)
    loud = np.nonzero(np.abs(x) > 2000)[0]
    assert len(loud)
    # split the recording at the quiet gap between the two tones
    gaps = np.nonzero(np.diff(loud) > 2400)[0]
    assert len(gaps) >= 1, "no gap between the flushed tone and the next one"
    first = audio[2 * loud[0]:2 * (loud[gaps[0]] + 1)]
    second = audio[2 * loud[gaps[0] + 1]:2 * (loud[-1] + 1)]
    assert abs(dominant_hz(first, 24000) - 440) < 5
    assert abs(dominant_hz(second, 24000) - 1000) < 5
    # the sink got at most what was written (played_ms); the abort discarded the device buffer (<= its latency,
    # ~0.2 s with latency="high") instead of playing it out
    heard_ms = len(first) / 2 / 24.0
    assert played - 500 < heard_ms < played + 60
    assert abs(len(second) / 2 / 24.0 - 500) < 100
