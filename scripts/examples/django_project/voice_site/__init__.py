"""A minimal Django project using the Realtime API (see views.py)."""
