"""Customer returns: the beta ``/order/customer-returns`` API and the buyer's side of a return.

Storage (generic ``documents``):
- kind ``customer_return``: the ``CustomerReturn`` document; ``sort_key`` = ``createdAt#id``
  (oldest first, so the ``from`` cursor means "created after that return"), ``k1`` = status,
  ``k2`` = checkout form id, ``k3`` = buyer login.

A return's parcel moves ``CREATED → DISPATCHED → IN_TRANSIT → DELIVERED`` through the control
plane; a refund of its order (``/payments/refunds``) then finishes it (``FINISHED``), a rejection
(``POST …/rejection``) sets ``REJECTED``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.documents import doc_or_404, seller_of_doc
from sandbox.http import ApiError, Ctx, RouteTable, int_param, unprocessable
from sandbox.orders import load_order
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State, iso

table = RouteTable()

KIND = "customer_return"
STATUSES = (
    "CREATED",
    "DISPATCHED",
    "IN_TRANSIT",
    "DELIVERED",
    "FINISHED",
    "FINISHED_APT",
    "REJECTED",
    "COMMISSION_REFUND_CLAIMED",
    "COMMISSION_REFUNDED",
    "WAREHOUSE_DELIVERED",
    "WAREHOUSE_VERIFICATION",
)
PARCEL_STEPS = ("CREATED", "DISPATCHED", "IN_TRANSIT", "DELIVERED")
REJECTION_CODES = (
    "REFUND_REJECTED",
    "NEW_ITEM_SENT",
    "ITEM_FIXED",
    "MISSING_PART_SENT",
    "ITEM_MISMATCH",
    "BUSINESS_PURCHASE",
    "NO_RETURN_RIGHT",
)
# Where a rejection is no longer possible: the money went back, or it was rejected already.
CLOSED = ("FINISHED", "FINISHED_APT", "REJECTED", "COMMISSION_REFUNDED")
MAX_REASON = 250
REASONS = (
    ("DAMAGED", "Produkt przyszedł uszkodzony."),
    ("DONT_LIKE_IT", "Jednak mi się nie podoba."),
    ("DIFFERENT", "Produkt inny niż na zdjęciach."),
    ("MISTAKE", "Zamówiłem przez pomyłkę."),
    ("NONE", ""),
)
CARRIERS = ("ALLEGRO", "INPOST", "DPD", "POCZTA_POLSKA")


def new_id(rng: random.Random | None) -> str:
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def waybill(rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(24))


def build_return(
    state: State,
    *,
    seller_id: str,
    order: dict[str, Any],
    created: float,
    rng: random.Random,
    items: list[dict[str, Any]] | None = None,
    reason: int | None = None,
) -> dict[str, Any]:
    """A new return of ``order``'s items (``items``: ``[{offerId, quantity}]``, default all)."""
    wanted = {str(i["offerId"]): int(i.get("quantity") or 0) for i in items or []}
    lines = []
    reason_type, comment = REASONS[reason if reason is not None else rng.randrange(len(REASONS))]
    for li in order["lineItems"]:
        offer_id = str(li["offer"]["id"])
        if wanted and offer_id not in wanted:
            continue
        quantity = wanted.get(offer_id) or li["quantity"]
        if quantity < 1 or quantity > li["quantity"]:
            raise ApiError(400, "VALIDATION_ERROR", f"quantity of {offer_id} out of range")
        item_reason: dict[str, Any] = {"type": reason_type}
        if comment:
            item_reason["userComment"] = comment
        lines.append(
            {
                "offerId": offer_id,
                "quantity": quantity,
                "name": li["offer"]["name"],
                "price": li["price"],
                "url": f"https://allegro.pl/oferta/{offer_id}",
                "reason": item_reason,
            }
        )
    if not lines:
        raise ApiError(400, "VALIDATION_ERROR", "No line item of the order matches")
    count = int(
        state.store.scalar(
            "SELECT COUNT(*) FROM documents WHERE kind = ? AND seller_id = ?", (KIND, seller_id)
        )
        or 0
    )
    created_iso = iso(created)
    buyer = order["buyer"]
    return {
        "id": new_id(rng),
        "isFulfillment": False,
        "createdAt": created_iso,
        "referenceNumber": f"ZW/{created_iso[:4]}/{count + 1:05d}",
        "orderId": order["id"],
        "buyer": {"email": buyer["email"], "login": buyer["login"]},
        "items": lines,
        "refund": {
            "bankAccount": {
                "owner": f"{buyer.get('firstName', '')} {buyer.get('lastName', '')}".strip(),
                "accountNumber": "".join(str(rng.randrange(10)) for _ in range(26)),
                "iban": "PL",
                "swift": "",
                "address": {
                    "street": (buyer.get("address") or {}).get("street", ""),
                    "city": (buyer.get("address") or {}).get("city", ""),
                    "postCode": (buyer.get("address") or {}).get("postCode", ""),
                    "countryCode": "PL",
                },
            }
        },
        "parcels": [
            {
                "createdAt": created_iso,
                "waybill": waybill(rng),
                "transportingWaybill": None,
                "carrierId": rng.choice(CARRIERS),
                "transportingCarrierId": None,
                "sender": {"phoneNumber": str(buyer.get("phoneNumber") or "")},
            }
        ],
        "marketplaceId": (order.get("marketplace") or {}).get("id", "allegro-pl"),
        "status": "CREATED",
    }


