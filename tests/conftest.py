"""Suite-wide fixtures.

- Runs only on PostgreSQL + Redis (``DATABASE_URL`` / ``REDIS_URL``); the embedded default has
  its own smoke test that starts a subprocess.
- Each xdist worker gets its own Redis database number (cache, Celery broker, ``redis_client``).
- Staff fixtures follow healthchecks' alice/bob/charlie: ``alice`` operates ``account``, ``bob``
  operates ``other_account``, ``charlie`` only views ``account``.
- Browser tests use Debian's Chromium; any request leaving the machine fails the test.

Other helpers add their plugins to ``pytest_plugins`` (e.g. ``"tests.plugins.simulator"``).
"""

from __future__ import annotations

import gc
import os
import re
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

# Django's live_server thread and Playwright's sync API (which runs an event loop) share the
# main thread; Django would otherwise refuse ORM calls from "async context".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins: list[str] = [
    "tests.plugins.simulator",
    "tests.plugins.allegro_accounts",
    "tests.polling",
    "tests.plugins.schedule",
]

# Browser flows run in Debian's chromium-headless-shell: Chromium's own headless build (the same
# Blink, V8 and network stack, without the desktop browser's windows and services around them),
# which is what Playwright itself runs for headless Chromium. A flow costs about a third less CPU
# than in the full browser (45 flows: 100 -> 65 CPU-s, measured). What the shell lacks is the
# full browser's PDF viewer: a flow that shows a label or protocol inline uses ``CHROMIUM``
# through ``full_chromium`` (tests/shipping/test_print_browser.py).
CHROMIUM = "/usr/bin/chromium"
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# The URLs the offline guard must see: all but those of the browser itself (data:, blob:, ...)
# and of this machine. Playwright hands the pattern to its driver, so the many local requests of
# a flow (pages, static files, htmx) go on without a round trip through Python; whatever matches
# is still judged by ``is_local_url`` (a URL with user info, say), so the pattern only has to
# let no non-local URL through.
NON_LOCAL_URL = re.compile(
    r"^(?!(?:data|blob|about|chrome|chrome-extension):)"
    r"(?![a-z][a-z0-9+.-]*://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:[/?#]|$))"
)


# --- per-worker Redis database ---------------------------------------------------------------
def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits or 0)


def worker_redis_url() -> str:
    """``REDIS_URL`` with its db number shifted by the xdist worker index (mod 16)."""
    base = os.environ["REDIS_URL"]
    parts = urlsplit(base)
    base_db = int(parts.path.strip("/") or 0)
    db = (base_db + _worker_index()) % 16
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not os.environ.get("REDIS_URL"):
        pytest.exit(
            "The suite runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL "
            "(`make test` sets defaults).",
            returncode=4,
        )
    # Hashing is not under test; PBKDF2 with 1M iterations would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Nor is the wait between retries of a 5xx, a timeout or a dropped connection (the transport's
    # backoff has its own tests with an injected sleep): faults are absorbed by as many retries,
    # without 0.25-2 s of sleep each.
    settings.ALLEGRO_RETRY_BASE_DELAY = 0.01
    url = worker_redis_url()
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "bo-test",
        }
    }
    settings.CELERY_BROKER_URL = url
    from backoffice.celery import app as celery_app

    celery_app.conf.broker_url = url
    _flush_with_delete()
    from django.db.backends.signals import connection_created

    connection_created.connect(_remember_connection, weak=False)


# Python's cyclic garbage collector, tuned for a test process. By the end of collection a
# worker holds Django, Playwright, Hypothesis and every test module: a few hundred thousand
# objects that live until the process ends, and each full collection walked them all again
# (about a tenth of a worker's CPU, measured with gc.callbacks over a whole run). Freezing them
# takes them out of every later collection, and a larger first generation makes collections
# rarer. Nothing is left uncollected: refcounting still frees frozen objects, and a cycle made
# later is found as before.
GC_FIRST_GENERATION = 5000


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION, older, oldest)


# Every database connection this process opened, so that none outlives the test database.
_OPENED: weakref.WeakSet[Any] = weakref.WeakSet()


