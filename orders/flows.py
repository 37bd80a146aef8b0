"""Orders: the initial checkout-form pass, the order-events cursor, quarantine, merged forms and
the nightly reconciliation.

Rules (issue 5 §3):
- the event cursor starts at ``/order/event-stats`` taken *before* the initial pass;
- the cursor advances only past events whose forms are committed; a form that keeps failing is
  quarantined after ``MIRROR_QUARANTINE_AFTER`` tries and stops blocking the cursor;
- every event makes us read the *current* form, so duplicates and reordering are harmless, and
  ``orders_upsert`` never replaces a stored form with an older copy;
- a 404 means the buyer merged forms: the replacement is the live form sharing a line item id.

Usable first, complete later (issue 13 §1): the initial pass first writes every form at the
pace its pages allow (``MIRROR_ORDER_WRITE_BATCH`` forms, 500, per transaction with the cursor
past them: a page of 100 alone spends most of its database time on per-statement costs) with
no waybill read holding a page back; then it reads waybills (one request per form) only where
they matter now: bought within ``MIRROR_WAYBILLS_EAGER_DAYS`` (30) with ``lineItemsSent`` in
``MIRROR_WAYBILLS_EAGER_SENT`` (``SOME``/``ALL``), newest first, its position in the cursor
(``WAYBILLS_PHASE``). The other sent forms keep ``Order.waybills_read_at`` empty and are read by
the ``WAYBILL_BACKFILL`` pass (newest first, in the governor's backfill lane, its own cursor) or
when staff open the order (``waybills_read``). Events and reconciliation always read them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import AllegroAccount
from allegro import errors
from allegro.api import orders as orders_api
from allegro.client import AllegroClient
from mirror.fetching import settle
from mirror.limits import shipment_read_slot
from mirror.models import QuarantinedOrder, Resource, SyncState, SyncStatus
from mirror.passes import Deadline, Page, iso, offset_pages, setting, workers
from mirror.progress import pass_begin, pass_end, pass_page, record_success, state_for, state_locked
from mirror.upsert import statistics_keep_up
from orders.models import SENT, WAYBILLS_UNREAD, Order, OrderLineItem, TrackingNumber
from orders.sync import (
    UpsertResult,
    order_events_record,
    order_fields,
    orders_line_item_ids,
    orders_mark_merged,
    orders_replacements_by_line_items,
    orders_set_quarantined,
    orders_sharing_line_items,
    orders_upsert,
    tracking_replace,
)

log = logging.getLogger(__name__)
PAGE = 100
EVENTS_PAGE = 100
BACKFILL_BATCH = 100
RECENT_BATCH = 200
BACKFILL_TASK = "mirror.tasks.sync_resource"
Form = orders_api.CheckoutForm
Waybill = orders_api.Waybill


def quarantine_after() -> int:
    return int(setting("MIRROR_QUARANTINE_AFTER", 3))


def _shipments_of(client: AllegroClient, form_id: str) -> list[Waybill]:
    with shipment_read_slot(client):  # the resource's own per-user limit (mirror.limits)
        result = orders_api.list_tracking_numbers(client, checkout_form_id=form_id)
    return result.shipments


def eager_waybill_days() -> int:
    return int(setting("MIRROR_WAYBILLS_EAGER_DAYS", 30))


def eager_waybill_sent() -> frozenset[str]:
    return frozenset(setting("MIRROR_WAYBILLS_EAGER_SENT", SENT))


def waybills_matter_now(form: Form, *, since: datetime) -> bool:
    """Read in the initial pass (else: the backfill or the order page reads them)."""
    bought = form.bought_at
    return (
        form.needs_shipments
        and form.line_items_sent in eager_waybill_sent()
        and (bought is None or bought >= since)
    )


def _with_shipments(
    client: AllegroClient, forms: Sequence[Form], *, parallel: int = 1
) -> dict[str, list[Waybill]]:
    """Tracking numbers of the forms that report something sent (one request each)."""
    wanted = [f.id for f in forms if f.needs_shipments]
    out: dict[str, list[Waybill]] = {}
    found = settle(lambda i: _shipments_of(client, i), wanted, workers=parallel)
    for form_id, result, error in found:
        if error is not None:
            raise error
        out[form_id] = result or []
    return out


def _write_forms(
    *,
    account: AllegroAccount,
    forms: Sequence[Form],
    shipments: Mapping[str, Sequence[Waybill]],
    force: bool = False,
) -> UpsertResult:
    now = timezone.now()
    result = orders_upsert(account=account, forms=forms, synced_at=now, force=force)
    # Waybills are stored for forms written now, and for unchanged forms whose list was fetched.
    fresh = {k: v for k, v in shipments.items() if k not in result.stale}
    sent = {f.id for f in forms if f.needs_shipments}
    deferred = []
    for key in result.written:
        if key in fresh:
            continue
        if key in sent:  # not read now: the backfill or the order page reads them
            deferred.append(key)
        else:  # nothing sent, so no waybills: clear any we hold
            fresh[key] = []
    tracking_replace(account=account, shipments=fresh)
    _mark_waybills(account=account, form_ids=list(fresh), at=now)
    _mark_waybills(account=account, form_ids=deferred, at=None)
    return result


def _mark_waybills(
    *, account: AllegroAccount, form_ids: Sequence[str], at: datetime | None
) -> None:
    if form_ids:
        Order.objects.filter(
            account=account, allegro_id__in=[uuid.UUID(k) for k in form_ids]
        ).update(waybills_read_at=at)


def merge_duplicates(
    *, account: AllegroAccount, client: AllegroClient, form_ids: Sequence[str]
) -> int:
    """Forms sharing a line item with ``form_ids`` and answering 404 were merged into them."""
    candidates = orders_sharing_line_items(account=account, allegro_ids=form_ids)
    if not candidates:
        return 0
    fetched = _fetch_forms(client, list(candidates))
    merged = {old: candidates[old] for old in fetched.missing}
    if fetched.forms:  # still live (e.g. a line item id reused): refresh them as they are
        with transaction.atomic():
            _write_forms(account=account, forms=list(fetched.forms.values()), shipments={})
    if merged:
        with transaction.atomic():
            orders_mark_merged(account=account, merged=merged, merged_at=timezone.now())
    return len(merged)


# --- initial pass -----------------------------------------------------------------------------


def _fetch_forms_page(client: AllegroClient, *, since: str, offset: int) -> Page[None]:
    filters = orders_api.CheckoutFormFilters(bought_at_gte=since, sort="lineItems.boughtAt")
    result = orders_api.list_checkout_forms(client, filters=filters, offset=offset, limit=PAGE)
    return Page(offset=offset, items=result.checkout_forms, total=result.total_count)


def write_batch() -> int:
    """Forms written per transaction by the initial pass (pages of 100 put together)."""
    return max(PAGE, int(setting("MIRROR_ORDER_WRITE_BATCH", 500)))


def _write_pages(
    *,
    account: AllegroAccount,
    client: AllegroClient,
    state: SyncState,
    pages: Sequence[Page[None]],
) -> None:
    """Write consecutive pages in one transaction with the cursor past the last of them.

    No waybill is read here (but for a form without a purchase time): the sent forms are
    written unread and the recent ones are read once every form is in (``_recent_waybills``).
    """
    last = pages[-1]
    forms = [form for page in pages for form in page.items]
    total = next((p.total for p in reversed(pages) if p.total is not None), None)
    # A form without a purchase time has no place in the newest-first reading: read with it.
    eager = [
        f for f in forms if f.bought_at is None and waybills_matter_now(f, since=timezone.now())
    ]
    shipments = _with_shipments(client, eager, parallel=workers()) if eager else {}
    with transaction.atomic():
        result = _write_forms(account=account, forms=forms, shipments=shipments)
        pass_page(
            state=state,
            fetched=len(forms),
            total=total,
            cursor=str(last.offset + len(last.items)),
        )
    statistics_keep_up(Order, OrderLineItem, TrackingNumber)
    merge_duplicates(account=account, client=client, form_ids=list(result.written))


# The orders cursor during the second phase of the initial pass: every form is written, the
# recent ones' waybills are being read (``WAYBILLS_PHASE`` + ``bought_at|pk`` of the last read).
WAYBILLS_PHASE = "waybills:"


def initial_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Every form bought within the history window, then the recent ones' waybills
    (resumable); ``True`` when complete."""
    state = state_for(account=account, resource=Resource.ORDERS)
    if state.status != SyncStatus.RUNNING:
        stats = orders_api.get_order_event_stats(client)  # before the pass: nothing falls between
        days = int(setting("MIRROR_ORDER_HISTORY_DAYS", 365))
        with transaction.atomic():
            events = state_locked(account=account, resource=Resource.ORDER_EVENTS)
            if not events.initial_done:
                events.cursor = stats.latest_event_id or ""
                events.initial_done = True
                events.save()
            pass_begin(state=state, cursor="0", cursor_at=timezone.now() - timedelta(days=days))
    if not state.cursor.startswith(WAYBILLS_PHASE):
        if not _forms_phase(account=account, client=client, state=state, deadline=deadline):
            return False
        state.cursor = WAYBILLS_PHASE  # every form is committed: the cursor may move on
        state.save(update_fields=["cursor", "updated_at"])
        if deadline.passed():
            return False
    if not _recent_waybills(account=account, client=client, state=state, deadline=deadline):
        return False
    with transaction.atomic():
        pass_end(
            state=state_locked(account=account, resource=Resource.ORDERS),
            initial_done=True,
            cursor="",
        )
        _backfill_queue(account=account)
    return True


