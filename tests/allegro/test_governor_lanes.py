"""Priority lanes of the rate governor (issue 13 §2): a staff member's request goes ahead of the
scheduled sync, which goes ahead of the backfill; each lower lane keeps its minimum share; the
budget holds across all lanes. Both the Redis script and its in-process twin, on the injected
virtual clock (deterministic: no real time passes while anyone waits)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from allegro.governor import (
    GovernorLimits,
    GovernorTimeout,
    Lane,
    Lease,
    LocalGovernor,
    RateGovernor,
    new_ticket,
)
from tests.allegro.test_governor import grant_times, max_in_window
from tests.allegro.virtual_clock import VirtualClock

CLIENT = f"governor-lanes-{uuid.uuid4().hex[:8]}"
LIMITS = GovernorLimits(limit=300, window=3.0, headroom_percent=0, concurrency=4, max_poll=0.05)
SLICE = LIMITS.window * LIMITS.burst_fraction
SLICE_CAP = 75  # ceil(300 * 0.25)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=["redis", "local"])
def governor(request: Any, clock: VirtualClock) -> Iterator[Any]:
    if request.param == "local":
        yield LocalGovernor(limits=LIMITS, clock=clock.now, sleep=clock.sleep)
        return
    redis_client = request.getfixturevalue("redis_client")
    gov = RateGovernor(
        redis_client, client_id=CLIENT, limits=LIMITS, clock=clock.now, sleep=clock.sleep
    )
    gov.reset()
    yield gov
    gov.reset()


def hammer(
    gov: Any,
    clock: VirtualClock,
    stop: threading.Event,
    grants: list[Lease],
    account: str,
    lane: Lane,
) -> None:
    """Ask for slots nonstop in ``lane`` for ``account`` (each request takes 2 ms)."""
    while not stop.is_set():
        try:
            lease = gov.acquire(account, timeout=0.5, lane=lane)
        except GovernorTimeout:
            continue
        grants.append(lease)
        clock.sleep(0.002)
        gov.release(lease)


def test_a_staff_request_is_sent_before_the_backfills_next_one(
    governor: Any, clock: VirtualClock
) -> None:
    stop = threading.Event()
    backfill: list[Lease] = []
    workers = [
        clock.start(hammer, governor, clock, stop, backfill, "a1", Lane.BACKFILL) for _ in range(4)
    ] + [
        clock.start(hammer, governor, clock, stop, backfill, "a2", Lane.BACKFILL) for _ in range(4)
    ]
    clock.sleep(LIMITS.window * 1.5)  # the backfill has used the whole budget by now
    staff_results: list[tuple[float, float, list[str]]] = []

    def staff_action(account: str) -> None:
        ticket, asked = new_ticket(), clock.now()
        reasons: list[str] = []
        while True:
            lease, wait, reason = governor.try_acquire(
                account, first=not reasons, lane=Lane.STAFF, ticket=ticket
            )
            if lease is not None:
                staff_results.append((asked, VirtualClock.exact(lease.granted_at), reasons))
                governor.release(lease)
                return
            reasons.append(reason)
            clock.sleep(min(wait, LIMITS.max_poll))

    for round_ in range(5):  # five staff actions, each while the backfill saturates the budget
        staff = clock.start(staff_action, "a1" if round_ % 2 else "a3")
        clock.join([staff])
        clock.sleep(0.3)
    stop.set()
    clock.join(workers)

    assert len(staff_results) == 5
    times = sorted(grant_times(backfill))
    refused = [r for r in staff_results if r[2]]
    print("staff waits:", [(r[1] - r[0], r[2][:3]) for r in staff_results])
    # Most asks came while no slot was free (the backfill had taken them all) ...
    assert len(refused) >= 3, staff_results
    for asked, granted, reasons in staff_results:
        assert set(reasons) <= {"budget", "pace"}, reasons  # never held back by a lower lane
        # ... and not one backfill request was sent between the ask and the staff grant.
        assert not [t for t in times if asked < t < granted], (asked, granted)
        assert any(t > granted for t in times)  # the backfill went on afterwards
    assert max_in_window(times, LIMITS.window) <= LIMITS.budget


def test_every_lane_keeps_its_minimum_share_and_the_budget_holds(
    governor: Any, clock: VirtualClock
) -> None:
    """Staff saturates the budget on its own; sync and backfill still move at their floors."""
    stop = threading.Event()
    grants: list[Lease] = []
    plan = [("s1", Lane.STAFF, 4), ("s2", Lane.STAFF, 4), ("y1", Lane.SYNC, 3)]
    plan.append(("b1", Lane.BACKFILL, 3))
    workers = [
        clock.start(hammer, governor, clock, stop, grants, acct, lane)
        for acct, lane, count in plan
        for _ in range(count)
    ]
    clock.sleep(LIMITS.window * 4 + 0.1)
    stop.set()
    clock.join(workers)

    assert max_in_window(grant_times(grants), LIMITS.window) <= LIMITS.budget
    start = min(g.granted_at for g in grants) + LIMITS.window  # skip the first window
    steady = [g for g in grants if start <= g.granted_at < start + 3 * LIMITS.window]
    per_lane = Counter(str(g.lane) for g in steady)
    slices = 3 * LIMITS.window / SLICE
    # Each lower lane got at least (about) its floor per slice, not more than a little over.
    for lane in (Lane.SYNC, Lane.BACKFILL):
        floor = LIMITS.floor(lane) * SLICE_CAP * slices
        assert per_lane[lane] >= 0.9 * floor, (lane, per_lane, floor)
        assert per_lane[lane] <= 1.5 * floor + 2 * slices, (lane, per_lane, floor)
    # The staff lane used everything else, and the budget was used.
    assert per_lane[Lane.STAFF] >= 0.9 * (len(steady) - per_lane[Lane.SYNC] - per_lane["backfill"])
    assert len(steady) >= 0.85 * 3 * LIMITS.budget, per_lane


def test_sync_goes_ahead_of_backfill_and_a_lone_lane_uses_everything(
    governor: Any, clock: VirtualClock
) -> None:
    stop = threading.Event()
    grants: list[Lease] = []
    workers = [
        clock.start(hammer, governor, clock, stop, grants, "y", Lane.SYNC) for _ in range(4)
    ] + [clock.start(hammer, governor, clock, stop, grants, "b", Lane.BACKFILL) for _ in range(4)]
    clock.sleep(LIMITS.window * 3 + 0.1)
    stop.set()
    clock.join(workers)
    start = min(g.granted_at for g in grants) + LIMITS.window
    steady = [g for g in grants if start <= g.granted_at < start + 2 * LIMITS.window]
    per_lane = Counter(str(g.lane) for g in steady)
    backfill_floor = LIMITS.floor(Lane.BACKFILL) * SLICE_CAP * (2 * LIMITS.window / SLICE)
    assert per_lane[Lane.BACKFILL] >= 0.9 * backfill_floor, per_lane
    assert per_lane[Lane.SYNC] >= 0.85 * 2 * LIMITS.budget - per_lane[Lane.BACKFILL] - 10
    assert max_in_window(grant_times(grants), LIMITS.window) <= LIMITS.budget


def test_the_staff_lane_has_its_own_concurrency_cap(governor: Any) -> None:
    """A sync holding every slot of the account's cap does not hold back a staff click."""
    sync_leases = [governor.acquire("a1", timeout=1) for _ in range(LIMITS.concurrency)]
    assert governor.try_acquire("a1")[2] == "concurrency"
    staff = [governor.acquire("a1", timeout=1, lane=Lane.STAFF)]
    staff.append(governor.acquire("a1", timeout=1, lane=Lane.STAFF))
    assert governor.try_acquire("a1", lane=Lane.STAFF)[2] == "concurrency"
    governor.release(staff[0])
    assert governor.try_acquire("a1", lane=Lane.STAFF)[0] is not None
    governor.release(sync_leases[0])
    assert governor.try_acquire("a1")[0] is not None


