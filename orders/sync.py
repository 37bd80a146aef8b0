"""Write the order mirror: checkout forms with their lines, tracking numbers and events.

Called by ``mirror.services``; never talks HTTP. A page is written with a fixed number of
queries. A stored form is replaced only by a copy that is not older (``updatedAt``) and differs
(``revision``), so duplicated, replayed or out-of-order fetches are harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from accounts.models import AllegroAccount
from allegro.api.orders import DispatchWindow
from offers.sync import parse_amount, parse_time
from orders.models import Order, OrderEvent, OrderLineItem, TrackingNumber

ORDER_UPDATE_FIELDS = [
    "buyer_id",
    "buyer_login",
    "buyer_email",
    "buyer_first_name",
    "buyer_last_name",
    "buyer_company_name",
    "delivery_address",
    "pickup_point",
    "delivery_method_id",
    "delivery_method_name",
    "payment_id",
    "payment_type",
    "payment_provider",
    "paid_amount",
    "paid_currency",
    "payment_finished_at",
    "status",
    "fulfillment_status",
    "line_items_sent",
    "revision",
    "total_amount",
    "currency",
    "marketplace",
    "invoice_required",
    "message_to_seller",
    "bought_at",
    "dispatch_from",
    "dispatch_by",
    "allegro_updated_at",
    "merged_into",
    "merged_at",
    "quarantined",
    "synced_at",
    "raw",
]
LINE_UPDATE_FIELDS = [
    "account",
    "offer_id",
    "offer_name",
    "quantity",
    "price_amount",
    "price_currency",
    "bought_at",
]
TRACKING_UPDATE_FIELDS = ["waybill", "carrier_id", "carrier_name", "line_items", "created_at"]


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def order_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Model fields of a ``CheckoutForm`` document."""
    buyer = doc.get("buyer") or {}
    delivery = doc.get("delivery") or {}
    payment = doc.get("payment") or {}
    bought = [t for t in (parse_time(li.get("boughtAt")) for li in _lines(doc)) if t]
    dispatch = DispatchWindow.parse(doc)
    return {
        "buyer_id": _text(buyer.get("id")),
        "buyer_login": _text(buyer.get("login")),
        "buyer_email": _text(buyer.get("email")),
        "buyer_first_name": _text(buyer.get("firstName")),
        "buyer_last_name": _text(buyer.get("lastName")),
        "buyer_company_name": _text(buyer.get("companyName")),
        "delivery_address": delivery.get("address") or None,
        "pickup_point": delivery.get("pickupPoint") or None,
        "delivery_method_id": _text(_dig(delivery, "method", "id")),
        "delivery_method_name": _text(_dig(delivery, "method", "name")),
        "payment_id": _text(payment.get("id")),
        "payment_type": _text(payment.get("type")),
        "payment_provider": _text(payment.get("provider")),
        "paid_amount": parse_amount(_dig(payment, "paidAmount", "amount")),
        "paid_currency": _text(_dig(payment, "paidAmount", "currency")),
        "payment_finished_at": parse_time(payment.get("finishedAt")),
        "status": _text(doc.get("status")),
        "fulfillment_status": _text(_dig(doc, "fulfillment", "status")),
        "line_items_sent": _text(_dig(doc, "fulfillment", "shipmentSummary", "lineItemsSent")),
        "revision": _text(doc.get("revision")),
        "total_amount": parse_amount(_dig(doc, "summary", "totalToPay", "amount")),
        "currency": _text(_dig(doc, "summary", "totalToPay", "currency")),
        "marketplace": _text(_dig(doc, "marketplace", "id")),
        "invoice_required": bool(_dig(doc, "invoice", "required")),
        "message_to_seller": _text(doc.get("messageToSeller")),
        "bought_at": min(bought) if bought else None,
        "dispatch_from": dispatch.earliest,
        "dispatch_by": dispatch.latest,
        "allegro_updated_at": parse_time(doc.get("updatedAt")),
        "raw": dict(doc),
    }


def _lines(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    lines = doc.get("lineItems")
    return [li for li in lines if isinstance(li, Mapping)] if isinstance(lines, list) else []


def line_fields(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "offer_id": _text(_dig(line, "offer", "id")),
        "offer_name": _text(_dig(line, "offer", "name"))[:255],
        "quantity": int(line.get("quantity") or 0),
        "price_amount": parse_amount(_dig(line, "price", "amount")),
        "price_currency": _text(_dig(line, "price", "currency")),
        "bought_at": parse_time(line.get("boughtAt")),
    }


def needs_shipments(doc: Mapping[str, Any]) -> bool:
    """Only forms with something sent can have tracking numbers worth a request."""
    return _dig(doc, "fulfillment", "shipmentSummary", "lineItemsSent") in {"SOME", "ALL"}


@dataclass
class UpsertResult:
    written: dict[str, Order] = field(default_factory=dict)  # allegro id → saved order
    unchanged: set[str] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)  # older than the stored copy: kept the stored


