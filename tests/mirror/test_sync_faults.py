"""Sync under injected faults ends with the mirror equal to the simulator: the initial sync,
two incremental syncs, then the waybill backfill of the orders the initial pass left to it.

Faults (switched on after linking): 10 % 5xx, 2 % dropped connections, per-user leaky bucket
429s (with ``Retry-After``) during the initial sync, duplicated and reordered order events, half
of the ``READY_FOR_PROCESSING`` events missing.

The bucket (3 requests, leaking 25 a second) is narrower than the sync's four concurrent fetches,
so the initial sync's fan-outs get a few 429s; each pauses every request for its ``Retry-After``:
a fifth of a second here (a simulator-only scale-down; the smallest Allegro sends is 1 s, which
cost this test a second a 429). A handful prove the 429s are absorbed; the incremental syncs run
without the bucket.

Market activity between syncs includes merging two forms the mirror already holds (their ids
then answer 404) and rating deletions.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.mirror.activity import market_activity
from tests.mirror.conftest import INCREMENTAL, drive
from tests.mirror.equality import diff_mirror

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "seed": 7,
    "error_rate": 0.10,
    "error_statuses": [500, 502, 503, 504],
    "drop_rate": 0.02,
    "user_bucket": {"enabled": True, "rate": 25.0, "capacity": 3, "retry_after": 0.2},
    "duplicate_events_rate": 0.3,
    "reorder_events_rate": 0.3,
    "skip_ready_for_processing_rate": 0.5,
}
LATER_FAULTS = {**FAULTS, "user_bucket": {"enabled": False}}


def calm_activity(sim: Any, seller: str, tag: str) -> None:
    """Market activity happens on Allegro's side: the faults hit only the back-office's calls."""
    sim.control("DELETE", "/faults")
    market_activity(sim, seller, tag=tag)
    sim.control("PUT", "/faults", LATER_FAULTS)


def sync_incremental(account: Any) -> int:
    transient = 0
    for resource in INCREMENTAL:
        transient += drive(account, resource)
    return transient + drive(account, "reconciliation")


def test_faulty_initial_and_incremental_sync_end_equal(
    linked: Any, sim: Any, settings: Any
) -> None:
    from orders.models import WAYBILLS_UNREAD, Order

    settings.MIRROR_RATINGS_FULL_PASS_SECONDS = 0
    seller = linked.allegro_user_id
    sim.control("DELETE", "/stats")
    sim.control("PUT", "/faults", FAULTS)

    for resource in ("offers", "orders", "ratings", "issues", "return_policies"):
        drive(linked, resource)
    assert sim.control("GET", "/stats")["rateLimited"] > 0  # the initial sync met the bucket
    # Two unpaid forms of one buyer reach the mirror ...
    first = sim.control("POST", f"/sellers/{seller}/purchases", {"buyerLogin": "laczy-zakupy"})
    second = sim.control("POST", f"/sellers/{seller}/purchases", {"buyerLogin": "laczy-zakupy"})
    calm_activity(sim, seller, "r1")
    sync_incremental(linked)
    assert (
        Order.objects.filter(account=linked, allegro_id__in=[first["id"], second["id"]]).count()
        == 2
    )
    # ... then the buyer pays them together: a new form replaces both.
    merged = sim.control("POST", "/orders/merge", {"orderIds": [first["id"], second["id"]]})
    calm_activity(sim, seller, "r2")
    sync_incremental(linked)
    # The older orders' waybills, left to the backfill, are read under the same faults.
    assert Order.objects.filter(account=linked).filter(WAYBILLS_UNREAD).exists()
    drive(linked, "waybill_backfill")
    assert not Order.objects.filter(account=linked).filter(WAYBILLS_UNREAD).exists()

    stats = sim.control("GET", "/stats")
    sim.control("DELETE", "/faults")
    statuses = stats["statuses"]
    assert sum(int(n) for s, n in statuses.items() if s.startswith("5")) > 0, statuses
    assert stats["rateLimited"] > 0, stats
    report = diff_mirror(account=linked, sim=sim)
    assert report.clean, report.explain()
    replacement = Order.objects.get(account=linked, allegro_id=merged["id"])
    olds = Order.objects.filter(account=linked, allegro_id__in=[first["id"], second["id"]])
    assert {o.merged_into_id for o in olds} == {replacement.pk}
