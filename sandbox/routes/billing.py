"""Billing (``/billing``): the fees Allegro charged a seller, and the fee types.

Storage (generic ``documents``): kind ``billing_entry``, a ``BillingEntry``; ``sort_key`` =
``occurredAt#id`` (newest first), ``k1`` = type id, ``k2`` = order id, ``k3`` = offer id.
Entries are seeded for orders and charged through the control plane
(``POST /__sandbox__/orders/{id}/fees``); the seller's balance runs through them in order.
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.http import ApiError, Ctx, RouteTable, int_param, is_uuid, unprocessable
from sandbox.orders import load_order
from sandbox.routes.control import body_of, endpoint, sim
from sandbox.state import State, iso

table = RouteTable()

KIND = "billing_entry"
CENT = Decimal("0.01")
# id → (Polish name, English name)
TYPES: dict[str, tuple[str, str]] = {
    "SUC": ("Prowizja od sprzedaży", "Sales commission"),
    "LIS": ("Opłata za wystawienie", "Listing fee"),
    "DPG": ("Opłata za dostawę Allegro Smart!", "Allegro Smart! delivery fee"),
    "FEA": ("Wyróżnienie oferty", "Featured offer"),
    "REF": ("Zwrot prowizji", "Commission refund"),
    "PAY": ("Wpłata na konto", "Payment to the account"),
}
COMMISSION = Decimal("0.10")


def type_name(type_id: str, language: str | None) -> str:
    pl, en = TYPES[type_id]
    return pl if (language or "").lower().startswith("pl") else en


def balance_of(state: State, *, seller_id: str) -> Decimal:
    row = state.store.one(
        "SELECT doc FROM documents WHERE kind = ? AND seller_id = ? ORDER BY sort_key DESC, id "
        "DESC LIMIT 1",
        (KIND, seller_id),
    )
    if row is None:
        return Decimal("0.00")
    return Decimal(orjson.loads(row[0])["balance"]["amount"])


def add_entry(
    state: State,
    *,
    seller_id: str,
    type_id: str,
    amount: Decimal,
    currency: str,
    occurred: float,
    order_id: str | None = None,
    offer: dict[str, Any] | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Charge (negative ``amount``) or credit the seller; the balance follows."""
    balance = balance_of(state, seller_id=seller_id) + amount
    entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())
    doc: dict[str, Any] = {
        "id": entry_id,
        "occurredAt": iso(occurred),
        "type": {"id": type_id, "name": TYPES[type_id][0]},
        "value": {"amount": f"{amount.quantize(CENT)}", "currency": currency},
        "tax": {"percentage": "23"},
        "balance": {"amount": f"{balance.quantize(CENT)}", "currency": currency},
        "additionalInfo": [],
    }
    if offer is not None:
        doc["offer"] = {"id": str(offer["id"]), "name": str(offer.get("name") or "")}
    if order_id is not None:
        doc["order"] = {"id": order_id}
    state.store.doc_put(
        kind=KIND,
        id_=entry_id,
        seller_id=seller_id,
        doc=doc,
        sort_key=f"{doc['occurredAt']}#{entry_id}",
        k1=type_id,
        k2=order_id,
        k3=doc.get("offer", {}).get("id"),
    )
    return doc


def charge_order(
    state: State,
    *,
    seller_id: str,
    order: dict[str, Any],
    occurred: float,
    rng: random.Random | None = None,
) -> list[dict[str, Any]]:
    """The fees of a sale: a commission per line item, and a delivery fee for Smart orders."""
    made = []
    with state.store.tx():
        for li in order["lineItems"]:
            price = Decimal(li["price"]["amount"]) * int(li["quantity"])
            made.append(
                add_entry(
                    state,
                    seller_id=seller_id,
                    type_id="SUC",
                    amount=-(price * COMMISSION).quantize(CENT),
                    currency=li["price"]["currency"],
                    occurred=occurred,
                    order_id=order["id"],
                    offer=li["offer"],
                    rng=rng,
                )
            )
        if (order.get("delivery") or {}).get("smart"):
            made.append(
                add_entry(
                    state,
                    seller_id=seller_id,
                    type_id="DPG",
                    amount=Decimal("-3.49"),
                    currency=order["lineItems"][0]["price"]["currency"],
                    occurred=occurred + 1,
                    order_id=order["id"],
                    rng=rng,
                )
            )
    return made


# -- Allegro routes ----------------------------------------------------------------------------
@table.route("GET", "/billing/billing-entries", scope="billing:read")
async def list_entries(ctx: Ctx) -> Response:
    """Newest first."""
    limit = int_param(ctx, "limit", default=100, minimum=1, maximum=100)
    offset = int_param(ctx, "offset", default=0, minimum=0, maximum=10000)
    where: list[str] = []
    params: list[Any] = []
    gte, lte = ctx.query("occurredAt.gte"), ctx.query("occurredAt.lte")
    if gte is not None:
        where.append("sort_key >= ?")
        params.append(gte)
    if lte is not None:
        where.append("sort_key <= ?")
        params.append(lte + "#~")
    types = ctx.query_list("type.id")
    if types:
        where.append(f"k1 IN ({', '.join('?' * len(types))})")
        params.extend(types)
    order_id = ctx.query("order.id")
    if order_id is not None:
        if not is_uuid(order_id):
            raise unprocessable("order.id must be a UUID", path="order.id")
        where.append("k2 = ?")
        params.append(order_id)
    offer_id = ctx.query("offer.id")
    if offer_id is not None:
        where.append("k3 = ?")
        params.append(offer_id)
    marketplace = ctx.query("marketplaceId")
    if marketplace is not None and marketplace != "allegro-pl":
        return ctx.json({"billingEntries": []})
    page, _ = ctx.store.doc_list(
        kind=KIND,
        seller_id=ctx.seller_id,
        where=" AND ".join(where),
        params=params,
        limit=limit,
        offset=offset,
    )
    language = ctx.request.headers.get("accept-language")
    for doc in page:
        doc["type"]["name"] = type_name(doc["type"]["id"], language)
    return ctx.json({"billingEntries": page})


@table.route("GET", "/billing/billing-types", auth="any")
async def billing_types(ctx: Ctx) -> Response:
    language = ctx.request.headers.get("accept-language")
    return ctx.json([{"id": tid, "description": type_name(tid, language)} for tid in TYPES])


# -- control plane -----------------------------------------------------------------------------
@endpoint
async def control_charge_order(request: Request) -> Any:
    """Allegro charges the fees of an order's sale (commission per item, Smart delivery)."""
    state = sim(request)
    await body_of(request)
    order_id = request.path_params["order_id"]
    seller_id = state.store.scalar("SELECT seller_id FROM orders WHERE id = ?", (order_id,))
    if seller_id is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
    order = load_order(state.store, seller_id=str(seller_id), order_id=order_id)
    assert order is not None
    return {
        "billingEntries": charge_order(
            state, seller_id=str(seller_id), order=order, occurred=state.clock.now()
        )
    }


control_routes = [
    Route("/__sandbox__/orders/{order_id}/fees", control_charge_order, methods=["POST"]),
]
