"""What every domain's sync passes share: settings, deadlines, Allegro's time format, offset
passes with requests in flight."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings

from mirror.fetching import in_order

P = TypeVar("P")


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def iso(moment: datetime) -> str:
    """Allegro's date-time form (UTC, milliseconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def workers() -> int:
    return int(setting("MIRROR_FETCH_WORKERS", 4))


@dataclass(frozen=True)
class Deadline:
    """Monotonic deadline of a task slice; ``None`` means unbounded."""

    at: float | None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


@dataclass(frozen=True)
class Page(Generic[P]):
    offset: int
    items: list[Any]
    total: int | None
    extra: P | None = None


def offset_pages(
    fetch: Callable[[int], Page[P]],
    *,
    start: int,
    limit: int,
    max_offset: int | None = None,
    in_flight: int | None = None,
) -> Generator[Page[P], None, None]:
    """Pages from ``start`` on: the first alone (it tells the total), then several in flight.

    Stops after a short page. Pages come in offset order so a checkpoint (next offset) written
    with each page's rows never skips one.
    """
    page = fetch(start)
    yield page
    total = page.total
    offset = start + limit
    while len(page.items) >= limit:
        end = max(total or 0, offset + limit)  # beyond the known total: one page at a time
        offsets = [o for o in range(offset, end, limit) if max_offset is None or o <= max_offset]
        if not offsets:
            return
        for page in in_order(fetch, offsets, workers=in_flight or workers()):
            yield page
            if len(page.items) < limit:
                return
        offset = offsets[-1] + limit
        total = None
