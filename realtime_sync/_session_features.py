"""What :class:`~realtime_sync.session.RealtimeSession` gains from the feature modules: a tool registry answered
automatically, blocking turns, a conversation mirror and usage totals.

Mixed into the session class; every method here delegates to :mod:`realtime_sync.tools`, :mod:`~realtime_sync.turns`,
:mod:`~realtime_sync.conversation`, :mod:`~realtime_sync.usage` or :mod:`~realtime_sync.transcription`.
"""
from typing import Any, Callable, Optional

from .conversation import ConversationMirror
from .protocol.options import FunctionTool, SessionOptions
from .protocol.transcription import TranscriptionOptions
from .tools import ToolDispatcher, ToolRegistry
from .transcription import TranscriptionResult, configure_transcription, transcribe_file
from .turns import PushToTalk, TurnResult, ask, push_to_talk
from .usage import UsageTracker

__all__ = ["SessionFeatures"]


class SessionFeatures:
    """Mixin: ``tools``, ``tool_dispatcher``, ``conversation``, ``usage`` and the blocking helpers."""

    tools: ToolRegistry  #: functions the model may call; answered by :attr:`tool_dispatcher`
    tool_dispatcher: ToolDispatcher  #: runs registered functions on a worker pool, sends outputs, continues turns
    conversation: ConversationMirror  #: the conversation as the server has it (ordered, bounded, no audio)
    usage: UsageTracker  #: token usage per response and per session

    def _init_features(self, *, tool_workers: int = 4, tool_timeout: float = 30.0, max_items: int = 500) -> None:
        self.tools = ToolRegistry()
        self.tool_dispatcher = ToolDispatcher(self, self.tools, max_workers=tool_workers, timeout=tool_timeout)
        self.conversation = ConversationMirror(max_items=max_items)
        self.usage = UsageTracker()
        for observer in (self.tool_dispatcher, self.conversation, self.usage):
            self.add_observer(observer)  # type: ignore[attr-defined]

    def _note_session_options(self, options: Any) -> None:
        """Keep the registry in step with the tools a ``session.update`` sets (functions of FunctionTools kept)."""
        tools = options.tools if isinstance(options, SessionOptions) else \
            options.get("tools") if isinstance(options, dict) else None
        if tools is not None:
            self.tools.sync(tools)

    def register_tool(self, fn: Any = None, *, name: Optional[str] = None, description: Optional[str] = None,
                      timeout: Optional[float] = None, update_session: bool = True) -> Any:
        """Register a function (or a :class:`FunctionTool`) as a tool answered automatically, and (by default)
        send the session's new tool list, waiting for ``session.updated``. Usable as a decorator."""
        if fn is None:
            def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
                self.register_tool(func, name=name, description=description, timeout=timeout,
                                   update_session=update_session)
                return func
            return decorate
        tool: FunctionTool = self.tools.register(fn, name=name, description=description, timeout=timeout)
        if update_session:
            self.configure_session(SessionOptions(tools=self.tools.definitions()))  # type: ignore[attr-defined]
        return tool

    def unregister_tool(self, name: str, update_session: bool = True) -> bool:
        removed = self.tools.unregister(name)
        if removed and update_session:
            self.configure_session(SessionOptions(tools=self.tools.definitions()))  # type: ignore[attr-defined]
        return removed

    def ask(self, prompt: Any, timeout: float = 60.0, **kwargs: Any) -> TurnResult:
        """One whole turn (text or audio in, the reply out): see :func:`realtime_sync.turns.ask`."""
        return ask(self, prompt, timeout, **kwargs)

    def push_to_talk(self, **kwargs: Any) -> PushToTalk:
        """A talk-button context manager (turn detection off): see :func:`realtime_sync.turns.push_to_talk`."""
        return push_to_talk(self, **kwargs)

    def configure_transcription(self, options: TranscriptionOptions, timeout: float = 30.0, **kwargs: Any) -> Any:
        """Make this a transcription session: see :func:`realtime_sync.transcription.configure_transcription`."""
        return configure_transcription(self, options, timeout, **kwargs)

    def transcribe(self, source: Any, timeout: float = 120.0, **kwargs: Any) -> TranscriptionResult:
        """Transcribe a file or bytes: see :func:`realtime_sync.transcription.transcribe_file`."""
        return transcribe_file(self, source, timeout, **kwargs)
