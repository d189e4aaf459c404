"""The simulator's live translation sessions (``/v1/realtime/translations``, ADDENDUM-2026-12 A3) over a raw
WebSocket: events, 200 ms framing, transcripts, updates, the graceful close, bad audio, the translator, faults and
pacing. Every event is validated by the suite's autouse fixture (translation schema + openai-python's models)."""
import base64
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed

from realtime_sync.testing import default_translator, scripted_translations, synthesize, validation_scope
from realtime_sync.testing.openai_models import openai_translation_checker
from realtime_sync.testing.translation_engine import FRAME_BYTES
from tests.testing.translation_client import (APPEND, append, close_and_collect, output_audio, speech, text_of,
                                              tr_client, translate, update)

IN, OUT, AUDIO = "session.input_transcript.delta", "session.output_transcript.delta", "session.output_audio.delta"


def test_session_created_is_the_translation_session(fake_server):
    with tr_client(fake_server, created=False) as client:
        created = client.expect("session.created")
        session = created["session"]
        assert session["type"] == "translation" and session["model"] == "gpt-realtime-translate"
        assert session["id"].startswith("sess_") and session["expires_at"] > time.time() + 3000
        assert session["audio"] == {"input": {"noise_reduction": None, "transcription": None},
                                    "output": {"language": "en"}}
        conn = fake_server.wait_for_connection()
        assert conn.session_wire == session and conn.route.kind == "translation"


def test_synthetic_speech_is_translated_with_the_marked_default(fake_server):
    events = translate(fake_server, speech("good morning everyone"), "es")
    assert text_of(events, OUT) == "[es] good morning everyone"
    assert not [e for e in events if e["type"] == IN]  # no input transcription asked for
    audio = [e for e in events if e["type"] == AUDIO]
    assert all((e["format"], e["sample_rate"], e["channels"]) == ("pcm16", 24000, 1) for e in audio)
    assert output_audio(events) == synthesize("[es] good morning everyone")  # the translation, spoken
    assert all(len(base64.b64decode(e["delta"])) <= FRAME_BYTES for e in audio)
    steps = [e["elapsed_ms"] for e in audio]
    assert steps[0] % 200 == 0 and steps == list(range(steps[0], steps[0] + 200 * len(steps), 200))
    conn = fake_server.connections[0]
    assert conn.translations == [("good morning everyone", "es", "[es] good morning everyone")]
    # each transcript fragment comes before the audio it is spoken in, with that audio's elapsed_ms
    first_audio = next(i for i, e in enumerate(events) if e["type"] == AUDIO)
    assert events[first_audio - 1]["type"] == OUT and events[first_audio - 1]["elapsed_ms"] == steps[0]


def test_input_transcript_only_when_transcription_is_on(fake_server):
    events = translate(fake_server, speech("Good morning, everyone. How are you?"), "fr", transcribe=True)
    heard = [e for e in events if e["type"] == IN]
    assert "".join(e["delta"] for e in heard) == "Good morning, everyone. How are you?"
    assert [e["delta"] for e in heard][:3] == ["Good", " morning,", " everyone."]
    assert all(e["elapsed_ms"] % 200 == 0 for e in heard)
    assert [e["elapsed_ms"] for e in heard] == sorted(e["elapsed_ms"] for e in heard)
    # one phrase per sentence, each translated and marked; fragments join with the space between them
    assert text_of(events, OUT) == "[fr] Good morning, everyone. [fr] How are you?"
    assert fake_server.connections[0].translations == [
        ("Good morning, everyone.", "fr", "[fr] Good morning, everyone."),
        ("How are you?", "fr", "[fr] How are you?")]


def test_transcription_can_be_turned_on_and_off(fake_server):
    with tr_client(fake_server) as client:
        assert update(client, input={"transcription": {"model": "gpt-realtime-whisper"}})["type"] == \
            "session.updated"
        append(client, speech("first part", tail_ms=800))
        client.send({"type": "session.update", "session": {"audio": {"input": {"transcription": None}}}})
        append(client, speech("second part", tail_ms=800))
        events = close_and_collect(client)
    assert text_of(events, IN) == "first part"
    assert text_of(events, OUT) == "[en] first part [en] second part"


