"""Deterministic seed data: sellers, offers, orders (with their events) and extension hooks.

``seed(state, SeedOptions(...))`` is what ``python -m sandbox seed`` and ``POST /__sandbox__/seed``
run. The same ``seed`` number gives the same ids, names and prices; timestamps are relative to
the simulated clock. Other modules extend the seed through ``SEED_HOOKS`` (see
``sandbox/ARCHITECTURE.md``): each hook receives the ``SeedContext`` after the core data is in.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import multiprocessing
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from queue import Empty
from typing import Any, TypeVar

import orjson

from sandbox import data
from sandbox.offers import INSERT_OFFER, offer_row
from sandbox.orders import INSERT_ORDER, event_body, next_revision, order_row
from sandbox.state import State, iso

T = TypeVar("T")
DAY = 86400.0
HOOK_MODULES = ("sandbox.seed_aftersales", "sandbox.seed_returns")
BATCH = 5000
# From this many offers + orders per seller on, the seed drops the indexes and loads in bulk.
BULK_ROWS = 20_000
RECENT_DAYS = 30
RECENT_SAMPLE = 300


@dataclass(frozen=True)
class SeedOptions:
    sellers: int = 3
    offers: int = 2000
    orders: int = 5000
    seed: int = 42
    reset: bool = False
    order_event_days: float = 7.0
    workers: int = 1  # > 1: generate sellers in forked processes (CLI only, never in the server)


@dataclass
class SeedContext:
    """What hooks get: the state, a seeded RNG and what the core seed created."""

    state: State
    options: SeedOptions
    rng: random.Random
    now: float
    seller_ids: list[str] = field(default_factory=list)
    buyers: list[dict[str, Any]] = field(default_factory=list)
    # per seller: a sample of (order id, buyer, line items) for after-sales data
    recent_orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sample_offers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def uuid(self) -> str:
        """A random (seeded) version-4 UUID string."""
        h = "%032x" % self.rng.getrandbits(128)  # noqa: UP031 - fastest formatting here
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


SeedHook = Callable[[SeedContext], None]
SEED_HOOKS: list[SeedHook] = []


def register_hook(hook: SeedHook) -> SeedHook:
    if hook not in SEED_HOOKS:
        SEED_HOOKS.append(hook)
    return hook


def load_hooks() -> list[SeedHook]:
    for name in HOOK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return list(SEED_HOOKS)


def ean13(rng: random.Random) -> str:
    """A valid EAN-13 with a Polish (590) prefix."""
    body = f"590{int(rng.random() * 1_000_000_000):09d}"
    total = sum(map(int, body[::2])) + 3 * sum(map(int, body[1::2]))
    return body + str((10 - total % 10) % 10)


def pick(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` without its overhead (seeding calls it millions of times)."""
    return seq[int(rng.random() * len(seq))]


