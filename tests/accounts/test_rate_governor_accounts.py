"""The rate governor seen from linked accounts: 5 accounts on one client id share a (scaled
down) budget with >= 85 % of it used and every account getting its fair share; after a 429
nothing reaches the simulator until the block has passed, for any account.

The whole stack runs (``allegro_client_for`` -> token source -> the process's Redis governor,
configured from settings -> HTTP to the simulator), but on a virtual clock injected into that
governor (``tests/allegro/virtual_clock.py``): the workers are greenlets taking turns, a request
takes no virtual time and no real time passes while anyone waits, so several rate windows (or a
60 s block) take only the time of their requests and every run is the same. What is checked is
the governor's arithmetic on what actually reached the simulator. That the real pipeline, in
real time, stays under a limit the simulator enforces (no 429) is tested in
``tests/allegro/test_rate_limit.py``; the governor's own rules in
``tests/allegro/test_governor.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connections
from greenlet import greenlet

from accounts.allegro_setup import process_governor
from accounts.models import AllegroAccount
from accounts.services import allegro_client_for
from allegro.api.me import get_me
from allegro.governor import RateGovernor
from tests.allegro.test_governor import max_in_window
from tests.allegro.virtual_clock import VirtualClock
from tests.plugins.allegro_accounts import reset_governor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SELLERS = ("SklepKowalski", "ElektroMax_PL", "DomIOgrod24", "ModaDlaCiebie", "ZabawkiKrakow")
LIMIT, WINDOW, HEADROOM = 50, 3.0, 20.0
BUDGET = 40  # floor(LIMIT * (1 - HEADROOM / 100))
MEASURED = 3  # windows measured after the first one
GAP = 0.002  # virtual seconds a worker spends between two calls


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def five_accounts(link_account: Any, sim: Any) -> list[AllegroAccount]:
    sim.control("POST", "/seed", {"sellers": 3, "offers": 5, "orders": 5, "seed": 7})
    return [link_account(login) for login in SELLERS]


def virtual_process_governor(clock: VirtualClock) -> RateGovernor:
    """The process governor ``allegro_client_for`` uses (fresh state), on ``clock``."""
    reset_governor()
    governor = process_governor()
    assert isinstance(governor, RateGovernor)
    governor.use_clock(clock.now, clock.sleep)
    return governor


class Hammer:
    """Workers per account calling ``GET /me`` nonstop, on the virtual clock, until ``stop``."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.stopped = False
        self.done: list[tuple[float, str]] = []  # (virtual time, login) per call
        self.failures: list[BaseException] = []
        self.workers: list[greenlet] = []

    def start(self, account: AllegroAccount, count: int) -> None:
        self.workers += [self.clock.start(self._work, account) for _ in range(count)]

    def _work(self, account: AllegroAccount) -> None:
        try:
            client = allegro_client_for(account=account)
            while not self.stopped:
                try:
                    login = get_me(client).login
                except BaseException as exc:  # every failure is asserted on
                    self.failures.append(exc)
                    return
                # A call takes no virtual time: this is also the instant of its grant.
                self.done.append((self.clock.now(), login))
                self.clock.sleep(GAP)
        finally:
            # Once Playwright's sync API runs an event loop in this thread, Django keeps its
            # connections per context, and each greenlet has its own: every worker opened a
            # connection of its own. Left open, the 14 stayed idle until the worker ended
            # (tests/conftest.py closes any left before the test database is dropped).
            connections.close_all()

    def stop(self) -> None:
        self.stopped = True
        self.clock.join(self.workers)


