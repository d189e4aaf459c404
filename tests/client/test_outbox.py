"""The outbound lanes as the I/O thread sees them, driven without threads or sockets."""
import json

import pytest

from realtime_sync._connection.audio_jobs import make_audio_job
from realtime_sync._connection.frames import OP_PING, OP_PONG
from realtime_sync._connection.writer import Outbox
from realtime_sync.errors import SessionClosedError


def types(frames):
    return [(json.loads(text)["type"] if text else op) for op, _payload, text, _t, _c in frames]


def test_control_first_then_commands_then_audio_with_the_commit_barrier():
    kicks = []
    box = Outbox(lambda: kicks.append(1))
    box.send('{"type": "a"}', "a")
    box.add_audio(make_audio_job(b"\x00\x00" * 7200))  # 3 chunks of 100 ms
    box.send('{"type": "input_audio_buffer.commit"}', "input_audio_buffer.commit", after_audio=True)
    box.send('{"type": "b"}', "b")
    box.control(OP_PONG, b"x")
    box.control(OP_PING)
    frames, wake_at, more = box.take(0.0, budget=1 << 20)
    assert types(frames) == [OP_PONG, OP_PING, "a"] + ["input_audio_buffer.append"] * 3 + [
        "input_audio_buffer.commit", "b"]
    assert wake_at is None and not more and box.idle and len(kicks) == 4


def test_the_budget_leaves_the_rest_for_later_and_commands_jump_ahead_of_queued_audio():
    box = Outbox()
    box.add_audio(make_audio_job(b"\x00\x00" * 24000))  # 10 chunks, 6.4 KB each on the wire
    frames, _, more = box.take(0.0, budget=10000)
    assert types(frames) == ["input_audio_buffer.append"] * 2 and more
    box.send('{"type": "urgent"}', "urgent")
    frames, _, _ = box.take(0.0, budget=10000)
    assert types(frames)[0] == "urgent"


def test_paced_audio_says_when_to_come_back():
    box = Outbox()
    job = make_audio_job(b"\x00\x00" * 24000, realtime=True)
    box.add_audio(job)
    frames, wake_at, _ = box.take(100.0, budget=1 << 20)
    assert len(frames) == 1 and wake_at is not None
    first_sent = job._t0
    frames, wake_at2, _ = box.take(first_sent, budget=1 << 20)
    assert frames == [] and wake_at2 == pytest.approx(first_sent + 0.1 - 0.05)


def test_stop_and_fail_count_and_refuse():
    box = Outbox()
    box.send('{"type": "a"}', "a")
    box.send('{"type": "b"}', "b")
    job = make_audio_job(b"\x00\x00" * 2400)
    box.add_audio(job)
    assert box.stop(SessionClosedError(), drain=False) == 2
    with pytest.raises(SessionClosedError):
        box.send('{"type": "c"}', "c")
    left = box.detach(SessionClosedError())
    assert left.commands == [] and left.jobs == [job] and job.cancelled  # stop() dropped the commands
    assert left.fail(SessionClosedError()) == 0 and job.finished.is_set()
    assert isinstance(job.error, SessionClosedError)  # stop(drain=False) cancels with the reason


def test_the_command_lane_is_bounded_and_refuses_rather_than_drops():
    from realtime_sync.errors import SendQueueFullError

    box = Outbox(max_queued_bytes=1000)
    big = '{"type": "x", "pad": "' + "p" * 400 + '"}'
    box.send(big, "x")
    box.send(big, "x")
    with pytest.raises(SendQueueFullError) as info:
        box.send(big, "x")
    assert info.value.limit == 1000
    frames, _, _ = box.take(0.0, budget=1 << 20)  # the socket took them: room again
    assert len(frames) == 2
    box.send(big, "x")
    huge = '{"type": "x", "pad": "' + "p" * 5000 + '"}'
    box.take(0.0, budget=1 << 20)
    box.send(huge, "x")  # one command larger than the bound still goes when nothing waits
