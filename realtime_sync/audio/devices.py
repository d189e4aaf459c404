"""Sound device discovery and PyAudio access (PyAudio is imported lazily, only here).

- :func:`list_devices` shows every device with its channels, default rate and the rates it accepts.
- :func:`find_device` picks a device by ``None`` (the default), an index, or a case-insensitive name substring
  (ALSA card numbers move across reboots on a Raspberry Pi; names don't).
- :func:`open_pyaudio` creates a ``pyaudio.PyAudio`` instance, optionally silencing the harmless
  "ALSA lib ... Unknown PCM cards.pcm.rear" / JACK noise that PortAudio prints on start-up.

PortAudio initialisation, termination and stream opening are serialised through :data:`PORTAUDIO_LOCK`.
"""
import contextlib
import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from realtime_sync.errors import AudioBackendUnavailableError, AudioDeviceError

__all__ = [
    "DeviceInfo", "list_devices", "find_device", "open_pyaudio", "close_pyaudio", "import_pyaudio",
    "silence_alsa_errors", "suppress_stderr", "choose_rate", "probe_rates", "PORTAUDIO_LOCK", "PROBE_RATES",
    "pa_error_code", "invalid_rate_error", "PA_INVALID_CHANNEL_COUNT", "PA_INVALID_SAMPLE_RATE",
    "PA_INVALID_DEVICE",
]

logger = logging.getLogger("realtime_sync.audio.devices")

PROBE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
PORTAUDIO_LOCK = threading.RLock()

PA_INT16 = 0x8  # PortAudio's paInt16 (pyaudio.paInt16)
PA_INVALID_CHANNEL_COUNT = -9998
PA_INVALID_SAMPLE_RATE = -9997
PA_INVALID_DEVICE = -9996

DeviceSpec = Union[None, int, str, "DeviceInfo"]


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device. ``input_rates``/``output_rates`` are the probed rates among :data:`PROBE_RATES`."""

    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_rate: int
    host_api: str = ""
    input_rates: Tuple[int, ...] = field(default_factory=tuple)
    output_rates: Tuple[int, ...] = field(default_factory=tuple)
    is_default_input: bool = False
    is_default_output: bool = False

    def supports(self, kind: str) -> bool:
        return (self.max_input_channels if kind == "input" else self.max_output_channels) > 0

    def rates(self, kind: str) -> Tuple[int, ...]:
        return self.input_rates if kind == "input" else self.output_rates

    def describe(self) -> str:
        tags = [t for t, on in (("default in", self.is_default_input), ("default out", self.is_default_output)) if on]
        extra = f" [{', '.join(tags)}]" if tags else ""
        return (f"#{self.index} {self.name!r} in={self.max_input_channels} out={self.max_output_channels} "
                f"default_rate={self.default_rate} in_rates={list(self.input_rates)} "
                f"out_rates={list(self.output_rates)}{extra}")


def import_pyaudio() -> Any:
    """Import and return the ``pyaudio`` module, or raise :class:`AudioBackendUnavailableError` with install hints."""
    try:
        import pyaudio  # lazy on purpose: the audio extra is optional
    except ImportError as exc:
        raise AudioBackendUnavailableError() from exc
    return pyaudio


def pa_error_code(exc: BaseException) -> Optional[int]:
    """The PortAudio error number carried by a PyAudio ``OSError`` (``exc.args[0]`` / ``errno``), if any."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


_ALSA_HANDLER: Any = None  # keeps the ctypes callback alive for the life of the process


def silence_alsa_errors() -> bool:
    """Install a no-op ALSA error handler (process-wide) so libasound stops printing to stderr.

    Returns True when installed. Harmless where libasound is absent (returns False).
    """
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return True
    name = ctypes.util.find_library("asound")
    if not name:
        return False
    try:
        asound = ctypes.cdll.LoadLibrary(name)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_char_p)
        handler = handler_type(lambda *args: None)
        asound.snd_lib_error_set_handler(handler)
    except (OSError, AttributeError) as exc:
        logger.debug("could not install ALSA error handler: %s", type(exc).__name__)
        return False
    _ALSA_HANDLER = handler
    return True


