"""Write the offer mirror: one bulk upsert per page of ``OfferListingDto`` documents.

Called by ``mirror.services``; never talks HTTP. Every function takes keyword-only arguments and
issues a constant number of queries whatever the page size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from accounts.models import AllegroAccount
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


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def parse_amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def parse_time(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def marketplace_prices(doc: Mapping[str, Any], *, base_marketplace: str) -> dict[str, Any]:
    """``{marketplace: {"amount", "currency"}}`` for the base and every additional marketplace."""
    prices: dict[str, Any] = {}
    base = _dig(doc, "publication", "marketplaces", "base", "id") or base_marketplace
    price = _dig(doc, "sellingMode", "price")
    if isinstance(price, Mapping):
        prices[str(base)] = {"amount": price.get("amount"), "currency": price.get("currency")}
    extra = doc.get("additionalMarketplaces")
    if isinstance(extra, Mapping):
        for market, value in extra.items():
            mprice = _dig(value, "sellingMode", "price")
            if isinstance(mprice, Mapping):
                prices[str(market)] = {
                    "amount": mprice.get("amount"),
                    "currency": mprice.get("currency"),
                }
    return prices


def offer_fields(doc: Mapping[str, Any], *, base_marketplace: str) -> dict[str, Any]:
    """The model fields of one listing document (everything else stays in ``raw``)."""
    return {
        "name": _text(doc.get("name"))[:255],
        "external_id": _text(_dig(doc, "external", "id")),
        "category_id": _text(_dig(doc, "category", "id")),
        "primary_image_url": _text(_dig(doc, "primaryImage", "url")),
        "status": _text(_dig(doc, "publication", "status")),
        "selling_format": _text(_dig(doc, "sellingMode", "format")),
        "price_amount": parse_amount(_dig(doc, "sellingMode", "price", "amount")),
        "price_currency": _text(_dig(doc, "sellingMode", "price", "currency")),
        "marketplace_prices": marketplace_prices(doc, base_marketplace=base_marketplace),
        "stock_available": _dig(doc, "stock", "available"),
        "stock_sold": _dig(doc, "stock", "sold"),
        "starting_at": parse_time(_dig(doc, "publication", "startingAt")),
        "started_at": parse_time(_dig(doc, "publication", "startedAt")),
        "ending_at": parse_time(_dig(doc, "publication", "endingAt")),
        "ended_at": parse_time(_dig(doc, "publication", "endedAt")),
        "return_policy_id": _text(_dig(doc, "afterSalesServices", "returnPolicy", "id")),
        "raw": dict(doc),
    }


def offers_upsert(
    *, account: AllegroAccount, docs: Sequence[Mapping[str, Any]], synced_at: datetime
) -> int:
    """Insert or update one page of listing documents in one statement; returns rows written."""
    rows: dict[str, Offer] = {}
    for doc in docs:  # a page may repeat an offer (offset paging while offers move): last wins
        allegro_id = str(doc["id"])
        rows[allegro_id] = Offer(
            account=account,
            allegro_id=allegro_id,
            synced_at=synced_at,
            **offer_fields(doc, base_marketplace=account.base_marketplace or "allegro-pl"),
        )
    if not rows:
        return 0
    Offer.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=UPDATE_FIELDS,
    )
    return len(rows)


def offers_touch_events(*, account: AllegroAccount, changed_at: Mapping[str, datetime]) -> int:
    """Record the newest event time per offer as ``allegro_updated_at`` (the listing has none)."""
    if not changed_at:
        return 0
    offers = list(
        Offer.objects.filter(account=account, allegro_id__in=list(changed_at)).only(
            "id", "allegro_id", "allegro_updated_at"
        )
    )
    for offer in offers:
        when = changed_at[offer.allegro_id]
        if offer.allegro_updated_at is None or offer.allegro_updated_at < when:
            offer.allegro_updated_at = when
    Offer.objects.bulk_update(offers, ["allegro_updated_at"])
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
