"""Payment refunds (``/payments/refunds``) and commission refund claims (``/order/refund-claims``).

Storage (generic ``documents``):
- kind ``refund``: a ``RefundDetails`` document plus ``_readyAt`` / ``_canceled``; ``sort_key`` =
  ``createdAt``, ``k1`` = checkout form id, ``k2`` = payment id, ``k3`` = command id;
- kind ``refund_claim``: a ``RefundClaim``; ``sort_key`` = ``createdAt``, ``k1`` = status,
  ``k2`` = line item id, ``k3`` = offer id.

A refund is ``IN_PROGRESS`` until ``command_delay`` seconds of simulated time have passed, then
``SUCCESS`` (``CANCELED`` when the control plane cancels it). ``commandId`` is the idempotency
key: the same command answers the first refund again and moves no money twice. Refunds of an
order never exceed what was paid: per line item (quantity and value), delivery, surcharges and
the total.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.documents import doc_or_404, seller_of_doc
from sandbox.http import ApiError, Ctx, RouteTable, int_param, is_uuid, unprocessable
from sandbox.orders import load_order
from sandbox.routes import returns
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State

table = RouteTable()

KIND = "refund"
CLAIM_KIND = "refund_claim"
REASONS = (
    "REFUND",
    "COMPLAINT",
    "PRODUCT_NOT_AVAILABLE",
    "PAID_VALUE_TOO_LOW",
    "OVERPAID",
    "CANCELLED_BY_BUYER",
    "NOT_COLLECTED",
)
LIST_STATUSES = ("WAITING", "IN_PROGRESS", "SUCCESS", "CANCELED", "PARTIAL")
CLAIM_STATUSES = (
    "IN_PROGRESS",
    "WAITING_FOR_PAYMENT_REFUND",
    "GRANTED",
    "REJECTED",
    "REJECTED_AFTER_APPEAL",
    "CANCELLED",
    "APPEALED",
)
COMMISSION_RATE = Decimal("0.10")
CENT = Decimal("0.01")
MAX_COMMENT = 250


def money(value: Any, *, path: str, currency: str) -> Decimal:
    if not isinstance(value, dict):
        raise unprocessable("amount and currency are required", path=path)
    try:
        amount = Decimal(str(value.get("amount")))
    except InvalidOperation as exc:
        raise unprocessable("amount must be a decimal number", path=f"{path}.amount") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise unprocessable("amount must be a non-negative amount in cents", path=f"{path}.amount")
    if value.get("currency") != currency:
        raise unprocessable(f"currency must be {currency}", path=f"{path}.currency")
    return amount


def fmt(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount.quantize(CENT)}", "currency": currency}


def status_of(state: State, doc: dict[str, Any]) -> str:
    if doc.get("_canceled"):
        return "CANCELED"
    return "SUCCESS" if state.clock.now() >= float(doc["_readyAt"]) else "IN_PROGRESS"


def present(state: State, doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    out["status"] = status_of(state, doc)
    return out


def refunds_of(state: State, *, seller_id: str, order_id: str) -> list[dict[str, Any]]:
    """The order's refunds that moved (or will move) money: every one but the canceled."""
    page, _ = state.store.doc_list(
        kind=KIND, seller_id=seller_id, where="k1 = ?", params=[order_id], limit=10**6
    )
    return [d for d in page if not d.get("_canceled")]


def refunded(state: State, *, seller_id: str, order_id: str) -> dict[str, Any]:
    """What was refunded already: per line item (quantity, value), delivery, surcharges, total."""
    qty: dict[str, Decimal] = {}
    value: dict[str, Decimal] = {}
    surcharges: dict[str, Decimal] = {}
    delivery = total = Decimal(0)
    for doc in refunds_of(state, seller_id=seller_id, order_id=order_id):
        for li in doc.get("_lines", []):
            qty[li["id"]] = qty.get(li["id"], Decimal(0)) + Decimal(li["quantity"])
            value[li["id"]] = value.get(li["id"], Decimal(0)) + Decimal(li["value"])
        delivery += Decimal((doc.get("delivery") or {}).get("value", {}).get("amount", "0"))
        for s in doc.get("surcharges") or []:
            surcharges[s["id"]] = surcharges.get(s["id"], Decimal(0)) + Decimal(
                s["value"]["amount"]
            )
        total += Decimal(doc["totalValue"]["amount"])
    return {
        "quantity": qty,
        "value": value,
        "delivery": delivery,
        "surcharges": surcharges,
        "total": total,
    }


