"""AudioPlayer: routing, per-item clocks, truncation arithmetic, cancel decisions, late deltas (fake sink/session)."""
import threading

import pytest

from realtime_sync.errors import RealtimeError
from realtime_sync.playback import (ASSISTANT_SPEAKING, LISTENING, THINKING, USER_SPEAKING, AudioPlayer,
                                    server_cancels_on_speech)
from realtime_sync.protocol.models import SessionInfo
from tests.kiosk.helpers import FakeSink, created, delta, done, ms_bytes, speech_started, speech_stopped
from tests.support.fake_session import FakeSession
from tests.support.sessions import start_session
from tests.support.waiting import wait_until

SERVER_VAD = {"type": "server_vad", "threshold": 0.5, "interrupt_response": True}
NO_INTERRUPT_VAD = {"type": "server_vad", "threshold": 0.5, "interrupt_response": False}


def setup(turn_detection=None, **kwargs):
    session, sink = FakeSession(turn_detection=turn_detection), FakeSink()
    return session, sink, AudioPlayer(session, sink, **kwargs)


def test_deltas_reach_the_sink_and_played_less_than_received_truncates_at_played():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(600)))
    session.feed(delta("item_a", ms_bytes(400)))
    sink.play(250)
    assert player.current_item == ("item_a", 0) and player.response_active
    result = player.interrupt()
    assert session.calls() == [("cancel",), ("truncate", "item_a", 0, 250)]
    assert result.truncated_at_ms == 250 and result.cancelled and result.dropped_ms == pytest.approx(750)
    assert (result.played_ms, result.received_ms) == (250, 1000)
    assert result.item_id == "item_a" and result.reason == "manual"


def test_played_more_than_received_truncates_at_received_and_rounds_down():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(100)))
    sink.override = {"played": 480.9, "received": 300.7}  # e.g. a sink whose item clock lags its input
    result = player.interrupt()
    assert ("truncate", "item_a", 0, 300) in session.calls() and result.truncated_at_ms == 300
    sink.override = None
    session.feed(delta("item_b", ms_bytes(100), response="resp_2"))
    sink.override = {"played": 480.9, "received": 999.0}
    assert player.interrupt().truncated_at_ms == 480


def test_nothing_heard_means_no_truncate_but_cancel_while_active():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(500)))  # received, but the device has not played a frame
    result = player.interrupt()
    assert session.calls() == [("cancel",)]
    assert result.truncated_at_ms is None and not result.truncated and result.cancelled


def test_no_item_no_truncate_and_no_active_response_no_cancel():
    session, sink, player = setup()
    result = player.interrupt()
    assert session.calls() == [] and result.item_id is None and not result.cancelled
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(900)))
    session.feed(done())  # the response finished generating; its audio is still playing
    sink.play(400)
    assert not player.response_active and player.is_playing
    result = player.interrupt()
    assert session.calls() == [("truncate", "item_a", 0, 400)] and not result.cancelled


def test_cancel_false_and_cancel_sent_only_once_per_response():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(100)))
    sink.play(100)
    assert not player.interrupt(cancel=False).cancelled
    assert player.interrupt(cancel=True).cancelled
    assert not player.interrupt(cancel=True).cancelled  # already asked: a second one would be refused
    assert [c[0] for c in session.calls()] == ["truncate", "cancel"]


def test_late_deltas_of_the_interrupted_item_and_response_are_dropped():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(200)))
    sink.play(100)
    player.interrupt()
    written = len(sink.written)
    session.feed(delta("item_a", ms_bytes(300)))  # in flight when we cancelled
    session.feed(delta("item_b", ms_bytes(300)))  # a second output item of the cancelled response
    assert len(sink.written) == written and player.late_deltas_dropped == 2
    session.feed(done(status="cancelled"))
    session.feed(created("resp_2"))
    session.feed(delta("item_c", ms_bytes(300), response="resp_2"))  # the next response plays
    assert len(sink.written) == written + len(ms_bytes(300)) and player.current_item == ("item_c", 0)


def test_new_item_resets_the_clock():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(300)))
    sink.play(300)
    session.feed(delta("item_a", ms_bytes(200), content_index=1))  # a new content part is a new clock too
    assert sink.resets == 2
    session.feed(delta("item_b", ms_bytes(500)))
    assert sink.resets == 3 and player.current_item == ("item_b", 0)
    sink.play(200 + 120)  # the rest of item_a's part 1, then 120 ms of item_b
    assert player.interrupt().truncated_at_ms == 120
    assert session.calls()[-1] == ("truncate", "item_b", 0, 120)


def test_speech_started_auto_barge_in_without_cancel_when_the_server_interrupts():
    session, sink, player = setup(SERVER_VAD)
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(1000)))
    sink.play(350)
    session.feed(speech_started())
    assert wait_until(lambda: player.last_interrupt is not None)
    assert session.calls() == [("truncate", "item_a", 0, 350)]  # no cancel: the server cancels it itself
    r = player.last_interrupt
    assert r.reason == "speech_started" and r.server_cancels and not r.cancelled
    assert player.user_speaking and player.state == USER_SPEAKING
    session.feed(speech_stopped())
    assert not player.user_speaking