def _forms_phase(
    *, account: AllegroAccount, client: AllegroClient, state: SyncState, deadline: Deadline
) -> bool:
    """Write the forms at the pace of their pages (offset cursor); ``True`` when all are in."""
    assert state.cursor_at is not None
    since = iso(state.cursor_at)
    pages = offset_pages(
        lambda offset: _fetch_forms_page(client, since=since, offset=offset),
        start=int(state.cursor or 0),
        limit=PAGE,
    )
    batch: list[Page[None]] = []
    for page in pages:
        batch.append(page)
        more = len(page.items) == PAGE
        if sum(len(p.items) for p in batch) >= write_batch() or not more or deadline.passed():
            _write_pages(account=account, client=client, state=state, pages=batch)
            batch = []
        if deadline.passed() and more:
            pages.close()
            return False
    if batch:  # the last page was full and the next one empty
        _write_pages(account=account, client=client, state=state, pages=batch)
    return True


def _recent_waybills(
    *, account: AllegroAccount, client: AllegroClient, state: SyncState, deadline: Deadline
) -> bool:
    """Read the waybills that matter now (bought within ``MIRROR_WAYBILLS_EAGER_DAYS`` and
    ``lineItemsSent`` in ``MIRROR_WAYBILLS_EAGER_SENT``), newest first, in the pass's lane.

    Its position (``bought_at|pk`` of the last order read) is committed with the waybills it
    covers; an order whose read answered 404 (merged away) is passed, not read again.
    """
    since = timezone.now() - timedelta(days=eager_waybill_days())
    unread = Order.objects.filter(
        WAYBILLS_UNREAD,
        account=account,
        bought_at__gte=since,
        line_items_sent__in=sorted(eager_waybill_sent()),
    )
    while True:
        todo = unread
        after = _backfill_cursor(state.cursor.removeprefix(WAYBILLS_PHASE))
        if after is not None:
            todo = todo.filter(Q(bought_at__lt=after[0]) | Q(bought_at=after[0], pk__gt=after[1]))
        batch = list(
            todo.order_by("-bought_at", "pk").values_list("allegro_id", "bought_at", "pk")[
                :RECENT_BATCH
            ]
        )
        if not batch:
            return True
        _, last_bought, last_pk = batch[-1]
        assert last_bought is not None  # filtered above
        cursor = f"{WAYBILLS_PHASE}{last_bought.isoformat()}|{last_pk}"

        def commit(cursor: str = cursor) -> None:
            state.cursor = cursor
            state.save(update_fields=["cursor", "updated_at"])

        waybills_read(
            account=account,
            client=client,
            form_ids=[str(row[0]) for row in batch],
            parallel=workers(),
            on_commit_extra=commit,
        )
        if deadline.passed():
            return False