def _refund_lines(
    body: dict[str, Any], *, order: dict[str, Any], done: dict[str, Any], currency: str
) -> tuple[list[dict[str, Any]], Decimal]:
    raw = body.get("lineItems") or []
    if not isinstance(raw, list):
        raise unprocessable("lineItems must be a list", path="lineItems")
    by_id = {li["id"]: li for li in order["lineItems"]}
    lines: list[dict[str, Any]] = []
    total = Decimal(0)
    seen: set[str] = set()
    for n, item in enumerate(raw):
        path = f"lineItems[{n}]"
        if not isinstance(item, dict) or item.get("id") not in by_id:
            raise unprocessable("Not a line item of this order", path=f"{path}.id")
        if item["id"] in seen:
            raise unprocessable("A line item may appear once", path=f"{path}.id")
        seen.add(item["id"])
        li = by_id[item["id"]]
        price = Decimal(li["price"]["amount"])
        bought = Decimal(li["quantity"])
        prior_qty = done["quantity"].get(li["id"], Decimal(0))
        prior_value = done["value"].get(li["id"], Decimal(0))
        if item.get("type") == "QUANTITY":
            try:
                quantity = Decimal(str(item.get("quantity")))
            except InvalidOperation as exc:
                raise unprocessable("quantity is required", path=f"{path}.quantity") from exc
            if not quantity.is_finite() or quantity <= 0 or quantity != quantity.to_integral():
                raise unprocessable("quantity must be a whole number ≥ 1", path=f"{path}.quantity")
            if quantity > bought - prior_qty:
                raise unprocessable(
                    f"At most {bought - prior_qty} more can be refunded", path=f"{path}.quantity"
                )
            value = (price * quantity).quantize(CENT)
            if value > price * bought - prior_value:
                raise unprocessable("More than was paid for the line item", path=f"{path}.quantity")
        elif item.get("type") == "AMOUNT":
            value = money(item.get("value"), path=f"{path}.value", currency=currency)
            quantity = Decimal(0)
            if value <= 0:
                raise unprocessable("value must be positive", path=f"{path}.value.amount")
            if value > price * bought - prior_value:
                raise unprocessable(
                    f"At most {price * bought - prior_value:.2f} more can be refunded",
                    path=f"{path}.value.amount",
                )
        else:
            raise unprocessable("type must be AMOUNT or QUANTITY", path=f"{path}.type")
        total += value
        lines.append({"id": li["id"], "quantity": str(quantity), "value": str(value)})
    return lines, total


