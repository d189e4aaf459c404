"""wss:// through TLS: the session's own frame reader works over an SSL socket, including large messages."""
import shutil
import ssl
import subprocess
import threading

import pytest

from realtime_sync import UpdateKind
from realtime_sync._connection import ioloop

from tests.support.sessions import client_for
from tests.support.waiting import wait_until
from .server import MiniServer


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(d / "cert.pem"), str(d / "key.pem"))
    return ctx, str(d / "cert.pem")


def test_wss_session(tls_context):
    ctx, cert = tls_context
    big = "QUJD" * 100000

    def on_connect(conn):
        for _ in range(3):
            conn.send({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "output_index": 0,
                       "content_index": 0, "delta": big})

    with MiniServer(on_connect=on_connect, ssl_context=ctx) as srv:
        client = client_for(srv.base_url, websocket_options={"sslopt": {"ca_certs": cert}})
        assert client.url.startswith("wss://")
        with client.start_session() as session:
            updates = [u for _, u in zip(range(4), session.receive_updates(timeout=5))]
            assert [len(u.delta) for u in updates[1:]] == [len(big)] * 3
            assert session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5, after=session.start_response)


def test_full_duplex_load_over_wss_never_drops_and_one_thread_at_a_time_calls_the_socket(tls_context, monkeypatch):
    """8 threads send commands (each echoed back) and audio while the server streams audio deltas down, over TLS,
    several times: every echo and every delta arrives, and once the handshake is done never two threads are inside
    the client's SSL socket at the same time (the I/O thread reads; a sending thread writes directly when the
    socket is free, and both paths are taken)."""
    ctx, cert = tls_context
    monkeypatch.setattr(ioloop, "INLINE_WRITE_MAX_SOCKETS", 1000)  # whatever other tests left open: both paths
    callers = {}
    watched = set()
    inside = [0, 0]  # threads inside the watched socket now, the most ever seen
    guard = threading.Lock()
    for name in ("send", "recv", "recv_into", "sendall", "pending"):
        original = getattr(ssl.SSLSocket, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            if id(self) not in watched:
                return _original(self, *args, **kwargs)
            with guard:
                inside[0] += 1
                inside[1] = max(inside)
                callers.setdefault(threading.current_thread().name, set()).add(_name)
            try:
                return _original(self, *args, **kwargs)
            finally:
                with guard:
                    inside[0] -= 1
        monkeypatch.setattr(ssl.SSLSocket, name, spy)

    n_threads, per_thread, n_deltas = 8, 300, 120
    delta = "QUJD" * 2000

    def on_connect(conn):
        def stream():
            for _ in range(n_deltas):
                conn.send({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i",
                           "output_index": 0, "content_index": 0, "delta": delta})
        threading.Thread(target=stream, daemon=True).start()

    for _run in range(5):
        with MiniServer(on_connect=on_connect, ssl_context=ctx) as srv:
            client = client_for(srv.base_url, websocket_options={"sslopt": {"ca_certs": cert}})
            with client.start_session() as session:
                watched.add(id(session._conn.channel._sock))

                def work(i):
                    for j in range(per_thread):
                        session.send_command({"type": "conversation.item.retrieve", "item_id": f"t{i}_{j}"})
                        if j % 50 == 0:
                            session.send_audio(b"\x01\x00" * 4800)

                threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
                for t in threads:
                    t.start()
                echoes = deltas = 0
                for update in session.receive_updates(timeout=10):
                    if update.kind is UpdateKind.ITEM_RETRIEVED:
                        echoes += 1
                    elif update.kind is UpdateKind.OUTPUT_AUDIO_DELTA:
                        deltas += 1
                    if echoes == n_threads * per_thread and deltas == n_deltas:
                        break
                for t in threads:
                    t.join(10)
                # Under that load the I/O thread is nearly always in a turn, so the senders mostly hand their
                # frames over; with the stream over and the socket free, a send is written by its own thread.
                channel = session._conn.channel
                before = channel.direct_writes

                def send_once_more():
                    session.send_command({"type": "conversation.item.retrieve", "item_id": "last"})
                    return channel.direct_writes > before
                assert wait_until(send_once_more)
                assert session.error is None and not session.closed
            assert echoes == n_threads * per_thread and deltas == n_deltas
    assert inside[1] == 1, "two threads were inside the SSL socket at once"
    assert {"recv", "send"} <= callers.pop("realtime_sync-io")
    assert callers and all(names == {"send"} for names in callers.values()), callers  # direct writes only
