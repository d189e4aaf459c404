"""The views: thin HTTP wrappers around ``realtime_backend`` (which holds the Realtime logic, shared with the Flask
example). The backend is made on first use in each process (each gunicorn worker has its own, after the fork) and
closed when the process exits."""
import atexit
import json
import threading
from typing import Any, Optional

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from realtime_backend import RealtimeBackend, Reply, read_page

_lock = threading.Lock()
_backend: Optional[RealtimeBackend] = None


def backend() -> RealtimeBackend:
    global _backend
    with _lock:
        if _backend is None:
            _backend = RealtimeBackend(settings.REALTIME)
            atexit.register(_backend.close)
        return _backend


@receiver(setting_changed)
def _realtime_settings_changed(setting: str, **kwargs: Any) -> None:
    """``override_settings(REALTIME=...)`` (tests) gets a backend of its own."""
    global _backend
    if setting == "REALTIME":
        with _lock:
            old, _backend = _backend, None
        if old is not None:
            old.close()


def _send(reply: Reply) -> JsonResponse:
    status, body = reply
    return JsonResponse(body, status=status)


def _payload(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except ValueError:
        return None


@csrf_exempt  # a JSON API called by scripts: put your app's own authentication here
@require_POST
def ask(request: HttpRequest) -> JsonResponse:
    return _send(backend().answer(_payload(request), shared=False))


@csrf_exempt
@require_POST
def ask_shared(request: HttpRequest) -> JsonResponse:
    return _send(backend().answer(_payload(request), shared=True))


@never_cache
@require_GET
def token(request: HttpRequest) -> JsonResponse:
    return _send(backend().browser_token())  # in your app: only for a logged-in user


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(read_page(), content_type="text/html; charset=utf-8")


@csrf_exempt  # the service signs the webhook instead: PhoneLine.webhook verifies it (400 when it does not match)
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    return _send(backend().phone.webhook(request.body, request.headers))
