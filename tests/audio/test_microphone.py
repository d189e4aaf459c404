import itertools
import subprocess
import sys

import numpy as np
import pytest

from realtime_sync.audio import AudioDeviceError, Microphone, ulaw_decode
from tests.audio.fakes import PA_INPUT_OVERFLOWED, FakeInputStream, dominant_hz, samples
from tests.support.waiting import wait_until


def take(mic, n):
    return list(itertools.islice(mic, n))


def test_resamples_device_rate_to_24k_chunks():
    stream = FakeInputStream(48000, freq=1000, total_seconds=2.0)
    with Microphone.from_stream(stream, device_rate=48000, max_queue_ms=60_000) as mic:
        chunks = take(mic, 90)
    assert all(len(c) == 960 for c in chunks)  # 20 ms of 24 kHz PCM16
    pcm = b"".join(chunks)
    assert abs(dominant_hz(pcm, 24000) - 1000) < 3
    assert np.abs(samples(pcm)[2000:]).max() > 7000
    assert mic.device_rate == 48000 and mic.closed


@pytest.mark.parametrize("fmt,size", [("g711_ulaw", 160), ("audio/pcma", 160), ("pcm16", 960)])
def test_wire_format_chunk_sizes(fmt, size):
    stream = FakeInputStream(44100, freq=440, total_seconds=1.0)
    with Microphone.from_stream(stream, device_rate=44100, wire_format=fmt, max_queue_ms=60_000) as mic:
        chunks = take(mic, 40)
    assert {len(c) for c in chunks} == {size}
    if fmt == "g711_ulaw":
        assert abs(dominant_hz(ulaw_decode(b"".join(chunks)), 8000) - 440) < 5


def test_chunk_ms_configurable():
    stream = FakeInputStream(16000, total_seconds=1.0)
    with Microphone.from_stream(stream, device_rate=16000, chunk_ms=100, max_queue_ms=60_000) as mic:
        chunks = take(mic, 5)
    assert {len(c) for c in chunks} == {4800}


def test_stereo_device_downmixed():
    stream = FakeInputStream(48000, channels=2, freq=500, total_seconds=1.0)
    with Microphone.from_stream(stream, device_rate=48000, channels=2, max_queue_ms=60_000) as mic:
        pcm = b"".join(take(mic, 40))
    assert abs(dominant_hz(pcm, 24000) - 500) < 3


def test_overflow_and_transient_errors_do_not_kill_reader():
    errors = {3: OSError(PA_INPUT_OVERFLOWED, "Input overflowed"), 5: OSError(PA_INPUT_OVERFLOWED, "Input overflowed"),
              8: OSError(-9999, "Unanticipated host error")}
    stream = FakeInputStream(24000, total_seconds=1.0, errors=errors)
    with Microphone.from_stream(stream, device_rate=24000, max_queue_ms=60_000) as mic:
        chunks = take(mic, 20)
        assert len(chunks) == 20
        assert mic.overflows == 2
        assert mic.read_errors == 1
    assert stream.kw_seen[0] is False  # exception_on_overflow=False


def test_old_pyaudio_without_keyword():
    stream = FakeInputStream(24000, total_seconds=1.0, supports_kw=False,
                             errors={4: OSError(PA_INPUT_OVERFLOWED, "Input overflowed")})
    with Microphone.from_stream(stream, device_rate=24000, max_queue_ms=60_000) as mic:
        assert len(take(mic, 10)) == 10
        assert mic.overflows == 1


def test_persistent_errors_end_iteration_with_device_error():
    stream = FakeInputStream(24000, always_error=OSError(-9988, "Stream closed"))
    mic = Microphone.from_stream(stream, device_rate=24000, chunk_ms=1, max_consecutive_errors=5)
    with pytest.raises(AudioDeviceError):
        next(iter(mic))
    with pytest.raises(StopIteration):
        next(mic)
    assert mic.read_errors == 5
    mic.close()


def test_gate_yields_silence_of_same_length():
    muted = {"on": True}
    stream = FakeInputStream(24000, pace=0.001)
    with Microphone.from_stream(stream, device_rate=24000, gate=lambda: muted["on"], max_queue_ms=200) as mic:
        first = take(mic, 5)
        muted["on"] = False
        rest = take(mic, 40)  # at most 10 chunks muted before the switch are still queued
    assert all(c == b"\x00" * 960 for c in first)
    assert mic.muted_chunks >= 5
    assert any(c != b"\x00" * 960 for c in rest)
    assert all(len(c) == 960 for c in rest)


def test_gate_silence_for_g711():
    stream = FakeInputStream(24000, total_seconds=0.5)
    with Microphone.from_stream(stream, device_rate=24000, wire_format="g711_alaw", gate=lambda: True,
                                max_queue_ms=60_000) as mic:
        chunks = take(mic, 3)
    assert chunks == [b"\xd5" * 160] * 3


def test_broken_gate_fails_open():
    def gate():
        raise RuntimeError("boom")

    stream = FakeInputStream(24000, total_seconds=0.5)
    with Microphone.from_stream(stream, device_rate=24000, gate=gate, max_queue_ms=60_000) as mic:
        chunks = take(mic, 3)
    assert len(chunks) == 3 and mic.muted_chunks == 0


def test_close_ends_iteration_and_stream_closed_on_reader_thread():
    stream = FakeInputStream(24000, pace=0.001)
    mic = Microphone.from_stream(stream, device_rate=24000)
    assert len(take(mic, 3)) == 3
    mic.close()
    assert list(mic) == []
    assert mic.read(timeout=0.01) == b""
    assert stream.stopped and stream.closed
    assert stream.threads["read"] == stream.threads["stop"] == stream.threads["close"] == "realtime_sync-mic"
    mic.close()  # idempotent


def test_slow_consumer_drops_oldest():
    stream = FakeInputStream(24000, total_seconds=2.0)
    mic = Microphone.from_stream(stream, device_rate=24000, max_queue_ms=100)
    try:
        assert wait_until(lambda: stream.pos >= 48000)
        assert wait_until(lambda: mic.dropped_chunks == 100 - 5)
        assert mic.queued_chunks == 5
        assert mic.chunks == 100
    finally:
        mic.close()


def test_read_timeout_returns_none():
    stream = FakeInputStream(24000, total_seconds=0.0)
    with Microphone.from_stream(stream, device_rate=24000) as mic:
        assert mic.read(timeout=0.01) is None


def test_open_error_raised_from_constructor():
    def opener():
        raise AudioDeviceError("no default input device (PortAudio error -9996)")

    with pytest.raises(AudioDeviceError, match="-9996"):
        Microphone(_opener=opener)


def test_package_imports_without_pyaudio():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pyaudio':\n"
        "            raise ImportError('blocked for test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import realtime_sync.audio as audio\n"
        "assert 'pyaudio' not in sys.modules\n"
        "try:\n"
        "    audio.Microphone()\n"
        "except audio.AudioBackendUnavailableError as exc:\n"
        "    assert 'pip install realtime_sync[audio]' in str(exc) and 'portaudio19-dev' in str(exc)\n"
        "    assert isinstance(exc, ImportError)\n"
        "    print('OK')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert res.stdout.strip() == "OK", res.stderr
