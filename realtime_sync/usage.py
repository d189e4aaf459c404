"""Token usage per response and per session, by modality, from ``response.done`` (and transcription usage).

``cached_tokens`` is a *subset* of the input tokens: :class:`UsageTotals` keeps the cached counts beside the input
counts and never adds them to ``input_tokens``; :attr:`UsageTotals.uncached_input_text_tokens` and friends give the
part billed at the full rate. Use :class:`UsageTracker` as a session observer::

    tracker = UsageTracker(on_usage=lambda r: print(r.response_id, r.usage.total_tokens))
    session.add_observer(tracker)
    ...
    print(tracker.total.input_audio_tokens, tracker.total.cached_audio_tokens)
"""
import collections
import dataclasses
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Deque, List, Optional

from .protocol.models import Usage
from .protocol.updates import ConversationUpdate, InputTranscriptionCompletedUpdate, ResponseDoneUpdate

__all__ = ["UsageTotals", "ResponseUsage", "TranscriptionUsage", "Prices", "UsageTracker"]

log = logging.getLogger("realtime_sync.usage")


@dataclass
class Prices:
    """US dollars per million tokens, by modality (cached input is billed at its own, lower rate)."""

    input_text: float = 0.0
    cached_input_text: float = 0.0
    input_audio: float = 0.0
    cached_input_audio: float = 0.0
    input_image: float = 0.0
    cached_input_image: float = 0.0
    output_text: float = 0.0
    output_audio: float = 0.0


@dataclass
class UsageTotals:
    """Token counts by modality. ``cached_*`` are part of the matching ``input_*`` counts, not extra tokens."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_image_tokens: int = 0
    cached_tokens: int = 0
    cached_text_tokens: int = 0
    cached_audio_tokens: int = 0
    cached_image_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    responses: int = 0  #: how many responses these totals cover

    @classmethod
    def from_usage(cls, usage: Optional[Usage]) -> "UsageTotals":
        """Counts from a ``response.done`` ``usage`` object (zeros for missing fields); ``responses`` is 1."""
        out = cls(responses=1)
        if usage is None:
            return out
        out.input_tokens = usage.input_tokens or 0
        out.output_tokens = usage.output_tokens or 0
        out.total_tokens = usage.total_tokens or (out.input_tokens + out.output_tokens)
        inp = usage.input_token_details
        if inp is not None:
            out.input_text_tokens = inp.text_tokens or 0
            out.input_audio_tokens = inp.audio_tokens or 0
            out.input_image_tokens = inp.image_tokens or 0
            out.cached_tokens = inp.cached_tokens or 0
            cached = inp.cached_tokens_details
            if cached is not None:
                out.cached_text_tokens = cached.text_tokens or 0
                out.cached_audio_tokens = cached.audio_tokens or 0
                out.cached_image_tokens = cached.image_tokens or 0
            elif out.cached_tokens:  # no split given: attribute to text, the usual case
                out.cached_text_tokens = out.cached_tokens
        elif out.input_tokens:
            out.input_text_tokens = out.input_tokens
        outp = usage.output_token_details
        if outp is not None:
            out.output_text_tokens = outp.text_tokens or 0
            out.output_audio_tokens = outp.audio_tokens or 0
        elif out.output_tokens:
            out.output_text_tokens = out.output_tokens
        return out

    def add(self, other: "UsageTotals") -> "UsageTotals":
        """Add ``other`` into these totals (in place); returns self."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def __add__(self, other: "UsageTotals") -> "UsageTotals":
        return self.copy().add(other)

    def copy(self) -> "UsageTotals":
        return dataclasses.replace(self)

    @property
    def uncached_input_text_tokens(self) -> int:
        return max(0, self.input_text_tokens - self.cached_text_tokens)

    @property
    def uncached_input_audio_tokens(self) -> int:
        return max(0, self.input_audio_tokens - self.cached_audio_tokens)

    @property
    def uncached_input_image_tokens(self) -> int:
        return max(0, self.input_image_tokens - self.cached_image_tokens)

    def cost(self, prices: Prices) -> float:
        """The price of these tokens in dollars (cached input at the cached rate, never counted twice)."""
        per_token = (
            self.uncached_input_text_tokens * prices.input_text
            + self.cached_text_tokens * prices.cached_input_text
            + self.uncached_input_audio_tokens * prices.input_audio
            + self.cached_audio_tokens * prices.cached_input_audio
            + self.uncached_input_image_tokens * prices.input_image
            + self.cached_image_tokens * prices.cached_input_image
            + self.output_text_tokens * prices.output_text
            + self.output_audio_tokens * prices.output_audio)
        return per_token / 1_000_000

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class ResponseUsage:
    """The usage of one response."""

    response_id: Optional[str]
    status: Optional[str]
    usage: UsageTotals


