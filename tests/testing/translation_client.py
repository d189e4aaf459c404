"""Raw-WebSocket helpers for the simulator's translation sessions (``/v1/realtime/translations``)."""
import base64
from typing import Any, Dict, List, Optional

import pytest
from websockets.exceptions import ConnectionClosedOK

from realtime_sync.testing import synthesize
from realtime_sync.testing.translation_engine import FRAME_BYTES
from tests.testing.sim_client import SimClient

Json = Dict[str, Any]
APPEND = "session.input_audio_buffer.append"


def tr_client(server: Any, key: Optional[str] = None, model: str = "gpt-realtime-translate",
              created: bool = True) -> SimClient:
    client = SimClient(server.translation_url(model), {"Authorization": f"Bearer {key or server.api_key}"})
    if created:
        client.expect("session.created")
    return client


def append(client: SimClient, audio: bytes, chunk: int = FRAME_BYTES) -> None:
    for i in range(0, len(audio), chunk):
        client.send({"type": APPEND, "audio": base64.b64encode(audio[i:i + chunk]).decode()})


def update(client: SimClient, **audio: Any) -> Json:
    """Send a ``session.update`` of ``{"audio": audio}``; return the reply (``session.updated`` or ``error``),
    skipping translation output still arriving (all of it stays in ``client.events``)."""
    client.send({"type": "session.update", "session": {"audio": audio}})
    while True:
        event = client.recv()
        if event["type"] in ("session.updated", "error"):
            return event


def close_and_collect(client: SimClient) -> List[Json]:
    """``session.close``: every event up to ``session.closed``, which must be followed by a normal close."""
    client.send({"type": "session.close"})
    events = client.recv_until("session.closed", timeout=10)
    with pytest.raises(ConnectionClosedOK) as info:
        client.recv(5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    return events


def text_of(events: List[Json], event_type: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == event_type)


def output_audio(events: List[Json]) -> bytes:
    return b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "session.output_audio.delta")


def speech(text: str, lead_ms: int = 100, tail_ms: int = 600) -> bytes:
    """Synthetic speech of ``text`` with silence before and after (24 kHz PCM16)."""
    return bytes(48 * lead_ms) + synthesize(text) + bytes(48 * tail_ms)


def translate(server: Any, audio: bytes, language: str = "es", transcribe: bool = False,
              chunk: int = FRAME_BYTES) -> List[Json]:
    """One session: set the language (and input transcription), send ``audio``, close; the events after the
    update up to ``session.closed``."""
    with tr_client(server) as client:
        audio_cfg: Json = {"output": {"language": language}}
        if transcribe:
            audio_cfg["input"] = {"transcription": {"model": "gpt-realtime-whisper"}}
        assert update(client, **audio_cfg)["type"] == "session.updated"
        append(client, audio, chunk)
        return close_and_collect(client)


def cli_translator(text: str, language: str) -> str:
    """A translator the CLI test loads with ``--translator tests.testing.translation_client:cli_translator``."""
    return f"{text} (in {language})"
