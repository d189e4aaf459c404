"""Verify OpenAI webhooks (Standard Webhooks signatures) and read the ``realtime.call.incoming`` event.

A SIP call to ``sip:$PROJECT_ID@sip.api.openai.com;transport=tls`` makes the service POST a signed
``realtime.call.incoming`` event to the project's webhook URL. The view answering it checks the signature first::

    from realtime_sync import webhooks
    from realtime_sync.errors import WebhookVerificationError

    try:
        call = webhooks.verify(request.get_data(), request.headers, secret=os.environ["OPENAI_WEBHOOK_SECRET"])
    except WebhookVerificationError:
        return "", 400
    client.calls.accept(call.call_id, SessionOptions(instructions="..."))

The check is the one openai-python performs (``lib/_webhooks.py``, ADDENDUM-2026-12 A4): the ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` headers (any case) must be present; the timestamp must be an integer
within ``tolerance`` seconds of now, in either direction (both ends included); the key is the base64 text after
``whsec_`` (any other secret is used as its UTF-8 bytes); the expected signature is
``base64(HMAC-SHA256(key, f"{webhook_id}.{timestamp}.{body}"))``, and the header may carry several space-separated
``v1,<signature>`` values, any of which may match. Verify the raw body exactly as received (before any JSON parsing).

Nothing here logs or puts in an exception the secret, a signature or the body.
"""
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from .errors import ConfigurationError, UnexpectedWebhookEventError, WebhookVerificationError

__all__ = ["verify", "unwrap", "verify_signature", "sign", "CallIncoming", "SipHeader", "WebhookEvent",
           "CALL_INCOMING", "DEFAULT_TOLERANCE"]

log = logging.getLogger("realtime_sync.webhooks")

