"""send_audio: every kind of source, chunking, interleaving, ordering, pacing, cancel and failures."""
import base64
import io
import json
import os
import socket
import sys
import threading
import time

import pytest

from realtime_sync import AudioSendStatus
from realtime_sync.errors import AudioFormatError, ConnectionLostError, RealtimeError, RealtimeTimeoutError

from tests.support.sessions import client_for
from tests.support.waiting import wait_until
from tests.support.wav import write_wav

from .helpers import types_of
from .rawserver import SESSION_CREATED, RawServer
from .server import MiniServer


def pcm(n_bytes: int, seed: int = 1) -> bytes:
    return bytes((i * seed + i // 256) % 256 for i in range(n_bytes))


def appended(server) -> bytes:
    return b"".join(base64.b64decode(json.loads(m)["audio"]) for m in server.received
                    if json.loads(m)["type"] == "input_audio_buffer.append")


def append_sizes(server):
    return [len(base64.b64decode(json.loads(m)["audio"])) for m in server.received
            if json.loads(m)["type"] == "input_audio_buffer.append"]


@pytest.fixture
def session(server):
    with client_for(server.base_url).start_session() as s:
        yield s


def test_bytes_are_chunked_at_100ms(server, session):
    data = pcm(12000)
    handle = session.send_audio(data)
    assert handle.wait(5) is AudioSendStatus.COMPLETED
    assert handle.done and handle.bytes_sent == 12000 and not handle.cancelled
    assert server.wait_received(3)
    assert append_sizes(server) == [4800, 4800, 2400]
    assert appended(server) == data
    assert "event_id" not in json.loads(server.received[0])  # the hot path sends no event_id
    assert "AudioSendHandle done" in repr(handle)


def test_chunk_ms_option(server, session):
    session.send_audio(pcm(4800), chunk_ms=20).wait(5)
    assert server.wait_received(5)
    assert append_sizes(server) == [960] * 5


def test_wav_path_24k_streams_frames(server, session, tmp_path):
    data = pcm(24000 * 2)  # 1 s
    write_wav(tmp_path / "a.wav", data)
    assert session.send_audio(str(tmp_path / "a.wav")).wait(5)
    assert server.wait_received(10)
    assert appended(server) == data


def test_wav_other_rate_is_converted(server, session, tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("soxr")
    write_wav(tmp_path / "b.wav", pcm(16000 * 2 * 2), rate=16000, channels=2)  # 1 s stereo at 16 kHz
    handle = session.send_audio(tmp_path / "b.wav")
    assert handle.wait(5)
    assert abs(handle.bytes_sent - 48000) <= 200


def test_wav_other_rate_without_audio_extra(server, session, tmp_path, monkeypatch):
    write_wav(tmp_path / "c.wav", pcm(1000), rate=44100, channels=2)
    for name in ("realtime_sync.audio", "realtime_sync.audio.wav"):  # as if numpy/soxr were not installed
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(AudioFormatError) as info:
        session.send_audio(str(tmp_path / "c.wav"))
    text = str(info.value)
    assert "44100 Hz" in text and "2 channel" in text and "16-bit" in text
    assert "pip install realtime_sync[audio]" in text


def test_raw_file_path_and_bad_files(server, session, tmp_path):
    data = pcm(10000)
    (tmp_path / "in.raw").write_bytes(data)
    assert session.send_audio(str(tmp_path / "in.raw")).wait(5)
    assert server.wait_received(3)
    assert appended(server) == data
    (tmp_path / "odd.raw").write_bytes(b"\x00" * 3)
    with pytest.raises(AudioFormatError):
        session.send_audio(tmp_path / "odd.raw")
    with pytest.raises(AudioFormatError):
        session.send_audio(str(tmp_path / "missing.wav"))
    with pytest.raises(AudioFormatError):
        session.send_audio(b"\x00\x01\x02")
    with pytest.raises(TypeError):
        session.send_audio(12345)


def test_file_objects(server, session, tmp_path):
    raw = pcm(9600, 3)
    assert session.send_audio(io.BytesIO(raw)).wait(5)
    buf = io.BytesIO()
    write_wav(buf, raw)
    buf.seek(0)
    assert session.send_audio(buf).wait(5)
    with open(tmp_path / "f.raw", "wb") as f:
        f.write(raw)
    with open(tmp_path / "f.raw", "rb") as f:
        assert session.send_audio(f).wait(5)
    r, w = os.pipe()  # a pipe can block: read by a feeder thread
    with os.fdopen(r, "rb") as reader, os.fdopen(w, "wb") as writer:
        handle = session.send_audio(reader)
        writer.write(raw)
        writer.close()
        assert handle.wait(5)
    assert server.wait_received(8), append_sizes(server)
    assert appended(server) == raw * 4


def test_iterable_with_odd_chunks_is_rechunked(server, session):
    data = pcm(20001 + 1)
    pieces = [data[0:1], data[1:7777], data[7777:7778], data[7778:]]  # odd boundaries, one piece > 100 ms
    handle = session.send_audio(iter(pieces))
    assert handle.wait(5)
    assert wait_until(lambda: len(appended(server)) == len(data))
    assert appended(server) == data
    assert all(size % 2 == 0 and size <= 4800 for size in append_sizes(server))


def test_blocking_source_does_not_block_commands(server, session):
    release = threading.Event()

    def microphone():
        yield pcm(4800)
        release.wait(10)  # a microphone waiting for the next buffer
        yield pcm(4800, 5)

    handle = session.send_audio(microphone())
    assert wait_until(lambda: "input_audio_buffer.append" in types_of(server.received))
    session.start_response()
    assert wait_until(lambda: "response.create" in types_of(server.received))
    assert not handle.done
    release.set()
    assert handle.wait(5)
    assert server.wait_received(3)
    assert types_of(server.received) == ["input_audio_buffer.append", "response.create", "input_audio_buffer.append"]


def test_commit_waits_for_earlier_audio_but_other_commands_interleave(server, session):
    handle = session.send_audio(pcm(24000), realtime=True)  # 0.5 s, paced
    session.add_item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
    session.commit_audio()
    session.start_response()
    assert handle.wait(5)
    assert server.wait_received(8)
    kinds = types_of(server.received)
    assert kinds.index("conversation.item.create") < len(kinds) - 3  # went out between audio chunks
    assert kinds[-2:] == ["input_audio_buffer.commit", "response.create"]
    assert kinds.count("input_audio_buffer.append") == 5


def test_realtime_pacing_and_cancel(server, session):
    t0 = time.monotonic()
    session.send_audio(pcm(4800 * 5), realtime=True).wait(5)  # 0.5 s of audio
    elapsed = time.monotonic() - t0
    assert 0.3 < elapsed < 3
    handle = session.send_audio(pcm(4800 * 50), realtime=True)  # 5 s
    assert wait_until(lambda: handle.bytes_sent >= 4800)
    handle.cancel()
    assert handle.wait(2) is AudioSendStatus.CANCELLED and handle.cancelled
    assert handle.bytes_sent < 4800 * 50


def test_clear_audio_cancels_pending_streams(server, session):
    first = session.send_audio(pcm(4800 * 50), realtime=True)
    second = session.send_audio(pcm(4800))
    assert wait_until(lambda: first.bytes_sent > 0)
    session.clear_audio()
    assert first.wait(2) and second.wait(2)
    assert first.cancelled and second.cancelled and second.bytes_sent == 0
    assert wait_until(lambda: "input_audio_buffer.clear" in types_of(server.received))


def test_failing_source_fails_only_its_handle(server, session):
    def broken():
        yield pcm(4800)
        raise OSError("device unplugged")

    handle = session.send_audio(broken())
    with pytest.raises(OSError, match="unplugged"):
        handle.wait(5)
    with pytest.raises(AudioFormatError):
        session.send_audio(iter(["not bytes"])).wait(5)
    assert session.wait_for("response.done", timeout=5, after=session.start_response)


def test_connection_lost_fails_pending_audio():
    def script(conn):
        conn.send_json(SESSION_CREATED)
        conn.recv_frame()
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.sock.close()

    with RawServer(script) as srv:
        session = client_for(srv.base_url).start_session()
        handle = session.send_audio(pcm(4800 * 100), realtime=True)
        with pytest.raises(ConnectionLostError):
            handle.wait(5)
        with pytest.raises(ConnectionLostError):
            session.send_audio(pcm(10))
        session.close()


def test_close_cancels_audio():
    with MiniServer() as srv:
        session = client_for(srv.base_url).start_session()
        handle = session.send_audio(pcm(4800 * 100), realtime=True)
        assert wait_until(lambda: handle.bytes_sent > 0)
        t0 = time.monotonic()
        session.close()
        assert time.monotonic() - t0 < 2
        assert handle.wait(1) and handle.cancelled


def test_server_close_fails_pending_audio():
    from realtime_sync.errors import ConnectionClosedError

    def handler(conn, msg):
        if msg["type"] == "input_audio_buffer.append":
            conn.close(1011, "internal error")

    with MiniServer(handler=handler) as srv:
        session = client_for(srv.base_url).start_session()
        handle = session.send_audio(pcm(4800 * 100), realtime=True)
        with pytest.raises(ConnectionClosedError) as info:
            handle.wait(5)
        assert info.value.code == 1011
        session.close()


@pytest.mark.parametrize("rate,channels", [(24000, 1), (16000, 2)])
def test_a_wav_file_is_opened_and_parsed_once(server, session, tmp_path, monkeypatch, rate, channels):
    if rate != 24000:
        pytest.importorskip("numpy")
        pytest.importorskip("soxr")
    import builtins

    from realtime_sync.protocol import wav

    path = tmp_path / "once.wav"
    write_wav(path, pcm(rate // 10 * 2 * channels), rate=rate, channels=channels)  # 100 ms
    opened, parsed = [], []
    real_open, real_parse = builtins.open, wav.parse_wav_header

    def counting_open(file, *args, **kwargs):
        if str(file) == str(path):
            opened.append(file)
        return real_open(file, *args, **kwargs)

    def counting_parse(fh, name):
        parsed.append(name)
        return real_parse(fh, name)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr("realtime_sync._connection.audio_jobs.parse_wav_header", counting_parse)
    handle = session.send_audio(path)
    assert handle.wait(5) and abs(handle.bytes_sent - 4800) <= 100
    assert len(opened) == 1 and len(parsed) == 1


def test_stream_audio_joins_pushed_frames_without_a_thread(server, session):
    data = pcm(960 * 12 + 2)  # twelve 20 ms frames and one extra sample
    threads_before = threading.active_count()
    with session.stream_audio() as stream:
        for pos in range(0, len(data), 960):
            stream.write(data[pos:pos + 960])
        assert threading.active_count() == threads_before  # no feeder thread: the I/O thread sends it
    session.commit_audio()  # goes out after everything written before it
    assert stream.wait(5) is AudioSendStatus.COMPLETED and stream.bytes_sent == len(data)
    assert server.wait_received(4)
    assert append_sizes(server) == [4800, 4800, 1922]
    assert appended(server) == data
    assert json.loads(server.received[-1])["type"] == "input_audio_buffer.commit"
    with pytest.raises(RealtimeError):
        stream.write(b"\x00\x00")


def test_a_full_stream_buffer_times_out_instead_of_growing():
    from realtime_sync._connection.audio_jobs import push_audio_job

    job = push_audio_job()  # never drained: nobody sends it
    with pytest.raises(RealtimeTimeoutError):
        for _ in range(100):
            job.push(b"\x00\x00" * 2400, timeout=0.05)
    assert len(job._buf) == 32
    job.cancel()
    assert job.push(b"\x00\x00", timeout=0) is False
