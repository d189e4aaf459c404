"""ConversationMirror: order by previous_item_id, late transcripts, truncation, deletion, bounds, audio cap."""
import base64
import threading

from realtime_sync.conversation import ConversationMirror
from realtime_sync.protocol import parse_update

from tests.support.traces import trace_updates

from .helpers import response_events


def feed(mirror, *events):
    for e in events:
        mirror.handle_update(parse_update(e))


def added(item_id, prev, role="user", text=None, kind="conversation.item.added", **extra):
    content = [{"type": "input_text", "text": text}] if text is not None else []
    return {"type": kind, "previous_item_id": prev,
            "item": {"id": item_id, "type": "message", "role": role, "status": "completed", "content": content,
                     **extra}}


def test_order_follows_previous_item_id_not_arrival():
    m = ConversationMirror()
    feed(m, added("a", None, text="first"), added("c", "a", text="third"), added("b", "a", text="second"),
         added("z", None, text="inserted at root"), added("d", "unknown", text="dangling link: appended"))
    assert m.ids() == ["z", "a", "b", "c", "d"]
    assert [i.text for i in m.items()][:2] == ["inserted at root", "first"]
    # a later event with a null link (as item.done sends) does not move a known item
    feed(m, dict(added("c", None, text="third"), type="conversation.item.done"))
    assert m.ids() == ["z", "a", "b", "c", "d"]
    # beta conversation.item.created works the same
    feed(m, added("e", "z", kind="conversation.item.created", text="beta"))
    assert m.ids()[:2] == ["z", "e"] and len(m) == 6 and "e" in m


def test_recorded_three_vad_turns_transcripts_before_and_after_items():
    m = ConversationMirror()
    for u in trace_updates("pydantic-ai__three-server-vad-turns__ga.jsonl"):
        m.handle_update(u)
    items = m.items()
    assert [i.role for i in items] == ["user", "assistant"] * 3
    assert all(i.transcript == "Hello, my name is Marcelo." and i.transcription_status == "completed"
               for i in items if i.role == "user")
    assert items[1].transcript == "Hi Marcelo! Nice to meet you." and items[1].has_audio
    assert items[1].audio is None and items[1].audio_bytes_received > 0  # audio counted, not kept
    assert all(i.previous_item_id == items[n].id for n, i in enumerate(items[1:]))


def test_transcript_arriving_after_the_reply_fills_the_user_item():
    m = ConversationMirror()
    feed(m, {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "u1"},
         added("u1", None, content=[{"type": "input_audio"}]), *response_events("r1", text="Reply", prev="u1"))
    assert m.get("u1").transcript is None and m.get("msg_r1").text == "Reply"
    got = []
    waiter = threading.Thread(target=lambda: got.append(m.wait_for_transcript("u1", timeout=5)))
    waiter.start()
    feed(m, {"type": "conversation.item.input_audio_transcription.delta", "item_id": "u1", "content_index": 0,
             "delta": "Hel"},
         {"type": "conversation.item.input_audio_transcription.completed", "item_id": "u1", "content_index": 0,
          "transcript": "Hello"})
    waiter.join(5)
    assert got == ["Hello"]
    assert m.ids() == ["u1", "msg_r1"]
    assert m.as_text() == "user: Hello\nassistant: Reply"
    assert m.wait_for_transcript("msg_r1", timeout=0.01) is None  # never transcribed: bounded wait
    feed(m, {"type": "conversation.item.input_audio_transcription.failed", "item_id": "u2", "content_index": 0,
             "error": {"message": "bad audio"}})
    feed(m, added("u2", "msg_r1"))
    assert m.get("u2").transcription_status == "failed" and m.get("u2").transcription_error == "bad audio"
    assert m.wait_for_transcript("u2", timeout=1) is None


