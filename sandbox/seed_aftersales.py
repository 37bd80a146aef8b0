"""Seed hook for after-sales data: ratings, disputes and claims, return policies, warranties.

Per seller, from the core seed's most recent orders (``SeedContext.recent_orders``):
- ratings for about 40% of the paid orders older than three days: mostly recommending, with
  Polish comments; some answered, one in ten edited, a couple with a removal request;
- three disputes (ongoing with replies, escalated, closed) and three claims (submitted, accepted,
  rejected), each with a chat tied to a real order;
- two to four return policies, a warranty and an implied warranty.
Everything comes from ``ctx.rng`` / ``ctx.uuid()`` so the same seed gives the same data.

Also adds the after-sales commands to the CLI (``register_cli``).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from typing import Any

import orjson

from sandbox.routes import issues, policies, ratings
from sandbox.seed import SeedContext, register_hook
from sandbox.state import State, iso

DAY = 86400.0

POLICY_TEMPLATES: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "Standardowe warunki zwrotu (14 dni)",
        {
            "availability": {"range": "FULL"},
            "withdrawalPeriod": "P14D",
            "returnCost": {"coveredBy": "BUYER"},
        },
    ),
    (
        "Darmowy zwrot 30 dni",
        {
            "availability": {"range": "FULL"},
            "withdrawalPeriod": "P30D",
            "returnCost": {"coveredBy": "SELLER"},
        },
    ),
    (
        "Produkty na zamówienie - bez zwrotu",
        {"availability": {"range": "RESTRICTED", "restrictionCause": {"name": "CUSTOM_ITEM"}}},
    ),
    (
        "Zapieczętowane kosmetyki",
        {
            "availability": {
                "range": "RESTRICTED",
                "restrictionCause": {"name": "SEALED_ITEM_NO_RETURN_DUE_HEALTH_OR_HYGIENE"},
            },
            "withdrawalPeriod": "P14D",
            "returnCost": {"coveredBy": "BUYER"},
        },
    ),
)


@register_hook
def seed_aftersales(ctx: SeedContext) -> None:
    for seller_id in ctx.seller_ids:
        orders = [
            o for o in ctx.recent_orders.get(seller_id, []) if o["status"] == "READY_FOR_PROCESSING"
        ]
        seed_policies(ctx, seller_id)
        seed_warranties(ctx, seller_id)
        if orders:
            seed_ratings(ctx, seller_id, orders)
            seed_issues(ctx, seller_id, orders)


def seed_ratings(ctx: SeedContext, seller_id: str, orders: list[dict[str, Any]]) -> None:
    rng = ctx.rng
    state = ctx.state
    made = 0
    with state.store.tx():
        for order in orders:
            age = ctx.now - order["boughtAt"]
            if age < 3 * DAY or rng.random() > 0.4:
                continue
            created = min(order["boughtAt"] + rng.uniform(2, 10) * DAY, ctx.now - 3600)
            # every seventh rating is negative, so even a small seed has some
            recommended = made % 7 != 2 and rng.random() < 0.97
            doc = ratings.build_rating(
                order=order, rng=rng, created=created, recommended=recommended
            )
            made += 1
            answer_rate = 0.15 if doc["recommended"] else 0.5
            if made % 5 == 1 or rng.random() < answer_rate:
                pool = ratings.ANSWERS_POSITIVE if doc["recommended"] else ratings.ANSWERS_NEGATIVE
                doc["answer"] = {
                    "createdAt": iso(created + rng.uniform(1, 48) * 3600),
                    "message": rng.choice(pool),
                }
            if not doc["recommended"] and rng.random() < 0.3:
                doc["removal"]["request"] = {
                    "createdAt": iso(created + DAY),
                    "message": rng.choice(ratings.REMOVAL_REASONS),
                    "source": "SELLER",
                }
            if rng.random() < 0.1:
                edited = min(created + rng.uniform(1, 5) * DAY, ctx.now - 60)
                doc["editedAt"] = iso(edited)
                doc["lastChangedAt"] = doc["editedAt"]
            if rng.random() < 0.02:
                doc["excludedFromAverageRates"] = True
                doc["excludedFromAverageRatesReason"] = "Ocena wystawiona po zwrocie towaru"
            ratings.save_rating(state, seller_id=seller_id, doc=doc)


# (type, final status, buyer follow-ups, seller replies)
ISSUE_PLAN = (
    ("DISPUTE", "DISPUTE_ONGOING", 2, 1),
    ("DISPUTE", "DISPUTE_UNRESOLVED", 1, 1),
    ("DISPUTE", "DISPUTE_CLOSED", 1, 1),
    ("CLAIM", "CLAIM_SUBMITTED", 0, 0),
    ("CLAIM", "CLAIM_ACCEPTED", 1, 1),
    ("CLAIM", "CLAIM_REJECTED", 0, 1),
)


def seed_issues(ctx: SeedContext, seller_id: str, orders: list[dict[str, Any]]) -> None:
    rng = ctx.rng
    state = ctx.state
    login = str(state.store.scalar("SELECT login FROM sellers WHERE id = ?", (seller_id,)))
    candidates = [o for o in orders if ctx.now - o["boughtAt"] > 2 * DAY]
    picked = rng.sample(candidates, min(len(ISSUE_PLAN), len(candidates)))
    for (type_, status, follow_ups, replies), order in zip(ISSUE_PLAN, picked, strict=False):
        opened = min(order["boughtAt"] + rng.uniform(1, 8) * DAY, ctx.now - DAY)
        doc, first = issues.build_issue(
            state, seller_id=seller_id, order=order, type_=type_, opened=opened, rng=rng
        )
        with state.store.tx():
            issues.save_issue(state, seller_id=seller_id, doc=doc)
            issues.store_message(
                state, seller_id=seller_id, issue_id=doc["id"], seq=0, message=first
            )
        at = opened
        for i in range(max(follow_ups, replies)):
            if i < replies:
                at += rng.uniform(1, 12) * 3600
                issues.add_message(
                    state,
                    seller_id=seller_id,
                    doc=doc,
                    role="SELLER",
                    text=rng.choice(issues.SELLER_REPLIES),
                    login=login,
                    at=at,
                )
            if i < follow_ups:
                at += rng.uniform(1, 12) * 3600
                issues.add_message(
                    state,
                    seller_id=seller_id,
                    doc=doc,
                    role="BUYER",
                    text=rng.choice(issues.BUYER_FOLLOW_UPS),
                    login=doc["buyer"]["login"],
                    at=at,
                )
        if status != doc["currentState"]["status"]:
            issues.set_status(state, issue_id=doc["id"], status=status)


def seed_policies(ctx: SeedContext, seller_id: str) -> None:
    seller_row = ctx.state.store.scalar("SELECT doc FROM sellers WHERE id = ?", (seller_id,))
    company = orjson.loads(seller_row)["company"]["name"][:200]
    address = {
        "name": company,
        "street": "Magazynowa 7",
        "postCode": "05-870",
        "city": "Błonie",
        "countryCode": "PL",
    }
    count = 2 + ctx.rng.randrange(3)
    for name, fields in POLICY_TEMPLATES[:count]:
        body = {
            "name": name,
            "isFulfillment": False,
            **fields,
            "address": address,
            "contact": {
                "email": f"zwroty.{seller_id}@example.pl",
                "phoneNumber": "+48 22 100 20 30",
            },
            "options": {
                "cashOnDeliveryNotAllowed": True,
                "freeAccessoriesReturnRequired": True,
                "refundLoweredByReceivedDiscount": False,
                "businessReturnAllowed": False,
                "collectBySellerOnly": False,
            },
        }
        policies.create_policy(ctx.state, seller_id=seller_id, body=body, policy_id=ctx.uuid())


def seed_warranties(ctx: SeedContext, seller_id: str) -> None:
    store = ctx.state.store
    now = iso(ctx.now)
    warranty_id = ctx.uuid()
    store.doc_put(
        kind=policies.WARRANTY_KIND,
        id_=warranty_id,
        seller_id=seller_id,
        sort_key=now,
        doc={
            "id": warranty_id,
            "seller": {"id": seller_id},
            "name": "Gwarancja producenta 24 miesiące",
            "type": "MANUFACTURER",
            "individual": {"period": "P24M", "lifetime": False},
            "corporate": {"period": "P12M", "lifetime": False},
            "description": "<p>Gwarancja realizowana przez serwis producenta.</p>",
        },
    )
    implied_id = ctx.uuid()
    store.doc_put(
        kind=policies.IMPLIED_KIND,
        id_=implied_id,
        seller_id=seller_id,
        sort_key=now,
        doc={
            "id": implied_id,
            "seller": {"id": seller_id},
            "name": "Rękojmia 2 lata",
            "individual": {"period": "P2Y"},
            "corporate": {"period": "P1Y"},
            "address": {
                "name": "Dział reklamacji",
                "street": "Magazynowa 7",
                "postCode": "05-870",
                "city": "Błonie",
                "countryCode": "PL",
            },
            "description": "<p>Reklamacje rozpatrujemy w 14 dni.</p>",
        },
    )


# -- CLI ---------------------------------------------------------------------------------------
Control = Callable[..., int]


def register_cli(ctl: Callable[[str, str], argparse.ArgumentParser], control: Control) -> None:
    """Add the after-sales control commands to ``python -m sandbox``.

    ``ctl(name, help)`` makes a control subparser; ``control(args, method, path, body)`` calls
    the running simulator's ``/__sandbox__`` endpoint.
    """

    def cli(args: argparse.Namespace) -> int:
        return run(args, control)

    sp = ctl("rate", "the buyer of an order of SELLER rates it")
    sp.add_argument("seller")
    sp.add_argument("--order")
    sp.add_argument("--negative", action="store_true")
    sp.add_argument("--comment")
    sp.set_defaults(func=cli)
    sp = ctl("rating-edit", "the buyer edits RATING")
    sp.add_argument("rating")
    sp.add_argument("--comment")
    sp.add_argument("--recommended", choices=("true", "false"))
    sp.set_defaults(func=cli)
    sp = ctl("rating-delete", "the buyer deletes RATING")
    sp.add_argument("rating")
    sp.set_defaults(func=cli)
    sp = ctl("dispute", "a buyer of SELLER opens a dispute (or --claim)")
    sp.add_argument("seller")
    sp.add_argument("--order")
    sp.add_argument("--claim", action="store_true")
    sp.add_argument("--text")
    sp.set_defaults(func=cli)
    sp = ctl("issue-message", "the buyer writes in ISSUE")
    sp.add_argument("issue")
    sp.add_argument("text")
    sp.set_defaults(func=cli)
    sp = ctl("issue-status", "close, escalate or reopen ISSUE")
    sp.add_argument("issue")
    sp.add_argument("status", choices=issues.STATUSES)
    sp.set_defaults(func=cli)


def run(args: argparse.Namespace, control: Control) -> int:
    c = args.command
    if c == "rate":
        body: dict[str, Any] = {"orderId": args.order, "comment": args.comment}
        if args.negative:
            body["recommended"] = False
        return control(args, "POST", f"/sellers/{args.seller}/ratings", body)
    if c == "rating-edit":
        edit: dict[str, Any] = {"comment": args.comment}
        if args.recommended:
            edit["recommended"] = args.recommended == "true"
        return control(args, "PATCH", f"/ratings/{args.rating}", edit)
    if c == "rating-delete":
        return control(args, "DELETE", f"/ratings/{args.rating}")
    if c == "dispute":
        body = {
            "orderId": args.order,
            "type": "CLAIM" if args.claim else "DISPUTE",
            "text": args.text,
        }
        return control(args, "POST", f"/sellers/{args.seller}/issues", body)
    if c == "issue-message":
        return control(args, "POST", f"/issues/{args.issue}/messages", {"text": args.text})
    if c == "issue-status":
        return control(args, "POST", f"/issues/{args.issue}/status", {"status": args.status})
    raise SystemExit(f"unknown command {c}")


# -- background market -------------------------------------------------------------------------
def market_step(state: State, rng: random.Random, seller_id: str) -> str:
    """One after-sales action of a buyer of ``seller_id`` (used by ``sandbox.market``)."""
    roll = rng.random()
    if roll < 0.45:
        ratings.create_rating(state, seller_id=seller_id, rng=rng)
        return "rating"
    if roll < 0.6:
        row = state.store.one(
            "SELECT id FROM documents WHERE kind = ? AND seller_id = ? ORDER BY random() LIMIT 1",
            (ratings.KIND, seller_id),
        )
        if row is None:
            return "skipped"
        if roll < 0.55:
            ratings.edit_rating(
                state, rating_id_=str(row[0]), comment=rng.choice(ratings.POSITIVE_COMMENTS)
            )
            return "rating-edit"
        ratings.delete_rating(state, rating_id_=str(row[0]))
        return "rating-delete"
    if roll < 0.75:
        order = issues.pick_order(state, seller_id=seller_id, order_id=None)
        type_ = "CLAIM" if rng.random() < 0.3 else "DISPUTE"
        issues.open_issue(
            state, seller_id=seller_id, order=order, type_=type_, opened=state.clock.now(), rng=rng
        )
        return "issue"
    row = state.store.one(
        "SELECT id FROM documents WHERE kind = ? AND seller_id = ? AND k1 != 'DISPUTE_CLOSED' "
        "ORDER BY sort_key DESC LIMIT 1",
        (issues.KIND, seller_id),
    )
    if row is None:
        return "skipped"
    doc = issues.load_issue(state, issue_id=str(row[0]), seller_id=seller_id)
    issues.add_message(
        state,
        seller_id=seller_id,
        doc=doc,
        role="BUYER",
        text=rng.choice(issues.BUYER_FOLLOW_UPS),
        login=doc["buyer"]["login"],
    )
    return "issue-message"
