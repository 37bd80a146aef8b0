"""Write the offer mirror: one bulk upsert per page of ``OfferListingDto`` documents.

Called by ``mirror.services``; never talks HTTP. Every function takes keyword-only arguments and
issues a constant number of queries whatever the page size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from accounts.models import AllegroAccount
from offers.models import Offer

ID_CHUNK = 10_000  # ids per IN (...) list, well below PostgreSQL's bind-parameter limit
EAN_PARAMETER = "225693"  # "EAN (GTIN)" in Allegro's category parameters
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


def _parameter_value(parameters: Any, parameter_id: str) -> str:
    if not isinstance(parameters, list):
        return ""
    for parameter in parameters:
        if isinstance(parameter, Mapping) and str(parameter.get("id")) == parameter_id:
            values = parameter.get("values")
            if isinstance(values, list) and values and values[0] not in (None, ""):
                return str(values[0])
    return ""


def offer_ean(doc: Mapping[str, Any]) -> str:
    """The EAN of a ``SaleProductOfferResponseV1``: the offer's own parameter, else a product's."""
    ean = _parameter_value(doc.get("parameters"), EAN_PARAMETER)
    if ean:
        return ean
    product_set = doc.get("productSet")
    for element in product_set if isinstance(product_set, list) else []:
        ean = _parameter_value(_dig(element, "product", "parameters"), EAN_PARAMETER)
        if ean:
            return ean
    return ""


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
    details: Mapping[str, Mapping[str, Any] | None],
    synced_at: datetime,
) -> int:
    """Write the EAN from each offer's details (``None``: the offer is gone, EAN kept).

    One statement for the batch; returns the rows written. Rows deleted meanwhile are skipped.
    """
    for offer in offers:
        doc = details.get(offer.allegro_id)
        if doc is not None:
            offer.ean = offer_ean(doc)[:64]
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
