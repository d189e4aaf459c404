"""Audio layer of realtime_sync: microphone, speaker, files, resampling, G.711 and the echo guard.

Install with ``pip install realtime_sync[audio]`` (PyAudio, numpy, soxr; on Debian/Raspberry Pi OS
``apt install portaudio19-dev`` first). Importing this package does not import PyAudio: only opening a device
does, and it raises :class:`AudioBackendUnavailableError` with install hints when PyAudio is missing, so files,
resampling and G.711 work without it.

Wire formats: "pcm16" (24 kHz mono int16 LE), "g711_ulaw" / "g711_alaw" (8 kHz, 1 byte a sample); the GA names
"audio/pcm", "audio/pcmu", "audio/pcma" are accepted everywhere.
"""
from realtime_sync.audio.devices import DeviceInfo, find_device, list_devices, open_pyaudio, silence_alsa_errors
from realtime_sync.audio.echo import FULL_DUPLEX, HALF_DUPLEX, RAISED_THRESHOLD, EchoGuard
from realtime_sync.audio.file_microphone import FileMicrophone
from realtime_sync.audio.g711 import (WireDecoder, WireEncoder, alaw_decode, alaw_encode, normalize_format,
                                      silence, ulaw_decode, ulaw_encode, wire_rate, wire_sample_width)
from realtime_sync.audio.microphone import Microphone
from realtime_sync.audio.resample import StreamResampler
from realtime_sync.audio.interfaces import AudioSink, ChunkSource
from realtime_sync.audio.sinks import NullSink, RawFileSink, WavFileSink
from realtime_sync.audio.speaker import Speaker
from realtime_sync.audio.wav import WavInfo, iter_raw_chunks, iter_wav_chunks, read_wav, wav_info
from realtime_sync.errors import AudioBackendUnavailableError, AudioDeviceError

__all__ = [
    "Microphone", "FileMicrophone", "Speaker", "NullSink", "RawFileSink", "WavFileSink", "EchoGuard", "HALF_DUPLEX",
    "FULL_DUPLEX", "RAISED_THRESHOLD", "StreamResampler", "WireEncoder", "WireDecoder", "ulaw_encode", "ulaw_decode",
    "alaw_encode", "alaw_decode", "normalize_format", "wire_rate", "wire_sample_width", "silence", "list_devices",
    "find_device", "open_pyaudio", "silence_alsa_errors", "DeviceInfo", "read_wav", "iter_wav_chunks",
    "iter_raw_chunks", "wav_info", "WavInfo", "AudioDeviceError", "AudioBackendUnavailableError", "AudioSink",
    "ChunkSource",
]
