"""The simulator's phone: place a SIP call to an app's webhook and play a caller into it.

::

    call = server.place_call("http://127.0.0.1:5000/webhook", "whsec_...", caller="+15550100",
                             audio=synthesize("I need help with my bill"), dtmf="12#")
    assert call.wait_accepted(10)
    call.wait_for_reply(timeout=10)     # the assistant's first answer to the caller
    call.hangup()                       # or call.wait_ended(10) when the app hangs up / transfers

What the phone does, in order (one thread per call, ``rt-sim-phone``):

1. POSTs a ``realtime.call.incoming`` webhook (ADDENDUM-2026-12 A4: ``id``, ``object``, ``created_at``, ``type``,
   ``data.call_id`` ``rtc_...``, ``data.sip_headers`` From/To/Call-ID, ``data.sip_media_security``) to the app,
   signed with ``secret`` by :func:`realtime_sync.webhooks.sign` (``webhook-id``, ``webhook-timestamp``,
   ``webhook-signature`` headers). A non-2xx answer (the app's 400 on a bad signature) or no answer (within
   ``webhook_timeout``) ends a call still ringing at once: state ``refused``, with
   :attr:`PlacedCall.webhook_status` / :attr:`PlacedCall.webhook_error`. The webhook is not redelivered (the
   service retries failed deliveries for a while; a test wants the answer now). The call does not wait for the
   webhook's answer: once accepted it goes on, even while the app's view is still busy.
2. Waits ``timeout`` seconds for ``/accept`` (or ``/reject``: state ``rejected``); unanswered, the call ends
   (state ``unanswered``, ended by ``phone``) and a later accept gets ``call_ended``.
3. Waits ``timeout`` seconds for a sideband WebSocket (``?call_id=``); without one the caller hangs up (state
   ``ended``, ended by ``caller``): the simulator runs a call's session only while a sideband is attached.
4. With ``wait_for_greeting`` (the default) waits, up to ``timeout``, for the assistant's first message to the
   caller to finish playing (a caller listens to the greeting first); then plays ``audio`` into the call as input
   audio (server VAD hears it: trailing silence is added so the turn ends) and listens, up to ``timeout``, to the
   answer (a message said, not just a tool call).
5. Presses the ``dtmf`` digits (``input_audio_buffer.dtmf_event_received`` events, as the service sends them:
   ``event`` and ``received_at``, no ``event_id``), one every 100 ms of simulator time (none at ``pace=0``).

The call then stays up until the app hangs up or transfers it, or :meth:`PlacedCall.hangup` is called.
"""
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Union

from ..audio.g711 import WireEncoder
from ..audio.wav import read_wav
from ..errors import RealtimeTimeoutError, SessionClosedError
from ..protocol.audio_formats import PCM16_RATE
from ..webhooks import CALL_INCOMING, sign
from ._util import bytes_per_ms, new_id
from .calls import SimCall
from .handlers import feed_input_audio
from .vad import InputAudioBuffer

__all__ = ["PlacedCall", "place_call", "AudioInput", "DTMF_KEYS"]

logger = logging.getLogger("realtime_sync.testing.phone")
Json = Dict[str, Any]
#: the caller's voice: a WAV file path, PCM16 24 kHz mono bytes, or None (the caller says nothing)
AudioInput = Union[str, bytes, bytearray, None]
DTMF_KEYS = "0123456789*#ABCD"
DIGIT_GAP_S = 0.1  #: between two key presses (times the simulator's pace)
CHUNK_MS = 20  #: the caller's audio goes in 20 ms packets, as RTP carries it
TAIL_EXTRA_MS = 100  #: silence after the caller's audio beyond the VAD's silence duration


def _caller_pcm(audio: AudioInput) -> bytes:
    if audio is None:
        return b""
    if isinstance(audio, str):
        return read_wav(audio)
    if isinstance(audio, (bytes, bytearray)):
        if len(audio) % 2:
            raise ValueError("caller audio must be PCM16 (an even number of bytes)")
        return bytes(audio)
    raise TypeError(f"audio must be a WAV path, PCM16 bytes or None, not {type(audio).__name__}")


def _check_keys(digits: str) -> None:
    bad = [d for d in digits if d not in DTMF_KEYS]
    if bad:
        raise ValueError(f"not a DTMF key: {bad[0]!r} (keys: {DTMF_KEYS})")