@dataclass
class TranscriptionUsage:
    """Usage of input-audio transcription (``completed`` events): tokens, or seconds for duration-billed models."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    seconds: float = 0.0
    transcriptions: int = 0

    def add_usage(self, usage: Optional[Usage]) -> None:
        self.transcriptions += 1
        if usage is None:
            return
        if usage.seconds is not None:
            self.seconds += usage.seconds
        self.input_tokens += usage.input_tokens or 0
        self.output_tokens += usage.output_tokens or 0
        self.total_tokens += usage.total_tokens or 0
        if usage.input_token_details is not None:
            self.input_text_tokens += usage.input_token_details.text_tokens or 0
            self.input_audio_tokens += usage.input_token_details.audio_tokens or 0


class UsageTracker:
    """A session observer adding up usage per response and per session.

    ``on_usage(ResponseUsage)`` is called for every ``response.done`` on the session's reader thread: keep it
    fast (it must not block); exceptions it raises are logged and ignored. The per-response history keeps the
    last ``max_responses`` entries; the totals cover every response.
    """

    def __init__(self, on_usage: Optional[Callable[[ResponseUsage], Any]] = None, max_responses: int = 1000) -> None:
        self.on_usage = on_usage
        self._lock = threading.Lock()
        self._total = UsageTotals()
        self._transcription = TranscriptionUsage()
        self._history: Deque[ResponseUsage] = collections.deque(maxlen=max(1, max_responses))

    # -- observer -----------------------------------------------------------------------------------------------
    @property
    def inline_safe(self) -> bool:
        """No app code runs in handle_update unless ``on_usage`` is set (see observers.runs_inline)."""
        return self.on_usage is None

    def handle_update(self, update: ConversationUpdate) -> None:
        if isinstance(update, ResponseDoneUpdate):
            self.record(update)
        elif isinstance(update, InputTranscriptionCompletedUpdate):
            with self._lock:
                self._transcription.add_usage(update.usage)

    def record(self, update: ResponseDoneUpdate) -> ResponseUsage:
        """Account one ``response.done``; returns its :class:`ResponseUsage`."""
        resp = update.response
        entry = ResponseUsage(resp.id if resp else None, resp.status if resp else None,
                              UsageTotals.from_usage(resp.usage if resp else None))
        with self._lock:
            self._total.add(entry.usage)
            self._history.append(entry)
        log.debug("usage: response total=%d in=%d out=%d cached=%d", entry.usage.total_tokens,
                  entry.usage.input_tokens, entry.usage.output_tokens, entry.usage.cached_tokens)
        callback = self.on_usage
        if callback is not None:
            try:
                callback(entry)
            except Exception as exc:  # a user callback must not break the reader thread
                log.warning("on_usage callback raised %s", type(exc).__name__)
        return entry

    # -- reading ------------------------------------------------------------------------------------------------
    @property
    def total(self) -> UsageTotals:
        """A copy of the session totals."""
        with self._lock:
            return self._total.copy()

    @property
    def transcription(self) -> TranscriptionUsage:
        with self._lock:
            return dataclasses.replace(self._transcription)

    @property
    def responses(self) -> List[ResponseUsage]:
        """The per-response history, oldest first (bounded)."""
        with self._lock:
            return list(self._history)

    @property
    def last(self) -> Optional[ResponseUsage]:
        with self._lock:
            return self._history[-1] if self._history else None

    def get(self, response_id: str) -> Optional[ResponseUsage]:
        with self._lock:
            for entry in reversed(self._history):
                if entry.response_id == response_id:
                    return entry
        return None

    def cost(self, prices: Prices) -> float:
        return self.total.cost(prices)

    def reset(self) -> None:
        with self._lock:
            self._total = UsageTotals()
            self._transcription = TranscriptionUsage()
            self._history.clear()
