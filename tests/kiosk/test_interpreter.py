"""The interpreter (microphone -> translation session -> speaker) with a file microphone and a recording sink,
against the scripted translation server; SentenceBuffer (pure)."""
import threading

import pytest

from realtime_sync import RealtimeClient
from realtime_sync.protocol.translation import FRAME_BYTES
from realtime_sync.translation.interpreter import Interpreter, SentenceBuffer
from tests.client.translation_server import KEY, Translator
from tests.support.waiting import wait_until

pytest.importorskip("numpy")
from realtime_sync.audio import FileMicrophone  # noqa: E402

from .helpers import FakeSink  # noqa: E402


class Sink(FakeSink):
    closed = False

    def close(self, drain=False, timeout=2.0):
        self.closed = True


def speech(ms, value=1000):
    return value.to_bytes(2, "little", signed=True) * (24 * ms)


def client(srv):
    return RealtimeClient(KEY, endpoint=srv.base_url, reconnect=False, request_timeout=5.0, connect_timeout=5.0)


def test_sentences_from_fragments():
    b = SentenceBuffer()
    assert b.add("Buenos dí") == [] and b.add("as. ¿Cómo est") == ["Buenos días."]
    assert b.add("á usted? Bien") == ["¿Cómo está usted?"]
    assert b.add("... 3.5 kilos") == ["Bien..."]  # a decimal point ends nothing
    assert b.flush() == "3.5 kilos" and b.flush() is None
    assert b.add("Fin.") == ["Fin."] and b.add("「東京」。次") == ["「東京」。"]


def test_microphone_in_translation_out_and_transcripts():
    t = Translator()
    texts = []
    lock = threading.Lock()

    def on_text(kind, fragment):
        with lock:
            texts.append((kind, fragment))

    with t.serve() as srv:
        session = client(srv).start_translation("es", transcribe_input=True)
        mic = FileMicrophone(speech(400))  # 400 ms of "speech" in real time, then silence
        sink = Sink()
        interpreter = Interpreter(session, mic, sink, echo_policy="full_duplex", on_text=on_text,
                                  close_given=True).start()
        try:
            assert mic.gate is interpreter.guard  # the echo guard gates the microphone
            assert wait_until(lambda: len(sink.written) >= 2 * FRAME_BYTES, 10)
            assert interpreter.run(duration=0.3) == "duration"
        finally:
            interpreter.stop()
            assert session.close(5)
        assert mic.closed and sink.closed
        assert sink.written[:2 * FRAME_BYTES] == speech(400)  # the "translation" of each frame
        assert interpreter.played_ms >= 400
        assert ("translation", "f1 ") in texts and any(kind == "source" for kind, _ in texts)
        assert all(len(f) == FRAME_BYTES for f in t.frames)  # 20 ms microphone chunks went out as 200 ms frames
        assert t.frames[-1] == bytes(FRAME_BYTES)  # silence from the microphone after its file


def test_translated_audio_of_another_rate_is_converted_for_the_speaker():
    pytest.importorskip("soxr")
    t = Translator(rate=16000)
    with t.serve() as srv:
        session = client(srv).start_translation("es")
        sink = Sink()
        interpreter = Interpreter(session, FileMicrophone(speech(400)), sink, echo_policy="full_duplex").start()
        try:  # two frames of 9600 bytes "at 16 kHz" -> 28800 bytes at 24 kHz (less the resampler's delay)
            assert wait_until(lambda: len(sink.written) >= 27000, 10)
        finally:
            interpreter.stop()
            session.close(5)
        assert abs(len(sink.written) - 28800) < 1200
