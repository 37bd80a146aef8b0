"""Batch offer commands: price, quantity and publication changes with their reports and tasks.

``PUT`` answers 201 with all-zero counts; the tasks run at once (or after ``command_delay``
seconds / at ``scheduledFor``) and later reads show the counts and per-offer tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.http import ApiError, Ctx, RouteTable, int_param, unprocessable
from sandbox.offers import Change, StoredOffer, apply_change, load_offer, money, parse_amount
from sandbox.state import State, iso

table = RouteTable()

MAX_OFFERS = 1000
KINDS = {
    "price": "/sale/offer-price-change-commands",
    "quantity": "/sale/offer-quantity-change-commands",
    "publication": "/sale/offer-publication-commands",
}
PRICE_TYPES = (
    "FIXED_PRICE",
    "INCREASE_PRICE",
    "DECREASE_PRICE",
    "INCREASE_PERCENTAGE",
    "DECREASE_PERCENTAGE",
)
TaskFn = Callable[[State, StoredOffer], str]


def offer_ids(body: dict[str, Any]) -> list[str]:
    criteria = body.get("offerCriteria")
    if not isinstance(criteria, list) or not criteria:
        raise unprocessable("offerCriteria must list the offers", path="offerCriteria")
    ids: list[str] = []
    for i, criterion in enumerate(criteria):
        if (
            not isinstance(criterion, dict)
            or criterion.get("type", "CONTAINS_OFFERS") != "CONTAINS_OFFERS"
        ):
            raise unprocessable(
                "Only CONTAINS_OFFERS criteria are supported", path=f"offerCriteria[{i}].type"
            )
        offers = criterion.get("offers")
        if not isinstance(offers, list):
            raise unprocessable("offers must be a list of {id}", path=f"offerCriteria[{i}].offers")
        for offer in offers:
            if not isinstance(offer, dict) or not isinstance(offer.get("id"), str):
                raise unprocessable("Each offer needs an id", path=f"offerCriteria[{i}].offers.id")
            ids.append(offer["id"])
    if not ids:
        raise unprocessable("offerCriteria must name at least one offer", path="offerCriteria")
    if len(ids) > MAX_OFFERS:
        raise unprocessable(
            f"A command may change at most {MAX_OFFERS} offers", path="offerCriteria"
        )
    return ids


def price_task(body: dict[str, Any]) -> TaskFn:
    mod = body.get("modification")
    if not isinstance(mod, dict) or mod.get("type") not in PRICE_TYPES:
        raise unprocessable(
            f"modification.type must be one of {', '.join(PRICE_TYPES)}", path="modification.type"
        )
    kind = mod["type"]
    if kind == "FIXED_PRICE":
        holder = mod.get("price")
        path = "modification.price"
    elif kind in ("INCREASE_PRICE", "DECREASE_PRICE"):
        holder = mod.get("value")
        path = "modification.value"
    else:
        holder = None
        path = "modification.percentage"
    if holder is not None or kind in ("FIXED_PRICE", "INCREASE_PRICE", "DECREASE_PRICE"):
        if not isinstance(holder, dict):
            raise unprocessable(f"{path} is required", path=path)
        amount = parse_amount(holder.get("amount"), path=f"{path}.amount")
        currency = holder.get("currency")
    else:
        try:
            amount = Decimal(str(mod.get("percentage")))
        except ArithmeticError as exc:
            raise unprocessable("percentage must be a decimal string", path=path) from exc
        if amount <= 0:
            raise unprocessable("percentage must be positive", path=path)
        currency = None
    marketplace = mod.get("marketplaceId")

    def run(state: State, offer: StoredOffer) -> str:
        doc = offer.doc
        base = doc["publication"]["marketplaces"]["base"]["id"]
        if marketplace not in (None, base):
            raise ApiError(
                422,
                "MARKETPLACE_NOT_SUPPORTED",
                f"Changing prices on {marketplace} is not simulated",
            )
        current_price = doc["sellingMode"]["price"]
        if currency is not None and currency != current_price["currency"]:
            raise ApiError(
                422, "CURRENCY_MISMATCH", f"The offer is priced in {current_price['currency']}"
            )
        current = Decimal(current_price["amount"])
        new = {
            "FIXED_PRICE": lambda: amount,
            "INCREASE_PRICE": lambda: current + amount,
            "DECREASE_PRICE": lambda: current - amount,
            "INCREASE_PERCENTAGE": lambda: current * (100 + amount) / 100,
            "DECREASE_PERCENTAGE": lambda: current * (100 - amount) / 100,
        }[kind]()
        if new <= 0:
            raise ApiError(422, "INVALID_PRICE", "The resulting price must be positive")
        apply_change(state, offer, Change(price=Decimal(money(new))))
        return "price"

    return run


def quantity_task(body: dict[str, Any]) -> TaskFn:
    mod = body.get("modification")
    if not isinstance(mod, dict) or mod.get("changeType") not in ("FIXED", "GAIN"):
        raise unprocessable(
            "modification.changeType must be FIXED or GAIN", path="modification.changeType"
        )
    value = mod.get("value")
    if not isinstance(value, int) or isinstance(value, bool):
        raise unprocessable("modification.value must be an integer", path="modification.value")
    if mod["changeType"] == "FIXED" and value <= 0:
        raise unprocessable("A FIXED quantity must be greater than 0", path="modification.value")

    def run(state: State, offer: StoredOffer) -> str:
        current = offer.doc["stock"]["available"]
        new = value if mod["changeType"] == "FIXED" else current + value
        if new < 0:
            raise ApiError(422, "INVALID_QUANTITY", "The resulting quantity must not be negative")
        apply_change(state, offer, Change(stock=new))
        return "stock"

    return run


def publication_task(body: dict[str, Any], *, now: float) -> tuple[TaskFn, float | None]:
    pub = body.get("publication")
    if not isinstance(pub, dict) or pub.get("action") not in ("ACTIVATE", "END"):
        raise unprocessable("publication.action must be ACTIVATE or END", path="publication.action")
    scheduled: float | None = None
    if pub.get("scheduledFor"):
        try:
            scheduled = datetime.fromisoformat(
                str(pub["scheduledFor"]).replace("Z", "+00:00")
            ).timestamp()
        except ValueError as exc:
            raise unprocessable(
                "scheduledFor must be an ISO 8601 date-time", path="publication.scheduledFor"
            ) from exc
        if scheduled < now:
            raise unprocessable(
                "You cannot schedule activating an offer in the past",
                path="publication.scheduledFor",
            )
    action = pub["action"]

    def run(state: State, offer: StoredOffer) -> str:
        status = offer.doc["publication"]["status"]
        if action == "ACTIVATE":
            if status in ("ACTIVE", "ACTIVATING"):
                return "publication"
            apply_change(state, offer, Change(status="ACTIVE"))
        else:
            if status not in ("ACTIVE", "ACTIVATING"):
                raise ApiError(422, "OFFER_NOT_ACTIVE", f"Offer {offer.doc['id']} is not active")
            apply_change(state, offer, Change(status="ENDED"))
        return "publication"

    return run, scheduled


def report(
    command_id: str, created: float, completed: float | None, success: int, failed: int, total: int
) -> dict[str, Any]:
    return {
        "id": command_id,
        "createdAt": iso(created),
        "completedAt": iso(completed) if completed is not None else None,
        "taskCount": {"failed": failed, "success": success, "total": total},
    }


def run_command(state: State, *, seller_id: str, kind: str, command_id: str) -> None:
    """Execute a stored command's tasks (once) and store the final report."""
    row = state.store.one(
        "SELECT doc, created_at FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
        (seller_id, kind, command_id),
    )
    assert row is not None
    stored = orjson.loads(row[0])
    if stored["report"]["completedAt"] is not None:
        return
    body = stored["body"]
    task_fn = {
        "price": lambda: price_task(body),
        "quantity": lambda: quantity_task(body),
        "publication": lambda: publication_task(body, now=0)[0],
    }[kind]()
    tasks: list[tuple[Any, ...]] = []
    success = failed = 0
    field = {"price": "price", "quantity": "stock", "publication": "publication"}[kind]
    for idx, oid in enumerate(stored["offers"]):
        offer = load_offer(state.store, seller_id=seller_id, offer_id=oid)
        try:
            if offer is None:
                raise ApiError(404, "OFFER_NOT_FOUND", f"Offer {oid} not found")
            task_fn(state, offer)
            task: dict[str, Any] = {
                "field": field,
                "message": "",
                "offer": {"id": oid},
                "status": "SUCCESS",
                "errors": [],
            }
            success += 1
        except ApiError as exc:
            task = {
                "field": field,
                "message": exc.errors[0]["message"],
                "offer": {"id": oid},
                "status": "FAIL",
                "errors": exc.errors,
            }
            failed += 1
        tasks.append((seller_id, kind, command_id, idx, orjson.dumps(task)))
    state.store.executemany(
        "INSERT OR REPLACE INTO command_tasks (seller_id, kind, command_id, idx, doc) VALUES (?, "
        "?, ?, ?, ?)",
        tasks,
    )
    stored["report"] = report(
        command_id, row[1], state.clock.now(), success, failed, len(stored["offers"])
    )
    state.store.execute(
        "UPDATE commands SET doc = ? WHERE seller_id = ? AND kind = ? AND id = ?",
        (orjson.dumps(stored), seller_id, kind, command_id),
    )


