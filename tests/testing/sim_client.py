"""A minimal blocking WebSocket client (websockets' sync client) for the simulator tests, plus audio makers."""
import json
import re
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from websockets.sync.client import ClientConnection, connect

Json = Dict[str, Any]


class SimClient:
    """Send dicts, receive dicts; every received event is kept in ``events``."""

    def __init__(self, url: str, headers: Optional[Dict[str, str]] = None,
                 subprotocols: Optional[Sequence[str]] = None) -> None:
        self.ws: ClientConnection = connect(url, additional_headers=headers, subprotocols=subprotocols,
                                            open_timeout=5, max_size=None, close_timeout=2).__enter__()
        self.events: List[Json] = []

    def __enter__(self) -> "SimClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    def send(self, event: Json) -> None:
        self.ws.send(json.dumps(event))

    def send_raw(self, data: Any) -> None:
        self.ws.send(data)

    def recv(self, timeout: float = 5.0) -> Json:
        event = json.loads(self.ws.recv(timeout=timeout))
        self.events.append(event)
        return event

    def recv_until(self, event_type: str, timeout: float = 5.0) -> List[Json]:
        """Events up to and including the next ``event_type``."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            event = self.recv(max(0.01, deadline - time.monotonic()))
            out.append(event)
            if event["type"] == event_type:
                return out

    def expect(self, event_type: str, timeout: float = 5.0) -> Json:
        """The next event, which must be of ``event_type``."""
        event = self.recv(timeout)
        assert event["type"] == event_type, f"expected {event_type}, got {event['type']}: {str(event)[:300]}"
        return event

    def drain(self, quiet: float = 0.2) -> List[Json]:
        """Everything that arrives until ``quiet`` seconds pass without an event."""
        out = []
        while True:
            try:
                out.append(self.recv(quiet))
            except TimeoutError:
                return out


def open_client(server: Any, model: str = "gpt-realtime", beta: bool = False, key: Optional[str] = None,
                created: bool = True) -> SimClient:
    headers = {"Authorization": f"Bearer {key or server.api_key}"}
    if beta:
        headers["OpenAI-Beta"] = "realtime=v1"
    client = SimClient(server.url(model), headers)
    if created:
        client.expect("session.created")
    return client


def user_text(text: str) -> Json:
    return {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}


# -- audio with known speech boundaries ------------------------------------------------------------------------------
def voiced(ms: float, rate: int = 24000, level: float = 0.3, f0: float = 150.0) -> np.ndarray:
    """A harmonic, speech-like burst (int16) with a flat envelope, so its boundaries are exact."""
    t = np.arange(int(rate * ms / 1000)) / rate
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return np.round(wave / np.max(np.abs(wave)) * level * 32767).astype(np.int16)


def silence(ms: float, rate: int = 24000) -> np.ndarray:
    return np.zeros(int(rate * ms / 1000), dtype=np.int16)


def spoken(text: str) -> np.ndarray:
    """``text`` said by the simulator's speech synth (int16, 24 kHz), without its clause pauses: they are longer
    than the default ``silence_duration_ms`` (200 ms), so server VAD would end the turn at each comma."""
    from realtime_sync.testing import synthesize

    return np.frombuffer(synthesize(re.sub(r"[,;:]", "", text)), dtype="<i2")


def append_events(audio: bytes, chunk: int = 4800) -> List[Json]:
    import base64

    return [{"type": "input_audio_buffer.append", "audio": base64.b64encode(audio[i:i + chunk]).decode()}
            for i in range(0, len(audio), chunk)]


def cli_responder(ctx: Any) -> str:
    """A responder the CLI test loads with ``--responder tests.testing.sim_client:cli_responder``."""
    return "From the CLI responder."
