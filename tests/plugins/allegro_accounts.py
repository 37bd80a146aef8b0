"""Fixtures for linked Allegro accounts, all against the session's simulator over loopback.

- ``allegro_settings``: points the back-office's Allegro settings at the (freshly reset and
  seeded) simulator with its test client app, and clears the rate governor's Redis state.
- ``link_account``: ``link_account(seller_login, *, user=None) -> AllegroAccount`` runs the real
  authorization-code flow (state + PKCE): the back-office's "Link" view, the simulator's consent
  page (driven with httpx), then the back-office's own callback view. Returns the linked account
  with its encrypted tokens stored. ``user`` (default: a superuser ``linker@example.com``) is the
  staff member who links it and gets the manager grant.
- ``sim_stats``: ``sim_stats(clear=False)`` reads the simulator's request/token statistics.
- ``allegro_env(settings)``: the ``ALLEGRO_*`` environment a subprocess (a Celery worker) needs to
  use the same simulator, client app and governor keys as the test.

Seed sellers (logins): ``SklepKowalski`` (10000001), ``ElektroMax_PL`` (10000002), and with
more sellers seeded ``DomIOgrod24``, ``ModaDlaCiebie``, ``ZabawkiKrakow``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

SELLER_LOGIN = "SklepKowalski"
OTHER_SELLER_LOGIN = "ElektroMax_PL"


def point_settings_at(settings: Any, simulator: Any, **overrides: Any) -> None:
    """Make the back-office talk to ``simulator`` (a ``SimulatorProcess``)."""
    settings.ALLEGRO_ENVIRONMENT = "simulator"
    settings.ALLEGRO_API_URL = simulator.url
    settings.ALLEGRO_AUTH_URL = simulator.auth_url
    settings.ALLEGRO_CLIENT_ID = simulator.client_id
    settings.ALLEGRO_CLIENT_SECRET = simulator.client_secret
    settings.ALLEGRO_REDIRECT_URI = simulator.redirect_uri
    # This test's own governor keys: no other test (or helper) sharing the Redis database
    # with client id "test-client" can reset its budget or pause under it.
    settings.ALLEGRO_GOVERNOR_NAMESPACE = f"test-governor:{uuid.uuid4().hex}"
    for key, value in overrides.items():
        setattr(settings, key, value)


ENV_SETTINGS = (
    "ALLEGRO_ENVIRONMENT",
    "ALLEGRO_API_URL",
    "ALLEGRO_AUTH_URL",
    "ALLEGRO_CLIENT_ID",
    "ALLEGRO_CLIENT_SECRET",
    "ALLEGRO_REDIRECT_URI",
    "ALLEGRO_GOVERNOR_NAMESPACE",
)


def allegro_env(settings: Any) -> dict[str, str]:
    return {name: str(getattr(settings, name) or "") for name in ENV_SETTINGS}


def reset_governor() -> None:
    """Forget the process governor's Redis state (budget log, pause) and the health throttle."""
    from accounts.allegro_setup import process_governor
    from accounts.clients import forget_health_writes

    governor = process_governor()
    reset = getattr(governor, "reset", None)
    if reset is not None:
        reset()
    forget_health_writes()


def forget_governors() -> None:
    from accounts.allegro_setup import forget_governors as forget

    forget()


@pytest.fixture
def allegro_settings(settings: Any, sim: Any) -> Iterator[Any]:
    point_settings_at(settings, sim)
    reset_governor()
    yield sim
    reset_governor()
    forget_governors()


@pytest.fixture
def sim_stats(sim: Any) -> Callable[..., dict[str, Any]]:
    def read(*, clear: bool = False) -> dict[str, Any]:
        stats: dict[str, Any] = sim.control("DELETE" if clear else "GET", "/stats")
        return stats

    return read


def start_link(django_client: Any, *, account: Any = None) -> str:
    """POST the back-office's "Link" view; returns the authorization URL it redirects to."""
    from django.urls import reverse

    data = {"account": str(account.pk)} if account is not None else {}
    response = django_client.post(reverse("accounts:link_start"), data)
    assert response.status_code == 302, response.status_code
    location: str = response["Location"]
    return location


def consent(authorize_url: str, *, seller_login: str, decision: str = "approve") -> dict[str, str]:
    """Answer the simulator's consent page; returns the query Allegro sends to the callback."""
    from allegro.transport import tls_context
    from sandbox.consent import approve

    with httpx.Client(timeout=30, verify=tls_context()) as http:
        location = approve(http, authorize_url, seller_login=seller_login, decision=decision)
    return dict(parse_qsl(urlsplit(location).query))


def finish_link(django_client: Any, query: dict[str, str]) -> Any:
    """GET the back-office's own callback view with what Allegro sent back."""
    from django.urls import reverse

    return django_client.get(reverse("accounts:allegro_callback"), query)


@pytest.fixture
def link_account(allegro_settings: Any, db: None) -> Callable[..., Any]:
    from django.test import Client

    from accounts.models import AllegroAccount

    def link(seller_login: str, *, user: Any = None) -> AllegroAccount:
        from tests.factories import SuperuserFactory

        staff = user or SuperuserFactory.create(email="linker@example.com", username="linker")
        client = Client()
        client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
        query = consent(start_link(client), seller_login=seller_login)
        response = finish_link(client, query)
        assert response.status_code == 302, response.status_code
        return AllegroAccount.objects.select_related("token").get(
            environment="simulator", login=seller_login
        )

    return link
