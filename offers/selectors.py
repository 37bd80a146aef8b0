"""Read the offer mirror. Every query is narrowed to accounts a selector from ``accounts`` gave."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import AllegroAccount, AuditLogEntry
from accounts.selectors import (
    accounts_scoped,
    accounts_visible_to,
    accounts_with_roles,
    role_expression,
)
from allegro.api.offers import OfferSummary
from offers.models import Offer
from ui.paging import MergedByAccount, contains

if TYPE_CHECKING:
    from accounts.selectors import AnyUser

SORTS: dict[str, tuple[str, ...]] = {
    "changed": ("-allegro_updated_at", "-id"),
    "-changed": ("allegro_updated_at", "id"),
    "price": ("price_amount", "id"),
    "-price": ("-price_amount", "-id"),
    "stock": ("stock_available", "id"),
    "-stock": ("-stock_available", "-id"),
    "sold": ("stock_sold", "id"),
    "-sold": ("-stock_sold", "-id"),
    "title": ("name", "id"),
    "newest": ("-id",),
}
DEFAULT_SORT = "newest"
# Sorts on a column indexed per account: paged by merging per-account index scans.
MERGEABLE_SORTS = {"changed", "-changed", "price", "-price", "stock", "-stock", "sold", "-sold"}
LIST_COLUMNS = (
    "id",
    "account_id",
    "allegro_id",
    "name",
    "external_id",
    "ean",
    "primary_image_url",
    "status",
    "price_amount",
    "price_currency",
    "stock_available",
    "stock_sold",
    "allegro_updated_at",
    "product_linked",
)


@dataclass(frozen=True, kw_only=True)
class OfferQuery:
    """The list's filters, already validated (``offers.forms.OfferFilterForm``)."""

    q: str = ""
    account_ids: Sequence[int] = ()
    statuses: Sequence[str] = ()
    marketplace: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    out_of_stock: bool = False
    no_product: bool = False
    ended_since: date | None = None  # ended or sold out since the start of that day
    sort: str = DEFAULT_SORT


def offers_ended_since(*, since: datetime) -> Q:
    """Offers that ended since ``since``, or are still active with nothing left to sell and
    changed since then (Allegro ends an offer at 0, so those are about to end)."""
    return Q(status="ENDED", ended_at__gte=since) | Q(
        status__in=["ACTIVE", "ACTIVATING"], stock_available__lte=0, allegro_updated_at__gte=since
    )


def _search(qs: QuerySet[Offer], text: str) -> QuerySet[Offer]:
    """Title (trigram index), offer id (exact), external id / SKU and EAN (trigram)."""
    text = text.strip()
    if not text:
        return qs
    cond = Q(contains("name", text)) | Q(contains("external_id", text)) | Q(contains("ean", text))
    if text.isdigit():
        cond |= Q(allegro_id=text)
    return qs.filter(cond)


def offers_filtered(
    *, user: AnyUser, query: OfferQuery, scope: int | None = None
) -> QuerySet[Offer]:
    """Offers ``user`` may see (narrowed to the switcher's ``scope``) matching ``query``, sorted."""
    return _matching(accounts_scoped(user=user, scope=scope), query)


def _matching(accounts: QuerySet[AllegroAccount] | list[int], query: OfferQuery) -> QuerySet[Offer]:
    """``accounts``: a queryset (a semi-join) or their ids (literal, seen by the planner)."""
    qs = Offer.objects.filter(account__in=accounts)
    if query.account_ids:
        qs = qs.filter(account_id__in=list(query.account_ids))
    qs = _search(qs, query.q)
    if query.statuses:
        qs = qs.filter(status__in=list(query.statuses))
    if query.marketplace:
        qs = qs.filter(marketplace_prices__has_key=query.marketplace)
    if query.price_min is not None:
        qs = qs.filter(price_amount__gte=query.price_min)
    if query.price_max is not None:
        qs = qs.filter(price_amount__lte=query.price_max)
    if query.out_of_stock:
        qs = qs.filter(stock_available__lte=0)
    if query.no_product:
        qs = qs.filter(product_linked=False)
    if query.ended_since is not None:
        since = timezone.make_aware(datetime.combine(query.ended_since, time.min))
        qs = qs.filter(offers_ended_since(since=since))
    return qs.order_by(*SORTS.get(query.sort, SORTS[DEFAULT_SORT]))