# --- waybills of older orders: the backfill and the order page ---------------------------------


def waybills_read(
    *,
    account: AllegroAccount,
    client: AllegroClient,
    form_ids: Sequence[str],
    parallel: int = 1,
    on_commit_extra: Any = None,
) -> dict[str, list[Waybill]]:
    """Read and store the waybills of ``form_ids`` (stamping ``waybills_read_at``).

    A list read before another pass stored a newer one is dropped, so a slow backfill never
    overwrites what the order events wrote meanwhile. A 404 (a form merged away) is skipped.
    ``on_commit_extra()`` runs in the same transaction (the backfill's cursor).
    """
    started = timezone.now()
    shipments: dict[str, list[Waybill]] = {}
    for form_id, found, error in settle(
        lambda i: _shipments_of(client, i), form_ids, workers=parallel
    ):
        if error is None:
            shipments[form_id] = found or []
        elif not isinstance(error, errors.NotFound):
            raise error
    with transaction.atomic():
        current = {
            str(v)
            for v in Order.objects.select_for_update()
            .filter(account=account, allegro_id__in=[uuid.UUID(k) for k in shipments])
            .filter(Q(waybills_read_at__isnull=True) | Q(waybills_read_at__lt=started))
            .order_by("pk")
            .values_list("allegro_id", flat=True)
        }
        stored = {k: v for k, v in shipments.items() if k in current}
        tracking_replace(account=account, shipments=stored)
        _mark_waybills(account=account, form_ids=list(stored), at=timezone.now())
        if on_commit_extra is not None:
            on_commit_extra()
    return shipments


