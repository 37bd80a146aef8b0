"""Process-wide state of a running simulator: config, store, clock, faults, statistics."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.store import Store


@dataclass
class Clock:
    """Simulated time: wall clock plus an offset that ``/__sandbox__/clock`` can advance."""

    offset: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def iso(self, ts: float | None = None) -> str:
        return iso(self.now() if ts is None else ts)


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as Allegro writes timestamps."""
    text = datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")
    return text[:-6] + "Z"


@dataclass
class Stats:
    paths: Counter[str] = field(default_factory=Counter)
    token_grants: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "paths": dict(self.paths),
            "tokenGrants": dict(self.token_grants),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "rateLimited": self.rate_limited,
        }

    def clear(self) -> None:
        self.paths.clear()
        self.token_grants.clear()
        self.statuses.clear()
        self.rate_limited = 0


@dataclass
class State:
    config: SandboxConfig
    store: Store
    clock: Clock = field(default_factory=Clock)
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    violations: list[dict[str, Any]] = field(default_factory=list)
    secret: str = ""
    fault_baseline: dict[str, Any] = field(default_factory=dict)
    settings_baseline: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, config: SandboxConfig) -> State:
        store = Store(config.db_path)
        secret = store.meta_get("jwt_secret")
        if secret is None:
            secret = secrets.token_urlsafe(32)
            store.meta_set("jwt_secret", secret)
        state = cls(config=config, store=store, secret=secret, settings_baseline=config.settings())
        state.clock.offset = float(store.meta_get("clock_offset") or 0.0)
        return state

    def set_clock_offset(self, offset: float) -> None:
        self.clock.offset = offset
        self.store.meta_set("clock_offset", repr(offset))