def _newest_per_id(docs: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    best: dict[str, Mapping[str, Any]] = {}
    for doc in docs:
        key = str(doc["id"])
        current = best.get(key)
        if current is None or _is_newer(doc, current):
            best[key] = doc
    return best


def _is_newer(doc: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    mine, theirs = parse_time(doc.get("updatedAt")), parse_time(other.get("updatedAt"))
    if mine is None or theirs is None:
        return True
    return mine >= theirs


def orders_upsert(
    *,
    account: AllegroAccount,
    docs: Sequence[Mapping[str, Any]],
    synced_at: datetime,
    force: bool = False,
) -> UpsertResult:
    """Upsert a page of checkout forms and their lines (call inside a transaction).

    Per page: one locking read of the stored revisions, one upsert of the forms, one upsert and
    one delete of their lines. ``force`` rewrites forms whose revision did not change.
    """
    result = UpsertResult()
    incoming = _newest_per_id(docs)
    if not incoming:
        return result
    stored = {
        str(o.allegro_id): o
        for o in Order.objects.select_for_update()
        .filter(account=account, allegro_id__in=[uuid.UUID(i) for i in incoming])
        .only("id", "allegro_id", "revision", "allegro_updated_at", "merged_into_id")
    }
    rows: list[Order] = []
    for key, doc in incoming.items():
        fields = order_fields(doc)
        old = stored.get(key)
        if old is not None:
            if old.revision == fields["revision"] and old.merged_into_id is None and not force:
                result.unchanged.add(key)
                continue
            newer = fields["allegro_updated_at"]
            if old.allegro_updated_at and newer and newer < old.allegro_updated_at:
                result.stale.add(key)
                continue
        rows.append(
            Order(
                account=account,
                allegro_id=uuid.UUID(key),
                synced_at=synced_at,
                merged_into=None,
                merged_at=None,
                quarantined=False,
                **fields,
            )
        )
    if not rows:
        return result
    saved = Order.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=ORDER_UPDATE_FIELDS,
    )
    result.written = {str(o.allegro_id): o for o in saved}
    _write_lines(account=account, orders=result.written, docs=incoming)
    return result


def _write_lines(
    *, account: AllegroAccount, orders: Mapping[str, Order], docs: Mapping[str, Mapping[str, Any]]
) -> None:
    lines: list[OrderLineItem] = []
    for key, order in orders.items():
        seen: set[str] = set()
        for line in _lines(docs[key]):
            line_id = str(line.get("id") or "")
            if not line_id or line_id in seen:
                continue
            seen.add(line_id)
            lines.append(
                OrderLineItem(
                    account=account, order=order, allegro_id=uuid.UUID(line_id), **line_fields(line)
                )
            )
    kept: list[int] = []
    if lines:
        saved = OrderLineItem.objects.bulk_create(
            lines,
            update_conflicts=True,
            unique_fields=["order", "allegro_id"],
            update_fields=LINE_UPDATE_FIELDS,
        )
        kept = [line.pk for line in saved]
    OrderLineItem.objects.filter(order__in=[o.pk for o in orders.values()]).exclude(
        pk__in=kept
    ).delete()


def tracking_replace(
    *, account: AllegroAccount, shipments: Mapping[str, Sequence[Mapping[str, Any]]]
) -> int:
    """Make the stored waybills of each order equal to ``shipments`` (order allegro id → list)."""
    if not shipments:
        return 0
    orders = {
        str(o.allegro_id): o
        for o in Order.objects.filter(
            account=account, allegro_id__in=[uuid.UUID(k) for k in shipments]
        ).only("id", "allegro_id")
    }
    rows: list[TrackingNumber] = []
    for key, items in shipments.items():
        order = orders.get(key)
        if order is None:
            continue
        for item in items:
            rows.append(
                TrackingNumber(
                    account=account,
                    order=order,
                    allegro_id=_text(item.get("id")),
                    waybill=_text(item.get("waybill")),
                    carrier_id=_text(item.get("carrierId")),
                    carrier_name=_text(item.get("carrierName")),
                    line_items=[
                        str(li.get("id")) for li in item.get("lineItems") or [] if li.get("id")
                    ],
                    created_at=parse_time(item.get("createdAt")),
                )
            )
    kept: list[int] = []
    if rows:
        saved = TrackingNumber.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["order", "allegro_id"],
            update_fields=TRACKING_UPDATE_FIELDS,
        )
        kept = [t.pk for t in saved]
    TrackingNumber.objects.filter(order__in=[o.pk for o in orders.values()]).exclude(
        pk__in=kept
    ).delete()
    return len(rows)