def _backfill_queue(*, account: AllegroAccount) -> None:
    """After the initial pass: show the backfill's phase and start it (on commit)."""
    from functools import partial

    from celery import current_app

    pending = Order.objects.filter(WAYBILLS_UNREAD, account=account).count()
    state = state_locked(account=account, resource=Resource.WAYBILL_BACKFILL)
    if state.status != SyncStatus.RUNNING:
        state.status = SyncStatus.PENDING if pending else SyncStatus.DONE
        state.total, state.fetched = pending, 0
        state.save()
    if pending:
        transaction.on_commit(
            partial(
                current_app.send_task,
                BACKFILL_TASK,
                args=[account.pk, str(Resource.WAYBILL_BACKFILL)],
            )
        )


def _backfill_cursor(value: str) -> tuple[datetime, int] | None:
    if not value:
        return None
    moment, pk = value.rsplit("|", 1)
    return datetime.fromisoformat(moment), int(pk)


def waybill_backfill_pass(
    *, account: AllegroAccount, client: AllegroClient, deadline: Deadline
) -> bool:
    """Read the waybills the initial pass deferred, newest order first (resumable).

    Runs in the governor's backfill lane. Its cursor (``bought_at|pk`` of the last order
    read) is committed with the waybills it covers; a sweep ends when nothing unread is left
    behind the cursor, and the next run starts a new sweep if anything became unread since.
    """
    if not state_for(account=account, resource=Resource.ORDERS).initial_done:
        return True  # the orders come first; the initial pass queues this pass when done
    state = state_for(account=account, resource=Resource.WAYBILL_BACKFILL)
    unread = Order.objects.filter(WAYBILLS_UNREAD, account=account, bought_at__isnull=False)
    if state.status != SyncStatus.RUNNING:
        total = unread.count()
        if not total:
            with transaction.atomic():
                locked = state_locked(account=account, resource=Resource.WAYBILL_BACKFILL)
                if locked.status != SyncStatus.DONE or not locked.initial_done:
                    pass_end(state=locked, initial_done=True, cursor="")
                else:
                    record_success(account=account, resource=Resource.WAYBILL_BACKFILL)
            return True
        pass_begin(state=state, total=total, cursor="")
    while True:
        todo = unread
        after = _backfill_cursor(state.cursor)
        if after is not None:
            todo = todo.filter(Q(bought_at__lt=after[0]) | Q(bought_at=after[0], pk__gt=after[1]))
        batch = list(
            todo.order_by("-bought_at", "pk").values_list("allegro_id", "bought_at", "pk")[
                :BACKFILL_BATCH
            ]
        )
        if not batch:
            with transaction.atomic():
                pass_end(
                    state=state_locked(account=account, resource=Resource.WAYBILL_BACKFILL),
                    initial_done=True,
                    cursor="",
                )
            return True
        _, last_bought, last_pk = batch[-1]
        assert last_bought is not None  # filtered above
        cursor = f"{last_bought.isoformat()}|{last_pk}"

        def commit(batch: list[Any] = batch, cursor: str = cursor) -> None:
            pass_page(state=state, fetched=len(batch), total=None, cursor=cursor)

        waybills_read(
            account=account,
            client=client,
            form_ids=[str(row[0]) for row in batch],
            parallel=workers(),
            on_commit_extra=commit,
        )
        if deadline.passed():
            return False


