"""Re-running every sync task on an up-to-date mirror changes nothing and only reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.mirror.activity import market_activity
from tests.mirror.conftest import INCREMENTAL, drive

pytestmark = pytest.mark.django_db(transaction=True)
ALL = ("offers", "orders", *INCREMENTAL, "reconciliation")


BOOKKEEPING = ("synced_at", "waybills_read_at")


def snapshot(account: Any) -> dict[str, list[dict[str, Any]]]:
    """Every mirrored row of the account except the ``synced_at``/``waybills_read_at``
    bookkeeping (when a row or its waybills were last read)."""
    from aftersales.models import Dispute, DisputeMessage, Rating, RatingRevision, ReturnPolicy
    from mirror.models import QuarantinedOrder
    from offers.models import Offer
    from orders.models import Order, OrderEvent, OrderLineItem, TrackingNumber

    out = {}
    for model in (
        Offer,
        Order,
        OrderLineItem,
        TrackingNumber,
        OrderEvent,
        Rating,
        RatingRevision,
        Dispute,
        DisputeMessage,
        ReturnPolicy,
        QuarantinedOrder,
    ):
        rows = model.objects.filter(account=account).order_by("pk").values()
        out[model.__name__] = [{k: v for k, v in r.items() if k not in BOOKKEEPING} for r in rows]
    return out


def test_rerun_changes_nothing_and_sends_only_gets(
    linked: Any, initial_sync: Callable[[], None], sim: Any, settings: Any
) -> None:
    settings.MIRROR_RATINGS_FULL_PASS_SECONDS = 0  # the full ratings pass runs every time too
    initial_sync()
    market_activity(sim, linked.allegro_user_id)
    for resource in ALL:
        drive(linked, resource)
    before = snapshot(linked)
    assert all(before[name] for name in ("Order", "Offer", "Rating", "Dispute"))
    sim.control("DELETE", "/stats")

    for resource in ALL:
        drive(linked, resource)

    stats = sim.control("GET", "/stats")
    methods = {path.split(" ", 1)[0] for path in stats["paths"]}
    assert methods == {"GET"}, stats["paths"]
    assert snapshot(linked) == before
