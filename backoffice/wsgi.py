"""WSGI entry point (gunicorn backoffice.wsgi).

Without ``DJANGO_SETTINGS_MODULE`` this serves the production settings, which refuse to start
without ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEYS``: a server never falls back to DEBUG with the
development key. Development (``manage.py runserver``, ``make demo``) goes through manage.py,
which chooses ``backoffice.settings``.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.production")

application = get_wsgi_application()
