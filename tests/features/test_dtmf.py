"""DtmfCollector: keypad digits from ``input_audio_buffer.dtmf_event_received`` updates, read as an IVR does."""
import threading
import time

import pytest

from realtime_sync.dtmf import DtmfCollector
from realtime_sync.errors import ConnectionLostError, RealtimeTimeoutError, SessionClosedError
from tests.support.fake_session import FakeSession


def _press(session, keys):
    for key in keys:
        session.feed({"type": "input_audio_buffer.dtmf_event_received", "event": key, "received_at": 1797000000})


def test_digits_pressed_before_read_are_kept_and_the_terminator_ends_the_read():
    session = FakeSession()
    digits = DtmfCollector(session)
    _press(session, "12#34")
    session.feed({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "item_1"})
    assert digits.pending == "12#34"  # every key, terminators included, until read
    assert digits.read(timeout=1) == "12"
    assert digits.read(max_digits=2, timeout=1) == "34" and digits.pending == ""


def test_a_read_waits_for_digits_from_the_reader_thread():
    session = FakeSession()
    digits = DtmfCollector(session)
    started = threading.Event()

    def caller():
        started.wait(5)
        _press(session, "9*7")
        _press(session, "#")

    thread = threading.Thread(target=caller)
    thread.start()
    started.set()
    assert digits.read(terminators="#", timeout=5) == "9*7"
    thread.join(5)


def test_timeouts():
    session = FakeSession()
    digits = DtmfCollector(session)
    with pytest.raises(RealtimeTimeoutError):
        digits.read(timeout=0.1)
    _press(session, "5")
    started = time.monotonic()
    assert digits.read(timeout=5, inter_digit_timeout=0.2) == "5"  # no second digit: the pause ends the read
    assert time.monotonic() - started < 2
    _press(session, "56")
    assert digits.read(max_digits=4, timeout=0.2) == "56"  # the whole bound passed: what was gathered


def test_the_end_of_the_call_ends_a_read():
    session = FakeSession()
    digits = DtmfCollector(session)
    _press(session, "4")
    session.close_connection(None)
    assert digits.read(timeout=5) == "4"
    with pytest.raises(SessionClosedError):
        digits.read(timeout=5)
    lost = DtmfCollector(FakeSession())
    lost.handle_connection_closed(ConnectionLostError(1006))
    with pytest.raises(ConnectionLostError):
        lost.read(timeout=5)


def test_clear_and_close():
    session = FakeSession()
    with DtmfCollector(session) as digits:
        _press(session, "123")
        digits.clear()
        assert digits.pending == ""
        assert session.observers == (digits,)
    assert session.observers == ()
    with pytest.raises(ValueError):
        digits.read(max_digits=0)
