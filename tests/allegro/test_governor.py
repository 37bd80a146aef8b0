"""Rate governor rules against real Redis (and the in-process twin): budget, fairness,
concurrency cap, crashed leases, and the global pause across threads and processes.

The scenarios run on a virtual clock injected into the governor (``clock=``/``sleep=``): the
worker threads take turns and no real time passes while they wait, so several rate windows take
the time of their Redis calls and every run is the same. The real pacing against the simulator's
own limiter is tested end to end in ``test_rate_limit.py`` and
``tests/accounts/test_rate_governor_accounts.py``."""

from __future__ import annotations

import bisect
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from allegro.governor import (
    GovernorLimits,
    GovernorTimeout,
    Lease,
    LocalGovernor,
    RateGovernor,
)
from tests.allegro.virtual_clock import VirtualClock
from tests.conftest import worker_redis_url

# Unique per run: other suites may share this Redis database.
CLIENT = f"governor-test-{uuid.uuid4().hex[:8]}"
LIMITS = GovernorLimits(limit=300, window=3.0, headroom_percent=0, concurrency=4, max_poll=0.05)
ACCOUNTS = ("a1", "a2", "a3", "a4", "a5")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def governor(redis_client: Any, clock: VirtualClock) -> Iterator[RateGovernor]:
    gov = RateGovernor(
        redis_client, client_id=CLIENT, limits=LIMITS, clock=clock.now, sleep=clock.sleep
    )
    gov.reset()
    yield gov
    gov.reset()


@pytest.fixture
def server_time_governor(redis_client: Any) -> Iterator[RateGovernor]:
    """The production setting: the scripts read Redis server time."""
    gov = RateGovernor(redis_client, client_id=CLIENT, limits=LIMITS)
    gov.reset()
    yield gov
    gov.reset()


def max_in_window(times: list[float], window: float) -> int:
    """Largest number of grants in any half-open interval (t - window, t]."""
    times = sorted(times)
    return max(
        (i + 1 - bisect.bisect_right(times, t - window) for i, t in enumerate(times)), default=0
    )


def grant_times(grants: list[Lease]) -> list[float]:
    return [VirtualClock.exact(g.granted_at) for g in grants]


def run_demand(
    gov: Any,
    clock: VirtualClock,
    threads_per_account: dict[str, int],
    *,
    seconds: float,
    request_time: float = 0.002,
) -> list[Lease]:
    """Hammer ``gov`` from several threads per account for ``seconds`` of virtual time (each
    request holds its lease ``request_time``); return every grant."""
    stop = threading.Event()
    grants: list[Lease] = []

    def worker(account: str) -> None:
        while not stop.is_set():
            try:
                lease = gov.acquire(account, timeout=0.2)
            except GovernorTimeout:
                continue
            grants.append(lease)
            clock.sleep(request_time)
            gov.release(lease)

    workers = [
        clock.start(worker, account)
        for account, count in threads_per_account.items()
        for _ in range(count)
    ]
    clock.sleep(seconds)
    stop.set()
    clock.join(workers)
    return grants


def steady_counts(
    grants: list[Lease], *, window: float, windows: int, skip: int = 0
) -> tuple[int, Counter[str]]:
    """Grants in ``windows`` full windows after skipping ``skip`` windows from the first grant."""
    start = min(g.granted_at for g in grants) + skip * window
    inside = [g for g in grants if start <= g.granted_at < start + window * windows]
    return len(inside), Counter(g.account_key for g in inside)


def assert_budget_and_fairness(
    grants: list[Lease], limits: GovernorLimits, *, windows: int, accounts: tuple[str, ...]
) -> None:
    """Never over budget; in steady state (after the first window, while accounts were still
    arriving and the first comer could legitimately use idle capacity) >= 85 % of the budget is
    used and every account gets its fair share."""
    assert max_in_window(grant_times(grants), limits.window) <= limits.budget
    total, per_account = steady_counts(grants, window=limits.window, windows=windows, skip=1)
    assert total >= 0.85 * limits.budget * windows, (total, per_account)
    # Demand of every account is above its share, so each gets an equal share, within two
    # requests per window (shares are fractional; grants race at window edges).
    fair = total / len(accounts)  # an equal split of what was granted
    print(f"steady={total}/{limits.budget * windows} per_account={dict(per_account)}")
    for account in accounts:
        assert per_account[account] >= fair - 2 * windows, (account, per_account, fair)


def test_five_accounts_share_the_budget_fairly_without_overspending(
    governor: RateGovernor, clock: VirtualClock
) -> None:
    # a1 is a heavy account (8 workers) against four lighter ones (2 workers each); every
    # account wants more than its share of 60 requests per 3 s window.
    demand = {"a1": 8, "a2": 2, "a3": 2, "a4": 2, "a5": 2}
    grants = run_demand(governor, clock, demand, seconds=LIMITS.window * 3 + 0.5)
    assert_budget_and_fairness(grants, LIMITS, windows=2, accounts=ACCOUNTS)


