"""Issue 11, client item 8: what the server says about the session is merged into what is known."""
from realtime_sync import SessionOptions
from realtime_sync.protocol import parse_update
from realtime_sync.session_info import SessionInfoTracker
from tests.support.sessions import start_session

GA_CREATED = {"type": "session.created", "event_id": "e1", "session": {
    "type": "realtime", "object": "realtime.session", "id": "sess_1", "model": "gpt-realtime", "expires_at": 1700,
    "instructions": "Hi.", "output_modalities": ["audio"], "tools": [],
    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": {"model": "whisper-1"},
                        "turn_detection": {"type": "server_vad"}},
              "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}}}}


def test_an_update_that_omits_id_model_and_expiry_keeps_them():
    tracker = SessionInfoTracker()
    tracker.handle_update(parse_update(GA_CREATED))
    tracker.handle_update(parse_update({"type": "session.updated", "event_id": "e2", "session": {
        "type": "realtime", "instructions": "Be brief.", "audio": {"output": {"voice": "marin"}}}}))
    info = tracker.info
    assert (info.id, info.model, info.expires_at) == ("sess_1", "gpt-realtime", 1700)
    assert (info.instructions, info.voice) == ("Be brief.", "marin")
    assert info.input_audio_format == "pcm16" and info.input_audio_transcription == {"model": "whisper-1"}
    assert info.raw["audio"]["input"]["turn_detection"] == {"type": "server_vad"}


def test_a_field_sent_as_null_is_cleared_and_a_new_session_starts_over():
    tracker = SessionInfoTracker()
    tracker.handle_update(parse_update(GA_CREATED))
    tracker.handle_update(parse_update({"type": "session.updated", "event_id": "e2", "session": {
        "type": "realtime", "audio": {"input": {"transcription": None}}}}))
    assert tracker.info.input_audio_transcription is None and tracker.info.id == "sess_1"
    created = {**GA_CREATED, "session": {**GA_CREATED["session"], "id": "sess_2", "model": "gpt-realtime-mini"}}
    tracker.handle_update(parse_update(created))
    assert (tracker.info.id, tracker.info.model) == ("sess_2", "gpt-realtime-mini")


def test_beta_update_that_omits_fields_keeps_them():
    tracker = SessionInfoTracker()
    tracker.handle_update(parse_update({"type": "session.created", "event_id": "e1", "session": {
        "object": "realtime.session", "id": "sess_b", "model": "gpt-4o-realtime-preview", "expires_at": 9,
        "modalities": ["audio", "text"], "voice": "alloy"}}))
    tracker.handle_update(parse_update({"type": "session.updated", "event_id": "e2", "session": {"voice": "ash"}}))
    assert (tracker.info.id, tracker.info.model, tracker.info.expires_at, tracker.info.voice) == \
        ("sess_b", "gpt-4o-realtime-preview", 9, "ash")


def test_configure_session_keeps_id_model_and_expiry_when_the_update_omits_them(
        make_fake_server, _simulator_events_are_schema_valid):
    def strip(conn, event):
        if event["type"] == "session.updated":
            for key in ("id", "model", "expires_at"):
                event["session"].pop(key, None)

    server = make_fake_server(event_hook=strip)
    with start_session(server) as session:
        before = session.session_info
        assert before is not None and before.id and before.model and before.expires_at
        session.configure_session(SessionOptions(instructions="Be brief."))
        info = session.session_info
        assert (info.id, info.model, info.expires_at) == (before.id, before.model, before.expires_at)
        assert session.id == before.id and info.instructions == "Be brief."
    scope = _simulator_events_are_schema_valid  # the stripped session.updated is invalid on purpose; nothing else
    assert scope.failures and all("'session.updated'" in f for f in scope.failures)
    scope.failures.clear()