@pytest.mark.parametrize("turn_detection", [NO_INTERRUPT_VAD])
def test_speech_started_cancels_when_the_server_does_not(turn_detection):
    session, sink, player = setup(turn_detection)
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(1000)))
    sink.play(200)
    session.feed(speech_started())
    assert wait_until(lambda: player.last_interrupt is not None)
    assert session.calls() == [("cancel",), ("truncate", "item_a", 0, 200)]


def test_speech_started_while_idle_or_with_barge_in_off_does_nothing():
    session, sink, player = setup(SERVER_VAD)
    session.feed(speech_started())  # nothing playing, no response
    assert player.interrupts == 0
    session2, sink2, player2 = setup(SERVER_VAD, barge_in=False)
    session2.feed(created())
    session2.feed(delta("item_a", ms_bytes(500)))
    session2.feed(speech_started())
    assert player2.interrupts == 0 and session2.calls() == []


def test_auto_barge_in_never_blocks_the_reader_and_defers_new_items():
    session, sink, player = setup(SERVER_VAD)
    sink.flush_gate = threading.Event()  # the "device" takes its time finishing the current block
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(1000)))
    sink.play(300)
    session.feed(speech_started())  # returns at once although flush(wait=True) blocks
    session.feed(done(status="cancelled"))
    session.feed(created("resp_2"))
    session.feed(delta("item_b", ms_bytes(200), response="resp_2"))  # held back until the clock was read
    assert player.current_item is None and sink.resets == 1
    assert wait_until(lambda: sink.flush_threads)
    assert sink.flush_threads == ["realtime_sync-barge-in"]
    sink.play(40)  # the block in progress finishes playing
    sink.flush_gate.set()
    assert wait_until(lambda: player.last_interrupt is not None)
    assert player.last_interrupt.truncated_at_ms == 340
    assert wait_until(lambda: player.current_item == ("item_b", 0))
    assert sink.resets == 2 and sink.received_ms == pytest.approx(200)


def test_states():
    session, sink, player = setup(SERVER_VAD)
    assert player.state == LISTENING
    session.feed(created())
    assert player.state == THINKING
    session.feed(delta("item_a", ms_bytes(100)))
    assert player.state == ASSISTANT_SPEAKING
    session.feed(done())
    sink.play(100)
    assert player.state == LISTENING and player.wait_idle(1.0)


def test_g711_output_is_decoded_for_a_pcm16_sink():
    pytest.importorskip("numpy")
    from realtime_sync.audio import ulaw_encode

    session, sink = FakeSession(output_format="g711_ulaw"), FakeSink()
    player = AudioPlayer(session, sink)
    session.feed(delta("item_a", ulaw_encode(b"\x10\x00" * 3200)))  # 400 ms at 8 kHz
    session.feed(delta("item_a", bytes([0xFF]) * 3200))  # 400 ms of mu-law silence
    assert 600 <= sink.received_ms <= 800  # 24 kHz PCM16 (the resampler holds a few ms back)
    assert player.deltas_played == 2


def test_closed_session_is_reported_not_raised():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(200)))
    sink.play(100)
    session.closed = True
    result = player.interrupt()
    assert result.error and not result.cancelled and result.truncated_at_ms is None


def test_errors_answering_our_commands_are_recorded_and_close_detaches():
    session, sink, player = setup()
    session.feed(created())
    session.feed(delta("item_a", ms_bytes(200)))
    sink.play(100)
    player.interrupt()
    session.feed({"type": "error", "event_id": "e", "error": {"type": "invalid_request_error",
                                                              "code": "response_cancel_not_active",
                                                              "message": "no active response", "event_id": "evt_1"}})
    session.feed({"type": "error", "event_id": "e", "error": {"type": "x", "code": "other", "message": "m",
                                                              "event_id": "someone_else"}})
    assert [e.code for e in player.errors] == ["response_cancel_not_active"]
    player.close()
    assert session.observers == ()


def test_server_cancels_on_speech_decision():
    assert server_cancels_on_speech(None)  # unknown: the service's default is server VAD interrupting
    assert server_cancels_on_speech(SessionInfo(turn_detection={"type": "server_vad"}))
    assert server_cancels_on_speech(SessionInfo(turn_detection={"type": "semantic_vad", "interrupt_response": True}))
    assert not server_cancels_on_speech(SessionInfo(turn_detection=NO_INTERRUPT_VAD))
    assert not server_cancels_on_speech(SessionInfo(turn_detection=None))


def test_session_interrupt_needs_a_player(make_fake_server):
    pytest.importorskip("realtime_sync.testing")
    from realtime_sync import SessionOptions, TurnDetection, UpdateKind
    from realtime_sync.testing import scripted

    server = make_fake_server(responder=scripted("A reply long enough to have some audio to interrupt."))
    options = SessionOptions(output_modalities=["audio"], turn_detection=TurnDetection.disabled())
    with start_session(server, options) as session:
        with pytest.raises(RealtimeError, match="play_audio"):
            session.interrupt()
        builtin = session.observers
        sink = FakeSink()
        player = session.play_audio(sink)
        assert session.player is player and session.observers == builtin + (player,)
        session.wait_for(UpdateKind.RESPONSE_DONE, timeout=10, after=session.start_response)
        assert wait_until(lambda: sink.received_ms >= 100)
        sink.play(60)
        result = session.interrupt()
        assert result.truncated_at_ms == 60 and not result.cancelled  # the response was already done
        server.wait_for_received("conversation.item.truncate", timeout=5)
        session.stop_playing_audio()
        assert session.player is None and session.observers == builtin
