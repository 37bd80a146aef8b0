"""Offers: full listing pass (initial, fallback, periodic), the offer-events cursor, and the
details pass (EAN).

Details: Offer details: the EAN, which only ``GET /sale/product-offers/{offerId}`` carries.

The listing (``GET /sale/offers``) has no EAN, so this pass reads the details of the offers
whose details are due: never read (new offers; the offer sync clears ``details_synced_at``
when an offer's last change moves) and, as a safety net, read longer ago than
``MIRROR_OFFER_DETAILS_MAX_AGE_HOURS``. The database is the cursor: a crashed run leaves the
unread offers due, and the next run resumes with them. A run reads at most
``MIRROR_OFFER_DETAILS_PER_RUN`` offers through the account's client (the shared rate governor
paces it) and runs under the offers lock group, so it never races the offer passes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import AllegroAccount
from allegro import errors, paging
from allegro.api import offers as offers_api
from allegro.client import AllegroClient
from mirror.fetching import in_order
from mirror.models import Resource, SyncStatus
from mirror.passes import Deadline, Page, offset_pages, setting, workers
from mirror.progress import pass_begin, pass_end, pass_page, state_for, state_locked
from mirror.upsert import statistics_keep_up
from offers.models import Offer
from offers.sync import (
    offers_delete,
    offers_details_count_due,
    offers_details_due,
    offers_set_product_linked,
    offers_store_details,
    offers_sweep,
    offers_touch_events,
    offers_upsert,
)

log = logging.getLogger(__name__)
PAGE = 1000
IDS_PER_REQUEST = 100
EVENTS_PAGE = 1000


def offer_events_tail(client: AllegroClient) -> str:
    """The id of the newest retained offer event ('' when there is none)."""
    cursor: str | None = None
    for page in offers_api.iter_offer_event_pages(client, cursor=None, limit=EVENTS_PAGE):
        cursor = page.cursor
    return cursor or ""


def _fetch_listing(client: AllegroClient, offset: int) -> Page[None]:
    result = offers_api.list_offers(client, offset=offset, limit=PAGE)
    return Page(offset=offset, items=result.offers, total=result.total_count)


def _linked_ids(client: AllegroClient, *, offer_ids: Sequence[str] | None = None) -> set[str]:
    """Ids of the offers linked to a product (``product.id.empty=false``), optionally narrowed."""
    linked: set[str] = set()
    offset = 0
    limit = IDS_PER_REQUEST if offer_ids else PAGE
    filters = offers_api.OfferFilters(
        product_linked=True, offer_ids=list(offer_ids) if offer_ids else None
    )
    while True:
        page = offers_api.list_offer_ids(client, filters=filters, offset=offset, limit=limit)
        linked.update(page)
        if len(page) < limit or offer_ids:
            return linked
        offset += limit


def full_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """List every offer (resumable); returns ``True`` when the pass completed.

    A new pass first notes the newest offer event: once the pass completes the event cursor
    starts there, so nothing that changes during the pass is missed.
    """
    state = state_for(account=account, resource=Resource.OFFERS)
    if state.status != SyncStatus.RUNNING:
        tail = offer_events_tail(client)
        with transaction.atomic():
            events = state_locked(account=account, resource=Resource.OFFER_EVENTS)
            events.cursor = tail
            events.initial_done = False
            events.save()
            pass_begin(state=state, cursor="0")
    start = int(state.cursor or 0)
    pages = offset_pages(
        lambda offset: _fetch_listing(client, offset),
        start=start,
        limit=PAGE,
        max_offset=paging.OFFERS.max_offset,
        # 1000-offer pages are large: fewer of them in flight keeps the worker's memory down.
        in_flight=int(setting("MIRROR_OFFER_PAGES_IN_FLIGHT", 2)),
    )
    for page in pages:
        with transaction.atomic():
            offers_upsert(
                account=account, offers=page.items, synced_at=timezone.now(), mark_seen=True
            )
            pass_page(
                state=state,
                fetched=len(page.items),
                total=page.total,
                cursor=str(page.offset + len(page.items)),
            )
        statistics_keep_up(Offer)
        if deadline.passed() and len(page.items) == PAGE:
            pages.close()
            return False
    _finish(
        account=account, client=client, state_total=state.total or 0, started_at=state.started_at
    )
    return True


def _finish(
    *,
    account: AllegroAccount,
    client: AllegroClient,
    state_total: int,
    started_at: datetime | None,
) -> None:
    linked = _linked_ids(client)  # ids only: a few bytes per offer
    with transaction.atomic():
        offers_set_product_linked(account=account, linked_ids=sorted(linked))
        state = state_locked(account=account, resource=Resource.OFFERS)
        seen_since = started_at or timezone.now()
        seen = Offer.objects.filter(account=account, synced_at__gte=seen_since).count()
        swept = 0
        if seen >= state_total:
            swept = offers_sweep(account=account, seen_since=seen_since)
        else:  # offsets moved under the pass: keep the unseen rows rather than drop live offers
            log.warning("offers pass of account %s saw %s of %s", account.pk, seen, state_total)
        pass_end(state=state, initial_done=True, cursor="", full_pass_at=timezone.now())
        events = state_locked(account=account, resource=Resource.OFFER_EVENTS)
        events.initial_done = True
        events.save()
    log.info("offers pass of account %s done: %s seen, %s swept", account.pk, seen, swept)


@dataclass(frozen=True)
class Listed:
    """An offer's current listing row, and whether it is linked to a product."""

    offer: offers_api.OfferSummary
    product_linked: bool


