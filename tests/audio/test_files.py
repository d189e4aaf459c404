import io
import struct
import wave

import numpy as np
import pytest

from realtime_sync.audio import (NullSink, RawFileSink, WavFileSink, iter_raw_chunks, iter_wav_chunks, read_wav,
                                 ulaw_encode, wav_info)
from realtime_sync.errors import AudioFormatError
from tests.audio.fakes import dominant_hz, tone
from tests.support.wav import write_wav


def raw_wav(tag: int, rate: int, channels: int, bits: int, data: bytes, extra_chunk: bool = False) -> bytes:
    align = channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size + pad byte
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def check_tone(pcm: bytes, freq: float = 440, seconds: float = 1.0):
    assert abs(len(pcm) // 2 - int(24000 * seconds)) <= 6
    assert abs(dominant_hz(pcm, 24000) - freq) < 3


def test_read_wav_48k_stereo(tmp_path):
    p = tmp_path / "a.wav"
    write_wav(p, tone(440, 1.0, 48000, channels=2), 48000, channels=2)
    check_tone(read_wav(p))


def test_read_wav_24k_mono_is_untouched(tmp_path):
    p = tmp_path / "a.wav"
    pcm = tone(440, 1.0, 24000)
    write_wav(p, pcm, 24000)
    assert read_wav(p) == pcm


def test_read_wav_8bit_24bit_32bit(tmp_path):
    x = np.frombuffer(tone(440, 1.0, 16000), "<i2").astype(np.int32)
    u8 = ((x >> 8) + 128).astype(np.uint8).tobytes()
    i24 = b"".join(struct.pack("<i", int(v) << 8)[:3] for v in x)
    i32 = (x << 16).astype("<i4").tobytes()
    for width, data in ((1, u8), (3, i24), (4, i32)):
        p = tmp_path / f"w{width}.wav"
        p.write_bytes(raw_wav(1, 16000, 1, width * 8, data))
        check_tone(read_wav(p))


def test_read_wav_float_and_g711(tmp_path):
    x = np.frombuffer(tone(440, 1.0, 22050), "<i2").astype(np.float32) / 32768.0
    p = tmp_path / "f.wav"
    p.write_bytes(raw_wav(3, 22050, 1, 32, x.astype("<f4").tobytes(), extra_chunk=True))
    check_tone(read_wav(p))
    p2 = tmp_path / "u.wav"
    p2.write_bytes(raw_wav(7, 8000, 1, 8, ulaw_encode(tone(440, 1.0, 8000))))
    check_tone(read_wav(p2))
    assert wav_info(p2).describe() == "mu-law, 8000 Hz, 1 channel(s), 8-bit"


def test_unsupported_wav_names_what_it_found(tmp_path):
    p = tmp_path / "adpcm.wav"
    p.write_bytes(raw_wav(2, 44100, 2, 4, b"\x00" * 64))
    with pytest.raises(AudioFormatError, match=r"44100 Hz, 2 channel\(s\), 8-bit"):
        read_wav(p)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file at all")
    with pytest.raises(AudioFormatError, match="not a RIFF"):
        list(iter_wav_chunks(bad))


def test_iter_wav_chunks_sizes(tmp_path):
    p = tmp_path / "a.wav"
    write_wav(p, tone(440, 1.05, 44100), 44100)
    chunks = list(iter_wav_chunks(p, chunk_ms=100))
    assert all(len(c) == 4800 for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= 4800
    check_tone(b"".join(chunks), seconds=1.05)
    ulaw = list(iter_wav_chunks(p, chunk_ms=20, wire_format="g711_ulaw"))
    assert all(len(c) == 160 for c in ulaw[:-1])


def test_read_wav_from_file_object():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(tone(440, 0.5, 24000))
    buf.seek(0)
    check_tone(read_wav(buf), seconds=0.5)


def test_wav_sink_roundtrip(tmp_path):
    p = tmp_path / "out.wav"
    pcm = tone(440, 1.0, 24000)
    with WavFileSink(p, rate=48000) as sink:
        for i in range(0, len(pcm), 4801):
            sink.write(pcm[i:i + 4801])
        assert sink.played_ms == 1000 and not sink.is_playing
        assert sink.drain() and sink.flush() == 0.0
    with wave.open(str(p), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 1, 2)
        assert abs(w.getnframes() - 48000) <= 4
    check_tone(read_wav(p))


def test_raw_sink_and_clock(tmp_path):
    p = tmp_path / "out.raw"
    sink = RawFileSink(p)
    sink.write(b"\x01\x00" * 2400)
    sink.reset_clock()
    sink.write(b"\x02\x00" * 4800)
    assert sink.played_ms == 200 and sink.received_ms == 200
    sink.close()
    sink.close()
    assert p.read_bytes() == b"\x01\x00" * 2400 + b"\x02\x00" * 4800
    buf = io.BytesIO()
    s2 = RawFileSink(buf, wire_format="g711_ulaw")
    s2.write(b"\xff" * 80)
    assert s2.played_ms == 10
    s2.close()
    assert not buf.closed and buf.getvalue() == b"\xff" * 80


def test_null_sink():
    s = NullSink()
    s.write(b"\x00" * 480)
    assert s.played_ms == 10
    s.close()
    assert s.write(b"\x00\x00") == 0


def test_iter_raw_chunks(tmp_path):
    p = tmp_path / "in.raw"
    p.write_bytes(b"\x00" * 10_000)
    chunks = list(iter_raw_chunks(p, chunk_ms=100))
    assert [len(c) for c in chunks] == [4800, 4800, 400]
    p.write_bytes(b"\x00" * 4801)
    with pytest.raises(AudioFormatError):
        list(iter_raw_chunks(p, chunk_ms=100))
