"""Base settings, read from the environment.

Every value comes from an environment variable (django-environ). A secret may also be given as
``NAME_FILE`` pointing at a file that holds it (Docker/Kubernetes secrets). Without
``DATABASE_URL``/``REDIS_URL`` the product runs on embedded defaults: SQLite in ``var/`` and
kombu's filesystem broker, so ``make demo`` works on a machine with no database or Redis server.

``backoffice.settings.production`` imports this module and hardens it.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from csp.constants import NONCE as CSP_NONCE
from django.utils.translation import gettext_lazy as _

django_stubs_ext.monkeypatch()  # lets admin/queryset generics be subscripted at runtime

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.FileAwareEnv()

# Embedded-mode state (SQLite file, filesystem broker folders); overridable for tests.
VAR_DIR = Path(env.str("BACKOFFICE_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

IS_PRODUCTION = False


def secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or the file named by ``NAME_FILE``, without surrounding whitespace."""
    value: str = env.str(name, default=default)
    return value.strip()


def secret_list(name: str, default: str = "") -> list[str]:
    """A comma-separated secret (e.g. key rotation lists) from ``NAME`` or ``NAME_FILE``."""
    return [item.strip() for item in secret(name, default).split(",") if item.strip()]


# --- core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = secret("SECRET_KEY", "dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _dev_encryption_key(secret: str) -> str:
    """A Fernet-shaped key derived from the dev secret key; production must set its own."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode()


# Comma-separated; the first key encrypts, all keys decrypt (rotation).
FIELD_ENCRYPTION_KEYS: list[str] = secret_list("FIELD_ENCRYPTION_KEYS") or [
    _dev_encryption_key(SECRET_KEY)
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "template_partials",
    "django_htmx",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "backoffice",
    "accounts",
    "offers",
    "orders",
    "shipping",
    "aftersales",
    "mirror",
    "jobs",
    "ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "backoffice.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "backoffice.middleware.LoginThrottleMiddleware",
    "backoffice.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.account_switcher",
            ],
        },
    }
]

# --- database: PostgreSQL from DATABASE_URL, else embedded SQLite ----------------------------
if secret("DATABASE_URL"):
    DATABASES = {"default": env.db_url_config(secret("DATABASE_URL"))}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
    # A few list indexes carry extra columns for PostgreSQL's index-only scans (INCLUDE);
    # SQLite builds them without those columns, which is all the demo needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker + cache, else filesystem broker + file-based cache -----------------
REDIS_URL: str | None = secret("REDIS_URL") or None
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT: str | None = None
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bo",
        }
    }
else:
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    # kombu's filesystem transport with atomic writes and claims (backoffice/broker.py): the
    # stock one can hand the worker a half-written message.
    CELERY_BROKER_TRANSPORT = "backoffice.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
        # How long an idle (or fully prefetched) consumer waits before it looks again.
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=1.0),
    }
    # A file-based cache, not local memory: bulk-job progress and pending confirmations are
    # written by the Celery worker and read by the web process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery (read by backoffice/celery.py with namespace CELERY) -----------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# A job run's lease lasts the task's hard time limit plus this margin (jobs.services).
JOBS_LEASE_MARGIN_SECONDS = env.int("JOBS_LEASE_MARGIN_SECONDS", default=30)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "Europe/Warsaw"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- auth: django-allauth, e-mail + password, no public sign-up, TOTP MFA --------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapters.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff accounts are created by an administrator
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # allauth's throttling, spelled out: failed logins per client IP and per account (the login
    # e-mail, from any IP). A throttled sign-in is answered 429 (backoffice.middleware).
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
# The client's IP behind a reverse proxy (allauth reads it for the limits above). 0 trusts no
# X-Forwarded-For: every request counts against the address that connected, so behind a proxy
# set the number of proxies that append to X-Forwarded-For (1 for one nginx/Caddy), or the header
# a trusted proxy sets to the client's address. Never set them when clients reach the app directly.
ALLAUTH_TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER: str | None = (
    env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Allegro Back-office"
MFA_TOTP_TOLERANCE = 1  # accept the neighbouring 30 s step (phone clock drift)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="backoffice@localhost")

# --- i18n: Polish first, English available ---------------------------------------------------
LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", _("Polish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_HTTPONLY = True  # read by the server only
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = False  # True in production (HTTPS only)

# --- Content-Security-Policy (django-csp): only this site ----------------------------------
# Scripts and styles come from static/ (htmx is vendored) or carry the request's nonce; offer
# thumbnails come from Allegro's image CDN. backoffice.middleware.ContentSecurityPolicyMiddleware
# adds the Allegro authorisation page to form-action (linking posts, then redirects there).
ALLEGRO_IMAGE_HOSTS: list[str] = env.list(
    "ALLEGRO_IMAGE_HOSTS", default=["https://*.allegroimg.com", "https://*.allegrosandbox.pl"]
)
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", CSP_NONCE],
        "img-src": ["'self'", "data:", *ALLEGRO_IMAGE_HOSTS],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- static files: served by WhiteNoise, nothing from the internet ---------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Allegro ---------------------------------------------------------------------------------
ALLEGRO_ENVIRONMENT: str = env.str("ALLEGRO_ENVIRONMENT", default="simulator")
if ALLEGRO_ENVIRONMENT not in {"simulator", "sandbox", "production"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "ALLEGRO_ENVIRONMENT must be one of simulator, sandbox, production; "
        f"got {ALLEGRO_ENVIRONMENT!r}"
    )
ALLEGRO_CLIENT_ID: str = secret("ALLEGRO_CLIENT_ID")
ALLEGRO_CLIENT_SECRET: str = secret("ALLEGRO_CLIENT_SECRET")
ALLEGRO_API_URL: str | None = env.str("ALLEGRO_API_URL", default=None)
ALLEGRO_AUTH_URL: str | None = env.str("ALLEGRO_AUTH_URL", default=None)
# Linking and the client (accounts/allegro_setup.py). An empty redirect URI means "this
# back-office's own callback URL, as the browser reached it".
ALLEGRO_REDIRECT_URI: str = env.str("ALLEGRO_REDIRECT_URI", default="")
ALLEGRO_LINK_STATE_TTL: int = env.int("ALLEGRO_LINK_STATE_TTL", default=600)
# Where browsers are sent to authorise, when it differs from the server-side ALLEGRO_AUTH_URL
# (docker-compose's simulator: browsers use localhost:8765, containers use simulator:8765).
ALLEGRO_BROWSER_AUTH_URL: str | None = env.str("ALLEGRO_BROWSER_AUTH_URL", default=None)
ALLEGRO_TOKEN_REFRESH_MARGIN: int = env.int("ALLEGRO_TOKEN_REFRESH_MARGIN", default=300)
ALLEGRO_REFRESH_MAX_FAILURES: int = env.int("ALLEGRO_REFRESH_MAX_FAILURES", default=3)
ALLEGRO_RATE_LIMIT: int = env.int("ALLEGRO_RATE_LIMIT", default=9000)
ALLEGRO_RATE_WINDOW_SECONDS: float = env.float("ALLEGRO_RATE_WINDOW_SECONDS", default=60.0)
ALLEGRO_RATE_HEADROOM_PERCENT: float = env.float("ALLEGRO_RATE_HEADROOM_PERCENT", default=5.0)
ALLEGRO_CONCURRENCY_PER_ACCOUNT: int = env.int("ALLEGRO_CONCURRENCY_PER_ACCOUNT", default=8)
# First wait before retrying a 5xx, timeout or dropped connection (doubling, half jittered).
ALLEGRO_RETRY_BASE_DELAY: float = env.float("ALLEGRO_RETRY_BASE_DELAY", default=0.5)
ALLEGRO_GOVERNOR_NAMESPACE: str = env.str("ALLEGRO_GOVERNOR_NAMESPACE", default="allegro:governor")
ALLEGRO_OPENAPI_PATH: Path = (
    BASE_DIR / env.str("ALLEGRO_OPENAPI_PATH", default="../shared/allegro/openapi.yaml")
).resolve()

# --- the mirror (the other MIRROR_* settings are optional, docs/architecture.md) ------------
# Seconds a sync task runs before it re-queues itself with the next slice (any worker may take it).
MIRROR_TASK_SLICE_SECONDS: float = env.float("MIRROR_TASK_SLICE_SECONDS", default=150.0)
# Orders the initial pass writes per transaction, with the cursor past them (orders/flows.py).
MIRROR_ORDER_WRITE_BATCH: int = env.int("MIRROR_ORDER_WRITE_BATCH", default=500)

# --- staff lists ------------------------------------------------------------------------------
# From this many rows deep the offer / order lists' pager links carry a cursor (ui/paging.py): the
# next page is read after the last row shown (per account, by index) instead of by offset.
LIST_KEYSET_FROM: int = env.int("LIST_KEYSET_FROM", default=1000)
# Pages that follow something running (a job, a refund, a sync) poll with htmx at the interval
# their template names (``every {{ 2|poll }}``: 2 s); this factor scales every one of them
# (ui/templatetags/polling.py). 1 keeps the templates' intervals.
UI_POLL_SCALE: float = env.float("UI_POLL_SCALE", default=1.0)

# --- logging: never log secrets; tokens are never passed to a logger -------------------------
# runserver's access log (django.server) has the OAuth callback's code/state redacted; gunicorn's
# access log does the same through backoffice.gunicorn_logging.RedactingLogger.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_oauth": {"()": "backoffice.redaction.RedactOAuthParamsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_oauth"],
        },
    },
}