def test_five_accounts_share_one_client_budget_fairly(
    five_accounts: list[AllegroAccount], sim_stats: Any, settings: Any, clock: VirtualClock
) -> None:
    settings.ALLEGRO_RATE_LIMIT = LIMIT
    settings.ALLEGRO_RATE_WINDOW_SECONDS = WINDOW
    settings.ALLEGRO_RATE_HEADROOM_PERCENT = HEADROOM
    settings.ALLEGRO_CONCURRENCY_PER_ACCOUNT = 4
    governor = virtual_process_governor(clock)
    assert governor.limits.budget == BUDGET
    sim_stats(clear=True)
    # One heavy account (6 workers) and four lighter ones (2 each); every one of them asks for
    # far more than its share (500 calls per virtual second each; the budget is ~13/s).
    hammer = Hammer(clock)
    for i, account in enumerate(five_accounts):
        hammer.start(account, 6 if i == 0 else 2)
    clock.sleep(WINDOW * (MEASURED + 1) + 1)
    hammer.stop()

    stats = sim_stats()
    assert hammer.failures == []
    assert "429" not in stats["statuses"]
    # Everything that reached the simulator was granted, and never over the budget.
    assert stats["paths"]["GET /me"] == len(hammer.done)
    times = [VirtualClock.exact(t) for t, _ in hammer.done]
    assert max_in_window(times, WINDOW) <= BUDGET
    # Steady state: skip the first window (accounts still arriving), then MEASURED windows.
    start = min(times) + WINDOW
    inside = [login for t, login in hammer.done if start <= t < start + MEASURED * WINDOW]
    per_account = Counter(inside)
    print(f"\n{MEASURED} windows of {WINDOW}s, budget {BUDGET}/window: {len(inside)} {per_account}")
    assert len(inside) >= 0.85 * BUDGET * MEASURED, per_account
    fair = BUDGET * MEASURED / len(SELLERS)
    for login in SELLERS:
        assert per_account[login] >= 0.85 * fair, (login, per_account, fair)
    # The heavy account did not take more than a fair share either (it had 3x the workers).
    assert per_account[SELLERS[0]] <= 1.2 * fair, per_account


def test_after_a_429_nothing_reaches_the_simulator_until_the_block_has_passed(
    link_account: Any, sim: Any, sim_stats: Any, clock: VirtualClock
) -> None:
    first, late = link_account("SklepKowalski"), link_account("ElektroMax_PL")
    virtual_process_governor(clock)  # the default limits: the governor does not know this one
    block = 60.0  # Allegro's own block length: on the virtual clock it costs nothing
    sim.control("PUT", "/faults", {"rate_limit": {"limit": 30, "window": 60, "block": block}})
    sim_stats(clear=True)
    early, later = Hammer(clock), Hammer(clock)
    early.start(first, 2)
    try:
        deadline = clock.now() + 10
        while sim_stats()["rateLimited"] == 0:
            assert clock.now() < deadline, "the simulator never answered 429"
            clock.sleep(0.01)
        seen_429 = clock.now()
        during = sim_stats()
        calls_during = sum(during["paths"].values())
        # Another account's workers start in the middle of the block (as a fresh Celery worker
        # would): the pause is shared through Redis, so they must wait too.
        clock.sleep(block / 2)
        later.start(late, 2)
        clock.sleep(block / 2 - 0.5)  # near the block's end
        assert clock.now() < seen_429 + block, "the check came too late to mean anything"
        quiet = sim_stats()
        assert sum(quiet["paths"].values()) == calls_during, "a request was sent during the block"
        assert quiet["rateLimited"] == during["rateLimited"]
        # The simulator's block runs on its own (real) clock: move it past the block too, then
        # let the governor's pause end and both accounts work for a moment: 4 workers, one call
        # each per GAP, for 3 GAPs is at most 16 calls, well under the simulator's 30.
        sim.control("POST", "/clock", {"advance": block})
        clock.sleep(seen_429 + block + 3 * GAP - clock.now())
    finally:
        early.stop()
        later.stop()
    after = sim_stats()
    # Work resumed after the block, for both accounts (so the silence was the governor's).
    assert sum(after["paths"].values()) > calls_during
    assert later.done, "the late account never got to call"
    # The transport retried the 429 after the pause: no call failed.
    assert early.failures == []
    assert later.failures == []
    # Only the first 429 (the workers take turns: no request was in flight when it came).
    assert during["rateLimited"] == 1
    assert after["rateLimited"] == 1