def _remember_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    _OPENED.add(connection)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test databases; before it drops them, every connection this worker
    still has open is closed. Django keeps a connection per thread, and per context while an
    event loop runs in the thread (asgiref's ``Local``), as it does once Playwright's sync API
    has started: a connection opened in another thread or context and left open (the greenlets
    of test_rate_governor_accounts had 14) is not one pytest-django closes, and a database with
    a session left on it cannot be dropped ("being accessed by other users")."""
    yield
    close_opened_connections()


def close_opened_connections() -> int:
    """Close every database connection this process opened and still has open, in whatever
    thread or context; returns how many were open."""
    closed = 0
    for wrapper in list(_OPENED):
        if wrapper.connection is not None:
            wrapper.inc_thread_sharing()  # it may have been opened by a thread that has ended
            try:
                wrapper.close()
            finally:
                wrapper.dec_thread_sharing()
            closed += 1
    return closed


# What ``migrate`` wrote and no test changes: the flush keeps them, so its ``post_migrate`` finds
# every content type and permission in place instead of creating them all again.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})


def _flush_with_delete() -> None:
    """Transactional tests (``transaction=True``, ``live_server``) end with Django's flush, one
    ``TRUNCATE`` of every table. On PostgreSQL that gives ~60 tables and their indexes new files
    and costs 0.5-3 s per test on a busy machine; a ``DELETE`` of the few rows a test wrote takes
    milliseconds and leaves the same empty tables. Every foreign key here is ``DEFERRABLE
    INITIALLY DEFERRED`` (Django's default), so the order of the deletes inside flush's
    transaction does not matter; a key that was not would fail the flush loudly at commit."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(
        self: DatabaseOperations,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in KEPT_TABLES
        ]

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Rate-limit counters (allauth) and cached values never leak between tests."""
    from django.core.cache import cache

    yield
    cache.clear()


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A client on this worker's Redis database, flushed after the test."""
    import redis

    client = redis.Redis.from_url(worker_redis_url())
    yield client
    client.flushdb()
    client.close()


# --- staff and accounts ----------------------------------------------------------------------
@pytest.fixture
def password() -> str:
    from tests.factories import PASSWORD

    return PASSWORD


@pytest.fixture
def account(db: None) -> Any:
    from tests.factories import AllegroAccountFactory

    return AllegroAccountFactory(login="sklep-a")


@pytest.fixture
def other_account(db: None) -> Any:
    from tests.factories import AllegroAccountFactory

    return AllegroAccountFactory(login="sklep-b")


@pytest.fixture
def grant(db: None) -> Callable[..., Any]:
    """``grant(user, account, role=Role.OPERATOR)`` creates an ``AccountGrant``."""
    from accounts.models import Role
    from tests.factories import AccountGrantFactory

    def make(user: Any, account: Any, role: Any = Role.OPERATOR) -> Any:
        return AccountGrantFactory(user=user, account=account, role=role)

    return make


@pytest.fixture
def user(db: None) -> Any:
    """Staff with no grant at all."""
    from tests.factories import UserFactory

    return UserFactory(email="nobody@example.com", username="nobody")


@pytest.fixture
def alice(account: Any, grant: Callable[..., Any]) -> Any:
    from accounts.models import Role
    from tests.factories import UserFactory

    staff = UserFactory(email="alice@example.com", username="alice")
    grant(staff, account, Role.OPERATOR)
    return staff


@pytest.fixture
def bob(other_account: Any, grant: Callable[..., Any]) -> Any:
    from accounts.models import Role
    from tests.factories import UserFactory

    staff = UserFactory(email="bob@example.com", username="bob")
    grant(staff, other_account, Role.OPERATOR)
    return staff


@pytest.fixture
def charlie(account: Any, grant: Callable[..., Any]) -> Any:
    from accounts.models import Role
    from tests.factories import UserFactory

    staff = UserFactory(email="charlie@example.com", username="charlie")
    grant(staff, account, Role.VIEWER)
    return staff


@pytest.fixture
def superuser(db: None) -> Any:
    from tests.factories import SuperuserFactory

    return SuperuserFactory(email="root@example.com", username="root")


@pytest.fixture
def client_for(client: Any) -> Callable[[Any], Any]:
    """``client_for(user)``: Django's test client signed in as ``user``."""

    def sign_in(staff: Any) -> Any:
        client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return sign_in


# --- Playwright on Debian's Chromium, offline ------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": HEADLESS_SHELL, "args": CHROMIUM_ARGS}


def full_chromium(launch_browser: Callable[..., Any]) -> Iterator[Any]:
    """Body of a ``browser`` fixture for a module whose flows need the full browser (its PDF
    viewer): ``browser = pytest.fixture(scope="module")(full_chromium)``."""
    browser = launch_browser(executable_path=CHROMIUM)
    yield browser
    browser.close()


BROWSER_LOCALE = "pl-PL"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Browser flows run as a Polish seller's browser: ``Accept-Language: pl-PL``, Polish number
    and date formats in the browser itself. The product is Polish unless the person picks
    English; a test of the English interface marks itself
    ``@pytest.mark.browser_context_args(locale="en-US")`` and uses the language switch."""
    return {**browser_context_args, "locale": BROWSER_LOCALE}


def is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    # chrome:// and chrome-extension:// are the browser's own pages (its PDF viewer shows an
    # inline label or protocol), never the network
    if parts.scheme in {"data", "blob", "about", "chrome", "chrome-extension"}:
        return True
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def blocked_requests() -> list[str]:
    """Non-local URLs the browser tried to load during the test (each was aborted)."""
    return []


@pytest.fixture
def csp_violations() -> list[str]:
    """Content-Security-Policy violations Chromium reported in the console during the test."""
    return []


@pytest.fixture
def context(context: Any, blocked_requests: list[str], csp_violations: list[str]) -> Iterator[Any]:
    """pytest-playwright's context with every non-local request aborted and recorded, failing
    the test on any Content-Security-Policy violation (a script or style the policy refused)."""

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            csp_violations.append(f"{message.text} ({message.location.get('url', '')})")

    context.on("console", on_console)

    def guard(route: Any) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            blocked_requests.append(url)
            route.abort("blockedbyclient")

    context.route(NON_LOCAL_URL, guard)
    yield context
    if blocked_requests:
        pytest.fail(f"The page tried to reach the internet: {blocked_requests}")
    if csp_violations:
        pytest.fail(f"Content-Security-Policy violations: {csp_violations}")