def save_return(state: State, *, seller_id: str, doc: dict[str, Any]) -> None:
    state.store.doc_put(
        kind=KIND,
        id_=doc["id"],
        seller_id=seller_id,
        doc=doc,
        sort_key=f"{doc['createdAt']}#{doc['id']}",
        k1=doc["status"],
        k2=doc["orderId"],
        k3=doc["buyer"]["login"],
    )


def load_return(state: State, *, return_id: str, seller_id: str | None) -> dict[str, Any]:
    return doc_or_404(
        state,
        kind=KIND,
        id_=return_id,
        seller_id=seller_id,
        what="Customer return",
        path="customerReturnId",
    )


def advance_parcel(state: State, *, return_id: str, status: str | None = None) -> dict[str, Any]:
    """The return's parcel moves one step (or to ``status``) on its way back to the seller."""
    seller_id = seller_of_doc(state, kind=KIND, id_=return_id, what="Customer return")
    doc = load_return(state, return_id=return_id, seller_id=seller_id)
    current = doc["status"]
    if current not in PARCEL_STEPS:
        raise ApiError(409, "CONFLICT", f"The return is {current}: its parcel no longer moves")
    if status is None:
        index = PARCEL_STEPS.index(current)
        if index + 1 >= len(PARCEL_STEPS):
            raise ApiError(409, "CONFLICT", "The parcel was delivered already")
        status = PARCEL_STEPS[index + 1]
    if status not in PARCEL_STEPS or PARCEL_STEPS.index(status) <= PARCEL_STEPS.index(current):
        raise ApiError(400, "VALIDATION_ERROR", f"Cannot move a {current} parcel to {status}")
    doc["status"] = status
    if status == "IN_TRANSIT":
        for parcel in doc["parcels"]:
            parcel["transportingWaybill"] = parcel["waybill"]
            parcel["transportingCarrierId"] = parcel["carrierId"]
    save_return(state, seller_id=seller_id, doc=doc)
    return doc


def finish_returns_of(state: State, *, seller_id: str, order_id: str) -> None:
    """A refund of the order settles its delivered returns."""
    page, _ = state.store.doc_list(
        kind=KIND, seller_id=seller_id, where="k2 = ? AND k1 = 'DELIVERED'", params=[order_id]
    )
    for doc in page:
        doc["status"] = "FINISHED"
        save_return(state, seller_id=seller_id, doc=doc)


# -- Allegro routes ----------------------------------------------------------------------------
FILTERS = {
    "customerReturnId": "id",
    "orderId": "orderId",
    "buyer.email": "buyer.email",
    "buyer.login": "buyer.login",
    "referenceNumber": "referenceNumber",
    "marketplaceId": "marketplaceId",
    "status": "status",
}
ITEM_FILTERS = {"items.offerId": "offerId", "items.name": "name"}
PARCEL_FILTERS = {
    "parcels.waybill": "waybill",
    "parcels.transportingWaybill": "transportingWaybill",
    "parcels.carrierId": "carrierId",
    "parcels.transportingCarrierId": "transportingCarrierId",
}


def _get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _matches(ctx: Ctx, doc: dict[str, Any]) -> bool:
    for param, path in FILTERS.items():
        wanted = ctx.query(param)
        if wanted is not None and str(_get(doc, path)) != wanted:
            return False
    for param, key in ITEM_FILTERS.items():
        wanted = ctx.query(param)
        if wanted is not None and not any(str(i.get(key)) == wanted for i in doc["items"]):
            return False
    for param, key in PARCEL_FILTERS.items():
        wanted = ctx.query(param)
        if wanted is not None and not any(str(p.get(key)) == wanted for p in doc["parcels"]):
            return False
    phone = ctx.query("parcels.sender.phoneNumber")
    if phone is not None and not any(
        _get(p, "sender.phoneNumber") == phone for p in doc["parcels"]
    ):
        return False
    gte, lte = ctx.query("createdAt.gte"), ctx.query("createdAt.lte")
    if gte is not None and doc["createdAt"] < gte:
        return False
    return lte is None or doc["createdAt"] <= lte


