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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AllegroAccount, AuditLogEntry
from accounts.selectors import (
    accounts_scoped,
    accounts_visible_to,
    accounts_with_roles,
    role_expression,
)
from orders.models import TO_SHIP, UNPAID, Order, OrderEvent, OrderLineItem, TrackingNumber
from ui.paging import MergedByAccount, contains

if TYPE_CHECKING:
    from accounts.selectors import AnyUser

# Accounts to read from: a queryset (a semi-join) or their ids (literal, seen by the planner).
AccountsIn = QuerySet[AllegroAccount] | list[int]

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
    "allegro_updated_at",  # a sort: the pager's cursor reads it
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


# An order's short reference: the first characters of Allegro's checkout-form id, upper case.
REF_LENGTH = 8
# Shorter id prefixes than this are not searched (a few hex digits also spell names and years).
MIN_ID_PREFIX = 4
HEX_DIGITS = frozenset("0123456789abcdef")
UUID_HEX_LENGTH = 32


def order_ref(allegro_id: uuid.UUID | str) -> str:
    """The short reference staff read out and type: ``3F2A9C1B`` for ``3f2a9c1b-…``."""
    return str(allegro_id).replace("-", "")[:REF_LENGTH].upper()


def id_prefix(text: str) -> str | None:
    """The hex digits of ``text`` when it can be the start of an order id (dashes and case
    ignored), else ``None``."""
    digits = text.strip().replace("-", "").lower()
    if MIN_ID_PREFIX <= len(digits) <= UUID_HEX_LENGTH and set(digits) <= HEX_DIGITS:
        return digits
    return None


def _id_prefix_match(prefix: str) -> Q:
    """Ids starting with ``prefix`` as a range on the uuid column: the ``(account, allegro_id)``
    unique index answers it (``EXPLAIN``: an index scan with both bounds as index conditions)."""
    low = uuid.UUID(prefix.ljust(UUID_HEX_LENGTH, "0"))
    high = uuid.UUID(prefix.ljust(UUID_HEX_LENGTH, "f"))
    return Q(allegro_id__gte=low, allegro_id__lte=high)


def _exact_match(accounts: AccountsIn, text: str) -> Q:
    """Matches the btree indexes can answer: order id (whole, or a prefix as long as the short
    reference), buyer login / e-mail, waybill."""
    with contextlib.suppress(ValueError):
        return Q(allegro_id=uuid.UUID(text))
    variants = list({text, text.lower()})
    waybill_orders = list(
        TrackingNumber.objects.filter(account__in=accounts, waybill__in=variants).values_list(
            "order_id", flat=True
        )[:200]
    )
    cond = Q(buyer_login__in=variants) | Q(buyer_email__in=variants) | Q(pk__in=waybill_orders)
    prefix = id_prefix(text)
    if prefix and len(prefix) >= REF_LENGTH:
        cond |= _id_prefix_match(prefix)
    return cond


def _broad_match(text: str) -> Q:
    """Everything else: buyer names, company and the offer titles on the lines (slower), and
    a short id prefix (it may as well be part of a name, so both are listed)."""
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
    prefix = id_prefix(text)
    if prefix:
        cond |= _id_prefix_match(prefix)
    return Q(cond)


def _search(qs: QuerySet[Order], text: str, *, accounts: AccountsIn) -> QuerySet[Order]:
    """Exact hits first (order id, login, e-mail, waybill: index lookups); only when there are
    none, a broad case-insensitive search over names and offer titles."""
    text = text.strip()
    if not text:
        return qs
    hits = qs.filter(_exact_match(accounts, text))
    if hits.exists():
        return hits
    return qs.filter(_broad_match(text))


def orders_filtered(
    *, user: AnyUser, query: OrderQuery, scope: int | None = None
) -> QuerySet[Order]:
    """Orders ``user`` may see (narrowed to the switcher's ``scope``) matching ``query``, sorted."""
    return _matching(accounts_scoped(user=user, scope=scope), query)


def _matching(accounts: AccountsIn, query: OrderQuery) -> QuerySet[Order]:
    """``accounts``: a queryset (a semi-join) or their ids (literal, seen by the planner)."""
    qs = Order.objects.filter(account__in=accounts)
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
    *, user: AnyUser, query: OrderQuery, scope: int | None = None
) -> tuple[Any, QuerySet[Order]]:
    """``(rows to page through, queryset to count)`` for the list of ``orders_filtered``; see
    ``ui.paging`` (the visible accounts from ``accounts_with_roles``, read once per request)."""
    account_ids = [a.pk for a in accounts_with_roles(user=user, scope=scope)]
    base = _matching(account_ids, query)
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
    """The audit log's key for an order (the whole id: the trail is looked up by it)."""
    return f"order:{order.allegro_id}"


@dataclass(frozen=True, kw_only=True)
class OrderDetail:
    order: Order
    lines: list[dict[str, Any]]
    tracking: list[TrackingNumber]
    events: list[OrderEvent]
    trail: list[AuditLogEntry]


def order_detail(*, order: Order) -> OrderDetail:
    """Lines, waybills, events and audit trail. A line links to its offer by Allegro's offer id
    (``offers:by_id`` finds the mirrored offer)."""
    lines = list(order.line_items.order_by("id"))
    return OrderDetail(
        order=order,
        lines=[{"line": li} for li in lines],
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

    @property
    def ref(self) -> str:
        return order_ref(self.order.allegro_id)


ITEM_NAME_LENGTH = 40
TIMES = "\N{MULTIPLICATION SIGN}"


def items_summary(*, lines: int, quantity: int | None, name: str) -> str:
    """The "Items" column as a phrase: quantity times the first title (shortened), then how
    many more lines (Polish: "2 × Kubek…, i jeszcze 2 pozycje")."""  # noqa: RUF002
    if not lines:
        return ""
    name = name.strip()
    if len(name) > ITEM_NAME_LENGTH:
        name = name[: ITEM_NAME_LENGTH - 1].rstrip() + "…"
    first = f"{quantity} {TIMES} {name}" if quantity is not None else name
    if lines == 1:
        return first
    more = lines - 1
    return _("%(first)s, %(more)s") % {
        "first": first,
        "more": ngettext("and %(count)d more item", "and %(count)d more items", more)
        % {"count": more},
    }


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
                first_item=items_summary(lines=count, quantity=quantity, name=name),
                waybills=waybills,
                url=f"{detail_prefix}{order.pk}/",
            )
        )
    return rows