def postcode(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{rng.randrange(1000):03d}"


def seller_doc(row: tuple[str, str, str, str, str, str]) -> dict[str, Any]:
    sid, login, first, last, company, tax = row
    return {
        "id": sid,
        "login": login,
        "firstName": first,
        "lastName": last,
        "email": f"{login.lower()}@example.pl",
        "baseMarketplace": {"id": "allegro-pl"},
        "company": {"name": company, "taxId": tax},
        "features": ["SUPER_SELLER"] if sid.endswith("1") else [],
    }


def make_buyers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    buyers = []
    for i in range(count):
        first = pick(rng, data.FIRST_NAMES)
        last = pick(rng, data.LAST_NAMES)
        if first.endswith("a") and last.endswith("ski"):
            last = last[:-1] + "a"
        city, prefix, _ = pick(rng, data.CITIES)
        login = f"{first.lower()}_{last.lower()}{rng.randrange(10, 99)}".translate(
            str.maketrans("ąćęłńóśźż", "acelnoszz")
        )
        buyers.append(
            {
                "id": str(50_000_000 + i),
                "email": f"{login}+{i}@allegromail.pl",
                "login": login,
                "firstName": first,
                "lastName": last,
                "guest": rng.random() < 0.05,
                "phoneNumber": f"+48 {rng.randrange(500, 899)} {rng.randrange(100, 999)} "
                f"{rng.randrange(100, 999)}",
                "preferences": {"language": "pl-PL"},
                "address": {
                    "street": f"{pick(rng, data.STREETS)} {rng.randrange(1, 150)}",
                    "city": city,
                    "postCode": postcode(rng, prefix),
                    "countryCode": "PL",
                },
            }
        )
    return buyers


def offer_doc(
    ctx: SeedContext, *, seller_id: str, offer_id: int, created: float, index: int
) -> tuple[dict[str, Any], int]:
    rng = ctx.rng
    category, nouns, adjectives, (low, high) = pick(rng, data.CATALOGUE)
    brand = pick(rng, data.BRANDS)
    name = f"{pick(rng, nouns)} {brand} {pick(rng, adjectives)}"[:75]
    amount = round(rng.uniform(low, high), 0) - 0.01
    roll = rng.random()
    status = (
        "ACTIVE"
        if roll < 0.75
        else "ENDED"
        if roll < 0.88
        else "INACTIVE"
        if roll < 0.97
        else "ACTIVATING"
    )
    available = 0 if status == "ENDED" and rng.random() < 0.5 else rng.randrange(1, 250)
    sold = rng.randrange(0, 400)
    city, prefix, province = pick(rng, data.CITIES)
    additional: list[dict[str, str]] = []
    extra_prices: dict[str, Any] = {}
    market_roll = rng.random()
    if market_roll < 0.15:
        additional.append({"id": "allegro-cz"})
        extra_prices["allegro-cz"] = {
            "sellingMode": {"price": {"amount": f"{amount * 5.9:.2f}", "currency": "CZK"}}
        }
    if 0.1 < market_roll < 0.2:
        additional.append({"id": "allegro-sk"})
        extra_prices["allegro-sk"] = {
            "sellingMode": {"price": {"amount": f"{amount / 4.3:.2f}", "currency": "EUR"}}
        }
    created_iso = iso(created)
    product_id = ctx.uuid()
    doc: dict[str, Any] = {
        "id": str(offer_id),
        "name": name,
        "category": {"id": category},
        "productSet": [
            {
                "product": {"id": product_id, "publication": {"status": "LISTED"}},
                "quantity": {"value": 1},
            }
        ],
        "parameters": [{"id": "225693", "name": "EAN (GTIN)", "values": [ean13(rng)]}],
        "images": [
            f"https://a.allegroimg.com/original/{rng.getrandbits(40):010x}/{brand.lower()}-{index}.jpg"
        ],
        "sellingMode": {
            "format": "BUY_NOW",
            "price": {"amount": f"{amount:.2f}", "currency": "PLN"},
        },
        "stock": {"available": available, "unit": "UNIT"},
        "publication": {
            "status": status,
            "duration": None,
            "endingAt": None,
            "endedBy": "USER" if status == "ENDED" else None,
            "republish": False,
            "marketplaces": {"base": {"id": "allegro-pl"}, "additional": additional},
            "_startedAt": created_iso if status in ("ACTIVE", "ENDED") else None,
        },
        "additionalMarketplaces": extra_prices,
        "delivery": {"handlingTime": "PT24H", "shippingRates": {"id": shipping_rate_id(seller_id)}},
        "location": {
            "city": city,
            "countryCode": "PL",
            "postCode": postcode(rng, prefix),
            "province": province.upper(),
        },
        "external": {"id": f"SKU-{seller_id[-2:]}-{index:06d}"},
        "b2b": {"buyableOnlyByBusiness": False},
        "language": "pl-PL",
        "afterSalesServices": None,
        "createdAt": created_iso,
        "updatedAt": created_iso,
        "_isFulfillment": rng.random() < 0.05,
    }
    return doc, sold


@functools.cache
def shipping_rate_id(seller_id: str) -> str:
    """Each seller has one shipping-rate table, with a stable id."""
    return str(uuid.UUID(int=int(seller_id) * 7919, version=4))


def line_item(ctx: SeedContext, offer: dict[str, Any], bought: float) -> dict[str, Any]:
    quantity = 1 if ctx.rng.random() < 0.85 else ctx.rng.randrange(2, 5)
    price = offer["sellingMode"]["price"]
    return {
        "id": ctx.uuid(),
        "offer": {"id": offer["id"], "name": offer["name"], "external": offer["external"]},
        "quantity": quantity,
        "originalPrice": price,
        "price": price,
        "reconciliation": {
            "value": {"amount": "0.00", "currency": price["currency"]},
            "type": "BILLING",
            "quantity": quantity,
        },
        "selectedAdditionalServices": [],
        "vouchers": [],
        "tax": {"rate": "23.00", "subject": "PRODUCT", "exemption": None},
        "boughtAt": iso(bought),
        "discounts": [],
    }


def order_doc(
    ctx: SeedContext,
    *,
    seller_id: str,
    buyer: dict[str, Any],
    items: list[dict[str, Any]],
    bought: float,
    status: str,
) -> dict[str, Any]:
    rng = ctx.rng
    method_id, method_name, _, kind = pick(rng, data.DELIVERY_METHODS)
    cost = (
        "0.00"
        if kind == "APM" and rng.random() < 0.5
        else f"{pick(rng, (8.99, 11.99, 14.99, 19.99)):.2f}"
    )
    currency = items[0]["price"]["currency"]
    total = sum(float(li["price"]["amount"]) * li["quantity"] for li in items) + float(cost)
    paid = status == "READY_FOR_PROCESSING"
    payment_id = ctx.uuid()
    delivery: dict[str, Any] = {
        "address": {
            "firstName": buyer["firstName"],
            "lastName": buyer["lastName"],
            "street": buyer["address"]["street"],
            "city": buyer["address"]["city"],
            "zipCode": buyer["address"]["postCode"],
            "countryCode": "PL",
            "phoneNumber": buyer["phoneNumber"],
        },
        "method": {"id": method_id, "name": method_name},
        "cost": {"amount": cost, "currency": currency},
        "smart": rng.random() < 0.4,
        "calculatedNumberOfPackages": 1,
        "time": {"dispatch": {"from": iso(bought + DAY), "to": iso(bought + 2 * DAY)}},
    }
    if kind == "APM":
        pid, pname, pcity, pzip, pstreet = pick(rng, data.PICKUP_POINTS)
        delivery["pickupPoint"] = {
            "id": pid,
            "name": pname,
            "description": "Paczkomat przy sklepie",
            "address": {"street": pstreet, "zipCode": pzip, "city": pcity, "countryCode": "PL"},
        }
    elif kind == "PUDO":
        # Chosen from the payment id, not the random stream, so every other seeded value stays
        # what it was before collection points had a point.
        index = int(payment_id.replace("-", "")[:8], 16) % len(data.ORLEN_POINTS)
        pid, pname, pcity, pzip, pstreet = data.ORLEN_POINTS[index]
        delivery["pickupPoint"] = {
            "id": pid,
            "name": pname,
            "description": "Punkt odbioru Orlen Paczka",
            "address": {"street": pstreet, "zipCode": pzip, "city": pcity, "countryCode": "PL"},
        }
    fulfillment = "NEW"
    if paid:
        fulfillment = rng.choices(
            ("NEW", "PROCESSING", "READY_FOR_SHIPMENT", "SENT", "PICKED_UP"), (30, 20, 15, 25, 10)
        )[0]
    elif status == "CANCELLED":
        fulfillment = "CANCELLED"
    doc: dict[str, Any] = {
        "id": ctx.uuid(),
        "messageToSeller": pick(
            rng, ("", "", "", "Proszę o szybką wysyłkę.", "Proszę zapakować na prezent.")
        ),
        "buyer": {
            k: buyer[k]
            for k in (
                "id",
                "email",
                "login",
                "firstName",
                "lastName",
                "guest",
                "phoneNumber",
                "preferences",
                "address",
            )
        },
        "status": status,
        "fulfillment": {
            "status": fulfillment,
            "shipmentSummary": {
                "lineItemsSent": "ALL" if fulfillment in ("SENT", "PICKED_UP") else "NONE"
            },
            "provider": {"id": "SELLER"},
        },
        "delivery": delivery,
        "invoice": {"required": rng.random() < 0.2, "features": []},
        "lineItems": items,
        "surcharges": [],
        "note": {"text": ""},
        "marketplace": {"id": "allegro-pl"},
        "summary": {"totalToPay": {"amount": f"{total:.2f}", "currency": currency}},
        "updatedAt": iso(bought + 600),
        "revision": next_revision("", str(bought)),
    }
    if status != "BOUGHT":
        doc["payment"] = {
            "id": payment_id,
            "type": pick(rng, ("ONLINE", "ONLINE", "ONLINE", "CASH_ON_DELIVERY")),
            "provider": "P24",
            "finishedAt": iso(bought + 300) if paid else None,
            "paidAmount": {"amount": f"{total:.2f}", "currency": currency} if paid else None,
        }
        doc["payment"] = {k: v for k, v in doc["payment"].items() if v is not None}
    return doc


def order_events_for(
    doc: dict[str, Any], *, seller_id: str, bought: float
) -> Iterator[tuple[str, float]]:
    yield "BOUGHT", bought
    if doc["status"] in ("FILLED_IN", "READY_FOR_PROCESSING", "CANCELLED"):
        yield "FILLED_IN", bought + 120
    if doc["status"] == "READY_FOR_PROCESSING":
        yield "READY_FOR_PROCESSING", bought + 300
    if doc["status"] == "CANCELLED":
        yield "BUYER_CANCELLED", bought + 900
    if doc["fulfillment"]["status"] not in ("NEW", "CANCELLED"):
        yield "FULFILLMENT_STATUS_CHANGED", bought + 3600


def seed(state: State, options: SeedOptions) -> dict[str, Any]:
    """Build the data set; returns counts. Appends sellers when run again without ``reset``."""
    if options.reset:
        state.store.reset()
    rng = random.Random(options.seed)
    now = state.clock.now()
    ctx = SeedContext(state=state, options=options, rng=rng, now=now)
    ctx.buyers = make_buyers(rng, 2000)
    store = state.store
    existing = {r[0] for r in store.all("SELECT id FROM sellers")}
    rows = [r for r in data.SELLERS if r[0] not in existing][: options.sellers]
    if len(rows) < options.sellers:
        base = 10000000 + len(data.SELLERS) + len(existing)
        rows.extend(
            (
                str(base + i),
                f"Sprzedawca{base + i}",
                "Jan",
                "Testowy",
                f"Firma {base + i}",
                "1234563218",
            )
            for i in range(options.sellers - len(rows))
        )
    bulk = options.offers + options.orders >= BULK_ROWS
    with store.bulk_load() if bulk else contextlib.nullcontext(), paused_gc(bulk):
        if bulk:
            store.drop_indexes(("offers", "orders"))
        try:
            if options.workers > 1 and len(rows) > 1:
                offers_total, orders_total = seed_sellers_in_parallel(ctx, rows)
            else:
                offers_total, orders_total = seed_sellers(ctx, rows)
        finally:
            if bulk:
                store.create_indexes()  # also after a failure: the schema stays whole
    ctx.rng = rng
    for hook in load_hooks():
        hook(ctx)
    return {"sellers": ctx.seller_ids, "offers": offers_total, "orders": orders_total}


SellerRow = tuple[str, str, str, str, str, str]


@contextlib.contextmanager
def paused_gc(pause: bool) -> Iterator[None]:
    """No cyclic GC passes while a big seed allocates millions of (acyclic) dicts."""
    was_enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause and was_enabled:
            gc.enable()


def seller_rng(options: SeedOptions, seller_id: str) -> random.Random:
    """Each seller's data comes from its own RNG, so sellers can be built in any order."""
    return random.Random(f"{options.seed}:{seller_id}")


def insert_seller(ctx: SeedContext, srow: SellerRow) -> None:
    ctx.state.store.execute(
        "INSERT INTO sellers (id, login, doc) VALUES (?, ?, ?)",
        (srow[0], srow[1], orjson.dumps(seller_doc(srow))),
    )
    ctx.seller_ids.append(srow[0])


def seed_sellers(ctx: SeedContext, rows: list[SellerRow]) -> tuple[int, int]:
    store = ctx.state.store
    offers_total = orders_total = 0
    for srow in rows:
        seller_id = srow[0]
        insert_seller(ctx, srow)
        ctx.rng = seller_rng(ctx.options, seller_id)
        with store.tx() as conn:
            for batch in offer_batches(ctx, seller_id):
                conn.executemany(INSERT_OFFER, batch)
        with store.tx() as conn:
            for orders, events in order_batches(ctx, seller_id, ctx.sample_offers[seller_id]):
                flush_orders(conn, orders, events)
        offers_total += ctx.options.offers
        orders_total += ctx.options.orders if ctx.sample_offers[seller_id] else 0
    return offers_total, orders_total


Job = tuple[list[SellerRow], SeedOptions, float, list[dict[str, Any]]]


def _build_sellers(job: Job, queue: Any) -> None:
    """Worker: generate sellers' rows and hand them to the parent, which does all the writes.

    Messages: ``("offers", seller, rows)``, ``("orders", seller, rows, events)``,
    ``("done", seller, sample offers, recent orders)``, ``("failed", traceback text)``.
    """
    import traceback

    gc.freeze()  # the forked parent's objects never need scanning here
    rows, options, now, buyers = job
    try:
        for srow in rows:
            seller_id = srow[0]
            ctx = SeedContext(
                state=None,  # type: ignore[arg-type]  # generators never touch the state
                options=options,
                rng=seller_rng(options, seller_id),
                now=now,
            )
            ctx.buyers = buyers
            for batch in offer_batches(ctx, seller_id):
                queue.put(("offers", seller_id, batch))
            sample = ctx.sample_offers[seller_id]
            for orders, events in order_batches(ctx, seller_id, sample):
                queue.put(("orders", seller_id, orders, events))
            queue.put(("done", seller_id, sample, ctx.recent_orders[seller_id]))
    except BaseException:
        queue.put(("failed", traceback.format_exc()))


def seed_sellers_in_parallel(ctx: SeedContext, rows: list[SellerRow]) -> tuple[int, int]:
    """Generate sellers in forked workers while this process inserts what they send.

    Offers and orders go in as they arrive; events are kept per seller and appended in the
    sellers' order at the end, so event ids come out as in the sequential seed.
    """
    store = ctx.state.store
    mp = multiprocessing.get_context("fork")
    queue = mp.Queue(maxsize=16)  # bounds what waits in memory
    workers = min(ctx.options.workers, len(rows))
    procs = [
        mp.Process(
            target=_build_sellers,
            args=((rows[k::workers], ctx.options, ctx.now, ctx.buyers), queue),
            daemon=True,
        )
        for k in range(workers)
    ]
    events: dict[str, list[tuple[Any, ...]]] = {srow[0]: [] for srow in rows}
    pending = len(rows)
    for proc in procs:
        proc.start()
    try:
        with store.tx() as conn:  # all or nothing
            for srow in rows:
                insert_seller(ctx, srow)
            while pending:
                try:
                    message = queue.get(timeout=1)
                except Empty:
                    if not any(p.is_alive() for p in procs):
                        raise RuntimeError("a seed worker died without reporting") from None
                    continue
                if message[0] == "offers":
                    conn.executemany(INSERT_OFFER, message[2])
                elif message[0] == "orders":
                    conn.executemany(INSERT_ORDER, message[2])
                    events[message[1]].extend(message[3])
                elif message[0] == "done":
                    ctx.sample_offers[message[1]] = message[2]
                    ctx.recent_orders[message[1]] = message[3]
                    pending -= 1
                else:
                    raise RuntimeError(f"seed worker failed:\n{message[1]}")
            for srow in rows:
                flush_orders(conn, [], events.pop(srow[0]))
    finally:
        for proc in procs:
            if pending and proc.is_alive():  # failed: stop the others; done: let them exit
                proc.terminate()
            proc.join()
    orders = sum(ctx.options.orders for srow in rows if ctx.sample_offers[srow[0]])
    return len(rows) * ctx.options.offers, orders


def offer_batches(ctx: SeedContext, seller_id: str) -> Iterator[list[tuple[Any, ...]]]:
    """The seller's offer rows in batches; keeps a sample of active ones for orders."""
    count = ctx.options.offers
    first_id = 14_000_000_000 + int(seller_id[-3:]) * 100_000_000
    start = ctx.now - 180 * DAY
    sample: list[dict[str, Any]] = []
    ctx.sample_offers[seller_id] = sample
    batch: list[tuple[Any, ...]] = []
    for i in range(count):
        created = start + (180 * DAY) * i / max(count, 1)
        doc, sold = offer_doc(
            ctx, seller_id=seller_id, offer_id=first_id + i, created=created, index=i
        )
        batch.append(offer_row(doc, seller_id=seller_id, created_seq=i, sold=sold))
        if len(sample) < 500 and doc["publication"]["status"] == "ACTIVE":
            sample.append(doc)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def order_batches(
    ctx: SeedContext, seller_id: str, offers: list[dict[str, Any]]
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The seller's order rows and order events in batches (events sorted within a batch)."""
    count = ctx.options.orders
    recent: list[dict[str, Any]] = []
    ctx.recent_orders[seller_id] = recent
    if not offers or count <= 0:
        return
    rng = ctx.rng
    span = 90 * DAY
    horizon = ctx.now - ctx.options.order_event_days * DAY
    orders: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    # The after-sales hooks rate and dispute a sample of about RECENT_SAMPLE orders spread over
    # the last RECENT_DAYS (not the newest few: in a big seed those are all hours old, too young
    # to be rated or disputed).
    recent_stride = max(1, round(count * (RECENT_DAYS * DAY / span) / RECENT_SAMPLE))
    for i in range(count):
        bought = ctx.now - span + span * (i + 1) / (count + 1)
        buyer = pick(rng, ctx.buyers)
        picked = [
            pick(rng, offers) for _ in range(1 if rng.random() < 0.8 else rng.randrange(2, 4))
        ]
        items = [line_item(ctx, offer, bought) for offer in {o["id"]: o for o in picked}.values()]
        age = ctx.now - bought
        roll = rng.random()
        if age < DAY and roll < 0.2:
            status = "BOUGHT" if roll < 0.08 else "FILLED_IN"
        else:
            status = "CANCELLED" if roll > 0.97 else "READY_FOR_PROCESSING"
        doc = order_doc(
            ctx, seller_id=seller_id, buyer=buyer, items=items, bought=bought, status=status
        )
        orders.append(order_row(doc, seller_id=seller_id))
        if bought >= horizon:
            for type_, at in order_events_for(doc, seller_id=seller_id, bought=bought):
                at = min(at, ctx.now)
                body = event_body(doc, seller_id=seller_id, type_=type_, occurred_at=iso(at))
                events.append(("order", seller_id, type_, at, doc["id"], orjson.dumps(body)))
        if ctx.now - bought <= RECENT_DAYS * DAY and (count - 1 - i) % recent_stride == 0:
            recent.append(
                {
                    "id": doc["id"],
                    "buyer": doc["buyer"],
                    "lineItems": items,
                    "status": status,
                    "boughtAt": bought,
                }
            )
        if len(orders) >= BATCH:
            events.sort(key=lambda e: e[3])
            yield orders, events
            orders, events = [], []
    if orders or events:
        events.sort(key=lambda e: e[3])
        yield orders, events


def flush_orders(conn: Any, orders: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> None:
    if orders:
        conn.executemany(INSERT_ORDER, orders)
        orders.clear()
    if events:
        conn.executemany(
            "INSERT INTO events (stream, seller_id, type, occurred_at, subject_id, doc) VALUES "
            "(?, ?, ?, ?, ?, ?)",
            events,
        )
        events.clear()
