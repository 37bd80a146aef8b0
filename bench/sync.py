"""Mirror benchmark (issue 5 §6): initial sync of several accounts, then order freshness.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/sync.py [--accounts 5 --offers 50000 --orders 50000] [--scale 0.1]
        [--workers 2 --concurrency 5 --freshness 60]

1. Seeds a temporary simulator data dir (``python -m sandbox seed``) and serves it without spec
   validation, enforcing Allegro's 9000 requests/min per client id (its default).
2. Re-creates the database ``<DATABASE_URL's name>_sync_bench`` (the named one is untouched),
   migrates it, creates the accounts and their tokens (minted by the simulator's control plane,
   stored encrypted by ``accounts.tokens.token_store``).
3. Starts real Celery worker processes (threads pool), queues ``sync_start_initial`` for every
   account and waits until every initial pass is done, sampling the workers' RSS.
4. Freshness: starts ``celery beat`` with the mirror's schedule, makes purchases in the simulator
   and times until each order row is in the database.

Issue 13: the times until every offer and order is present (every offers pass done, every
account holding as many orders as Allegro listed), until the recent orders' waybills are read
too (the orders passes done) and until the waybill backfill is done; and the staff lane under
load: a staff action's wait in the governor (``acquire`` in the staff lane, from this process,
every 0.3 s) while the initial sync runs, against the same action once the workers are idle.

Prints one table. Nothing here is asserted: it measures.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RATE_PER_SECOND = 9000 / 60


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` and its children, in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (its threads included), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def staff_waits(governor: Any, account_key: str, *, stop: Any, every: float) -> list[float]:
    """Seconds each staff action waited for its governor slot until ``stop`` is set."""
    from allegro.governor import Lane

    waits: list[float] = []
    while not stop.is_set():
        asked = time.perf_counter()
        lease = governor.acquire(account_key, lane=Lane.STAFF)
        waits.append(time.perf_counter() - asked)
        governor.release(lease)
        stop.wait(every)
    return waits


def percentiles(values: list[float]) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"p50 {1000 * statistics.median(ordered):.1f} ms / p95 {1000 * p95:.1f} ms "
        f"(n={len(ordered)})"
    )


def seed(data_dir: Path, *, accounts: int, offers: int, orders: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "seed",
            "--data-dir",
            str(data_dir),
            "--sellers",
            str(accounts),
            "--offers",
            str(offers),
            "--orders",
            str(orders),
            "--reset",
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_database_url(url: str) -> str:
    """A database of the bench's own next to the given one (which is never touched)."""
    base, name = url.rsplit("/", 1)
    return f"{base}/{name.split('?')[0]}_sync_bench"


