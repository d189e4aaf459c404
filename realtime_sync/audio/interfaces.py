"""The interfaces of audio sources and sinks.

A source is anything ``session.send_audio`` can iterate: :class:`ChunkSource` gives iteration over a blocking
``read()`` (Microphone, FileMicrophone). A sink is anything :class:`~realtime_sync.playback.AudioPlayer` can play
into (:class:`AudioSink`: Speaker, the file sinks, NullSink).
"""
from typing import Iterator, Optional, Protocol

__all__ = ["ChunkSource", "AudioSink"]


class ChunkSource:
    """Iteration over ``read()``: chunks until ``read`` returns ``b""`` (closed / ended). Audio sources subclass it
    so ``session.send_audio(source)`` can consume them like any iterable."""

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = self.read()
        if not chunk:
            raise StopIteration
        return chunk


class AudioSink(Protocol):
    """What a player writes the model's audio to (wire-format bytes), with a played-frames clock."""

    def write(self, data: bytes) -> None: ...

    def flush(self) -> None: ...

    def drain(self, timeout: Optional[float] = None) -> bool: ...

    def close(self) -> None: ...

    def reset_clock(self) -> None: ...

    @property
    def played_ms(self) -> float: ...

    @property
    def received_ms(self) -> float: ...

    @property
    def is_playing(self) -> bool: ...
