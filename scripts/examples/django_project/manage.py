#!/usr/bin/env python
"""Django's command-line utility for the example project: ``python manage.py runserver``, ``check``..."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # realtime_backend, next door


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voice_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