def settle(ctx: Ctx, kind: str, command_id: str) -> dict[str, Any]:
    row = ctx.store.one(
        "SELECT ready_at FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
        (ctx.seller_id, kind, command_id),
    )
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Command {command_id} not found", path="commandId")
    if row[0] <= ctx.state.clock.now():
        run_command(ctx.state, seller_id=ctx.seller_id, kind=kind, command_id=command_id)
    doc = ctx.store.scalar(
        "SELECT doc FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
        (ctx.seller_id, kind, command_id),
    )
    stored: dict[str, Any] = orjson.loads(doc)
    return stored


def make_put(kind: str) -> Callable[[Ctx], Any]:
    async def put_command(ctx: Ctx) -> Response:
        command_id = ctx.path_param("commandId")
        body = await ctx.body_object()
        ids = offer_ids(body)
        now = ctx.state.clock.now()
        scheduled: float | None = None
        if kind == "price":
            price_task(body)
        elif kind == "quantity":
            quantity_task(body)
        else:
            _, scheduled = publication_task(body, now=now)
        exists = ctx.store.scalar(
            "SELECT 1 FROM commands WHERE seller_id = ? AND kind = ? AND id = ?",
            (ctx.seller_id, kind, command_id),
        )
        if exists:
            raise ApiError(
                409,
                "COMMAND_ID_ALREADY_USED",
                f"Command {command_id} already exists",
                path="commandId",
            )
        ready = max(now + ctx.config.command_delay, scheduled or 0)
        initial = report(command_id, now, None, 0, 0, 0)
        stored = {"body": body, "offers": ids, "report": initial}
        ctx.store.execute(
            "INSERT INTO commands (seller_id, kind, id, created_at, ready_at, doc) VALUES (?, ?, "
            "?, ?, ?, ?)",
            (ctx.seller_id, kind, command_id, now, ready, orjson.dumps(stored)),
        )
        if ready <= now:
            run_command(ctx.state, seller_id=ctx.seller_id, kind=kind, command_id=command_id)
        return ctx.json(initial, status=201)

    return put_command


