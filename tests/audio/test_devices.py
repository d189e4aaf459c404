import pytest

from realtime_sync.audio import AudioDeviceError, find_device, list_devices
from realtime_sync.audio.devices import PA_INT16, DeviceInfo, choose_rate, open_pyaudio, suppress_stderr


class FakePyAudio:
    """The subset of pyaudio.PyAudio that device discovery uses."""

    def __init__(self, devices, default_in=None, default_out=None):
        self.devices = devices  # list of (name, in_ch, out_ch, default_rate, supported_rates)
        self.default_in, self.default_out = default_in, default_out

    def get_device_count(self):
        return len(self.devices)

    def get_device_info_by_index(self, i):
        name, cin, cout, rate, _ = self.devices[i]
        return {"index": i, "name": name, "maxInputChannels": cin, "maxOutputChannels": cout,
                "defaultSampleRate": float(rate), "hostApi": 0}

    def get_host_api_info_by_index(self, i):
        return {"name": "ALSA"}

    def _default(self, idx, kind):
        if idx is None:
            raise OSError(-9996, f"No Default {kind} Device Available")
        return self.get_device_info_by_index(idx)

    def get_default_input_device_info(self):
        return self._default(self.default_in, "Input")

    def get_default_output_device_info(self):
        return self._default(self.default_out, "Output")

    def is_format_supported(self, rate, input_device=None, output_device=None, **kw):
        idx = input_device if input_device is not None else output_device
        if rate not in self.devices[idx][4]:
            raise ValueError("Invalid sample rate", -9997)
        return True


PI_LIKE = FakePyAudio([
    ("bcm2835 Headphones: - (hw:0,0)", 0, 8, 44100, (8000, 16000, 22050, 24000, 44100, 48000)),
    ("USB PnP Sound Device: Audio (hw:1,0)", 1, 0, 44100, (8000, 22050, 44100, 48000)),
    ("pulse", 32, 32, 44100, (8000, 16000, 22050, 24000, 44100, 48000)),
], default_in=2, default_out=2)


def test_list_devices_probes_rates():
    devs = list_devices(pa=PI_LIKE)
    assert [d.index for d in devs] == [0, 1, 2]
    usb = devs[1]
    assert usb.input_rates == (8000, 22050, 44100, 48000) and usb.output_rates == ()
    assert devs[2].is_default_input and devs[2].is_default_output
    assert "USB PnP" in usb.describe() and "22050" in usb.describe()


def test_find_by_name_substring_case_insensitive_index_and_default():
    assert find_device("usb pnp", "input", pa=PI_LIKE).index == 1
    assert find_device("HEADPHONES", "output", pa=PI_LIKE).index == 0
    assert find_device(1, "input", pa=PI_LIKE).name.startswith("USB")
    assert find_device(None, "input", pa=PI_LIKE).name == "pulse"
    assert find_device("pulse", "output", pa=PI_LIKE).index == 2  # exact match wins


def test_no_match_names_available_devices():
    with pytest.raises(AudioDeviceError) as info:
        find_device("respeaker", "input", pa=PI_LIKE)
    msg = str(info.value)
    assert "respeaker" in msg and "USB PnP" in msg and "pulse" in msg
    assert "bcm2835" not in msg  # output-only device is not offered as an input
    with pytest.raises(AudioDeviceError, match="no input channels"):
        find_device(0, "input", pa=PI_LIKE)
    with pytest.raises(AudioDeviceError, match="index 7"):
        find_device(7, "input", pa=PI_LIKE)


def test_no_default_device_9996():
    pa = FakePyAudio(PI_LIKE.devices)
    with pytest.raises(AudioDeviceError, match="-9996") as info:
        find_device(None, "output", pa=pa)
    assert info.value.pa_error == -9996
    assert any("bcm2835" in d for d in info.value.devices)


def test_no_devices_at_all():
    with pytest.raises(AudioDeviceError, match="no input audio device"):
        find_device(None, "input", pa=FakePyAudio([]))


def test_choose_rate_native_and_unsupported_names_rates():
    usb = find_device("usb", "input", pa=PI_LIKE)
    assert choose_rate(usb, "input") == 44100
    assert choose_rate(usb, "input", 48000) == 48000
    with pytest.raises(AudioDeviceError) as info:
        choose_rate(usb, "input", 24000)
    assert "[8000, 22050, 44100, 48000]" in str(info.value) and info.value.pa_error == -9997
    odd = DeviceInfo(3, "odd", 1, 0, 96000, input_rates=(16000, 48000))
    assert choose_rate(odd, "input") == 48000


def test_bad_spec_type():
    with pytest.raises(TypeError):
        find_device(1.5, "input", pa=PI_LIKE)
    with pytest.raises(ValueError):
        find_device(None, "both", pa=PI_LIKE)


def test_suppress_stderr_restores_fd(capfd):
    import os

    with suppress_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"visible\n")
    err = capfd.readouterr().err
    assert "visible" in err and "hidden" not in err


def test_pa_int16_matches_pyaudio():
    pyaudio = pytest.importorskip("pyaudio")
    assert PA_INT16 == pyaudio.paInt16


def test_open_pyaudio_quiet_smoke():
    pytest.importorskip("pyaudio")
    pa = open_pyaudio(quiet=True)
    try:
        assert pa.get_device_count() >= 0
    finally:
        pa.terminate()
