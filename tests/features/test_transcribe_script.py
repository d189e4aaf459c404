"""scripts/transcribe.py against the embedded simulator."""

import pytest

pytest.importorskip("realtime_sync.testing")
from realtime_sync.data import WEATHER_QUESTION_WAV  # noqa: E402

from tests.support.modules import load_script  # noqa: E402


def load():
    return load_script("transcribe.py")


def test_transcribes_the_shipped_wav_with_the_simulator(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    script = load()
    assert script.main([WEATHER_QUESTION_WAV]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("(audio ") and out.strip().endswith(" ms)")  # the simulator's stand-in transcript
    assert "simulator" in err
    assert script.main([WEATHER_QUESTION_WAV, "--simulator", "--vad", "--segments"]) == 0
    assert capsys.readouterr().out.count("\n") >= 1
    assert script.main([WEATHER_QUESTION_WAV, "--simulator", "--protocol", "beta", "--model", "whisper-1"]) == 0
    assert capsys.readouterr().out.startswith("(audio ")
    assert script.main(["/no/such/file.wav", "--simulator"]) == 2