def test_assistant_audio_transcript_truncation_and_kept_audio():
    m = ConversationMirror(keep_audio=True)
    chunk = b"\x01\x00" * 2400  # 100 ms
    feed(m, added("u1", None, text="hi"), added("a1", "u1", role="assistant"))
    for _ in range(5):
        feed(m, {"type": "response.output_audio.delta", "response_id": "r1", "item_id": "a1", "output_index": 0,
                 "content_index": 0, "delta": base64.b64encode(chunk).decode()})
    feed(m, {"type": "response.output_audio_transcript.delta", "response_id": "r1", "item_id": "a1",
             "output_index": 0, "content_index": 0, "delta": "Hello the"},
         {"type": "response.output_audio_transcript.done", "response_id": "r1", "item_id": "a1",
          "output_index": 0, "content_index": 0, "transcript": "Hello there"})
    item = m.get("a1")
    assert item.transcript == "Hello there" and len(item.audio) == 5 * len(chunk) and item.response_id == "r1"
    feed(m, {"type": "conversation.item.truncated", "item_id": "a1", "content_index": 0, "audio_end_ms": 150})
    item = m.get("a1")
    assert item.truncated and item.audio_end_ms == 150 and len(item.audio) == 150 * 48
    assert item.audio_bytes_received == 5 * len(chunk)


def test_recorded_barge_in_truncations():
    m = ConversationMirror()
    for u in trace_updates("banyan-landing__webrtc-greeting-then-barge-in-vad-turn__beta.jsonl"):
        m.handle_update(u)
    truncated = [i for i in m.items() if i.truncated]
    assert len(truncated) == 1 and truncated[0].audio_end_ms == 1860 and truncated[0].role == "assistant"


def test_function_calls_deletion_retrieval_and_out_of_band_output():
    m = ConversationMirror()
    feed(m, added("u1", None, text="weather?"),
         *response_events("r1", calls=[("f1", "c1", "get_weather", '{"city": "Oslo"}')], prev="u1"),
         {"type": "conversation.item.added", "previous_item_id": "f1",
          "item": {"id": "o1", "type": "function_call_output", "call_id": "c1", "output": "sunny"}})
    assert [(i.type, i.content_text) for i in m.items()] == [
        ("message", "weather?"), ("function_call", 'get_weather({"city": "Oslo"})'), ("function_call_output", "sunny")]
    assert m.get("f1").call_id == "c1" and m.get("f1").status == "completed"
    feed(m, {"type": "conversation.item.deleted", "item_id": "f1"})
    assert m.ids() == ["u1", "o1"]
    feed(m, {"type": "conversation.item.retrieved",
             "item": {"id": "u1", "type": "message", "role": "user", "status": "completed",
                      "content": [{"type": "input_text", "text": "weather in Oslo?"}]}},
         {"type": "conversation.item.retrieved", "item": {"id": "gone", "type": "message", "role": "user"}})
    assert m.get("u1").text == "weather in Oslo?" and "gone" not in m
    # a response outside the conversation (conversation: "none") has output items but no item.added
    feed(m, *[e for e in response_events("oob", text="side answer") if not e["type"].startswith("conversation.")])
    assert m.ids() == ["u1", "o1"]
    assert m.last(role="user").id == "u1" and m.last().id == "o1" and m.last(type="function_call") is None


def test_bounds_items_pending_and_audio():
    m = ConversationMirror(max_items=3, max_pending=2, keep_audio=True, max_audio_bytes=1000)
    prev = None
    for n in range(6):
        feed(m, added(f"i{n}", prev, text=str(n)))
        prev = f"i{n}"
    assert m.ids() == ["i3", "i4", "i5"] and m.dropped_items == 3 and m.get("i0") is None
    for n in range(5):  # transcripts for items never added stay bounded
        feed(m, {"type": "conversation.item.input_audio_transcription.delta", "item_id": f"x{n}",
                 "content_index": 0, "delta": "..."})
    assert len(m._pending) == 2
    feed(m, added("a1", "i5", role="assistant"), added("a2", "a1", role="assistant"))
    for item_id in ("a1", "a2"):
        feed(m, {"type": "response.output_audio.delta", "response_id": "r", "item_id": item_id, "output_index": 0,
                 "content_index": 0, "delta": base64.b64encode(b"\x00" * 800).decode()})
    assert m.get("a1").audio is None and len(m.get("a2").audio) == 800  # oldest audio dropped at the cap
    assert m._audio_total <= 1000
    m.clear()
    assert len(m) == 0 and m.items() == []


def test_snapshots_are_copies():
    m = ConversationMirror()
    feed(m, added("u1", None, text="hi"))
    snap = m.get("u1")
    snap.text = "changed"
    assert m.get("u1").text == "hi"
