"""Waybill reads keep to the spec's 50 requests/s of their resource, per seller account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mirror.conftest import drive
from tests.plugins.allegro_accounts import OTHER_SELLER_LOGIN

pytestmark = pytest.mark.django_db(transaction=True)
SHIPMENTS_PATH = "GET /order/checkout-forms/{id}/shipments"


def client_for(account: Any) -> Any:
    from accounts.services import allegro_client_for

    return allegro_client_for(account=account)


def test_limit_defaults_to_the_spec_below_the_governor_headroom(linked: Any) -> None:
    from allegro.governor import RateGovernor
    from mirror.limits import shipment_reads_limiter

    client = client_for(linked)
    limiter = shipment_reads_limiter(client)
    assert isinstance(limiter, RateGovernor)  # shared by every worker process through Redis
    headroom = client.transport.governor.limits.headroom_percent
    assert limiter.limits.window == 1.0
    assert limiter.limits.budget == int(50 * (1 - headroom / 100))
    assert shipment_reads_limiter(client) is limiter


def test_each_account_has_its_own_pace(linked: Any, link_account: Any, settings: Any) -> None:
    from mirror.limits import shipment_reads_limiter

    settings.MIRROR_SHIPMENT_READS_PER_SECOND = 1  # one read per second: the second must wait
    mine, other = client_for(linked), client_for(link_account(OTHER_SELLER_LOGIN))
    limiter = shipment_reads_limiter(mine)
    assert limiter is not None
    lease, _, _ = limiter.try_acquire(mine.account_key)
    assert lease is not None
    refused, wait, reason = limiter.try_acquire(mine.account_key)
    assert refused is None
    assert wait > 0
    assert reason in {"budget", "pace"}
    other_limiter = shipment_reads_limiter(other)
    assert other_limiter is not None
    assert other_limiter is not limiter
    granted, _, _ = other_limiter.try_acquire(other.account_key)
    assert granted is not None  # another seller's reads are not held back by this one's


def test_zero_turns_the_pacing_off(linked: Any, settings: Any) -> None:
    from mirror.limits import shipment_reads_limiter

    settings.MIRROR_SHIPMENT_READS_PER_SECOND = 0
    assert shipment_reads_limiter(client_for(linked)) is None


def test_initial_orders_pass_reads_waybills_through_the_pace(linked: Any, sim_stats: Any) -> None:
    from mirror.limits import shipment_reads_limiter

    client = client_for(linked)
    limiter = shipment_reads_limiter(client)
    assert limiter is not None
    sim_stats(clear=True)
    drive(linked, "orders")
    reads = sim_stats()["paths"].get(SHIPMENTS_PATH, 0)
    assert reads > 0
    # Every read asked the account's pace first (each grant counts once in its sequence).
    asked = int(limiter.redis.get(f"{limiter.prefix}:seq") or 0)
    assert asked >= reads