# --- one form at a time (events, quarantine retries) -------------------------------------------


@dataclass
class Fetched:
    forms: dict[str, Form] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # 404: merged (or gone)
    failed: dict[str, str] = field(default_factory=dict)  # form id -> error text


def _fetch_forms(client: AllegroClient, form_ids: Sequence[str]) -> Fetched:
    out = Fetched()

    def get(form_id: str) -> Form:
        return orders_api.get_checkout_form(client, checkout_form_id=form_id)

    for form_id, form, error in settle(get, form_ids, workers=workers()):
        if error is None and form is not None:
            out.forms[form_id] = form
        elif isinstance(error, errors.NotFound):
            out.missing.append(form_id)
        elif isinstance(error, errors.AllegroError):
            out.failed[form_id] = f"{type(error).__name__}: {error}"
        elif error is not None:
            raise error
    return out


def _event_line_items(events: Sequence[orders_api.OrderEvent]) -> dict[str, tuple[list[str], str]]:
    """Form id → (line item ids, buyer login) as the events describe them."""
    out: dict[str, tuple[list[str], str]] = {}
    for event in events:
        if not event.checkout_form_id:
            continue
        lines, login = event.line_item_ids, event.buyer_login
        known = out.get(event.checkout_form_id, ([], login))
        out[event.checkout_form_id] = (sorted(set(known[0]) | set(lines)), login or known[1])
    return out


def _search_replacements(
    client: AllegroClient,
    *,
    missing: Mapping[str, tuple[list[str], str]],
) -> dict[str, Form]:
    """Old form id → the live form holding one of its line items, found by buyer."""
    found: dict[str, Form] = {}
    by_login: dict[str, dict[str, str]] = {}
    for old, (lines, login) in missing.items():
        if login:
            for line in lines:
                by_login.setdefault(login, {})[line] = old
    for login, wanted in by_login.items():
        filters = orders_api.CheckoutFormFilters(buyer_login=login, sort="-updatedAt")
        for form in orders_api.iter_checkout_forms(client, filters=filters, page_size=PAGE):
            for item in form.line_items:
                old_id = wanted.get(item.id)
                if old_id is not None and form.id != old_id:
                    found[old_id] = form
            if len(found) >= len({*wanted.values()}):
                break
    return found


