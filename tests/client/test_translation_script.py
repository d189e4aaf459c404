"""scripts/translate.py: a file translated (against the scripted translation server, reached as the service is),
and its failures (one error line, a non-zero exit)."""
import json
import wave

import pytest

pytest.importorskip("realtime_sync.testing")
from realtime_sync.data import WEATHER_QUESTION_WAV  # noqa: E402
from tests.client.translation_server import KEY, Translator  # noqa: E402

from tests.support.modules import load_script  # noqa: E402


def load():
    return load_script("translate.py")


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_translates_the_shipped_wav(capsys, tmp_path, no_keys, monkeypatch):
    """Against the scripted translation server, reached as the service is (a key and ``OPENAI_BASE_URL``)."""
    monkeypatch.chdir(tmp_path)
    script = load()
    translator = Translator()
    with translator.serve() as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        assert script.main([WEATHER_QUESTION_WAV, "--to", "es"]) == 0
        out, err = capsys.readouterr()
        lines = out.splitlines()
        assert err == ""
        assert lines[0].startswith("source: s") and lines[1].startswith("translation (es): f")
        assert lines[1].endswith("end.")
        target = tmp_path / "out.wav"
        assert script.main([WEATHER_QUESTION_WAV, "--to", "fr", "-o", str(target), "--no-source-transcript"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("translation (fr): ") and target.exists()
    assert lines[2].startswith("wrote weather_question.es.wav (")
    with wave.open(str(tmp_path / "weather_question.es.wav"), "rb") as w:
        assert w.getnframes() > 0 and w.getsampwidth() == 2
    updates = [json.loads(m) for m in server.received if json.loads(m)["type"] == "session.update"]
    assert updates[0]["session"]["audio"]["input"] == {"transcription": {"model": "gpt-realtime-whisper"}}
    assert "input" not in updates[1]["session"]["audio"]  # --no-source-transcript


def test_failures_print_one_error_line_and_exit_non_zero(capsys, tmp_path, no_keys, monkeypatch):
    script = load()
    assert script.main(["/no/such/file.wav", "--to", "es"]) == 2
    assert capsys.readouterr().err.strip() == "error: no such file: /no/such/file.wav"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert script.main([str(bad), "--to", "es", "--simulator", "-o", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: AudioFormatError: ") and len([e for e in err if e.startswith("error")]) == 1
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-0123456789")
    assert script.main([WEATHER_QUESTION_WAV, "--to", "es", "-o", str(tmp_path / "y.wav")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ConfigurationError: ") and "Azure" in err and "\n" not in err
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    assert script.main([WEATHER_QUESTION_WAV, "--to", "es", "-o", str(tmp_path / "no" / "dir" / "z.wav")]) == 2
    assert capsys.readouterr().err.strip().endswith("z.wav: no such directory")
    with pytest.raises(SystemExit):
        script.main([WEATHER_QUESTION_WAV])  # --to is required


def test_without_a_key_it_translates_on_the_simulator(capsys, tmp_path, no_keys):
    """No key: the embedded simulator, which reads the words synthetic speech carries and marks its translation."""
    from realtime_sync.testing import synthesize

    from tests.support.wav import write_wav

    source = tmp_path / "greeting.wav"
    write_wav(source, synthesize("Good morning everyone."))
    target = tmp_path / "greeting.de.wav"
    assert load().main([str(source), "--to", "de", "-o", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "no OPENAI_API_KEY is set: using the local simulator" in err
    assert out.splitlines()[:2] == ["source: Good morning everyone.", "translation (de): [de] Good morning everyone."]
    with wave.open(str(target), "rb") as w:
        assert w.getframerate() == 24000 and w.getnframes() > 24000 // 2  # the marked translation, spoken