def create_refund(state: State, *, seller_id: str, body: dict[str, Any]) -> dict[str, Any]:
    command_id = body.get("commandId")
    if not isinstance(command_id, str) or not command_id.strip():
        raise unprocessable("commandId is required", path="commandId")
    row = state.store.one(
        "SELECT doc FROM documents WHERE kind = ? AND seller_id = ? AND k3 = ?",
        (KIND, seller_id, command_id),
    )
    if row is not None:  # the same command again: the first answer, nothing moves twice
        return present(state, orjson.loads(row[0]))
    order_id = (body.get("order") or {}).get("id") if isinstance(body.get("order"), dict) else None
    if not isinstance(order_id, str) or not is_uuid(order_id):
        raise unprocessable("order.id is required", path="order.id")
    order = load_order(state.store, seller_id=seller_id, order_id=order_id)
    if order is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found", path="order.id")
    payment = order.get("payment") or {}
    payment_id = (
        (body.get("payment") or {}).get("id") if isinstance(body.get("payment"), dict) else None
    )
    if payment_id != payment.get("id"):
        raise unprocessable("payment.id is not the order's payment", path="payment.id")
    paid = payment.get("paidAmount")
    if not paid:
        raise unprocessable("The order was not paid", path="order.id", code="NOT_PAID")
    currency = paid["currency"]
    reason = body.get("reason")
    if reason not in REASONS:
        raise unprocessable(f"reason must be one of {', '.join(REASONS)}", path="reason")
    comment = body.get("sellerComment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise unprocessable(
            f"sellerComment: at most {MAX_COMMENT} characters", path="sellerComment"
        )
    done = refunded(state, seller_id=seller_id, order_id=order_id)
    lines, total = _refund_lines(body, order=order, done=done, currency=currency)
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "payment": {"id": payment["id"]},
        "order": {"id": order_id},
        "reason": reason,
        "status": "IN_PROGRESS",
        "createdAt": state.clock.iso(),
        "lineItems": [
            {"id": li["id"], "type": item["type"], **_line_echo(item)}
            for li, item in zip(lines, body.get("lineItems") or [], strict=True)
        ],
    }
    delivery = body.get("delivery")
    if delivery is not None:
        value = money(
            (delivery or {}).get("value") if isinstance(delivery, dict) else None,
            path="delivery.value",
            currency=currency,
        )
        cost = Decimal(((order.get("delivery") or {}).get("cost") or {}).get("amount", "0"))
        if value > cost - done["delivery"]:
            raise unprocessable(
                f"At most {cost - done['delivery']:.2f} of the delivery can be refunded",
                path="delivery.value.amount",
            )
        total += value
        doc["delivery"] = {"value": fmt(value, currency)}
    surcharges = body.get("surcharges")
    if surcharges:
        paid_surcharges = {s["id"]: s for s in order.get("surcharges") or []}
        doc["surcharges"] = []
        for n, s in enumerate(surcharges if isinstance(surcharges, list) else [None]):
            if not isinstance(s, dict) or s.get("id") not in paid_surcharges:
                raise unprocessable("Not a surcharge of this order", path=f"surcharges[{n}].id")
            value = money(s.get("value"), path=f"surcharges[{n}].value", currency=currency)
            limit = Decimal(paid_surcharges[s["id"]]["paidAmount"]["amount"]) - done[
                "surcharges"
            ].get(s["id"], Decimal(0))
            if value > limit:
                raise unprocessable("More than the surcharge", path=f"surcharges[{n}].value")
            total += value
            doc["surcharges"].append({"id": s["id"], "value": fmt(value, currency)})
    for key in ("overpaid", "additionalServices"):
        part = body.get(key)
        if part is not None:
            value = money(
                part.get("value") if isinstance(part, dict) else None,
                path=f"{key}.value",
                currency=currency,
            )
            total += value
            doc[key] = {"value": fmt(value, currency)}
    if total <= 0:
        raise unprocessable("Nothing to refund", path="lineItems")
    left = Decimal(paid["amount"]) - done["total"]
    if total > left:
        raise unprocessable(
            f"The refunds would exceed what was paid: at most {left:.2f} {currency} remain",
            path="lineItems",
            code="REFUND_EXCEEDS_PAYMENT",
        )
    doc["totalValue"] = fmt(total, currency)
    if comment:
        doc["sellerComment"] = comment
    doc["_lines"] = lines
    doc["_readyAt"] = state.clock.now() + float(state.config.command_delay)
    state.store.doc_put(
        kind=KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=doc["createdAt"],
        k1=order_id,
        k2=payment["id"],
        k3=command_id,
    )
    returns.finish_returns_of(state, seller_id=seller_id, order_id=order_id)
    return {**present(state, doc), "status": "IN_PROGRESS"}  # settled on a later read


def _line_echo(item: dict[str, Any]) -> dict[str, Any]:
    if item["type"] == "QUANTITY":
        return {"quantity": int(Decimal(str(item["quantity"])))}
    return {"value": {"amount": item["value"]["amount"], "currency": item["value"]["currency"]}}


