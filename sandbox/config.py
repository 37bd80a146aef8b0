"""Simulator configuration: registered client apps, token lifetimes, paths."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sandbox.spec import CACHED_SPEC, spec_locate

REPO_ROOT = Path(__file__).resolve().parent.parent

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"
DEMO_REDIRECT_URIS = (
    "http://localhost:8000/accounts/allegro/callback/",
    "http://127.0.0.1:8000/accounts/allegro/callback/",
)


@dataclass(frozen=True)
class ClientApp:
    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]


def parse_client(value: str) -> ClientApp:
    """Parse ``ID:SECRET:URI[,URI...]`` (URIs contain colons, so split on the first two only)."""
    client_id, secret, uris = value.split(":", 2)
    return ClientApp(
        client_id=client_id, secret=secret, redirect_uris=tuple(u for u in uris.split(",") if u)
    )


def clients_from_env() -> list[ClientApp]:
    """``SANDBOX_CLIENTS`` is a JSON list of ``{"client_id", "secret", "redirect_uris"}``."""
    raw = os.environ.get("SANDBOX_CLIENTS")
    if not raw:
        return []
    return [
        ClientApp(
            client_id=c["client_id"],
            secret=c["secret"],
            redirect_uris=tuple(c.get("redirect_uris", ())),
        )
        for c in orjson.loads(raw)
    ]


def default_clients() -> list[ClientApp]:
    return [
        ClientApp(
            client_id=DEMO_CLIENT_ID, secret=DEMO_CLIENT_SECRET, redirect_uris=DEMO_REDIRECT_URIS
        )
    ]


def spec_path() -> Path:
    """The spec found without downloading (sandbox/spec.py); ``serve --validate`` resolves and
    checks it (downloading it if need be) before it starts."""
    return spec_locate() or CACHED_SPEC


SETTINGS = (
    "access_ttl",
    "refresh_ttl",
    "code_ttl",
    "device_code_ttl",
    "operation_delay",
    "command_delay",
    "event_retention",
    "message_send_interval",
)


@dataclass
class SandboxConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    clients: dict[str, ClientApp] = field(default_factory=dict)
    access_ttl: int = 43200
    refresh_ttl: int = 90 * 24 * 3600
    code_ttl: int = 10
    device_code_ttl: int = 600
    validate: bool = False
    spec_path: Path = field(default_factory=spec_path)
    market_rate: float = 0.0
    operation_delay: float = 0.0
    command_delay: float = 0.0
    event_retention: int = 24 * 3600
    # Allegro lets a user send one message a second (simulated time); a test may shorten it.
    message_send_interval: float = 1.0

    def settings(self) -> dict[str, float]:
        """The runtime-adjustable settings (``/__sandbox__/settings``)."""
        return {key: getattr(self, key) for key in SETTINGS}

    def apply(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            if key not in SETTINGS:
                raise KeyError(key)
            setattr(self, key, type(getattr(self, key))(value))

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sandbox.sqlite3"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