def test_a_lone_account_uses_the_whole_budget(governor: RateGovernor, clock: VirtualClock) -> None:
    grants = run_demand(governor, clock, {"solo": 6}, seconds=LIMITS.window * 2 + 0.5)
    assert max_in_window(grant_times(grants), LIMITS.window) <= LIMITS.budget
    total, _ = steady_counts(grants, window=LIMITS.window, windows=2)
    assert total >= 0.85 * LIMITS.budget * 2


def test_a_light_account_gets_everything_it_asks_while_a_heavy_one_takes_the_rest(
    governor: RateGovernor, clock: VirtualClock
) -> None:
    # "light" asks about 20 times per window (well under its share of 150); "heavy" asks nonstop.
    stop = threading.Event()
    light: list[Lease] = []

    def light_worker() -> None:
        while not stop.is_set():
            light.append(governor.acquire("light", timeout=5))
            governor.release(light[-1])
            clock.sleep(LIMITS.window / 20)

    thread = clock.start(light_worker)
    heavy = run_demand(governor, clock, {"heavy": 6}, seconds=LIMITS.window * 3 + 0.5)
    stop.set()
    clock.join([thread])
    everything = [*heavy, *light]
    assert max_in_window(grant_times(everything), LIMITS.window) <= LIMITS.budget
    total, per_account = steady_counts(everything, window=LIMITS.window, windows=2, skip=1)
    assert total >= 0.85 * LIMITS.budget * 2, per_account
    # light asked ~20 times per window (its share is 150): it got (nearly) all of it.
    assert per_account["light"] >= 32, per_account
    assert per_account["heavy"] >= total - per_account["light"] - 1


def test_local_governor_shares_fairly_too(clock: VirtualClock) -> None:
    gov = LocalGovernor(limits=LIMITS, clock=clock.now, sleep=clock.sleep)
    demand = {"a1": 8, "a2": 2, "a3": 2, "a4": 2, "a5": 2}
    grants = run_demand(gov, clock, demand, seconds=LIMITS.window * 3 + 0.5)
    assert_budget_and_fairness(grants, LIMITS, windows=2, accounts=ACCOUNTS)


ACQUIRE_IN_SUBPROCESS = """
import sys, redis, os
from allegro.governor import GovernorLimits, RateGovernor
now = [float(sys.argv[4])]  # this process's own copy of the test's virtual clock
def sleep(seconds):
    now[0] += seconds
limits = GovernorLimits(limit=300, window=3.0, headroom_percent=0, concurrency={cap},
                        lease_ttl={lease_ttl}, max_poll=0.05)
gov = RateGovernor(redis.Redis.from_url(sys.argv[1]), client_id=sys.argv[3], limits=limits,
                   clock=lambda: now[0], sleep=sleep)
lease = gov.acquire(sys.argv[2], timeout=30)
print(repr(lease.granted_at), flush=True)
os._exit(0)  # never releases: a crash while holding the lease
"""


