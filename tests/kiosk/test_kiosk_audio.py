"""KioskAudio against the simulator: echo guard policies, states, push-to-talk, raised threshold (no devices)."""
import threading

import numpy as np
import pytest

from realtime_sync import SessionOptions, TurnDetection, UpdateKind
from realtime_sync.errors import ProtocolError
from realtime_sync.kiosk import FileMicrophone, KioskAudio
from tests.kiosk.helpers import EchoMic, FakeSink, appended_audio, ms_bytes
from tests.support.sessions import start_session
from tests.support.waiting import wait_until

pytest.importorskip("realtime_sync.testing")
from realtime_sync.audio import EchoGuard, Speaker  # noqa: E402
from realtime_sync.testing import scripted, synthesize  # noqa: E402
from tests.audio.fakes import FakeOutputStream  # noqa: E402

pytestmark = pytest.mark.timeout(60)

REPLY = "Hello there! How can I help you today?"


class Types:
    def __init__(self):
        self.types = []
        self.status = []

    def handle_update(self, u):
        self.types.append(u.type)
        if u.kind is UpdateKind.RESPONSE_DONE:
            self.status.append(u.response.status)


def start(server, turn_detection):
    options = SessionOptions(output_modalities=["audio"], turn_detection=turn_detection)
    session = start_session(server, options)
    types = Types()
    session.add_observer(types)
    return session, types


def paced_speaker():
    return Speaker.from_stream(FakeOutputStream(pace=0.02), device_rate=24000, preroll_ms=60)


class States(list):
    def __call__(self, state):
        self.append(state)


def test_half_duplex_sends_silence_while_the_assistant_speaks(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(REPLY))
    session, types = start(server, TurnDetection.server_vad(silence_duration_ms=400))
    speaker = paced_speaker()
    mic = EchoMic(speaker)
    states = States()
    with session, KioskAudio(session, mic, speaker, echo_policy="half_duplex", tail_ms=300, on_state=states,
                             close_given=True) as kiosk:
        assert isinstance(mic.gate, EchoGuard) and mic.gate.policy == "half_duplex"
        session.start_response()
        assert wait_until(lambda: types.status == ["completed"], 15)
        assert kiosk.player.wait_idle(10)
        assert wait_until(lambda: not mic.gate(), 5)  # the tail has passed
        assert wait_until(lambda: states[-1:] == ["listening"], 5)
    assert mic.echo_chunks > 10 and mic.muted_chunks > mic.echo_chunks  # echo heard, muted (and the tail too)
    audio = appended_audio(server)
    assert len(audio) > 48000 and not np.any(np.frombuffer(audio, dtype="<i2"))  # only silence reached it
    assert "input_audio_buffer.speech_started" not in types.types
    assert states[:1] == ["listening"] and "assistant_speaking" in states and "interrupted" not in states
    assert speaker.closed


def test_full_duplex_lets_the_echo_through_and_the_model_interrupts_itself(make_fake_server):
    """What the guard prevents: on open speakers without AEC the echo triggers VAD and barge-in."""
    server = make_fake_server(pace=1.0, responder=scripted(REPLY, REPLY, REPLY))
    session, types = start(server, TurnDetection.server_vad(silence_duration_ms=400))
    speaker = paced_speaker()
    mic = EchoMic(speaker)
    states = States()
    with session, KioskAudio(session, mic, speaker, echo_policy="full_duplex", on_state=states,
                             close_given=True) as kiosk:
        session.start_response()
        assert wait_until(lambda: kiosk.player.last_interrupt is not None, 15)
        assert wait_until(lambda: "interrupted" in states, 5)
    assert mic.muted_chunks == 0 and mic.echo_chunks > 0
    assert "input_audio_buffer.speech_started" in types.types
    assert np.abs(np.frombuffer(appended_audio(server), dtype="<i2")).max() > 4000
    result = kiosk.player.last_interrupt
    assert result.reason == "speech_started" and not result.cancelled  # server VAD cancelled it itself


def test_user_barge_in_states_and_truncate(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(REPLY * 3, "Okay."))
    session, types = start(server, TurnDetection.server_vad(silence_duration_ms=300))
    speaker = paced_speaker()
    mic = EchoMic(speaker)
    mic.echo = bytes(len(mic.echo))  # headphones: no echo
    states = States()
    with session, KioskAudio(session, mic, speaker, echo_policy="full_duplex", on_state=states,
                             close_given=True) as kiosk:
        session.start_response()
        assert wait_until(lambda: speaker.played_ms > 500, 15)
        mic.say(synthesize("Stop, please"))
        assert wait_until(lambda: kiosk.player.last_interrupt is not None, 10)
        assert wait_until(lambda: types.status[:2] == ["cancelled", "completed"], 15)
        assert kiosk.player.wait_idle(10)
        assert wait_until(lambda: states[-1:] == ["listening"], 5)
    r = kiosk.player.last_interrupt
    assert r.truncated_at_ms == int(min(r.played_ms, r.received_ms)) > 0
    assert "error" not in server.connections[0].sent_types
    i = states.index("interrupted")
    assert states[:3] == ["listening", "thinking", "assistant_speaking"]
    assert states[i + 1] == "user_speaking" and "assistant_speaking" in states[i + 1:]


