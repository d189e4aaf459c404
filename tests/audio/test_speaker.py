import threading

import numpy as np
import pytest

from realtime_sync.audio import Speaker, ulaw_encode
from tests.audio.fakes import FakeOutputStream, dominant_hz, tone
from tests.support.waiting import wait_until

RATE = 24000
BLOCK = 480  # 20 ms at 24 kHz


def make(stream, device_rate=RATE, **kw):
    kw.setdefault("preroll_ms", 0)
    kw.setdefault("latency", "low")
    return Speaker.from_stream(stream, device_rate=device_rate, **kw)


def test_played_ms_counts_frames_written_not_enqueued():
    stream = FakeOutputStream(gated=True)
    spk = make(stream)
    try:
        spk.write(tone(440, 1.0, RATE))
        assert spk.received_ms == 1000
        assert wait_until(stream.in_write.is_set)
        assert spk.played_frames == 0  # enqueued and in the device call, but not written yet
        assert spk.is_playing
        stream.allow(5)
        assert wait_until(lambda: spk.played_frames == 5 * BLOCK)
        assert wait_until(stream.in_write.is_set)
        assert spk.played_frames == 5 * BLOCK and spk.played_ms == 100
        assert len(stream.data) == 5 * BLOCK * 2
    finally:
        stream.release_all()
        spk.close()


def test_drain_plays_everything_and_clock_matches():
    stream = FakeOutputStream()
    spk = make(stream)
    pcm = tone(440, 1.0, RATE)
    for i in range(0, len(pcm), 4801):  # odd sizes: the stray byte is carried
        spk.write(pcm[i:i + 4801])
    assert spk.drain(timeout=20)
    assert spk.played_ms == 1000 and spk.received_ms == 1000
    assert not spk.is_playing
    assert stream.data.startswith(pcm)
    spk.close()


def test_resampled_to_device_rate_and_stereo():
    stream = FakeOutputStream()
    spk = make(stream, device_rate=48000, channels=2)
    spk.write(tone(440, 1.0, RATE))
    assert spk.drain(timeout=20)
    assert spk.played_ms == 1000
    x = np.frombuffer(stream.data, "<i2")
    left, right = x[0::2], x[1::2]
    assert np.array_equal(left, right)
    loud = np.nonzero(np.abs(left) > 1000)[0]
    assert abs((loud[-1] - loud[0] + 1) - 48000) <= 48  # 1 s of audio at 48 kHz
    assert abs(dominant_hz(left.tobytes(), 48000) - 440) < 3
    spk.close()


def test_flush_drops_queued_audio_and_freezes_clock():
    stream = FakeOutputStream(gated=True)
    spk = make(stream)
    try:
        spk.write(tone(440, 2.0, RATE))
        stream.allow(10)
        assert wait_until(lambda: spk.played_frames == 10 * BLOCK)
        assert wait_until(stream.in_write.is_set)  # the 11th block is inside the device call
        result = {}
        flusher = threading.Thread(target=lambda: result.update(dropped=spk.flush(timeout=10)))
        flusher.start()
        assert wait_until(lambda: spk.queued_ms == 0)  # queue dropped while the 11th block is still being written
        stream.allow(1)  # the in-flight block finishes; flush() returns after it
        flusher.join(10)
        dropped = result["dropped"]
        assert dropped == pytest.approx(2000 - 11 * 20, abs=1e-6)
        assert spk.played_ms == 11 * 20  # the block in progress finished, nothing after
        assert spk.received_ms == 2000  # flush does not reset the clocks (truncate needs both)
        assert not spk.is_playing
        assert stream.aborts == 1 and stream.threads["abort"] == "realtime_sync-speaker"
        stream.release_all()
        assert spk.drain(timeout=5)
        assert spk.played_ms == 11 * 20
        assert stream.nonsilent_bytes() <= 11 * BLOCK * 2
        # new audio after a flush plays normally
        spk.reset_clock()
        spk.write(tone(440, 0.2, RATE))
        assert spk.drain(timeout=10)
        assert spk.played_ms == 200 and spk.received_ms == 200
    finally:
        stream.release_all()
        spk.close()


def test_drain_timeout_and_close_joins():
    stream = FakeOutputStream(gated=True)
    spk = make(stream)
    spk.write(tone(440, 0.5, RATE))
    assert spk.drain(timeout=0.05) is False
    stream.release_all()
    assert spk.drain(timeout=10) is True
    spk.close()
    assert not spk._thread.is_alive()
    assert stream.closed and stream.threads["close"] == "realtime_sync-speaker"
    assert stream.stopped and stream.aborts == 0  # drained: the device buffer may play out (no cut-off tail)
    assert stream.threads["write"] == "realtime_sync-speaker"
    spk.close()  # idempotent
    assert spk.write(b"\x00\x00") == 0


