"""ask() and push_to_talk() against a scripted fake session (exact event orders, no sockets)."""
import pathlib
import threading
import time

import pytest

from realtime_sync.conversation import ConversationMirror
from realtime_sync.errors import ConnectionLostError, ProtocolError, RealtimeTimeoutError, ServerError
from realtime_sync.protocol import ResponseOptions
from realtime_sync.tools import CONTINUATION_KEY, ToolDispatcher
from realtime_sync.turns import TURN_KEY, ask, push_to_talk

from tests.support.waiting import wait_until

from .helpers import ScriptedSession, response_events

USAGE = {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10,
         "input_token_details": {"text_tokens": 12, "audio_tokens": 8, "cached_tokens": 4,
                                 "cached_tokens_details": {"text_tokens": 4, "audio_tokens": 0}},
         "output_token_details": {"text_tokens": 3, "audio_tokens": 7}}


def echo_metadata(events, wire):
    """Make response.created echo the request's metadata, as the live service does."""
    meta = (wire.get("response") or {}).get("metadata")
    events[0]["response"]["metadata"] = meta
    return events


def test_ask_text_collects_the_reply_and_usage():
    def script(s, wire):
        if wire["type"] == "conversation.item.create":
            s.emit([{"type": "conversation.item.added", "previous_item_id": None,
                     "item": {"id": "u1", "type": "message", "role": "user", "status": "completed",
                              "content": [{"type": "input_text", "text": wire["item"]["content"][0]["text"]}]}}])
        if wire["type"] == "response.create":
            s.emit(echo_metadata(response_events("r1", text="Hi there", usage=USAGE, prev="u1"), wire))

    session = ScriptedSession(script)
    result = ask(session, "Hello", timeout=5)
    assert [w["type"] for w in session.sent] == ["conversation.item.create", "response.create"]
    assert session.sent[1]["response"]["metadata"][TURN_KEY]
    assert result.text == "Hi there" == str(result) == result.output_text
    assert result.status == "completed" and len(result.responses) == 1
    assert result.user_item_id == "u1"
    assert result.usage.total_tokens == 30 and result.usage.cached_text_tokens == 4
    assert result.usage.uncached_input_text_tokens == 8 and result.usage.output_audio_tokens == 7
    assert result.tool_calls == [] and result.audio == b""
    assert session.observers == ()  # the turn's observer is gone


def test_ask_with_tools_waits_for_the_continuation():
    def get_time(zone: str) -> str:
        """The time in a zone."""
        return f"noon in {zone}"

    def script(s, wire):
        if wire["type"] == "response.create":
            meta = wire["response"]["metadata"]
            if CONTINUATION_KEY in meta:
                assert meta[CONTINUATION_KEY] == "r1"
                s.emit(echo_metadata(response_events("r2", text="It is noon in UTC.", usage=USAGE), wire))
            else:
                s.emit(echo_metadata(response_events("r1", text="Let me check.", usage=USAGE,
                                                     calls=[("f1", "c1", "get_time", '{"zone": "UTC"}')]), wire))

    session = ScriptedSession(script)
    dispatcher = ToolDispatcher(session, [get_time]).attach()
    result = ask(session, "What time is it?", timeout=5)  # finds the attached dispatcher itself
    assert result.text == "It is noon in UTC."
    assert result.all_text == "Let me check.\nIt is noon in UTC."
    assert [r.id for r in result.responses] == ["r1", "r2"]
    assert result.usage.total_tokens == 60 and result.usage.responses == 2
    (call,) = result.tool_calls
    assert call.status == "completed" and call.output == "noon in UTC" and call.name == "get_time"
    assert [w["type"] for w in session.sent] == ["conversation.item.create", "response.create",
                                                 "conversation.item.create", "response.create"]
    dispatcher.close()


def test_tool_only_turn_without_dispatcher_completes():
    def script(s, wire):
        if wire["type"] == "response.create":
            s.emit(response_events("r1", calls=[("f1", "c1", "lookup", "{}")]))

    result = ask(ScriptedSession(script), "Look it up", timeout=5)
    assert result.status == "completed" and result.text == "" and result.audio == b""
    (call,) = result.tool_calls
    assert call.status == "manual" and call.call_id == "c1" and call.name == "lookup"


