"""A real Celery worker is killed with SIGKILL in the middle of the initial sync; after a
restart the beat's next runs resume from the committed checkpoints and the mirror ends equal to
the simulator: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mirror.equality import diff_mirror
from tests.mirror.workers import simulator_worker_env

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]
# Five pages of orders, the oldest first: the last two hold the recent sent orders whose
# waybills the pass reads with them (one request each).
SEED = {"sellers": 1, "offers": 200, "orders": 500, "seed": 11}


def worker_env(sim: Any) -> dict[str, str]:
    return simulator_worker_env(
        sim,
        CELERY_TASK_ALWAYS_EAGER="false",
        # Django's system checks are not under test here (CI runs `manage.py check`); Celery's
        # worker runs them at every boot (~1 CPU-s).
        CELERY_SKIP_CHECKS="1",
        # One page of orders per transaction, so the kill lands between committed checkpoints
        # (at the default 500 the whole seed is one transaction; test_upsert_kill covers that).
        MIRROR_ORDER_WRITE_BATCH="100",
    )


@pytest.fixture
def start_worker(sim: Any, redis_client: Any) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    redis_client.flushdb()  # no message left over from other tests
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=WARNING",
            ],
            cwd=REPO,
            env=worker_env(sim),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_sync_then_restart_completes(
    sim: Any, link_account: Callable[..., Any], start_worker: Callable[[], Any]
) -> None:
    from mirror.models import SyncState, SyncStatus
    from mirror.services import sync_start_initial
    from mirror.tasks import sync_all
    from orders.models import Order

    worker = start_worker()  # it boots while the simulator is seeded and the account linked
    sim.control("POST", "/reset", {"seed": SEED})
    account = link_account("SklepKowalski")
    # Every order request takes 0.1 s more: after its first page the pass still has four pages
    # in flight and about 60 waybill reads to go, over a second in which to kill the worker.
    sim.control(
        "PUT",
        "/faults",
        {"slow_rate": 1.0, "slow_seconds": 0.1, "paths": ["/order/checkout-forms"]},
    )

    def orders_state() -> SyncState | None:
        return SyncState.objects.filter(account=account, resource="orders").first()

    sync_start_initial(account=account)
    wait_for(
        lambda: (
            (s := orders_state()) is not None
            and s.status == SyncStatus.RUNNING
            and s.fetched >= 100
        ),
        timeout=300,
        what="the orders pass to be under way",
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = orders_state()
    assert killed_at is not None
    assert not killed_at.initial_done
    assert 0 < int(killed_at.cursor) < SEED["orders"]
    rows_at_kill = Order.objects.filter(account=account).count()
    assert rows_at_kill == int(killed_at.cursor)  # the checkpoint covers exactly what is stored
    # The slow answers were there to make the kill land mid-pass; the resumed pass (four pages
    # and about 60 waybill reads) runs at full speed.
    sim.control("DELETE", "/faults")

    start_worker()
    for resource in ("order_events", "offer_events", "ratings", "issues", "return_policies"):
        sync_all.delay(resource)  # what beat sends next; unfinished passes resume

    def all_done() -> bool:
        states = SyncState.objects.filter(
            account=account, resource__in=["offers", "orders", "ratings", "issues"]
        )
        return states.count() == 4 and all(
            s.initial_done and s.status == SyncStatus.DONE for s in states
        )

    wait_for(all_done, timeout=300, what="the resumed sync to finish")
    resumed = orders_state()
    assert resumed is not None
    assert resumed.fetched == SEED["orders"]  # counted once: the pass resumed, it did not restart
    report = diff_mirror(account=account, sim=sim)
    assert report.clean, report.explain()