CALL_INCOMING = "realtime.call.incoming"
DEFAULT_TOLERANCE = 300  #: seconds, either way, as openai-python
Body = Union[bytes, bytearray, memoryview, str]
Headers = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]
_NAMES = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True)
class SipHeader:
    """One header of the caller's SIP INVITE (authorization headers removed by the service). Untrusted input."""

    name: str
    value: str


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook event of any type: ``data`` is its ``data`` object, ``raw`` the whole parsed event."""

    id: str
    type: str
    created_at: Optional[int]
    data: Dict[str, Any]
    raw: Dict[str, Any] = field(repr=False)
    webhook_id: str = ""  #: the ``webhook-id`` header (the same on every redelivery: use it to drop duplicates)


@dataclass(frozen=True)
class CallIncoming:
    """A verified ``realtime.call.incoming`` event: a SIP call waiting for ``calls.accept``/``reject``.

    ``call_id`` goes unchanged to the calls endpoints and to ``attach_call``. ``sip_headers`` keeps the INVITE's
    headers in order, repeats included (untrusted: the caller controls them). ``sip_media_security`` is ``"rtp"``,
    ``"srtp"``, another string (treat as unknown) or ``None`` when the service did not say.
    """

    call_id: str
    sip_headers: List[SipHeader]
    sip_media_security: Optional[str]
    raw: Dict[str, Any] = field(repr=False)
    event_id: str = ""
    created_at: Optional[int] = None
    webhook_id: str = ""

    def header(self, name: str) -> Optional[str]:
        """The first SIP header called ``name`` (any case), or None: ``call.header("From")``."""
        lower = name.lower()
        return next((h.value for h in self.sip_headers if h.name.lower() == lower), None)


# -- the signature ------------------------------------------------------------------------------------------------
def _header_items(headers: Headers) -> Iterable[Tuple[str, Any]]:
    items = getattr(headers, "items", None)
    return items() if callable(items) else headers  # type: ignore[return-value]


def _find_headers(headers: Headers) -> Dict[str, str]:
    """The three webhook headers, matched in any case. WSGI environ names (``HTTP_WEBHOOK_ID``, Django's
    ``request.META``) are understood too. A list value (multi-dict) gives its first element."""
    found: Dict[str, str] = {}
    for raw_name, value in _header_items(headers):
        if not isinstance(raw_name, str):
            continue
        name = raw_name.lower()
        if name.startswith("http_"):
            name = name[5:].replace("_", "-")
        if name in _NAMES and name not in found:
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if isinstance(value, str) and value:
                found[name] = value
    missing = [n for n in _NAMES if n not in found]
    if missing:
        raise WebhookVerificationError(f"missing webhook header: {missing[0]}", "missing_header")
    return found


def _key(secret: Optional[str]) -> bytes:
    if secret is None:
        secret = os.environ.get("OPENAI_WEBHOOK_SECRET")
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("the webhook secret is empty (set it from the project's webhook settings, "
                                 "for example OPENAI_WEBHOOK_SECRET)")
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[6:])
        except (binascii.Error, ValueError):
            raise ConfigurationError("the whsec_ webhook secret is not valid base64") from None
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ConfigurationError("the webhook secret is empty after decoding")
    return key


def _body_bytes(body: Body) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookVerificationError("the webhook body is not UTF-8", "invalid_body") from None
        return data
    raise TypeError(f"body must be bytes or str, not {type(body).__name__}")


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode("utf-8"), hashlib.sha256)
    mac.update(body)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_signature(body: Body, headers: Headers, secret: Optional[str] = None, tolerance: int = DEFAULT_TOLERANCE, *,
                     now: Optional[float] = None) -> str:
    """Check the headers and signature of a webhook request; return its ``webhook-id``.

    Raises :class:`~realtime_sync.errors.WebhookVerificationError` (``reason``: ``missing_header``,
    ``invalid_timestamp``, ``too_old``, ``too_new``, ``bad_signature``, ``invalid_body``) or
    :class:`~realtime_sync.errors.ConfigurationError` for an empty or undecodable secret. ``secret`` defaults to
    ``OPENAI_WEBHOOK_SECRET``. ``now`` (Unix seconds) is for tests; by default the clock is read.
    """
    found = _find_headers(headers)
    webhook_id, timestamp, signature_header = (found[n] for n in _NAMES)
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("the webhook-timestamp header is not an integer", "invalid_timestamp") \
            from None
    current = int(time.time() if now is None else now)
    if current - ts > tolerance:
        log.info("webhook %s refused: timestamp %d s old (tolerance %d s)", webhook_id[:64], current - ts, tolerance)
        raise WebhookVerificationError(f"webhook timestamp too old ({current - ts} s, tolerance {tolerance} s)",
                                       "too_old")
    if ts > current + tolerance:
        log.info("webhook %s refused: timestamp %d s ahead (tolerance %d s)", webhook_id[:64], ts - current, tolerance)
        raise WebhookVerificationError(f"webhook timestamp too new ({ts - current} s ahead, tolerance "
                                       f"{tolerance} s)", "too_new")
    key = _key(secret)
    expected = _signature(key, webhook_id, timestamp, _body_bytes(body))
    candidates = [part[3:] if part.startswith("v1,") else part for part in signature_header.split()]
    # compare every candidate (no early exit), in constant time each
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8", "replace"))
    if not matched:
        log.info("webhook %s refused: no matching signature among %d", webhook_id[:64], len(candidates))
        raise WebhookVerificationError("the webhook signature does not match", "bad_signature")
    return webhook_id


def unwrap(body: Body, headers: Headers, secret: Optional[str] = None, tolerance: int = DEFAULT_TOLERANCE, *,
           now: Optional[float] = None) -> WebhookEvent:
    """Verify (as :func:`verify_signature`) and parse a webhook of any type into a :class:`WebhookEvent`.
    A body that is not a JSON object with a string ``type`` raises WebhookVerificationError (``invalid_body``)."""
    webhook_id = verify_signature(body, headers, secret, tolerance, now=now)
    text = body if isinstance(body, str) else bytes(body).decode("utf-8")
    try:
        event = json.loads(text)
    except ValueError:
        raise WebhookVerificationError("the webhook body is not JSON", "invalid_body") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise WebhookVerificationError("the webhook body is not an event object with a type", "invalid_body")
    data = event.get("data")
    created = event.get("created_at")
    return WebhookEvent(id=str(event.get("id") or ""), type=event["type"],
                        created_at=created if isinstance(created, int) and not isinstance(created, bool) else None,
                        data=data if isinstance(data, dict) else {}, raw=event, webhook_id=webhook_id)


def verify(body: Body, headers: Headers, secret: Optional[str] = None, tolerance: int = DEFAULT_TOLERANCE, *,
           now: Optional[float] = None) -> CallIncoming:
    """Verify a webhook request and return its ``realtime.call.incoming`` event as a :class:`CallIncoming`.

    ``body`` is the raw request body (bytes or str), ``headers`` any mapping of the request headers (Flask's
    ``request.headers``, Django's ``request.headers`` or ``request.META``, a dict) or a list of pairs, ``secret``
    the project's webhook secret (``whsec_...``). Raises WebhookVerificationError when the request must be refused
    (answer 400), :class:`~realtime_sync.errors.UnexpectedWebhookEventError` for a correctly signed event of
    another type (its ``event`` is the :class:`WebhookEvent`; answer 2xx), and ConfigurationError for a bad secret.
    """
    event = unwrap(body, headers, secret, tolerance, now=now)
    if event.type != CALL_INCOMING:
        raise UnexpectedWebhookEventError(event.type, event)
    data = event.data
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise WebhookVerificationError("realtime.call.incoming without a data.call_id", "invalid_body")
    headers_out = [SipHeader(str(h.get("name", "")), str(h.get("value", "")))
                   for h in data.get("sip_headers") or () if isinstance(h, dict)]
    security = data.get("sip_media_security")
    log.info("incoming call %s verified (%d SIP headers)", call_id, len(headers_out))
    return CallIncoming(call_id=call_id, sip_headers=headers_out,
                        sip_media_security=security if isinstance(security, str) else None, raw=event.raw,
                        event_id=event.id, created_at=event.created_at, webhook_id=event.webhook_id)


def sign(body: Body, secret: Optional[str], *, webhook_id: Optional[str] = None,
         timestamp: Optional[int] = None) -> Dict[str, str]:
    """The headers a sender (the simulator's phone, a test) puts on ``body``: ``webhook-id``,
    ``webhook-timestamp`` (now by default) and ``webhook-signature`` (``v1,<base64>``), signed with ``secret``."""
    webhook_id = webhook_id or "wh_" + secrets.token_hex(12)
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    signature = _signature(_key(secret), webhook_id, ts, _body_bytes(body))
    return {"webhook-id": webhook_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{signature}"}
