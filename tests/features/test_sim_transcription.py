"""Transcription-only sessions end to end against the simulator, in both dialects: ``?intent=transcription``,
``TranscriptionOptions`` applied by ``start_session``, ``transcribe_file`` with server VAD and manual commits."""
import threading
import wave

import numpy as np
import pytest

from realtime_sync import RealtimeClient, TurnDetection
from realtime_sync.errors import ServerError
from realtime_sync.protocol.transcription import TRANSCRIPTION_LOGPROBS, TranscriptionOptions
from realtime_sync.transcription import Transcriber, transcribe_file
from tests.support.sessions import client_for

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import TranscriptionRequest, synthesize  # noqa: E402

PROTOCOLS = ["ga", "beta"]


def client(server, protocol="ga"):
    return client_for(server, protocol=protocol)


class Recorder:
    """A transcriber naming each request's settings, keeping the requests."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()

    def __call__(self, request: TranscriptionRequest) -> str:
        with self.lock:
            self.requests.append(request)
            return f"Segment {len(self.requests)}."


def two_utterances(tmp_path):
    gap = np.zeros(24000, dtype=np.int16).tobytes()  # 1 s of silence: two VAD segments
    audio = synthesize("what is the weather like") + gap + synthesize("and tomorrow")
    path = tmp_path / "two.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(audio)
    return str(path)


def no_responses(server, asked=False):
    conn = server.connections[-1]
    assert conn.session.is_transcription
    assert asked or not [e for e in server.received if e["type"].startswith("response.")]
    assert not [t for t in conn.sent_types if t.startswith("response.")]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_vad_segments_on_a_transcription_session(make_fake_server, tmp_path, protocol):
    recorder = Recorder()
    server = make_fake_server(transcriber=recorder)
    options = TranscriptionOptions(model="gpt-4o-transcribe", language="en", prompt="weather",
                                   turn_detection=TurnDetection.server_vad(silence_duration_ms=400))
    with client(server, protocol).start_session(options, timeout=5) as session:  # options imply the intent
        info = session.session_info
        assert info.input_audio_transcription["model"] == "gpt-4o-transcribe"
        assert info.turn_detection["silence_duration_ms"] == 400
        deltas = []
        session.add_observer(Transcriber(on_delta=lambda item, d: deltas.append(d)))
        result = session.transcribe(two_utterances(tmp_path), timeout=10, settle=0.2)
    assert server.connections[0].route.intent == "transcription"
    assert [s.status for s in result.segments] == ["completed", "completed"]
    assert result.text == "Segment 1. Segment 2."
    assert "".join(deltas) == "Segment 1.Segment 2."
    assert [(r.model, r.language, r.prompt) for r in recorder.requests] == [("gpt-4o-transcribe", "en",
                                                                             "weather")] * 2
    assert result.usage.transcriptions == 2 and result.usage.total_tokens > 0
    kinds = [e["type"] for e in server.received if e["type"] != "input_audio_buffer.append"]
    assert kinds == ["session.update" if protocol == "ga" else "transcription_session.update"]
    no_responses(server)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_manual_commit_on_a_transcription_session(make_fake_server, tmp_path, protocol):
    recorder = Recorder()
    server = make_fake_server(transcriber=recorder)
    with client(server, protocol).start_session(intent="transcription", timeout=5) as session:
        assert session.session_info.type in ("transcription", "realtime.transcription_session")
        options = TranscriptionOptions(model="whisper-1", turn_detection=TurnDetection.disabled(),
                                       include=[TRANSCRIPTION_LOGPROBS])
        result = transcribe_file(session, two_utterances(tmp_path), timeout=10, options=options)
        assert session.session_info.turn_detection is None
    assert len(result.segments) == 1 and result.text == "Segment 1."
    assert result.segments[0].logprobs and result.segments[0].logprobs[0].get("token") == "Segment"
    assert result.usage.seconds == 3.0  # whisper-1 is billed by duration
    assert [e["type"] for e in server.received if e["type"] != "input_audio_buffer.append"] == [
        "session.update" if protocol == "ga" else "transcription_session.update", "input_audio_buffer.commit"]
    no_responses(server)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_transcription_session_refuses_to_answer(make_fake_server, protocol):
    server = make_fake_server()
    with client(server, protocol).start_session(TranscriptionOptions(), timeout=5) as session:
        with pytest.raises(ServerError) as info:
            session.ask("Are you there?", timeout=5)
        assert (info.value.code, info.value.param) == ("invalid_value", "type")
        assert "not supported in a transcription session" in str(info.value)
        assert session.transcribe(synthesize("still here"), timeout=10, settle=0.1).text  # still usable
    no_responses(server, asked=True)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_invalid_transcription_options_are_refused(make_fake_server, protocol):
    server = make_fake_server()
    bad = TranscriptionOptions(extra={"audio": {"input": {"transcription": {"bogus": 1}}}} if protocol == "ga"
                               else {"voice": "alloy"})
    with pytest.raises(ServerError) as info:
        client(server, protocol).start_session(bad, timeout=5)
    assert info.value.code == "unknown_parameter"
    assert info.value.param == ("session.audio.input.transcription.bogus" if protocol == "ga" else "session.voice")
    assert server.connections[0].wait_closed(5)


def test_azure_ga_transcription_session_keeps_the_deployment(make_fake_server):
    server = make_fake_server(azure_deployments=["my-realtime"])
    azure = RealtimeClient.azure(server.azure_endpoint, "my-realtime", api_key=server.api_key)
    with azure.start_session(TranscriptionOptions(model="gpt-4o-mini-transcribe"), timeout=5) as session:
        assert session.transcribe(synthesize("hello azure"), timeout=10, settle=0.1).text.startswith("(audio ")
    route = server.connections[0].route
    assert (route.kind, route.model, route.intent) == ("azure", "my-realtime", "transcription")
    assert azure.url.endswith("/openai/v1/realtime?model=my-realtime")  # the client itself is unchanged
    no_responses(server)


def test_realtime_session_fallback_still_works(make_fake_server, tmp_path):
    """``realtime_session=True``: transcription on a regular realtime session (servers without intent)."""
    server = make_fake_server(transcriber=Recorder())
    with client(server).start_session(timeout=5) as session:
        result = transcribe_file(session, two_utterances(tmp_path), timeout=10, realtime_session=True,
                                 options=TranscriptionOptions(turn_detection=TurnDetection.disabled()))
    assert result.text == "Segment 1."
    assert not server.connections[0].session.is_transcription
    assert not [e for e in server.received if e["type"] == "response.create"]