def _for_display(qs: QuerySet[Offer]) -> QuerySet[Offer]:
    return qs.select_related("account").only(*LIST_COLUMNS, "account__login")


def offers_page_source(
    *, user: AnyUser, query: OfferQuery, scope: int | None = None
) -> tuple[Any, QuerySet[Offer]]:
    """``(rows to page through, queryset to count)`` for the list of ``offers_filtered``.

    The visible accounts come from ``accounts_with_roles`` (read once per request; literal ids
    for the planner); with several of them and a sort on a per-account index, pages are merged
    from per-account index scans.
    """
    account_ids = [a.pk for a in accounts_with_roles(user=user, scope=scope)]
    base = _matching(account_ids, query)
    ids = [i for i in account_ids if not query.account_ids or i in query.account_ids]
    if len(ids) > 1 and query.sort in MERGEABLE_SORTS:
        merged = MergedByAccount(
            base, account_ids=ids, ordering=SORTS[query.sort], load=_for_display
        )
        return merged, base
    return _for_display(base), base


def offer_get_for_user(*, user: AnyUser, offer_id: int | str) -> Offer:
    """One offer on an account the user may see, else ``Http404``; ``offer.viewer_role`` is
    the user's role on its account, read in the same query."""
    try:
        return (
            Offer.objects.select_related("account")
            .filter(account__in=accounts_visible_to(user=user))
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=int(offer_id))
        )
    except (Offer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such offer.") from exc


def offer_get_by_allegro_id(*, user: AnyUser, account_id: int, allegro_id: str) -> Offer:
    """The mirrored offer ``allegro_id`` of account ``account_id`` (another page links to it by
    Allegro's id), if the user may see that account; else ``Http404``."""
    try:
        return Offer.objects.filter(account__in=accounts_visible_to(user=user)).get(
            account_id=account_id, allegro_id=allegro_id
        )
    except Offer.DoesNotExist as exc:
        raise Http404("No such offer.") from exc


def offers_by_pks_for_user(*, user: AnyUser, pks: Sequence[int]) -> QuerySet[Offer]:
    """The offers among ``pks`` the user may see (others are silently left out)."""
    return Offer.objects.filter(account__in=accounts_visible_to(user=user), pk__in=list(pks))


def offers_by_ean_for_user(
    *, user: AnyUser, ean: str, accounts: Sequence[int] | None = None
) -> QuerySet[Offer]:
    """The offers with exactly this EAN on accounts the user may see (optionally only
    ``accounts``, by id): the packing station finds an order by a scanned product."""
    qs = Offer.objects.filter(account__in=accounts_visible_to(user=user), ean=ean.strip())
    if accounts is not None:
        qs = qs.filter(account_id__in=list(accounts))
    return qs


def offer_audit_trail(*, offer: Offer, limit: int = 50) -> list[AuditLogEntry]:
    return list(
        AuditLogEntry.objects.filter(account_id=offer.account_id, target=offer_target(offer))
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )


def offer_target(offer: Offer) -> str:
    return f"offer:{offer.allegro_id}"


def offer_marketplace_prices(*, offer: Offer) -> list[dict[str, Any]]:
    """``[{marketplace, amount, currency, base}]``, the base marketplace first."""
    base = _base_marketplace(offer)
    rows = []
    for market, price in (offer.marketplace_prices or {}).items():
        if not isinstance(price, dict):
            continue
        rows.append(
            {
                "marketplace": market,
                "amount": price.get("amount"),
                "currency": price.get("currency"),
                "base": market == base,
            }
        )
    return sorted(rows, key=lambda r: (not r["base"], r["marketplace"]))


def _base_marketplace(offer: Offer) -> str:
    try:
        base = OfferSummary.parse(offer.raw).base_marketplace if offer.raw else None
    except (KeyError, TypeError, ValueError):  # a stored document without an id or prices
        base = None
    return str(base or offer.account.base_marketplace or "allegro-pl")
