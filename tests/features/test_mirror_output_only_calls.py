"""Issue 11, client item 9: a function_call announced only through ``response.output_item.added/done`` is kept."""
from realtime_sync.conversation import ConversationMirror
from realtime_sync.protocol import parse_update


def _feed(mirror, *events):
    for i, event in enumerate(events):
        mirror.handle_update(parse_update({"event_id": f"e{i}", **event}))


USER = {"type": "conversation.item.added", "previous_item_id": None, "item": {
    "id": "item_u", "type": "message", "role": "user", "status": "completed",
    "content": [{"type": "input_text", "text": "Weather?"}]}}
CALL = {"id": "item_c", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "get_weather",
        "arguments": "{}"}


def _response(conversation_id):
    return {"type": "response.created", "response": {"object": "realtime.response", "id": "resp_1",
                                                     "status": "in_progress", "output": [],
                                                     "conversation_id": conversation_id}}


def test_output_only_function_call_is_mirrored_and_its_output_links_to_it():
    mirror = ConversationMirror()
    _feed(mirror, USER, _response("conv_1"),
          {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
           "item": {**CALL, "status": "in_progress", "arguments": ""}},
          {"type": "response.output_item.done", "response_id": "resp_1", "output_index": 0, "item": CALL},
          {"type": "conversation.item.added", "previous_item_id": "item_c", "item": {
              "id": "item_o", "type": "function_call_output", "call_id": "call_1", "output": "{}"}})
    assert mirror.ids() == ["item_u", "item_c", "item_o"]
    call = mirror.get("item_c")
    assert (call.name, call.arguments, call.response_id) == ("get_weather", "{}", "resp_1")
    assert mirror.get("item_o").previous_item_id == "item_c"


def test_out_of_band_response_output_stays_out_of_the_mirror():
    mirror = ConversationMirror()
    _feed(mirror, USER, _response(None),
          {"type": "response.output_item.done", "response_id": "resp_1", "output_index": 0, "item": CALL})
    assert mirror.ids() == ["item_u"]


def test_a_call_also_announced_by_conversation_item_added_is_kept_once():
    mirror = ConversationMirror()
    _feed(mirror, USER, _response("conv_1"),
          {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0, "item": CALL},
          {"type": "conversation.item.added", "previous_item_id": "item_u", "item": CALL},
          {"type": "conversation.item.done", "previous_item_id": "item_u", "item": CALL})
    assert mirror.ids() == ["item_u", "item_c"]