def test_push_to_talk_interrupts_commits_and_responds(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(REPLY * 3, "You pressed the button."))
    session, types = start(server, TurnDetection.disabled())
    speaker = paced_speaker()
    mic = EchoMic(speaker)
    mic.echo = bytes(len(mic.echo))
    states = States()
    with session, KioskAudio(session, mic, speaker, push_to_talk=True, on_state=states,
                             close_given=True) as kiosk:
        session.start_response()
        assert wait_until(lambda: speaker.played_ms > 300, 15)
        assert kiosk.toggle_talk() is True  # Enter: the assistant stops, the mic opens
        assert kiosk.player.last_interrupt is not None and kiosk.player.last_interrupt.cancelled
        mic.say(synthesize("Tell me a joke"))
        assert wait_until(lambda: "user_speaking" in states, 5)
        assert wait_until(lambda: mic._speech == b"", 10)
        assert kiosk.toggle_talk() is False  # Enter again: commit + response.create
        assert kiosk.talk_turns == 1
        assert wait_until(lambda: types.status == ["cancelled", "completed"], 15)
    order = [e["type"] for e in server.received if e["type"] != "input_audio_buffer.append"]
    assert order[:2] == ["session.update", "response.create"]
    assert order[2:] == ["response.cancel", "conversation.item.truncate", "input_audio_buffer.clear",
                         "input_audio_buffer.commit", "response.create"]
    assert "error" not in server.connections[0].sent_types


def test_push_to_talk_needs_turn_detection_off(make_fake_server):
    server = make_fake_server()
    session, _ = start(server, TurnDetection.server_vad())
    with session, pytest.raises(ProtocolError, match="turn detection off"):
        KioskAudio(session, FileMicrophone(bytes(960)), FakeSink(), push_to_talk=True).start()


def test_raised_threshold_while_playing(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(REPLY))
    session, types = start(server, TurnDetection.server_vad(threshold=0.4, silence_duration_ms=400))
    speaker = paced_speaker()
    mic = EchoMic(speaker)
    with session, KioskAudio(session, mic, speaker, echo_policy="raised_threshold_while_playing",
                             raised_threshold=0.95, tail_ms=100, close_given=True) as kiosk:
        assert mic.gate() is False  # never mutes
        session.start_response()
        assert wait_until(lambda: len([e for e in server.received if e["type"] == "session.update"]) >= 3, 15)
        assert kiosk.player.wait_idle(10)
    updates = [e["session"]["audio"]["input"]["turn_detection"]["threshold"] for e in server.received
               if e["type"] == "session.update"]
    assert updates[:3] == [0.4, 0.95, 0.4]  # raised while the assistant spoke, restored after


def test_file_microphone_paces_and_gates():
    speech = ms_bytes(100)
    muted = threading.Event()
    mic = FileMicrophone(speech, chunk_ms=20, lead_ms=40, gate=muted.is_set)
    chunks = [mic.read(timeout=1.0) for _ in range(8)]
    assert [len(c) for c in chunks] == [960] * 8
    assert chunks[0] == bytes(960) and chunks[2] == ms_bytes(20) and chunks[7] == bytes(960)
    assert mic.finished_file
    muted.set()
    assert mic.read(timeout=1.0) == bytes(960) and mic.muted_chunks == 1
    assert mic.read(timeout=0.0) is None  # not due yet: a bounded wait, never a hang
    mic.close()
    assert mic.read() == b"" and list(mic) == []


def test_kiosk_echo_guard_follows_the_sink_clock():
    """The guard KioskAudio installs mutes while its sink plays (half duplex), never in full duplex."""
    class Session:
        session_info = None
        closed = False

        def play_audio(self, sink, **kw):
            return None

        def send_audio(self, source, chunk_ms=20):
            class H:
                def cancel(self):
                    pass
            return H()

    for policy, expect in (("half_duplex", True), ("full_duplex", False)):
        sink = FakeSink()
        mic = FileMicrophone(bytes(960))
        kiosk = KioskAudio(Session(), mic, sink, echo_policy=policy, tail_ms=0, poll_interval=0.01).start()
        try:
            assert mic.gate() is False
            sink.write(ms_bytes(100))
            assert mic.gate() is expect
            sink.play(100)
            assert wait_until(lambda: mic.gate() is False, 1)
        finally:
            kiosk.stop()
