"""Read the order mirror. Every query is narrowed to accounts a selector from ``accounts`` gave."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.utils import timezone

from accounts.models import AuditLogEntry
from accounts.selectors import accounts_visible_to
from offers.models import Offer
from offers.selectors import role_expression
from orders.models import TO_SHIP, UNPAID, Order, OrderEvent, OrderLineItem, TrackingNumber
from ui.paging import Accounts, MergedByAccount, account_filter, contains

if TYPE_CHECKING:
    from accounts.selectors import AnyUser

SORTS: dict[str, tuple[str, ...]] = {
    "-bought": ("-bought_at", "-id"),
    "bought": ("bought_at", "id"),
    "-updated": ("-allegro_updated_at", "-id"),
    "-total": ("-total_amount", "-id"),
    "total": ("total_amount", "id"),
    "buyer": ("buyer_login", "id"),
}
DEFAULT_SORT = "-bought"
# Sorts on a column indexed per account: paged by merging per-account index scans.
MERGEABLE_SORTS = {"-bought", "bought", "-updated", "buyer"}
LIST_COLUMNS = (
    "id",
    "account_id",
    "allegro_id",
    "buyer_login",
    "buyer_first_name",
    "buyer_last_name",
    "buyer_email",
    "total_amount",
    "currency",
    "delivery_method_name",
    "fulfillment_status",
    "status",
    "line_items_sent",
    "bought_at",
    "marketplace",
    "quarantined",
    "merged_into_id",
    "revision",
)


@dataclass(frozen=True, kw_only=True)
class OrderQuery:
    q: str = ""
    account_ids: Sequence[int] = ()
    statuses: Sequence[str] = ()
    fulfillment: Sequence[str] = ()
    bought_from: date | None = None
    bought_to: date | None = None
    marketplace: str = ""
    delivery: str = ""
    no_tracking: bool = False
    quarantined: bool = False
    merged: bool = False
    to_ship: bool = False  # paid, not yet sent (``orders.models.TO_SHIP``)
    overdue: bool = False  # to ship, and Allegro's dispatch deadline has passed
    unpaid: bool = False
    sort: str = DEFAULT_SORT


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _exact_match(accounts: Accounts, text: str) -> Q:
    """Matches the btree indexes can answer: order id, buyer login / e-mail, waybill."""
    with contextlib.suppress(ValueError):
        return Q(allegro_id=uuid.UUID(text))
    variants = list({text, text.lower()})
    waybill_orders = list(
        TrackingNumber.objects.filter(account__in=accounts, waybill__in=variants).values_list(
            "order_id", flat=True
        )[:200]
    )
    return Q(buyer_login__in=variants) | Q(buyer_email__in=variants) | Q(pk__in=waybill_orders)


def _broad_match(text: str) -> Q:
    """Everything else: buyer names, company and the offer titles on the lines (slower)."""
    cond: Any = (
        Q(contains("buyer_login", text))
        | Q(contains("buyer_email", text))
        | Q(contains("buyer_last_name", text))
        | Q(contains("buyer_first_name", text))
        | Q(contains("buyer_company_name", text))
        | Exists(
            OrderLineItem.objects.filter(order_id=OuterRef("pk")).filter(
                contains("offer_name", text)
            )
        )
    )
    if " " in text:
        first, _, last = text.partition(" ")
        cond |= Q(buyer_first_name__iexact=first, buyer_last_name__iexact=last.strip())
    return Q(cond)


def _search(qs: QuerySet[Order], text: str, *, accounts: Accounts) -> QuerySet[Order]:
    """Exact hits first (order id, login, e-mail, waybill: index lookups); only when there are
    none, a broad case-insensitive search over names and offer titles."""
    text = text.strip()
    if not text:
        return qs
    hits = qs.filter(_exact_match(accounts, text))
    if hits.exists():
        return hits
    return qs.filter(_broad_match(text))


def orders_filtered(*, accounts: Accounts, query: OrderQuery) -> QuerySet[Order]:
    qs = Order.objects.filter(account__in=account_filter(accounts))
    if query.account_ids:
        qs = qs.filter(account_id__in=list(query.account_ids))
    qs = _search(qs, query.q, accounts=accounts)
    if query.statuses:
        qs = qs.filter(status__in=list(query.statuses))
    if query.fulfillment:
        qs = qs.filter(fulfillment_status__in=list(query.fulfillment))
    if query.bought_from:
        qs = qs.filter(bought_at__gte=_day_start(query.bought_from))
    if query.bought_to:
        qs = qs.filter(bought_at__lt=_day_start(query.bought_to) + timedelta(days=1))
    if query.marketplace:
        qs = qs.filter(marketplace=query.marketplace)
    if query.delivery:
        qs = qs.filter(delivery_method_name__icontains=query.delivery)
    if query.no_tracking:
        qs = qs.filter(line_items_sent__in=["", "NONE"])
    if query.quarantined:
        qs = qs.filter(quarantined=True)
    if query.merged:
        qs = qs.filter(merged_into__isnull=False)
    if query.to_ship or query.overdue:
        qs = qs.filter(TO_SHIP)
    if query.overdue:
        qs = qs.filter(dispatch_by__lt=timezone.now())
    if query.unpaid:
        qs = qs.filter(UNPAID)
    return qs.order_by(*SORTS.get(query.sort, SORTS[DEFAULT_SORT]))


def _for_display(qs: QuerySet[Order]) -> QuerySet[Order]:
    """Rows with the packer's columns: lines (count + first) and waybills.

    On PostgreSQL they are subqueries of the page's own query (one query per page); elsewhere
    (the embedded SQLite demo) two prefetch queries.
    """
    qs = qs.select_related("account").only(*LIST_COLUMNS, "account__login")
    if connection.vendor != "postgresql":
        return qs.prefetch_related(
            Prefetch(
                "line_items",
                queryset=OrderLineItem.objects.only(
                    "id", "order_id", "offer_name", "quantity", "offer_id"
                ).order_by("id"),
            ),
            Prefetch(
                "tracking_numbers",
                queryset=TrackingNumber.objects.only("id", "order_id", "waybill", "carrier_id"),
            ),
        )
    lines = OrderLineItem.objects.filter(order_id=OuterRef("pk")).order_by()
    first = lines.order_by("id")[:1]
    return qs.annotate(
        line_count=Subquery(
            lines.values("order_id").annotate(n=Count("id")).values("n"),
            output_field=IntegerField(),
        ),
        first_quantity=Subquery(first.values("quantity")),
        first_name=Subquery(first.values("offer_name")),
        waybill_list=ArraySubquery(
            TrackingNumber.objects.filter(order_id=OuterRef("pk")).order_by("id").values("waybill")
        ),
    )


def orders_page_source(
    *, accounts: Accounts, account_ids: Sequence[int], query: OrderQuery
) -> tuple[Any, QuerySet[Order]]:
    """``(rows to page through, queryset to count)``; see ``ui.paging``."""
    base = orders_filtered(accounts=accounts, query=query)
    ids = [i for i in account_ids if not query.account_ids or i in query.account_ids]
    if len(ids) > 1 and query.sort in MERGEABLE_SORTS:
        merged = MergedByAccount(
            base, account_ids=ids, ordering=SORTS[query.sort], load=_for_display
        )
        return merged, base
    return _for_display(base), base


def order_get_for_user(*, user: AnyUser, order_id: int | str) -> Order:
    """One order on an account the user may see, else ``Http404``.

    ``order.viewer_role`` is the user's role on its account, read in the same query (the
    detail page needs it; a superuser manages every account).
    """
    try:
        return (
            Order.objects.select_related("account", "merged_into")
            .filter(account__in=accounts_visible_to(user=user))
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=int(order_id))
        )
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such order.") from exc


def orders_by_pks_for_user(*, user: AnyUser, pks: Sequence[int]) -> QuerySet[Order]:
    return Order.objects.filter(
        account__in=accounts_visible_to(user=user), pk__in=list(pks)
    ).select_related("account")


def order_target(order: Order) -> str:
    return f"order:{order.allegro_id}"


@dataclass(frozen=True, kw_only=True)
class OrderDetail:
    order: Order
    lines: list[dict[str, Any]]
    tracking: list[TrackingNumber]
    events: list[OrderEvent]
    trail: list[AuditLogEntry]


def order_detail(*, order: Order) -> OrderDetail:
    """Lines (with the mirrored offer's pk for a link), waybills, events and audit trail."""
    offer_pk = Offer.objects.filter(
        account_id=OuterRef("account_id"), allegro_id=OuterRef("offer_id")
    ).values("pk")[:1]
    lines = list(order.line_items.annotate(offer_pk=Subquery(offer_pk)).order_by("id"))
    return OrderDetail(
        order=order,
        lines=[{"line": li, "offer_pk": li.offer_pk} for li in lines],
        tracking=list(order.tracking_numbers.all().order_by("created_at", "id")),
        events=list(
            OrderEvent.objects.filter(
                account_id=order.account_id, checkout_form_id=order.allegro_id
            ).order_by("-occurred_at")[:100]
        ),
        trail=list(
            AuditLogEntry.objects.filter(account_id=order.account_id, target=order_target(order))
            .select_related("actor")
            .order_by("-created_at")[:50]
        ),
    )


@dataclass(frozen=True, kw_only=True)
class OrderRow:
    """One line of the orders list, with its related rows already as plain lists."""

    order: Order
    lines: int
    first_item: str
    waybills: list[str]
    url: str


def order_rows(*, orders: Any, detail_prefix: str) -> list[OrderRow]:
    """The page's orders as rows (no queryset cloning per row while rendering)."""
    rows = []
    for order in orders:
        if hasattr(order, "line_count"):  # annotated by ``_for_display`` (PostgreSQL)
            count = order.line_count or 0
            quantity, name = order.first_quantity, order.first_name or ""
            waybills = list(order.waybill_list or [])
        else:
            lines = list(order.line_items.all())
            count = len(lines)
            quantity, name = (lines[0].quantity, lines[0].offer_name) if lines else (None, "")
            waybills = [t.waybill for t in order.tracking_numbers.all()]
        rows.append(
            OrderRow(
                order=order,
                lines=count,
                first_item=f"{quantity} x {name[:40]}" if count else "",
                waybills=waybills,
                url=f"{detail_prefix}{order.pk}/",
            )
        )
    return rows