def test_failed_response_raises_server_error():
    def script(s, wire):
        if wire["type"] == "response.create":
            events = response_events("r1", status="failed")
            events[-1]["response"]["status_details"] = {
                "type": "failed", "error": {"type": "server_error", "code": "boom", "message": "model crashed"}}
            s.emit(events)

    with pytest.raises(ServerError) as info:
        ask(ScriptedSession(script), "hi", timeout=5)
    assert info.value.code == "boom" and "model crashed" in str(info.value)


def test_error_for_the_turns_own_command_raises_and_others_are_ignored():
    def script(s, wire):
        if wire["type"] == "conversation.item.create":
            s.emit([{"type": "error", "error": {"type": "invalid_request_error", "code": "other",
                                                "message": "not yours", "event_id": "someone_else"}}])
        if wire["type"] == "response.create":
            s.emit([{"type": "error", "error": {"type": "invalid_request_error",
                                                "code": "conversation_already_has_active_response",
                                                "message": "busy", "event_id": wire["event_id"]}}])

    with pytest.raises(ServerError) as info:
        ask(ScriptedSession(script), "hi", timeout=5)
    assert info.value.code == "conversation_already_has_active_response"


def test_timeout_and_connection_loss_never_hang():
    session = ScriptedSession(lambda s, w: None)
    started = time.monotonic()
    with pytest.raises(RealtimeTimeoutError, match="no response started"):
        ask(session, "hi", timeout=0.2)
    assert time.monotonic() - started < 1

    def script(s, wire):
        if wire["type"] == "response.create":
            s.emit([{"type": "response.created", "response": {"id": "r1", "status": "in_progress"}}])
            s.emit([], delay=0.05)
            s._todo.put((0.0, []))

    session = ScriptedSession(script)
    import threading
    threading.Timer(0.2, session.close_connection, (ConnectionLostError(1006, "", "lost"),)).start()
    with pytest.raises(ConnectionLostError):
        ask(session, "hi", timeout=5)


def test_someone_elses_response_is_not_taken_for_ours():
    def script(s, wire):
        if wire["type"] == "response.create":
            other = response_events("rX", text="not for you")
            other[0]["response"]["metadata"] = {"topic": "other"}
            s.emit(other + echo_metadata(response_events("r1", text="for you"), wire))

    assert ask(ScriptedSession(script), "hi", timeout=5).text == "for you"


def test_audio_turn_without_vad_commits_and_the_transcript_arrives_after_the_reply():
    def script(s, wire):
        if wire["type"] == "input_audio_buffer.commit":
            s.emit([{"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "u1"},
                    {"type": "conversation.item.added", "previous_item_id": None,
                     "item": {"id": "u1", "type": "message", "role": "user", "status": "completed",
                              "content": [{"type": "input_audio", "transcript": None}]}}])
        if wire["type"] == "response.create":
            s.emit(response_events("r1", text="Sure.", prev="u1"))
            s.emit([{"type": "conversation.item.input_audio_transcription.completed", "item_id": "u1",
                     "content_index": 0, "transcript": "Can you help?"}], delay=0.2)  # after the reply

    session = ScriptedSession(script, turn_detection=None)
    mirror = ConversationMirror()
    session.add_observer(mirror)
    result = ask(session, b"\x00\x01" * 4800, timeout=5)
    assert [w["type"] for w in session.sent] == ["input_audio_buffer.commit", "response.create"]
    assert result.text == "Sure." and result.user_item_id == "u1"
    assert result.user_transcript is None  # not there yet: the reply came first
    assert mirror.get("u1").transcript is None
    assert mirror.wait_for_transcript("u1", timeout=5) == "Can you help?"
    assert [i.id for i in mirror.items()] == ["u1", "msg_r1"]

    # the same, but waiting for the transcript inside ask
    session = ScriptedSession(script, turn_detection=None)
    result = ask(session, pathlib.Path(__file__), timeout=5, wait_for_transcript=3)
    assert result.user_transcript == "Can you help?"


def test_audio_turn_with_server_vad_lets_the_server_respond():
    def script(s, wire):
        if wire["type"] == "<audio>" and len(s.audio) == 1:
            s.emit([{"type": "response.created", "response": {"id": "old", "status": "in_progress"}},
                    {"type": "response.done", "response": {"id": "old", "status": "completed", "output": []}},
                    {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "u1"},
                    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "u1"},
                    {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "u1"}]
                   + response_events("r1", text="Heard you."))

    session = ScriptedSession(script, turn_detection={"type": "server_vad", "silence_duration_ms": 500})
    result = ask(session, b"\x10\x00" * 24000, timeout=5)
    assert result.text == "Heard you." and [r.id for r in result.responses] == ["r1"]
    assert session.sent == []  # no commit, no response.create: the server VAD does it
    assert session.audio[1] == b"\x00" * (48 * 800)  # silence tail: silence_duration_ms + 300 ms