def ensure_database() -> None:
    """(Re-)create the bench database named by ``DATABASE_URL`` (already the bench's own)."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def worker_env(sim: Any, extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "ALLEGRO_ENVIRONMENT": "simulator",
        "ALLEGRO_API_URL": sim.url,
        "ALLEGRO_AUTH_URL": sim.auth_url,
        "ALLEGRO_CLIENT_ID": sim.client_id,
        "ALLEGRO_CLIENT_SECRET": sim.client_secret,
        "ALLEGRO_REDIRECT_URI": sim.redirect_uri,
        # glibc gives each thread its own malloc arena; two keep a threaded worker's RSS down.
        "MALLOC_ARENA_MAX": "2",
        # As in production: with DEBUG on, Django keeps every SQL statement of a connection
        # (up to 9000, each page's upsert being ~1 MB of SQL), which is what a worker's RSS shows.
        "DEBUG": "false",
        **extra,
    }


def orders_present(accounts: list[Any]) -> bool:
    """Every account's offers pass is done and it holds as many orders as Allegro listed."""
    from django.db.models import Count

    from mirror.models import SyncState
    from orders.models import Order

    offers_done = SyncState.objects.filter(
        resource="offers", initial_done=True, status="done"
    ).count()
    if offers_done < len(accounts):
        return False
    totals = dict(
        SyncState.objects.filter(resource="orders", total__gt=0).values_list("account_id", "total")
    )
    if len(totals) < len(accounts):
        return False
    held = dict(
        Order.objects.values("account_id").annotate(n=Count("id")).values_list("account_id", "n")
    )
    return all(held.get(account, 0) >= total for account, total in totals.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--offers", type=int, default=50_000, help="per account")
    parser.add_argument("--orders", type=int, default=50_000, help="per account")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies offers and orders")
    # One worker process per core, as a deployment runs them (docker-compose: prefork): the
    # threads of one process share one interpreter lock, and the offer pages' upserts then hold
    # back the order pass's requests (scale 0.3: 77 % of the budget with 1 x 10 threads, 90 %
    # with 2 x 5).
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=5, help="threads per worker")
    parser.add_argument("--freshness", type=float, default=60.0, help="seconds of purchases")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    offers = int(args.offers * args.scale)
    orders = int(args.orders * args.scale)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name not in os.environ:
            sys.exit(f"set {name}")
    # The bench drops and re-creates "<name>_sync_bench"; the database named is left alone.
    os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"])

    from sandbox.testing import SimulatorProcess

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-sync-bench-"))
    seed_seconds = seed(data_dir, accounts=args.accounts, offers=offers, orders=orders)
    sim = SimulatorProcess(validate=False, data_dir=data_dir).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = worker_env(sim, {})
        os.environ.update(env)
        ensure_database()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import redis

        from accounts.allegro_setup import process_governor

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete("celery")  # stale task messages
        getattr(process_governor(), "reset", lambda: None)()

        from datetime import timedelta

        from django.utils import timezone

        from accounts.models import AllegroAccount
        from accounts.tokens import token_store
        from allegro.oauth import TokenPair
        from mirror.models import SyncState
        from mirror.services import INITIAL_RESOURCES, sync_start_initial
        from orders.models import Order

        sellers = sim.control("GET", "/sellers")["sellers"][: args.accounts]
        accounts = []
        for seller in sellers:
            account = AllegroAccount.objects.create(
                allegro_user_id=seller["id"],
                login=seller["login"],
                environment="simulator",
                status="active",
                linked_at=timezone.now(),
            )
            minted = sim.control(
                "POST", "/tokens", {"seller_id": seller["id"], "client_id": sim.client_id}
            )
            token_store(
                account=account,
                pair=TokenPair(
                    access_token=minted["access_token"],
                    refresh_token=minted["refresh_token"],
                    expires_at=timezone.now() + timedelta(seconds=minted["expires_in"]),
                    scopes=(),
                ),
            )
            accounts.append(account)

        sim.control("DELETE", "/stats")
        for number in range(args.workers):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "backoffice",
                        "worker",
                        "--pool=threads",
                        f"--concurrency={args.concurrency}",
                        f"--hostname=sync-bench-{number}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--loglevel=ERROR",
                    ],
                    cwd=REPO,
                    env=env,
                )
            )
        # The clock starts once every worker answers: a deployment's workers are up before an
        # account links, so their start-up is not the sync's time.
        from backoffice.celery import app as celery_app

        boot_deadline = time.perf_counter() + 120
        while time.perf_counter() < boot_deadline:
            if len(celery_app.control.ping(timeout=1.0) or []) >= args.workers:
                break
        governor = process_governor()
        gov_redis = getattr(governor, "redis", None)
        lease_match = f"{getattr(governor, 'prefix', '')}:lease:*"
        waiting_key = f"{getattr(governor, 'prefix', '')}:waiting"
        held_back: list[bool] = []
        assert sim.proc is not None
        cpu_before = {
            "simulator": cpu_seconds(sim.proc.pid),
            "workers": sum(cpu_seconds(p.pid) for p in procs),
        }
        busy_before = machine_busy()
        import threading

        stop_staff = threading.Event()
        staff_under_load: list[float] = []
        staff_thread = threading.Thread(
            daemon=True,
            target=lambda: staff_under_load.extend(
                staff_waits(governor, f"account:{accounts[0].pk}", stop=stop_staff, every=0.3)
            ),
        )
        started = time.perf_counter()
        for account in accounts:
            sync_start_initial(account=account)
        staff_thread.start()
        peak_rss = peak_total_rss = 0.0
        usable_at: float | None = None
        reads_at_usable = 0
        present_at: float | None = None
        reads_at_present = 0
        # Until offers, orders and the waybill backfill are done (it starts when an account's
        # orders are complete); the other resources' passes run alongside.
        measured = ["offers", "orders", "waybill_backfill"]
        expected_all = len(measured) * len(accounts)
        all_resources = [*INITIAL_RESOURCES, "waybill_backfill"]
        in_flight: list[int] = []
        timeline: list[tuple[float, int]] = [(0.0, 0)]
        while time.perf_counter() - started < args.timeout:
            sizes = [rss_mb(p.pid) for p in procs]
            peak_rss, peak_total_rss = max(peak_rss, *sizes), max(peak_total_rss, sum(sizes))
            if gov_redis is not None:  # requests holding a governor lease right now
                in_flight.append(
                    sum(int(gov_redis.zcard(k)) for k in gov_redis.scan_iter(match=lease_match))
                )
                # An account refused for the budget, the pace or fair share polls again within
                # 0.2 s: one seen waiting in the last 0.3 s means the governor is holding back.
                now_s, now_us = gov_redis.time()
                held_back.append(
                    int(gov_redis.zcount(waiting_key, now_s + now_us / 1e6 - 0.3, "+inf")) > 0
                )
            elapsed = time.perf_counter() - started
            if elapsed - timeline[-1][0] >= 10:
                timeline.append((elapsed, sum(sim.control("GET", "/stats")["paths"].values())))
            if present_at is None and orders_present(accounts):
                present_at = time.perf_counter() - started
                reads_at_present = sum(sim.control("GET", "/stats")["paths"].values())
            if usable_at is None:
                present = SyncState.objects.filter(
                    resource__in=["offers", "orders"], initial_done=True, status="done"
                ).count()
                if present >= 2 * len(accounts):
                    usable_at = time.perf_counter() - started
                    reads_at_usable = sum(sim.control("GET", "/stats")["paths"].values())
            done = SyncState.objects.filter(
                resource__in=measured, initial_done=True, status="done"
            ).count()
            if done >= expected_all:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        stop_staff.set()
        staff_thread.join()
        # The same staff action with nothing running (the workers idle, before beat starts).
        time.sleep(2)
        stop_idle = threading.Event()
        idle_waits: list[float] = []
        idle_thread = threading.Thread(
            daemon=True,
            target=lambda: idle_waits.extend(
                staff_waits(governor, f"account:{accounts[0].pk}", stop=stop_idle, every=0.05)
            ),
        )
        idle_thread.start()
        time.sleep(5)
        stop_idle.set()
        idle_thread.join()
        backfilled = sum(s.fetched for s in SyncState.objects.filter(resource="waybill_backfill"))
        order_count = Order.objects.count()
        busy_after = machine_busy()
        cpu_used = {
            "simulator": cpu_seconds(sim.proc.pid) - cpu_before["simulator"],
            "workers": sum(cpu_seconds(p.pid) for p in procs) - cpu_before["workers"],
        }
        machine = (busy_after[0] - busy_before[0], busy_after[1] - busy_before[1])
        stats = sim.control("GET", "/stats")
        requests = sum(stats["paths"].values())
        waybill_reads = sum(n for path, n in stats["paths"].items() if path.endswith("/shipments"))
        per_resource: dict[str, tuple[int, float]] = {}
        for resource in all_resources:
            states = list(SyncState.objects.filter(resource=resource))
            rows = sum(s.fetched for s in states)
            spans = [
                (s.finished_at - s.started_at).total_seconds()
                for s in states
                if s.started_at and s.finished_at
            ]
            first = min((s.started_at for s in states if s.started_at), default=None)
            last = max((s.finished_at for s in states if s.finished_at), default=None)
            span = (last - first).total_seconds() if first and last else max(spans, default=0.0)
            per_resource[str(resource)] = (rows, span)

        # --- freshness ---------------------------------------------------------------------
        call_command("setup_schedules", verbosity=0)
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "beat",
                "--loglevel=ERROR",
                "--schedule=/tmp/bench-sync-beat",
            ],
            cwd=REPO,
            env=env,
        )
        procs.append(beat)
        latencies: list[float] = []
        pending: dict[str, float] = {}
        fresh_started = time.perf_counter()
        next_purchase = fresh_started
        while time.perf_counter() - fresh_started < args.freshness + 60:
            now = time.perf_counter()
            if now < fresh_started + args.freshness and now >= next_purchase:
                seller = sellers[len(pending) % len(sellers)]
                doc = sim.control("POST", f"/sellers/{seller['id']}/purchases", {"pay": True})
                pending[doc["id"]] = time.perf_counter()
                next_purchase = now + 2.0
            found = set(
                str(v)
                for v in Order.objects.filter(allegro_id__in=list(pending)).values_list(
                    "allegro_id", flat=True
                )
            )
            for key in found:
                latencies.append(time.perf_counter() - pending.pop(key))
            sizes = [rss_mb(p.pid) for p in procs[:-1]]
            peak_rss, peak_total_rss = max(peak_rss, *sizes), max(peak_total_rss, sum(sizes))
            if not pending and now >= fresh_started + args.freshness:
                break
            time.sleep(0.2)
        final = sim.control("GET", "/stats")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sim.stop()

    lines = [
        (
            "accounts x offers / orders",
            f"{args.accounts} x {offers} / {orders} (scale {args.scale})",
        ),
        ("seed time", f"{seed_seconds:.1f} s"),
        (
            "every offer and order present",
            f"{present_at:.1f} s ({reads_at_present} requests)" if present_at else "—",
        ),
        (
            "... and the recent orders' waybills read",
            f"{usable_at:.1f} s ({reads_at_usable} requests)" if usable_at else "—",
        ),
        ("initial sync + waybill backfill wall time", f"{wall:.1f} s"),
        ("requests sent (initial + backfill)", f"{requests}"),
        (
            "requests per order (waybill reads: eager + backfill)",
            f"{requests / max(order_count, 1):.3f} ({waybill_reads}: "
            f"{waybill_reads - backfilled} + {backfilled})",
        ),
        ("staff action's governor wait during the sync", percentiles(staff_under_load)),
        ("staff action's governor wait, nothing running", percentiles(idle_waits)),
        ("requests/s", f"{requests / wall:.1f}"),
        (
            "rate-limit floor (requests / 150/s)",
            f"{requests / RATE_PER_SECOND:.1f} s vs wall {wall:.1f} s",
        ),
        ("budget in use", f"{100 * requests / wall / RATE_PER_SECOND:.0f} %"),
        ("429 answers (initial / whole run)", f"{stats['rateLimited']} / {final['rateLimited']}"),
        (
            "peak worker RSS (largest process / all)",
            f"{peak_rss:.0f} MB / {peak_total_rss:.0f} MB "
            f"({args.workers} x {args.concurrency} threads)",
        ),
        (
            "CPU during initial sync (1.0 = one core)",
            ", ".join(f"{k} {v / wall:.2f}" for k, v in cpu_used.items())
            + f", whole machine {machine[0] / wall:.2f} of {machine[1] / wall:.1f}",
        ),
    ]
    if in_flight:
        lines.append(
            (
                "requests in flight (governor leases)",
                f"mean {statistics.mean(in_flight):.1f}, max {max(in_flight)}; governor "
                f"holding someone back in {100 * sum(held_back) / len(held_back):.0f} % "
                "of samples",
            )
        )
    for name, (rows, span) in per_resource.items():
        rate = rows / span if span else 0.0
        lines.append((f"{name}: rows, rows/s", f"{rows}, {rate:.0f}/s over {span:.1f} s"))
    if latencies:
        ordered = sorted(latencies)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        lines.append(
            (
                "freshness p50 / p95 (n)",
                f"{statistics.median(ordered):.1f} s / {p95:.1f} s "
                f"({len(ordered)} purchases; events polled every 30 s)",
            )
        )
    lines.append(("freshness misses", str(len(pending))))
    width = max(len(k) for k, _ in lines)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in lines:
        print(f"| {key:<{width}} | {value} |")
    rates = [f"{(b[1] - a[1]) / (b[0] - a[0]):.0f}" for a, b in itertools.pairwise(timeline)]
    print("requests/s per ~10 s of the initial sync:", " ".join(rates))
    print("top paths:", sorted(final["paths"].items(), key=lambda kv: -kv[1])[:8])


if __name__ == "__main__":
    main()
