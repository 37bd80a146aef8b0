"""Many machines (issue 13 §5): several separate worker processes against one PostgreSQL and one
Redis sync the same accounts. The governor's budget, the (account, lock group) locks and the
cursors hold across processes: the mirror ends equal to the simulator, the simulator (enforcing
the same limit as the governor) answered no 429, no two runs of one lock group overlapped, and
every page was counted once."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.mirror.equality import diff_mirror
from tests.mirror.test_worker_kill import REPO, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
SEED = {"sellers": 2, "offers": 1500, "orders": 1200, "seed": 13}
WORKERS = 3
# A small budget, so the processes contend for it: 600 requests per 10 s on the simulator, the
# governor's budget 5 % under it.
LIMIT, WINDOW = 600, 10.0


@pytest.fixture
def start_workers(sim: Any, redis_client: Any) -> Iterator[Callable[[int], list[Any]]]:
    redis_client.flushdb()  # no task message left over from other tests
    procs: list[subprocess.Popen[bytes]] = []
    namespace = f"many-workers-{uuid.uuid4().hex[:8]}"

    def start(count: int) -> list[Any]:
        env = {
            **worker_env(sim),
            "ALLEGRO_RATE_LIMIT": str(LIMIT),
            "ALLEGRO_RATE_WINDOW_SECONDS": str(WINDOW),
            "ALLEGRO_GOVERNOR_NAMESPACE": namespace,
            "MIRROR_TASK_SLICE_SECONDS": "5",  # many short slices: they move between workers
        }
        for number in range(count):
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
                        "--concurrency=3",
                        f"--hostname=many-{number}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "--loglevel=WARNING",
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return procs

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_worker_processes_share_budget_locks_and_cursors(
    sim: Any, link_account: Callable[..., Any], start_workers: Callable[[int], list[Any]]
) -> None:
    from mirror.models import Resource, SyncRun, SyncState, SyncStatus
    from mirror.services import LOCK_GROUP, sync_start_initial
    from mirror.tasks import sync_all
    from orders.models import WAYBILLS_UNREAD, Order

    sim.control("POST", "/reset", {"seed": SEED})
    accounts = [link_account("SklepKowalski"), link_account("ElektroMax_PL")]
    sim.control("PUT", "/faults", {"rate_limit": {"limit": LIMIT, "window": WINDOW}})
    sim.control("DELETE", "/stats")
    procs = start_workers(WORKERS)
    for account in accounts:
        sync_start_initial(account=account)
    # What beat sends meanwhile: every process may pick up any (account, resource), also one
    # another process is running right now (its lock then makes it skip).
    started = time.monotonic()

    def all_done() -> bool:
        if time.monotonic() - started < 60 and int(time.monotonic() - started) % 5 == 0:
            for resource in ("orders", "offers", "order_events", "waybill_backfill"):
                sync_all.delay(resource)
        states = SyncState.objects.filter(
            account__in=accounts,
            resource__in=["offers", "orders", "ratings", "issues", "waybill_backfill"],
        )
        return states.count() == 10 and all(
            s.initial_done and s.status == SyncStatus.DONE for s in states
        )

    wait_for(all_done, timeout=600, what="the initial sync and the backfill of both accounts")
    assert all(p.poll() is None for p in procs)  # nobody crashed

    stats = sim.control("GET", "/stats")
    assert stats["rateLimited"] == 0
    assert sum(stats["paths"].values()) > LIMIT  # the budget was actually contended
    sim.control("DELETE", "/faults")  # the comparison below reads the simulator at full rate
    for account in accounts:
        report = diff_mirror(account=account, sim=sim)
        assert report.clean, report.explain()
        assert not Order.objects.filter(WAYBILLS_UNREAD, account=account).exists()
        orders = SyncState.objects.get(account=account, resource="orders")
        assert orders.fetched == Order.objects.filter(account=account).count()  # counted once

    # The locks held across processes: runs of one (account, lock group) never overlapped.
    runs: dict[tuple[int, str], list[tuple[Any, Any]]] = defaultdict(list)
    for run in SyncRun.objects.filter(account__in=accounts, finished_at__isnull=False):
        runs[(run.account_id, LOCK_GROUP[Resource(run.resource)])].append(
            (run.started_at, run.finished_at)
        )
    assert sum(len(v) for v in runs.values()) > 2 * len(LOCK_GROUP)  # many slices ran
    for key, spans in runs.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, key

    # The work was spread over the processes.
    from backoffice.celery import app as celery_app

    stats_by_worker = celery_app.control.inspect(timeout=5).stats() or {}
    busy = [w for w, s in stats_by_worker.items() if w.startswith("many-") and s.get("total")]
    assert len(busy) >= 2, stats_by_worker
