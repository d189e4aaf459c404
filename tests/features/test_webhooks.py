"""realtime_sync.webhooks: the Standard Webhooks signature check, cross-checked case by case against openai-python's
own ``client.webhooks.verify_signature`` / ``unwrap`` on the same body, headers, secret and clock."""
import base64
import json
import time

import pytest

from realtime_sync import webhooks
from realtime_sync.errors import ConfigurationError, UnexpectedWebhookEventError, WebhookVerificationError

openai = pytest.importorskip("openai")

NOW = 1_797_000_000
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret, another project").decode()
RAW_SECRET = "plain-text-secret-not-whsec"
EVENT = {"id": "evt_W1", "object": "event", "created_at": NOW, "type": "realtime.call.incoming",
         "data": {"call_id": "rtc_u1_abc",
                  "sip_headers": [{"name": "From", "value": "<sip:+14155550100@trunk.example>"},
                                  {"name": "To", "value": "<sip:proj_X@sip.api.openai.com>"},
                                  {"name": "X-Note", "value": "first"}, {"name": "x-note", "value": "second"}],
                  "sip_media_security": "srtp"}}
BODY = json.dumps(EVENT)


def _signed(body=BODY, secret=SECRET, ts=NOW, webhook_id="wh_1"):
    return webhooks.sign(body, secret, webhook_id=webhook_id, timestamp=ts)


def _good_sig(body=BODY, secret=SECRET, ts=NOW, webhook_id="wh_1"):
    return _signed(body, secret, ts, webhook_id)["webhook-signature"][3:]


def _without(headers, name):
    return {k: v for k, v in headers.items() if k != name}


# (name, body, headers, secret, our expected outcome: "ok" or a WebhookVerificationError reason)
CASES = [
    ("valid", BODY, _signed(), SECRET, "ok"),
    ("valid bytes body", BODY.encode(), _signed(), SECRET, "ok"),
    ("valid non-ASCII body", json.dumps({**EVENT, "id": "évt ☎"}, ensure_ascii=False).encode(),
     _signed(json.dumps({**EVENT, "id": "évt ☎"}, ensure_ascii=False)), SECRET, "ok"),
    ("valid non-whsec secret", BODY, _signed(secret=RAW_SECRET), RAW_SECRET, "ok"),
    ("whsec secret used as text", BODY, _signed(secret="x" + SECRET), SECRET, "bad_signature"),
    ("several signatures, the second matches", BODY,
     {**_signed(), "webhook-signature": f"v1,{_good_sig(secret=OTHER_SECRET)} v1,{_good_sig()}"}, SECRET, "ok"),
    ("several signatures, the first matches", BODY,
     {**_signed(), "webhook-signature": f"v1,{_good_sig()} v1,{_good_sig(secret=OTHER_SECRET)}"}, SECRET, "ok"),
    ("several signatures, none matches", BODY,
     {**_signed(), "webhook-signature": f"v1,{_good_sig(secret=OTHER_SECRET)}  v1,{_good_sig(ts=NOW - 1)}"},
     SECRET, "bad_signature"),
    ("signature without the v1 prefix", BODY, {**_signed(), "webhook-signature": _good_sig()}, SECRET, "ok"),
    ("signature with a v2 prefix", BODY, {**_signed(), "webhook-signature": "v2," + _good_sig()}, SECRET,
     "bad_signature"),
    ("tampered body", BODY.replace("rtc_u1_abc", "rtc_u1_abd"), _signed(), SECRET, "bad_signature"),
    ("another secret", BODY, _signed(secret=OTHER_SECRET), SECRET, "bad_signature"),
    ("another webhook id", BODY, {**_signed(), "webhook-id": "wh_2"}, SECRET, "bad_signature"),
    ("timestamp re-stamped", BODY, {**_signed(), "webhook-timestamp": str(NOW + 1)}, SECRET, "bad_signature"),
    ("oldest accepted (300 s)", BODY, _signed(ts=NOW - 300), SECRET, "ok"),
    ("too old (301 s)", BODY, _signed(ts=NOW - 301), SECRET, "too_old"),
    ("newest accepted (+300 s)", BODY, _signed(ts=NOW + 300), SECRET, "ok"),
    ("too new (+301 s)", BODY, _signed(ts=NOW + 301), SECRET, "too_new"),
    ("too old and another secret", BODY, _signed(ts=NOW - 3600, secret=OTHER_SECRET), SECRET, "too_old"),
    ("timestamp not an integer", BODY, {**_signed(), "webhook-timestamp": "soon"}, SECRET, "invalid_timestamp"),
    ("missing webhook-id", BODY, _without(_signed(), "webhook-id"), SECRET, "missing_header"),
    ("missing webhook-timestamp", BODY, _without(_signed(), "webhook-timestamp"), SECRET, "missing_header"),
    ("missing webhook-signature", BODY, _without(_signed(), "webhook-signature"), SECRET, "missing_header"),
    ("header names in any case", BODY, {k.upper() if "id" in k else k.title(): v for k, v in _signed().items()},
     SECRET, "ok"),
]


def _openai_outcome(body, headers, secret):
    client = openai.OpenAI(api_key="sk-unused", webhook_secret=secret)
    try:
        client.webhooks.verify_signature(body, headers)
    except openai.InvalidWebhookSignatureError:
        return "invalid"
    except ValueError:
        return "missing"
    event = client.webhooks.unwrap(body, headers)
    return ("ok", event.type, event.data.call_id)


