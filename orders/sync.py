"""Write the order mirror: checkout forms with their lines, tracking numbers and events.

Takes the typed documents of ``allegro.api.orders`` (parsed once there); ``order_fields`` is the
one mapping of a checkout form onto the model. Called by ``orders.flows``; never talks HTTP. A
page is written with a fixed number of queries. A stored form is replaced only by a copy that is
not older (``updatedAt``) and differs (``revision``), so duplicated, replayed or out-of-order
fetches are harmless. On PostgreSQL the forms to write go in with one ``COPY`` (each with its
lines as JSON) and one statement writes the forms, their lines, and drops the lines a form no
longer has (``mirror.upsert``; ``bench/upsert.py`` measures it against ``bulk_create``, which
the embedded SQLite default keeps).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from accounts.models import AllegroAccount
from allegro.api._base import Money
from allegro.api.orders import Address, CheckoutForm, LineItem, Waybill
from allegro.api.orders import OrderEvent as AllegroOrderEvent
from mirror.upsert import (
    Column,
    Stage,
    assignments,
    columns_of,
    differs,
    json_text,
    literal,
    set_based,
)
from orders.models import Order, OrderEvent, OrderLineItem, TrackingNumber

ORDER_UPDATE_FIELDS = [
    "buyer_id",
    "buyer_login",
    "buyer_email",
    "buyer_first_name",
    "buyer_last_name",
    "buyer_company_name",
    "delivery_address",
    "delivery_address_lines",
    "pickup_point",
    "pickup_point_id",
    "pickup_point_lines",
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
    "invoice_address_lines",
    "invoice_tax_id",
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
# What ``order_fields`` / ``line_fields`` map, in the order the staging table holds it.
ORDER_MAPPED_FIELDS = [
    f
    for f in ORDER_UPDATE_FIELDS
    if f not in ("merged_into", "merged_at", "quarantined", "synced_at")
]
LINE_MAPPED_FIELDS = [f for f in LINE_UPDATE_FIELDS if f != "account"]


def _amount(money: Money | None) -> Decimal | None:
    return None if money is None else money.rounded


def _currency(money: Money | None) -> str:
    return "" if money is None else money.currency


def _lines(address: Address | None) -> list[str]:
    return [] if address is None else list(address.lines)


def order_fields(form: CheckoutForm) -> dict[str, Any]:
    """The model fields of a checkout form: the one mapping from Allegro's document to ours."""
    buyer, delivery, payment = form.buyer, form.delivery, form.payment
    invoice_address = form.invoice.address
    return {
        "buyer_id": buyer.id,
        "buyer_login": buyer.login,
        "buyer_email": buyer.email,
        "buyer_first_name": buyer.first_name,
        "buyer_last_name": buyer.last_name,
        "buyer_company_name": buyer.company_name,
        "delivery_address": delivery.address.raw if delivery.address else None,
        "delivery_address_lines": _lines(delivery.address),
        "pickup_point": delivery.pickup_point.raw if delivery.pickup_point else None,
        "pickup_point_id": delivery.pickup_point.id if delivery.pickup_point else "",
        "pickup_point_lines": _lines(delivery.pickup_point),
        "delivery_method_id": delivery.method_id,
        "delivery_method_name": delivery.method_name,
        "payment_id": payment.id,
        "payment_type": payment.type,
        "payment_provider": payment.provider,
        "paid_amount": _amount(payment.paid),
        "paid_currency": _currency(payment.paid),
        "payment_finished_at": payment.finished_at,
        "status": form.status,
        "fulfillment_status": form.fulfillment_status or "",
        "line_items_sent": form.line_items_sent or "",
        "revision": form.revision or "",
        "total_amount": _amount(form.total_to_pay),
        "currency": _currency(form.total_to_pay),
        "marketplace": form.marketplace or "",
        "invoice_required": form.invoice.required,
        "invoice_address_lines": _lines(invoice_address),
        "invoice_tax_id": invoice_address.tax_id if invoice_address else "",
        "message_to_seller": form.message_to_seller,
        "bought_at": form.bought_at,
        "dispatch_from": delivery.dispatch.earliest,
        "dispatch_by": delivery.dispatch.latest,
        "allegro_updated_at": form.updated_at,
        "raw": form.raw,
    }


def line_fields(line: LineItem) -> dict[str, Any]:
    return {
        "offer_id": line.offer_id or "",
        "offer_name": (line.offer_name or "")[:255],
        "quantity": line.quantity,
        "price_amount": _amount(line.price),
        "price_currency": _currency(line.price),
        "bought_at": line.bought_at,
    }


def tracking_fields(waybill: Waybill) -> dict[str, Any]:
    return {
        "allegro_id": waybill.id,
        "waybill": waybill.waybill,
        "carrier_id": waybill.carrier_id,
        "carrier_name": waybill.carrier_name or "",
        "line_items": list(waybill.line_item_ids),
        "created_at": waybill.created_at,
    }


@dataclass
class UpsertResult:
    written: dict[str, int] = field(default_factory=dict)  # allegro id → pk of the saved order
    unchanged: set[str] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)  # older than the stored copy: kept the stored


