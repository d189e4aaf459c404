"""Opening and owning PortAudio streams: the real PyAudio path and the injected-stream seam.

A stream is opened, read/written, stopped and closed by one thread only (the Microphone's reader or the
Speaker's player); see USER-NEEDS item 13 for what happens otherwise.
"""
import logging
from dataclasses import dataclass
from typing import Any, Optional

from realtime_sync.audio.devices import (PA_INVALID_CHANNEL_COUNT, PORTAUDIO_LOCK, DeviceInfo, DeviceSpec,
                                         choose_rate, close_pyaudio, find_device, import_pyaudio, invalid_rate_error,
                                         open_pyaudio, pa_error_code)

__all__ = ["DeviceStream", "GivenStream", "open_device_stream", "abort_stream"]

logger = logging.getLogger("realtime_sync.audio.streams")


@dataclass
class DeviceStream:
    """An open PyAudio stream plus what it was opened with (returned by :func:`open_device_stream`)."""

    pa: Any
    stream: Any
    device: DeviceInfo
    rate: int
    channels: int
    frames_per_buffer: int

    def close(self, stop: bool = True) -> None:
        """Stop and close the stream, then terminate PyAudio; call from the thread that owns the stream."""
        with PORTAUDIO_LOCK:
            try:
                if stop:
                    self.stream.stop_stream()
            except Exception as exc:
                logger.debug("stop_stream failed: %s", type(exc).__name__)
            try:
                self.stream.close()
            except Exception as exc:
                logger.debug("stream close failed: %s", type(exc).__name__)
        close_pyaudio(self.pa)


def open_device_stream(kind: str, device: DeviceSpec, *, rate: Optional[int], channels: Optional[int],
                       frames_per_buffer: Any, quiet: Optional[bool] = None) -> DeviceStream:
    """Open a blocking int16 PyAudio stream of ``kind`` on ``device`` (see :func:`find_device`).

    ``rate`` None opens at the device's native rate; ``channels`` None tries mono, then stereo (for devices that
    only open in stereo). ``frames_per_buffer`` is an int or a callable ``rate -> int``. Errors become
    :class:`AudioDeviceError` naming the supported rates. Call from the thread that will own the stream.
    """
    pyaudio = import_pyaudio()
    pa = open_pyaudio(quiet)
    try:
        info = find_device(device, kind, pa=pa)
        chosen = choose_rate(info, kind, rate)
        fpb = int(frames_per_buffer(chosen) if callable(frames_per_buffer) else frames_per_buffer)
        max_ch = info.max_input_channels if kind == "input" else info.max_output_channels
        tries = [int(channels)] if channels else [c for c in (1, 2) if c <= max(1, max_ch)]
        last: Optional[BaseException] = None
        for ch in tries:
            kwargs = {"input": True, "input_device_index": info.index} if kind == "input" else \
                {"output": True, "output_device_index": info.index}
            try:
                with PORTAUDIO_LOCK:
                    stream = pa.open(format=pyaudio.paInt16, channels=ch, rate=chosen, frames_per_buffer=fpb,
                                     start=True, **kwargs)
            except (OSError, ValueError) as exc:
                last = exc
                if pa_error_code(exc) == PA_INVALID_CHANNEL_COUNT and ch != tries[-1]:
                    continue
                break
            logger.info("opened %s device #%d (%d Hz, %d ch, %d frames/buffer)", kind, info.index, chosen, ch, fpb)
            return DeviceStream(pa=pa, stream=stream, device=info, rate=chosen, channels=ch, frames_per_buffer=fpb)
        assert last is not None
        raise invalid_rate_error(info, kind, chosen, last) from last
    except BaseException:
        close_pyaudio(pa)
        raise


class GivenStream:
    """Adapts a caller-supplied stream (test seam, or a stream opened elsewhere) to the DeviceStream interface."""

    def __init__(self, stream: Any, rate: int, channels: int) -> None:
        self.stream = stream
        self.rate = int(rate)
        self.channels = int(channels)
        self.device: Optional[DeviceInfo] = None
        self.frames_per_buffer = 0

    def close(self, stop: bool = True) -> None:
        for name in ("stop_stream", "close") if stop else ("close",):
            fn = getattr(self.stream, name, None)
            if fn is not None:
                try:
                    fn()
                except Exception as exc:  # teardown must not raise
                    logger.debug("%s failed: %s", name, type(exc).__name__)


def abort_stream(stream: Any, restart: bool) -> None:
    """Discard what the device buffer still holds (Pa_AbortStream), then optionally restart the stream."""
    try:
        if hasattr(stream, "abort"):
            stream.abort()
            if restart and hasattr(stream, "start_stream"):
                stream.start_stream()
            return
        inner = getattr(stream, "_stream", None)
        if inner is None:
            return
        from pyaudio import _portaudio  # PyAudio has no public abort; its C module does

        _portaudio.abort_stream(inner)
        if restart:
            _portaudio.start_stream(inner)
    except Exception as exc:  # best effort: queued audio is already gone
        logger.debug("aborting the output stream failed: %s", type(exc).__name__)
