"""Environments, base URLs and the OAuth scopes the product asks for."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

Environment = Literal["simulator", "sandbox", "production"]
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)

DEFAULT_ENDPOINTS: dict[Environment, tuple[str, str]] = {
    "production": ("https://api.allegro.pl", "https://allegro.pl/auth/oauth"),
    "sandbox": (
        "https://api.allegro.pl.allegrosandbox.pl",
        "https://allegro.pl.allegrosandbox.pl/auth/oauth",
    ),
    "simulator": ("http://127.0.0.1:8765", "http://127.0.0.1:8765/auth/oauth"),
}

# The scopes the back-office needs, and why:
SCOPES: tuple[str, ...] = (
    "allegro:api:profile:read",  # GET /me when linking, ratings summary
    "allegro:api:sale:offers:read",  # offer list, details, events, parts
    "allegro:api:sale:offers:write",  # price/quantity/publication commands, offer edits
    "allegro:api:sale:settings:read",  # return policies (read)
    "allegro:api:sale:settings:write",  # return policies (create, update, delete)
    "allegro:api:orders:read",  # checkout forms, order events, waybills
    "allegro:api:orders:write",  # fulfillment status, tracking numbers
    "allegro:api:shipments:read",  # shipment details, labels, protocols, pickups
    "allegro:api:shipments:write",  # delivery proposals, create/cancel shipments, pickups
    "allegro:api:disputes",  # post-purchase issues (disputes and claims)
    "allegro:api:ratings",  # ratings, answers, removal requests
    "allegro:api:messaging",  # buyer messages: threads, read flags, answers, attachments
    "allegro:api:billing:read",  # the fees Allegro charged (per order, per offer)
    "allegro:api:payments:read",  # refunds made
    "allegro:api:payments:write",  # refund a payment
)

ACCEPT_LANGUAGES: tuple[str, ...] = ("pl-PL", "en-US", "uk-UA", "sk-SK", "cs-CZ", "hu-HU")


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    environment: Environment
    api_url: str
    auth_url: str


def parse_environment(value: str) -> Environment:
    if value not in ENVIRONMENTS:
        raise ValueError(f"unknown Allegro environment {value!r}; expected one of {ENVIRONMENTS}")
    return value  # narrowed to Environment by the membership test


def endpoints_for(
    environment: str, api_url: str | None = None, auth_url: str | None = None
) -> Endpoints:
    """Base URLs of ``environment``, each overridable (no trailing slash)."""
    env = parse_environment(environment)
    default_api, default_auth = DEFAULT_ENDPOINTS[env]
    return Endpoints(
        environment=env,
        api_url=(api_url or default_api).rstrip("/"),
        auth_url=(auth_url or default_auth).rstrip("/"),
    )


@dataclass(frozen=True, kw_only=True)
class AllegroSettings:
    """Everything the client needs, read from the environment by the Django side or a script."""

    environment: Environment = "simulator"
    api_url: str = DEFAULT_ENDPOINTS["simulator"][0]
    auth_url: str = DEFAULT_ENDPOINTS["simulator"][1]
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""
    accept_language: str = "pl-PL"
    scopes: tuple[str, ...] = SCOPES
    rate_limit: int = 9000
    rate_window_seconds: float = 60.0
    rate_headroom_percent: float = 5.0
    concurrency_per_account: int = 8
    pause_default_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AllegroSettings:
        """Read ``ALLEGRO_*`` variables (``os.environ`` by default)."""
        values = os.environ if env is None else env
        endpoints = endpoints_for(
            values.get("ALLEGRO_ENVIRONMENT", "simulator"),
            api_url=values.get("ALLEGRO_API_URL") or None,
            auth_url=values.get("ALLEGRO_AUTH_URL") or None,
        )
        return cls(
            environment=endpoints.environment,
            api_url=endpoints.api_url,
            auth_url=endpoints.auth_url,
            client_id=values.get("ALLEGRO_CLIENT_ID", ""),
            client_secret=values.get("ALLEGRO_CLIENT_SECRET", ""),
            redirect_uri=values.get("ALLEGRO_REDIRECT_URI", ""),
            accept_language=values.get("ALLEGRO_ACCEPT_LANGUAGE", "pl-PL"),
            rate_limit=int(values.get("ALLEGRO_RATE_LIMIT", "9000")),
            rate_window_seconds=float(values.get("ALLEGRO_RATE_WINDOW_SECONDS", "60")),
            rate_headroom_percent=float(values.get("ALLEGRO_RATE_HEADROOM_PERCENT", "5")),
            concurrency_per_account=int(values.get("ALLEGRO_CONCURRENCY_PER_ACCOUNT", "8")),
            pause_default_seconds=float(values.get("ALLEGRO_PAUSE_DEFAULT_SECONDS", "60")),
        )

    def __repr__(self) -> str:  # never show the secret
        return (
            f"AllegroSettings(environment={self.environment!r}, api_url={self.api_url!r}, "
            f"auth_url={self.auth_url!r}, client_id={self.client_id!r})"
        )
