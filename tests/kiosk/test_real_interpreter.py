"""scripts/kiosk.py --translate through real PyAudio streams on the private PulseAudio daemon (no sound card).

The "speaker of the source language" talks into a null sink ``rs_voice`` whose monitor is the default source (the
interpreter's microphone); the interpreter's speaker plays on ``rs_sink``, whose monitor ``parec`` records. The
translation server is the scripted one (tests/client/translation_server.py), reached as the service is (a key and
``OPENAI_BASE_URL``): it "translates" each frame into itself, so the test can check that the very speech
went through microphone -> 200 ms frames -> session -> speaker, and what the script printed.
"""
import re
import signal
import sys

import numpy as np
import pytest

from tests.client.translation_server import KEY, Translator
from tests.kiosk.helpers import SCRIPT, Proc
from tests.kiosk.pulse_helpers import VoiceRig, loud_region, pieces_found, script_env
from tests.support.waiting import wait_until

pytest.importorskip("realtime_sync.testing")
from realtime_sync.testing import synthesize  # noqa: E402

pytestmark = pytest.mark.timeout(90)


def heard_through(recorded, loud_length):
    start, end = loud_region(recorded)
    return end - start >= loud_length - 0.15 * 24000 and len(recorded) - end >= 12000


def test_interpreter_end_to_end_through_pulseaudio(pulse, pulse_source):
    translator = Translator(echo_silence=True)  # the output as continuous as the input
    speech = synthesize("Good morning, where is the museum")
    with VoiceRig(pulse, pulse_source) as rig, translator.serve() as srv:
        recorder = rig.record()
        env = dict(script_env(pulse), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=srv.base_url)
        proc = rig.run(Proc([sys.executable, SCRIPT, "--translate", "es", "--input-device", "pulse",
                             "--output-device", "pulse", "--echo", "full_duplex"], env))
        assert wait_until(lambda: proc.saw("translating into es"), 30), proc.lines
        rig.speak(bytes(9600) + speech + bytes(48000))
        assert wait_until(lambda: proc.saw("heard: s"), 30), proc.lines  # source sentences, as they come
        spoken = len(speech) // 9600
        assert wait_until(lambda: len(translator.speech_frames()) >= spoken, 30), len(translator.speech_frames())
        # the last translated frames reach the sink's monitor: as loud as long as the speech, then 0.5 s more
        loud = loud_region(np.frombuffer(speech, dtype="<i2").astype(np.float64))
        wait_until(lambda: heard_through(recorder.samples(), loud[1] - loud[0]), 15)
        recorded = recorder.stop()
        proc.p.send_signal(signal.SIGINT)  # Ctrl-C: the session closes gracefully, the rest is printed
        assert proc.wait(15) == 0, proc.lines
    assert proc.lines[-1] == "bye", proc.lines
    translated = [line for line in proc.lines if line.startswith("es: ")]
    assert translated and translated[-1].endswith("end."), proc.lines  # the drained rest, after session.close
    assert set(translator.sizes) == {9600}  # every append one 200 ms frame
    # the microphone's speech came back out of the speaker, whole and undistorted
    expected = np.frombuffer(speech, dtype="<i2").astype(np.float64)
    start, end = loud_region(recorded)
    exp_start, exp_end = loud_region(expected)
    assert end > start, "nothing audible reached the sink"
    assert abs((end - start) - (exp_end - exp_start)) < 0.15 * 24000, (end - start, exp_end - exp_start)
    # every 200 ms of the speech is there undistorted; the pieces may sit a capture or playback period apart
    assert pieces_found(recorded, expected) >= 0.9, pieces_found(recorded, expected)


def test_interpreter_on_the_simulator(pulse, pulse_source):
    """No key: ``--translate`` runs on the embedded simulator. Speech that went through a sound server carries no
    words the simulator can read, so it hears "(speech N ms)" and speaks the marked translation of that; the
    sentence ends with the session, on Ctrl-C (once the translation was heard from the speaker)."""
    with VoiceRig(pulse, pulse_source) as rig:
        recorder = rig.record()
        proc = rig.run(Proc([sys.executable, SCRIPT, "--translate", "de", "--input-device", "pulse",
                             "--output-device", "pulse", "--echo", "full_duplex"], script_env(pulse)))
        assert wait_until(lambda: proc.saw("translating into de"), 30), proc.lines
        rig.speak(bytes(9600) + synthesize("Good morning everyone.") + bytes(48000))
        assert wait_until(lambda: loud_region(recorder.samples())[1] > 0, 30), proc.lines  # the translation speaks
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0, proc.lines
    assert any(line.startswith("no OPENAI_API_KEY") and "local simulator" in line for line in proc.lines), proc.lines
    heard = [line[len("heard: "):] for line in proc.lines if line.startswith("heard: ")]
    assert len(heard) == 1 and re.fullmatch(r"\(speech \d+ ms\)", heard[0]), proc.lines
    assert proc.lines[-2:] == [f"de: [de] {heard[0]}", "bye"], proc.lines  # the drained translation, on Ctrl-C
