"""Allegro's per-user limits on single resources, on top of the client id's 9000 requests/min.

The spec limits ``GET /order/checkout-forms/{id}/shipments`` to 50 requests per second; Allegro
applies such resource limits per user (seller account): past them answers slow down, and too
many parallel calls for one user answer 429. The mirror reads one waybill list per sent form, so
a lone account's initial sync could otherwise send ~140 of them per second (everything the
client-wide governor allows).

``shipment_reads(client)`` paces those reads per account with the same rules as the client's
governor (Redis-backed when it is, so every worker process shares the pace), below the limit by
the governor's headroom. ``MIRROR_SHIPMENT_READS_PER_SECOND`` (default 50) changes the limit;
0 turns the pacing off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from allegro.client import AllegroClient
from allegro.governor import Governor, GovernorLimits, LocalGovernor, RateGovernor
from mirror.passes import setting

SHIPMENT_READS = "GET /order/checkout-forms/{id}/shipments"
SPEC_SHIPMENT_READS_PER_SECOND = 50

_limiters: dict[tuple[object, ...], Governor] = {}
_limiters_lock = threading.Lock()


def shipment_reads_per_second() -> int:
    return int(setting("MIRROR_SHIPMENT_READS_PER_SECOND", SPEC_SHIPMENT_READS_PER_SECOND))


def shipment_reads_limiter(client: AllegroClient) -> Governor | None:
    """The pace of ``client``'s account for waybill reads (``None``: not paced).

    Not paced when the setting is 0 or the client's governor keeps no state of its own (tests
    that do not care about rates use ``NullGovernor``).
    """
    per_second = shipment_reads_per_second()
    base = client.transport.governor
    if per_second <= 0 or not isinstance(base, RateGovernor | LocalGovernor):
        return None
    limits = GovernorLimits(
        limit=per_second,
        window=1.0,
        headroom_percent=base.limits.headroom_percent,
        concurrency=0,  # the client's governor caps the account's requests in flight
        lease_ttl=base.limits.lease_ttl,
    )
    account = client.account_key
    if isinstance(base, RateGovernor):
        key: tuple[object, ...] = (id(base.redis), base.prefix, account, limits)
    else:
        key = (id(base), account, limits)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            if isinstance(base, RateGovernor):
                # One namespace per account: each seller has a limit of its own, so the
                # governor's fair sharing between accounts has nothing to share here.
                limiter = RateGovernor(
                    base.redis,
                    client_id=account,
                    limits=limits,
                    namespace=f"{base.prefix}:per-user:{SHIPMENT_READS}",
                )
            else:
                limiter = LocalGovernor(limits=limits)
            _limiters[key] = limiter
        return limiter


@contextmanager
def shipment_read_slot(client: AllegroClient) -> Iterator[None]:
    """Wait for the account's next waybill-read slot, hold it for the request.

    The slot is asked for in the client's lane, so a staff member's read of one order's
    waybills goes ahead of the backfill's reads here as well.
    """
    limiter = shipment_reads_limiter(client)
    if limiter is None:
        yield
        return
    lease = limiter.acquire(client.account_key, lane=client.lane)
    try:
        yield
    finally:
        limiter.release(lease)
