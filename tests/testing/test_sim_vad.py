"""Server VAD against audio with known speech boundaries (PCM16 24 kHz, G.711 8 kHz, espeak-ng speech).

Tolerance: detected boundaries fall within one 10 ms frame of the true ones, so synthetic bursts are checked to
+-20 ms; espeak speech, whose onsets and offsets are soft, to +-40 ms.
"""
import shutil
import subprocess
import wave

import numpy as np
import pytest

from realtime_sync.testing import scripted, scripted_transcripts, threshold_dbfs
from realtime_sync.testing._util import alaw_encode, ulaw_encode
from realtime_sync.testing.vad import InputAudioBuffer
from tests.testing.sim_client import append_events, open_client, silence, user_text, voiced

VAD = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
       "create_response": True, "interrupt_response": True}
TOL = 20


def _feed(buf, audio, vad, chunk):
    found = []
    for i in range(0, len(audio), chunk):
        found += buf.append(audio[i:i + chunk], vad)
    return [(e.kind, e.ms) for e in found]


@pytest.mark.parametrize("fmt, rate, encode", [("pcm16", 24000, lambda x: x.astype("<i2").tobytes()),
                                               ("g711_ulaw", 8000, ulaw_encode), ("g711_alaw", 8000, alaw_encode)])
def test_vad_boundaries_on_real_samples(fmt, rate, encode):
    audio = encode(np.concatenate([silence(1000, rate), voiced(800, rate), silence(1000, rate), voiced(450, rate),
                                   silence(700, rate)]))
    found = _feed(InputAudioBuffer(fmt), audio, VAD, chunk=1237 if fmt != "pcm16" else 3002)  # odd chunk sizes
    expected = [("started", 1000 - 300), ("stopped", 1800 + 500), ("started", 2800 - 300), ("stopped", 3250 + 500)]
    assert [k for k, _ in found] == [k for k, _ in expected]
    for (_, got), (_, want) in zip(found, expected):
        assert abs(got - want) <= TOL


def test_threshold_maps_to_dbfs():
    assert (threshold_dbfs(0), threshold_dbfs(0.5), threshold_dbfs(1)) == (-70, -40, -10)
    quiet = np.concatenate([silence(300), voiced(500, level=0.004), silence(800)]).astype("<i2").tobytes()  # ~-50 dB
    assert _feed(InputAudioBuffer(), quiet, VAD, 4800) == []
    sensitive = dict(VAD, threshold=0.2)  # -58 dBFS
    assert [k for k, _ in _feed(InputAudioBuffer(), quiet, sensitive, 4800)] == ["started", "stopped"]


def test_short_clicks_are_not_speech():
    clicks = np.concatenate([silence(200), voiced(20), silence(300), voiced(20), silence(600)])
    assert _feed(InputAudioBuffer(), clicks.astype("<i2").tobytes(), VAD, 4800) == []


def _vad_session(c, **td):
    c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "audio": {
        "input": {"turn_detection": dict(VAD, **td)}}}})
    c.expect("session.updated")


def test_vad_turn_end_to_end_with_transcription(make_fake_server):
    server = make_fake_server(transcriber=scripted_transcripts("Hello there.", "Second turn"))
    with open_client(server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "audio": {
            "input": {"turn_detection": VAD, "transcription": {"model": "gpt-4o-mini-transcribe"}}}}})
        c.expect("session.updated")
        turn1 = np.concatenate([silence(1000), voiced(1200), silence(1000)]).astype("<i2").tobytes()
        for ev in append_events(turn1):
            c.send(ev)
        started = c.expect("input_audio_buffer.speech_started")
        heard = c.recv_until("input_audio_buffer.speech_stopped")  # the transcription streams during speech
        stopped = heard[-1]
        assert {(e["type"], e["item_id"]) for e in heard[:-1]} == {
            ("conversation.item.input_audio_transcription.delta", started["item_id"])}
        assert abs(started["audio_start_ms"] - 700) <= TOL and abs(stopped["audio_end_ms"] - 2700) <= TOL
        assert started["item_id"] == stopped["item_id"]
        committed = c.expect("input_audio_buffer.committed")
        assert committed["item_id"] == started["item_id"] and committed["previous_item_id"] is None
        added = c.expect("conversation.item.added")["item"]
        # the transcript is null until known, as the live service sends it
        assert added["role"] == "user" and added["content"] == [{"type": "input_audio", "transcript": None}]
        c.expect("conversation.item.done")
        c.expect("response.created")
        rest = c.recv_until("response.done")
        types = [e["type"] for e in rest]
        assert "conversation.item.input_audio_transcription.completed" in types
        completed = next(e for e in rest if e["type"].endswith("transcription.completed"))
        deltas = [e["delta"] for e in heard[:-1] + rest if e["type"].endswith("transcription.delta")]
        assert completed["transcript"] == "Hello there." == "".join(deltas) and completed["usage"]["type"] == "tokens"
        text = next(e for e in rest if e["type"] == "response.output_text.done")["text"]
        assert text == "You said: Hello there."  # the default responder heard the transcript
        c.expect("rate_limits.updated")
        turn2 = np.concatenate([silence(1000), voiced(600), silence(800)]).astype("<i2").tobytes()
        for ev in append_events(turn2):
            c.send(ev)
        started2 = c.expect("input_audio_buffer.speech_started")  # ms keep counting across turns
        assert abs(started2["audio_start_ms"] - (3200 + 1000 - 300)) <= TOL
        stopped2 = c.recv_until("input_audio_buffer.speech_stopped")[-1]
        assert abs(stopped2["audio_end_ms"] - (3200 + 1600 + 500)) <= TOL
        item_id = c.expect("input_audio_buffer.committed")["item_id"]
        c.recv_until("rate_limits.updated")
    stored = server.connections[0].conversation.get(item_id)
    assert abs(stored.audio_ms - (300 + 600 + 500)) <= TOL and stored.item.content[0].transcript == "Second turn"


