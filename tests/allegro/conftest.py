"""Fixtures for the Allegro client tests: clients wired to the session's simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from allegro.client import AllegroClient
from allegro.governor import Governor, Lane, Lease, NullGovernor
from allegro.oauth import OAuthClient
from allegro.transport import RetryPolicy, StaticTokenSource, TokenSource, build_http_client
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import SELLER_ID


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class RecordingGovernor:
    """Wraps a governor and keeps every lease it granted (to count what was sent)."""

    def __init__(self, inner: Governor) -> None:
        self.inner = inner
        self.enforces_pause = inner.enforces_pause
        self.leases: list[Lease] = []

    def acquire(
        self, account_key: str, *, timeout: float | None = None, lane: str = Lane.SYNC
    ) -> Lease:
        lease = self.inner.acquire(account_key, timeout=timeout, lane=lane)
        self.leases.append(lease)
        return lease

    def release(self, lease: Lease) -> None:
        self.inner.release(lease)

    def pause(self, seconds: float | None = None) -> float:
        return self.inner.pause(seconds)

    def paused_for(self) -> float:
        return self.inner.paused_for()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    client = build_http_client(timeout=30)
    yield client
    client.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(
    sim: SimulatorProcess, http: httpx.Client, sleeps: Sleeps
) -> Callable[..., AllegroClient]:
    """``make_client(seller=..., token=..., token_source=..., governor=..., retry=...)``."""

    def make(
        *,
        seller: str | None = SELLER_ID,
        token: str | None = None,
        token_source: TokenSource | None = None,
        governor: Governor | None = None,
        retry: RetryPolicy | None = None,
        scopes: list[str] | None = None,
    ) -> AllegroClient:
        source = token_source or StaticTokenSource(token or sim.token(seller, scopes))
        return AllegroClient(
            sim.url,
            source,
            governor or NullGovernor(),
            account_key=seller or "app",
            http=http,
            retry=retry or RetryPolicy(sleep=sleeps, random=lambda: 0.5),
        )

    return make


@pytest.fixture
def seller_client(make_client: Callable[..., AllegroClient]) -> AllegroClient:
    return make_client()


@pytest.fixture
def oauth(sim: SimulatorProcess, http: httpx.Client) -> OAuthClient:
    return OAuthClient(
        auth_url=sim.auth_url,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        redirect_uri=sim.redirect_uri,
        http=http,
    )


def stats(sim: SimulatorProcess) -> dict[str, Any]:
    data: dict[str, Any] = sim.control("GET", "/stats")
    return data


def faults(sim: SimulatorProcess, **settings: Any) -> None:
    sim.control("PUT", "/faults", settings)
