"""Market activity "on Allegro's side": purchases, payments, cancellations, merges, edits.

Used by the control plane (``/__sandbox__``), the CLI and the background market.
Every function changes state the way Allegro would and emits the matching events.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

import orjson

from sandbox.http import ApiError
from sandbox.offers import Change, apply_change, load_offer
from sandbox.orders import load_order, next_revision, save_order
from sandbox.seed import SeedContext, SeedOptions, line_item, make_buyers, order_doc
from sandbox.state import State

UNPAID = ("BOUGHT", "FILLED_IN")


def _ctx(state: State, rng: random.Random) -> SeedContext:
    return SeedContext(state=state, options=SeedOptions(), rng=rng, now=state.clock.now())


def seller_of_order(state: State, order_id: str) -> str:
    seller = state.store.scalar(
        "SELECT seller_id FROM orders WHERE id = ? AND merged_into IS NULL", (order_id,)
    )
    if seller is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found")
    return str(seller)


def create_purchase(
    state: State,
    *,
    seller_id: str,
    offer_ids: list[str] | None = None,
    quantity: int = 1,
    buyer_login: str | None = None,
    fill_in: bool = True,
    pay: bool = False,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """A buyer buys: new checkout form (BOUGHT, then FILLED_IN), stock goes down."""
    rng = rng or random.Random()
    ctx = _ctx(state, rng)
    if offer_ids:
        offers = []
        for oid in offer_ids:
            stored = load_offer(state.store, seller_id=seller_id, offer_id=oid)
            if stored is None:
                raise ApiError(404, "NOT_FOUND", f"Offer {oid} not found")
            if (
                stored.doc["publication"]["status"] != "ACTIVE"
                or stored.doc["stock"]["available"] < quantity
            ):
                raise ApiError(422, "OFFER_NOT_AVAILABLE", f"Offer {oid} cannot be bought now")
            offers.append(stored)
    else:
        row = state.store.one(
            "SELECT id FROM offers WHERE seller_id = ? AND status = 'ACTIVE' AND stock_available "
            "> 0 ORDER BY random() LIMIT 1",
            (seller_id,),
        )
        if row is None:
            raise ApiError(422, "NO_OFFERS", "The seller has no active offer with stock")
        stored = load_offer(state.store, seller_id=seller_id, offer_id=str(row[0]))
        assert stored is not None
        offers = [stored]
    buyer = make_buyers(rng, 1)[0]
    buyer["id"] = str(60_000_000 + rng.randrange(10_000_000))
    if buyer_login:
        # one login is one buyer: the same id every time (merges need the same buyer)
        digest = hashlib.sha1(buyer_login.encode(), usedforsecurity=False).hexdigest()
        buyer["id"] = str(70_000_000 + int(digest[:6], 16))
        buyer["login"] = buyer_login
        buyer["email"] = f"{buyer_login}@allegromail.pl"
    now = state.clock.now()
    items = []
    for stored in offers:
        item = line_item(ctx, stored.doc, now)
        item["quantity"] = quantity
        items.append(item)
        available = stored.doc["stock"]["available"]
        stored.sold += quantity
        apply_change(state, stored, Change(stock=max(0, available - quantity)))
    doc = order_doc(ctx, seller_id=seller_id, buyer=buyer, items=items, bought=now, status="BOUGHT")
    doc["fulfillment"]["status"] = "NEW"
    doc["fulfillment"]["shipmentSummary"]["lineItemsSent"] = "NONE"
    doc.pop("payment", None)
    save_order(state, doc, seller_id=seller_id, events=("BOUGHT",))
    if fill_in:
        doc["status"] = "FILLED_IN"
        doc["payment"] = {"id": ctx.uuid(), "type": "ONLINE", "provider": "P24"}
        save_order(state, doc, seller_id=seller_id, events=("FILLED_IN",))
    if pay:
        doc = pay_order(state, order_id=doc["id"])
    return doc


def pay_order(state: State, *, order_id: str) -> dict[str, Any]:
    seller_id = seller_of_order(state, order_id)
    doc = load_order(state.store, seller_id=seller_id, order_id=order_id)
    assert doc is not None
    if doc["status"] not in UNPAID:
        raise ApiError(
            422, "INVALID_STATE", f"Order {order_id} is {doc['status']}, not awaiting payment"
        )
    total = doc["summary"]["totalToPay"]
    payment = doc.get("payment") or {"id": str(uuid.uuid4()), "type": "ONLINE", "provider": "P24"}
    payment.update({"finishedAt": state.clock.iso(), "paidAmount": total})
    doc["payment"] = payment
    doc["status"] = "READY_FOR_PROCESSING"
    save_order(state, doc, seller_id=seller_id, events=("READY_FOR_PROCESSING",))
    return doc


def cancel_order(state: State, *, order_id: str, auto: bool = False) -> dict[str, Any]:
    """The buyer cancels (``BUYER_CANCELLED``), or an unpaid form expires (``AUTO_CANCELLED``)."""
    seller_id = seller_of_order(state, order_id)
    doc = load_order(state.store, seller_id=seller_id, order_id=order_id)
    assert doc is not None
    if doc["status"] == "CANCELLED":
        raise ApiError(422, "INVALID_STATE", f"Order {order_id} is already cancelled")
    if auto and doc["status"] not in UNPAID:
        raise ApiError(422, "INVALID_STATE", "Only unpaid orders are cancelled automatically")
    doc["status"] = "CANCELLED"
    doc["fulfillment"]["status"] = "CANCELLED"
    save_order(
        state, doc, seller_id=seller_id, events=("AUTO_CANCELLED" if auto else "BUYER_CANCELLED",)
    )
    return doc


def merge_orders(state: State, *, order_ids: list[str]) -> dict[str, Any]:
    """The buyer pays for several unpaid purchases at once: a new form replaces them."""
    if len(order_ids) < 2:
        raise ApiError(422, "VALIDATION_ERROR", "Merging needs at least two checkout forms")
    sellers = {seller_of_order(state, oid) for oid in order_ids}
    if len(sellers) != 1:
        raise ApiError(422, "VALIDATION_ERROR", "All checkout forms must belong to one seller")
    seller_id = sellers.pop()
    docs = [load_order(state.store, seller_id=seller_id, order_id=oid) for oid in order_ids]
    forms = [d for d in docs if d is not None]
    if any(d["status"] not in UNPAID for d in forms):
        raise ApiError(422, "INVALID_STATE", "Only unpaid checkout forms can be merged")
    if len({d["buyer"]["id"] for d in forms}) != 1:
        raise ApiError(422, "VALIDATION_ERROR", "All checkout forms must belong to one buyer")
    merged = orjson.loads(orjson.dumps(forms[0]))
    merged["id"] = str(uuid.uuid4())
    merged["lineItems"] = [li for d in forms for li in d["lineItems"]]
    currency = merged["summary"]["totalToPay"]["currency"]
    total = sum(float(d["summary"]["totalToPay"]["amount"]) for d in forms)
    merged["summary"] = {"totalToPay": {"amount": f"{total:.2f}", "currency": currency}}
    merged["revision"] = next_revision("", merged["id"])
    merged["status"] = "FILLED_IN"
    merged["payment"] = {"id": str(uuid.uuid4()), "type": "ONLINE", "provider": "P24"}
    for d in forms:
        state.store.execute(
            "UPDATE orders SET merged_into = ?, seller_id = 'merged:' || seller_id WHERE id = ?",
            (merged["id"], d["id"]),
        )
    save_order(state, merged, seller_id=seller_id, events=("FILLED_IN",))
    return pay_order(state, order_id=merged["id"])


def modify_order(
    state: State, *, order_id: str, fulfillment_status: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """A change made on Allegro's side (buyer edit, Allegro's fulfillment): bumps the revision."""
    seller_id = seller_of_order(state, order_id)
    doc = load_order(state.store, seller_id=seller_id, order_id=order_id)
    assert doc is not None
    events: tuple[str, ...] = ("BUYER_MODIFIED",)
    if fulfillment_status is not None:
        doc["fulfillment"]["status"] = fulfillment_status
        events = ("FULFILLMENT_STATUS_CHANGED",)
    if note is not None:
        doc["note"] = {"text": note}
    save_order(state, doc, seller_id=seller_id, events=events)
    return doc
