"""An order that keeps failing is quarantined after N tries instead of blocking the cursor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.mirror.conftest import drive
from tests.mirror.equality import diff_mirror

pytestmark = pytest.mark.django_db(transaction=True)


def test_failing_order_blocks_the_cursor_then_is_quarantined_then_recovers(
    linked: Any, initial_sync: Callable[[], None], sim: Any, settings: Any
) -> None:
    from mirror.models import QuarantinedOrder, SyncState
    from orders.models import Order, OrderEvent

    settings.MIRROR_QUARANTINE_AFTER = 3
    initial_sync()
    seller = linked.allegro_user_id
    broken = sim.control("POST", f"/sellers/{seller}/purchases", {"pay": True})
    healthy = sim.control("POST", f"/sellers/{seller}/purchases", {"pay": True})
    start = SyncState.objects.get(account=linked, resource="order_events").cursor
    sim.control(
        "PUT",
        "/faults",
        {
            "error_rate": 1.0,
            "error_statuses": [500],
            "paths": [f"/order/checkout-forms/{broken['id']}"],
        },
    )

    for attempt in (1, 2):
        drive(linked, "order_events")
        state = SyncState.objects.get(account=linked, resource="order_events")
        assert state.cursor == start, f"attempt {attempt}: the cursor passed a failing order"
        q = QuarantinedOrder.objects.get(account=linked, checkout_form_id=broken["id"])
        assert (q.attempts, q.quarantined_at) == (attempt, None)
    # the healthy order after it was written meanwhile
    assert Order.objects.filter(account=linked, allegro_id=healthy["id"]).exists()

    drive(linked, "order_events")  # third failure: quarantined, the cursor moves on

    q = QuarantinedOrder.objects.get(account=linked, checkout_form_id=broken["id"])
    assert q.attempts == 3
    assert q.quarantined_at is not None
    state = SyncState.objects.get(account=linked, resource="order_events")
    assert state.cursor != start
    last_seen = OrderEvent.objects.filter(account=linked).order_by("-occurred_at", "-id").first()
    assert last_seen is not None

    sim.control("DELETE", "/faults")
    drive(linked, "order_events")  # quarantined orders are retried on every run

    q.refresh_from_db()
    assert q.resolved_at is not None
    order = Order.objects.get(account=linked, allegro_id=uuid.UUID(broken["id"]))
    assert not order.quarantined
    drive(linked, "offer_events")
    report = diff_mirror(account=linked, sim=sim)
    assert report.clean, report.explain()
