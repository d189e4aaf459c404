"""The translation client against the simulator's translation sessions (the other direction of the client tests
against the scripted server): what was said comes back translated, a language change applies to the next phrase,
the close drains, the one-call helper, real-time pacing with silence filling, secrets, refusals."""
import pytest

from realtime_sync import RealtimeClient, UpdateKind
from realtime_sync.errors import AuthenticationError, RequestRefusedError
from realtime_sync.protocol.translation import TranslatedAudioDeltaUpdate

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import scripted_translations, synthesize  # noqa: E402


def client(server):
    return RealtimeClient(server.api_key, endpoint=server.base_url, reconnect=False, request_timeout=5.0,
                          connect_timeout=5.0)


def texts(updates, kind):
    return "".join(u.text for u in updates if u.kind is kind)


def until_said(session, ending, timeout):
    """The updates received until the translated transcript so far ends with ``ending``."""
    updates = []
    for update in session.receive_updates(timeout=timeout):
        updates.append(update)
        if texts(updates, UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA).endswith(ending):
            return updates
    raise AssertionError(f"the session ended before {ending!r}")


def test_speech_in_translation_out_with_a_change_of_language(make_fake_server):
    server = make_fake_server()
    with client(server).start_translation("es", transcribe_input=True, timeout=10) as session:
        assert session.session_info.transcription_model == "gpt-realtime-whisper"
        assert session.send_audio(synthesize("Good morning everyone.") + bytes(9600)).wait(10)
        first = until_said(session, "[es] Good morning everyone.", 10)
        assert texts(first, UpdateKind.SESSION_INPUT_TRANSCRIPT_DELTA) == "Good morning everyone."
        assert session.update(target_language="fr", timeout=10).session.target_language == "fr"
        assert session.send_audio(synthesize("Where is the museum?")).wait(10)
        assert session.close(10) is True and not session.closed_by_server
        updates = list(session.receive_updates(timeout=10))
    assert updates[-1].kind is UpdateKind.SESSION_CLOSED
    said = texts(updates, UpdateKind.SESSION_OUTPUT_TRANSCRIPT_DELTA)
    assert said.endswith("[fr] Where is the museum?"), said  # the second phrase in the new language, drained
    heard = texts(updates, UpdateKind.SESSION_INPUT_TRANSCRIPT_DELTA)
    assert heard.strip() == "Where is the museum?", heard
    audio = b"".join(u.audio for u in updates if isinstance(u, TranslatedAudioDeltaUpdate))
    assert len(audio) > 24000  # the translation spoken: more than half a second of 24 kHz PCM16
    conn = server.connections[-1]
    assert conn.received[-1]["type"] == "session.close"


def test_translate_file_with_the_servers_translator(make_fake_server):
    translator = scripted_translations("Buenos días a todos.")
    server = make_fake_server(translator=translator)
    result = client(server).translate_file(synthesize("Good morning everyone."), "es", timeout=20)
    assert result.source_text.strip() == "Good morning everyone."
    assert result.text.strip() == "Buenos días a todos."
    assert translator.calls == [("Good morning everyone.", "es")]
    assert result.duration_ms > 500 and result.session_id.startswith("sess_")


def test_real_time_pacing_keeps_the_stream_continuous(make_fake_server):
    """At real time the simulator paces its output and the client fills the gaps with silence: every append is one
    200 ms frame and the translation still arrives."""
    server = make_fake_server(pace=1.0)
    with client(server).start_translation("de", timeout=10) as session:
        session.send_audio(synthesize("Good morning.") + bytes(4800), realtime=True)
        until_said(session, "[de] Good morning.", 15)
        session.close(10)
    appends = [e for e in server.connections[-1].received if e["type"] == "session.input_audio_buffer.append"]
    assert appends and {len(e["audio"]) for e in appends} == {12800}  # base64 of 9600 bytes: one 200 ms frame


def test_a_translation_secret_opens_a_session_and_nothing_else(make_fake_server):
    server = make_fake_server()
    c = client(server)
    secret = c.create_translation_secret("it", transcribe_input=True)
    assert secret.value.startswith("ek_") and secret.expires_at > 0
    with RealtimeClient(secret.value, endpoint=server.base_url, reconnect=False).start_translation(
            "it", timeout=10) as session:
        assert session.target_language == "it"
    with pytest.raises(AuthenticationError):  # a translation secret is not a key for realtime sessions
        RealtimeClient(secret.value, endpoint=server.base_url, reconnect=False).start_session(timeout=10)


def test_an_unknown_translation_model_is_refused(make_fake_server):
    server = make_fake_server()
    with pytest.raises(RequestRefusedError) as err:
        client(server).start_translation("es", model="gpt-realtime-translate-9", timeout=10)
    assert "gpt-realtime-translate-9" in str(err.value)