@pytest.mark.parametrize("chunk", [4800, 3333, FRAME_BYTES * 5 + 7, 10 ** 6])
def test_framing_is_independent_of_the_chunking(fake_server, chunk):
    audio = speech("one two three. four five", lead_ms=130, tail_ms=900)
    reference = translate(fake_server, audio, "de", transcribe=True)
    events = translate(fake_server, audio, "de", transcribe=True, chunk=chunk)

    def shape(evs):
        return [(e["type"], e.get("delta"), e.get("elapsed_ms")) for e in evs]
    assert shape(events) == shape(reference)
    assert fake_server.connections[-1].engine.frames == fake_server.connections[0].engine.frames


def test_partial_frames_are_held_until_whole_and_long_appends_are_cut(fake_server):
    with tr_client(fake_server) as client:
        conn = fake_server.wait_for_connection()
        append(client, bytes(FRAME_BYTES - 1), chunk=FRAME_BYTES)
        fake_server.wait_for_received(APPEND)
        assert update(client, output={"language": "it"})["type"] == "session.updated"  # the append was handled
        assert (conn.engine.frames, conn.engine.held_bytes) == (0, FRAME_BYTES - 1)
        append(client, bytes(1))
        assert update(client, output={"language": "it"})["type"] == "session.updated"
        assert (conn.engine.frames, conn.engine.held_bytes) == (1, 0)
        append(client, bytes(FRAME_BYTES * 5 + 100), chunk=10 ** 7)  # one long append: five frames queued
        assert update(client, output={"language": "it"})["type"] == "session.updated"
        assert (conn.engine.frames, conn.engine.held_bytes) == (6, 100)
        events = close_and_collect(client)
    assert [e["type"] for e in events] == ["session.closed"]  # silence: nothing to translate
    assert conn.engine.frames == 7  # the held 100 bytes were padded to a frame on close


def test_silence_produces_nothing(fake_server):
    with tr_client(fake_server) as client:
        append(client, bytes(FRAME_BYTES * 15))
        quiet = (np.random.default_rng(3).normal(0, 40, 24000 * 2)).astype("<i2").tobytes()  # -58 dBFS noise
        append(client, quiet)
        assert [e["type"] for e in close_and_collect(client)] == ["session.closed"]


def test_close_drains_the_held_input_then_closed_then_a_normal_close(fake_server):
    with tr_client(fake_server) as client:
        conn = fake_server.wait_for_connection()
        assert update(client, output={"language": "es"}, input={"transcription": {"model": "gpt-transcribe"}})[
            "type"] == "session.updated"
        audio = bytes(2000) + synthesize("see you tomorrow")  # no silence after: the phrase is still open
        append(client, audio[: len(audio) - 1234])
        append(client, audio[len(audio) - 1234:], chunk=1234)
        events = close_and_collect(client)
        assert events[-1]["type"] == "session.closed"
        assert text_of(events, IN) == "see you tomorrow"
        assert text_of(events, OUT) == "[es] see you tomorrow"
        assert output_audio(events) == synthesize("[es] see you tomorrow")
        assert conn.wait_closed(5) and conn.close_code == 1000
        assert conn.sent_types[-1] == "session.closed"


def test_language_of_each_phrase_is_the_one_set_when_it_ended(fake_server):
    with tr_client(fake_server) as client:
        assert update(client, output={"language": "es"})["type"] == "session.updated"
        append(client, speech("hello there."))
        assert update(client, output={"language": "pt-BR"})["type"] == "session.updated"
        append(client, speech("goodbye now."))
        close_and_collect(client)
    assert text_of(client.events, OUT) == "[es] hello there. [pt-BR] goodbye now."


@pytest.mark.parametrize("session, code, param", [
    ({"type": "translation"}, "unknown_parameter", "session.type"),
    ({"model": "gpt-realtime-translate"}, "unknown_parameter", "session.model"),
    ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "unknown_parameter",
     "session.audio.input.format"),
    ({"audio": {"output": {"language": "Spanish"}}}, "invalid_value", "session.audio.output.language"),
    ({"audio": {"output": {"language": 7}}}, "invalid_type", "session.audio.output.language"),
    ({"audio": {"input": {"noise_reduction": {"type": "mid_field"}}}}, "invalid_value",
     "session.audio.input.noise_reduction.type"),
    ({"audio": {"input": {"noise_reduction": {"strength": 0.5}}}}, "missing_required_parameter",
     "session.audio.input.noise_reduction.type"),
    ({"audio": {"input": {"transcription": {}}}}, "missing_required_parameter",
     "session.audio.input.transcription.model"),
    ({"audio": {"input": {"transcription": {"model": " "}}}}, "invalid_value",
     "session.audio.input.transcription.model"),
])
def test_refused_updates_name_the_param_and_change_nothing(fake_server, session, code, param):
    with tr_client(fake_server) as client:
        before = fake_server.wait_for_connection().session_wire
        client.send({"type": "session.update", "event_id": "evt_u1",
                     "session": {**session, "audio": {"output": {"language": "fr"}, **session.get("audio", {})}}})
        err = client.expect("error")["error"]
        assert (err["type"], err["code"], err["param"], err["event_id"]) == ("invalid_request_error", code, param,
                                                                             "evt_u1")
        assert err["message"]
        assert fake_server.connections[0].session_wire == before  # the whole update was discarded
        assert update(client, output={"language": "fr"})["session"]["audio"]["output"]["language"] == "fr"


