"""What the shipping pages read: the "to ship" queue (orders with a Ship-with-Allegro delivery
method and no live shipment, by dispatch deadline), the shipments list, an order's shipments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from jobs.models import ACTIVE_STATUSES, Job, JobItem
from orders.models import TO_SHIP, Order
from shipping.models import LIVE_STATUSES, Shipment, ShipmentPackage, ShipmentStatus
from ui.paging import Accounts, account_filter

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

# Ship with Allegro's delivery methods are Allegro's own ("Allegro Paczkomaty InPost", "Allegro
# Kurier DPD", "Allegro One Box", ...); a checkout form names the method only by id and name, so
# the name's prefix is what tells them from the seller's own contracts ("Kurier DHL").
SWA_PREFIX = "Allegro "
SWA = Q(delivery_method_name__startswith=SWA_PREFIX)
CARRIER_WORDS = (
    ("inpost", "INPOST"),
    ("paczkomat", "INPOST"),
    ("one box", "ALLEGRO"),
    ("one kurier", "ALLEGRO"),
    ("one punkt", "ALLEGRO"),
    ("dpd", "DPD"),
    ("orlen", "ORLEN_PACZKA"),
    ("dhl", "DHL"),
    ("ups", "UPS"),
    ("gls", "GLS"),
    ("fedex", "FEDEX"),
    ("pocztex", "POCZTA_POLSKA"),
    ("poczta", "POCZTA_POLSKA"),
)


def is_swa(order: Order) -> bool:
    return order.delivery_method_name.startswith(SWA_PREFIX)


def carrier_of(delivery_method_name: str) -> str:
    """The carrier a Ship-with-Allegro method's name points at (``""`` when unknown)."""
    name = delivery_method_name.lower()
    for word, carrier in CARRIER_WORDS:
        if word in name:
            return carrier
    return ""


@dataclass(frozen=True, kw_only=True)
class QueueQuery:
    accounts: Accounts
    delivery_method: str = ""
    carrier: str = ""
    deadline: str = ""  # "", "today", "overdue"
    marketplace: str = ""


def _live_shipment() -> Exists:
    return Exists(
        Shipment.objects.filter(order_id=OuterRef("pk"), status__in=LIVE_STATUSES).values("pk")
    )


def _day_end(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time.min))


def queue_base(*, accounts: Accounts) -> QuerySet[Order]:
    """Orders to ship with Allegro: paid, not cancelled, awaiting dispatch, no live shipment."""
    return (
        Order.objects.filter(TO_SHIP, SWA, account__in=account_filter(accounts))
        .exclude(fulfillment_status="CANCELLED")
        .filter(~_live_shipment())
    )


def queue_orders(*, query: QueueQuery) -> QuerySet[Order]:
    qs = queue_base(accounts=query.accounts)
    if query.delivery_method:
        qs = qs.filter(delivery_method_name=query.delivery_method)
    if query.carrier:
        words = [w for w, c in CARRIER_WORDS if c == query.carrier]
        condition = Q()
        for word in words:
            condition |= Q(delivery_method_name__icontains=word)
        qs = qs.filter(condition) if words else qs.none()
    if query.marketplace:
        qs = qs.filter(marketplace=query.marketplace)
    now = timezone.now()
    if query.deadline == "overdue":
        qs = qs.filter(dispatch_by__lt=now)
    elif query.deadline == "today":
        qs = qs.filter(dispatch_by__lt=_day_end(now))
    return qs.order_by("dispatch_by", "pk")


def queue_counts(*, accounts: Accounts) -> dict[str, int]:
    """The queue's counts whatever the other filters: all, overdue, due by the end of today."""
    now = timezone.now()
    return queue_base(accounts=accounts).aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=Q(dispatch_by__lt=now)),
        today=Count("pk", filter=Q(dispatch_by__lt=_day_end(now))),
    )


def queue_delivery_methods(*, accounts: Accounts) -> list[str]:
    return list(
        queue_base(accounts=accounts)
        .order_by("delivery_method_name")
        .values_list("delivery_method_name", flat=True)
        .distinct()
    )


