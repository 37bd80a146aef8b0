"""Five accounts on one client id against the simulator enforcing a (scaled-down) per-client
limit: no 429, the budget well used, every account its fair share."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from allegro.api import me
from allegro.client import AllegroClient
from allegro.governor import GovernorLimits, RateGovernor
from allegro.transport import RetryPolicy
from sandbox.testing import SimulatorProcess
from tests.allegro.conftest import RecordingGovernor, faults, stats
from tests.allegro.test_governor import max_in_window, steady_counts

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# Allegro's 9000 / 60 s scaled down 225x in count and 30x in time: 20 requests/s, a rate a
# loaded two-core CI box still sustains (at 50/s the budget, not the machine, was no longer
# the bound there), in 2 s windows: one to ramp up and one measured take ~4.5 s and cross two of
# the simulator's window edges (a second measured window added 2 s of waiting, one more edge).
SIM_LIMIT, SIM_WINDOW = 40, 2.0
# The headroom is the slack between a grant (Redis time) and the request's arrival at the
# simulator (its own clock, after a thread switch, HTTP and its event loop). In production 5 %
# of 60 s is ~3 s of traffic; at this scale 5 % (of the earlier 100 / 2 s) was 5 requests
# (~0.1 s), which a loaded CI box overran once. With 20 % the budget is 32 and the pace rule
# allows at most ceil(32 / 4) = 8 grants in any 0.5 s slice, so whatever the simulator counts
# in one of its windows was granted within 2 s plus the arrival-delay spread: if that spread
# is under 0.5 s it is at most 32 + 8 = 40, the limit. (The arithmetic itself is tested on a
# virtual clock in test_governor.py; this test adds the real pipeline in real time.)
HEADROOM = 20
MEASURED = 1  # windows measured after the first one
SELLERS = ("10000001", "10000002", "10000003", "10000004", "10000005")
THREADS = {"10000001": 4, "10000002": 2, "10000003": 2, "10000004": 2, "10000005": 2}


def test_five_accounts_share_one_client_id_without_a_single_429(
    sim: SimulatorProcess, redis_client: Any, make_client: Callable[..., AllegroClient]
) -> None:
    sim.reset(sellers=5, offers=2, orders=0)
    faults(sim, rate_limit={"limit": SIM_LIMIT, "window": SIM_WINDOW, "block": SIM_WINDOW})
    limits = GovernorLimits(
        limit=SIM_LIMIT, window=SIM_WINDOW, headroom_percent=HEADROOM, concurrency=4, max_poll=0.05
    )
    assert limits.budget == 32
    inner = RateGovernor(
        redis_client, client_id=f"five-accounts-{uuid.uuid4().hex[:8]}", limits=limits
    )
    inner.reset()
    governor = RecordingGovernor(inner)
    clients = {
        seller: make_client(seller=seller, governor=governor, retry=RetryPolicy(max_attempts=1))
        for seller in SELLERS
    }
    stop = threading.Event()
    failures: list[BaseException] = []

    def demand(client: AllegroClient) -> None:
        while not stop.is_set():
            try:
                me.get_me(client)
            except BaseException as exc:  # every failure is asserted on below
                failures.append(exc)
                return

    threads = [
        threading.Thread(target=demand, args=(clients[seller],), daemon=True)
        for seller, count in THREADS.items()
        for _ in range(count)
    ]
    for t in threads:
        t.start()
    stop.wait(SIM_WINDOW * (MEASURED + 1) + 0.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    assert failures == []
    data = stats(sim)
    assert data["rateLimited"] == 0
    assert "429" not in data["statuses"]
    sent = governor.leases
    assert data["paths"]["GET /me"] == len(sent)
    assert max_in_window([lease.granted_at for lease in sent], SIM_WINDOW) <= limits.budget
    total, per_account = steady_counts(sent, window=SIM_WINDOW, windows=MEASURED, skip=1)
    # The budget (not the limit) well used: a governor that sent much less is no answer either.
    assert total >= 0.85 * limits.budget * MEASURED, (total, per_account)
    fair = total / len(SELLERS)  # an equal split of what was sent (utilization is checked above)
    print(f"sent={len(sent)} steady={total}/{limits.budget * MEASURED} per_account={per_account}")
    for seller in SELLERS:  # within two requests per window of an exact equal split
        assert per_account[seller] >= fair - 2 * MEASURED, (seller, per_account)
