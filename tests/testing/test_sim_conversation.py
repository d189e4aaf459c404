"""Conversation items: create / delete / retrieve / truncate, their replies and errors, in both dialects."""
import base64

import pytest

from realtime_sync.protocol import ItemAddedUpdate, parse_update
from realtime_sync.testing import scripted
from tests.testing.sim_client import open_client, user_text


def test_item_create_added_then_done_with_previous_ids(fake_server):
    with open_client(fake_server) as c:
        c.send(user_text("first"))
        first = c.expect("conversation.item.added")
        assert first["previous_item_id"] is None and first["item"]["status"] == "completed"
        assert c.expect("conversation.item.done")["item"] == first["item"]
        assert isinstance(parse_update(first), ItemAddedUpdate)
        c.send(user_text("second"))
        second = c.expect("conversation.item.added")
        assert second["previous_item_id"] == first["item"]["id"]
        c.expect("conversation.item.done")
        c.send(dict(user_text("zeroth"), previous_item_id="root"))
        zeroth = c.expect("conversation.item.added")
        assert zeroth["previous_item_id"] is None
        c.expect("conversation.item.done")
        c.send(dict(user_text("x"), previous_item_id="item_missing", event_id="e9"))
        err = c.expect("error")["error"]
        assert (err["param"], err["event_id"]) == ("previous_item_id", "e9")
    texts = [i.text for i in fake_server.connections[0].items]
    assert texts == ["zeroth", "first", "second"]


def test_beta_item_created(fake_server):
    with open_client(fake_server, model="gpt-4o-realtime-preview", beta=True) as c:
        c.send(user_text("hi"))
        ev = c.expect("conversation.item.created")
        assert ev["item"]["object"] == "realtime.item" and ev["previous_item_id"] is None


def test_delete_and_retrieve(fake_server):
    with open_client(fake_server) as c:
        c.send(user_text("keep me"))
        item_id = c.expect("conversation.item.added")["item"]["id"]
        c.expect("conversation.item.done")
        c.send({"type": "conversation.item.retrieve", "item_id": item_id})
        assert c.expect("conversation.item.retrieved")["item"]["content"][0]["text"] == "keep me"
        c.send({"type": "conversation.item.delete", "item_id": item_id})
        assert c.expect("conversation.item.deleted")["item_id"] == item_id
        for kind, code in (("delete", "item_delete_invalid_item_id"), ("retrieve", "item_retrieve_invalid_item_id")):
            c.send({"type": f"conversation.item.{kind}", "item_id": item_id, "event_id": f"e-{kind}"})
            err = c.expect("error")["error"]
            assert (err["code"], err["param"], err["event_id"]) == (code, "item_id", f"e-{kind}")
            assert item_id in err["message"]


def test_truncate_assistant_audio(make_fake_server):
    server = make_fake_server(responder=scripted("Hello there, this is some audio."))
    with open_client(server) as c:
        c.send(user_text("talk"))
        c.send({"type": "response.create"})
        events = c.recv_until("response.done")
        item_id = next(e for e in events if e["type"] == "response.output_item.added")["item"]["id"]
        audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
        total_ms = len(audio) // 48
        c.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                "audio_end_ms": total_ms + 1000, "event_id": "t1"})
        err = c.recv_until("error")[-1]["error"]
        assert (err["code"], err["param"], err["event_id"]) == ("invalid_value", "audio_end_ms", "t1")
        assert f"{total_ms}ms" in err["message"]
        c.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 500})
        assert c.expect("conversation.item.truncated") == {**c.events[-1], "item_id": item_id, "content_index": 0,
                                                           "audio_end_ms": 500}
        c.send({"type": "conversation.item.retrieve", "item_id": item_id})
        part = c.expect("conversation.item.retrieved")["item"]["content"][0]
        assert part["type"] == "output_audio" and len(base64.b64decode(part["audio"])) == 500 * 48
        c.send({"type": "conversation.item.truncate", "item_id": "item_nope", "content_index": 0, "audio_end_ms": 0})
        assert c.expect("error")["error"]["code"] == "item_truncate_invalid_item_id"


def test_truncating_a_user_item_is_refused(fake_server):
    with open_client(fake_server) as c:
        c.send(user_text("hi"))
        item_id = c.expect("conversation.item.added")["item"]["id"]
        c.expect("conversation.item.done")
        c.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 0})
        assert c.expect("error")["error"]["param"] == "item_id"


@pytest.mark.parametrize("item, param", [
    ({"type": "message", "role": "assistant", "content": [{"type": "output_audio", "audio": "AAAA"}]},
     "item.content[0].type"),
])
def test_assistant_audio_cannot_be_injected(fake_server, item, param):
    with open_client(fake_server) as c:
        c.send({"type": "conversation.item.create", "item": item})
        assert c.expect("error")["error"]["param"] == param


def test_history_seeding_with_assistant_text_and_duplicate_ids(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "conversation.item.create", "item": {"id": "item_mine", "type": "message", "role": "assistant",
                                                             "content": [{"type": "output_text", "text": "Hi!"}]}})
        assert c.expect("conversation.item.added")["item"]["content"] == [{"type": "output_text", "text": "Hi!"}]
        c.expect("conversation.item.done")
        c.send({"type": "conversation.item.create", "item": {"id": "item_mine", "type": "message", "role": "user",
                                                             "content": [{"type": "input_text", "text": "x"}]}})
        assert c.expect("error")["error"]["param"] == "item.id"


def test_user_audio_item_is_transcribed_when_enabled(fake_server):
    with open_client(fake_server) as c:
        c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "transcription": {"model": "whisper-1"}}}}})
        c.expect("session.updated")
        audio = base64.b64encode(b"\x00\x00" * 24000).decode()
        c.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
            {"type": "input_audio", "audio": audio}]}})
        added = c.expect("conversation.item.added")["item"]
        assert "audio" not in added["content"][0]  # the echo carries no base64
        c.expect("conversation.item.done")
        delta = c.expect("conversation.item.input_audio_transcription.delta")
        done = c.expect("conversation.item.input_audio_transcription.completed")
        assert delta["delta"] == done["transcript"] == "(audio 1000 ms)"  # whisper-1: one delta
        assert done["usage"] == {"type": "duration", "seconds": 1}