def test_a_stopped_waiter_stops_holding_lower_lanes_back(
    redis_client: Any, clock: VirtualClock
) -> None:
    """A staff ticket left behind (its process died) expires after ``waiting_ttl``; with no
    floors a live one would hold the backfill back for good."""
    limits = GovernorLimits(
        limit=20, window=3.0, headroom_percent=0, burst_fraction=1.0, lane_floors=(0, 0, 0)
    )
    for gov in (
        RateGovernor(redis_client, client_id=CLIENT, limits=limits, clock=clock.now),
        LocalGovernor(limits=limits, clock=clock.now),
    ):
        getattr(gov, "reset", lambda: None)()
        for _ in range(limits.budget):
            gov.release(gov.acquire("bulk", timeout=1, lane=Lane.BACKFILL))
        lease, _, reason = gov.try_acquire("a1", lane=Lane.STAFF, ticket="dead-process")
        assert lease is None
        assert reason == "budget"
        clock.sleep(limits.window - 0.125)
        lease, _, reason = gov.try_acquire("a2", lane=Lane.STAFF, ticket="alive")
        assert lease is None  # still no budget; "alive" keeps asking, "dead" never does
        clock.sleep(0.125)  # the budget frees
        lease, _, reason = gov.try_acquire("b1", lane=Lane.BACKFILL, ticket="b")
        assert lease is None
        assert reason == "lane"
        assert gov.try_acquire("a2", lane=Lane.STAFF, ticket="alive")[0] is not None
        lease, _, reason = gov.try_acquire("b1", lane=Lane.BACKFILL, ticket="b")
        assert lease is not None, reason
        getattr(gov, "reset", lambda: None)()
