"""TranslationSession against a scripted translation server (tests/client/server.py's MiniServer answering the
translation protocol): what only a scripted server can do (an unasked ``session.closed``, no ``session.closed`` at
all, a format change mid-session, an ``error`` for an update) and the wire details (frames, hooks, the URL)."""
import json

import pytest

from realtime_sync import RealtimeClient, UpdateKind
from realtime_sync.errors import (ConfigurationError, ProtocolError, RealtimeTimeoutError, ServerError,
                                  SessionClosedError)
from realtime_sync.protocol.translation import FRAME_BYTES, TranslatedAudioDeltaUpdate
from realtime_sync.translation import TranslationCollector
from tests.support.waiting import wait_until

from .translation_server import KEY, Translator


@pytest.fixture
def translator():
    t = Translator()
    with t.serve() as srv:
        t.server = srv
        yield t


def client(srv, **kwargs):
    kwargs.setdefault("request_timeout", 5.0)
    kwargs.setdefault("connect_timeout", 5.0)
    return RealtimeClient(KEY, endpoint=srv.base_url, reconnect=False, **kwargs)


def speech(ms, value=1000):
    return value.to_bytes(2, "little", signed=True) * (24 * ms)


def test_start_update_audio_and_a_graceful_close(translator):
    sent, received = [], []
    c = client(translator.server)
    c.on_sending_command(sent.append)
    c.on_receiving_command(received.append)
    session = c.start_translation("es", transcribe_input=True, noise_reduction="near_field")
    req = translator.server.requests[0]
    assert req["path"] == "/v1/realtime/translations?model=gpt-realtime-translate"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}" and "OpenAI-Beta" not in req["headers"]
    assert session.id == "sess_TR1" and session.target_language == "es"
    assert session.session_info.transcription_model == "gpt-realtime-whisper"
    update = json.loads(translator.server.received[0])
    assert update["type"] == "session.update" and "type" not in update["session"] and "model" not in update["session"]
    assert session.update(target_language="fr").session.target_language == "fr" and session.target_language == "fr"
    handle = session.send_audio(speech(450))
    assert handle.wait(5)
    assert session.close(5) is True and session.closed and not session.closed_by_server
    updates = list(session.receive_updates(timeout=5))
    kinds = [u.kind for u in updates]
    assert kinds[-1] is UpdateKind.SESSION_CLOSED
    text = "".join(u.text for u in updates if u.kind is UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA)
    assert text == "f1 f2 f3 end."
    audio = b"".join(u.audio for u in updates if isinstance(u, TranslatedAudioDeltaUpdate))
    assert audio == speech(450) + bytes(FRAME_BYTES - 2400)
    # every frame is a whole 200 ms engine frame; the close follows the audio; hooks saw the raw JSON both ways
    assert set(translator.sizes) == {FRAME_BYTES}
    types = [json.loads(m)["type"] for m in translator.server.received]
    assert types[-1] == "session.close" and types.count("session.input_audio_buffer.append") >= 3
    assert [json.loads(m)["type"] for m in sent] == types
    assert [json.loads(m) for m in received] == [u.raw for u in updates]
    with pytest.raises(SessionClosedError):
        session.send_audio(b"\x00\x00")
    assert session.close(1) is True  # idempotent


def test_send_command_passes_any_client_event_through(translator):
    from realtime_sync.protocol.translation import TranslationAudioAppendCommand

    with client(translator.server).start_translation("es", fill_silence=False) as session:
        eid = session.send_command(TranslationAudioAppendCommand(audio=speech(200)))
        assert eid.startswith("evt_")
        assert session.send_command({"type": "session.update", "event_id": "mine",
                                     "session": {"audio": {"output": {"language": "de"}}}}) == "mine"
        assert session.wait_for(UpdateKind.SESSION_UPDATED, 5).session.target_language == "de"
        assert session.send_command('{"type": "session.input_audio_buffer.append", "audio": ""}') is None
        for bad in ("not json", '{"no": "type"}'):
            with pytest.raises(ProtocolError):
                session.send_command(bad)
        assert wait_until(lambda: len(translator.server.received) >= 4, 5)
    types = [json.loads(m)["type"] for m in translator.server.received]
    assert types[1:4] == ["session.input_audio_buffer.append", "session.update", "session.input_audio_buffer.append"]


