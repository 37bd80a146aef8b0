"""Write the offer mirror: one set-based upsert per page of listing rows (``OfferSummary``).

Takes the typed documents of ``allegro.api.offers`` (parsed once there); ``offer_fields`` is the
one mapping of a listing row onto the model. Called by ``offers.flows``; never talks HTTP. Every
function takes keyword-only arguments and issues a constant number of queries whatever the page
size. On PostgreSQL a page goes in with one ``COPY`` and one ``INSERT ... ON CONFLICT`` that
rewrites a stored offer only when it changed (``mirror.upsert``; ``bench/upsert.py`` measures
it against ``bulk_create``, which the embedded SQLite default keeps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from accounts.models import AllegroAccount
from allegro.api.offers import OfferSummary, ProductOffer
from mirror.upsert import (
    Stage,
    assignments,
    columns_of,
    differs,
    json_text,
    literal,
    set_based,
)
from offers.models import Offer

ID_CHUNK = 10_000  # ids per IN (...) list, well below PostgreSQL's bind-parameter limit
UPDATE_FIELDS = [
    "name",
    "external_id",
    "category_id",
    "primary_image_url",
    "status",
    "selling_format",
    "price_amount",
    "price_currency",
    "marketplace_prices",
    "stock_available",
    "stock_sold",
    "starting_at",
    "started_at",
    "ending_at",
    "ended_at",
    "return_policy_id",
    "synced_at",
    "raw",
]
# What ``offer_fields`` maps, in the order the staging table holds it.
MAPPED_FIELDS = [f for f in UPDATE_FIELDS if f != "synced_at"]


def offer_fields(offer: OfferSummary, *, base_marketplace: str) -> dict[str, Any]:
    """The model fields of one listing row: the one mapping from Allegro's document to ours."""
    prices = offer.marketplace_prices(default_base=base_marketplace)
    return {
        "name": offer.name[:255],
        "external_id": offer.external_id or "",
        "category_id": offer.category_id or "",
        "primary_image_url": offer.primary_image_url or "",
        "status": offer.status or "",
        "selling_format": offer.selling_format or "",
        "price_amount": None if offer.price is None else offer.price.rounded,
        "price_currency": "" if offer.price is None else offer.price.currency,
        "marketplace_prices": {market: price.as_json() for market, price in prices.items()},
        "stock_available": offer.available,
        "stock_sold": offer.sold,
        "starting_at": offer.starting_at,
        "started_at": offer.started_at,
        "ending_at": offer.ending_at,
        "ended_at": offer.ended_at,
        "return_policy_id": offer.return_policy_id or "",
        "raw": offer.raw,
    }


def offers_upsert(
    *,
    account: AllegroAccount,
    offers: Sequence[OfferSummary],
    synced_at: datetime,
    mark_seen: bool = False,
) -> int:
    """Insert or update one page of listing rows; returns the offers in the page.

    A stored offer is rewritten only when something mapped from it changed, unless
    ``mark_seen``: the full listing pass stamps ``synced_at`` on every offer it sees, since its
    sweep drops the offers it did not see.
    """
    rows: dict[str, dict[str, Any]] = {}
    base = account.base_marketplace or "allegro-pl"
    for offer in offers:  # a page may repeat an offer (offset paging while offers move): last wins
        rows[offer.id] = offer_fields(offer, base_marketplace=base)
    if not rows:
        return 0
    if set_based():
        _copy_upsert(account=account, rows=rows, synced_at=synced_at, mark_seen=mark_seen)
    else:
        offers_upsert_orm(account=account, rows=rows, synced_at=synced_at)
    return len(rows)


@cache
def _stage() -> Stage:
    return Stage("mirror_stage_offers", columns_of(Offer, ["allegro_id", *MAPPED_FIELDS]))


@cache
def _merge_sql() -> str:
    """The merge of the staged page into the offers (``{account}`` etc.: ``literal``s)."""
    mapped = _stage().columns[1:]
    names = ", ".join(c.name for c in mapped)
    table = Offer._meta.db_table
    return (  # names from the model; values are ``literal``s
        f"WITH {_stage().taken()} "  # noqa: S608
        f"INSERT INTO {table} AS t (account_id, allegro_id, ean, synced_at, {names}) "
        f"SELECT {{account}}, s.allegro_id, '', {{synced_at}}, "
        f"{', '.join(f's.{c.name}' for c in mapped)} FROM staged s "
        f"ON CONFLICT (account_id, allegro_id) DO UPDATE SET {assignments(mapped)}, "
        f"synced_at = EXCLUDED.synced_at WHERE {{mark_seen}} OR {differs(mapped)}"
    )