def test_push_to_talk():
    def script(s, wire):
        if wire["type"] == "response.create":
            s.emit(response_events("r1", text="Pushed."))

    with pytest.raises(ProtocolError):
        push_to_talk(ScriptedSession(script, turn_detection={"type": "server_vad"}))

    session = ScriptedSession(script, turn_detection=None)
    with push_to_talk(session) as ptt:
        ptt.send(b"\x00\x00" * 1200)  # 50 ms: too short
    assert ptt.result(1) is None and not ptt.committed
    assert [w["type"] for w in session.sent] == ["input_audio_buffer.clear", "input_audio_buffer.clear"]

    session = ScriptedSession(script, turn_detection=None)
    with push_to_talk(session, response_options=ResponseOptions(instructions="Short.")) as ptt:
        ptt.send(b"\x00\x00" * 2400)
        ptt.send(b"\x00\x00" * 2400)
    assert ptt.duration_ms == 200 and ptt.committed
    assert [w["type"] for w in session.sent] == ["input_audio_buffer.clear", "input_audio_buffer.commit",
                                                 "response.create"]
    assert session.sent[-1]["response"]["instructions"] == "Short."
    assert ptt.result(5).text == "Pushed."
    assert session.observers == ()

    session = ScriptedSession(script, turn_detection=None)
    with push_to_talk(session, respond=False) as ptt:
        ptt.send(b"\x00\x00" * 4800)
    assert [w["type"] for w in session.sent] == ["input_audio_buffer.clear", "input_audio_buffer.commit"]
    assert ptt.result(1) is None


def test_many_threads_asking_one_session_each_get_their_own_answer_in_order(make_fake_server):
    """Turns are serialised: 12 threads ask at once; each gets the answer to its own question, first come first
    served, and none sees 'conversation already has an active response'."""
    from realtime_sync.testing import Reply

    server = make_fake_server(responder=lambda ctx: Reply(text=f"answer to {ctx.last_user_text}"))
    from tests.support.sessions import client_for

    with client_for(server).start_session() as session:
        results, errors, order = {}, [], []
        lock = threading.Lock()

        def worker(i):
            try:
                with lock:
                    order.append(i)
                result = session.ask(f"question {i}", timeout=60)
                results[i] = result.output_text or result.transcript
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert errors == []
        assert results == {i: f"answer to question {i}" for i in range(12)}
        asked = [e["item"]["content"][0]["text"] for e in server.received
                 if e.get("type") == "conversation.item.create"]
        assert len(asked) == 12 and sorted(asked) == sorted(f"question {i}" for i in range(12))


def test_a_turn_waiting_its_turn_times_out_within_its_own_timeout():
    from realtime_sync.observers import TurnQueue

    q = TurnQueue()
    assert q.acquire(1)
    t0 = time.monotonic()
    assert q.acquire(0.2) is False and 0.15 < time.monotonic() - t0 < 2
    got = []
    waiter = threading.Thread(target=lambda: got.append(q.acquire(5)))
    waiter.start()
    assert wait_until(lambda: q.waiting == 1, 5)
    q.release()  # passes the turn straight to the waiter
    waiter.join(5)
    assert got == [True] and q.waiting == 0
    q.release()
    assert q.acquire(0)