class PlacedCall:
    """A call the simulator's phone placed: follow it, wait on it, and play more of the caller into it.

    Attributes (read any time): :attr:`call_id`, :attr:`state` (``ringing``, ``accepted``, ``rejected``,
    ``referred``, ``ended``, ``unanswered``, ``refused``), :attr:`webhook_status`, :attr:`webhook_error`,
    :attr:`reject_status`, :attr:`referred_to`, :attr:`ended_by` (``app``, ``caller``, ``phone``, ``server``),
    :attr:`replies` (what the assistant said to the caller), :attr:`heard_audio`, :attr:`digits_sent`,
    :attr:`accepted_session` (the accept's body) and :attr:`error` (what stopped the phone's script, if anything).
    """

    def __init__(self, server: Any, call: SimCall, webhook_url: str, secret: str, audio: bytes, dtmf: str,
                 timeout: float, wait_for_greeting: bool, webhook_timeout: float) -> None:
        self._server = server
        self._call = call
        self._url = webhook_url
        self._secret = secret
        self._audio = audio
        self._dtmf = dtmf
        self._timeout = timeout
        self._greeting = wait_for_greeting
        self._webhook_timeout = webhook_timeout
        self.webhook_status: Optional[int] = None
        self.webhook_error: Optional[str] = None
        self.webhook_headers: Dict[str, str] = {}  #: the headers the webhook was sent with (signature included)
        self.webhook_body = b""  #: the exact body POSTed
        self.error: Optional[str] = None
        self._script_done = threading.Event()
        self._webhook_done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rt-sim-phone", daemon=True)

    # -- what happened -------------------------------------------------------------------------------------------------
    @property
    def call_id(self) -> str:
        return self._call.call_id

    @property
    def caller(self) -> str:
        return self._call.caller

    @property
    def state(self) -> str:
        return self._call.state

    @property
    def reject_status(self) -> Optional[int]:
        return self._call.reject_status

    @property
    def referred_to(self) -> Optional[str]:
        return self._call.referred_to

    @property
    def ended_by(self) -> Optional[str]:
        return self._call.ended_by

    @property
    def accepted_session(self) -> Optional[Json]:
        return self._call.accepted_session

    @property
    def replies(self) -> List[str]:
        """The assistant's messages to the caller, in order (audio transcripts; text for a text-only session)."""
        with self._call.lock:
            return list(self._call.replies)

    @property
    def transcript(self) -> str:
        """The replies joined with spaces."""
        return " ".join(r for r in self.replies if r)

    @property
    def heard_audio(self) -> bytes:
        """The assistant audio sent to the caller (PCM16 24 kHz mono)."""
        with self._call.lock:
            return bytes(self._call.heard)

    @property
    def digits_sent(self) -> str:
        with self._call.lock:
            return self._call.digits_sent

    @property
    def sideband_count(self) -> int:
        """How many sideband WebSockets attached to the call so far."""
        with self._call.lock:
            return len(self._call.connections)

    @property
    def sim_call(self) -> SimCall:
        """The simulator's side of the call (session, sideband connections)."""
        return self._call

    def __repr__(self) -> str:
        return f"<PlacedCall {self.call_id} {self.state}>"

    # -- waiting -------------------------------------------------------------------------------------------------------
    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._call.cond:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RealtimeTimeoutError(f"call {self.call_id}: {what} within {timeout} s (state {self.state})")
                self._call.cond.wait(left)

    def wait_accepted(self, timeout: float = 10.0) -> bool:
        """True once the app accepted the call; False when it ended without an accept (rejected, refused,
        unanswered). Raises RealtimeTimeoutError while it is still ringing at the deadline."""
        self._wait(lambda: self.state != "ringing" or self._call.accepted_session is not None, timeout,
                   "no accept")
        return self._call.accepted_session is not None

    def wait_attached(self, timeout: float = 10.0) -> None:
        """Wait for a sideband WebSocket on the call. Raises RealtimeTimeoutError, or SessionClosedError when the
        call ended first."""
        self._wait(lambda: bool(self._call.connections) or self._call.ended, timeout, "no sideband attached")
        if not self._call.connections:
            raise SessionClosedError(f"call {self.call_id} ended ({self.state}) with no sideband attached")

    def wait_ended(self, timeout: float = 10.0) -> str:
        """Wait for the end of the call; return its final :attr:`state`. Raises RealtimeTimeoutError."""
        self._wait(lambda: self._call.ended, timeout, "still up")
        return self.state

    def _replied(self, count: int) -> Callable[[], bool]:
        """The wait for ``count`` replies in all, the assistant then quiet (or the call's end)."""
        call = self._call
        return lambda: (len(call.replies) >= count and call.quiet) or call.ended

    def wait_for_reply(self, count: int = 1, timeout: float = 10.0) -> str:
        """Wait until the assistant said ``count`` messages to the caller (counted from the start of the call) and
        fell quiet; return the ``count``-th. Raises RealtimeTimeoutError, or SessionClosedError when the call
        ended without it."""
        call = self._call
        self._wait(self._replied(count), timeout, f"no {count} repl{'y' if count == 1 else 'ies'}")
        with call.lock:
            if len(call.replies) < count:
                raise SessionClosedError(f"call {self.call_id} ended ({self.state}) after {len(call.replies)} "
                                         f"repl{'y' if len(call.replies) == 1 else 'ies'}")
            return call.replies[count - 1]

    def wait_webhook(self, timeout: float = 10.0) -> Optional[int]:
        """Wait for the app's answer to the webhook; return its HTTP status (None when there was no answer: see
        :attr:`webhook_error`). Raises RealtimeTimeoutError."""
        if not self._webhook_done.wait(timeout):
            raise RealtimeTimeoutError(f"call {self.call_id}: the webhook got no answer within {timeout} s")
        return self.webhook_status

    @property
    def script_done(self) -> bool:
        """Whether the phone is through with what ``place_call`` asked (or gave up: see :attr:`error`)."""
        return self._script_done.is_set()

    def wait_script(self, timeout: float = 10.0) -> None:
        """Wait until the phone played the audio and pressed the digits given to ``place_call`` (or gave up)."""
        if not self._script_done.wait(timeout):
            raise RealtimeTimeoutError(f"call {self.call_id}: the caller's script did not finish within {timeout} s")

    # -- the caller acts -----------------------------------------------------------------------------------------------
    def hangup(self) -> bool:
        """The caller hangs up (the sidebands are closed with 1000). False if the call had already ended."""
        return self._call.end("ended", "caller")

    def say(self, audio: AudioInput, *, tail: bool = True) -> None:
        """Play more caller audio (a WAV path or PCM16 24 kHz bytes) into the call now, followed by enough silence
        for server VAD to end the turn (``tail``). Raises SessionClosedError when no sideband is attached."""
        self._play(_caller_pcm(audio), tail)

    def press(self, digits: str) -> None:
        """Press keypad ``digits`` now (each one a ``dtmf_event_received`` event on the sideband). Raises
        ValueError for a key a phone does not have, SessionClosedError when no sideband is attached."""
        _check_keys(digits)
        pace = self._server.pace
        for i, digit in enumerate(digits):
            if i and pace:
                self._pause(DIGIT_GAP_S * pace)
            with self._call.lock:
                conn = self._live_sideband()
                conn.emit({"type": "input_audio_buffer.dtmf_event_received", "event": digit,
                           "received_at": int(time.time())})
                self._call.digits_sent += digit

    def _live_sideband(self) -> Any:
        conn = self._call.current
        if conn is None or self._call.ended:
            raise SessionClosedError(f"call {self.call_id}: no sideband attached (state {self.state})")
        return conn

    def _pause(self, seconds: float) -> None:
        """Simulated time passing for the caller (ends early when the call ends)."""
        deadline = time.monotonic() + seconds
        with self._call.cond:
            while not self._call.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._call.cond.wait(left)

    def _play(self, pcm: bytes, tail: bool) -> None:
        with self._call.lock:
            conn = self._live_sideband()
            session = conn.session
            fmt = session.input_format
            vad = session.turn_detection
        if tail and vad:  # enough silence after the voice for server VAD to end the turn
            silence_ms = InputAudioBuffer._silence_ms(vad) + TAIL_EXTRA_MS
            pcm += b"\x00\x00" * int(PCM16_RATE * silence_ms / 1000)
        encoder = WireEncoder(fmt, PCM16_RATE)
        wire = encoder.encode(pcm) + encoder.flush()
        pace = self._server.pace
        step = bytes_per_ms(fmt) * CHUNK_MS if pace else len(wire) or 1
        start = time.monotonic()
        for offset in range(0, len(wire), step):
            if pace and offset:
                self._pause(start + offset / bytes_per_ms(fmt) / 1000.0 * pace - time.monotonic())
            with self._call.lock:
                conn = self._live_sideband()
                feed_input_audio(conn, wire[offset:offset + step])
        logger.debug("call %s: caller played %d bytes of %s", self.call_id, len(wire), fmt)

    # -- the script ----------------------------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._thread)

    def _spawn(self, thread: threading.Thread) -> None:
        """Start a thread of this call; the server's ``stop()`` joins it (the call ends first, so it returns)."""
        thread.start()
        self._server._track_thread(thread)

    def _run(self) -> None:
        try:
            if self._ring():
                self._converse()
        except (SessionClosedError, RealtimeTimeoutError) as exc:
            self.error = str(exc)
            logger.info("call %s: the caller's script stopped (%s)", self.call_id, type(exc).__name__)
        except Exception as exc:  # a phone bug must not pass silently
            self.error = f"{type(exc).__name__}: {exc}"
            logger.exception("call %s: the phone failed", self.call_id)
        finally:
            self._script_done.set()

    def _event(self) -> Json:
        call = self._call
        return {"id": new_id("evt"), "object": "event", "created_at": call.created_at, "type": CALL_INCOMING,
                "data": {"call_id": call.call_id, "sip_headers": call.sip_headers,
                         **({"sip_media_security": call.sip_media_security} if call.sip_media_security else {})}}

    def _ring(self) -> bool:
        """POST the webhook (on its own thread: the call goes on once accepted, even while the app's view is still
        busy answering it) and wait for the accept; False when the call ended instead."""
        body = json.dumps(self._event(), separators=(",", ":")).encode("utf-8")
        headers = {**sign(body, self._secret), "Content-Type": "application/json",
                   "User-Agent": "realtime-sync-simulator/phone"}
        self.webhook_body, self.webhook_headers = body, dict(headers)
        self._spawn(threading.Thread(target=self._post_webhook, args=(body, headers), name="rt-sim-webhook",
                                     daemon=True))
        try:
            return self.wait_accepted(self._timeout)
        except RealtimeTimeoutError:
            self._call.end("unanswered", "phone")
            return False

    def _post_webhook(self, body: bytes, headers: Dict[str, str]) -> None:
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._webhook_timeout) as resp:
                self.webhook_status = resp.status
                resp.read(1 << 16)
        except urllib.error.HTTPError as exc:
            self.webhook_status = exc.code
            self.webhook_error = f"HTTP {exc.code}"
            exc.close()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.webhook_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        logger.info("call %s: webhook answered %s", self.call_id, self.webhook_status or self.webhook_error)
        status = self.webhook_status
        if status is None or not 200 <= status < 300:
            with self._call.lock:  # no accept will come (unless the app accepted before failing its answer)
                if self._call.state == "ringing":
                    self._call.end("refused", "app")
        self._webhook_done.set()

    def _converse(self) -> None:
        call, timeout = self._call, self._timeout
        try:
            self.wait_attached(timeout)
        except RealtimeTimeoutError:
            self.hangup()
            raise
        if self._greeting:
            try:
                self._wait(self._replied(1), timeout, "no greeting")
            except RealtimeTimeoutError:
                logger.info("call %s: no greeting within %s s; the caller speaks anyway", self.call_id, timeout)
        if self._audio:
            with call.lock:
                before = len(call.replies)
            self._play(self._audio, tail=True)
            try:  # an answer is something said (a response that only calls a tool is not one yet)
                self._wait(self._replied(before + 1), timeout, "no answer to the caller's audio")
            except RealtimeTimeoutError:
                logger.info("call %s: no answer within %s s; the caller goes on", self.call_id, timeout)
        if self._dtmf:
            self.press(self._dtmf)


