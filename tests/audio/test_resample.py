import numpy as np
import pytest

from realtime_sync.audio.resample import StreamResampler, downmix_to_mono
from realtime_sync.errors import AudioFormatError
from tests.audio.fakes import dominant_hz, samples, tone


def run_chunked(rs: StreamResampler, pcm: bytes, chunk_bytes: int) -> bytes:
    out = [rs.process(pcm[i:i + chunk_bytes]) for i in range(0, len(pcm), chunk_bytes)]
    out.append(rs.flush())
    return b"".join(out)


@pytest.mark.parametrize("in_rate", [48000, 44100, 16000, 8000])
def test_length_and_frequency_preserved(in_rate):
    pcm = tone(1000, 1.0, in_rate)
    out = run_chunked(StreamResampler(in_rate, 24000), pcm, 960)
    n = len(out) // 2
    assert abs(n - 24000) <= 4
    assert abs(dominant_hz(out, 24000) - 1000) < 3
    # amplitude kept (no gain change) away from the edges
    mid = samples(out)[2000:-2000]
    assert 7500 < np.abs(mid).max() < 8500


@pytest.mark.parametrize("in_rate,chunk", [(48000, 1922), (44100, 882), (44100, 7), (48000, 3)])
def test_chunked_equals_one_shot_no_seam_clicks(in_rate, chunk):
    pcm = tone(1000, 0.5, in_rate)
    one = run_chunked(StreamResampler(in_rate, 24000), pcm, len(pcm))
    many = run_chunked(StreamResampler(in_rate, 24000), pcm, chunk)  # odd sizes: stray bytes carried
    a, b = samples(one), samples(many)
    assert len(a) == len(b)
    assert np.max(np.abs(a - b)) <= 2  # same filter state across seams: no clicks


def test_chunked_output_has_no_discontinuity():
    out = run_chunked(StreamResampler(44100, 24000), tone(440, 1.0, 44100), 882)
    x = samples(out)[500:-500]
    # a 440 Hz sine at 8000 amplitude moves at most 2*pi*440/24000*8000 ~ 922 per sample
    assert np.max(np.abs(np.diff(x))) < 1000


def test_passthrough_equal_rates():
    rs = StreamResampler(24000, 24000)
    pcm = tone(300, 0.1, 24000)
    assert rs.passthrough
    assert rs.process(pcm[:101]) + rs.process(pcm[101:]) + rs.flush() == pcm


def test_odd_byte_carry():
    rs = StreamResampler(24000, 24000)
    assert rs.process(b"\x01") == b""
    assert rs.pending_bytes == 1
    assert rs.process(b"\x02\x03") == b"\x01\x02"
    assert rs.pending_bytes == 1
    rs.flush()
    assert rs.pending_bytes == 0


def test_stereo_downmix():
    left = tone(1000, 0.2, 48000, amplitude=8000)
    right = tone(1000, 0.2, 48000, amplitude=4000)
    inter = np.empty(2 * (len(left) // 2), dtype="<i2")
    inter[0::2] = np.frombuffer(left, "<i2")
    inter[1::2] = np.frombuffer(right, "<i2")
    out = run_chunked(StreamResampler(48000, 24000, channels=2), inter.tobytes(), 1001)
    assert abs(len(out) // 2 - 4800) <= 4
    assert 5500 < np.abs(samples(out)[500:-500]).max() < 6500  # mean of 8000 and 4000
    same = StreamResampler(24000, 24000, channels=2)
    assert np.array_equal(np.frombuffer(same.process(inter.tobytes()), "<i2"),
                          downmix_to_mono(inter, 2))


def test_downmix_rounding_and_extremes():
    x = np.array([32767, 32767, -32768, -32768, 1, 0, -1, 0], dtype=np.int16)
    assert downmix_to_mono(x, 2).tolist() == [32767, -32768, 1, -1]


def test_reset_and_reuse_after_flush():
    rs = StreamResampler(48000, 24000)
    pcm = tone(1000, 0.2, 48000)
    first = rs.process(pcm) + rs.flush()
    second = rs.process(pcm) + rs.flush()
    assert first == second
    rs.process(pcm)
    rs.reset()
    assert rs.process(pcm) + rs.flush() == first


def test_bad_arguments():
    with pytest.raises(AudioFormatError):
        StreamResampler(0, 24000)
    with pytest.raises(AudioFormatError):
        StreamResampler(24000, 24000, channels=0)
    with pytest.raises(ValueError):
        StreamResampler(48000, 24000, quality="best")
