"""Rate governors: one request budget per client id, shared fairly between seller accounts.

Allegro allows 9000 requests per minute per client id and blocks the whole client id for a
minute when it is exceeded; calling during the block extends it. Every process of the
back-office therefore asks a governor before each request:

* ``RateGovernor`` keeps its state in Redis (atomic Lua scripts, Redis server time), so web
  processes and Celery workers on any host share one budget.
* ``LocalGovernor`` implements the same rules in-process, for the embedded demo without Redis.
* ``NullGovernor`` lets everything through, for tests that do not care.

Rules (identical in both real governors):

1. **Budget.** At most ``budget = floor(limit * (1 - headroom%))`` grants in any sliding window
   of ``window`` seconds (a sliding log, so no fixed-window boundary can see more either).
2. **Pacing.** At most ``ceil(budget * burst_fraction)`` grants in any slice of
   ``window * burst_fraction`` seconds, so one burst cannot spend a whole window's budget at once
   and make everyone else wait a full window.
3. **Fair share.** Accounts that asked within the last window are *active*; each one's share is
   ``budget / active``. No account gets a slot while an account below its share with at least
   two fewer grants in the window is waiting for one (max-min fairness among waiting accounts).
   An account at or above its share gets a slot only when (a) no account below its share is
   waiting, and (b) the slice keeps room for every other active account's
   expected demand (twice its recent demand, capped at its share, minus what it already got in
   the slice). An account below its share is only bound by rules 1, 2 and 4, so a lone account
   (or one whose peers are idle) can use the whole budget and a heavy account cannot starve a
   light one.
4. **Concurrency.** At most ``concurrency`` leases per account at once. A lease expires after
   ``lease_ttl`` seconds, so a process that crashed holding one does not leak the slot.
5. **Global pause.** ``pause(seconds)`` (called on any 429) stores a pause-until instant; no
   grant happens until it has passed, in any process.
6. **Priority lanes.** Every request names a lane: ``staff`` (a staff member is waiting: edits,
   bulk commands, labels, a page that reads on open), ``sync`` (scheduled mirror passes, the
   default) or ``backfill`` (work nobody waits for, e.g. old orders' waybills). Rules 3's fair
   share is kept per lane (each lane has its own active/waiting accounts and demand). A request
   that was refused for the budget, the pace or a higher lane leaves a *ticket* in its lane's
   wait queue (dropped when granted, or after ``waiting_ttl`` when its process stops asking). A
   request is held back (reason ``lane``) while any higher lane holds a ticket, unless its own
   lane got less than its minimum share (``lane_floors``: a fraction of the slice of rule 2) in
   the current slice, so the lowest lane still moves when the higher ones saturate the budget.
   The staff lane has its own per-account concurrency cap (``staff_concurrency``), so a staff
   click never waits for a sync's requests in flight to finish.

The Lua script builds per-account key names itself, which is fine on a single Redis server (the
deployment here) but not on Redis Cluster.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from allegro.config import AllegroSettings
from allegro.errors import RateLimited, TransientError

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 9000
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_HEADROOM_PERCENT = 5.0
DEFAULT_CONCURRENCY = 8
DEFAULT_LEASE_TTL_SECONDS = 120.0
DEFAULT_PAUSE_SECONDS = 60.0
DEFAULT_STAFF_CONCURRENCY = 2


class Lane(StrEnum):
    """Who is waiting for a request, highest priority first."""

    STAFF = "staff"
    SYNC = "sync"
    BACKFILL = "backfill"

    @property
    def rank(self) -> int:
        """1 for the highest lane."""
        return _LANE_ORDER.index(self) + 1


_LANE_ORDER = (Lane.STAFF, Lane.SYNC, Lane.BACKFILL)
# Minimum share of each lane in any slice of the pace rule (staff, sync, backfill): a lane below
# it is not held back by the lanes above it.
DEFAULT_LANE_FLOORS = (0.0, 0.2, 0.05)


@dataclass(frozen=True, kw_only=True)
class Lease:
    account_key: str
    lease_id: str
    granted_at: float  # governor clock (Redis server time for RateGovernor unless injected)
    lane: str = Lane.SYNC


class GovernorTimeout(RateLimited):
    """``acquire`` could not get a slot before its timeout (nothing was sent)."""


class GovernorUnavailable(TransientError):
    """Redis could not be reached, so no slot could be granted (nothing was sent)."""


class Governor(Protocol):
    enforces_pause: bool

    def acquire(
        self, account_key: str, *, timeout: float | None = None, lane: str = Lane.SYNC
    ) -> Lease: ...

    def release(self, lease: Lease) -> None: ...

    def pause(self, seconds: float | None = None) -> float: ...

    def paused_for(self) -> float: ...


@dataclass(frozen=True, kw_only=True)
class GovernorLimits:
    limit: int = DEFAULT_LIMIT
    window: float = DEFAULT_WINDOW_SECONDS
    headroom_percent: float = DEFAULT_HEADROOM_PERCENT
    concurrency: int = DEFAULT_CONCURRENCY
    lease_ttl: float = DEFAULT_LEASE_TTL_SECONDS
    pause_default: float = DEFAULT_PAUSE_SECONDS
    max_poll: float = 0.2  # longest sleep between two attempts of one acquire
    # At most this fraction of the budget in any slice of this fraction of the window, so one
    # burst cannot use a whole window's budget at once and make late comers wait a full window.
    burst_fraction: float = 0.25
    # Priority lanes (rule 6): minimum share per lane (staff, sync, backfill) and the staff
    # lane's own concurrency cap per account.
    lane_floors: tuple[float, float, float] = DEFAULT_LANE_FLOORS
    staff_concurrency: int = DEFAULT_STAFF_CONCURRENCY

    @property
    def budget(self) -> int:
        return max(1, math.floor(self.limit * (1 - self.headroom_percent / 100)))

    @classmethod
    def from_settings(cls, settings: AllegroSettings) -> GovernorLimits:
        return cls(
            limit=settings.rate_limit,
            window=settings.rate_window_seconds,
            headroom_percent=settings.rate_headroom_percent,
            concurrency=settings.concurrency_per_account,
            pause_default=settings.pause_default_seconds,
        )

    @property
    def waiting_ttl(self) -> float:
        # An account counts as waiting until it has missed a few polls.
        return self.max_poll * 3 + 0.1

    def floor(self, lane: str) -> float:
        return self.lane_floors[Lane(lane).rank - 1]

    def cap(self, lane: str) -> int:
        return self.staff_concurrency if Lane(lane) == Lane.STAFF else self.concurrency


def lane_of(value: str | None) -> Lane:
    return Lane(value) if value else Lane.SYNC


_tickets = itertools.count(1)


def new_ticket() -> str:
    """A wait-queue ticket unique across processes and hosts (pid + counter + random)."""
    return f"{os.getpid()}-{next(_tickets)}-{os.urandom(4).hex()}"


_ACQUIRE = """
local prefix = ARGV[1]
local acct = ARGV[2]
local budget = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local lease_ttl = tonumber(ARGV[6])
local waiting_ttl = tonumber(ARGV[7])
local poll = tonumber(ARGV[8])
local first = ARGV[9] == '1'
local burst = tonumber(ARGV[10])
local rank = tonumber(ARGV[11])
local ticket = ARGV[12]
local floor = tonumber(ARGV[13])
local now = tonumber(ARGV[14])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local keep = tonumber(ARGV[15] or '0')
local pause = tonumber(redis.call('GET', prefix .. ':pause') or '0')
if pause > now then
  return {0, tostring(pause - now), 'paused'}
