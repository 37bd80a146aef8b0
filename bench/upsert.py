"""Upsert throughput (issue 13 §3): typed documents fed from memory into PostgreSQL, no HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/upsert.py [--offers 20000 --orders 10000] [--batches 100,500,1000]
        [--paths copy,bulk_create,json,jsonb,unnest] [--repeat 1] [--profile PATH] [--streams 2]

The documents are what the simulator serves: its own seed generators (``sandbox.seed``) build
offer listing rows and checkout forms, which are parsed by ``allegro.api`` exactly as the client
parses a page (``OfferSummary.parse``, ``CheckoutForm.parse``). Parsing happens before the clock
starts; only the upsert of a batch (one transaction, as a sync writes a page or, for orders,
``MIRROR_ORDER_WRITE_BATCH`` forms of pages of 100) is timed.

Per path and batch size, runs against one account: the first insert, a re-upsert of the same
documents (``unchanged``: what an event refresh of an unchanged offer or a replayed order page
does), for offers also ``seen`` (the same documents with ``mark_seen``: the daily full listing
pass stamps every offer it sees for its sweep), and a re-upsert where every document changed
(offers: price and stock; orders: a new revision with a later ``updatedAt``, another fulfillment
status and the price of every line). Orders are counted with their line items, written in the
same transaction. Peak RSS is this process's high-water mark during the path (reset before it
through ``/proc/self/clear_refs``) and its growth over the resident size before the path. CPU:
this process plus its PostgreSQL backend (``/proc/<pid>/schedstat``, to the nanosecond), which
on a shared machine is a steadier measure than the wall clock.

Paths:
- ``copy``: what the mirror runs (``offers.sync.offers_upsert``, ``orders.sync.orders_upsert``):
  ``COPY`` into a temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT DO
  UPDATE`` that rewrites a row only when it changed (orders: forms, lines and lines gone in one
  statement).
- ``bulk_create``: the same functions on their portable branch (SQLite's, and what PostgreSQL
  ran before): ``bulk_create(update_conflicts=True)`` of model instances.
- offers only, one statement each with the batch as parameters: ``json``
  (``json_populate_recordset`` of one JSON document), ``jsonb`` (one ``jsonb`` array of arrays,
  cells by position), ``unnest`` (one array parameter per column).

``--streams N`` then runs the copy path (largest batch) in N processes at once, one account
each, as N sync workers write N accounts: the documents are parsed before a common start, and
the rows of all of them over the time from the first start to the last end is the machine's
throughput (the targets are for this 2-core machine; one stream leaves a core idle while its
PostgreSQL backend works and the other way round).

``--profile PATH`` writes a cProfile of the ``copy`` path's first insert of offers (batch 1000)
and orders (batch 100), parsing included, and prints the top functions. Nothing here is
asserted: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import gc
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

SCENARIOS = {
    "offers": ("insert", "unchanged", "seen", "changed"),
    "orders": ("insert", "unchanged", "changed"),
}


# --- memory --------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def rss_reset() -> float:
    """Reset the peak-RSS mark (Linux ``clear_refs`` 5); returns the current RSS in MB."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS:") / 1024


def rss_peak() -> float:
    return _status_kb("VmHWM:") / 1024


