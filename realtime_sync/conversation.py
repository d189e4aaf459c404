"""A local mirror of the server's conversation: items in conversation order, keyed by id.

:class:`ConversationMirror` is a session observer. It orders items by the server's ``previous_item_id`` links (not
by arrival), fills user transcripts in whenever they arrive (before the item itself, or after the reply to it),
accumulates assistant text and audio transcripts, applies deletions and truncations, and stays bounded: at most
``max_items`` items (oldest dropped) and no audio unless ``keep_audio=True`` (then at most ``max_audio_bytes``)::

    mirror = ConversationMirror()
    session.add_observer(mirror)
    ...
    for item in mirror.items():
        print(item.role, item.content_text)
"""
import base64
import collections
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .protocol.audio_formats import bytes_for_ms
from .protocol.kinds import UpdateKind
from .protocol.models import ConversationItem
from .protocol.updates import ConversationUpdate

__all__ = ["MirrorItem", "ConversationMirror"]

log = logging.getLogger("realtime_sync.conversation")


@dataclass
class MirrorItem:
    """One conversation item as the mirror knows it (a snapshot when returned by the mirror)."""

    id: str
    type: Optional[str] = None  #: message / function_call / function_call_output / mcp_*...
    role: Optional[str] = None
    status: Optional[str] = None
    previous_item_id: Optional[str] = None
    response_id: Optional[str] = None
    phase: Optional[str] = None
    call_id: Optional[str] = None
    name: Optional[str] = None
    arguments: Optional[str] = None
    output: Optional[str] = None
    text: str = ""  #: text content (user input_text, assistant output_text)
    transcript: Optional[str] = None  #: assistant audio transcript, or the user's input-audio transcript
    transcription_status: Optional[str] = None  #: user audio: in_progress / completed / failed
    transcription_error: Optional[str] = None
    has_audio: bool = False
    audio_bytes_received: int = 0  #: assistant output audio received (counted even when not kept)
    audio: Optional[bytes] = None  #: kept only with ``keep_audio=True``
    truncated: bool = False
    audio_end_ms: Optional[int] = None  #: where the audio was truncated
    updated_at: float = 0.0

    @property
    def content_text(self) -> str:
        """What was said or written: the text, else the transcript, else a function call/output."""
        if self.type == "function_call":
            return f"{self.name}({self.arguments or ''})"
        if self.type == "function_call_output":
            return self.output or ""
        return self.text or self.transcript or ""


def _parts_text(item: ConversationItem) -> Dict[str, Any]:
    texts, transcripts, has_audio, audio = [], [], False, []
    for part in item.content or ():
        if part.text:
            texts.append(part.text)
        if part.transcript:
            transcripts.append(part.transcript)
        if part.type in ("input_audio", "audio", "output_audio"):
            has_audio = True
            if part.audio:
                audio.append(part.audio)
    return {"text": "".join(texts), "transcript": "".join(transcripts) if transcripts else None,
            "has_audio": has_audio, "audio_b64": audio}


def _b64_decoded_len(text: str) -> int:
    """The number of bytes a base64 string decodes to (without decoding it)."""
    n = len(text)
    return n * 3 // 4 - (2 if text.endswith("==") else 1 if text.endswith("=") else 0)


