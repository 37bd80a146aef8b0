"""Many machines (issue 13 §5): several separate worker processes against one PostgreSQL and one
Redis sync the same accounts. The governor's budget, the (account, lock group) locks and the
cursors hold across processes: the mirror ends equal to the simulator, the simulator (enforcing
the same limit as the governor) answered no 429, no two runs of one lock group overlapped, and
every page was counted once.

Contention is shown, not assumed: requests of at least two worker processes waited in the shared
governor's queue, some task found its lock group taken by another run, and some pass ran out of
its (short) slice and was continued by a task any process could take."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mirror.equality import diff_mirror
from tests.mirror.test_worker_kill import REPO, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)
# Per seller: 2 pages of orders (120; the sent ones need one waybill read each) and 200 offers.
# The run is paced by the small budget below, so its length follows the number of requests
# (about 260 with 200 orders per seller); the assertions need only more than ``LIMIT``.
SEED = {"sellers": 2, "offers": 200, "orders": 120, "seed": 13}
WORKERS = 3
# A small budget, so the processes contend for it: 100 requests per 4 s on the simulator, the
# governor's budget 20 % under it (20 requests a second, a fraction of what three processes
# ask for). The wide headroom absorbs the time between a grant and the request's arrival at the
# simulator on a busy machine (up to a second's worth of grants).
LIMIT, WINDOW, HEADROOM = 100, 4.0, 20
SLICE_SECONDS = 2  # many short slices: they move between workers
BUSY_RESOURCES = ("orders", "offers", "order_events", "waybill_backfill")


class Workers:
    def __init__(self, namespace: str, logs: Path) -> None:
        self.namespace = namespace
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def log_text(self) -> str:
        return "".join(p.read_text() for p in sorted(self.logs.glob("many-*.log")))


@pytest.fixture
def start_workers(
    sim: Any, redis_client: Any, tmp_path: Path
) -> Iterator[Callable[[int], Workers]]:
    redis_client.flushdb()  # no task message left over from other tests
    workers = Workers(f"many-workers-{uuid.uuid4().hex[:8]}", tmp_path)

    def start(count: int) -> Workers:
        env = {
            **worker_env(sim),
            "ALLEGRO_RATE_LIMIT": str(LIMIT),
            "ALLEGRO_RATE_WINDOW_SECONDS": str(WINDOW),
            "ALLEGRO_RATE_HEADROOM_PERCENT": str(HEADROOM),
            "ALLEGRO_GOVERNOR_NAMESPACE": workers.namespace,
            "MIRROR_TASK_SLICE_SECONDS": str(SLICE_SECONDS),
        }
        for number in range(count):
            workers.procs.append(
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
                        "--loglevel=INFO",  # each task's outcome: 'locked', 'continue', 'done'
                        f"--logfile={tmp_path / f'many-{number}.log'}",
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return workers

    yield start
    for proc in workers.procs:  # idle by now (or the test failed): nothing to finish
        if proc.poll() is None:
            proc.kill()
    for proc in workers.procs:
        proc.wait(timeout=20)


def test_worker_processes_share_budget_locks_and_cursors(
    sim: Any,
    link_account: Callable[..., Any],
    start_workers: Callable[[int], Workers],
    redis_client: Any,
) -> None:
    from mirror.models import Resource, SyncRun, SyncState, SyncStatus
    from mirror.services import LOCK_GROUP, sync_start_initial
    from mirror.tasks import sync_all
    from orders.models import WAYBILLS_UNREAD, Order

    workers = start_workers(WORKERS)  # they boot while the simulator is seeded, accounts linked
    sim.control("POST", "/reset", {"seed": SEED})
    sim.control("PUT", "/faults", {"rate_limit": {"limit": LIMIT, "window": WINDOW}})
    sim.control("DELETE", "/stats")
    accounts = [link_account("SklepKowalski"), link_account("ElektroMax_PL")]
    pids = {str(p.pid) for p in workers.procs}
    prefix = f"{workers.namespace}:{sim.client_id}"
    queues = [f"{prefix}:queue:{rank}" for rank in (1, 2, 3)]  # one per governor lane
    waited: set[str] = set()  # worker pids seen with a request waiting in a queue
    for account in accounts:
        sync_start_initial(account=account)

    def initial_passes_running() -> bool:
        return SyncState.objects.filter(
            account__in=accounts, resource__in=["orders", "offers"], initial_done=True
        ).count() < 2 * len(accounts)

    # What beat sends meanwhile: while the initial passes run, every 2 s, every process may pick
    # up any (account, resource), also one another process is running right now (its lock then
    # makes it skip).
    last_burst = 0.0

    def all_done() -> bool:
        nonlocal last_burst
        for queue in queues:
            waited.update(t.decode().split("-")[0] for t in redis_client.zrange(queue, 0, -1))
        if time.monotonic() - last_burst >= 2 and initial_passes_running():
            last_burst = time.monotonic()
            for resource in BUSY_RESOURCES:
                sync_all.delay(resource)
        states = SyncState.objects.filter(
            account__in=accounts,
            resource__in=["offers", "orders", "ratings", "issues", "waybill_backfill"],
        )
        return states.count() == 10 and all(
            s.initial_done and s.status == SyncStatus.DONE for s in states
        )

    def settled() -> bool:
        # nothing queued, nothing taken and unfinished (acks_late), every pass done
        idle = redis_client.llen("celery") == 0 and redis_client.hlen("unacked") == 0
        return all_done() and idle

    wait_for(settled, timeout=600, what="the initial sync and the backfill of both accounts")
    assert all(p.poll() is None for p in workers.procs)  # nobody crashed

    # The work was spread over the processes.
    from backoffice.celery import app as celery_app

    stats_by_worker = celery_app.control.inspect(timeout=10, limit=WORKERS).stats() or {}
    busy = [w for w, s in stats_by_worker.items() if w.startswith("many-") and s.get("total")]
    assert len(busy) >= 2, stats_by_worker

    # The budget was contended: requests of at least two processes waited for it.
    assert len(waited & pids) >= 2, (waited, pids)
    stats = sim.control("GET", "/stats")
    assert stats["rateLimited"] == 0
    assert sum(stats["paths"].values()) > LIMIT  # more than one window's worth went through
    log = workers.log_text()
    assert "'locked'" in log  # some task found its lock group taken by another process's run
    assert "'continue'" in log  # some pass ran out of its slice and was continued

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