@contextlib.contextmanager
def suppress_stderr() -> Iterator[None]:
    """Temporarily point file descriptor 2 at /dev/null (catches C libraries such as JACK printing at init).

    Process-wide while active: keep the block short.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quiet_default() -> bool:
    return os.environ.get("REALTIME_SYNC_QUIET_AUDIO", "").strip().lower() in ("1", "true", "yes", "on")


def open_pyaudio(quiet: Optional[bool] = None) -> Any:
    """Create a ``pyaudio.PyAudio`` (PortAudio initialisation).

    ``quiet=True`` (or env ``REALTIME_SYNC_QUIET_AUDIO=1`` when ``quiet`` is None) installs a no-op ALSA error
    handler and silences stderr during initialisation. Opt-in: the noise is sometimes the only clue.
    """
    pyaudio = import_pyaudio()
    if quiet is None:
        quiet = _quiet_default()
    with PORTAUDIO_LOCK:
        if quiet:
            silence_alsa_errors()
            with suppress_stderr():
                return pyaudio.PyAudio()
        return pyaudio.PyAudio()


def close_pyaudio(pa: Any) -> None:
    """Terminate a PyAudio instance made by :func:`open_pyaudio`, never raising."""
    if pa is None:
        return
    with PORTAUDIO_LOCK:
        try:
            pa.terminate()
        except Exception as exc:  # teardown must not raise
            logger.debug("PyAudio.terminate failed: %s", type(exc).__name__)


def probe_rates(pa: Any, index: int, kind: str, channels: int = 1,
                rates: Sequence[int] = PROBE_RATES) -> Tuple[int, ...]:
    """The rates among ``rates`` that device ``index`` accepts for ``kind`` ("input"/"output") as int16."""
    ok = []
    for rate in rates:
        kwargs = {"input_device": index, "input_channels": channels, "input_format": PA_INT16} \
            if kind == "input" else \
            {"output_device": index, "output_channels": channels, "output_format": PA_INT16}
        try:
            if pa.is_format_supported(rate, **kwargs):
                ok.append(int(rate))
        except ValueError:
            continue
        except Exception as exc:  # some host APIs raise odd errors for odd rates
            logger.debug("probing %d Hz on device %d failed: %s", rate, index, type(exc).__name__)
    return tuple(ok)


def _device_info(pa: Any, index: int, probe: bool, defaults: Tuple[int, int]) -> DeviceInfo:
    raw = pa.get_device_info_by_index(index)
    max_in = int(raw.get("maxInputChannels", 0))
    max_out = int(raw.get("maxOutputChannels", 0))
    host = ""
    try:
        host = str(pa.get_host_api_info_by_index(raw.get("hostApi", 0)).get("name", ""))
    except Exception:
        pass
    in_rates: Tuple[int, ...] = ()
    out_rates: Tuple[int, ...] = ()
    if probe:
        if max_in > 0:
            in_rates = probe_rates(pa, index, "input", 1) or probe_rates(pa, index, "input", min(2, max_in))
        if max_out > 0:
            out_rates = probe_rates(pa, index, "output", 1) or probe_rates(pa, index, "output", min(2, max_out))
    return DeviceInfo(index=index, name=str(raw.get("name", f"device {index}")), max_input_channels=max_in,
                      max_output_channels=max_out, default_rate=int(round(float(raw.get("defaultSampleRate", 0)))),
                      host_api=host, input_rates=in_rates, output_rates=out_rates,
                      is_default_input=index == defaults[0], is_default_output=index == defaults[1])


def _defaults(pa: Any) -> Tuple[int, int]:
    def get(fn: str) -> int:
        try:
            return int(getattr(pa, fn)()["index"])
        except (IOError, OSError, KeyError, TypeError):
            return -1  # -9996 "no default device"
    return get("get_default_input_device_info"), get("get_default_output_device_info")


@contextlib.contextmanager
def _pa_scope(pa: Any, quiet: Optional[bool]) -> Iterator[Any]:
    if pa is not None:
        yield pa
        return
    own = open_pyaudio(quiet)
    try:
        yield own
    finally:
        close_pyaudio(own)


def list_devices(*, probe: bool = True, pa: Any = None, quiet: Optional[bool] = None) -> List[DeviceInfo]:
    """Every PortAudio device, with the rates it accepts (``probe=False`` skips the rate probing)."""
    with _pa_scope(pa, quiet) as p:
        with PORTAUDIO_LOCK:
            defaults = _defaults(p)
            devices = [_device_info(p, i, probe, defaults) for i in range(p.get_device_count())]
    logger.debug("found %d audio device(s)", len(devices))
    return devices


def _names(devices: Sequence[DeviceInfo], kind: str) -> List[str]:
    return [f"#{d.index} {d.name!r}" for d in devices if d.supports(kind)]


def find_device(spec: DeviceSpec = None, kind: str = "input", *, pa: Any = None, probe: bool = True,
                quiet: Optional[bool] = None) -> DeviceInfo:
    """Resolve ``spec`` to a device of ``kind`` ("input" or "output").

    ``spec`` is None (the system default device), an ``int`` index, a :class:`DeviceInfo`, or a case-insensitive
    substring of the device name (an exact name match wins over substring matches; several substring matches pick
    the lowest index). Raises :class:`AudioDeviceError` naming the available devices when nothing matches or when
    there is no default device (PortAudio -9996, typical under systemd at boot).
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output' (got {kind!r})")
    if isinstance(spec, DeviceInfo):
        return spec
    devices = list_devices(probe=probe, pa=pa, quiet=quiet)
    usable = [d for d in devices if d.supports(kind)]
    names = _names(devices, kind)
    if not usable:
        raise AudioDeviceError(f"no {kind} audio device found (PortAudio lists {len(devices)} device(s): "
                               f"{[d.name for d in devices]}); check the sound card, PulseAudio/PipeWire, "
                               "or `arecord -l` / `aplay -l`", devices=[d.name for d in devices],
                               pa_error=PA_INVALID_DEVICE)
    if spec is None:
        for d in usable:
            if (d.is_default_input if kind == "input" else d.is_default_output):
                return d
        raise AudioDeviceError(f"no default {kind} device (PortAudio error -9996); pick one by name or index "
                               f"from: {names}", devices=names, pa_error=PA_INVALID_DEVICE)
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise TypeError(f"device must be None, an int index or a name substring (got {type(spec).__name__})")
    if isinstance(spec, int):
        for d in devices:
            if d.index == spec:
                if not d.supports(kind):
                    raise AudioDeviceError(f"device #{spec} {d.name!r} has no {kind} channels; {kind} devices: "
                                           f"{names}", devices=names, pa_error=PA_INVALID_DEVICE)
                return d
        raise AudioDeviceError(f"no audio device with index {spec}; {kind} devices: {names}", devices=names,
                               pa_error=PA_INVALID_DEVICE)
    needle = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == needle]
    if exact:
        return exact[0]
    partial = [d for d in usable if needle in d.name.lower()]
    if partial:
        if len(partial) > 1:
            logger.info("device name %r matches %d %s devices; using #%d", spec, len(partial), kind,
                        partial[0].index)
        return partial[0]
    raise AudioDeviceError(f"no {kind} device matching {spec!r}; {kind} devices: {names}", devices=names,
                           pa_error=PA_INVALID_DEVICE)


