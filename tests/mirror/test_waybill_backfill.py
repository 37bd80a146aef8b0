"""Usable first, complete later (issue 13 §1): the initial order pass writes every order and
reads waybills only where they matter now; the backfill (its own pass, lane and cursor) reads
the rest, the order page reads an order's on open, and the mirror ends equal to the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from tests.mirror.conftest import drive
from tests.mirror.equality import diff_mirror

pytestmark = pytest.mark.django_db(transaction=True)
SHIPMENTS = "/order/checkout-forms/{id}/shipments"


def api(sim: Any, account: Any, method: str, path: str, body: Any = None) -> Any:
    import httpx

    from allegro.transport import tls_context
    from sandbox.http import V1

    headers = {"Authorization": f"Bearer {sim.token(account.allegro_user_id)}", "Accept": V1}
    if body is not None:
        headers["Content-Type"] = V1
    with httpx.Client(base_url=sim.url, timeout=30, verify=tls_context()) as client:
        r = client.request(method, path, json=body, headers=headers)
    r.raise_for_status()
    return r.json()


def add_waybills(sim: Any, account: Any, *, forms: int = 3) -> list[str]:
    """Waybills on Allegro for a few sent orders (the seed has none)."""
    found = api(sim, account, "GET", "/order/checkout-forms?limit=100")["checkoutForms"]
    sent = [f["id"] for f in found if f.get("fulfillment", {}).get("lineItemsSent") != "NONE"]
    assert len(sent) >= forms
    for number, form_id in enumerate(sent[:forms]):
        body = {"carrierId": "DPD", "waybill": f"BACKFILL{number:07d}"}
        api(sim, account, "POST", f"/order/checkout-forms/{form_id}/shipments", body)
    return sent[:forms]


def shipment_reads(sim: Any) -> int:
    paths = sim.control("GET", "/stats")["paths"]
    return sum(n for path, n in paths.items() if path.endswith("/shipments"))


def test_orders_first_then_the_backfill_completes_the_mirror(
    linked: Any, sim: Any, settings: Any
) -> None:
    from mirror.models import SyncState, SyncStatus
    from orders.models import WAYBILLS_UNREAD, Order, TrackingNumber

    settings.MIRROR_WAYBILLS_EAGER_DAYS = 0  # nothing is recent enough: every read is deferred
    add_waybills(sim, linked)
    sim.control("DELETE", "/stats")
    drive(linked, "orders")

    orders = Order.objects.filter(account=linked)
    unread = orders.filter(WAYBILLS_UNREAD)
    assert orders.count() > 0
    assert unread.count() > 0
    assert shipment_reads(sim) == 0  # every order written without one waybill read
    assert not TrackingNumber.objects.filter(account=linked).exists()
    # Orders with nothing sent are complete already: they have no waybills to read.
    assert (
        orders.exclude(line_items_sent__in=["SOME", "ALL"])
        .filter(waybills_read_at__isnull=True)
        .count()
        == 0
    )
    backfill = SyncState.objects.get(account=linked, resource="waybill_backfill")
    assert backfill.status == SyncStatus.PENDING
    assert backfill.total == unread.count()
    pending = unread.count()

    drive(linked, "waybill_backfill")

    backfill.refresh_from_db()
    assert backfill.status == SyncStatus.DONE
    assert backfill.initial_done
    assert backfill.fetched == pending
    assert backfill.cursor == ""
    assert not orders.filter(WAYBILLS_UNREAD).exists()
    assert shipment_reads(sim) == pending  # one read each, none twice
    assert TrackingNumber.objects.filter(account=linked).exists()
    for resource in ("offers", "ratings", "issues", "return_policies"):
        drive(linked, resource)
    report = diff_mirror(account=linked, sim=sim)
    assert report.clean, report.explain()
    # A second run finds nothing to do and sends nothing.
    before = shipment_reads(sim)
    drive(linked, "waybill_backfill")
    assert shipment_reads(sim) == before


def test_recent_sent_orders_are_read_eagerly(linked: Any, sim: Any, settings: Any) -> None:
    from orders.models import WAYBILLS_UNREAD, Order

    settings.MIRROR_WAYBILLS_EAGER_DAYS = 100_000  # every order is recent
    drive(linked, "orders")
    assert Order.objects.filter(account=linked).exists()
    assert not Order.objects.filter(WAYBILLS_UNREAD, account=linked).exists()


def test_every_form_is_written_before_the_first_waybill_read(
    linked: Any, sim: Any, settings: Any
) -> None:
    """The initial pass's pages are not held back by waybill reads: the forms phase sends none;
    the recent orders' waybills are read afterwards, newest first, resumable slice by slice."""
    from mirror.models import SyncState, SyncStatus
    from mirror.services import Outcome, sync_run
    from orders import flows
    from orders.models import WAYBILLS_UNREAD, Order, TrackingNumber

    settings.MIRROR_WAYBILLS_EAGER_DAYS = 100_000  # every order is recent
    with_waybills = add_waybills(sim, linked)
    sim.control("DELETE", "/stats")
    total = api(sim, linked, "GET", "/order/checkout-forms?limit=1")["totalCount"]
    recent_batch, flows.RECENT_BATCH = flows.RECENT_BATCH, 2
    try:
        state = SyncState.objects.get_or_create(account=linked, resource="orders")[0]
        while not state.cursor.startswith(flows.WAYBILLS_PHASE):
            assert sync_run(account=linked, resource="orders", slice_seconds=0) == (
                Outcome.CONTINUE
            )
            state.refresh_from_db()
        assert Order.objects.filter(account=linked).count() == total
        assert shipment_reads(sim) == 0
        pending = Order.objects.filter(WAYBILLS_UNREAD, account=linked).count()
        assert pending > 2
        assert state.status == SyncStatus.RUNNING

        # One slice reads one batch, the newest orders, and keeps its place.
        assert sync_run(account=linked, resource="orders", slice_seconds=0) == Outcome.CONTINUE
        assert shipment_reads(sim) == 2
        sent = Order.objects.filter(account=linked, line_items_sent__in=["SOME", "ALL"])
        read = sorted(sent.filter(waybills_read_at__isnull=False).values_list("pk", flat=True))
        newest = sorted(sent.order_by("-bought_at", "pk").values_list("pk", flat=True)[:2])
        assert read == newest
        state.refresh_from_db()
        assert state.cursor.startswith(flows.WAYBILLS_PHASE)
        assert state.cursor != flows.WAYBILLS_PHASE
    finally:
        flows.RECENT_BATCH = recent_batch
    drive(linked, "orders")
    state.refresh_from_db()
    assert state.status == SyncStatus.DONE
    assert state.initial_done
    assert state.cursor == ""
    assert not Order.objects.filter(WAYBILLS_UNREAD, account=linked).exists()
    assert shipment_reads(sim) == pending  # each read once: resumed, not restarted
    stored = TrackingNumber.objects.filter(account=linked, order__allegro_id__in=with_waybills)
    assert stored.count() == len(with_waybills)