def make_get(kind: str) -> Callable[[Ctx], Any]:
    async def get_command(ctx: Ctx) -> Response:
        stored = settle(ctx, kind, ctx.path_param("commandId"))
        return ctx.json(stored["report"])

    return get_command


def make_tasks(kind: str) -> Callable[[Ctx], Any]:
    async def get_tasks(ctx: Ctx) -> Response:
        limit = int_param(ctx, "limit", default=100, minimum=1, maximum=1000)
        offset = int_param(ctx, "offset", default=0, minimum=0, maximum=999)
        command_id = ctx.path_param("commandId")
        settle(ctx, kind, command_id)
        rows = ctx.store.all(
            "SELECT doc FROM command_tasks WHERE seller_id = ? AND kind = ? AND command_id = ? "
            "ORDER BY idx LIMIT ? OFFSET ?",
            (ctx.seller_id, kind, command_id, limit, offset),
        )
        return ctx.raw(b'{"tasks":[' + b",".join(r[0] for r in rows) + b"]}")

    return get_tasks


for _kind, _base in KINDS.items():
    table.route("PUT", _base + "/{commandId}", scope="sale:offers:write")(make_put(_kind))
    table.route("GET", _base + "/{commandId}", scope="sale:offers:write")(make_get(_kind))
    table.route("GET", _base + "/{commandId}/tasks", scope="sale:offers:write")(make_tasks(_kind))