def _refresh_ids(client: AllegroClient, ids: Sequence[str]) -> list[Listed]:
    """Current listing rows of ``ids``."""
    numeric = [i for i in ids if i.isdigit()]
    if not numeric:
        return []
    filters = offers_api.OfferFilters(offer_ids=numeric)
    result = offers_api.list_offers(client, filters=filters, limit=len(numeric))
    linked = _linked_ids(client, offer_ids=numeric) if result.offers else set()
    return [Listed(offer=o, product_linked=o.id in linked) for o in result.offers]


def _fetch_for_events(
    client: AllegroClient, events: Sequence[offers_api.OfferEvent]
) -> tuple[dict[str, datetime], list[Listed]]:
    """Newest event time per offer, and the current listing rows of those offers."""
    changed_at: dict[str, datetime] = {}
    for event in events:
        when = event.occurred
        if event.offer_id and when is not None:
            prev = changed_at.get(event.offer_id)
            changed_at[event.offer_id] = max(prev, when) if prev else when
    ids = list(changed_at)
    chunks = [ids[i : i + IDS_PER_REQUEST] for i in range(0, len(ids), IDS_PER_REQUEST)]
    docs: list[Listed] = []
    for found in in_order(lambda chunk: _refresh_ids(client, chunk), chunks, workers=workers()):
        docs.extend(found)
    return changed_at, docs


def _write_events(
    *, account: AllegroAccount, changed_at: dict[str, datetime], docs: list[Listed]
) -> tuple[int, int]:
    present = {d.offer.id for d in docs}
    linked = [d.offer.id for d in docs if d.product_linked]
    offers_upsert(account=account, offers=[d.offer for d in docs], synced_at=timezone.now())
    offers_set_product_linked(account=account, linked_ids=linked, among=sorted(present))
    gone = offers_delete(account=account, allegro_ids=[i for i in changed_at if i not in present])
    offers_touch_events(account=account, changed_at=changed_at)
    return len(docs), gone


def _cursor_rejected(exc: errors.AllegroError) -> bool:
    return isinstance(exc, errors.BadRequest | errors.ValidationFailed) and (
        any(e.path == "from" for e in exc.errors) or not exc.errors
    )


