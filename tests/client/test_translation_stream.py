"""The translation input stream without threads or sockets: the pure decisions (frames, the silence schedule, the
close states) and the stream job driven through a connection's Outbox with a made-up clock."""
import base64
import json

import pytest

from realtime_sync._connection.audio_jobs import AudioSendHandle
from realtime_sync._connection.writer import Outbox
from realtime_sync.errors import AudioFormatError, ConfigurationError, ConnectionLostError, SessionClosedError
from realtime_sync.observers import AudioSendStatus
from realtime_sync.protocol.translation import APPEND_TYPE, FRAME_BYTES, encode_translation_append
from realtime_sync.translation.pacing import SILENCE_FRAME, CloseDrain, FrameChunker, SilenceSchedule
from realtime_sync.translation.stream import TranslationStream, push_job, source_job


def tone(nbytes, value=0x0102):
    return value.to_bytes(2, "little") * (nbytes // 2)


# -- pure decisions ---------------------------------------------------------------------------------------------------
def test_chunker_makes_whole_frames_and_pads_a_tail():
    c = FrameChunker(8)
    c.feed(b"abc")
    assert c.pop() is None and c.pending == 3 and not c.ready
    c.feed(b"defghijklm")
    assert c.pop() == b"abcdefgh" and c.pending == 5 and c.pop() is None
    c.flush()
    assert c.pop() == b"ijklm\x00\x00\x00" and c.padded_bytes == 3 and c.pending == 0
    c.flush()  # nothing held: nothing added
    assert c.pop() is None and c.padded_bytes == 3
    c.feed(b"xyz")
    assert c.discard() == 3 and c.pop() is None
    with pytest.raises(ValueError):
        FrameChunker(7)


def test_silence_is_due_grace_after_the_end_of_the_audio_sent():
    s = SilenceSchedule(frame_s=0.2, grace=0.3)
    assert s.due_at() is None and not s.due(100.0)
    s.start(10.0)
    s.start(11.0)  # started once
    assert s.due_at() == pytest.approx(10.3) and not s.due(10.29) and s.due(10.3)
    s.sent(10.3, silence=True)
    assert s.end == pytest.approx(10.2) and s.due_at() == pytest.approx(10.5)
    for _ in range(5):  # a file: one second sent at once moves the end ahead of the clock
        s.sent(10.31)
    assert s.end == pytest.approx(11.2) and s.due_at() == pytest.approx(11.5)
    assert (s.frames, s.silence_frames) == (6, 1)
    s.sent(20.0)  # long behind (suspended): restarts level with the clock, no burst of catch-up silence
    assert s.end == pytest.approx(20.0 - 2.0 + 0.2) and s.due(20.0)
    s.stop()
    assert s.due_at() is None and not s.due(99.0)
    with pytest.raises(ValueError):
        SilenceSchedule(frame_s=0.2, max_behind=0.1)


def test_a_live_source_late_by_less_than_grace_minus_a_frame_is_never_interrupted():
    """A microphone starting level with the schedule (its worst phase) whose frames arrive up to 0.3 s late never
    gets silence spliced into its audio; later than that, one silence frame goes in and gives it a frame of slack."""
    s = SilenceSchedule(frame_s=0.2, grace=0.5)
    s.start(0.0)
    for k in range(1, 200):
        arrival = 0.2 * k + (0.29 if k % 7 == 0 else 0.02)  # jitter, sometimes large
        assert not s.due(arrival)
        s.sent(arrival)
    assert s.silence_frames == 0
    now = 0.2 * 199 + 0.51  # a stall past the slack: one silence frame
    assert s.due(now)
    s.sent(now, silence=True)
    for k in range(200, 300):  # the microphone goes on, now 0.49 s late: a whole grace of slack
        arrival = 0.2 * k + 0.49
        assert not s.due(arrival)
        s.sent(arrival)
    assert s.silence_frames == 1


def test_a_live_source_starting_in_any_phase_of_the_silence_gets_the_whole_grace():
    """Silence flows, then a microphone starts at some point of the 200 ms cycle: leveled at its first frame, its
    frames may come up to ``grace`` later than the first one did without silence being spliced into them."""
    for phase in (0.0, 0.05, 0.1, 0.15, 0.199):
        s = SilenceSchedule(frame_s=0.2, grace=0.5)
        s.start(0.0)
        now = 0.0
        while now < 3.0 + phase:  # silence on the timer
            now = s.due_at()
            s.sent(now, silence=True)
        first = 3.0 + phase + 0.25  # the microphone's first frame, 250 ms after it began
        s.level(first)
        s.sent(first)
        for k in range(1, 100):
            arrival = first + 0.2 * k + (0.45 if k % 5 == 0 else 0.0)  # sometimes 450 ms later than the first
            assert not s.due(arrival), (phase, k)
            s.sent(arrival)
    end = s.end
    s.level(end - 1.0)  # a source beginning while the stream is ahead of the clock (a file burst): no change
    assert s.end == end
    s.level(end + 1.0)  # behind the clock: level with it
    assert s.end == end + 1.0


def test_close_states():
    d = CloseDrain()
    assert d.state == "open" and not d.waiting and not d.complete
    assert d.begin() and d.state == "draining" and d.waiting and d.asked
    assert not d.begin()  # once
    d.close_sent()
    assert d.state == "closing" and d.waiting
    assert d.server_closed() is False  # asked for
    assert d.complete and not d.waiting and d.state == "closed"
    unasked = CloseDrain()
    assert unasked.server_closed() is True and unasked.complete and not unasked.begin()
    gone = CloseDrain()
    gone.connection_ended()
    assert not gone.begin() and not gone.complete and "connection ended" in repr(gone)
    late = CloseDrain()
    late.begin()
    late.connection_ended()
    assert not late.waiting and not late.complete


# -- the stream through an outbox --------------------------------------------------------------------------------------
class Harness:
    """An outbox with the stream at the head of its audio lane, taken from at made-up times."""

    def __init__(self, **kwargs):
        self.kicks = 0
        self.outbox = Outbox(self.kick, encode_audio=encode_translation_append, audio_type=APPEND_TYPE)
        self.stream = TranslationStream(**{"grace": 0.3, **kwargs})
        self.outbox.add_audio(self.stream)

    def kick(self):
        self.kicks += 1

    def take(self, now, budget=1 << 20):
        """(frames of audio sent, other texts, when to ask again)"""
        frames, wake_at, _more = self.outbox.take(now, budget)
        audio, other = [], []
        for _op, _payload, text, type_, _is_cmd in frames:
            if type_ == APPEND_TYPE:
                event = json.loads(text)
                assert set(event) == {"type", "audio"}
                audio.append(base64.b64decode(event["audio"]))
            else:
                other.append(json.loads(text)["type"])
        return audio, other, wake_at

    def add(self, source, **kwargs):
        job = source_job(source, **kwargs)
        self.stream.add_source(job)
        return AudioSendHandle(job)


def test_audio_goes_out_in_whole_200ms_frames_and_the_tail_is_padded():
    h = Harness()
    data = tone(FRAME_BYTES * 2 + 2400)  # 450 ms
    handle = h.add(data)
    audio, _, wake = h.take(0.0)
    assert [len(f) for f in audio] == [FRAME_BYTES] * 3
    assert b"".join(audio) == data + bytes(FRAME_BYTES - 2400)
    assert handle.wait(0) is AudioSendStatus.COMPLETED and handle.bytes_sent == len(data)
    assert h.stream.audio_frames == 3 and h.stream.silence_frames == 0
    assert wake == pytest.approx(0.6 + 0.3)  # 600 ms sent at once: silence resumes when the clock catches up


def test_with_nothing_to_send_a_silence_frame_goes_every_200ms_on_the_timer():
    h = Harness()
    audio, _, wake = h.take(5.0)
    assert audio == [] and wake == pytest.approx(5.3)
    now, sent = wake, []
    for _ in range(10):  # the I/O loop's timer fires at the time asked for
        audio, _, wake = h.take(now)
        sent += audio
        assert wake == pytest.approx(now + 0.2)
        now = wake
    assert sent == [SILENCE_FRAME] * 10 and h.stream.silence_frames == 10
    audio, _, wake = h.take(now + 0.7)  # a late timer: the missed frames go at once (the timeline stays whole)
    assert len(audio) == 4 and wake == pytest.approx(now + 0.8)
    assert h.take(now + 0.75)[0] == []  # nothing early
    quiet = Harness(fill_silence=False)
    assert quiet.take(0.0) == ([], [], None) and quiet.take(60.0) == ([], [], None)


def test_a_live_source_is_sent_as_it_comes_without_silence_in_between():
    h = Harness()
    stream = push_job()
    h.stream.add_source(stream)
    handle = AudioSendHandle(stream)
    assert h.take(0.0)[0] == [] and h.take(0.0)[2] == pytest.approx(0.3)  # waiting: the silence timer is set
    pieces = [tone(960, k) for k in range(1, 31)]  # 30 microphone frames of 20 ms
    sent = []
    for k, piece in enumerate(pieces):
        now = 0.02 * (k + 1) + 0.01
        stream.push(piece)
        sent += h.take(now)[0]
    assert len(sent) == 3 and b"".join(sent) == b"".join(pieces)
    stream.push(tone(480, 99))  # 10 ms more, then the input ends: padded to a frame
    stream.end_input()
    sent = h.take(0.65)[0]
    assert sent == [tone(480, 99) + bytes(FRAME_BYTES - 480)]
    assert handle.wait(0) is AudioSendStatus.COMPLETED
    # nothing more from the app: silence once the clock is past the end of the audio by the grace. The source's
    # first frame (0.21) leveled the schedule with the clock: 4 frames from there end at 1.01, silence at 1.31
    assert h.take(1.29)[0] == [] and h.take(1.32)[0] == [SILENCE_FRAME]


def test_sources_go_in_order_and_a_cancelled_one_drops_its_partial_frame():
    h = Harness()
    live = push_job()
    h.stream.add_source(live)
    first = AudioSendHandle(live)
    second = h.add(tone(FRAME_BYTES, 7))
    live.push(tone(FRAME_BYTES + 100, 1))
    assert h.take(0.0)[0] == [tone(FRAME_BYTES, 1)]  # the second waits for the first
    first.cancel()
    audio, _, _ = h.take(0.01)
    assert audio == [tone(FRAME_BYTES, 7)]  # the cancelled source's 100 bytes are not sent
    assert first.wait(0) is AudioSendStatus.CANCELLED and second.wait(0) is AudioSendStatus.COMPLETED


class Failing:
    def __init__(self):
        self.reads = 0

    def read(self, n):
        self.reads += 1
        if self.reads > 1:
            raise OSError("disk gone")
        return tone(n)

    def seek(self, *a):
        return 0

    def tell(self):
        return 0


def test_a_failing_source_fails_alone_and_the_stream_goes_on():
    h = Harness()
    bad = source_job(Failing())
    bad_handle = AudioSendHandle(bad)
    h.stream.add_source(bad)
    good = h.add(tone(2 * FRAME_BYTES, 3))
    audio, _, _ = h.take(0.0)
    assert audio == [tone(FRAME_BYTES), tone(FRAME_BYTES, 3), tone(FRAME_BYTES, 3)]
    with pytest.raises(OSError):
        bad_handle.wait(0)
    assert good.wait(0) is AudioSendStatus.COMPLETED


def test_ending_the_input_drains_then_lets_the_close_go_after_the_audio():
    h = Harness()
    handle = h.add(tone(3 * FRAME_BYTES))
    h.outbox.send('{"type":"session.update"}', "session.update")
    h.outbox.send('{"type":"session.close"}', "session.close", after_audio=True)
    h.stream.end_input()
    with pytest.raises(SessionClosedError):
        h.add(b"\x00\x00")
    audio, other, _ = h.take(0.0, budget=FRAME_BYTES)  # one frame per turn (a slow socket)
    assert len(audio) == 1 and other == ["session.update"]  # commands do not wait for audio; the close does
    audio, other, _ = h.take(0.01, budget=FRAME_BYTES)
    assert len(audio) == 1 and other == []
    audio, other, _ = h.take(0.02, budget=FRAME_BYTES)
    assert len(audio) == 1 and other == []
    audio, other, wake = h.take(10.0, budget=FRAME_BYTES)  # long after: no silence once the input ended
    assert audio == [] and other == ["session.close"] and wake is None
    assert h.outbox.idle and h.stream.finished.is_set() and h.stream.silence_frames == 0
    assert handle.wait(0) is AudioSendStatus.COMPLETED


def test_ending_the_input_stops_live_sources_and_the_silence():
    h = Harness()
    live = push_job()
    h.stream.add_source(live)
    live.push(tone(500))
    h.stream.end_input()
    audio, _, wake = h.take(10.0)  # long after: no silence, the live source's rest padded, then the end
    assert audio == [tone(500) + bytes(FRAME_BYTES - 500)] and wake is None
    assert h.stream.finished.is_set() and live.finished.is_set() and not live.push(b"\x00\x00")


def test_a_failed_connection_fails_every_queued_source():
    h = Harness()
    live = push_job()
    h.stream.add_source(live)
    queued = h.add(tone(FRAME_BYTES))
    h.stream.finish(ConnectionLostError(1006, "", "connection lost"))
    for handle in (AudioSendHandle(live), queued):
        with pytest.raises(ConnectionLostError):
            handle.wait(0)
    with pytest.raises(SessionClosedError):
        h.stream.add_source(push_job())


def test_sources_of_other_rates_are_converted_and_bad_ones_refused():
    pytest.importorskip("soxr")
    job = source_job(tone(32000), sample_rate=16000)  # 1 s at 16 kHz -> 1 s at 24 kHz
    data = b"".join(iter(job.next_chunk, None))
    assert abs(len(data) - 48000) <= 4
    stereo = source_job(tone(19200), channels=2)
    assert abs(len(b"".join(iter(stereo.next_chunk, None))) - 9600) <= 4  # two channels become one
    with pytest.raises(ConfigurationError):
        source_job(b"\x00\x00", sample_rate=0)
    with pytest.raises(ConfigurationError):
        source_job(b"\x00\x00", channels=True)
    with pytest.raises(AudioFormatError):
        source_job(b"\x00\x00\x00")  # not whole samples
    with pytest.raises(AudioFormatError):
        source_job("/no/such/file.wav")
    with pytest.raises(TypeError):
        source_job(42)
