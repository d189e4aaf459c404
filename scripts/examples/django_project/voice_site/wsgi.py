"""The WSGI entry point, for a production server::

    gunicorn --chdir scripts/examples/django_project --worker-class gthread --threads 10 voice_site.wsgi
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # realtime_backend

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voice_site.settings")
application = get_wsgi_application()
