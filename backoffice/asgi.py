"""ASGI entry point.

Without ``DJANGO_SETTINGS_MODULE`` this serves the production settings, which refuse to start
without ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEYS`` (see ``backoffice/wsgi.py``).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.production")

application = get_asgi_application()
