"""Offers: list, product-offer read/edit with asynchronous operations, parts, offer events."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.events import read_events
from sandbox.http import ApiError, Ctx, RouteTable, bad_request, int_param, raw_response
from sandbox.offers import (
    apply_change,
    change_from_patch,
    public_doc,
    require_offer,
    settle_operations,
)
from sandbox.state import iso

table = RouteTable()

SORTS = {
    "sellingMode.price.amount": "price ASC, id ASC",
    "-sellingMode.price.amount": "price DESC, id DESC",
    "stock.sold": "stock_sold ASC, id ASC",
    "-stock.sold": "stock_sold DESC, id DESC",
    "stock.available": "stock_available ASC, id ASC",
    "-stock.available": "stock_available DESC, id DESC",
}
STATUSES = ("INACTIVE", "ACTIVE", "ACTIVATING", "ENDED")
FORMATS = ("BUY_NOW", "ADVERTISEMENT", "AUCTION")


def bool_param(ctx: Ctx, name: str) -> bool | None:
    raw = ctx.query(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise bad_request(f"{name} must be true or false", path=name)
    return raw == "true"


def float_param(ctx: Ctx, name: str, minimum: float) -> float | None:
    raw = ctx.query(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a number", path=name) from exc
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}", path=name)
    return value


def offer_filters(ctx: Ctx) -> tuple[list[str], list[Any]]:
    where = ["seller_id = ?"]
    params: list[Any] = [ctx.seller_id]
    ids = ctx.query_list("offer.id")
    if ids:
        numeric = [int(i) for i in ids if i.isdigit()]
        where.append(f"id IN ({','.join('?' * len(numeric)) or 'NULL'})")
        params.extend(numeric)
    name = ctx.query("name")
    if name:
        where.append("name LIKE ? ESCAPE '\\'")
        params.append(
            "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    gte = float_param(ctx, "sellingMode.price.amount.gte", 0)
    if gte is not None:
        where.append("price >= ?")
        params.append(gte)
    lte = float_param(ctx, "sellingMode.price.amount.lte", 1)
    if lte is not None:
        where.append("price <= ?")
        params.append(lte)
    statuses = ctx.query_list("publication.status")
    if statuses:
        bad = [s for s in statuses if s not in STATUSES]
        if bad:
            raise bad_request(f"Unknown publication.status {bad[0]}", path="publication.status")
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        params.extend(statuses)
    market = ctx.query("publication.marketplace")
    if market:
        where.append("instr(marketplace, ?) > 0")
        params.append(f",{market},")
    formats = ctx.query_list("sellingMode.format")
    if formats:
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise bad_request(f"Unknown sellingMode.format {bad[0]}", path="sellingMode.format")
        where.append(f"format IN ({','.join('?' * len(formats))})")
        params.extend(formats)
    externals = ctx.query_list("external.id")
    if externals:
        if len(externals) > 100 or any(len(e) > 100 for e in externals):
            raise bad_request(
                "external.id: at most 100 values of at most 100 characters", path="external.id"
            )
        where.append(f"external_id IN ({','.join('?' * len(externals))})")
        params.extend(externals)
    for param, column in (
        ("delivery.shippingRates.id", "shipping_rates_id"),
        ("category.id", "category_id"),
        ("afterSalesServices.returnPolicy.id", "return_policy_id"),
    ):
        value = ctx.query(param)
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    for param, column in (
        ("delivery.shippingRates.id.empty", "shipping_rates_id"),
        ("product.id.empty", "product_id"),
    ):
        flag = bool_param(ctx, param)
        if flag is not None:
            where.append(f"{column} IS {'NULL' if flag else 'NOT NULL'}")
    for param, column in (
        ("isFulfillment", "is_fulfillment"),
        ("b2b.buyableOnlyByBusiness", "b2b_only"),
    ):
        flag = bool_param(ctx, param)
        if flag is not None:
            where.append(f"{column} = ?")
            params.append(1 if flag else 0)
    return where, params


@table.route("GET", "/sale/offers", scope="sale:offers:read")
async def list_offers(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=20, minimum=1, maximum=1000, status=400)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=9_999_999, status=400)
    if offset + limit > 10_000_000:
        raise bad_request("offset + limit must not exceed 10000000", path="offset")
    sort = ctx.query("sort")
    if sort is not None and sort not in SORTS:
        raise bad_request(f"Unknown sort {sort}", path="sort")
    settle_operations(ctx.state, seller_id=ctx.seller_id)
    where, params = offer_filters(ctx)
    clause = " AND ".join(where)
    order = SORTS[sort] if sort else "created_seq DESC"
    total = ctx.store.count(f"SELECT COUNT(*) FROM offers WHERE {clause}", params)  # noqa: S608
    rows = ctx.store.all(
        f"SELECT listing FROM offers WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
        [*params, limit, offset],
    )
    body = (
        b'{"offers":['
        + b",".join(r[0] for r in rows)
        + b'],"count":%d,"totalCount":%d}' % (len(rows), total)
    )
    return raw_response(body, media=ctx.route.media)


@table.route("GET", "/sale/product-offers/{offerId}", scope="sale:offers:read")
async def get_product_offer(ctx: Ctx) -> Response:
    offer_id = ctx.path_param("offerId")
    settle_operations(
        ctx.state, seller_id=ctx.seller_id, offer_id=int(offer_id) if offer_id.isdigit() else -1
    )
    offer = require_offer(ctx.store, seller_id=ctx.seller_id, offer_id=offer_id)
    return ctx.json(public_doc(offer.doc))


@table.route("PATCH", "/sale/product-offers/{offerId}")
async def patch_product_offer(ctx: Ctx) -> Response:
    offer_id = ctx.path_param("offerId")
    settle_operations(
        ctx.state, seller_id=ctx.seller_id, offer_id=int(offer_id) if offer_id.isdigit() else -1
    )
    offer = require_offer(ctx.store, seller_id=ctx.seller_id, offer_id=offer_id)
    body = await ctx.body_object()
    if offer.pending_operation:
        raise ApiError(
            409,
            "OperationInProgress",
            "A previous edit of this offer is still being processed",
            path="offerId",
        )
    change = change_from_patch(body, offer=offer.doc)
    delay = ctx.config.operation_delay
    if delay > 0:
        op_id = str(uuid.uuid4())
        now = ctx.state.clock.now()
        ctx.store.execute(
            "INSERT INTO operations (id, seller_id, offer_id, started_at, ready_at, patch) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (op_id, ctx.seller_id, int(offer_id), now, now + delay, orjson.dumps(body)),
        )
        ctx.store.execute(
            "UPDATE offers SET pending_operation = ? WHERE id = ?", (op_id, int(offer_id))
        )
        headers = {
            "Location": f"{ctx.request.base_url}sale/product-offers/{offer_id}/operations/{op_id}",
            "Retry-after": str(max(1, int(delay))),
        }
        return ctx.json(public_doc(offer.doc), status=202, headers=headers)
    apply_change(ctx.state, offer, change)
    return ctx.json(public_doc(offer.doc))


@table.route(
    "GET", "/sale/product-offers/{offerId}/operations/{operationId}", scope="sale:offers:read"
)
async def get_operation(ctx: Ctx) -> Response:
    offer_id = ctx.path_param("offerId")
    op_id = ctx.path_param("operationId")
    row = ctx.store.one(
        "SELECT offer_id, started_at, ready_at, done FROM operations WHERE id = ? AND seller_id "
        "= ?",
        (op_id, ctx.seller_id),
    )
    if row is None or str(row[0]) != offer_id:
        raise ApiError(404, "NOT_FOUND", f"Operation {op_id} not found", path="operationId")
    if not row[3] and row[2] > ctx.state.clock.now():
        body = {
            "offer": {"id": offer_id},
            "operation": {"id": op_id, "status": "IN_PROGRESS", "startedAt": iso(row[1])},
        }
        retry = max(1, int(row[2] - ctx.state.clock.now() + 0.999))
        return ctx.json(body, status=202, headers={"Retry-after": str(retry)})
    settle_operations(ctx.state, seller_id=ctx.seller_id, offer_id=int(offer_id))
    return Response(
        status_code=303,
        headers={"Location": f"{ctx.request.base_url}sale/product-offers/{offer_id}"},
    )


@table.route("GET", "/sale/product-offers/{offerId}/parts", scope="sale:offers:read")
async def get_parts(ctx: Ctx) -> Response:
    include = ctx.query_list("include")
    if not include:
        raise bad_request("include is required (stock, price)", path="include")
    bad = [i for i in include if i not in ("stock", "price")]
    if bad:
        raise bad_request(f"Unknown include value {bad[0]}", path="include")
    offer_id = ctx.path_param("offerId")
    settle_operations(
        ctx.state, seller_id=ctx.seller_id, offer_id=int(offer_id) if offer_id.isdigit() else -1
    )
    doc = require_offer(ctx.store, seller_id=ctx.seller_id, offer_id=offer_id).doc
    body: dict[str, Any] = {"id": doc["id"]}
    if "stock" in include:
        body["stock"] = {"available": doc["stock"]["available"]}
    if "price" in include:
        body["sellingMode"] = {"price": doc["sellingMode"]["price"]}
        extra = {
            market: {"sellingMode": {"price": value["sellingMode"]["price"]}}
            for market, value in doc.get("additionalMarketplaces", {}).items()
            if value.get("sellingMode")
        }
        if extra:
            body["additionalMarketplaces"] = extra
    return ctx.json(body)


OFFER_EVENT_TYPES = (
    "OFFER_ACTIVATED",
    "OFFER_CHANGED",
    "OFFER_ENDED",
    "OFFER_STOCK_CHANGED",
    "OFFER_PRICE_CHANGED",
    "OFFER_ARCHIVED",
    "OFFER_BID_PLACED",
    "OFFER_BID_CANCELED",
    "OFFER_TRANSLATION_UPDATED",
    "OFFER_VISIBILITY_CHANGED",
    "OFFER_DELIVERY_COUNTRIES_BLOCKED",
)


@table.route("GET", "/sale/offer-events", scope="sale:offers:read", error_media="json")
async def offer_events(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=100, minimum=1, maximum=1000, status=400)
    types = ctx.query_list("type")
    bad = [t for t in types if t not in OFFER_EVENT_TYPES]
    if bad:
        raise bad_request(f"Unknown event type {bad[0]}", path="type")
    settle_operations(ctx.state, seller_id=ctx.seller_id)
    page = read_events(
        ctx.state,
        stream="offer",
        seller_id=ctx.seller_id,
        from_id=ctx.query("from"),
        types=types,
        limit=limit,
        retention=ctx.config.event_retention,
        unknown_status=400,
    )
    return raw_response(b'{"offerEvents":[' + b",".join(page) + b"]}", media=ctx.route.media)