def _newest_per_id(forms: Iterable[CheckoutForm]) -> dict[str, CheckoutForm]:
    best: dict[str, CheckoutForm] = {}
    for form in forms:
        current = best.get(form.id)
        if current is None or form.is_newer_than(current):
            best[form.id] = form
    return best


def orders_upsert(
    *,
    account: AllegroAccount,
    forms: Sequence[CheckoutForm],
    synced_at: datetime,
    force: bool = False,
) -> UpsertResult:
    """Upsert a page of checkout forms and their lines (call inside a transaction).

    Per page: one locking read of the stored revisions, then for the forms to write one
    ``COPY`` and one statement (forms, lines, lines gone). ``force`` rewrites forms whose
    revision did not change.
    """
    result = UpsertResult()
    incoming = _newest_per_id(forms)
    if not incoming:
        return result
    stored = _stored_locked(account=account, allegro_ids=list(incoming))
    rows: dict[str, dict[str, Any]] = {}
    for key, form in incoming.items():
        old = stored.get(key)
        if old is not None:
            revision, updated_at, merged = old
            if revision == (form.revision or "") and not merged and not force:
                result.unchanged.add(key)
                continue
            newer = form.updated_at
            if updated_at and newer and newer < updated_at:
                result.stale.add(key)
                continue
        rows[key] = order_fields(form)  # mapped only for the forms written
    if not rows:
        return result
    if set_based():
        result.written = _copy_upsert(
            account=account, rows=rows, forms=incoming, synced_at=synced_at
        )
    else:
        result.written = orders_upsert_orm(
            account=account, rows=rows, forms=incoming, synced_at=synced_at
        )
    return result


def _stored_locked(
    *, account: AllegroAccount, allegro_ids: Sequence[str]
) -> dict[str, tuple[str, datetime | None, bool]]:
    """Allegro id → (revision, updatedAt, merged) of the stored forms, locked for update."""
    if set_based():  # one array parameter: the ORM's IN list costs ~3 ms of Python per page
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT allegro_id, revision, allegro_updated_at, merged_into_id IS NOT NULL "  # noqa: S608
                f"FROM {Order._meta.db_table} WHERE account_id = %s "
                f"AND allegro_id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
                [account.pk, list(allegro_ids)],
            )
            return {str(key): (rev, at, merged) for key, rev, at, merged in cursor.fetchall()}
    return {
        str(o.allegro_id): (o.revision, o.allegro_updated_at, o.merged_into_id is not None)
        for o in Order.objects.select_for_update()
        .filter(account=account, allegro_id__in=[uuid.UUID(i) for i in allegro_ids])
        .only("id", "allegro_id", "revision", "allegro_updated_at", "merged_into_id")
    }


def _unique_lines(form: CheckoutForm) -> Iterator[LineItem]:
    """A form's lines with an id, each once."""
    seen: set[str] = set()
    for line in form.line_items:
        if line.id and line.id not in seen:
            seen.add(line.id)
            yield line


@cache
def _stage() -> Stage:
    lines = Column("lines", "jsonb", is_json=True)
    columns = (*columns_of(Order, ["allegro_id", *ORDER_MAPPED_FIELDS]), lines)
    return Stage("mirror_stage_orders", columns)


@cache
def _merge_sql() -> str:
    """Forms, their lines and the lines gone, from the staged page (``{account}`` and
    ``{synced_at}``: ``literal``s)."""
    mapped = _stage().columns[1:-1]
    line_columns = columns_of(OrderLineItem, LINE_MAPPED_FIELDS)
    record = ", ".join(
        f"{c.name} {'text' if c.sql_type.startswith('varchar') else c.sql_type}"
        for c in columns_of(OrderLineItem, ["allegro_id", *LINE_MAPPED_FIELDS])
    )
    line_names = ", ".join(c.name for c in line_columns)
    names = ", ".join(c.name for c in mapped)
    orders, lines = Order._meta.db_table, OrderLineItem._meta.db_table
    return f"""
WITH {_stage().taken()}, up AS (
    INSERT INTO {orders} AS t (account_id, allegro_id, synced_at, merged_into_id, merged_at,
                               quarantined, {names})
    SELECT {{account}}, s.allegro_id, {{synced_at}}, NULL, NULL, false,
           {", ".join(f"s.{c.name}" for c in mapped)}
    FROM staged s
    ON CONFLICT (account_id, allegro_id) DO UPDATE SET {assignments(mapped)},
        synced_at = EXCLUDED.synced_at, merged_into_id = NULL, merged_at = NULL,
        quarantined = false
    RETURNING t.id, t.allegro_id
), incoming AS (
    SELECT up.id AS order_id, l.*
    FROM staged s JOIN up ON up.allegro_id = s.allegro_id,
         jsonb_to_recordset(s.lines) AS l({record})
), written AS (
    INSERT INTO {lines} AS t (account_id, order_id, allegro_id, {line_names})
    SELECT {{account}}, i.order_id, i.allegro_id, {", ".join(f"i.{c.name}" for c in line_columns)}
    FROM incoming i
    ON CONFLICT (order_id, allegro_id) DO UPDATE SET account_id = EXCLUDED.account_id,
        {assignments(line_columns)}
    WHERE t.account_id <> EXCLUDED.account_id OR {differs(line_columns)}
), gone AS (
    DELETE FROM {lines} d USING up
    WHERE d.order_id = up.id AND NOT EXISTS (
        SELECT 1 FROM incoming i WHERE i.order_id = d.order_id AND i.allegro_id = d.allegro_id
    )
)
SELECT id, allegro_id FROM up"""  # noqa: S608


