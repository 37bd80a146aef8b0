"""Orders: checkout forms, order events, fulfillment, carriers and tracking numbers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.events import latest_event, read_events
from sandbox.http import ApiError, Ctx, RouteTable, int_param, is_uuid, raw_response, unprocessable
from sandbox.orders import (
    CARRIERS,
    SELLER_FULFILLMENT,
    load_order,
    require_order,
    save_order,
    sent_summary,
    set_fulfillment,
)
from sandbox.state import iso

table = RouteTable()

STATUSES = ("BOUGHT", "FILLED_IN", "READY_FOR_PROCESSING", "CANCELLED")
FULFILLMENT = (*SELLER_FULFILLMENT, "RETURNED")
EVENT_TYPES = (
    "BOUGHT",
    "FILLED_IN",
    "READY_FOR_PROCESSING",
    "BUYER_CANCELLED",
    "FULFILLMENT_STATUS_CHANGED",
    "BUYER_MODIFIED",
    "AUTO_CANCELLED",
)
SORTS = {
    "lineItems.boughtAt": "bought_at ASC, id ASC",
    "-lineItems.boughtAt": "bought_at DESC, id DESC",
    "updatedAt": "updated_at ASC, id ASC",
    "-updatedAt": "updated_at DESC, id DESC",
}
MAX_ORDERS_PER_WAYBILL = 10


def date_param(ctx: Ctx, name: str) -> str | None:
    """A date-time filter normalised to the stored ISO form (``...sss Z``) for comparison."""
    raw = ctx.query(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise unprocessable(f"{name} must be an ISO 8601 date-time", path=name) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed.timestamp())


def enum_param(ctx: Ctx, name: str, allowed: tuple[str, ...]) -> str | None:
    value = ctx.query(name)
    if value is not None and value not in allowed:
        raise unprocessable(f"Unknown {name} value {value}", path=name)
    return value


def order_filters(ctx: Ctx) -> tuple[list[str], list[Any]]:
    # merged-away forms have their seller_id prefixed with "merged:" so they drop out here
    where = ["seller_id = ?"]
    params: list[Any] = [ctx.seller_id]
    exact = (
        ("status", "status", STATUSES),
        ("fulfillment.status", "fulfillment_status", FULFILLMENT),
        ("fulfillment.provider.id", "provider", ("SELLER", "ALLEGRO")),
        ("fulfillment.shipmentSummary.lineItemsSent", "line_items_sent", ("NONE", "SOME", "ALL")),
    )
    for name, column, allowed in exact:
        value = enum_param(ctx, name, allowed)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    for name, column in (
        ("payment.id", "payment_id"),
        ("delivery.method.id", "delivery_method_id"),
        ("buyer.login", "buyer_login"),
        ("marketplace.id", "marketplace"),
    ):
        value = ctx.query(name)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    surcharge = ctx.query("surcharges.id")
    if surcharge is not None:
        where.append("instr(',' || surcharge_ids || ',', ?) > 0")
        params.append(f",{surcharge},")
    for name, column, op in (
        ("lineItems.boughtAt.gte", "bought_at", ">="),
        ("lineItems.boughtAt.lte", "bought_at", "<="),
        ("updatedAt.gte", "updated_at", ">="),
        ("updatedAt.lte", "updated_at", "<="),
    ):
        value = date_param(ctx, name)
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    return where, params


@table.route("GET", "/order/checkout-forms", scope="orders:read")
async def list_checkout_forms(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=100, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None)
    sort = ctx.query("sort")
    if sort is not None and sort not in SORTS:
        raise unprocessable(f"Unknown sort {sort}", path="sort")
    where, params = order_filters(ctx)
    clause = " AND ".join(where)
    total = ctx.store.count(f"SELECT COUNT(*) FROM orders WHERE {clause}", params)  # noqa: S608
    order = SORTS[sort or "-lineItems.boughtAt"]
    rows = ctx.store.all(
        f"SELECT doc FROM orders WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
        [*params, limit, offset],
    )
    body = b'{"checkoutForms":[' + b",".join(r[0] for r in rows) + b"]"
    body += b',"count":%d,"totalCount":%d}' % (len(rows), total)
    return raw_response(body, media=ctx.route.media)


def checkout_form_id(ctx: Ctx) -> str:
    order_id = ctx.path_param("id")
    if not is_uuid(order_id):
        raise unprocessable(f"Checkout form id {order_id} is not a valid UUID", path="id")
    return order_id


@table.route("GET", "/order/checkout-forms/{id}", scope="orders:read")
async def get_checkout_form(ctx: Ctx) -> Response:
    order_id = checkout_form_id(ctx)
    row = ctx.store.one(
        "SELECT doc FROM orders WHERE id = ? AND seller_id = ? AND merged_into IS NULL",
        (order_id, ctx.seller_id),
    )
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found", path="id")
    return raw_response(row[0], media=ctx.route.media)


@table.route("GET", "/order/events", scope="orders:read")
async def order_events(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=100, minimum=1, maximum=1000)
    types = ctx.query_list("type")
    bad = [t for t in types if t not in EVENT_TYPES]
    if bad:
        raise unprocessable(f"Unknown event type {bad[0]}", path="type")
    page = read_events(
        ctx.state,
        stream="order",
        seller_id=ctx.seller_id,
        from_id=ctx.query("from"),
        types=types,
        limit=limit,
        retention=None,
        unknown_status=422,
    )
    return raw_response(b'{"events":[' + b",".join(page) + b"]}", media=ctx.route.media)


@table.route("GET", "/order/event-stats", scope="orders:read")
async def order_event_stats(ctx: Ctx) -> Response:
    latest = latest_event(ctx.state, stream="order", seller_id=ctx.seller_id)
    return ctx.json({"latestEvent": latest} if latest else {})


@table.route("PUT", "/order/checkout-forms/{id}/fulfillment", scope="orders:write")
async def put_fulfillment(ctx: Ctx) -> Response:
    order_id = ctx.path_param("id")
    body = await ctx.body_object()
    doc = load_order(ctx.store, seller_id=ctx.seller_id, order_id=order_id)
    if doc is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found", path="id")
    status = body.get("status")
    if status not in FULFILLMENT:
        raise unprocessable(f"Unknown fulfillment status {status!r}", path="status")
    if status == "RETURNED":
        raise unprocessable(
            "The RETURNED status cannot be set by the seller", path="status", code="ILLEGAL_STATUS"
        )
    revision = ctx.query("checkoutForm.revision")
    if revision is not None and revision != doc["revision"]:
        raise ApiError(
            409,
            "CONFLICT",
            f"Checkout form revision {revision} is outdated (current: {doc['revision']})",
            path="checkoutForm.revision",
        )
    set_fulfillment(ctx.state, seller_id=ctx.seller_id, doc=doc, status=status)
    return ctx.empty(204)


@table.route("GET", "/order/carriers", auth="any")
async def carriers(ctx: Ctx) -> Response:
    body = {"carriers": [{"id": cid, "name": name} for cid, name in CARRIERS]}
    return ctx.json(body, headers={"Cache-Control": "public, max-age=3600"})


def waybill_id(carrier_id: str, waybill: str) -> str:
    return base64.b64encode(f"{carrier_id}:{waybill}".encode()).decode()


def validate_waybill(body: dict[str, Any]) -> tuple[str, str, str | None]:
    carrier_id = body.get("carrierId")
    known = {cid for cid, _ in CARRIERS}
    if not isinstance(carrier_id, str) or not carrier_id:
        raise unprocessable("carrierId is required", path="carrierId")
    if carrier_id not in known:
        raise ApiError(400, "UNKNOWN_CARRIER", f"Unknown carrier {carrier_id}", path="carrierId")
    waybill = body.get("waybill")
    if not isinstance(waybill, str) or not waybill.strip():
        raise unprocessable("waybill must not be empty", path="waybill")
    if len(waybill) > 64:
        raise unprocessable("waybill may have at most 64 characters", path="waybill")
    carrier_name = body.get("carrierName")
    if carrier_id == "OTHER":
        if not isinstance(carrier_name, str) or not carrier_name.strip():
            raise unprocessable("carrierName is required with carrierId OTHER", path="carrierName")
        if len(carrier_name) > 30:
            raise unprocessable("carrierName may have at most 30 characters", path="carrierName")
    else:
        carrier_name = None
    return carrier_id, waybill, carrier_name


@table.route("POST", "/order/checkout-forms/{id}/shipments", scope="orders:write")
async def add_waybill(ctx: Ctx) -> Response:
    order_id = ctx.path_param("id")
    doc = require_order(ctx.store, seller_id=ctx.seller_id, order_id=order_id)
    body = await ctx.body_object()
    carrier_id, waybill, carrier_name = validate_waybill(body)
    own = [li["id"] for li in doc["lineItems"]]
    requested = body.get("lineItems") or []
    if not isinstance(requested, list) or any(
        not isinstance(li, dict) or "id" not in li for li in requested
    ):
        raise unprocessable("lineItems must be a list of {id}", path="lineItems")
    ids = [li["id"] for li in requested] or own
    foreign = [i for i in ids if i not in own]
    if foreign:
        raise unprocessable(
            f"Line item {foreign[0]} is not part of checkout form {order_id}", path="lineItems.id"
        )
    used = ctx.store.scalar(
        "SELECT COUNT(DISTINCT order_id) FROM order_waybills WHERE waybill = ? AND seller_id = ? "
        "AND order_id != ?",
        (waybill, ctx.seller_id, order_id),
    )
    if int(used or 0) >= MAX_ORDERS_PER_WAYBILL:
        raise ApiError(
            409,
            "WAYBILL_USED_TOO_OFTEN",
            f"Waybill {waybill} is used in too many orders",
            path="waybill",
        )
    shipment = {
        "id": waybill_id(carrier_id, waybill),
        "waybill": waybill,
        "carrierId": carrier_id,
        "lineItems": [{"id": i} for i in ids],
        "createdAt": ctx.state.clock.iso(),
    }
    if carrier_name:
        shipment["carrierName"] = carrier_name
    row_id = f"{order_id}:{shipment['id']}"
    ctx.store.execute(
        "INSERT OR REPLACE INTO order_waybills (id, order_id, seller_id, waybill, created_at, "
        "doc) VALUES (?, ?, ?, ?, ?, ?)",
        (row_id, order_id, ctx.seller_id, waybill, shipment["createdAt"], orjson.dumps(shipment)),
    )
    sent: set[str] = set()
    for (raw,) in ctx.store.all("SELECT doc FROM order_waybills WHERE order_id = ?", (order_id,)):
        sent.update(li["id"] for li in orjson.loads(raw)["lineItems"])
    doc["fulfillment"]["shipmentSummary"]["lineItemsSent"] = sent_summary(doc, sent)
    save_order(ctx.state, doc, seller_id=ctx.seller_id)
    return ctx.json(shipment, status=201)


@table.route("GET", "/order/checkout-forms/{id}/shipments", scope="orders:read")
async def list_waybills(ctx: Ctx) -> Response:
    order_id = ctx.path_param("id")
    require_order(ctx.store, seller_id=ctx.seller_id, order_id=order_id)
    rows = ctx.store.all(
        "SELECT doc FROM order_waybills WHERE order_id = ? ORDER BY created_at, id", (order_id,)
    )
    return raw_response(
        b'{"shipments":[' + b",".join(r[0] for r in rows) + b"]}", media=ctx.route.media
    )
