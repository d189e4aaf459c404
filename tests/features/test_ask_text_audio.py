"""Issue 11: ``ask(text=...)`` / ``ask(audio=...)``; a str prompt that names a file is refused loudly."""
import os

import pytest

from tests.support.sessions import start_session

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import scripted, scripted_transcripts  # noqa: E402

WAV = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "realtime_sync", "data", "weather_question.wav")


def test_audio_keyword_takes_a_str_path_and_text_keyword_sends_the_path_as_text(make_fake_server):
    server = make_fake_server(responder=scripted("Sunny.", "It is a path."),
                              transcriber=scripted_transcripts("What's the weather?"))
    with start_session(server) as session:
        result = session.ask(audio=str(WAV), timeout=20)
        assert result.output_text == "Sunny."
        assert any(e["type"] == "input_audio_buffer.append" for e in server.connections[0].received)
        result = session.ask(text=str(WAV), timeout=20)
        assert result.output_text == "It is a path."
        sent = [e for e in server.connections[0].received if e["type"] == "conversation.item.create"]
        assert sent[-1]["item"]["content"][0]["text"] == str(WAV)


def test_a_str_prompt_naming_a_file_and_ambiguous_calls_raise(make_fake_server):
    server = make_fake_server()
    with start_session(server) as session:
        with pytest.raises(ValueError, match="audio=path"):
            session.ask(str(WAV))
        with pytest.raises(TypeError, match="exactly one"):
            session.ask()
        with pytest.raises(TypeError, match="exactly one"):
            session.ask("hi", text="hi")
        with pytest.raises(TypeError):
            session.ask(audio=12)
        assert not [e for e in server.connections[0].received if e["type"] == "conversation.item.create"]


def test_readme_usage_callback_and_keep_audio_as_written(make_fake_server):
    """README: ``session.usage.on_usage = callback`` and ``session.conversation.keep_audio = True`` work."""
    server = make_fake_server(responder=scripted("Hello there."))
    with start_session(server) as session:
        seen = []
        session.usage.on_usage = seen.append
        session.conversation.keep_audio = True
        result = session.ask(text="hi", timeout=20)
        assert len(seen) == 1 and seen[0].usage.total_tokens > 0
        item = session.conversation.last(role="assistant")
        assert item is not None and item.audio and len(item.audio) == len(result.audio)
