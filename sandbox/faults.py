"""Fault injection, switchable at runtime through ``/__sandbox__/faults`` or ``serve`` flags.

Every random fault has a ``rate`` in [0, 1]; the RNG is seeded (``seed``) so runs repeat.
Faults apply to Allegro's REST paths (not to ``/__sandbox__`` and, except for the token fault,
not to ``/auth/oauth``). ``paths`` narrows them to path prefixes.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class RateLimit:
    """Allegro's per-Client-ID limit: ``limit`` requests per ``window`` s, then 429 and a block.

    While blocked, every further call answers 429 and pushes the end of the block to
    ``now + block`` (the block *extends* while the client keeps calling). The 429's
    ``Retry-After`` is the block in whole seconds, as Allegro sends it; a block under a second
    (a test's scale-down, never Allegro's) is sent as it is (``Retry-After: 0.2``).
    """

    enabled: bool = True
    limit: int = 9000
    window: float = 60.0
    block: float = 60.0


@dataclass
class UserBucket:
    """Per-user leaky bucket: leaks ``rate`` requests/s, holds ``capacity``; overflow is 429
    with ``Retry-After: retry_after`` (1 s, the shortest Allegro sends; see ``RateLimit``)."""

    enabled: bool = False
    rate: float = 10.0
    capacity: int = 20
    retry_after: float = 1.0


@dataclass
class Faults:
    seed: int = 1
    rate_limit: RateLimit = field(default_factory=RateLimit)
    user_bucket: UserBucket = field(default_factory=UserBucket)
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503, 504])
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    drop_rate: float = 0.0
    duplicate_events_rate: float = 0.0
    reorder_events_rate: float = 0.0
    skip_ready_for_processing_rate: float = 0.0
    shipment_error_rate: float = 0.0
    # checkout-form ids whose shipment create-commands end in ERROR (CARRIER_UNAVAILABLE)
    shipment_error_orders: list[str] = field(default_factory=list)
    token_rotate_then_503_rate: float = 0.0
    paths: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(1), repr=False)

    def roll(self, rate: float) -> bool:
        return rate > 0 and (rate >= 1 or self.rng.random() < rate)

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rng", None)
        return data

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update (unknown keys raise ``KeyError``)."""
        names = {f.name for f in fields(self)} - {"rng"}
        for key, value in data.items():
            if key not in names:
                raise KeyError(key)
            if key == "rate_limit":
                self.rate_limit = RateLimit(**{**asdict(self.rate_limit), **value})
            elif key == "user_bucket":
                self.user_bucket = UserBucket(**{**asdict(self.user_bucket), **value})
            elif key == "shipment_error_orders":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError("shipment_error_orders must list checkout-form ids")
                self.shipment_error_orders = list(value)
            else:
                setattr(self, key, value)
        if "seed" in data:
            self.rng = random.Random(self.seed)

    def reset(self, baseline: dict[str, Any] | None = None) -> None:
        """Back to the defaults, then to ``baseline`` (the ``serve`` flags) when given."""
        fresh = Faults()
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        if baseline:
            self.update(baseline)


@dataclass
class RateWindow:
    started: float = 0.0
    count: int = 0
    blocked_until: float = 0.0


@dataclass
class Bucket:
    level: float = 0.0
    updated: float = 0.0


@dataclass
class Limiter:
    """Runtime counters behind ``RateLimit`` and ``UserBucket`` (kept per process)."""

    windows: dict[str, RateWindow] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def client_allows(self, *, client_id: str, cfg: RateLimit, now: float) -> tuple[bool, float]:
        """Count one request; returns (allowed, seconds until the block ends)."""
        w = self.windows.setdefault(client_id, RateWindow(started=now))
        if now < w.blocked_until:
            w.blocked_until = now + cfg.block
            return False, cfg.block
        if now - w.started >= cfg.window:
            w.started, w.count = now, 0
        w.count += 1
        if w.count > cfg.limit:
            w.blocked_until = now + cfg.block
            w.started, w.count = now + cfg.block, 0
            return False, cfg.block
        return True, 0.0

    def user_allows(self, *, user: str, cfg: UserBucket, now: float) -> bool:
        b = self.buckets.setdefault(user, Bucket(updated=now))
        b.level = max(0.0, b.level - (now - b.updated) * cfg.rate)
        b.updated = now
        if b.level + 1 > cfg.capacity:
            return False
        b.level += 1
        return True

    def clear(self) -> None:
        self.windows.clear()
        self.buckets.clear()
