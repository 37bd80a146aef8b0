"""Background market for demos: purchases, payments, cancellations and after-sales activity."""

from __future__ import annotations

import asyncio
import logging
import random

from sandbox import activity
from sandbox.http import ApiError
from sandbox.state import State

log = logging.getLogger("sandbox.market")


def market_step(state: State, rng: random.Random) -> str:
    """One market action; returns what happened."""
    sellers = [r[0] for r in state.store.all("SELECT id FROM sellers")]
    if not sellers:
        return "idle"
    seller_id = rng.choice(sellers)
    roll = rng.random()
    unpaid = state.store.one(
        "SELECT id FROM orders WHERE seller_id = ? AND status IN ('BOUGHT', 'FILLED_IN') AND "
        "merged_into IS NULL "
        "ORDER BY bought_at DESC LIMIT 1",
        (seller_id,),
    )
    try:
        if unpaid is not None and roll < 0.35:
            activity.pay_order(state, order_id=unpaid[0])
            return "payment"
        if unpaid is not None and roll < 0.38:
            activity.cancel_order(state, order_id=unpaid[0])
            return "cancellation"
        if roll > 0.88:  # ratings, disputes, buyer messages
            from sandbox import seed_aftersales  # late: it imports the route modules

            return seed_aftersales.market_step(state, rng, seller_id)
        activity.create_purchase(state, seller_id=seller_id, rng=rng, pay=rng.random() < 0.5)
        return "purchase"
    except ApiError as exc:
        log.info("market step skipped: %s", exc)
        return "skipped"


async def run_market(state: State) -> None:
    rng = random.Random(7)
    while True:
        rate = state.config.market_rate
        await asyncio.sleep(60.0 / rate if rate > 0 else 5.0)
        if rate > 0:
            market_step(state, rng)