def place_call(server: Any, webhook_url: str, secret: str, *, caller: str = "+15550100", audio: AudioInput = None,
               dtmf: str = "", timeout: float = 10.0, wait_for_greeting: bool = True,
               to: str = "sip:proj_simulator@sip.api.openai.com", sip_headers: Optional[List[Json]] = None,
               sip_media_security: Optional[str] = "srtp", webhook_timeout: Optional[float] = None) -> PlacedCall:
    """Place a SIP call to the app behind ``webhook_url`` (see the module docstring); returns at once.

    ``secret`` signs the webhook (``whsec_...``, as the project's webhook settings give it). ``audio``: what the
    caller says (a WAV path, PCM16 24 kHz mono bytes, or None); ``dtmf``: keys pressed after it. ``timeout`` bounds
    each wait of the caller (accept, sideband attach, greeting, answer). ``sip_headers`` replaces the INVITE's
    headers (default From ``<sip:{caller}@trunk.example>``, To ``<{to}>``, a Call-ID). ``webhook_timeout`` bounds the
    webhook POST (default ``timeout``).
    """
    if not isinstance(webhook_url, str) or not webhook_url.startswith(("http://", "https://")):
        raise ValueError(f"webhook_url must be an http(s) URL, not {webhook_url!r}")
    _check_keys(dtmf)
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    pcm = _caller_pcm(audio)
    sign(b"", secret)  # an empty or undecodable secret fails here (ConfigurationError), not in the thread
    if sip_headers is None:
        sip_headers = [{"name": "From", "value": f"<sip:{caller}@trunk.example>"},
                       {"name": "To", "value": f"<{to}>"},
                       {"name": "Call-ID", "value": f"{secrets.token_hex(12)}@trunk.example"}]
    call = server.calls.new(caller, [dict(h) for h in sip_headers], sip_media_security)
    placed = PlacedCall(server, call, webhook_url, secret, pcm, dtmf, timeout, wait_for_greeting,
                        webhook_timeout if webhook_timeout is not None else timeout)
    logger.info("placing call %s", call.call_id)
    placed._start()
    return placed