def test_noise_reduction_strength_defaults_to_one_and_is_kept(fake_server):
    with tr_client(fake_server) as client:
        nr = update(client, input={"noise_reduction": {"type": "near_field"}})["session"]["audio"]["input"]
        assert nr["noise_reduction"] == {"type": "near_field", "strength": 1.0}
        nr = update(client, input={"noise_reduction": {"type": "far_field", "strength": 0.4}})["session"]
        assert nr["audio"]["input"]["noise_reduction"] == {"type": "far_field", "strength": 0.4}
        nr = update(client, input={"noise_reduction": {"type": "near_field"}})["session"]
        assert nr["audio"]["input"]["noise_reduction"] == {"type": "near_field", "strength": 0.4}
        off = update(client, input={"noise_reduction": None})["session"]
        assert off["audio"]["input"]["noise_reduction"] is None
        assert off["audio"]["output"]["language"] == "en"  # untouched


def test_accepted_languages_can_be_restricted(make_fake_server):
    server = make_fake_server(translation_languages=["es", "fr"])
    with tr_client(server) as client:
        err = update(client, output={"language": "de"})["error"]
        assert (err["code"], err["param"]) == ("invalid_value", "session.audio.output.language")
        assert "'es', 'fr'" in err["message"]
        assert update(client, output={"language": "fr"})["type"] == "session.updated"


@pytest.mark.parametrize("audio, needle", [("not*base64!", "base64"), ("QUJDRA", "base64"),
                                           (base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode(), "WAV")])
def test_bad_audio_is_an_error_naming_audio_and_the_session_goes_on(fake_server, audio, needle):
    with tr_client(fake_server) as client:
        client.send({"type": APPEND, "audio": audio, "event_id": "evt_a1"})
        err = client.expect("error")["error"]
        assert (err["code"], err["param"], err["event_id"]) == ("invalid_value", "audio", "evt_a1")
        assert needle in err["message"]
        client.send({"type": APPEND})
        err = client.expect("error")["error"]
        assert (err["code"], err["param"]) == ("missing_required_parameter", "audio")
        append(client, speech("still fine"))
        assert text_of(close_and_collect(client), OUT) == "[en] still fine"


def test_unknown_and_malformed_client_events(fake_server):
    with tr_client(fake_server) as client:
        client.send({"type": "response.create", "event_id": "evt_x"})
        err = client.expect("error")["error"]
        assert (err["code"], err["param"], err["event_id"]) == ("invalid_value", "type", "evt_x")
        assert "'session.input_audio_buffer.append'" in err["message"]
        client.send({"type": "input_audio_buffer.append", "audio": ""})  # the realtime name is not this protocol's
        assert client.expect("error")["error"]["param"] == "type"
        client.send_raw("{not json")
        assert client.expect("error")["error"]["code"] == "invalid_json"
        client.send_raw(b"\x00\x01")
        assert client.expect("error")["error"]["code"] == "invalid_event"
        client.send({"type": "session.close", "bogus": 1})
        assert client.expect("error")["error"]["param"] == "bogus"
        assert [e["type"] for e in close_and_collect(client)] == ["session.closed"]


def test_events_after_close_are_ignored(fake_server):
    with tr_client(fake_server) as client:
        append(client, speech("last words"))
        client.send({"type": "session.close"})
        client.send({"type": "session.update", "session": {"audio": {"output": {"language": "es"}}}})
        events = client.recv_until("session.closed")
        assert "session.updated" not in [e["type"] for e in events]
        assert text_of(events, OUT) == "[en] last words"
        with pytest.raises(ConnectionClosed):
            client.recv(5)


