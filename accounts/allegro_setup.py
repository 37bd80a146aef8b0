"""The Django side's configuration of the Allegro client: endpoints, OAuth client, governor.

Everything is read from ``django.conf.settings`` on each call (cheap), so tests can override
settings; only the rate governor is a per-process singleton (one per configuration).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.urls import reverse

from allegro.config import SCOPES, Endpoints, endpoints_for
from allegro.governor import Governor, GovernorLimits, LocalGovernor, RateGovernor
from allegro.oauth import OAuthClient
from allegro.transport import RetryPolicy

# The simulator's built-in application (``python -m sandbox serve`` registers it by default), so
# the demo needs no configuration. Allegro's sandbox and production need your own application.
SIMULATOR_CLIENT_ID = "demo-client"
SIMULATOR_CLIENT_SECRET = "demo-secret"  # public demo value of the local simulator
CALLBACK_URL_NAME = "accounts:allegro_callback"


def allegro_environment() -> str:
    return str(settings.ALLEGRO_ENVIRONMENT)


def retry_policy() -> RetryPolicy:
    """How every client retries a 5xx, a timeout or a dropped connection
    (``ALLEGRO_RETRY_BASE_DELAY``)."""
    return RetryPolicy(base_delay=float(settings.ALLEGRO_RETRY_BASE_DELAY))


def allegro_endpoints() -> Endpoints:
    return endpoints_for(
        allegro_environment(),
        api_url=settings.ALLEGRO_API_URL or None,
        auth_url=settings.ALLEGRO_AUTH_URL or None,
    )


def client_credentials() -> tuple[str, str]:
    """``(client_id, client_secret)``; the simulator's demo app when none is configured."""
    client_id = str(settings.ALLEGRO_CLIENT_ID or "")
    secret = str(settings.ALLEGRO_CLIENT_SECRET or "")
    if not client_id and allegro_environment() == "simulator":
        return SIMULATOR_CLIENT_ID, SIMULATOR_CLIENT_SECRET
    return client_id, secret


def product_scopes() -> tuple[str, ...]:
    return SCOPES


def redirect_uri_for(*, absolute_callback: str) -> str:
    """``ALLEGRO_REDIRECT_URI`` when set, else the callback URL as the browser reached it."""
    return str(settings.ALLEGRO_REDIRECT_URI or absolute_callback)


def callback_path() -> str:
    return reverse(CALLBACK_URL_NAME)


def oauth_client(*, for_browser: bool = False) -> OAuthClient:
    """The OAuth client; ``for_browser`` builds authorization URLs with
    ``ALLEGRO_BROWSER_AUTH_URL`` when set (the token endpoint always uses ``ALLEGRO_AUTH_URL``)."""
    client_id, secret = client_credentials()
    auth_url = allegro_endpoints().auth_url
    if for_browser:
        auth_url = getattr(settings, "ALLEGRO_BROWSER_AUTH_URL", None) or auth_url
    return OAuthClient(auth_url=auth_url, client_id=client_id, client_secret=secret)


def governor_limits() -> GovernorLimits:
    return GovernorLimits(
        limit=int(settings.ALLEGRO_RATE_LIMIT),
        window=float(settings.ALLEGRO_RATE_WINDOW_SECONDS),
        headroom_percent=float(settings.ALLEGRO_RATE_HEADROOM_PERCENT),
        concurrency=int(settings.ALLEGRO_CONCURRENCY_PER_ACCOUNT),
    )


_governors: dict[tuple[object, ...], Governor] = {}
_governors_lock = threading.Lock()


def process_governor() -> Governor:
    """The process-wide governor: Redis-backed when ``REDIS_URL`` is set, else in-process."""
    client_id, _ = client_credentials()
    limits = governor_limits()
    redis_url = getattr(settings, "REDIS_URL", None)
    # Every process of one deployment must use the same namespace (the default); a separate
    # one only isolates deployments (or test runs) sharing a Redis database.
    namespace = str(getattr(settings, "ALLEGRO_GOVERNOR_NAMESPACE", "") or "allegro:governor")
    key = (redis_url, namespace, client_id, limits)
    with _governors_lock:
        governor = _governors.get(key)
        if governor is None:
            governor = _build_governor(
                redis_url=redis_url, namespace=namespace, client_id=client_id, limits=limits
            )
            _governors[key] = governor
        return governor


def _build_governor(
    *, redis_url: str | None, namespace: str, client_id: str, limits: GovernorLimits
) -> Governor:
    if redis_url:
        from redis import Redis

        return RateGovernor(
            Redis.from_url(redis_url), client_id=client_id, limits=limits, namespace=namespace
        )
    return LocalGovernor(limits=limits)


def forget_governors() -> None:
    """Drop the cached governors and close their Redis connections (tests)."""
    with _governors_lock:
        governors = list(_governors.values())
        _governors.clear()
    for governor in governors:
        redis = getattr(governor, "redis", None)
        if redis is not None:
            redis.close()