def test_silence_keeps_the_stream_going_while_the_app_is_quiet(translator):
    with client(translator.server).start_translation("es") as session:
        assert wait_until(lambda: len(translator.frames) >= 3, 5)  # three frames of silence on the timer
        assert not any(any(f) for f in translator.frames)
        session.send_audio(speech(200))
        assert wait_until(lambda: len(translator.speech_frames()) == 1, 5)
        assert wait_until(lambda: any(not any(f) for f in translator.frames[translator.frames.index(
            translator.speech_frames()[0]) + 1:]), 5)  # silence again after it
        audio, silence = session.frames_sent
        assert audio == 1 and silence >= 4
    quiet = client(translator.server).start_translation("es", fill_silence=False)
    try:
        quiet.send_audio(speech(200)).wait(5)
        assert quiet.frames_sent == (1, 0)
    finally:
        quiet.close(5)


def test_a_refused_update_raises_the_server_error(translator):
    with client(translator.server).start_translation("es") as session:
        with pytest.raises(ServerError) as info:
            session.update(target_language="xx")
        assert info.value.code == "invalid_value" and info.value.param == "session.audio.output.language"
        assert session.target_language == "es"
        with pytest.raises(ConfigurationError):
            session.update()
    with pytest.raises(ServerError):
        client(translator.server).start_translation("xx")


def test_the_server_may_end_the_session_unasked(translator):
    with client(translator.server).start_translation("es") as session:
        translator.server.conns[0].send({"type": "session.closed"})
        assert [u.kind for u in session.receive_updates(timeout=5)][-1] is UpdateKind.SESSION_CLOSED
        assert session.closed and session.closed_by_server and session.error is None
        with pytest.raises(SessionClosedError):
            session.send_audio(b"\x00\x00")


def test_a_close_without_session_closed_is_bounded_and_says_so():
    t = Translator(answer_close=False)
    with t.serve() as srv:
        session = client(srv).start_translation("es")
        session.send_audio(speech(200))
        assert session.close(0.5) is False and session.closed
        assert list(session.receive_updates(timeout=5))[-1].kind is UpdateKind.SESSION_OUTPUT_AUDIO_DELTA
        with pytest.raises(RealtimeTimeoutError, match="incomplete"):
            client(srv).translate_file(speech(300), "es", timeout=1)


def test_translate_file_collects_both_transcripts_and_the_audio(translator, tmp_path):
    result = client(translator.server).translate_file(speech(300), "es")
    assert result.text == "f1 f2 end." and result.source_text == "s1. s2. "
    assert result.audio == speech(300) + bytes(2 * FRAME_BYTES - len(speech(300)))
    assert (result.sample_rate, result.channels, result.target_language) == (24000, 1, "es")
    assert result.duration_ms == pytest.approx(400)
    path = tmp_path / "out.wav"
    result.write_wav(str(path))
    import wave
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (24000, 1, 9600)
    with pytest.raises(ServerError):
        client(translator.server).translate_file(speech(300), "xx")


def test_a_change_of_audio_format_mid_session_is_a_clear_error():
    collector = TranslationCollector()
    for rate in (24000, 16000):
        collector.handle_update(TranslatedAudioDeltaUpdate(raw={"type": "session.output_audio.delta"},
                                                           delta="AAAA", sample_rate=rate, channels=1))
    with pytest.raises(ProtocolError, match="24000 Hz x1 -> 16000 Hz x1"):
        collector.check()
    t = Translator(rate=16000)
    with t.serve() as srv:
        result = client(srv).translate_file(speech(200), "es")
        assert result.sample_rate == 16000 and len(result.audio) == FRAME_BYTES  # the event's rate, as given


def test_a_server_closing_the_socket_after_session_closed_is_a_clean_end():
    t = Translator(close_socket=True)
    with t.serve() as srv:
        session = client(srv).start_translation("es")
        session.send_audio(speech(200))
        assert session.close(5) is True and session.error is None
        assert list(session.receive_updates(timeout=5))[-1].kind is UpdateKind.SESSION_CLOSED
