"""Updates the client adds to the stream itself (kinds in :data:`~realtime_sync.protocol.kinds.CLIENT_SIDE_KINDS`):
never sent by the server, never decoded from a message, so :func:`~realtime_sync.protocol.parse_update` does not
know them."""
from dataclasses import dataclass
from typing import ClassVar, Optional

from .kinds import UpdateKind
from .updates import ConversationUpdate

__all__ = ["UpdatesDroppedUpdate", "ReconnectedUpdate"]


@dataclass(eq=False, repr=False)
class UpdatesDroppedUpdate(ConversationUpdate):
    """``count`` updates were dropped from ``receive_updates()``'s queue at this point because the consumer did not
    keep up (the queue is bounded: ``queue_limit``, policy ``"drop_oldest"``). Observers and waiters saw them."""

    kind: ClassVar[UpdateKind] = UpdateKind.UPDATES_DROPPED
    count: int = 0

    def __post_init__(self) -> None:
        self.raw = {"type": self.kind.value, "count": self.count}

    def add(self, n: int = 1) -> None:
        self.count += n
        self.raw["count"] = self.count

    def __repr__(self) -> str:
        return f"<UpdatesDroppedUpdate count={self.count}>"


@dataclass(eq=False, repr=False)
class ReconnectedUpdate(ConversationUpdate):
    """The connection dropped and the session is back on a new one, restored (``receive_updates()`` did not end).

    ``why``: ``"connection lost"``, ``"dead peer"``, ``"close 1011"``, ``"session_expired"``...; ``attempt``: which
    attempt succeeded; ``old_session_id``/``new_session_id``: the server sessions before and after (``session.id``
    now names the new one); ``downtime``: seconds from the drop to the restored session; ``items_restored``: the
    conversation items replayed; ``commands_resent``: sends made meanwhile (or queued unsent at the drop) that went
    out after the restore; ``audio_dropped_bytes``: live audio not sent while disconnected."""

    kind: ClassVar[UpdateKind] = UpdateKind.RECONNECTED
    why: str = ""
    attempt: int = 0
    old_session_id: Optional[str] = None
    new_session_id: Optional[str] = None
    downtime: float = 0.0
    items_restored: int = 0
    commands_resent: int = 0
    audio_dropped_bytes: int = 0

    def __post_init__(self) -> None:
        self.raw = {"type": self.kind.value, "why": self.why, "attempt": self.attempt,
                    "old_session_id": self.old_session_id, "new_session_id": self.new_session_id,
                    "downtime": self.downtime, "items_restored": self.items_restored,
                    "commands_resent": self.commands_resent, "audio_dropped_bytes": self.audio_dropped_bytes}

    def __repr__(self) -> str:
        return (f"<ReconnectedUpdate why={self.why!r} attempt={self.attempt} {self.old_session_id} -> "
                f"{self.new_session_id} downtime={self.downtime:.2f}s items={self.items_restored}>")