def events_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Follow offer events; falls back to a full pass when the cursor is refused or too old."""
    offers_state = state_for(account=account, resource=Resource.OFFERS)
    if not offers_state.initial_done or offers_state.status == SyncStatus.RUNNING:
        return full_pass(account=account, client=client, deadline=deadline)
    every = timedelta(hours=float(setting("MIRROR_OFFERS_FULL_PASS_HOURS", 24)))
    if offers_state.full_pass_at is None or timezone.now() - offers_state.full_pass_at > every:
        # Events cover only ACTIVE/ACTIVATING offers: a periodic pass catches the rest.
        return full_pass(account=account, client=client, deadline=deadline)
    state = state_for(account=account, resource=Resource.OFFER_EVENTS)
    cursor: str | None = state.cursor or None
    while True:
        try:
            page = offers_api.list_offer_events(client, from_id=cursor, limit=EVENTS_PAGE)
        except (errors.BadRequest, errors.ValidationFailed) as exc:
            if not _cursor_rejected(exc):
                raise
            log.warning("offer event cursor of account %s refused: full resync", account.pk)
            with transaction.atomic():
                offers = state_locked(account=account, resource=Resource.OFFERS)
                offers.status = SyncStatus.PENDING
                offers.save()
            return full_pass(account=account, client=client, deadline=deadline)
        events = page.events
        if not events:
            break
        changed_at, docs = _fetch_for_events(client, events)
        with transaction.atomic():
            written, _gone = _write_events(account=account, changed_at=changed_at, docs=docs)
            cursor = events[-1].id
            locked = state_locked(account=account, resource=Resource.OFFER_EVENTS)
            locked.cursor = cursor
            locked.cursor_at = events[-1].occurred
            locked.fetched += written
            locked.status = SyncStatus.DONE
            locked.last_success_at = timezone.now()
            locked.last_error = ""
            locked.save()
        if len(events) < EVENTS_PAGE or deadline.passed():
            return len(events) < EVENTS_PAGE
    with transaction.atomic():
        locked = state_locked(account=account, resource=Resource.OFFER_EVENTS)
        locked.status = SyncStatus.DONE
        locked.last_success_at = timezone.now()
        locked.last_error = ""
        locked.save()
    return True


# --- details (EAN) ----------------------------------------------------------------------------
DETAILS_CHUNK = 50  # offers written per transaction (the crash-resume granularity)


def _details(client: AllegroClient, allegro_id: str) -> offers_api.ProductOffer | None:
    """The product-offer document, ``None`` when Allegro no longer has the offer."""
    try:
        return offers_api.get_product_offer(client, offer_id=allegro_id)
    except errors.NotFound:
        return None


def _fetch_chunk(
    client: AllegroClient, offers: Sequence[Offer]
) -> dict[str, offers_api.ProductOffer | None]:
    return {
        offer.allegro_id: doc
        for offer, doc in zip(
            offers,
            in_order(lambda o: _details(client, o.allegro_id), offers, workers=workers()),
            strict=True,
        )
    }


def details_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Read the details of up to ``MIRROR_OFFER_DETAILS_PER_RUN`` due offers.

    Always ``True`` (finished): a run that meets its batch bound or its deadline leaves the rest
    to the next scheduled run rather than chaining itself, so other passes get their turn.
    """
    batch = max(0, int(setting("MIRROR_OFFER_DETAILS_PER_RUN", 2000)))
    max_age = float(setting("MIRROR_OFFER_DETAILS_MAX_AGE_HOURS", 168) or 0)
    started = timezone.now()
    read_before = started - timedelta(hours=max_age) if max_age > 0 else None
    due = offers_details_due(account=account, limit=batch, read_before=read_before)
    with transaction.atomic():
        state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
        state.total = Offer.objects.filter(account=account).count()
        waiting = len(due)  # a short batch is everything that is due
        if len(due) >= batch:
            waiting = offers_details_count_due(account=account, read_before=read_before)
        state.fetched = max(state.total - waiting, 0)  # offers whose details are fresh
        state.status = SyncStatus.RUNNING
        state.started_at = started
        state.finished_at = None
        state.rate = None
        state.save()
    read = 0
    for start in range(0, len(due), DETAILS_CHUNK):
        chunk = due[start : start + DETAILS_CHUNK]
        details = _fetch_chunk(client, chunk)
        with transaction.atomic():
            offers_store_details(offers=chunk, details=details, synced_at=timezone.now())
            read += len(chunk)
            state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
            state.fetched += len(chunk)
            elapsed = (timezone.now() - started).total_seconds()
            state.rate = read / elapsed if elapsed > 0 else None
            state.save()
        if deadline.passed():
            break
    with transaction.atomic():
        state = state_locked(account=account, resource=Resource.OFFER_DETAILS)
        now = timezone.now()
        state.status = SyncStatus.DONE
        state.finished_at = now
        state.last_success_at = now
        state.last_error = ""
        state.initial_done = state.initial_done or state.fetched >= (state.total or 0)
        state.save()
    log.info("offer details of account %s: %s read, %s were due", account.pk, read, waiting)
    return True
