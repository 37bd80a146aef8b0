"""The simulator's control plane under ``/__sandbox__/`` (plain ``application/json``, no auth).

Never part of Allegro's API: tests, the CLI and demos use it to seed, script market activity,
switch faults on, read statistics and spec violations, and move the clock.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import activity
from sandbox.auth import issue_pair
from sandbox.http import ApiError
from sandbox.market import market_step
from sandbox.routes.oauth import ALL_SCOPES
from sandbox.seed import SeedOptions, seed
from sandbox.snapshots import SnapshotError, snapshot_names, snapshot_restore, snapshot_save
from sandbox.state import State

PREFIX = "/__sandbox__"
Endpoint = Callable[[Request], Awaitable[Response]]


def sim(request: Request) -> State:
    state: State = request.app.state.sim
    return state


def reply(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ApiError(400, "VALIDATION_ERROR", "Expected a JSON object")
    return data


def endpoint(fn: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        try:
            result = await fn(request)
        except ApiError as exc:
            return reply({"errors": exc.errors}, exc.status)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return reply(
                {
                    "errors": [
                        {"code": "VALIDATION_ERROR", "message": f"{type(exc).__name__}: {exc}"}
                    ]
                },
                400,
            )
        if isinstance(result, Response):
            return result
        return reply(result)

    return wrapped


@endpoint
async def health(request: Request) -> Any:
    state = sim(request)
    return {
        "status": "ok",
        "validate": state.config.validate,
        "sellers": state.store.scalar("SELECT COUNT(*) FROM sellers"),
    }


def fresh_runtime(request: Request) -> None:
    """Statistics, violations, faults, rate counters and settings as ``serve`` started them."""
    state = sim(request)
    state.stats.clear()
    state.violations.clear()
    state.faults.reset(state.fault_baseline)
    request.app.state.runtime.limiter.clear()
    state.config.apply(state.settings_baseline)


@endpoint
async def reset(request: Request) -> Any:
    """Wipe resources, statistics, violations; faults and settings back to the ``serve`` flags."""
    state = sim(request)
    body = await body_of(request)
    state.store.reset()
    fresh_runtime(request)
    state.set_clock_offset(0.0)
    if body.get("seed"):
        return {"reset": True, "seeded": seed(state, SeedOptions(**body["seed"]))}
    return {"reset": True}


def snapshot_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiError(400, "VALIDATION_ERROR", 'Expected {"name": "..."}')
    return name


@endpoint
async def snapshot(request: Request) -> Any:
    """``{"name": n}``: keep a copy of the whole SQLite state (resources, events, tokens, clock
    offset) under ``n``; ``GET`` lists the names."""
    state = sim(request)
    if request.method == "GET":
        return {"snapshots": snapshot_names(store=state.store)}
    name = snapshot_name(await body_of(request))
    try:
        snapshot_save(store=state.store, name=name)
    except SnapshotError as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc)) from exc
    return {"snapshot": name}


@endpoint
async def restore(request: Request) -> Any:
    """``{"name": n}``: the SQLite state exactly as snapshot ``n`` saw it (event ids, tokens and
    clock offset included); statistics, violations, faults and settings reset as ``reset``
    does."""
    state = sim(request)
    name = snapshot_name(await body_of(request))
    try:
        snapshot_restore(store=state.store, name=name)
    except SnapshotError as exc:
        raise ApiError(400, "VALIDATION_ERROR", str(exc)) from exc
    except FileNotFoundError as exc:
        raise ApiError(404, "NOT_FOUND", str(exc)) from exc
    fresh_runtime(request)
    state.clock.offset = float(state.store.meta_get("clock_offset") or 0.0)
    return {"restored": name}


@endpoint
async def do_seed(request: Request) -> Any:
    body = await body_of(request)
    return seed(sim(request), SeedOptions(**body))


@endpoint
async def sellers(request: Request) -> Any:
    rows = sim(request).store.all("SELECT doc FROM sellers ORDER BY id")
    return {"sellers": [orjson.loads(r[0]) for r in rows]}


@endpoint
async def mint_token(request: Request) -> Any:
    """Issue a token pair without the consent page (fixtures use it; the flow itself is tested)."""
    state = sim(request)
    body = await body_of(request)
    client_id = body.get("client_id") or next(iter(state.config.clients))
    seller_id = body.get("seller_id")
    if (
        seller_id is not None
        and state.store.scalar("SELECT 1 FROM sellers WHERE id = ?", (seller_id,)) is None
    ):
        raise ApiError(404, "NOT_FOUND", f"Seller {seller_id} not found")
    scopes = tuple(body.get("scopes") or ALL_SCOPES)
    pair = issue_pair(state=state, client_id=client_id, seller_id=seller_id, scopes=scopes)
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
    }


@endpoint
async def purchase(request: Request) -> Any:
    body = await body_of(request)
    return activity.create_purchase(
        sim(request),
        seller_id=request.path_params["seller_id"],
        offer_ids=body.get("offerIds"),
        quantity=int(body.get("quantity", 1)),
        buyer_login=body.get("buyerLogin"),
        fill_in=bool(body.get("fillIn", True)),
        pay=bool(body.get("pay", False)),
    )


@endpoint
async def payment(request: Request) -> Any:
    return activity.pay_order(sim(request), order_id=request.path_params["order_id"])


@endpoint
async def cancellation(request: Request) -> Any:
    return activity.cancel_order(sim(request), order_id=request.path_params["order_id"])


@endpoint
async def auto_cancellation(request: Request) -> Any:
    return activity.cancel_order(sim(request), order_id=request.path_params["order_id"], auto=True)


@endpoint
async def merge(request: Request) -> Any:
    body = await body_of(request)
    return activity.merge_orders(sim(request), order_ids=list(body["orderIds"]))


@endpoint
async def modify(request: Request) -> Any:
    body = await body_of(request)
    return activity.modify_order(
        sim(request),
        order_id=request.path_params["order_id"],
        fulfillment_status=body.get("fulfillmentStatus"),
        note=body.get("note"),
    )


@endpoint
async def stats(request: Request) -> Any:
    state = sim(request)
    if request.method == "DELETE":
        state.stats.clear()
    return state.stats.as_dict()


@endpoint
async def violations(request: Request) -> Any:
    state = sim(request)
    items = list(state.violations)
    if request.method == "DELETE":
        state.violations.clear()
    return {"violations": items, "validate": state.config.validate}


@endpoint
async def faults(request: Request) -> Any:
    state = sim(request)
    if request.method == "PUT":
        try:
            state.faults.update(await body_of(request))
        except KeyError as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"Unknown fault {exc}") from exc
        except ValueError as exc:
            raise ApiError(400, "VALIDATION_ERROR", str(exc)) from exc
    elif request.method == "DELETE":
        state.faults.reset(state.fault_baseline)
        request.app.state.runtime.limiter.clear()
    return state.faults.as_dict()


@endpoint
async def settings(request: Request) -> Any:
    state = sim(request)
    if request.method == "PUT":
        try:
            state.config.apply(await body_of(request))
        except KeyError as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"Unknown setting {exc}") from exc
    return state.config.settings()


@endpoint
async def clock(request: Request) -> Any:
    """``{"advance": seconds}`` moves simulated time forward; ``{"offset": s}`` sets it."""
    state = sim(request)
    if request.method == "POST":
        body = await body_of(request)
        if "offset" in body:
            state.set_clock_offset(float(body["offset"]))
        if "advance" in body:
            state.set_clock_offset(state.clock.offset + float(body["advance"]))
    return {"now": state.clock.iso(), "offset": state.clock.offset}


@endpoint
async def market(request: Request) -> Any:
    """Run ``count`` background-market steps now (what ``--market-rate`` does over time)."""
    body = await body_of(request)
    rng = random.Random(int(body.get("seed", 7)))
    return {"actions": [market_step(sim(request), rng) for _ in range(int(body.get("count", 1)))]}


@endpoint
async def clients(request: Request) -> Any:
    return {"clients": [asdict(c) for c in sim(request).config.clients.values()]}


routes = [
    Route(f"{PREFIX}/health", health, methods=["GET"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
    Route(f"{PREFIX}/seed", do_seed, methods=["POST"]),
    Route(f"{PREFIX}/snapshot", snapshot, methods=["GET", "POST"]),
    Route(f"{PREFIX}/restore", restore, methods=["POST"]),
    Route(f"{PREFIX}/sellers", sellers, methods=["GET"]),
    Route(f"{PREFIX}/tokens", mint_token, methods=["POST"]),
    Route(f"{PREFIX}/clients", clients, methods=["GET"]),
    Route(f"{PREFIX}/sellers/{{seller_id}}/purchases", purchase, methods=["POST"]),
    Route(f"{PREFIX}/orders/merge", merge, methods=["POST"]),
    Route(f"{PREFIX}/orders/{{order_id}}/payment", payment, methods=["POST"]),
    Route(f"{PREFIX}/orders/{{order_id}}/cancellation", cancellation, methods=["POST"]),
    Route(f"{PREFIX}/orders/{{order_id}}/auto-cancellation", auto_cancellation, methods=["POST"]),
    Route(f"{PREFIX}/orders/{{order_id}}/modification", modify, methods=["POST"]),
    Route(f"{PREFIX}/stats", stats, methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/violations", violations, methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route(f"{PREFIX}/settings", settings, methods=["GET", "PUT"]),
    Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
    Route(f"{PREFIX}/market/step", market, methods=["POST"]),
]