end
-- Rule 3 is kept per lane: the sync lane keeps the key names of a governor without lanes.
local lp = prefix
if rank ~= 2 then lp = prefix .. ':lane' .. rank end
local glog = prefix .. ':log'
local alog = lp .. ':log:' .. acct
local dlog = lp .. ':demand:' .. acct
local leases = prefix .. ':lease:' .. acct
if rank == 1 then leases = leases .. ':staff' end
local active = lp .. ':active'
local waiting = lp .. ':waiting'
local seq = prefix .. ':seq'
local llog = prefix .. ':lanelog:' .. rank
local queue = prefix .. ':queue:' .. rank
local ttl_ms = math.max(math.ceil(window * 2000), keep)
redis.call('ZREMRANGEBYSCORE', glog, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
redis.call('ZREMRANGEBYSCORE', active, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now - waiting_ttl)
redis.call('ZADD', active, now, acct)
redis.call('PEXPIRE', active, ttl_ms)
if first then
  redis.call('ZREMRANGEBYSCORE', dlog, '-inf', now - window)
  redis.call('ZADD', dlog, now, tostring(redis.call('INCR', seq)))
  redis.call('PEXPIRE', dlog, ttl_ms)
end
if cap > 0 and redis.call('ZCARD', leases) >= cap then
  local first_lease = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  local until_free = tonumber(first_lease[2]) - now
  return {0, tostring(math.max(math.min(until_free, poll), 0.001)), 'concurrency'}
end
-- A ticket in the lane's queue: lower lanes give way while it is there (rule 6).
local function queued()
  if ticket ~= '' then
    redis.call('ZADD', queue, now, ticket)
    redis.call('PEXPIRE', queue, ttl_ms)
  end
end
local function wait(seconds, reason)
  redis.call('ZADD', waiting, now, acct)
  redis.call('PEXPIRE', waiting, ttl_ms)
  queued()
  return {0, tostring(math.max(seconds, 0.001)), reason}
end
local used = redis.call('ZCARD', glog)
if used >= budget then
  local oldest = redis.call('ZRANGE', glog, 0, 0, 'WITHSCORES')
  return wait(tonumber(oldest[2]) + window - now, 'budget')
end
if burst <= 0 or burst > 1 then burst = 1 end
local slice = window * burst
local slice_cap = math.ceil(budget * burst)
local slice_used = redis.call('ZCOUNT', glog, '(' .. (now - slice), '+inf')
if slice_used >= slice_cap then
  local oldest = redis.call('ZRANGEBYSCORE', glog, '(' .. (now - slice), '+inf',
    'WITHSCORES', 'LIMIT', 0, 1)
  return wait(tonumber(oldest[2]) + slice - now, 'pace')
end
redis.call('ZREMRANGEBYSCORE', llog, '-inf', now - window)
if rank > 1 then
  local ahead = 0
  for r = 1, rank - 1 do
    local q = prefix .. ':queue:' .. r
    redis.call('ZREMRANGEBYSCORE', q, '-inf', now - waiting_ttl)
    ahead = ahead + redis.call('ZCARD', q)
  end
  if ahead > 0 then
    local lane_used = redis.call('ZCOUNT', llog, '(' .. (now - slice), '+inf')
    if lane_used >= floor * slice_cap then
      queued()
      return {0, tostring(math.max(poll / 4, 0.001)), 'lane'}
    end
  end
end
local function count(log)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  return redis.call('ZCARD', log)
end
local share = budget / redis.call('ZCARD', active)
local mine = count(alog)
for _, other in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
  if other ~= acct then
    local theirs = count(lp .. ':log:' .. other)
    if theirs < share and theirs + 1 < mine then
      return wait(poll / 4, 'fair-share')
    end
  end
end
if mine >= share then
  local reserve = 0
  for _, other in ipairs(redis.call('ZRANGE', active, 0, -1)) do
    if other ~= acct then
      local olog = lp .. ':log:' .. other
      if count(olog) < share and redis.call('ZSCORE', waiting, other) then
        return wait(poll / 4, 'fair-share')
      end
      local expected = math.min(share, 2 * count(lp .. ':demand:' .. other)) * burst
      local got = redis.call('ZCOUNT', olog, '(' .. (now - slice), '+inf')
      reserve = reserve + math.max(expected - got, 0)
    end
  end
  if slice_used + reserve >= slice_cap then
    return wait(poll / 4, 'reserved')
  end
end
local member = tostring(redis.call('INCR', seq))
if ticket ~= '' then redis.call('ZREM', queue, ticket) end
redis.call('ZADD', glog, now, member)
redis.call('ZADD', alog, now, member)
redis.call('ZADD', llog, now, member)
redis.call('ZADD', leases, now + lease_ttl, member)
redis.call('PEXPIRE', glog, ttl_ms)
redis.call('PEXPIRE', alog, ttl_ms)
redis.call('PEXPIRE', llog, ttl_ms)
redis.call('PEXPIRE', leases, math.max(math.ceil(lease_ttl * 1000) + 1000, keep))
return {1, member, string.format('%.6f', now)}
"""

_PAUSE = """
local seconds = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local keep = tonumber(ARGV[3] or '0')
local target = now + seconds
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if target > current then
  redis.call('SET', KEYS[1], string.format('%.6f', target), 'PX',
    math.max(math.ceil(seconds * 1000) + 1000, keep))
  return string.format('%.6f', target)
end
return string.format('%.6f', current)
"""

_PAUSED_FOR = """
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
return string.format('%.6f', math.max(current - now, 0))
"""


_INJECTED_CLOCK_KEY_LIFETIME_MS = 3_600_000


def _to_str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RateGovernor:
    """Redis-backed governor shared by every process using the same client id."""

    enforces_pause = True

    def __init__(
        self,
        redis: Redis,
        *,
        client_id: str,
        limits: GovernorLimits | None = None,
        namespace: str = "allegro:governor",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``clock``/``sleep``: the time source and the wait between attempts.

        Without ``clock`` the scripts read Redis server time, the one clock every process and
        host shares (the production setting) and ``acquire`` measures its timeout on
        ``time.monotonic``. With ``clock`` (tests, simulations) its value is passed to the
        scripts as "now" and ``acquire`` uses it too; every process sharing the keys must then
        use the same clock. Key expiries are real time, which an injected clock may outrun or
        lag behind (a test's virtual clock stands still while a subprocess starts), so with
        one every key lives at least an hour; ``reset`` clears them.
        """
        self.redis = redis
        self.limits = limits or GovernorLimits()
        self.prefix = f"{namespace}:{client_id}"
        self._clock = clock
        self._sleep = sleep
        self._acquire = redis.register_script(_ACQUIRE)
        self._pause = redis.register_script(_PAUSE)
        self._paused_for = redis.register_script(_PAUSED_FOR)

    def use_clock(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Switch to an injected ``clock``/``sleep`` (see ``__init__``) after construction, for a
        governor built by the app's own wiring (a test driving the whole stack on a virtual
        clock). Call it before the first grant, or ``reset`` first: times written on one clock
        mean nothing on another."""
        self._clock = clock
        self._sleep = sleep

    def try_acquire(
        self,
        account_key: str,
        *,
        first: bool = True,
        lane: str = Lane.SYNC,
        ticket: str = "",
    ) -> tuple[Lease | None, float, str]:
        """One attempt: ``(lease, 0, "")`` when granted, else ``(None, wait_seconds, reason)``.

        ``first`` marks the first attempt of a request (it counts towards the account's demand);
        ``ticket`` (one per request, kept across its attempts) is its place in the lane's queue.
        """
        lane = lane_of(lane)
        try:
            result = self._call_acquire(account_key, first=first, lane=lane, ticket=ticket)
        except RedisError as exc:
            raise GovernorUnavailable(f"rate governor unavailable: {type(exc).__name__}") from exc
        granted, value, extra = (_to_str(v) if not isinstance(v, int) else v for v in result)
        if granted == 1:
            lease = Lease(
                account_key=account_key, lease_id=str(value), granted_at=float(extra), lane=lane
            )
            return lease, 0.0, ""
        return None, float(value), str(extra)

    def _call_acquire(
        self, account_key: str, *, first: bool, lane: Lane, ticket: str
    ) -> list[bytes | str | int]:
        lim = self.limits
        result: list[bytes | str | int] = self._acquire(
            args=[
                self.prefix,
                account_key,
                lim.budget,
                lim.window,
                lim.cap(lane),
                lim.lease_ttl,
                lim.waiting_ttl,
                lim.max_poll,
                1 if first else 0,
                lim.burst_fraction,
                lane.rank,
                ticket,
                lim.floor(lane),
                *self._now_arg(),
            ]
        )
        return result

    def _now_arg(self) -> list[float]:
        """The scripts' optional last arguments: the injected clock's "now" and the shortest key
        lifetime in ms (none: the scripts read server time and size expiries themselves)."""
        return [] if self._clock is None else [self._clock(), _INJECTED_CLOCK_KEY_LIFETIME_MS]

    def _elapsed_clock(self) -> float:
        return time.monotonic() if self._clock is None else self._clock()

    def acquire(
        self, account_key: str, *, timeout: float | None = None, lane: str = Lane.SYNC
    ) -> Lease:
        deadline = None if timeout is None else self._elapsed_clock() + timeout
        first = True
        ticket = new_ticket()
        while True:
            lease, wait, reason = self.try_acquire(
                account_key, first=first, lane=lane, ticket=ticket
            )
            if lease is not None:
                return lease
            first = first and reason == "paused"
            if (
                deadline is not None
                and self._elapsed_clock() + min(wait, self.limits.max_poll) > deadline
            ):
                raise GovernorTimeout(
                    f"no request slot for {account_key} ({reason})", retry_after=wait
                )
            self._sleep(min(wait, self.limits.max_poll))

    def release(self, lease: Lease) -> None:
        try:
            suffix = ":staff" if lease.lane == Lane.STAFF else ""
            self.redis.zrem(f"{self.prefix}:lease:{lease.account_key}{suffix}", lease.lease_id)
        except RedisError:  # the lease expires by itself after lease_ttl
            logger.warning("rate governor: could not release a lease of %s", lease.account_key)

    def pause(self, seconds: float | None = None) -> float:
        """Block every process until ``seconds`` from now; returns the pause-until instant."""
        span = self.limits.pause_default if seconds is None else max(float(seconds), 0.0)
        try:
            until = self._pause(keys=[f"{self.prefix}:pause"], args=[span, *self._now_arg()])
            return float(_to_str(until))
        except RedisError as exc:
            raise GovernorUnavailable("rate governor unavailable: cannot pause") from exc

    def paused_for(self) -> float:
        try:
            left = self._paused_for(keys=[f"{self.prefix}:pause"], args=self._now_arg())
            return float(_to_str(left))
        except RedisError as exc:
            raise GovernorUnavailable("rate governor unavailable") from exc

    def reset(self) -> None:
        """Forget all state of this client id (tests, or after changing the limits)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=500))
        if keys:
            self.redis.delete(*keys)


