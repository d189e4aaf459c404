"""Barge-in against the simulator: a response plays in real time into a paced speaker, then the user interrupts
(by calling interrupt(), or by speaking so the simulator's VAD fires speech_started)."""
import collections

import pytest

from realtime_sync import SessionOptions, TurnDetection, UpdateKind
from tests.support.sessions import start_session
from tests.support.waiting import wait_until

pytest.importorskip("realtime_sync.testing")
pytest.importorskip("numpy")
from realtime_sync.audio import Speaker  # noqa: E402
from realtime_sync.testing import Reply, scripted, synthesize  # noqa: E402
from tests.audio.fakes import FakeOutputStream  # noqa: E402

pytestmark = pytest.mark.timeout(60)

LONG = ("This is a rather long answer that keeps on talking for quite a few seconds, so that there is plenty of "
        "time to interrupt it in the middle of a sentence.")


class AudioCounter:
    """Observer: audio bytes received per item, and every update type (reader thread)."""

    def __init__(self):
        self.bytes = collections.Counter()
        self.types = []
        self.done_status = []

    def handle_update(self, u):
        self.types.append(u.type)
        if u.kind is UpdateKind.OUTPUT_AUDIO_DELTA:
            self.bytes[u.item_id] += len(u.audio)
        elif u.kind is UpdateKind.RESPONSE_DONE:
            self.done_status.append(u.response.status)

    def ms(self, item_id):
        return self.bytes[item_id] / 48.0


def start(server, turn_detection=None, protocol="ga"):
    options = SessionOptions(output_modalities=["audio"], turn_detection=turn_detection)
    session = start_session(server, options, protocol=protocol)
    counter = AudioCounter()
    session.add_observer(counter)
    return session, counter


def paced_speaker():
    """A Speaker on a fake device taking 20 ms blocks at about real time."""
    return Speaker.from_stream(FakeOutputStream(pace=0.02), device_rate=24000, preroll_ms=60)


def sent(server, type_):
    return [e for e in server.received if e["type"] == type_]


def server_sent(server):
    return list(server.connections[0].sent_types)


@pytest.mark.parametrize("protocol", ["ga", "beta"])
def test_manual_interrupt_truncates_at_what_was_played_and_cancels(make_fake_server, protocol):
    server = make_fake_server(pace=1.0, responder=scripted(LONG))
    session, counter = start(server, TurnDetection.disabled(), protocol)
    with session, paced_speaker() as speaker:
        player = session.play_audio(speaker)
        session.start_response()
        assert wait_until(lambda: speaker.played_ms >= 400, 15)
        result = session.interrupt()
        played_deltas = player.deltas_played
        item = result.item_id
        # the arithmetic: min(played, received), whole milliseconds, within what the server sent
        assert result.truncated_at_ms == int(min(result.played_ms, result.received_ms)) > 0
        assert result.played_ms < result.received_ms  # the server streams ahead of playback
        assert result.truncated_at_ms <= counter.ms(item)
        assert result.cancelled and result.dropped_ms > 0
        assert not speaker.is_playing and speaker.queued_ms == 0
        server.wait_for_received("conversation.item.truncate", timeout=5)
        truncate = sent(server, "conversation.item.truncate")[0]
        assert (truncate["item_id"], truncate["content_index"], truncate["audio_end_ms"]) == \
            (item, 0, result.truncated_at_ms)
        assert len(sent(server, "response.cancel")) == 1
        assert wait_until(lambda: "cancelled" in counter.done_status, 5)
        assert wait_until(lambda: player.truncated, 5)
        assert player.truncated == [(item, result.truncated_at_ms)]  # the server accepted it
        assert "error" not in server_sent(server) and player.errors == []
        assert player.deltas_played == played_deltas  # late deltas of the cancelled item never reached the sink
        session.start_response()  # the next response plays normally on a fresh clock
        assert wait_until(lambda: player.current_item is not None and player.current_item[0] != item, 10)
        new = player.current_item[0]
        assert speaker.received_ms <= counter.ms(new) + 0.001  # nothing of the interrupted item counted