def acquire_in_subprocess(
    account: str, *, now: float, cap: int = 4, lease_ttl: float = 120.0
) -> float:
    """Acquire in another process whose clock starts at ``now``; returns its grant time."""
    script = ACQUIRE_IN_SUBPROCESS.format(cap=cap, lease_ttl=lease_ttl)
    done = subprocess.run(
        [sys.executable, "-c", script, worker_redis_url(), account, CLIENT, repr(now)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip())


@pytest.mark.slow
def test_global_pause_blocks_every_thread_and_process(
    governor: RateGovernor, clock: VirtualClock
) -> None:
    pause_until = governor.pause(1.0)
    assert pause_until == clock.now() + 1.0
    lease, _, reason = governor.try_acquire("a1")
    assert lease is None
    assert reason == "paused"
    granted: list[float] = []

    def worker(account: str) -> None:
        granted.append(governor.acquire(account, timeout=30).granted_at)

    threads = [clock.start(worker, a) for a in ACCOUNTS for _ in range(2)]
    # Another process (its clock starting at the same instant) waits for the pause as well.
    other_process = acquire_in_subprocess("a1", now=clock.now())
    clock.join(threads)
    assert len(granted) == len(threads)
    assert min([*granted, other_process]) >= pause_until


def test_pause_only_extends(server_time_governor: RateGovernor) -> None:
    governor = server_time_governor
    first = governor.pause(30)
    assert governor.pause(1) == first
    assert governor.pause(60) > first
    assert 30 < governor.paused_for() <= 60


def test_an_injected_clock_is_the_scripts_now(governor: RateGovernor, clock: VirtualClock) -> None:
    start = clock.now()
    assert governor.pause(5) == start + 5
    assert governor.paused_for() == 5.0
    clock.sleep(2)
    assert governor.paused_for() == 3.0
    assert governor.try_acquire("a1")[2] == "paused"
    lease = governor.acquire("a1", timeout=10)
    assert lease.granted_at == start + 5
    assert clock.now() == start + 5


def test_pause_from_another_process_is_seen_here(server_time_governor: RateGovernor) -> None:
    governor = server_time_governor
    script = (
        "import sys, redis; from allegro.governor import RateGovernor; "
        "RateGovernor(redis.Redis.from_url(sys.argv[1]), client_id=sys.argv[2]).pause(5)"
    )
    subprocess.run(
        [sys.executable, "-c", script, worker_redis_url(), CLIENT], check=True, timeout=60
    )
    assert governor.try_acquire("a2")[2] == "paused"
    with pytest.raises(GovernorTimeout):
        governor.acquire("a2", timeout=0.1)


def test_concurrency_cap_per_account(governor: RateGovernor, clock: VirtualClock) -> None:
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    done: Counter[str] = Counter()

    def worker() -> None:
        for _ in range(5):
            lease = governor.acquire("busy", timeout=30)
            in_flight["busy"] += 1
            peak["busy"] = max(peak["busy"], in_flight["busy"])
            clock.sleep(0.02)
            in_flight["busy"] -= 1
            done["busy"] += 1
            governor.release(lease)

    threads = [clock.start(worker) for _ in range(10)]
    clock.sleep(0.01)
    # While "busy" is at its cap, another account is not held back.
    assert in_flight["busy"] == LIMITS.concurrency
    asked_at = clock.now()
    other = governor.acquire("quiet", timeout=5)
    assert VirtualClock.exact(other.granted_at) == asked_at
    governor.release(other)
    clock.join(threads)
    assert peak["busy"] == LIMITS.concurrency
    assert done["busy"] == 50


def test_concurrency_cap_refuses_and_release_frees(governor: RateGovernor) -> None:
    leases = [governor.acquire("a1", timeout=1) for _ in range(LIMITS.concurrency)]
    assert governor.try_acquire("a1")[2] == "concurrency"
    governor.release(leases[0])
    assert governor.try_acquire("a1")[0] is not None


@pytest.mark.slow
def test_a_crashed_process_lease_expires(redis_client: Any, clock: VirtualClock) -> None:
    limits = GovernorLimits(
        limit=300, window=3.0, headroom_percent=0, concurrency=1, lease_ttl=1.0, max_poll=0.05
    )
    gov = RateGovernor(
        redis_client, client_id=CLIENT, limits=limits, clock=clock.now, sleep=clock.sleep
    )
    gov.reset()
    crashed_at = acquire_in_subprocess("a1", now=clock.now(), cap=1, lease_ttl=1.0)
    lease, _, reason = gov.try_acquire("a1")
    assert lease is None
    assert reason == "concurrency"
    lease = gov.acquire("a1", timeout=10)
    assert lease.granted_at >= crashed_at + limits.lease_ttl


def test_budget_blocks_then_reports_when_it_frees(redis_client: Any) -> None:
    limits = GovernorLimits(
        limit=5, window=30.0, headroom_percent=0, concurrency=0, burst_fraction=1
    )
    gov = RateGovernor(redis_client, client_id=f"{CLIENT}-small", limits=limits)
    gov.reset()
    for _ in range(5):
        gov.release(gov.acquire("a1", timeout=1))
    lease, wait, reason = gov.try_acquire("a2")
    assert (lease, reason) == (None, "budget")
    assert 0 < wait <= 30


def test_a_burst_may_use_only_a_slice_of_the_budget(redis_client: Any) -> None:
    limits = GovernorLimits(
        limit=8, window=40.0, headroom_percent=0, concurrency=0, burst_fraction=0.25
    )
    gov = RateGovernor(redis_client, client_id=f"{CLIENT}-small", limits=limits)
    gov.reset()
    for _ in range(2):
        gov.release(gov.acquire("a1", timeout=1))
    lease, wait, reason = gov.try_acquire("a1")
    assert (lease, reason) == (None, "pace")
    assert 0 < wait <= 10


def test_headroom_reduces_the_budget() -> None:
    assert GovernorLimits(limit=9000, headroom_percent=5).budget == 8550
    assert GovernorLimits(limit=9000, headroom_percent=0).budget == 9000


def test_local_governor_pause_and_cap() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    gov = LocalGovernor(
        limits=GovernorLimits(limit=10, window=60, concurrency=1), clock=clock, sleep=sleep
    )
    gov.pause(5)
    lease = gov.acquire("a1")
    assert lease.granted_at >= 105.0
    assert gov.try_acquire("a1")[2] == "concurrency"
    gov.release(lease)
    assert gov.try_acquire("a1")[0] is not None


def test_an_unreachable_redis_is_a_transient_error_and_grants_nothing() -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from allegro.errors import TransientError
    from allegro.governor import GovernorUnavailable
    from sandbox.testing import free_port

    dead = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    gov = RateGovernor(dead, client_id="nowhere", limits=LIMITS)
    with pytest.raises(GovernorUnavailable) as caught:
        gov.acquire("a1", timeout=1)
    assert isinstance(caught.value, TransientError)
    gov.release(Lease(account_key="a1", lease_id="1", granted_at=0.0))  # logged, not raised


def test_limits_from_settings() -> None:
    from allegro.config import AllegroSettings

    settings = AllegroSettings.from_env(
        {"ALLEGRO_RATE_LIMIT": "600", "ALLEGRO_RATE_HEADROOM_PERCENT": "10"}
    )
    limits = GovernorLimits.from_settings(settings)
    assert (limits.limit, limits.budget, limits.window) == (600, 540, 60.0)
