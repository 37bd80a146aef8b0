"""Paging helpers: offset/limit with each endpoint's maxima, and ``from`` event cursors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


@dataclass(frozen=True, kw_only=True)
class PageLimits:
    """``max_limit`` per page; ``max_offset`` and ``max_window`` (offset + limit) when bounded."""

    max_limit: int
    max_offset: int | None = None
    max_window: int | None = None


OFFERS = PageLimits(max_limit=1000, max_offset=9_999_999, max_window=10_000_000)
CHECKOUT_FORMS = PageLimits(max_limit=100)
RATINGS = PageLimits(max_limit=100, max_offset=20_000)
ISSUES = PageLimits(max_limit=100)
ISSUE_CHAT = PageLimits(max_limit=100)
RETURN_POLICIES = PageLimits(max_limit=60, max_offset=59)
COMMAND_TASKS = PageLimits(max_limit=1000, max_offset=999)
EVENTS_MAX_LIMIT = 1000


def iter_offset(
    fetch: Callable[[int, int], Sequence[T]],
    *,
    limits: PageLimits,
    page_size: int | None = None,
    start: int = 0,
) -> Iterator[T]:
    """Yield items of ``fetch(offset, limit)`` page by page until a short page or a maximum.

    Pages never ask beyond the endpoint's maximum offset or offset + limit; items past those
    bounds are unreachable by offset paging and must be narrowed with filters instead.
    """
    for page in iter_pages(fetch, limits=limits, page_size=page_size, start=start):
        yield from page


def iter_pages(
    fetch: Callable[[int, int], Sequence[T]],
    *,
    limits: PageLimits,
    page_size: int | None = None,
    start: int = 0,
) -> Iterator[Sequence[T]]:
    """Like ``iter_offset`` but yields whole pages (to upsert a page per transaction)."""
    limit = min(page_size or limits.max_limit, limits.max_limit)
    offset = start
    while True:
        if limits.max_offset is not None and offset > limits.max_offset:
            return
        size = limit
        if limits.max_window is not None:
            size = min(size, limits.max_window - offset)
            if size <= 0:
                return
        page = fetch(offset, size)
        if page:
            yield page
        if len(page) < size:
            return
        offset += len(page)


@dataclass(frozen=True, kw_only=True)
class EventPage(Generic[E]):
    events: Sequence[E]
    cursor: str | None  # the id to pass as ``from`` next time (unchanged when empty)


def iter_event_pages(
    fetch: Callable[[str | None, int], Sequence[E]],
    *,
    cursor: str | None,
    id_of: Callable[[E], str],
    limit: int = EVENTS_MAX_LIMIT,
    max_pages: int | None = None,
) -> Iterator[EventPage[E]]:
    """Follow a ``from`` cursor until a page is shorter than ``limit``.

    Each page carries the cursor to persist *after* its events are committed, so a crash
    replays the page instead of skipping it.
    """
    limit = min(limit, EVENTS_MAX_LIMIT)
    pages = 0
    while max_pages is None or pages < max_pages:
        events = fetch(cursor, limit)
        pages += 1
        if events:
            cursor = id_of(events[-1])
        yield EventPage(events=events, cursor=cursor)
        if len(events) < limit:
            return