def test_interrupt_before_the_first_audio_frame_cancels_without_truncate(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(Reply(text=LONG, delay=2.0)))
    session, counter = start(server, TurnDetection.disabled())
    with session, paced_speaker() as speaker:
        session.play_audio(speaker)
        session.start_response()
        session.wait_for(UpdateKind.RESPONSE_CREATED, timeout=5)  # the model "thinks" 2 s before speaking
        result = session.interrupt()
        assert result.cancelled and result.truncated_at_ms is None
        assert wait_until(lambda: "cancelled" in counter.done_status, 5)
        assert sent(server, "conversation.item.truncate") == []
        assert "error" not in server_sent(server)


def test_speech_barges_in_server_cancels_client_truncates(make_fake_server):
    """Server VAD with interrupt_response (the default): the server cancels, the player only truncates."""
    server = make_fake_server(pace=1.0, responder=scripted(LONG, "Sure, go ahead."))
    session, counter = start(server, TurnDetection.server_vad(silence_duration_ms=300))
    with session, paced_speaker() as speaker:
        player = session.play_audio(speaker)
        session.start_response()
        assert wait_until(lambda: speaker.played_ms >= 400, 15)
        first = player.current_item[0]
        session.send_audio(bytes(4800) + synthesize("Wait, stop please") + bytes(24000))
        assert wait_until(lambda: player.last_interrupt is not None, 10)
        result = player.last_interrupt
        assert result.reason == "speech_started" and result.server_cancels and not result.cancelled
        assert result.item_id == first and 0 < result.truncated_at_ms <= counter.ms(first)
        assert result.truncated_at_ms == int(min(result.played_ms, result.received_ms))
        # the next turn's answer plays on a fresh clock
        assert wait_until(lambda: player.current_item is not None and player.current_item[0] != first, 10)
        assert wait_until(lambda: player.wait_idle(0.1), 10)
        assert counter.done_status[:2] == ["cancelled", "completed"]
        assert sent(server, "response.cancel") == []  # would have earned response_cancel_not_active
        truncates = sent(server, "conversation.item.truncate")
        assert [(t["item_id"], t["audio_end_ms"]) for t in truncates] == [(first, result.truncated_at_ms)]
        assert player.truncated == [(first, result.truncated_at_ms)]
        assert "error" not in server_sent(server) and player.errors == []


def test_speech_barges_in_and_cancels_when_the_server_does_not_interrupt(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(LONG, "Sure."))
    vad = TurnDetection.server_vad(silence_duration_ms=300, interrupt_response=False, create_response=False)
    session, counter = start(server, vad)
    with session, paced_speaker() as speaker:
        player = session.play_audio(speaker)
        session.start_response()
        assert wait_until(lambda: speaker.played_ms >= 300, 15)
        session.send_audio(bytes(4800) + synthesize("Hold on") + bytes(24000))
        assert wait_until(lambda: player.last_interrupt is not None, 10)
        result = player.last_interrupt
        assert result.cancelled and not result.server_cancels and result.truncated_at_ms > 0
        assert wait_until(lambda: "cancelled" in counter.done_status, 5)
        assert len(sent(server, "response.cancel")) == 1
        assert wait_until(lambda: player.truncated, 5)
        assert "error" not in server_sent(server) and player.errors == []


def test_g711_session_plays_and_truncates(make_fake_server):
    server = make_fake_server(pace=1.0, responder=scripted(LONG))
    options = SessionOptions(output_modalities=["audio"], turn_detection=TurnDetection.disabled(),
                             output_audio_format="g711_ulaw", input_audio_format="g711_ulaw")
    with start_session(server, options) as session:
        speaker = Speaker.from_stream(FakeOutputStream(pace=0.02), device_rate=48000, wire_format="g711_ulaw",
                                      preroll_ms=60)
        with speaker:
            session.play_audio(speaker)
            session.start_response()
            assert wait_until(lambda: speaker.played_ms >= 300, 15)
            result = session.interrupt()
            assert result.truncated_at_ms == int(min(result.played_ms, result.received_ms)) > 0
            server.wait_for_received("conversation.item.truncate", timeout=5)
            assert wait_until(lambda: "conversation.item.truncated" in server_sent(server), 5)
            assert "error" not in server_sent(server)