def _resolve_missing(
    *,
    account: AllegroAccount,
    client: AllegroClient,
    missing: Sequence[str],
    hints: Mapping[str, tuple[list[str], str]],
    forms: dict[str, Form],
) -> tuple[dict[str, str], list[str]]:
    """For 404 forms: (old → replacement id, unresolved ids). Replacements join ``forms``."""
    if not missing:
        return {}, []
    stored_lines = orders_line_item_ids(account=account, allegro_ids=list(missing))
    lines: dict[str, tuple[list[str], str]] = {}
    for old in missing:
        hint_lines, login = hints.get(old, ([], ""))
        if not login:
            login = (
                Order.objects.filter(account=account, allegro_id=uuid.UUID(old))
                .values_list("buyer_login", flat=True)
                .first()
                or ""
            )
        lines[old] = (sorted(set(hint_lines) | set(stored_lines.get(old, []))), login)
    merged: dict[str, str] = {}
    # Among the forms fetched right now.
    for old, (line_ids, _login) in lines.items():
        for form in forms.values():
            if form.id != old and {li.id for li in form.line_items} & set(line_ids):
                merged[old] = form.id
    # Among the live forms already mirrored.
    left = {k: v[0] for k, v in lines.items() if k not in merged}
    merged.update(orders_replacements_by_line_items(account=account, line_item_ids=left))
    # On Allegro, by buyer.
    left2 = {k: v for k, v in lines.items() if k not in merged}
    if left2:
        for old, form in _search_replacements(client, missing=left2).items():
            merged[old] = form.id
            forms[form.id] = form
    unresolved = [m for m in missing if m not in merged]
    return merged, unresolved


def _note_failures(
    *, account: AllegroAccount, failed: Mapping[str, str], now: datetime
) -> set[str]:
    """Count a failed try per form; returns the forms now quarantined (no longer blocking)."""
    if not failed:
        return set()
    ids = [uuid.UUID(k) for k in failed]
    existing = {
        str(q.checkout_form_id): q
        for q in QuarantinedOrder.objects.select_for_update().filter(
            account=account, checkout_form_id__in=ids
        )
    }
    limit = quarantine_after()
    rows: list[QuarantinedOrder] = []
    quarantined: set[str] = set()
    for key, message in failed.items():
        q = existing.get(key) or QuarantinedOrder(
            account=account, checkout_form_id=uuid.UUID(key), first_failed_at=now, attempts=0
        )
        if q.resolved_at is not None:
            q.resolved_at, q.attempts, q.quarantined_at, q.first_failed_at = None, 0, None, now
        q.attempts += 1
        q.last_error = message[:2000]
        q.last_failed_at = now
        if q.attempts >= limit and q.quarantined_at is None:
            q.quarantined_at = now
        if q.quarantined_at is not None:
            quarantined.add(key)
        rows.append(q)
    QuarantinedOrder.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "checkout_form_id"],
        update_fields=[
            "attempts",
            "last_error",
            "last_failed_at",
            "quarantined_at",
            "resolved_at",
            "first_failed_at",
        ],
    )
    orders_set_quarantined(account=account, allegro_ids=sorted(quarantined), quarantined=True)
    return quarantined


def _resolve_quarantine(*, account: AllegroAccount, form_ids: Sequence[str], now: datetime) -> int:
    if not form_ids:
        return 0
    return QuarantinedOrder.objects.filter(
        account=account,
        checkout_form_id__in=[uuid.UUID(k) for k in form_ids],
        resolved_at__isnull=True,
    ).update(resolved_at=now)


def _quarantined_ids(*, account: AllegroAccount, form_ids: Sequence[str]) -> set[str]:
    return {
        str(v)
        for v in QuarantinedOrder.objects.filter(
            account=account,
            checkout_form_id__in=[uuid.UUID(k) for k in form_ids],
            resolved_at__isnull=True,
            quarantined_at__isnull=False,
        ).values_list("checkout_form_id", flat=True)
    }


@dataclass
class Refresh:
    """Outcome of refreshing a set of forms: which ones are settled and which still block."""

    written: int = 0
    merged: dict[str, str] = field(default_factory=dict)
    blocking: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)


