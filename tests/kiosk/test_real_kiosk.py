"""scripts/kiosk.py end to end through real PyAudio streams on a private PulseAudio daemon (no sound card).

The "user" speaks into a null sink ``rs_voice`` whose monitor is the default source (what the kiosk's microphone
records); the kiosk's speaker plays on the default sink ``rs_sink``, whose monitor ``parec`` records. The simulator
(in the script, real-time pacing) hears the speech with its VAD, answers with synthesised speech, and the test
checks that this very audio reached the sink, and what the script printed.
"""
import signal
import threading
import time

import numpy as np
import pytest

from tests.kiosk.helpers import REPLY
from tests.kiosk.pulse_helpers import VoiceRig, best_correlation, kiosk, loud_region
from tests.support.waiting import wait_until

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import synthesize  # noqa: E402

pytestmark = pytest.mark.timeout(90)


def test_list_devices(pulse):
    proc = kiosk(pulse, "--list-devices", "--quiet-audio")
    assert proc.wait(30) == 0, proc.lines
    assert any("'pulse'" in line and "in_rates" in line for line in proc.lines), proc.lines


def test_kiosk_loop_end_to_end_through_pulseaudio(pulse, pulse_source):
    with VoiceRig(pulse, pulse_source) as rig:
        recorder = rig.record()
        proc = rig.run(kiosk(pulse, "--simulator", "--input-device", "pulse", "--output-device", "pulse",
                             "--silence-ms", "500"))
        assert wait_until(lambda: proc.saw("speak any time"), 30), proc.lines
        rig.speak(bytes(9600) + synthesize("Hello kiosk, can you hear me") + bytes(48000))
        assert wait_until(lambda: proc.saw("state: assistant speaking"), 30), proc.lines
        assert wait_until(lambda: proc.lines[-1:] == ["state: listening"], 30), proc.lines
        time.sleep(0.3)  # the last samples reach the monitor
        recorded = recorder.stop()
        proc.p.send_signal(signal.SIGINT)  # Ctrl-C: clean exit
        assert proc.wait(10) == 0, proc.lines
    states = [line.split(": ", 1)[1] for line in proc.lines if line.startswith("state: ")]
    assert states[0] == "listening" and "user speaking" in states
    i = states.index("user speaking")
    assert "assistant speaking" in states[i:] and states[-1] == "listening"
    assert proc.lines[-1] == "bye" and "using the local simulator" in proc.lines[0]
    # the simulator's synthesised answer reached the null sink, whole and undistorted
    expected = np.frombuffer(synthesize(REPLY), dtype="<i2").astype(np.float64)
    start, end = loud_region(recorded)
    exp_start, exp_end = loud_region(expected)
    assert end > start, "nothing audible reached the sink"
    assert abs((end - start) - (exp_end - exp_start)) < 0.15 * 24000, (end - start, exp_end - exp_start)
    corr, lag = best_correlation(recorded, expected)
    assert corr > 0.9, corr


def test_duration_and_sigterm_exit_cleanly(pulse):
    proc = kiosk(pulse, "--simulator", "--duration", "3", "--quiet-audio")
    t0 = time.monotonic()
    assert proc.wait(30) == 0, proc.lines
    assert time.monotonic() - t0 >= 3 and proc.lines[-1] == "bye" and proc.saw("state: listening"), proc.lines
    proc = kiosk(pulse, "--simulator", "--push-to-talk", "--echo", "full_duplex")
    assert wait_until(lambda: proc.saw("press Enter to talk"), 30), proc.lines
    proc.p.send_signal(signal.SIGTERM)  # systemd stop
    assert proc.wait(10) == 0, proc.lines
    assert proc.lines[-1] == "bye"


def test_start_conversation_audio_opens_and_closes_real_devices(pulse, make_fake_server):
    from realtime_sync import SessionOptions, TurnDetection
    from tests.support.sessions import start_session
    from realtime_sync.testing import scripted

    server = make_fake_server(pace=1.0, responder=scripted("Hello from the kiosk."))
    options = SessionOptions(output_modalities=["audio"], turn_detection=TurnDetection.disabled())
    with start_session(server, options) as session:
        kiosk = session.start_conversation_audio(input_device="pulse", output_device="pulse", quiet=True)
        try:
            assert session.player is kiosk.player and kiosk.mic.device_rate in (44100, 48000)  # native, resampled
            session.start_response()
            assert wait_until(lambda: kiosk.player.response_active or kiosk.speaker.total_played_frames, 10)
            assert kiosk.player.wait_idle(15)
            assert kiosk.speaker.total_played_frames >= len(synthesize("Hello from the kiosk.")) // 2 - 2400
            assert kiosk._send_handle.bytes_sent > 0  # the microphone streams
        finally:
            kiosk.stop()  # bounded: each stream is closed by the thread that owns it
    assert kiosk.mic.closed and kiosk.speaker.closed and session.player is None
    threads = [t.name for t in threading.enumerate()]
    assert not any(n.startswith(("realtime_sync-mic", "realtime_sync-speaker", "realtime_sync-kiosk"))
                   for n in threads), threads