def test_the_backfill_resumes_from_its_cursor(linked: Any, sim: Any, settings: Any) -> None:
    from mirror.models import SyncState
    from orders import flows
    from orders.models import WAYBILLS_UNREAD, Order

    settings.MIRROR_WAYBILLS_EAGER_DAYS = 0
    drive(linked, "orders")
    pending = Order.objects.filter(WAYBILLS_UNREAD, account=linked).count()
    assert pending > 3
    flows_batch = flows.BACKFILL_BATCH
    flows.BACKFILL_BATCH = 2
    try:
        from mirror.services import Outcome, sync_run

        assert sync_run(account=linked, resource="waybill_backfill", slice_seconds=0) == (
            Outcome.CONTINUE
        )
        state = SyncState.objects.get(account=linked, resource="waybill_backfill")
        assert state.fetched == 2
        assert state.cursor
        newest = Order.objects.filter(account=linked, line_items_sent__in=["SOME", "ALL"])
        read = list(newest.filter(waybills_read_at__isnull=False).values_list("pk", flat=True))
        top = list(newest.order_by("-bought_at", "pk").values_list("pk", flat=True)[:2])
        assert sorted(read) == sorted(top)  # newest first
    finally:
        flows.BACKFILL_BATCH = flows_batch
    drive(linked, "waybill_backfill")
    state.refresh_from_db()
    assert state.fetched == pending  # resumed, not restarted
    assert not Order.objects.filter(WAYBILLS_UNREAD, account=linked).exists()


def test_the_order_page_reads_unread_waybills_on_open(
    linked: Any,
    sim: Any,
    settings: Any,
    client_for: Callable[..., Any],
    grant: Callable[..., Any],
) -> None:
    from accounts.models import Role
    from orders.models import WAYBILLS_UNREAD, Order, TrackingNumber
    from tests.factories import UserFactory

    settings.MIRROR_WAYBILLS_EAGER_DAYS = 0
    with_waybills = add_waybills(sim, linked, forms=2)
    drive(linked, "orders")
    viewer = UserFactory(email="viewer@example.com", username="viewer")
    grant(viewer, linked, Role.VIEWER)
    client = client_for(viewer)
    unread = list(
        Order.objects.filter(WAYBILLS_UNREAD, account=linked, allegro_id__in=with_waybills)
    )
    assert len(unread) == 2

    # Allegro down: the page says the waybills were not read yet, never "no tracking number".
    sim.control("PUT", "/faults", {"error_rate": 1.0, "error_statuses": [503]})
    html = client.get(reverse("orders:detail", args=[unread[0].pk])).content.decode()
    sim.control("DELETE", "/faults")
    assert 'data-testid="waybills-unread"' in html
    unread[0].refresh_from_db()
    assert unread[0].waybills_read_at is None

    for order in unread:
        html = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
        order.refresh_from_db()
        assert order.waybills_read_at is not None
        assert 'data-testid="waybills-unread"' not in html
        stored = sorted(
            TrackingNumber.objects.filter(order=order).values_list("waybill", flat=True)
        )
        assert stored == sim_waybills(sim, linked, order)
        assert stored
        for waybill in stored:
            assert waybill in html


def sim_waybills(sim: Any, account: Any, order: Any) -> list[str]:
    path = f"/order/checkout-forms/{order.allegro_id}/shipments"
    return sorted(s["waybill"] for s in api(sim, account, "GET", path)["shipments"])