def refresh_forms(
    *,
    account: AllegroAccount,
    client: AllegroClient,
    form_ids: Sequence[str],
    hints: Mapping[str, tuple[list[str], str]] | None = None,
    on_commit_extra: Any = None,
) -> Refresh:
    """Read the current copy of each form and commit it (with merges and quarantine).

    ``on_commit_extra(outcome)`` runs inside the same transaction (the caller's cursor).
    """
    fetched = _fetch_forms(client, form_ids)
    merged, unresolved = _resolve_missing(
        account=account,
        client=client,
        missing=fetched.missing,
        hints=hints or {},
        forms=fetched.forms,
    )
    for old in unresolved:
        fetched.failed[old] = "NotFound: no live form holds its line items"
    shipments = _with_shipments(client, list(fetched.forms.values()), parallel=workers())
    now = timezone.now()
    outcome = Refresh()
    with transaction.atomic():
        result = _write_forms(
            account=account, forms=list(fetched.forms.values()), shipments=shipments
        )
        orders_mark_merged(account=account, merged=merged, merged_at=now)
        quarantined = _note_failures(account=account, failed=fetched.failed, now=now)
        ok = [k for k in form_ids if k not in fetched.failed]
        _resolve_quarantine(account=account, form_ids=ok, now=now)
        outcome.written = len(result.written)
        outcome.merged = merged
        outcome.blocking = {k for k in fetched.failed if k not in quarantined}
        outcome.settled = set(form_ids) - outcome.blocking
        if on_commit_extra is not None:
            on_commit_extra(outcome)
    written = [str(k) for k in result.written]
    merge_duplicates(account=account, client=client, form_ids=written)
    return outcome


# --- events -----------------------------------------------------------------------------------


def events_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """Follow ``/order/events`` from the stored cursor; ``True`` when caught up."""
    orders_state = state_for(account=account, resource=Resource.ORDERS)
    if not orders_state.initial_done:
        return initial_pass(account=account, client=client, deadline=deadline)
    retry_quarantined(account=account, client=client)
    state = state_for(account=account, resource=Resource.ORDER_EVENTS)
    cursor: str | None = state.cursor or None
    while True:
        try:
            page = orders_api.list_order_events(client, from_id=cursor, limit=EVENTS_PAGE)
        except errors.ValidationFailed as exc:
            if not any(e.path == "from" for e in exc.errors):
                raise
            _restart_cursor(account=account, client=client, since=state.cursor_at)
            return True
        events = page.events
        if not events:
            _events_done(account=account)
            return True
        form_ids = list(dict.fromkeys(e.checkout_form_id for e in events if e.checkout_form_id))
        skip = _quarantined_ids(account=account, form_ids=form_ids)
        todo = [f for f in form_ids if f not in skip]

        def commit(outcome: Refresh, events: Sequence[orders_api.OrderEvent] = events) -> None:
            nonlocal cursor
            order_events_record(account=account, events=events)
            advanced = _advance(events, blocking=outcome.blocking)
            locked = state_locked(account=account, resource=Resource.ORDER_EVENTS)
            if advanced is not None:
                locked.cursor = advanced.id
                locked.cursor_at = advanced.occurred
                cursor = advanced.id
            locked.fetched = F("fetched") + outcome.written
            locked.last_success_at = timezone.now()
            locked.status = SyncStatus.RUNNING if outcome.blocking else SyncStatus.DONE
            locked.last_error = (
                f"{len(outcome.blocking)} order(s) failed; cursor held" if outcome.blocking else ""
            )
            locked.save()

        outcome = refresh_forms(
            account=account,
            client=client,
            form_ids=todo,
            hints=_event_line_items(events),
            on_commit_extra=commit,
        )
        if outcome.blocking:
            return True  # retried on the next run; the cursor waits for them
        if len(events) < EVENTS_PAGE:
            return True
        if deadline.passed():
            return False


def _restart_cursor(
    *, account: AllegroAccount, client: AllegroClient, since: datetime | None
) -> None:
    """The cursor was refused: restart at the newest event and reconcile what lies between."""
    log.warning("order event cursor of account %s refused: restarting it", account.pk)
    stats = orders_api.get_order_event_stats(client)
    with transaction.atomic():
        locked = state_locked(account=account, resource=Resource.ORDER_EVENTS)
        locked.cursor = stats.latest_event_id or ""
        locked.save()
    hours = None
    if since is not None:
        hours = max((timezone.now() - since).total_seconds() / 3600 + 1, 1.0)
    reconcile(account=account, client=client, hours=hours)


def _advance(
    events: Sequence[orders_api.OrderEvent], *, blocking: set[str]
) -> orders_api.OrderEvent | None:
    """The last event before the first one whose form still blocks (``None``: do not move)."""
    last: orders_api.OrderEvent | None = None
    for event in events:
        if event.checkout_form_id in blocking:
            return last
        last = event
    return last


