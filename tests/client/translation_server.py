"""A scripted translation server for the client and kiosk tests: MiniServer (tests/client/server.py) answering the
translation protocol (ADDENDUM-2026-12 A3), so client behaviour the simulator never shows can be scripted."""
import base64
import threading
from .server import Conn, MiniServer, error_event

KEY = "sk-test-key-0123456789"


def tr_session(language="en", transcription=None):
    return {"id": "sess_TR1", "type": "translation", "model": "gpt-realtime-translate", "expires_at": 1797000000,
            "audio": {"input": {"noise_reduction": None, "transcription": transcription},
                      "output": {"language": language}}}


class Translator:
    """A scripted translation server: per frame of speech one output transcript fragment (``f<n> ``), the frame
    itself as translated speech at ``rate`` Hz, and with input transcription on, a source fragment (``s<n>. ``);
    ``session.close`` -> the rest, then ``session.closed`` (unless ``answer_close`` is False)."""

    def __init__(self, rate=24000, answer_close=True, close_socket=False, echo_silence=False):
        self.rate = rate
        self.echo_silence = echo_silence  # silent frames come back as (silent) audio too: a continuous output
        self.answer_close = answer_close
        self.close_socket = close_socket
        self.frames = []
        self.sizes = []
        self.session = tr_session()
        self.lock = threading.Lock()

    def on_connect(self, conn: Conn) -> None:
        conn.send({"type": "session.created", "session": self.session})

    def handle(self, conn: Conn, msg) -> None:
        t = msg.get("type")
        if t == "session.update":
            audio = (msg.get("session") or {}).get("audio") or {}
            language = (audio.get("output") or {}).get("language")
            if language == "xx":
                conn.send(error_event("invalid_value", "Invalid language 'xx'.", msg.get("event_id"),
                                      "session.audio.output.language"))
                return
            if language:
                self.session["audio"]["output"]["language"] = language
            self.session["audio"]["input"].update(audio.get("input") or {})
            conn.send({"type": "session.updated", "session": self.session})
        elif t == "session.input_audio_buffer.append":
            frame = base64.b64decode(msg["audio"])
            with self.lock:
                self.frames.append(frame)
                self.sizes.append(len(frame))
            n = len(self.frames)
            if any(frame):  # speech (not silence): "translate" it
                if self.session["audio"]["input"].get("transcription"):
                    conn.send({"type": "session.input_transcript.delta", "delta": f"s{n}. ", "elapsed_ms": 200 * n})
                conn.send({"type": "session.output_transcript.delta", "delta": f"f{n} ", "elapsed_ms": 200 * n})
            if any(frame) or self.echo_silence:
                conn.send({"type": "session.output_audio.delta", "delta": base64.b64encode(frame).decode(),
                           "format": "pcm16", "sample_rate": self.rate, "channels": 1, "elapsed_ms": 200 * n})
        elif t == "session.close" and self.answer_close:
            conn.send({"type": "session.output_transcript.delta", "delta": "end."})
            conn.send({"type": "session.closed"})
            if self.close_socket:
                conn.close(1000)

    def serve(self) -> MiniServer:
        """A MiniServer answering with this translator (enter it to start)."""
        return MiniServer(handler=self.handle, on_connect=self.on_connect, send_created=False)

    def speech_frames(self):
        with self.lock:
            return [f for f in self.frames if any(f)]
