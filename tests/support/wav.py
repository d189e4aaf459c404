"""Writing WAV files for tests."""
import wave


def write_wav(path, data: bytes, rate: int = 24000, channels: int = 1, width: int = 2) -> None:
    """``data`` (interleaved samples of ``width`` bytes) as a WAV file at ``path`` (a path or a binary file)."""
    with wave.open(path if hasattr(path, "write") else str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