def _line_json(line: LineItem) -> dict[str, Any]:
    fields = line_fields(line)
    amount = fields["price_amount"]
    return {
        "allegro_id": line.id,
        **fields,
        "price_amount": None if amount is None else str(amount),
    }


def _copy_upsert(
    *,
    account: AllegroAccount,
    rows: Mapping[str, dict[str, Any]],
    forms: Mapping[str, CheckoutForm],
    synced_at: datetime,
) -> dict[str, int]:
    as_json = [
        (n, c.is_json) for n, c in zip(ORDER_MAPPED_FIELDS, _stage().columns[1:-1], strict=True)
    ]
    staged = (
        (
            key,
            *[json_text(fields[n]) if j else fields[n] for n, j in as_json],
            json_text([_line_json(line) for line in _unique_lines(forms[key])]),
        )
        for key, fields in rows.items()
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        _stage().fill(cursor, staged)
        cursor.execute(
            _merge_sql().format(account=literal(account.pk), synced_at=literal(synced_at))
        )
        return {str(allegro_id): pk for pk, allegro_id in cursor.fetchall()}


def orders_upsert_orm(
    *,
    account: AllegroAccount,
    rows: Mapping[str, dict[str, Any]],
    forms: Mapping[str, CheckoutForm],
    synced_at: datetime,
) -> dict[str, int]:
    """The portable path (SQLite): ``bulk_create(update_conflicts=True)`` of forms and lines."""
    saved = Order.objects.bulk_create(
        [
            Order(
                account=account,
                allegro_id=uuid.UUID(key),
                synced_at=synced_at,
                merged_into=None,
                merged_at=None,
                quarantined=False,
                **fields,
            )
            for key, fields in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["account", "allegro_id"],
        update_fields=ORDER_UPDATE_FIELDS,
    )
    lines = [
        OrderLineItem(
            account=account, order=order, allegro_id=uuid.UUID(line.id), **line_fields(line)
        )
        for order in saved
        for line in _unique_lines(forms[str(order.allegro_id)])
    ]
    kept: list[int] = []
    if lines:
        kept = [
            line.pk
            for line in OrderLineItem.objects.bulk_create(
                lines,
                update_conflicts=True,
                unique_fields=["order", "allegro_id"],
                update_fields=LINE_UPDATE_FIELDS,
            )
        ]
    OrderLineItem.objects.filter(order__in=[o.pk for o in saved]).exclude(pk__in=kept).delete()
    return {str(o.allegro_id): o.pk for o in saved}


def tracking_replace(*, account: AllegroAccount, shipments: Mapping[str, Sequence[Waybill]]) -> int:
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
            rows.append(TrackingNumber(account=account, order=order, **tracking_fields(item)))
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


def order_events_record(*, account: AllegroAccount, events: Sequence[AllegroOrderEvent]) -> int:
    """Keep the events seen (duplicates ignored by the unique constraint)."""
    rows = []
    for event in events:
        if not event.checkout_form_id or event.occurred is None:
            continue
        rows.append(
            OrderEvent(
                account=account,
                allegro_id=event.id,
                type=event.type,
                occurred_at=event.occurred,
                checkout_form_id=uuid.UUID(event.checkout_form_id),
                revision=event.revision or "",
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
    # Index lookups only, the rest filtered here: the initial pass fills these tables faster
    # than their statistics follow (and autovacuum may be off), and joined or filtered on
    # ``merged_into IS NULL`` the queries were planned as scans of every order of the table
    # (seconds per batch at 50,000 orders: most of the initial pass's time).
    given = dict(
        Order.objects.filter(account=account, allegro_id__in=ids)
        .order_by()
        .values_list("pk", "allegro_id")
    )
    if not given:
        return {}
    mine = dict(
        OrderLineItem.objects.filter(order_id__in=list(given))
        .order_by()
        .values_list("allegro_id", "order_id")
    )
    if not mine:
        return {}
    lines = [
        (order_id, line)
        for order_id, line in OrderLineItem.objects.filter(
            account=account, allegro_id__in=list(mine)
        )
        .order_by()
        .values_list("order_id", "allegro_id")
        if order_id not in given
    ]
    if not lines:
        return {}
    others = {
        pk: allegro_id
        for pk, allegro_id, merged_into in Order.objects.filter(
            pk__in={order_id for order_id, _ in lines}
        )
        .order_by()
        .values_list("pk", "allegro_id", "merged_into_id")
        if merged_into is None
    }
    return {
        str(others[order_id]): str(given[mine[line]])
        for order_id, line in lines
        if order_id in others
    }