def test_close_with_queued_audio_cuts_at_once():
    stream = FakeOutputStream(gated=True)
    spk = make(stream)
    spk.write(tone(440, 5.0, RATE))
    stream.allow(1)
    assert wait_until(lambda: spk.played_frames == BLOCK and stream.in_write.is_set())
    closer = threading.Thread(target=spk.close, kwargs={"timeout": 10})
    closer.start()
    assert wait_until(lambda: spk.closed)
    stream.release_all()  # the block in progress finishes; nothing after it
    closer.join(10)
    assert not spk._thread.is_alive()
    assert stream.aborts == 1 and stream.closed and not stream.stopped
    assert spk.played_ms <= 40


def test_close_with_drain_plays_queue():
    stream = FakeOutputStream()
    spk = make(stream, preroll_ms=10_000)  # would wait for pre-roll; close(drain=True) starts it
    spk.write(tone(440, 0.3, RATE))
    spk.close(drain=True, timeout=10)
    assert spk.played_ms == 300
    assert stream.aborts == 0


def test_preroll_waits_for_data_or_drain():
    stream = FakeOutputStream()
    spk = make(stream, preroll_ms=60_000)
    try:
        spk.write(tone(440, 0.1, RATE))
        assert spk.is_playing  # pre-rolling counts as playing (echo guard must mute)
        assert stream.data == b""
        assert spk.drain(timeout=10)
        assert spk.played_ms == 100
    finally:
        spk.close()


def test_buffer_bound_drops_oldest():
    stream = FakeOutputStream(gated=True)
    spk = make(stream, max_buffer_ms=500)
    try:
        spk.write(tone(440, 0.1, RATE))
        assert wait_until(stream.in_write.is_set)
        spk.write(tone(440, 1.0, RATE))
        assert spk.dropped_ms == pytest.approx(1100 - 20 - 500)
        assert spk.queued_ms == 500
        assert spk.received_ms == 1100
    finally:
        stream.release_all()
        spk.close()


def test_reset_clock_counts_only_new_item():
    stream = FakeOutputStream(gated=True)
    spk = make(stream)
    try:
        spk.write(tone(440, 0.1, RATE))  # 5 blocks of the previous item, still queued
        spk.reset_clock()
        spk.write(tone(440, 0.1, RATE))
        stream.allow(7)
        assert wait_until(lambda: spk.total_played_frames == 7 * BLOCK)
        assert spk.played_frames == 2 * BLOCK
        assert spk.received_ms == 100
    finally:
        stream.release_all()
        spk.close()


def test_g711_wire_format():
    stream = FakeOutputStream()
    spk = make(stream, wire_format="audio/pcmu", device_rate=8000)
    wire = ulaw_encode(tone(440, 0.5, 8000))
    spk.write(wire)
    assert spk.received_ms == 500
    assert spk.drain(timeout=10)
    assert spk.played_ms == 500
    assert abs(dominant_hz(stream.data[:8000], 8000) - 440) < 5
    spk.close()


def test_underrun_padding_counted():
    stream = FakeOutputStream()
    spk = make(stream, idle_ms=60_000)
    try:
        spk.write(tone(440, 0.04, RATE))
        assert wait_until(lambda: spk.played_ms == 40 and spk.underrun_blocks >= 3)
        spk.write(tone(440, 0.04, RATE))
        assert spk.drain(timeout=10)
        assert spk.underruns == 1
        assert spk.played_ms == 80
    finally:
        spk.close()


def test_on_played_hook_and_errors_in_hook():
    calls = []

    def hook(pcm, frames):
        calls.append((len(pcm), frames))
        raise RuntimeError("broken tap")

    stream = FakeOutputStream()
    spk = make(stream, on_played=hook)
    spk.write(tone(440, 0.1, RATE))
    assert spk.drain(timeout=10)
    spk.close()
    assert sum(f for _, f in calls) == 2400
    assert all(n == BLOCK * 2 for n, _ in calls)


def test_write_errors_do_not_count_as_played():
    stream = FakeOutputStream(fail=OSError(-9999, "Unanticipated host error"))
    spk = make(stream)
    spk.write(tone(440, 2.0, RATE))
    assert wait_until(lambda: spk.error is not None)
    assert spk.played_ms == 0 and spk.write_errors == 50
    assert spk.drain(timeout=5)
    spk.close()


def test_open_error_raised_from_constructor():
    def opener():
        raise OSError(-9996, "Invalid output device")

    with pytest.raises(OSError):
        Speaker(_opener=opener)


def test_concurrent_writers_and_flushes_are_safe():
    stream = FakeOutputStream()
    spk = make(stream)
    pcm = tone(440, 0.05, RATE)

    def writer():
        for _ in range(40):
            spk.write(pcm)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(5):
        spk.flush(timeout=2)
    for t in threads:
        t.join()
    assert spk.drain(timeout=30)
    assert spk.received_ms == 3 * 40 * 50
    assert spk.total_played_frames + spk.flushed_frames + spk.dropped_frames == 3 * 40 * 1200
    spk.close()
