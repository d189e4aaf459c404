"""Errors raised by the audio layer (all derive from :mod:`realtime_sync.errors`)."""
from typing import Optional, Sequence

from realtime_sync.errors import RealtimeError

__all__ = ["AudioDeviceError", "AudioBackendUnavailableError", "INSTALL_HINT"]

INSTALL_HINT = (
    "PyAudio is not installed: run `pip install realtime_sync[audio]` "
    "(on Debian/Raspberry Pi OS first `apt install portaudio19-dev`, or use the piwheels wheel)"
)


class AudioDeviceError(RealtimeError):
    """A sound device could not be found, opened or used.

    ``devices`` names the devices that were available, ``supported_rates`` the sample rates the device accepts (when
    known) and ``pa_error`` the PortAudio error code (-9996 invalid device, -9997 invalid sample rate, ...).
    """

    def __init__(self, message: str, *, devices: Optional[Sequence[str]] = None,
                 supported_rates: Optional[Sequence[int]] = None, pa_error: Optional[int] = None) -> None:
        super().__init__(message)
        self.devices = list(devices or [])
        self.supported_rates = list(supported_rates or [])
        self.pa_error = pa_error


class AudioBackendUnavailableError(AudioDeviceError, ImportError):
    """PyAudio (PortAudio) is not installed, so no sound device can be used (files still work)."""

    def __init__(self, message: str = INSTALL_HINT) -> None:
        super().__init__(message)
