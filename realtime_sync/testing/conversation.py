"""The conversation of a session: ordered items (protocol :class:`ConversationItem` dataclasses) with their audio.

Items are stored as the protocol layer's dataclasses so a responder sees the same objects a client builds; the
audio of user input items and assistant answers is kept beside them (for ``conversation.item.retrieve`` and
``conversation.item.truncate``).
"""
import base64
import copy
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..protocol import ConversationItem, Dialect
from ..protocol.audio_formats import PCM16, bytes_for_ms
from .checks import EventError

__all__ = ["StoredItem", "Conversation", "item_wire", "MAX_STORED_AUDIO"]

#: Audio kept per item (bytes); longer audio is still counted in ms but not stored.
MAX_STORED_AUDIO = 16 * 1024 * 1024


@dataclass
class StoredItem:
    item: ConversationItem
    audio: bytearray = field(default_factory=bytearray)  #: wire bytes of the item's audio content
    audio_format: str = PCM16
    audio_ms: int = 0

    def add_audio(self, data: bytes, ms: float) -> None:
        if len(self.audio) + len(data) <= MAX_STORED_AUDIO:
            self.audio += data
        self.audio_ms = int(round(self.audio_ms + ms))


def item_wire(item: ConversationItem, dialect: Dialect, audio: Optional[bytes] = None) -> Dict:
    """An item as the service shows it in a dialect: GA ``output_text/output_audio`` or beta ``text/audio``
    content, beta ``object``, no base64 audio unless ``audio`` is given (``conversation.item.retrieved``)."""
    out = item.to_wire(dialect)  # an assistant message's ``phase`` included (2.x models, ADDENDUM A2.3)
    if dialect is Dialect.BETA:
        out = {"id": out.pop("id", None), "object": "realtime.item", **out}
        if out.get("status") is None:
            out["status"] = "completed"
    parts = out.get("content")
    if isinstance(parts, list):
        for part in parts:
            part.pop("audio", None)
            if part.get("type") in ("input_audio", "output_audio", "audio"):
                if part.get("transcript") is None:
                    if part["type"] == "input_audio":  # the service sends ``"transcript": null`` until it knows
                        part["transcript"] = None
                    else:
                        part.pop("transcript", None)
                if audio is not None:
                    part["audio"] = base64.b64encode(audio).decode("ascii")
    return {k: v for k, v in out.items() if v is not None}


class Conversation:
    """Ordered items with O(1) lookup by id."""

    def __init__(self) -> None:
        self._items: List[StoredItem] = []
        self._by_id: Dict[str, StoredItem] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    @property
    def last_id(self) -> Optional[str]:
        return self._items[-1].item.id if self._items else None

    def get(self, item_id: Optional[str]) -> Optional[StoredItem]:
        return self._by_id.get(item_id) if item_id else None

    def add(self, stored: StoredItem, previous_item_id: Optional[str] = None) -> Optional[str]:
        """Insert after ``previous_item_id`` (``"root"``: first; None: last). Returns the actual previous id."""
        if previous_item_id is None:
            prev = self.last_id
            self._items.append(stored)
        elif previous_item_id == "root":
            prev = None
            self._items.insert(0, stored)
        else:
            anchor = self._by_id.get(previous_item_id)
            if anchor is None:
                raise EventError("invalid_value", f"Error adding item: the previous item with id "
                                 f"'{previous_item_id}' does not exist.", "previous_item_id")
            self._items.insert(self._items.index(anchor) + 1, stored)
            prev = previous_item_id
        self._by_id[stored.item.id] = stored  # type: ignore[index]
        return prev

    def previous_of(self, item_id: str) -> Optional[str]:
        stored = self._by_id.get(item_id)
        if stored is None:
            return None
        idx = self._items.index(stored)
        return self._items[idx - 1].item.id if idx > 0 else None

    def delete(self, item_id: str) -> None:
        stored = self._by_id.pop(item_id, None)
        if stored is None:
            raise EventError("item_delete_invalid_item_id",
                             f"Error deleting item: the item with id '{item_id}' does not exist.", "item_id")
        self._items.remove(stored)

    def retrieve(self, item_id: str) -> StoredItem:
        stored = self._by_id.get(item_id)
        if stored is None:
            raise EventError("item_retrieve_invalid_item_id",
                             f"Error retrieving item: the item with id '{item_id}' does not exist.", "item_id")
        return stored

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> StoredItem:
        stored = self._by_id.get(item_id)
        if stored is None:
            raise EventError("item_truncate_invalid_item_id",
                             f"Error truncating item: the item with id '{item_id}' does not exist.", "item_id")
        item = stored.item
        parts = item.content or []
        if item.type != "message" or item.role != "assistant":
            raise EventError("invalid_value", "Only assistant messages can be truncated.", "item_id")
        if content_index >= len(parts) or parts[content_index].type not in ("output_audio", "audio"):
            raise EventError("invalid_value", f"Content part {content_index} of item '{item_id}' is not audio.",
                             "content_index")
        if audio_end_ms > stored.audio_ms:
            raise EventError("invalid_value", f"Audio content of {stored.audio_ms}ms is already shorter than "
                             f"{audio_end_ms}ms", "audio_end_ms")
        keep = bytes_for_ms(stored.audio_format, audio_end_ms)
        del stored.audio[keep:]
        stored.audio_ms = audio_end_ms
        parts[content_index].transcript = ""  # the service drops the transcript of unheard audio
        return stored

    def items(self) -> List[ConversationItem]:
        """Deep copies of the items, in order (what a responder sees)."""
        return [copy.deepcopy(s.item) for s in self._items]

    def stored(self) -> List[StoredItem]:
        return list(self._items)