def queue_orders_by_pks(*, accounts: Accounts, pks: list[int]) -> list[Order]:
    """The ticked orders that are (still) in the queue of accounts the user may see."""
    return list(
        queue_base(accounts=accounts)
        .filter(pk__in=pks)
        .select_related("account")
        .order_by("dispatch_by", "pk")
    )


@dataclass(frozen=True, kw_only=True)
class ShipmentQuery:
    accounts: Accounts
    carrier: str = ""
    created_from: date | None = None
    created_to: date | None = None
    label: str = ""  # "", "printed", "not_printed"
    protocol: str = ""  # "", "yes", "no"
    pickup: str = ""  # "", "yes", "no"
    cancelled: str = ""  # "" (not cancelled), "only", "all"
    q: str = ""  # the order's checkout form id or a waybill (exact)


def shipments_list(*, query: ShipmentQuery) -> QuerySet[Shipment]:
    qs = Shipment.objects.filter(account__in=account_filter(query.accounts)).exclude(
        status=ShipmentStatus.FAILED
    )
    if query.cancelled == "only":
        qs = qs.filter(status=ShipmentStatus.CANCELLED)
    elif query.cancelled != "all":
        qs = qs.exclude(status=ShipmentStatus.CANCELLED)
    if query.carrier:
        qs = qs.filter(carrier=query.carrier)
    text = query.q.strip()
    if text:
        by_waybill = Q(pk__in=ShipmentPackage.objects.filter(waybill=text).values("shipment_id"))
        try:
            qs = qs.filter(Q(order__allegro_id=uuid.UUID(text)) | by_waybill)
        except ValueError:
            qs = qs.filter(by_waybill)
    if query.created_from:
        start = timezone.make_aware(datetime.combine(query.created_from, time.min))
        qs = qs.filter(created_at__gte=start)
    if query.created_to:
        end = timezone.make_aware(datetime.combine(query.created_to + timedelta(days=1), time.min))
        qs = qs.filter(created_at__lt=end)
    for value, field in (
        (query.label, "label_printed_at"),
        (query.protocol, "protocol_printed_at"),
        (query.pickup, "pickup"),
    ):
        if value in ("printed", "yes"):
            qs = qs.filter(**{f"{field}__isnull": False})
        elif value in ("not_printed", "no"):
            qs = qs.filter(**{f"{field}__isnull": True})
    return (
        qs.select_related("account", "order", "pickup")
        .prefetch_related(
            Prefetch("packages", queryset=ShipmentPackage.objects.order_by("position"))
        )
        .order_by("-created_at", "-pk")
    )


def shipment_carriers(*, accounts: Accounts) -> list[str]:
    return list(
        Shipment.objects.filter(account__in=account_filter(accounts))
        .exclude(carrier="")
        .order_by("carrier")
        .values_list("carrier", flat=True)
        .distinct()
    )


def order_shipments(*, order: Order) -> list[Shipment]:
    return list(
        Shipment.objects.filter(order=order)
        .select_related("pickup")
        .prefetch_related(
            Prefetch("packages", queryset=ShipmentPackage.objects.order_by("position"))
        )
        .order_by("-created_at", "-pk")
    )


def order_active_job(*, order: Order, kind: str) -> Job | None:
    """A create job still working on this order (the order page polls while there is one)."""
    item = (
        JobItem.objects.filter(
            account_id=order.account_id,
            key=str(order.allegro_id),
            job__kind=kind,
            job__status__in=ACTIVE_STATUSES,
        )
        .select_related("job")
        .order_by("-job__created_at")
        .first()
    )
    return item.job if item is not None else None


def job_rows(*, job: Job) -> list[dict[str, Any]]:
    """The create job's report: per order its outcome, waybills or Allegro's message."""
    items = list(job.items.select_related("account").order_by("position", "pk"))
    order_ids = [i.data.get("order") for i in items if isinstance(i.data, dict)]
    orders = Order.objects.in_bulk([o for o in order_ids if o])
    rows = []
    for item in items:
        data = item.data if isinstance(item.data, dict) else {}
        after = item.after if isinstance(item.after, dict) else {}
        rows.append(
            {
                "item": item,
                "order": orders.get(data.get("order")),
                "waybills": after.get("waybills") or [],
            }
        )
    return rows