@table.route("GET", "/order/customer-returns", scope="orders:read", media="beta")
async def list_returns(ctx: Ctx) -> Response:
    """Oldest first; ``from`` (a return id) continues after that return."""
    limit = int_param(ctx, "limit", default=100, minimum=1, maximum=1000, status=400)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=None, status=400)
    status = ctx.query("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, "VALIDATION_ERROR", f"Unknown status {status}", path="status")
    where, params = "", []
    after = ctx.query("from")
    if after:
        start = ctx.store.scalar(
            "SELECT sort_key FROM documents WHERE kind = ? AND id = ? AND seller_id = ?",
            (KIND, after, ctx.seller_id),
        )
        if start is None:
            raise ApiError(400, "VALIDATION_ERROR", f"Unknown return {after}", path="from")
        where, params = "sort_key > ?", [start]
    docs, _ = ctx.store.doc_list(
        kind=KIND,
        seller_id=ctx.seller_id,
        where=where,
        params=params,
        descending=False,
        limit=10**9,
    )
    matching = [d for d in docs if _matches(ctx, d)]
    page = matching[offset : offset + limit]
    return ctx.json({"count": len(matching), "customerReturns": page})


@table.route("GET", "/order/customer-returns/{customerReturnId}", scope="orders:read", media="beta")
async def get_return(ctx: Ctx) -> Response:
    doc = load_return(
        ctx.state, return_id=ctx.path_param("customerReturnId"), seller_id=ctx.seller_id
    )
    return ctx.json(doc)


@table.route(
    "POST",
    "/order/customer-returns/{customerReturnId}/rejection",
    scope="orders:write",
    media="beta",
)
async def reject_return(ctx: Ctx) -> Response:
    body = await ctx.body_object()
    rejection = body.get("rejection")
    if not isinstance(rejection, dict):
        raise ApiError(400, "VALIDATION_ERROR", "rejection is required", path="rejection")
    code = rejection.get("code")
    if code not in REJECTION_CODES:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"code must be one of {', '.join(REJECTION_CODES)}",
            path="rejection.code",
        )
    reason = rejection.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON):
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"reason must have 1 to {MAX_REASON} characters",
            path="rejection.reason",
        )
    if code == "REFUND_REJECTED" and not (reason or "").strip():
        raise unprocessable("reason is required for REFUND_REJECTED", path="rejection.reason")
    doc = load_return(
        ctx.state, return_id=ctx.path_param("customerReturnId"), seller_id=ctx.seller_id
    )
    if doc["status"] in CLOSED:
        raise unprocessable(
            f"The return is {doc['status']}: it cannot be rejected", code="RETURN_CLOSED"
        )
    entry: dict[str, Any] = {"code": code, "createdAt": ctx.state.clock.iso()}
    if reason:
        entry["reason"] = reason
    doc["rejection"] = entry
    doc["status"] = "REJECTED"
    save_return(ctx.state, seller_id=ctx.seller_id, doc=doc)
    return ctx.json(doc)


# -- control plane -----------------------------------------------------------------------------
def pick_order(state: State, *, seller_id: str, order_id: str | None) -> dict[str, Any]:
    if order_id:
        order = load_order(state.store, seller_id=seller_id, order_id=order_id)
        if order is None:
            raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
        return order
    row = state.store.one(
        "SELECT id FROM orders WHERE seller_id = ? AND status = 'READY_FOR_PROCESSING' "
        "AND merged_into IS NULL AND id NOT IN (SELECT k2 FROM documents WHERE kind = ? "
        "AND seller_id = ?) ORDER BY bought_at DESC LIMIT 1",
        (seller_id, KIND, seller_id),
    )
    if row is None:
        raise ApiError(422, "NO_ORDERS", "The seller has no paid order without a return")
    order = load_order(state.store, seller_id=seller_id, order_id=str(row[0]))
    assert order is not None
    return order


@endpoint
async def control_new_return(request: Request) -> Any:
    """``{"orderId"?, "items"?: [{"offerId", "quantity"}], "status"?}``: a buyer starts a
    return (default: the newest paid order without one, every item)."""
    state = sim(request)
    body = await body_of(request)
    seller_id = request.path_params["seller_id"]
    if state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None:
        raise ApiError(404, "NOT_FOUND", f"Seller {seller_id} not found")
    order = pick_order(state, seller_id=seller_id, order_id=body.get("orderId"))
    if order["status"] != "READY_FOR_PROCESSING":
        raise ApiError(422, "NOT_PAID", "Only a paid order can be returned")
    items = body.get("items")
    if items is not None and not isinstance(items, list):
        raise ApiError(400, "VALIDATION_ERROR", "items must be a list")
    doc = build_return(
        state,
        seller_id=seller_id,
        order=order,
        created=state.clock.now(),
        rng=random.Random(),
        items=items,
    )
    save_return(state, seller_id=seller_id, doc=doc)
    status = body.get("status")
    if status and status != "CREATED":
        doc = advance_parcel(state, return_id=doc["id"], status=str(status))
    return doc


@endpoint
async def control_advance_parcel(request: Request) -> Any:
    """``{"status"?}``: the returned parcel moves on (one step, or to ``status``)."""
    body = await body_of(request)
    status = body.get("status")
    return advance_parcel(
        sim(request),
        return_id=request.path_params["return_id"],
        status=str(status) if status else None,
    )


control_routes = [
    Route(
        "/__sandbox__/sellers/{seller_id}/customer-returns", control_new_return, methods=["POST"]
    ),
    Route(
        "/__sandbox__/customer-returns/{return_id}/parcel", control_advance_parcel, methods=["POST"]
    ),
]