def _copy_upsert(
    *,
    account: AllegroAccount,
    rows: dict[str, dict[str, Any]],
    synced_at: datetime,
    mark_seen: bool,
) -> None:
    as_json = [(n, c.is_json) for n, c in zip(MAPPED_FIELDS, _stage().columns[1:], strict=True)]
    staged = (
        (key, *[json_text(fields[n]) if j else fields[n] for n, j in as_json])
        for key, fields in rows.items()
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _stage().fill(cursor, staged)
        cursor.execute(
            _merge_sql().format(
                account=literal(account.pk),
                synced_at=literal(synced_at),
                mark_seen=literal(mark_seen),
            )
        )


def offers_upsert_orm(
    *, account: AllegroAccount, rows: dict[str, dict[str, Any]], synced_at: datetime
) -> None:
    """The portable path (SQLite): one ``bulk_create(update_conflicts=True)`` of the page."""
    Offer.objects.bulk_create(
        [
            Offer(account=account, allegro_id=key, synced_at=synced_at, **fields)
            for key, fields in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=UPDATE_FIELDS,
    )


def offers_touch_events(*, account: AllegroAccount, changed_at: Mapping[str, datetime]) -> int:
    """Record the newest event time per offer as ``allegro_updated_at`` (the listing has none).

    An offer whose last change moves has its details (EAN) due again: ``details_synced_at`` is
    cleared, and the offer-details pass reads it on its next run.
    """
    if not changed_at:
        return 0
    offers = list(
        Offer.objects.filter(account=account, allegro_id__in=list(changed_at)).only(
            "id", "allegro_id", "allegro_updated_at", "details_synced_at"
        )
    )
    for offer in offers:
        when = changed_at[offer.allegro_id]
        if offer.allegro_updated_at is None or offer.allegro_updated_at < when:
            offer.allegro_updated_at = when
            offer.details_synced_at = None
    Offer.objects.bulk_update(offers, ["allegro_updated_at", "details_synced_at"])
    return len(offers)


def offers_details_due(
    *, account: AllegroAccount, limit: int, read_before: datetime | None = None
) -> list[Offer]:
    """Up to ``limit`` offers whose details are due, oldest first (two index range scans).

    Due: never read (new offers, or cleared by a change), then, when ``read_before`` is given,
    read before that time (a safety net for changes no event reported).
    """
    fields = ("id", "allegro_id", "ean", "details_synced_at")
    qs = Offer.objects.filter(account=account).only(*fields)
    due = list(qs.filter(details_synced_at__isnull=True).order_by("id")[:limit])
    if read_before is not None and len(due) < limit:
        due += list(
            qs.filter(details_synced_at__lt=read_before).order_by("details_synced_at", "id")[
                : limit - len(due)
            ]
        )
    return due


def offers_details_count_due(*, account: AllegroAccount, read_before: datetime | None) -> int:
    due = Q(details_synced_at__isnull=True)
    if read_before is not None:
        due |= Q(details_synced_at__lt=read_before)
    return Offer.objects.filter(due, account=account).count()


def offers_store_details(
    *,
    offers: Sequence[Offer],
    details: Mapping[str, ProductOffer | None],
    synced_at: datetime,
) -> int:
    """Write the EAN from each offer's details (``None``: the offer is gone, EAN kept).

    One statement for the batch; returns the rows written. Rows deleted meanwhile are skipped.
    """
    for offer in offers:
        found = details.get(offer.allegro_id)
        if found is not None:
            offer.ean = found.ean[:64]
        offer.details_synced_at = synced_at
    Offer.objects.bulk_update(offers, ["ean", "details_synced_at"])
    return len(offers)


def offers_delete(*, account: AllegroAccount, allegro_ids: Iterable[str]) -> int:
    """Drop offers Allegro no longer lists (archived or deleted drafts)."""
    ids = list(allegro_ids)
    if not ids:
        return 0
    deleted, _ = Offer.objects.filter(account=account, allegro_id__in=ids).delete()
    return deleted


def offers_sweep(*, account: AllegroAccount, seen_since: datetime) -> int:
    """After a complete listing pass: drop offers the pass did not see."""
    deleted, _ = Offer.objects.filter(account=account, synced_at__lt=seen_since).delete()
    return deleted


def offers_set_product_linked(
    *, account: AllegroAccount, linked_ids: Sequence[str], among: Sequence[str] | None = None
) -> int:
    """``product_linked`` true for ``linked_ids``, false for the rest (of ``among``, or all).

    For the whole account (``among=None``, after a full pass) call it inside a transaction:
    everything is reset to false, then the linked ids are set in chunks.
    """
    qs = Offer.objects.filter(account=account)
    if among is None:
        changed = qs.exclude(product_linked=False).update(product_linked=False)
        ids = list(linked_ids)
        for start in range(0, len(ids), ID_CHUNK):
            changed += qs.filter(allegro_id__in=ids[start : start + ID_CHUNK]).update(
                product_linked=True
            )
        return changed
    qs = qs.filter(allegro_id__in=list(among))
    changed = (
        qs.filter(allegro_id__in=list(linked_ids))
        .exclude(product_linked=True)
        .update(product_linked=True)
    )
    changed += (
        qs.exclude(allegro_id__in=list(linked_ids))
        .exclude(product_linked=False)
        .update(product_linked=False)
    )
    return changed
