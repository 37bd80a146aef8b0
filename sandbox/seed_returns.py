"""Seed hook for returns, refunds, buyer messages and billing.

Per seller, from the core seed's recent orders (``SeedContext.recent_orders``), with an RNG of
its own (derived from the seed and the seller, so the other hooks' data never changes):
- billing: a sales commission per line item of every paid recent order (a Smart delivery fee
  for Smart orders) and a listing fee now and then; the balance runs through them;
- returns: one each of ``CREATED``, ``IN_TRANSIT``, ``DELIVERED`` (waiting for a refund) and
  ``REJECTED``;
- messages: threads with buyers about their orders, some answered, three unread;
- a commission refund claim for a cancelled or unpaid order, when there is one.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.orders import load_order
from sandbox.routes import billing, messaging, refunds, returns
from sandbox.seed import SeedContext, register_hook
from sandbox.state import State, iso

DAY = 86400.0
SELLER_ANSWERS = (
    "Dzień dobry, zamówienie wyślemy jutro rano. Pozdrawiamy!",
    "Oczywiście, proszę podać dane do faktury, wystawimy ją od razu.",
    "Tak, to oryginalny produkt z gwarancją producenta na 24 miesiące.",
)
RETURN_PLAN = ("CREATED", "IN_TRANSIT", "DELIVERED", "REJECTED")


@register_hook
def seed_returns_and_messages(ctx: SeedContext) -> None:
    for seller_id in ctx.seller_ids:
        rng = random.Random(f"{ctx.options.seed}:{seller_id}:returns")
        recent = ctx.recent_orders.get(seller_id, [])
        orders = [
            o
            for o in (
                load_order(ctx.state.store, seller_id=seller_id, order_id=r["id"]) for r in recent
            )
            if o is not None
        ]
        paid = [o for o in orders if o["status"] == "READY_FOR_PROCESSING"]
        seed_billing(ctx.state, seller_id, paid, rng, now=ctx.now)
        seed_returns(ctx.state, seller_id, paid, rng, now=ctx.now)
        seed_threads(ctx.state, seller_id, paid, rng, now=ctx.now)
        unpaid = [o for o in orders if o["status"] != "READY_FOR_PROCESSING"]
        if unpaid:
            seed_claim(ctx.state, seller_id, unpaid[0], rng, now=ctx.now)


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _bought(order: dict[str, Any]) -> float:
    first = min(li["boughtAt"] for li in order["lineItems"])
    return datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp()


def seed_billing(
    state: State, seller_id: str, orders: list[dict[str, Any]], rng: random.Random, *, now: float
) -> None:
    for order in sorted(orders, key=_bought):
        at = min(_bought(order) + 600, now - 60)
        billing.charge_order(state, seller_id=seller_id, order=order, occurred=at, rng=rng)
        if rng.random() < 0.2:
            li = order["lineItems"][0]
            billing.add_entry(
                state,
                seller_id=seller_id,
                type_id="FEA",
                amount=Decimal("-9.90"),
                currency=li["price"]["currency"],
                occurred=at + 5,
                offer=li["offer"],
                rng=rng,
            )


def seed_returns(
    state: State, seller_id: str, orders: list[dict[str, Any]], rng: random.Random, *, now: float
) -> None:
    candidates = [o for o in orders if now - _bought(o) > 3 * DAY]
    picked = rng.sample(candidates, min(len(RETURN_PLAN), len(candidates)))
    for status, order in zip(RETURN_PLAN, picked, strict=False):
        created = min(_bought(order) + rng.uniform(2, 6) * DAY, now - DAY)
        doc = returns.build_return(
            state, seller_id=seller_id, order=order, created=created, rng=rng
        )
        if status == "REJECTED":
            doc["status"] = "REJECTED"
            doc["rejection"] = {
                "code": "REFUND_REJECTED",
                "reason": "Zwrócony produkt nosi ślady używania.",
                "createdAt": doc["createdAt"],
            }
        elif status != "CREATED":
            doc["status"] = status
            for parcel in doc["parcels"]:
                parcel["transportingWaybill"] = parcel["waybill"]
                parcel["transportingCarrierId"] = parcel["carrierId"]
        returns.save_return(state, seller_id=seller_id, doc=doc)


def seed_threads(
    state: State, seller_id: str, orders: list[dict[str, Any]], rng: random.Random, *, now: float
) -> None:
    picked = rng.sample(orders, min(5, len(orders)))
    for n, order in enumerate(picked):
        thread_id = _uid(rng)
        thread = messaging.thread_for(
            state, seller_id=seller_id, login=order["buyer"]["login"], thread_id=thread_id
        )
        at = min(_bought(order) + rng.uniform(0.1, 2) * DAY, now - 3 * 3600)
        messaging.add_message(
            state,
            seller_id=seller_id,
            thread=thread,
            from_buyer=True,
            text=messaging.BUYER_QUESTIONS[n % len(messaging.BUYER_QUESTIONS)],
            order_id=order["id"],
            offer_id=str(order["lineItems"][0]["offer"]["id"]),
            at=at,
            message_id=_uid(rng),
        )
        if n >= 3:  # the first three stay unread, waiting for an answer
            messaging.add_message(
                state,
                seller_id=seller_id,
                thread=thread,
                from_buyer=False,
                text=SELLER_ANSWERS[n % len(SELLER_ANSWERS)],
                order_id=order["id"],
                at=at + rng.uniform(0.5, 3) * 3600,
                message_id=_uid(rng),
            )


def seed_claim(
    state: State, seller_id: str, order: dict[str, Any], rng: random.Random, *, now: float
) -> None:
    li = order["lineItems"][0]
    price = Decimal(li["price"]["amount"])
    created = min(_bought(order) + 8 * DAY, now - 3600)
    doc = {
        "id": _uid(rng),
        "status": "IN_PROGRESS",
        "quantity": int(li["quantity"]),
        "commission": {
            "amount": float(
                (price * int(li["quantity"]) * refunds.COMMISSION_RATE).quantize(refunds.CENT)
            ),
            "currency": li["price"]["currency"],
        },
        "buyer": {"id": order["buyer"]["id"]},
        "createdAt": iso(created),
        "lineItem": {
            "id": li["id"],
            "quantity": int(li["quantity"]),
            "boughtAt": li["boughtAt"],
            "offer": {"id": str(li["offer"]["id"])},
        },
        "type": "AUTOMATIC",
    }
    refunds.save_claim(state, seller_id=seller_id, doc=doc)