def choose_rate(device: DeviceInfo, kind: str, requested: Optional[int] = None,
                preferred: Sequence[int] = (48000, 44100, 24000, 16000)) -> int:
    """The rate to open ``device`` at: ``requested`` if given (checked against the probed rates when known),
    else the device's native default rate if it was probed as supported, else the first supported of
    ``preferred``. Raises :class:`AudioDeviceError` naming the supported rates (the -9997 case)."""
    rates = device.rates(kind)
    if requested is not None:
        if rates and int(requested) not in rates:
            raise AudioDeviceError(
                f"{kind} device #{device.index} {device.name!r} does not support {requested} Hz (PortAudio -9997); "
                f"supported rates: {list(rates)}; leave the rate unset to use the native {device.default_rate} Hz",
                supported_rates=rates, pa_error=PA_INVALID_SAMPLE_RATE)
        return int(requested)
    if not rates or device.default_rate in rates:
        return device.default_rate
    for rate in preferred:
        if rate in rates:
            return int(rate)
    return int(rates[-1])


def invalid_rate_error(device: DeviceInfo, kind: str, rate: int, exc: BaseException) -> AudioDeviceError:
    """An :class:`AudioDeviceError` for a failed open, naming the device's supported rates."""
    code = pa_error_code(exc)
    rates = device.rates(kind)
    return AudioDeviceError(
        f"cannot open {kind} device #{device.index} {device.name!r} at {rate} Hz: {exc} "
        f"(PortAudio {code}); supported rates: {list(rates) or 'unknown'}; native rate {device.default_rate} Hz",
        supported_rates=rates, pa_error=code)