def test_g711_input_vad(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "format": {"type": "audio/pcmu"}, "turn_detection": dict(VAD, create_response=False)}}}})
        c.expect("session.updated")
        audio = ulaw_encode(np.concatenate([silence(500, 8000), voiced(700, 8000), silence(700, 8000)]))
        for ev in append_events(audio, chunk=1600):
            c.send(ev)
        assert abs(c.expect("input_audio_buffer.speech_started")["audio_start_ms"] - 200) <= TOL
        assert abs(c.expect("input_audio_buffer.speech_stopped")["audio_end_ms"] - 1700) <= TOL
        c.expect("input_audio_buffer.committed")
        c.expect("conversation.item.added")
        c.expect("conversation.item.done")
        assert c.drain(0.3) == []  # create_response false: no response


def test_semantic_vad_uses_eagerness_dependent_silence(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {
            "type": "semantic_vad", "eagerness": "high", "create_response": False}}}}})
        c.expect("session.updated")
        for ev in append_events(np.concatenate([silence(400), voiced(500), silence(600)]).astype("<i2").tobytes()):
            c.send(ev)
        c.expect("input_audio_buffer.speech_started")
        assert abs(c.expect("input_audio_buffer.speech_stopped")["audio_end_ms"] - (900 + 300)) <= TOL


def test_speech_interrupts_an_active_response(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted("One, two, three, four, five, six, seven, "
                                                           "eight, nine, ten."))
    with open_client(server) as c:
        _vad_session(c)
        c.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}})
        c.expect("session.updated")
        c.send(user_text("talk"))
        c.send({"type": "response.create"})
        c.recv_until("response.output_audio.delta", timeout=5)
        for ev in append_events(np.concatenate([silence(100), voiced(400)]).astype("<i2").tobytes()):
            c.send(ev)
        events = c.recv_until("input_audio_buffer.speech_started")
        tail = c.recv_until("response.done")
        done = tail[-1]["response"]
        assert done["status"] == "cancelled" and done["status_details"] == {"type": "cancelled",
                                                                            "reason": "turn_detected"}
        assert done["output"][0]["status"] == "incomplete" and events
        assert [e["type"] for e in tail[-6:]] == [
            "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
            "conversation.item.done", "response.output_item.done", "response.done"]
        transcript = tail[-5]["transcript"]
        assert transcript.startswith("One,") and len(transcript) < 20  # cut where generation stopped


def test_commit_clear_and_the_100ms_minimum(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": None}}}})
        c.expect("session.updated")
        c.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
        err = c.expect("error")["error"]
        assert err["code"] == "input_audio_buffer_commit_empty" and err["event_id"] == "c1"
        assert "buffer only has 0.00ms of audio" in err["message"]
        for ev in append_events(voiced(50).tobytes()):
            c.send(ev)
        c.send({"type": "input_audio_buffer.commit"})
        assert "buffer only has 50.00ms" in c.expect("error")["error"]["message"]
        c.send({"type": "input_audio_buffer.clear"})
        c.expect("input_audio_buffer.cleared")
        for ev in append_events(voiced(250).tobytes()):
            c.send(ev)
        c.send({"type": "input_audio_buffer.commit"})
        item_id = c.expect("input_audio_buffer.committed")["item_id"]
        c.expect("conversation.item.added")
        c.expect("conversation.item.done")
        assert c.drain(0.2) == []  # a manual commit asks for no response
        c.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = c.expect("conversation.item.retrieved")["item"]
        assert len(__import__("base64").b64decode(item["content"][0]["audio"])) == 250 * 48


def test_idle_timeout_triggers_a_turn(fake_server):
    with open_client(fake_server) as c:
        _vad_session(c, idle_timeout_ms=5000)
        c.send(user_text("hi"))
        c.send({"type": "response.create"})
        c.recv_until("rate_limits.updated")
        for ev in append_events(silence(5600).tobytes()):
            c.send(ev)
        ev = c.expect("input_audio_buffer.timeout_triggered")
        assert ev["audio_end_ms"] - ev["audio_start_ms"] == 5000
        assert c.expect("input_audio_buffer.committed")["item_id"] == ev["item_id"]
        c.recv_until("response.done")


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox needed")
def test_vad_on_espeak_speech(fake_server, tmp_path):
    raw, out = tmp_path / "raw.wav", tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "Hello there, how are you doing today?"], check=True, timeout=30)
    subprocess.run(["sox", str(raw), "-r", "24000", "-b", "16", "-c", "1", str(out)], check=True, timeout=30)
    with wave.open(str(out)) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    loud = np.nonzero(np.abs(speech) > 0.03 * 32768)[0]
    onset_ms, offset_ms = 1000 + loud[0] / 24, 1000 + (loud[-1] + 1) / 24
    audio = np.concatenate([silence(1000), speech, silence(1500)]).astype("<i2").tobytes()
    with open_client(fake_server) as c:
        _vad_session(c, create_response=False, silence_duration_ms=600)
        for ev in append_events(audio):
            c.send(ev)
        started = c.expect("input_audio_buffer.speech_started")["audio_start_ms"]
        stopped = c.expect("input_audio_buffer.speech_stopped")["audio_end_ms"]
    assert abs(started - (onset_ms - 300)) <= 40
    assert abs(stopped - (offset_ms + 600)) <= 40