@dataclass
class _LaneState:
    """Rule 3's bookkeeping, kept per lane."""

    per_account: dict[str, deque[float]] = field(default_factory=dict)
    demand: dict[str, deque[float]] = field(default_factory=dict)
    active: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, float] = field(default_factory=dict)
    log: deque[float] = field(default_factory=deque)  # this lane's grants
    queue: dict[str, float] = field(default_factory=dict)  # ticket → last refusal


@dataclass
class _LocalState:
    log: deque[float] = field(default_factory=deque)
    lanes: dict[Lane, _LaneState] = field(
        default_factory=lambda: {lane: _LaneState() for lane in _LANE_ORDER}
    )
    leases: dict[tuple[str, bool], dict[str, float]] = field(default_factory=dict)
    pause_until: float = 0.0
    seq: int = 0


def _trim_log(entries: deque[float], horizon: float) -> int:
    while entries and entries[0] <= horizon:
        entries.popleft()
    return len(entries)


class LocalGovernor:
    """In-process governor with the same rules as ``RateGovernor`` (demo mode without Redis)."""

    enforces_pause = True

    def __init__(
        self,
        *,
        limits: GovernorLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits or GovernorLimits()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state = _LocalState()

    def _trim(self, now: float) -> None:
        st, horizon = self._state, now - self.limits.window
        _trim_log(st.log, horizon)
        for ls in st.lanes.values():
            _trim_log(ls.log, horizon)
            for entries in (*ls.per_account.values(), *ls.demand.values()):
                _trim_log(entries, horizon)
            ls.active = {k: v for k, v in ls.active.items() if v > horizon}
            fresh = now - self.limits.waiting_ttl
            ls.waiting = {k: v for k, v in ls.waiting.items() if v > fresh}
            ls.queue = {k: v for k, v in ls.queue.items() if v > fresh}
        for leases in st.leases.values():
            for lease_id in [k for k, exp in leases.items() if exp <= now]:
                del leases[lease_id]

    def _slice(self) -> tuple[float, float, int]:
        lim = self.limits
        burst = lim.burst_fraction if 0 < lim.burst_fraction <= 1 else 1.0
        return burst, lim.window * burst, math.ceil(lim.budget * burst)

    def _budget_wait(self, now: float) -> tuple[float, str] | None:
        lim, log = self.limits, self._state.log
        if len(log) >= lim.budget:
            return log[0] + lim.window - now, "budget"
        _, slice_, slice_cap = self._slice()
        recent = [t for t in log if t > now - slice_]
        if len(recent) >= slice_cap:
            return recent[0] + slice_ - now, "pace"
        return None

    def _lane_wait(self, lane: Lane, now: float) -> bool:
        """Rule 6: a higher lane holds a ticket and this lane has its minimum share."""
        st = self._state
        ahead = sum(len(st.lanes[higher].queue) for higher in _LANE_ORDER[: lane.rank - 1])
        if not ahead:
            return False
        _, slice_, slice_cap = self._slice()
        lane_used = sum(1 for t in st.lanes[lane].log if t > now - slice_)
        return lane_used >= self.limits.floor(lane) * slice_cap

    def _fair_wait(self, ls: _LaneState, account_key: str, now: float) -> str | None:
        lim = self.limits
        share = lim.budget / len(ls.active)
        mine = len(ls.per_account.get(account_key, ()))
        for other in ls.waiting:
            theirs = len(ls.per_account.get(other, ()))
            if other != account_key and theirs < share and theirs + 1 < mine:
                return "fair-share"
        if mine < share:
            return None
        burst, slice_, slice_cap = self._slice()
        reserve = 0.0
        for other in ls.active:
            if other == account_key:
                continue
            log = ls.per_account.get(other, deque())
            if len(log) < share and other in ls.waiting:
                return "fair-share"
            expected = min(share, 2 * len(ls.demand.get(other, ()))) * burst
            reserve += max(expected - sum(1 for t in log if t > now - slice_), 0)
        slice_used = sum(1 for t in self._state.log if t > now - slice_)
        return "reserved" if slice_used + reserve >= slice_cap else None

    def try_acquire(
        self,
        account_key: str,
        *,
        first: bool = True,
        lane: str = Lane.SYNC,
        ticket: str = "",
    ) -> tuple[Lease | None, float, str]:
        lim, lane = self.limits, lane_of(lane)
        with self._lock:
            st, now = self._state, self._clock()
            if st.pause_until > now:
                return None, st.pause_until - now, "paused"
            self._trim(now)
            ls = st.lanes[lane]
            ls.active[account_key] = now
            if first:
                ls.demand.setdefault(account_key, deque()).append(now)
            leases = st.leases.setdefault((account_key, lane == Lane.STAFF), {})
            cap = lim.cap(lane)
            if cap > 0 and len(leases) >= cap:
                until_free = min(leases.values()) - now
                return None, max(min(until_free, lim.max_poll), 0.001), "concurrency"
            budget_wait = self._budget_wait(now)
            if budget_wait is not None:
                ls.waiting[account_key] = now
                if ticket:
                    ls.queue[ticket] = now
                return None, max(budget_wait[0], 0.001), budget_wait[1]
            if lane.rank > 1 and self._lane_wait(lane, now):
                if ticket:
                    ls.queue[ticket] = now
                return None, max(lim.max_poll / 4, 0.001), "lane"
            fair = self._fair_wait(ls, account_key, now)
            if fair is not None:
                ls.waiting[account_key] = now
                if ticket:
                    ls.queue[ticket] = now
                return None, lim.max_poll / 4, fair
            st.seq += 1
            lease_id = str(st.seq)
            st.log.append(now)
            ls.log.append(now)
            ls.per_account.setdefault(account_key, deque()).append(now)
            ls.queue.pop(ticket, None)
            leases[lease_id] = now + lim.lease_ttl
            lease = Lease(account_key=account_key, lease_id=lease_id, granted_at=now, lane=lane)
            return lease, 0.0, ""

    def acquire(
        self, account_key: str, *, timeout: float | None = None, lane: str = Lane.SYNC
    ) -> Lease:
        deadline = None if timeout is None else self._clock() + timeout
        first = True
        ticket = new_ticket()
        while True:
            lease, wait, reason = self.try_acquire(
                account_key, first=first, lane=lane, ticket=ticket
            )
            if lease is not None:
                return lease
            first = first and reason == "paused"
            step = min(wait, self.limits.max_poll)
            if deadline is not None and self._clock() + step > deadline:
                raise GovernorTimeout(
                    f"no request slot for {account_key} ({reason})", retry_after=wait
                )
            self._sleep(step)

    def release(self, lease: Lease) -> None:
        with self._lock:
            key = (lease.account_key, lease.lane == Lane.STAFF)
            self._state.leases.get(key, {}).pop(lease.lease_id, None)

    def pause(self, seconds: float | None = None) -> float:
        span = self.limits.pause_default if seconds is None else max(float(seconds), 0.0)
        with self._lock:
            self._state.pause_until = max(self._state.pause_until, self._clock() + span)
            return self._state.pause_until

    def paused_for(self) -> float:
        with self._lock:
            return max(self._state.pause_until - self._clock(), 0.0)


class NullGovernor:
    """Grants everything immediately and keeps no pause (the transport sleeps on 429 itself)."""

    enforces_pause = False

    def __init__(self) -> None:
        self._seq = 0

    def acquire(
        self, account_key: str, *, timeout: float | None = None, lane: str = Lane.SYNC
    ) -> Lease:
        self._seq += 1
        return Lease(
            account_key=account_key,
            lease_id=str(self._seq),
            granted_at=time.monotonic(),
            lane=lane_of(lane),
        )

    def release(self, lease: Lease) -> None:
        return None

    def pause(self, seconds: float | None = None) -> float:
        return time.monotonic()

    def paused_for(self) -> float:
        return 0.0
