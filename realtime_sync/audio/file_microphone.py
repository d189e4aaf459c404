"""FileMicrophone: a file (or bytes) played in real time as if a microphone captured it.

For kiosks without a sound card, demos and tests: same consumer interface as
:class:`~realtime_sync.audio.Microphone` (iteration, ``read(timeout)``, ``close()``, ``gate``).
"""
import os
import threading
import time
from typing import Callable, Optional, Union

from realtime_sync.audio import g711
from realtime_sync.protocol.audio_formats import PCM16, normalize_format, silence, wire_rate, wire_sample_width
from realtime_sync.audio.interfaces import ChunkSource
from realtime_sync.audio.wav import read_wav

__all__ = ["FileMicrophone"]


class FileMicrophone(ChunkSource):
    """A stand-in microphone playing a file in real time: ``chunk_ms`` chunks of wire audio at the pace a device
    would deliver them, then silence until :meth:`close` (``then_silence``, paced only), or the end (iteration
    stops). ``realtime=False`` delivers the file as fast as it is read.

    ``source`` is a WAV path (any rate/channels, converted), a raw wire-format file, or bytes in wire format;
    ``lead_ms`` of silence come first. Same consumer interface as :class:`~realtime_sync.audio.Microphone`
    (iteration, ``read(timeout)``, ``close()``, ``gate``), for kiosks without a sound card, demos and tests.
    """

    def __init__(self, source: Union[bytes, str, "os.PathLike[str]"], *, wire_format: str = PCM16,
                 chunk_ms: int = 20, realtime: bool = True, then_silence: bool = True, lead_ms: int = 0,
                 gate: Optional[Callable[[], bool]] = None) -> None:
        self.wire_format = normalize_format(wire_format)
        width = wire_sample_width(self.wire_format)
        if isinstance(source, (bytes, bytearray, memoryview)):
            audio = bytes(source)
        else:
            path = os.fspath(source)
            with open(path, "rb") as fh:
                head = fh.read(12)
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                pcm = read_wav(path)
                audio = pcm if self.wire_format == PCM16 else g711.WireEncoder(self.wire_format).encode(pcm)
            else:
                with open(path, "rb") as fh:
                    audio = fh.read()
        self.chunk_ms = chunk_ms
        self.chunk_bytes = max(1, int(wire_rate(self.wire_format) * chunk_ms / 1000)) * width
        self._silence = silence(self.wire_format, self.chunk_bytes)
        lead = self._silence * (lead_ms // chunk_ms)
        self._audio = lead + audio
        self.realtime = realtime
        self.then_silence = then_silence
        self.gate = gate
        self.chunks = self.muted_chunks = 0
        self._pos = 0
        self._t0: Optional[float] = None
        self._closed = threading.Event()

    @property
    def finished_file(self) -> bool:
        """Every chunk of the file has been read (silence may follow)."""
        return self._pos >= len(self._audio)

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next chunk when it is due; None on timeout; b"" once closed (or at the end without silence)."""
        if self._closed.is_set():
            return b""
        if self._t0 is None:
            self._t0 = time.monotonic()
        if self.realtime:
            wait = self._t0 + self.chunks * self.chunk_ms / 1000.0 - time.monotonic()
            if wait > 0:
                if timeout is not None and timeout < wait:
                    self._closed.wait(timeout)
                    return b"" if self._closed.is_set() else None
                if self._closed.wait(wait):
                    return b""
        if self._pos < len(self._audio):
            chunk = self._audio[self._pos:self._pos + self.chunk_bytes]
            self._pos += len(chunk)
            if len(chunk) < self.chunk_bytes:
                chunk += self._silence[len(chunk):]
        elif self.then_silence and self.realtime:  # endless silence only makes sense paced
            chunk = self._silence
        else:
            return b""
        self.chunks += 1
        if self.gate is not None and self.gate():
            self.muted_chunks += 1
            return self._silence
        return chunk

    def close(self, timeout: float = 0.0) -> None:
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()