class ConversationMirror:
    """The conversation as a thread-safe, bounded, ordered list of :class:`MirrorItem` (a session observer).

    ``handle_update`` runs on the session's reader thread and only updates dicts; every accessor returns copies.
    A truncation keeps the kept audio up to ``audio_end_ms`` in the session's output format (from
    ``session.created``/``session.updated``; PCM16 until known); ``bytes_per_ms`` overrides that rate.
    """

    def __init__(self, max_items: int = 500, keep_audio: bool = False, max_audio_bytes: int = 16 * 1024 * 1024,
                 bytes_per_ms: Optional[int] = None, max_pending: int = 64) -> None:
        self.max_items = max(1, max_items)
        self.keep_audio = keep_audio
        self.max_audio_bytes = max_audio_bytes
        self.bytes_per_ms = bytes_per_ms
        self._output_format: Optional[str] = None  # the session's output audio format, once known
        self._max_pending = max(1, max_pending)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._items: Dict[str, MirrorItem] = {}
        self._order: List[str] = []
        self._pending: "collections.OrderedDict[str, MirrorItem]" = collections.OrderedDict()  # seen before added
        #: ids of the last responses that write to the conversation (``response.created`` with a conversation_id)
        self._in_band: "collections.deque[str]" = collections.deque(maxlen=64)
        self._audio: Dict[str, bytearray] = {}
        self._audio_total = 0
        self.dropped_items = 0  #: items dropped to stay within ``max_items``

    # -- observer -----------------------------------------------------------------------------------------------
    inline_safe = True  #: handle_update never blocks nor calls app code (see observers.runs_inline)

    def handle_update(self, update: ConversationUpdate) -> None:
        handler = self._HANDLERS.get(update.kind)
        if handler is None:  # most updates (rate limits, session, speech events...) touch nothing here
            return
        with self._lock:
            handler(self, update)
            self._changed.notify_all()

    def _on_item_added(self, update: Any) -> None:
        self._upsert(update.item, update.previous_item_id, authoritative_link=True)

    def _on_item_done(self, update: Any) -> None:
        self._upsert(update.item, update.previous_item_id, authoritative_link=False)

    def _on_item_retrieved(self, update: Any) -> None:
        known = self._items.get(update.item.id) if update.item is not None and update.item.id else None
        if known is not None:  # never re-adds an item dropped for the bounds
            self._apply_fields(known, update.item)

    def _on_response_created(self, update: Any) -> None:
        response = update.response
        if response is not None and response.id and response.conversation_id:
            self._in_band.append(response.id)

    def _on_output_item(self, update: Any) -> None:
        item = update.item
        known = self._items.get(item.id) if item is not None and item.id else None
        if known is None and item is not None and item.id and item.type == "function_call" \
                and update.response_id in self._in_band:
            # a call announced only through response.output_item.*: an in-conversation response's output is part
            # of the conversation (its function_call_output will point at it); out-of-band responses are not
            self._upsert(item, self._order[-1] if self._order else None, authoritative_link=False)
            known = self._items.get(item.id)
        if known is not None:
            known.response_id = update.response_id or known.response_id
            self._apply_fields(known, item)

    def _on_text_delta(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is not None:
            known.text += update.delta or ""
            known.response_id = known.response_id or update.response_id

    def _on_text_done(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is not None and update.text is not None:
            known.text = update.text

    def _on_transcript_delta(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is not None:
            known.transcript = (known.transcript or "") + (update.delta or "")
            known.response_id = known.response_id or update.response_id

    def _on_transcript_done(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is not None and update.transcript is not None:
            known.transcript = update.transcript

    def _on_audio_delta(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is None:
            return
        if self.keep_audio:
            self._add_audio(known, update.audio)
        else:  # count without decoding: the base64 length gives the byte count
            known.has_audio = True
            known.audio_bytes_received += _b64_decoded_len(update.delta or "")

    def _on_transcription_delta(self, update: Any) -> None:
        target = self._transcription_target(update.item_id)
        if target is not None and target.transcription_status != "completed":
            target.transcript = (target.transcript or "") + (update.delta or "")
            target.transcription_status = "in_progress"

    def _on_transcription_completed(self, update: Any) -> None:
        target = self._transcription_target(update.item_id)
        if target is not None:
            target.transcript = update.transcript or ""
            target.transcription_status = "completed"

    def _on_transcription_failed(self, update: Any) -> None:
        target = self._transcription_target(update.item_id)
        if target is not None:
            target.transcription_status = "failed"
            target.transcription_error = update.error.message if update.error else None

    def _on_truncated(self, update: Any) -> None:
        known = self._items.get(update.item_id or "")
        if known is not None:
            self._truncate(known, update.audio_end_ms)

    def _on_deleted(self, update: Any) -> None:
        self._remove(update.item_id or "")

    def _on_session(self, update: Any) -> None:
        if update.session is not None and update.session.output_audio_format:
            self._output_format = update.session.output_audio_format

    _HANDLERS = {
        UpdateKind.ITEM_ADDED: _on_item_added, UpdateKind.ITEM_CREATED: _on_item_added,
        UpdateKind.ITEM_DONE: _on_item_done, UpdateKind.ITEM_RETRIEVED: _on_item_retrieved,
        UpdateKind.OUTPUT_ITEM_ADDED: _on_output_item, UpdateKind.OUTPUT_ITEM_DONE: _on_output_item,
        UpdateKind.OUTPUT_TEXT_DELTA: _on_text_delta, UpdateKind.OUTPUT_TEXT_DONE: _on_text_done,
        UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DELTA: _on_transcript_delta,
        UpdateKind.OUTPUT_AUDIO_TRANSCRIPT_DONE: _on_transcript_done,
        UpdateKind.OUTPUT_AUDIO_DELTA: _on_audio_delta,
        UpdateKind.INPUT_TRANSCRIPTION_DELTA: _on_transcription_delta,
        UpdateKind.INPUT_TRANSCRIPTION_COMPLETED: _on_transcription_completed,
        UpdateKind.INPUT_TRANSCRIPTION_FAILED: _on_transcription_failed,
        UpdateKind.ITEM_TRUNCATED: _on_truncated, UpdateKind.ITEM_DELETED: _on_deleted,
        UpdateKind.SESSION_CREATED: _on_session, UpdateKind.SESSION_UPDATED: _on_session,
        UpdateKind.RESPONSE_CREATED: _on_response_created,
    }

    # -- internals (lock held) ----------------------------------------------------------------------------------
    def _apply_fields(self, target: MirrorItem, item: ConversationItem) -> None:
        for key in ("type", "role", "status", "call_id", "name", "arguments", "output", "phase"):
            value = getattr(item, key, None)
            if value is not None:
                setattr(target, key, value)
        parts = _parts_text(item)
        if parts["text"]:
            target.text = parts["text"]
        if parts["transcript"] and target.transcription_status != "completed":
            target.transcript = parts["transcript"]
        target.has_audio = target.has_audio or parts["has_audio"]
        if self.keep_audio and parts["audio_b64"] and target.id not in self._audio:
            try:
                self._add_audio(target, b"".join(base64.b64decode(a) for a in parts["audio_b64"]), count=False)
            except ValueError:
                log.debug("conversation: undecodable audio in item content ignored")
        target.updated_at = time.monotonic()

    def _upsert(self, item: Optional[ConversationItem], previous_item_id: Optional[str],
                authoritative_link: bool) -> None:
        if item is None or not item.id:
            return
        known = self._items.get(item.id)
        if known is None:
            known = self._pending.pop(item.id, None) or MirrorItem(id=item.id)
            self._apply_fields(known, item)
            self._insert(known, previous_item_id, at_start_if_none=authoritative_link)
            return
        self._apply_fields(known, item)
        if previous_item_id and previous_item_id != known.previous_item_id and previous_item_id in self._items:
            self._order.remove(known.id)  # the server moved it (a late, more precise link)
            self._insert(known, previous_item_id, at_start_if_none=False)

    def _insert(self, item: MirrorItem, previous_item_id: Optional[str], at_start_if_none: bool) -> None:
        item.previous_item_id = previous_item_id or item.previous_item_id
        if previous_item_id and previous_item_id in self._items:
            pos = self._order.index(previous_item_id) + 1
        elif previous_item_id is None and at_start_if_none:
            pos = 0  # null link in added/created = first item of the conversation
        else:
            pos = len(self._order)  # unknown link (dropped, or seen before we attached): keep arrival order
        self._order.insert(pos, item.id)
        self._items[item.id] = item
        while len(self._order) > self.max_items:
            self._remove(self._order[0])
            self.dropped_items += 1

    def _transcription_target(self, item_id: Optional[str]) -> Optional[MirrorItem]:
        if not item_id:
            return None
        known = self._items.get(item_id)
        if known is not None:
            return known
        pending = self._pending.get(item_id)
        if pending is None:  # the transcript streams before the item is added: park it
            pending = MirrorItem(id=item_id, type="message", role="user")
            self._pending[item_id] = pending
            while len(self._pending) > self._max_pending:
                self._pending.popitem(last=False)
        return pending

    def _add_audio(self, item: MirrorItem, chunk: bytes, count: bool = True) -> None:
        item.has_audio = True
        if count:
            item.audio_bytes_received += len(chunk)
        if not self.keep_audio or not chunk:
            return
        buf = self._audio.setdefault(item.id, bytearray())
        buf += chunk
        self._audio_total += len(chunk)
        while self._audio_total > self.max_audio_bytes and self._audio:
            oldest = next((i for i in self._order if i in self._audio), None) or next(iter(self._audio))
            self._audio_total -= len(self._audio.pop(oldest))
            log.debug("conversation: audio cap reached, dropped the audio of one item")

    def _truncate(self, item: MirrorItem, audio_end_ms: Optional[int]) -> None:
        item.truncated = True
        item.audio_end_ms = audio_end_ms
        buf = self._audio.get(item.id)
        if buf is not None and audio_end_ms is not None:
            end_ms = max(0, audio_end_ms)
            keep = end_ms * self.bytes_per_ms if self.bytes_per_ms else bytes_for_ms(self._output_format, end_ms)
            if keep < len(buf):
                self._audio_total -= len(buf) - keep
                del buf[keep:]

    def _remove(self, item_id: str) -> None:
        if self._items.pop(item_id, None) is None:
            self._pending.pop(item_id, None)
            return
        self._order.remove(item_id)
        buf = self._audio.pop(item_id, None)
        if buf is not None:
            self._audio_total -= len(buf)

    def _snapshot(self, item: MirrorItem) -> MirrorItem:
        buf = self._audio.get(item.id)
        return dataclasses.replace(item, audio=bytes(buf) if buf is not None else None)

    # -- reading ------------------------------------------------------------------------------------------------
    def items(self) -> List[MirrorItem]:
        """A snapshot of every item, in conversation order."""
        with self._lock:
            return [self._snapshot(self._items[i]) for i in self._order]

    def get(self, item_id: str) -> Optional[MirrorItem]:
        with self._lock:
            item = self._items.get(item_id)
            return self._snapshot(item) if item is not None else None

    def ids(self) -> List[str]:
        with self._lock:
            return list(self._order)

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        with self._lock:
            return item_id in self._items

    def last(self, role: Optional[str] = None, type: Optional[str] = None) -> Optional[MirrorItem]:
        """The last item (of a role and/or type) in conversation order."""
        with self._lock:
            for item_id in reversed(self._order):
                item = self._items[item_id]
                if (role is None or item.role == role) and (type is None or item.type == type):
                    return self._snapshot(item)
        return None

    def wait_for_transcript(self, item_id: str, timeout: float) -> Optional[str]:
        """Block until the user item's input transcription completes (or fails: returns None); ``None`` on
        timeout. Never blocks longer than ``timeout`` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while True:
                item = self._items.get(item_id) or self._pending.get(item_id)
                if item is not None and item.transcription_status == "completed":
                    return item.transcript
                if item is not None and item.transcription_status == "failed":
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def as_text(self, max_chars: Optional[int] = None) -> str:
        """The conversation as ``role: text`` lines (function calls included), e.g. to re-seed a new session;
        ``max_chars`` keeps the most recent lines that fit."""
        lines = []
        for item in self.items():
            who = item.role or item.type or "item"
            text = item.content_text
            if text:
                lines.append(f"{who}: {text}")
        if max_chars is not None:
            out: List[str] = []
            used = 0
            for line in reversed(lines):
                used += len(line) + 1
                if used > max_chars:
                    break
                out.append(line)
            lines = list(reversed(out))
        return "\n".join(lines)

    def clear(self) -> None:
        """Forget everything (e.g. after a reconnect to a new conversation)."""
        with self._lock:
            self._items.clear()
            self._order.clear()
            self._pending.clear()
            self._in_band.clear()
            self._audio.clear()
            self._audio_total = 0
            self._changed.notify_all()