@table.route("POST", "/payments/refunds", scope="payments:write")
async def post_refund(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    return ctx.json(create_refund(ctx.state, seller_id=ctx.seller_id, body=body))


@table.route("GET", "/payments/refunds", scope="payments:read")
async def list_refunds(ctx: Ctx) -> Response:
    """Newest first."""
    limit = int_param(ctx, "limit", default=50, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None)
    where: list[str] = []
    params: list[Any] = []
    for name, column in (("id", "id"), ("order.id", "k1"), ("payment.id", "k2")):
        value = ctx.query(name)
        if value is not None:
            if not is_uuid(value):
                raise unprocessable(f"{name} must be a UUID", path=name)
            where.append(f"{column} = ?")
            params.append(value)
    for name, op in (("occurredAt.gte", ">="), ("occurredAt.lte", "<=")):
        value = ctx.query(name)
        if value is not None:
            where.append(f"sort_key {op} ?")
            params.append(value)
    statuses = ctx.query_list("status")
    unknown = [s for s in statuses if s not in LIST_STATUSES]
    if unknown:
        raise unprocessable(f"Unknown status {unknown[0]}", path="status")
    docs, _ = ctx.store.doc_list(
        kind=KIND, seller_id=ctx.seller_id, where=" AND ".join(where), params=params, limit=10**9
    )
    shown = [present(ctx.state, d) for d in docs]
    if statuses:
        shown = [d for d in shown if d["status"] in statuses]
    page = shown[offset : offset + limit]
    return ctx.json({"refunds": page, "count": len(page), "totalCount": len(shown)})


# -- commission refund claims ------------------------------------------------------------------
def _public_claim(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _find_line_item(
    state: State, *, seller_id: str, line_item_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    rows = state.store.all(
        "SELECT id FROM orders WHERE seller_id = ? AND instr(CAST(doc AS TEXT), ?) > 0",
        (seller_id, f'"{line_item_id}"'),
    )
    for (order_id,) in rows:
        order = load_order(state.store, seller_id=seller_id, order_id=str(order_id))
        if order is None:
            continue
        for li in order["lineItems"]:
            if li["id"] == line_item_id:
                return order, li
    return None


@table.route("POST", "/order/refund-claims", scope="orders:write")
async def post_claim(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    line_item_id = (
        (body.get("lineItem") or {}).get("id") if isinstance(body.get("lineItem"), dict) else None
    )
    if not isinstance(line_item_id, str) or not line_item_id:
        raise unprocessable("lineItem.id is required", path="lineItem.id")
    quantity = body.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise unprocessable("quantity must be at least 1", path="quantity")
    found = _find_line_item(ctx.state, seller_id=ctx.seller_id, line_item_id=line_item_id)
    if found is None:
        raise unprocessable("Not a line item of the seller's orders", path="lineItem.id")
    order, li = found
    if order["status"] == "READY_FOR_PROCESSING":
        raise unprocessable(
            "The buyer paid: no commission refund", path="lineItem.id", code="ORDER_PAID"
        )
    claimed = sum(
        int(d["quantity"])
        for d in ctx.store.doc_list(
            kind=CLAIM_KIND, seller_id=ctx.seller_id, where="k2 = ?", params=[line_item_id]
        )[0]
        if d["status"] not in ("CANCELLED", "REJECTED", "REJECTED_AFTER_APPEAL")
    )
    if quantity > int(li["quantity"]) - claimed:
        raise unprocessable(
            f"At most {int(li['quantity']) - claimed} more can be claimed", path="quantity"
        )
    price = Decimal(li["price"]["amount"])
    doc = {
        "id": str(uuid.uuid4()),
        "status": "IN_PROGRESS",
        "quantity": quantity,
        "commission": {
            "amount": float((price * quantity * COMMISSION_RATE).quantize(CENT)),
            "currency": li["price"]["currency"],
        },
        "buyer": {"id": order["buyer"]["id"]},
        "createdAt": ctx.state.clock.iso(),
        "lineItem": {
            "id": li["id"],
            "quantity": int(li["quantity"]),
            "boughtAt": li["boughtAt"],
            "offer": {"id": str(li["offer"]["id"])},
        },
        "type": "MANUAL",
    }
    save_claim(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.json({"id": doc["id"]}, status=201)


def save_claim(state: State, *, seller_id: str, doc: dict[str, Any]) -> None:
    state.store.doc_put(
        kind=CLAIM_KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=doc["createdAt"],
        k1=doc["status"],
        k2=doc["lineItem"]["id"],
        k3=doc["lineItem"]["offer"]["id"],
    )


@table.route("GET", "/order/refund-claims", scope="orders:read")
async def list_claims(ctx: Ctx) -> Response:
    limit = int_param(ctx, "limit", default=25, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None)
    where: list[str] = []
    params: list[Any] = []
    status = ctx.query("status")
    if status is not None:
        if status not in CLAIM_STATUSES:
            raise unprocessable(f"Unknown status {status}", path="status")
        where.append("k1 = ?")
        params.append(status)
    offer_id = ctx.query("lineItem.offer.id")
    if offer_id is not None:
        where.append("k3 = ?")
        params.append(offer_id)
    docs, _ = ctx.store.doc_list(
        kind=CLAIM_KIND,
        seller_id=ctx.seller_id,
        where=" AND ".join(where),
        params=params,
        limit=10**9,
    )
    buyer = ctx.query("buyer.id")
    if buyer is not None:
        docs = [d for d in docs if d["buyer"]["id"] == buyer]
    page = docs[offset : offset + limit]
    return ctx.json({"refundClaims": [_public_claim(d) for d in page], "count": len(docs)})


def load_claim(state: State, *, claim_id: str, seller_id: str | None) -> dict[str, Any]:
    return doc_or_404(
        state,
        kind=CLAIM_KIND,
        id_=claim_id,
        seller_id=seller_id,
        what="Refund claim",
        path="claimId",
    )


@table.route("GET", "/order/refund-claims/{claimId}", scope="orders:read")
async def get_claim(ctx: Ctx) -> Response:
    doc = load_claim(ctx.state, claim_id=ctx.path_param("claimId"), seller_id=ctx.seller_id)
    return ctx.json(_public_claim(doc))


@table.route("DELETE", "/order/refund-claims/{claimId}", scope="orders:write")
async def cancel_claim(ctx: Ctx) -> Response:
    doc = load_claim(ctx.state, claim_id=ctx.path_param("claimId"), seller_id=ctx.seller_id)
    if doc["status"] != "IN_PROGRESS":
        raise unprocessable(f"The claim is {doc['status']}: it cannot be cancelled")
    doc["status"] = "CANCELLED"
    save_claim(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.empty(204)


# -- control plane -----------------------------------------------------------------------------
@endpoint
async def control_cancel_refund(request: Request) -> Any:
    """Allegro's side cancels a refund (the money stays with the seller)."""
    state = sim(request)
    refund_id = request.path_params["refund_id"]
    seller_id = seller_of_doc(state, kind=KIND, id_=refund_id, what="Refund")
    doc = doc_or_404(state, kind=KIND, id_=refund_id, seller_id=seller_id, what="Refund", path="id")
    doc["_canceled"] = True
    state.store.doc_put(
        kind=KIND,
        id_=refund_id,
        seller_id=seller_id,
        doc=doc,
        sort_key=doc["createdAt"],
        k1=doc["order"]["id"],
        k2=doc["payment"]["id"],
        k3=state.store.scalar(
            "SELECT k3 FROM documents WHERE kind = ? AND id = ?", (KIND, refund_id)
        ),
    )
    return present(state, doc)


@endpoint
async def control_claim_status(request: Request) -> Any:
    """``{"status"}``: Allegro decides a commission refund claim."""
    state = sim(request)
    body = await body_of(request)
    claim_id = request.path_params["claim_id"]
    status = body.get("status")
    if status not in CLAIM_STATUSES:
        raise ApiError(400, "VALIDATION_ERROR", f"Unknown status {status}")
    seller_id = seller_of_doc(state, kind=CLAIM_KIND, id_=claim_id, what="Refund claim")
    doc = load_claim(state, claim_id=claim_id, seller_id=seller_id)
    doc["status"] = status
    save_claim(state, seller_id=seller_id, doc=doc)
    return _public_claim(doc)


control_routes = [
    Route("/__sandbox__/refunds/{refund_id}/cancellation", control_cancel_refund, methods=["POST"]),
    Route("/__sandbox__/refund-claims/{claim_id}/status", control_claim_status, methods=["POST"]),
]
