"""What the client knows of its session: every ``session.created`` / ``session.updated`` merged into the last.

A ``session.updated`` need not repeat ``id``, ``model`` or ``expires_at``; replacing the known session with it would
forget them. :class:`SessionInfoTracker` (an observer every session has) keeps the merge
(:meth:`~realtime_sync.protocol.SessionInfo.merged_over`).
"""
import threading
from typing import Optional

from .protocol import ConversationUpdate, SessionCreatedUpdate, SessionInfo, SessionUpdatedUpdate

__all__ = ["SessionInfoTracker"]


class SessionInfoTracker:
    """Observer: :attr:`info` is the session as every report so far describes it, later reports winning."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._info: Optional[SessionInfo] = None

    @property
    def info(self) -> Optional[SessionInfo]:
        return self._info

    inline_safe = True  #: bookkeeping only (see observers.runs_inline)

    def handle_update(self, update: ConversationUpdate) -> None:
        if type(update) is SessionCreatedUpdate:  # a new session (also after a reconnect): start over
            with self._lock:
                self._info = update.session
        elif type(update) is SessionUpdatedUpdate and isinstance(update.session, SessionInfo):
            with self._lock:
                self._info = update.session.merged_over(self._info)
