"""Settings of the example project: the minimum Django needs, plus ``REALTIME`` (from the environment)."""
import os
import secrets

from realtime_backend import Settings

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)  # set it in production
EXTRA_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "")  # your server's name(s), comma-separated
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [host for host in EXTRA_HOSTS.split(",") if host]
ROOT_URLCONF = "voice_site.urls"
WSGI_APPLICATION = "voice_site.wsgi.application"
INSTALLED_APPS: list = []
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware"]
DATABASES: dict = {}  # no database: the views only talk to the Realtime API
USE_TZ = True

#: OPENAI_API_KEY, OPENAI_BASE_URL, REALTIME_MODEL, OPENAI_WEBHOOK_SECRET (see realtime_backend.Settings)
REALTIME = Settings.from_env()