def test_a_pluggable_translator_and_its_failures(make_fake_server):
    translator = scripted_translations("Buenos días a todos", then=None)
    server = make_fake_server(translator=translator)
    with tr_client(server) as client:
        update(client, output={"language": "es"})
        append(client, speech("good morning everyone."))
        append(client, speech("and then?"))  # the script has no second translation: the translator raises
        events = close_and_collect(client)
    assert translator.calls == [("good morning everyone.", "es"), ("and then?", "es")]
    assert text_of(events, OUT) == "Buenos días a todos"
    assert output_audio(events) == synthesize("Buenos días a todos")
    err = [e["error"] for e in events if e["type"] == "error"]
    assert len(err) == 1 and err[0]["type"] == "server_error"
    server.translator = None  # back to the default
    assert server.translator is default_translator


def test_speech_without_words_is_translated_as_its_duration(fake_server):
    rng = np.random.default_rng(5)
    t = np.arange(24000) / 24000  # one second of a loud hum: voiced, but no words in it
    hum = (np.sin(2 * np.pi * 180 * t) * 9000 + rng.normal(0, 30, t.size)).astype("<i2").tobytes()
    events = translate(fake_server, hum + bytes(FRAME_BYTES * 3), "ja", transcribe=True)
    assert text_of(events, IN) == "(speech 1000 ms)"
    assert text_of(events, OUT) == "[ja] (speech 1000 ms)"


def test_faults_apply_to_translation_sessions(fake_server):
    fake_server.faults.send_error(code="rate_limit_exceeded", message="Slow down.", error_type="rate_limit_error",
                                  after=2, scope="new")  # after session.created and session.updated
    with tr_client(fake_server) as client:
        assert update(client, output={"language": "es"})["type"] == "session.updated"
        err = client.expect("error")["error"]
        assert (err["type"], err["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    fake_server.faults.drop_after(2, scope="new")
    with tr_client(fake_server) as client:
        append(client, speech("dropped soon"))
        with pytest.raises(ConnectionClosed) as info:
            client.recv_until("session.closed")
        assert info.value.rcvd is None  # no close frame: the connection was cut
    fake_server.faults.close_after(0, code=1011, reason="boom", scope="new")
    with tr_client(fake_server, created=False) as client:
        with pytest.raises(ConnectionClosed) as info:
            client.recv(5)
        assert info.value.rcvd is not None and (info.value.rcvd.code, info.value.rcvd.reason) == (1011, "boom")


def test_translation_sessions_expire_like_realtime_ones(fake_server):
    fake_server.faults.expire_after(0.5)
    with tr_client(fake_server) as client:
        err = client.expect("error", timeout=5)["error"]
        assert err["code"] == "session_expired"
        with pytest.raises(ConnectionClosed) as info:
            client.recv(5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001


def test_output_is_paced_in_real_time_unless_pace_is_zero(make_fake_server):
    server = make_fake_server(pace=0.5)
    with tr_client(server) as client:
        append(client, speech("a paced translation", tail_ms=600))
        client.send({"type": "session.close"})
        arrivals = []
        while True:
            event = client.recv(10)
            arrivals.append((time.monotonic(), event))
            if event["type"] == "session.closed":
                break
    audio = [(t, e) for t, e in arrivals if e["type"] == AUDIO]
    seconds = len(output_audio([e for _, e in audio])) / 48000
    # a lower bound only (a loaded machine is slower, never faster): the chunks before the last one, at pace 0.5
    spoken_before_last = seconds - len(base64.b64decode(audio[-1][1]["delta"])) / 48000
    assert audio[-1][0] - audio[0][0] >= 0.5 * spoken_before_last * 0.9


def test_the_suite_validates_translation_events(fake_server, _simulator_events_are_schema_valid):
    scope = _simulator_events_are_schema_valid
    before = scope.checked
    events = translate(fake_server, speech("checked"))
    assert scope.checked - before == len(events) + 2  # session.created and session.updated too
    assert scope.translation_checks and not scope.failures


def test_an_invalid_translation_event_is_caught_by_both_checks(make_fake_server):
    checker = openai_translation_checker()
    assert checker is not None  # the dev extra installs an openai-python with translation sessions

    def corrupt(conn, event):
        if event["type"] == AUDIO:
            event["format"] = "mp3"
    server = make_fake_server(event_hook=corrupt)
    with validation_scope(translation_checks=[checker]) as scope:
        translate(server, speech("hi"))
    assert scope.failures and all(f.startswith("translation 'session.output_audio.delta'") for f in scope.failures)
    assert all("format" in f and "openai-python" in f for f in scope.failures)
