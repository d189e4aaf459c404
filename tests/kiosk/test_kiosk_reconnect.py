"""A kiosk keeps running across three network drops and one session expiry (simulator, fake devices)."""
import socket
import threading

import pytest

from realtime_sync import ReconnectPolicy, UpdateKind
from tests.support.sessions import client_for
from tests.support.waiting import wait_until

pytest.importorskip("numpy")
from realtime_sync.audio import NullSink  # noqa: E402
from realtime_sync.kiosk import FileMicrophone, KioskAudio  # noqa: E402

pytestmark = pytest.mark.timeout(90)


def test_a_kiosk_survives_three_drops_and_an_expiry(fake_server):
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, refresh_lead=None)
    session = client_for(fake_server, reconnect=policy).start_session()
    mic = FileMicrophone(b"\x00\x00" * 2400, realtime=True, then_silence=True)  # silence, then silence forever
    kiosk = KioskAudio(session, mic, NullSink(), echo_policy="full_duplex", close_given=True).start()
    reconnects = []
    result = []

    def on_update(update):
        if update.kind is UpdateKind.RECONNECTED:
            reconnects.append(update.why)

    runner = threading.Thread(target=lambda: result.append(kiosk.run(60, on_update=on_update)))
    runner.start()
    try:
        for n in range(3):
            conn = fake_server.connections[-1]
            assert wait_until(lambda: any(e.get("type") == "input_audio_buffer.append" for e in conn.received), 10)
            conn.ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops
            assert wait_until(lambda: len(reconnects) == n + 1, 10)
        fake_server.faults.expire_after(0.5)  # the open session reaches its maximum duration
        assert wait_until(lambda: len(reconnects) == 4, 15)
        fake_server.faults.clear()
        last = fake_server.connections[-1]
        assert wait_until(lambda: any(e.get("type") == "input_audio_buffer.append" for e in last.received), 10)
        assert reconnects == ["connection lost"] * 3 + ["session_expired"]
        assert runner.is_alive() and not session.closed  # the kiosk never stopped
    finally:
        kiosk.stop(timeout=2.0)
        runner.join(10)
        session.close()
    assert result == ["stopped"]