@pytest.mark.parametrize("name, body, headers, secret, expected", CASES, ids=[c[0] for c in CASES])
def test_verify_agrees_with_openai_python(monkeypatch, name, body, headers, secret, expected):
    monkeypatch.setattr(time, "time", lambda: NOW + 0.5)  # both libraries read time.time(): the same clock
    theirs = _openai_outcome(body, headers, secret)
    try:
        call = webhooks.verify(body, headers, secret)
    except WebhookVerificationError as exc:
        ours = exc.reason
        assert secret not in str(exc) and _good_sig() not in str(exc)
    else:
        ours = "ok"
        assert theirs == ("ok", "realtime.call.incoming", call.call_id)
    assert ours == expected
    if ours != "ok":
        assert theirs == ("missing" if ours == "missing_header" else "invalid")


def test_the_window_uses_the_real_clock_by_default():
    fresh = webhooks.sign(BODY, SECRET)
    assert webhooks.verify(BODY, fresh, SECRET).call_id == "rtc_u1_abc"
    openai.OpenAI(api_key="sk-unused").webhooks.verify_signature(BODY, fresh, secret=SECRET)
    stale = webhooks.sign(BODY, SECRET, timestamp=int(time.time()) - 400)
    with pytest.raises(WebhookVerificationError) as info:
        webhooks.verify(BODY, stale, SECRET)
    assert info.value.reason == "too_old"
    assert webhooks.verify(BODY, stale, SECRET, tolerance=500).call_id == "rtc_u1_abc"


def test_call_incoming_fields():
    call = webhooks.verify(BODY.encode(), _signed(), SECRET, now=NOW)
    assert call.call_id == "rtc_u1_abc" and call.sip_media_security == "srtp"
    assert [h.name for h in call.sip_headers] == ["From", "To", "X-Note", "x-note"]  # order and repeats kept
    assert call.header("from") == "<sip:+14155550100@trunk.example>" and call.header("X-NOTE") == "first"
    assert call.header("Via") is None
    assert call.event_id == "evt_W1" and call.created_at == NOW and call.webhook_id == "wh_1"
    assert call.raw == EVENT
    bare = {**EVENT, "data": {"call_id": "rtc_2", "sip_headers": []}}
    call = webhooks.verify(json.dumps(bare), _signed(json.dumps(bare)), SECRET, now=NOW)
    assert (call.call_id, call.sip_headers, call.sip_media_security) == ("rtc_2", [], None)


def test_other_event_types_raise_a_typed_error_carrying_the_event():
    other = {"id": "evt_2", "object": "event", "created_at": NOW, "type": "response.completed",
             "data": {"id": "resp_1"}}
    body = json.dumps(other)
    with pytest.raises(UnexpectedWebhookEventError) as info:
        webhooks.verify(body, _signed(body), SECRET, now=NOW)
    assert info.value.event_type == "response.completed" and info.value.event.data == {"id": "resp_1"}
    assert not isinstance(info.value, WebhookVerificationError)  # signed correctly: the app answers 2xx
    assert webhooks.unwrap(body, _signed(body), SECRET, now=NOW).type == "response.completed"


@pytest.mark.parametrize("body, expected", [
    (b"\xff\xfe not utf-8", "invalid_body"),
    ("not json", "invalid_body"),
    ("[1, 2]", "invalid_body"),
    (json.dumps({**EVENT, "data": {"sip_headers": []}}), "invalid_body"),  # no call_id
])
def test_signed_but_unusable_bodies(body, expected):
    signed = _signed(body.decode("latin-1") if isinstance(body, bytes) else body)
    if isinstance(body, bytes):  # sign the very bytes (an attacker-free check of the body rules)
        signed = {**signed, "webhook-signature": "v1," + webhooks._signature(
            webhooks._key(SECRET), "wh_1", str(NOW), body)}
    with pytest.raises(WebhookVerificationError) as info:
        webhooks.verify(body, signed, SECRET, now=NOW)
    assert info.value.reason == expected


def test_headers_from_wsgi_environ_and_pair_lists():
    signed = _signed()
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed.items()}
    meta["CONTENT_TYPE"] = "application/json"
    assert webhooks.verify(BODY, meta, SECRET, now=NOW).call_id == "rtc_u1_abc"  # Django's request.META
    assert webhooks.verify(BODY, list(signed.items()), SECRET, now=NOW).call_id == "rtc_u1_abc"
    assert webhooks.verify(BODY, {k: [v] for k, v in signed.items()}, SECRET, now=NOW).call_id == "rtc_u1_abc"


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!!notbase64", None])
def test_a_bad_secret_is_a_configuration_error(monkeypatch, secret):
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError):
        webhooks.verify(BODY, _signed(), secret, now=NOW)


def test_the_secret_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    assert webhooks.verify(BODY, _signed(), now=NOW).call_id == "rtc_u1_abc"
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", OTHER_SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, _signed(), now=NOW)


def test_sign_matches_an_independent_hmac():
    import hashlib
    import hmac

    key = base64.b64decode(SECRET[6:])
    expected = base64.b64encode(hmac.new(key, f"wh_1.{NOW}.{BODY}".encode(), hashlib.sha256).digest()).decode()
    assert _signed() == {"webhook-id": "wh_1", "webhook-timestamp": str(NOW), "webhook-signature": f"v1,{expected}"}
