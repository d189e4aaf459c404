import warnings

import numpy as np
import pytest

from realtime_sync.audio import g711
from realtime_sync.audio.g711 import (WireDecoder, WireEncoder, alaw_decode, alaw_encode, normalize_format, silence,
                                      ulaw_decode, ulaw_encode, wire_rate)
from realtime_sync.errors import AudioFormatError
from tests.audio.fakes import dominant_hz, tone

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop  # removed in Python 3.13
    except ImportError:
        audioop = None

ALL_PCM = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))

# (pcm16, mu-law, A-law, mu-law decoded, A-law decoded), checked against audioop / ITU-T G.711.
REFERENCE = [
    (0, 0xFF, 0xD5, 0, 8),
    (1, 0xFF, 0xD5, 0, 8),
    (-1, 0x7E, 0x55, -8, -8),
    (100, 0xF2, 0xD3, 104, 104),
    (-100, 0x72, 0x53, -104, -104),
    (1000, 0xCE, 0xFA, 988, 1008),
    (-1000, 0x4E, 0x7A, -988, -1008),
    (8000, 0xA0, 0x8A, 7932, 8064),
    (-8000, 0x20, 0x0A, -7932, -8064),
    (32767, 0x80, 0xAA, 32124, 32256),
    (-32768, 0x00, 0x2A, -32124, -32256),
]


@pytest.mark.parametrize("pcm,mu,a,mu_dec,a_dec", REFERENCE)
def test_reference_values(pcm, mu, a, mu_dec, a_dec):
    p = np.array([pcm], dtype="<i2").tobytes()
    assert ulaw_encode(p) == bytes([mu])
    assert alaw_encode(p) == bytes([a])
    assert np.frombuffer(ulaw_decode(bytes([mu])), "<i2")[0] == mu_dec
    assert np.frombuffer(alaw_decode(bytes([a])), "<i2")[0] == a_dec


def test_decode_table_properties():
    mu = np.frombuffer(ulaw_decode(ALL_CODES), "<i2")
    al = np.frombuffer(alaw_decode(ALL_CODES), "<i2")
    assert mu.max() == 32124 and mu.min() == -32124
    assert al.max() == 32256 and al.min() == -32256
    # encode(decode(code)) is the identity, except mu-law's two zeros (0x7F "-0" re-encodes as 0xFF "+0")
    assert ulaw_encode(ulaw_decode(ALL_CODES)) == bytes(c if c != 0x7F else 0xFF for c in range(256))
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES


@pytest.mark.skipif(audioop is None, reason="audioop not available (Python 3.13+)")
def test_bit_exact_against_audioop_all_inputs():
    assert ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)
    assert alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)
    assert ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_odd_pcm_rejected():
    with pytest.raises(AudioFormatError):
        ulaw_encode(b"\x00\x01\x02")


@pytest.mark.parametrize("name,canonical", [("pcm16", "pcm16"), ("audio/pcm", "pcm16"), ("g711_ulaw", "g711_ulaw"),
                                            ("audio/pcmu", "g711_ulaw"), ("AUDIO/PCMA", "g711_alaw")])
def test_format_names(name, canonical):
    assert normalize_format(name) == canonical


def test_unknown_format():
    with pytest.raises(AudioFormatError):
        normalize_format("opus")


def test_silence_bytes():
    assert silence("pcm16", 4) == b"\x00" * 4
    assert ulaw_decode(silence("g711_ulaw", 3)) == b"\x00" * 6
    assert set(np.abs(np.frombuffer(alaw_decode(silence("audio/pcma", 3)), "<i2"))) == {8}


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw", "pcm16"])
def test_wire_encoder_roundtrip(fmt):
    enc = WireEncoder(fmt, in_rate=48000)
    pcm = tone(440, 1.0, 48000)
    wire = b"".join(enc.encode(pcm[i:i + 1920]) for i in range(0, len(pcm), 1920)) + enc.flush()
    rate = wire_rate(fmt)
    width = 2 if fmt == "pcm16" else 1
    assert abs(len(wire) // width - rate) <= 4
    dec = WireDecoder(fmt, out_rate=24000)
    out = dec.decode(wire[:1001]) + dec.decode(wire[1001:]) + dec.flush()
    assert abs(len(out) // 2 - 24000) <= 6
    assert abs(dominant_hz(out, 24000) - 440) < 3


def test_encoder_out_rate_only_for_pcm16():
    assert WireEncoder("pcm16", 48000, out_rate=16000).rate == 16000
    with pytest.raises(AudioFormatError):
        WireEncoder("g711_ulaw", 48000, out_rate=16000)
    assert g711.wire_sample_width("audio/pcmu") == 1
