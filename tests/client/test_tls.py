"""wss:// through TLS: the session's own frame reader works over an SSL socket, including large messages."""
import shutil
import ssl
import subprocess

import pytest

from realtime_sync import UpdateKind

from tests.support.sessions import client_for
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
            session.start_response()
            assert session.wait_for(UpdateKind.RESPONSE_DONE, timeout=5)