def order_events_record(*, account: AllegroAccount, events: Sequence[Mapping[str, Any]]) -> int:
    """Keep the events seen (duplicates ignored by the unique constraint)."""
    rows = []
    for event in events:
        form_id = _dig(event, "order", "checkoutForm", "id")
        occurred = parse_time(event.get("occurredAt"))
        if not form_id or occurred is None:
            continue
        rows.append(
            OrderEvent(
                account=account,
                allegro_id=str(event["id"]),
                type=_text(event.get("type")),
                occurred_at=occurred,
                checkout_form_id=uuid.UUID(str(form_id)),
                revision=_text(_dig(event, "order", "checkoutForm", "revision")),
            )
        )
    if rows:
        OrderEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def orders_mark_merged(
    *, account: AllegroAccount, merged: Mapping[str, str], merged_at: datetime
) -> int:
    """Point each vanished form (allegro id) at the form that replaced it."""
    if not merged:
        return 0
    ids = {k: uuid.UUID(v) for k, v in merged.items()}
    targets = {
        str(o.allegro_id): o.pk
        for o in Order.objects.filter(account=account, allegro_id__in=list(ids.values())).only(
            "id", "allegro_id"
        )
    }
    olds = list(
        Order.objects.filter(account=account, allegro_id__in=[uuid.UUID(k) for k in merged]).only(
            "id", "allegro_id", "merged_into_id", "merged_at"
        )
    )
    for old in olds:
        target = targets.get(merged[str(old.allegro_id)])
        old.merged_into_id = target
        old.merged_at = merged_at
    Order.objects.bulk_update(olds, ["merged_into", "merged_at"])
    return len(olds)


def orders_replacements_by_line_items(
    *, account: AllegroAccount, line_item_ids: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Old form id → id of another live form in the mirror sharing one of its line item ids."""
    wanted = {uuid.UUID(li): old for old, lis in line_item_ids.items() for li in lis}
    if not wanted:
        return {}
    found: dict[str, str] = {}
    rows = (
        OrderLineItem.objects.filter(account=account, allegro_id__in=list(wanted))
        .filter(order__merged_into__isnull=True)
        .values_list("allegro_id", "order__allegro_id")
    )
    for line_id, order_id in rows:
        old = wanted[line_id]
        if str(order_id) != old:
            found[old] = str(order_id)
    return found


def orders_line_item_ids(
    *, account: AllegroAccount, allegro_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Line item ids the mirror holds for each given form."""
    out: dict[str, list[str]] = {k: [] for k in allegro_ids}
    rows = OrderLineItem.objects.filter(
        account=account, order__allegro_id__in=[uuid.UUID(k) for k in allegro_ids]
    ).values_list("order__allegro_id", "allegro_id")
    for order_id, line_id in rows:
        out[str(order_id)].append(str(line_id))
    return out


def orders_set_quarantined(
    *, account: AllegroAccount, allegro_ids: Sequence[str], quarantined: bool
) -> int:
    if not allegro_ids:
        return 0
    return Order.objects.filter(
        Q(account=account), Q(allegro_id__in=[uuid.UUID(k) for k in allegro_ids])
    ).update(quarantined=quarantined)


def orders_sharing_line_items(
    *, account: AllegroAccount, allegro_ids: Sequence[str]
) -> dict[str, str]:
    """Other live forms holding a line item of the given forms: other form id → given form id.

    A line item in two live forms means the buyer paid several purchases together and Allegro
    replaced the old forms (which now answer 404) by a new one.
    """
    if not allegro_ids:
        return {}
    ids = [uuid.UUID(k) for k in allegro_ids]
    mine = dict(
        OrderLineItem.objects.filter(account=account, order__allegro_id__in=ids).values_list(
            "allegro_id", "order__allegro_id"
        )
    )
    if not mine:
        return {}
    rows = (
        OrderLineItem.objects.filter(
            account=account, allegro_id__in=list(mine), order__merged_into__isnull=True
        )
        .exclude(order__allegro_id__in=ids)
        .values_list("order__allegro_id", "allegro_id")
    )
    return {str(other): str(mine[line]) for other, line in rows}
