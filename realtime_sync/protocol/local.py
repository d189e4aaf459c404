"""Updates the client adds to the stream itself (kinds in :data:`~realtime_sync.protocol.kinds.CLIENT_SIDE_KINDS`):
never sent by the server, never decoded from a message, so :func:`~realtime_sync.protocol.parse_update` does not
know them."""
from dataclasses import dataclass
from typing import ClassVar

from .kinds import UpdateKind
from .updates import ConversationUpdate

__all__ = ["UpdatesDroppedUpdate"]


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