def _events_done(*, account: AllegroAccount) -> None:
    with transaction.atomic():
        locked = state_locked(account=account, resource=Resource.ORDER_EVENTS)
        locked.status = SyncStatus.DONE
        locked.last_success_at = timezone.now()
        locked.last_error = ""
        locked.save()


def retry_quarantined(*, account: AllegroAccount, client: AllegroClient, batch: int = 50) -> int:
    """Try the quarantined forms again (they no longer block the cursor)."""
    ids = [
        str(v)
        for v in QuarantinedOrder.objects.filter(
            account=account, resolved_at__isnull=True, quarantined_at__isnull=False
        )
        .order_by("last_failed_at")
        .values_list("checkout_form_id", flat=True)[:batch]
    ]
    if not ids:
        return 0
    outcome = refresh_forms(account=account, client=client, form_ids=ids)
    return len(outcome.settled)


# --- reconciliation ---------------------------------------------------------------------------


def _differs(form: Form, stored: Order | None) -> bool:
    if stored is None:
        return True
    expected = order_fields(form)
    return (
        any(getattr(stored, name) != value for name, value in expected.items() if name != "raw")
        or stored.raw != form.raw
    )


def reconcile(*, account: AllegroAccount, client: AllegroClient, hours: float | None = None) -> int:
    """Compare every form changed in the last ``hours`` (48) field by field; repair and count."""
    hours = float(hours if hours is not None else setting("MIRROR_RECONCILE_HOURS", 48))
    since = iso(timezone.now() - timedelta(hours=hours))
    filters = orders_api.CheckoutFormFilters(updated_at_gte=since, sort="updatedAt")
    repairs = 0

    def fetch(offset: int) -> Page[None]:
        result = orders_api.list_checkout_forms(client, filters=filters, offset=offset, limit=PAGE)
        return Page(offset=offset, items=result.checkout_forms, total=result.total_count)

    for page in offset_pages(fetch, start=0, limit=PAGE):
        ids = [uuid.UUID(f.id) for f in page.items]
        stored = {
            str(o.allegro_id): o for o in Order.objects.filter(account=account, allegro_id__in=ids)
        }
        changed = [f for f in page.items if _differs(f, stored.get(f.id))]
        # Waybills: compared for every form that reports something sent.
        shipments = _with_shipments(client, page.items, parallel=workers())
        tracking_changed = _tracking_differs(account=account, shipments=shipments)
        with transaction.atomic():
            result = _write_forms(account=account, forms=changed, shipments=shipments, force=True)
        merge_duplicates(account=account, client=client, form_ids=list(result.written))
        fixed = set(result.written) | tracking_changed
        repairs += len(fixed)
        if fixed:
            log.warning(
                "reconciliation of account %s repaired %s forms: %s",
                account.pk,
                len(fixed),
                sorted(fixed)[:20],
            )
    with transaction.atomic():
        state = state_locked(account=account, resource=Resource.RECONCILIATION)
        pass_end(state=state, repairs=repairs, fetched=0)
    return repairs


def _tracking_differs(
    *, account: AllegroAccount, shipments: Mapping[str, Sequence[Waybill]]
) -> set[str]:
    from orders.models import TrackingNumber

    if not shipments:
        return set()
    have: dict[str, set[tuple[str, str]]] = {k: set() for k in shipments}
    for order_id, sid, waybill in TrackingNumber.objects.filter(
        account=account, order__allegro_id__in=[uuid.UUID(k) for k in shipments]
    ).values_list("order__allegro_id", "allegro_id", "waybill"):
        have[str(order_id)].add((sid, waybill))
    return {k for k, items in shipments.items() if have[k] != {(i.id, i.waybill) for i in items}}


def reconcile_pass(*, account: AllegroAccount, client: AllegroClient, deadline: Deadline) -> bool:
    """The nightly reconciliation as a pass of the mirror (one run, never sliced)."""
    reconcile(account=account, client=client)
    return True
