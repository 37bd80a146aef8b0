"""Production settings: the base settings, hardened.

Refuses to start without ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEYS`` (either may be given as
``NAME_FILE``), and names the one that is missing.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from backoffice.settings import *  # noqa: F403
from backoffice.settings import env, secret, secret_list


def _require(name: str) -> str:
    value = secret(name)
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set: production settings need it (or {name}_FILE pointing at a file)."
        )
    return value


IS_PRODUCTION = True
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _require("SECRET_KEY")
_require("FIELD_ENCRYPTION_KEYS")
FIELD_ENCRYPTION_KEYS = secret_list("FIELD_ENCRYPTION_KEYS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