def cpu_of(pid: int) -> float:
    """CPU seconds ``pid`` (a PostgreSQL backend on this machine) has run, to the nanosecond
    (``/proc/<pid>/schedstat``; ``/proc/<pid>/stat`` counts 10 ms ticks)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:
        return 0.0


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


# --- documents ----------------------------------------------------------------------------------


def generate(offers: int, orders: int, *, seed: int = 7) -> tuple[list[bytes], list[bytes]]:
    """Offer listing rows and checkout forms as the simulator serves them (JSON bytes)."""
    from sandbox.seed import (
        SeedContext,
        SeedOptions,
        make_buyers,
        offer_batches,
        order_batches,
        seller_rng,
    )

    options = SeedOptions(sellers=1, offers=offers, orders=orders, seed=seed)
    seller_id = "10000001"
    ctx = SeedContext(
        state=None,  # type: ignore[arg-type]  # the generators never touch the state
        options=options,
        rng=random.Random(seed),
        now=time.time(),
    )
    ctx.buyers = make_buyers(ctx.rng, 2000)
    ctx.rng = seller_rng(options, seller_id)
    offer_docs = [row[-1] for batch in offer_batches(ctx, seller_id) for row in batch]
    order_docs = [
        row[-1]
        for rows, _events in order_batches(ctx, seller_id, ctx.sample_offers[seller_id])
        for row in rows
    ]
    return offer_docs, order_docs


def changed_offer(data: dict[str, Any]) -> dict[str, Any]:
    price = data["sellingMode"]["price"]
    amount = Decimal(price["amount"]) + Decimal("1.00")
    data["sellingMode"]["price"] = {**price, "amount": f"{amount:.2f}"}
    data["stock"] = {**data["stock"], "available": int(data["stock"]["available"]) + 3}
    return data


def changed_order(data: dict[str, Any]) -> dict[str, Any]:
    updated = datetime.fromisoformat(data["updatedAt"]) + timedelta(hours=1)
    data["updatedAt"] = updated.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data["revision"] = f"{data['revision']}x"[-8:] if data["revision"] else "r1"
    status = data["fulfillment"]["status"]
    data["fulfillment"]["status"] = "PROCESSING" if status != "PROCESSING" else "SENT"
    for line in data["lineItems"]:
        amount = Decimal(line["price"]["amount"]) + Decimal("0.50")
        line["price"] = {**line["price"], "amount": f"{amount:.2f}"}
    return data


def parse_offers(raw: Sequence[bytes], *, changed: bool) -> list[Any]:
    from allegro.api.offers import OfferSummary

    out = []
    for doc in raw:
        data = orjson.loads(doc)
        out.append(OfferSummary.parse(changed_offer(data) if changed else data))
    return out


def parse_orders(raw: Sequence[bytes], *, changed: bool) -> list[Any]:
    from allegro.api.orders import CheckoutForm

    out = []
    for doc in raw:
        data = orjson.loads(doc)
        out.append(CheckoutForm.parse(changed_order(data) if changed else data))
    return out


# --- paths ---------------------------------------------------------------------------------------
# A path is (offers upsert, orders upsert), each called as f(account=, items=, synced_at=,
# mark_seen=) inside the batch's transaction.

Upsert = Callable[..., Any]


def sync_offers(*, account: Any, items: Sequence[Any], synced_at: datetime, mark_seen: bool) -> Any:
    from offers.sync import offers_upsert

    return offers_upsert(account=account, offers=items, synced_at=synced_at, mark_seen=mark_seen)


def sync_orders(*, account: Any, items: Sequence[Any], synced_at: datetime, mark_seen: bool) -> Any:
    from orders.sync import orders_upsert

    return orders_upsert(account=account, forms=items, synced_at=synced_at)


def bulk_create(upsert: Upsert) -> Upsert:
    """The mirror's ``bulk_create`` branch (SQLite's, and what PostgreSQL ran before)."""
    from django.test import override_settings

    def run(**kw: Any) -> Any:
        with override_settings(MIRROR_SET_BASED_UPSERTS=False):
            return upsert(**kw)

    return run


# Offers, one statement each (no staging table): the batch as one parameter.


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@functools.cache
def offer_columns() -> tuple[list[str], dict[str, str], str]:
    """(columns in row order, column → SQL type, the merge's ON CONFLICT clause)."""
    from django.db import connection

    from mirror.upsert import assignments, columns_of, differs
    from offers.models import Offer
    from offers.sync import MAPPED_FIELDS

    mapped = columns_of(Offer, MAPPED_FIELDS)
    columns = ["account_id", "allegro_id", "ean", "synced_at", *(c.name for c in mapped)]
    types = {str(f.column): str(f.db_type(connection)) for f in Offer._meta.concrete_fields}
    merge = (
        f"ON CONFLICT (account_id, allegro_id) DO UPDATE SET {assignments(mapped)}, "
        f"synced_at = EXCLUDED.synced_at WHERE %s OR {differs(mapped)}"
    )
    return columns, types, merge


def offer_rows(account: Any, offers: Sequence[Any], synced_at: datetime) -> list[dict[str, Any]]:
    from offers.sync import offer_fields

    base = account.base_marketplace or "allegro-pl"
    rows: dict[str, dict[str, Any]] = {}
    for offer in offers:
        fields = offer_fields(offer, base_marketplace=base)
        fields.update(account_id=account.pk, allegro_id=offer.id, ean="", synced_at=synced_at)
        rows[offer.id] = fields
    return list(rows.values())


def one_statement_offers(kind: str) -> Upsert:
    def run(*, account: Any, items: Sequence[Any], synced_at: datetime, mark_seen: bool) -> int:
        from django.db import connection

        columns, types, merge = offer_columns()
        rows = offer_rows(account, items, synced_at)
        table = "offers_offer"
        if kind == "json":  # objects, json_populate_recordset into the table's row type
            payload = orjson.dumps(rows, default=_json_default).decode()
            sql = (
                f"INSERT INTO {table} AS t ({', '.join(columns)}) "
                f"SELECT {', '.join(f'r.{c}' for c in columns)} "
                f"FROM json_populate_recordset(NULL::{table}, %s::json) r {merge}"
            )
            params: list[Any] = [payload, mark_seen]
        elif kind == "jsonb":  # arrays, one jsonb parse, cells by position
            payload = orjson.dumps(
                [[r[c] for c in columns] for r in rows], default=_json_default
            ).decode()
            cells = ", ".join(
                f"e->{i}"
                if types[c] == "jsonb"
                else f"(e->>{i})::{types[c].split('(')[0].replace('varchar', 'text')}"
                for i, c in enumerate(columns)
            )
            sql = (
                f"INSERT INTO {table} AS t ({', '.join(columns)}) "
                f"SELECT {cells} FROM jsonb_array_elements(%s::jsonb) e {merge}"
            )
            params = [payload, mark_seen]
        else:  # unnest: one array parameter per column
            arrays = [
                [orjson.dumps(r[c]).decode() for r in rows]
                if types[c] == "jsonb"
                else [r[c] for r in rows]
                for c in columns
            ]
            casts = ", ".join(
                f"%s::{'text' if types[c] == 'jsonb' else types[c].split('(')[0]}[]"
                for c in columns
            )
            cells = ", ".join(f"{c}::jsonb" if types[c] == "jsonb" else c for c in columns)
            sql = (
                f"INSERT INTO {table} AS t ({', '.join(columns)}) "
                f"SELECT {cells} FROM unnest({casts}) AS r({', '.join(columns)}) {merge}"
            )
            params = [*arrays, mark_seen]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return len(rows)

    return run


def paths() -> dict[str, tuple[Upsert | None, Upsert | None]]:
    return {
        "copy": (sync_offers, sync_orders),
        "bulk_create": (bulk_create(sync_offers), bulk_create(sync_orders)),
        "json": (one_statement_offers("json"), None),
        "jsonb": (one_statement_offers("jsonb"), None),
        "unnest": (one_statement_offers("unnest"), None),
    }


# --- the bench -----------------------------------------------------------------------------------


@dataclass
class Result:
    path: str
    batch: int
    timings: dict[str, Timing] = field(default_factory=dict)  # "offers insert" → best run
    peak_mb: float = 0.0
    growth_mb: float = 0.0


def batches(items: Sequence[bytes], size: int) -> Iterator[Sequence[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Timing:
    rows: int = 0
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0


def run_scenario(
    upsert: Upsert,
    *,
    docs: Sequence[bytes],
    size: int,
    scenario: str,
    parse: Callable[..., list[Any]],
    account: Any,
) -> Timing:
    """Time the upserts alone (each batch in its own transaction, as a sync page is)."""
    from django.db import transaction

    timing = Timing(rows=len(docs))
    backend = backend_pid()
    for chunk in batches(docs, size):
        typed = parse(chunk, changed=scenario == "changed")
        synced_at = datetime.now(UTC)
        server = cpu_of(backend)
        client = time.process_time()
        started = time.perf_counter()
        with transaction.atomic():
            upsert(account=account, items=typed, synced_at=synced_at, mark_seen=scenario == "seen")
        timing.wall += time.perf_counter() - started
        timing.client_cpu += time.process_time() - client
        timing.server_cpu += cpu_of(backend) - server
    return timing


def new_account(name: str) -> Any:
    from django.utils import timezone

    from accounts.models import AllegroAccount

    AllegroAccount.objects.filter(login=name).delete()
    return AllegroAccount.objects.create(
        allegro_user_id=str(abs(hash(name)) % 10**9),
        login=name,
        environment="simulator",
        status="active",
        linked_at=timezone.now(),
        base_marketplace="allegro-pl",
    )


def fresh_account(name: str) -> Any:
    """An account in emptied (and vacuumed) mirror tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE offers_offer, orders_orderlineitem, orders_trackingnumber, "
            "orders_order CASCADE"
        )
    account = new_account(name)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE offers_offer")
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE orders_orderlineitem")
    return account


def measure(
    path: str,
    upserts: tuple[Upsert | None, Upsert | None],
    *,
    size: int,
    offer_docs: Sequence[bytes],
    order_docs: Sequence[bytes],
    repeat: int,
) -> Result:
    result = Result(path=path, batch=size)
    gc.collect()
    before = rss_reset()
    for _ in range(repeat):
        for kind, upsert, docs, parse in (
            ("offers", upserts[0], offer_docs, parse_offers),
            ("orders", upserts[1], order_docs, parse_orders),
        ):
            if upsert is None:
                continue
            account = fresh_account(f"bench-{path}-{size}")
            for scenario in SCENARIOS[kind]:
                timing = run_scenario(
                    upsert,
                    docs=docs,
                    size=size,
                    scenario=scenario,
                    parse=parse,
                    account=account,
                )
                key = f"{kind} {scenario}"
                best = result.timings.get(key)
                if best is None or timing.wall < best.wall:
                    result.timings[key] = timing
    result.peak_mb = rss_peak()
    result.growth_mb = max(0.0, result.peak_mb - before)
    return result


def profile(path: Path, offer_docs: Sequence[bytes], order_docs: Sequence[bytes]) -> None:
    for kind, upsert, docs, parse, size in (
        ("offers", sync_offers, offer_docs, parse_offers, 1000),
        ("orders", sync_orders, order_docs, parse_orders, 100),
    ):
        account = fresh_account(f"bench-profile-{kind}")
        profiler = cProfile.Profile()
        profiler.enable()
        run_scenario(upsert, docs=docs, size=size, scenario="insert", parse=parse, account=account)
        profiler.disable()
        out = Path(f"{path}.{kind}")
        profiler.dump_stats(out)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(18)
        print(f"\n--- cProfile, {kind}: first insert, batch {size} (parse included) -> {out}")
        print("\n".join(text.getvalue().splitlines()[:45]))


def bench_database_url(url: str) -> str:
    base, name = url.rsplit("/", 1)
    return f"{base}/{name.split('?')[0]}_upsert_bench"


def ensure_database() -> None:
    import psycopg

    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--batches", default="100,500,1000")
    parser.add_argument("--paths", default=",".join(paths()))
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per cell")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--streams",
        type=int,
        default=0,
        help="also N processes at once (one account each, the copy path at the largest batch)",
    )
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("set DATABASE_URL")
    os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ["DEBUG"] = "false"  # as in production: no list of every statement run
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    offer_docs, order_docs = generate(args.offers, args.orders)
    lines = sum(len(orjson.loads(d)["lineItems"]) for d in order_docs)
    generated = time.perf_counter() - started
    sample = 2000  # parsing everything here would raise the RSS every path starts from
    started = time.process_time()
    parse_offers(offer_docs[:sample], changed=False)
    parse_offers_s = time.process_time() - started
    started = time.process_time()
    parse_orders(order_docs[:sample], changed=False)
    parse_orders_s = time.process_time() - started
    print(
        f"{len(offer_docs)} offers ({sum(map(len, offer_docs)) / len(offer_docs):.0f} B each), "
        f"{len(order_docs)} orders with {lines} line items "
        f"({sum(map(len, order_docs)) / len(order_docs):.0f} B each), generated in "
        f"{generated:.1f} s; parsing (allegro.api, not timed below) per CPU second: "
        f"{min(sample, len(offer_docs)) / parse_offers_s:,.0f} offers, "
        f"{min(sample, len(order_docs)) / parse_orders_s:,.0f} orders"
    )
    if args.profile:
        profile(args.profile, offer_docs, order_docs)

    available = paths()
    results: list[Result] = []
    for size in [int(s) for s in args.batches.split(",")]:
        for name in args.paths.split(","):
            result = measure(
                name,
                available[name],
                size=size,
                offer_docs=offer_docs,
                order_docs=order_docs,
                repeat=args.repeat,
            )
            results.append(result)
            print(f"  measured {name} @ {size}", file=sys.stderr)

    report(results)
    if args.streams:
        size = max(int(s) for s in args.batches.split(","))
        streams(args.streams, size=size, offer_docs=offer_docs, order_docs=order_docs)


def _stream(
    number: int,
    account_id: int,
    kind: str,
    scenario: str,
    docs: Sequence[bytes],
    size: int,
    ready: Any,
    out: Any,
) -> None:
    """One process of ``streams``: its own connection, its own account, the copy path. Its
    documents are parsed before the common start; only the upserts are inside the window."""
    from django.db import connection, transaction

    from accounts.models import AllegroAccount

    connection.close()  # the parent's socket is not ours
    account = AllegroAccount.objects.get(pk=account_id)
    upsert, parse = {
        "offers": (sync_offers, parse_offers),
        "orders": (sync_orders, parse_orders),
    }[kind]
    typed = [parse(chunk, changed=scenario == "changed") for chunk in batches(docs, size)]
    ready.wait()
    started = time.time()
    for chunk in typed:
        with transaction.atomic():
            upsert(account=account, items=chunk, synced_at=datetime.now(UTC), mark_seen=False)
    ended = time.time()
    out.put((number, len(docs), started, ended, ended - started))


def streams(
    count: int, *, size: int, offer_docs: Sequence[bytes], order_docs: Sequence[bytes]
) -> None:
    """What several worker processes syncing different accounts write together: ``count``
    processes start at once (a barrier), each upserts every document into its own account;
    throughput is all their rows over the time from the first start to the last end."""
    import multiprocessing

    from django.db import connection

    context = multiprocessing.get_context("fork")
    print(
        f"\n{count} streams at once (copy @ {size}, one account and one process each)\n\n"
        "| kind | scenario | rows | wall s | rows/s together | rows/s per stream |\n"
        "|---|---|---|---|---|---|"
    )
    for kind, docs in (("offers", offer_docs), ("orders", order_docs)):
        accounts = [fresh_account(f"bench-stream-{kind}-0")]  # empties the tables once
        accounts += [new_account(f"bench-stream-{kind}-{n}") for n in range(1, count)]
        for scenario in ("insert", "changed"):
            connection.close()
            ready = context.Barrier(count)
            out = context.Queue()
            procs = [
                context.Process(
                    target=_stream,
                    args=(n, accounts[n].pk, kind, scenario, docs, size, ready, out),
                )
                for n in range(count)
            ]
            for proc in procs:
                proc.start()
            done = [out.get(timeout=3600) for _ in procs]
            for proc in procs:
                proc.join()
            rows = sum(d[1] for d in done)
            wall = max(d[3] for d in done) - min(d[2] for d in done)
            per = statistics.mean(d[1] / d[4] for d in done)
            together = rows / wall
            print(f"| {kind} | {scenario} | {rows:,} | {wall:.2f} | {together:,.0f} | {per:,.0f} |")


def report(results: Sequence[Result]) -> None:
    keys = [f"{k} {s}" for k, scenarios in SCENARIOS.items() for s in scenarios]
    base = {r.batch: r for r in results if r.path == "bulk_create"}

    def table(title: str, value: Callable[[Timing], float], *, ratios: bool) -> None:
        head = ["path", "batch", *keys]
        print(f"\n{title}\n")
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for r in results:
            cells = [r.path, str(r.batch)]
            for key in keys:
                timing = r.timings.get(key)
                if timing is None:
                    cells.append("-")
                    continue
                cell = f"{value(timing):,.0f}"
                ref = base[r.batch].timings.get(key) if r.batch in base else None
                if ratios and ref is not None and r.path != "bulk_create":
                    cell += f" ({value(timing) / value(ref):.1f}x)"
                cells.append(cell)
            print("| " + " | ".join(cells) + " |")

    table(
        "rows/s, wall clock (the machine is shared: compare within a column)",
        lambda t: t.rows / t.wall if t.wall else 0.0,
        ratios=True,
    )
    table(
        "rows per CPU second, this process + its PostgreSQL backend (what an idle core pair "
        "gives one stream)",
        lambda t: t.rows / (t.client_cpu + t.server_cpu) if t.client_cpu + t.server_cpu else 0,
        ratios=True,
    )
    table(
        "share of that CPU spent in Python, %",
        lambda t: (
            100 * t.client_cpu / (t.client_cpu + t.server_cpu) if t.client_cpu + t.server_cpu else 0
        ),
        ratios=False,
    )
    print("\n| path | batch | peak RSS MB | RSS growth MB |\n|---|---|---|---|")
    for r in results:
        print(f"| {r.path} | {r.batch} | {r.peak_mb:.0f} | {r.growth_mb:.0f} |")
    print(
        "\nOne transaction per batch; orders are counted with their line items. (Nx): against"
        " bulk_create at the same batch size. Targets: offers >= 20,000/s, orders >= 5,000/s."
    )


if __name__ == "__main__":
    main()
