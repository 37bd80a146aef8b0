"""Every offer and order view by role: manager, operator, viewer (granted), staff granted another
account (404 / nothing of this shop), anonymous (sign-in). Writes refused by role never reach
Allegro (the simulator's request counters show no write)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jobs.models import Job
from offers.models import Offer
from offers.services import bulk_job_create
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(shop: Any) -> Offer:
    return Offer.objects.filter(account=shop, status="ACTIVE").order_by("id").first()


@pytest.fixture
def order(shop: Any) -> Order:
    return Order.objects.filter(account=shop, status="READY_FOR_PROCESSING").order_by("id").first()


@pytest.fixture
def job(manager: Any, offer: Offer) -> Job:
    return bulk_job_create(actor=manager, offers=[offer], action="stock_add", value=1)


def _writes(stats: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in stats["paths"].items() if not k.startswith("GET ")}


def _views(offer: Offer, order: Order, job: Job) -> list[tuple[str, str, dict]]:
    """(method, url, data) of every view, with valid input for the granted roles."""
    return [
        ("get", reverse("offers:index"), {}),
        ("get", reverse("offers:detail", args=[offer.pk]), {}),
        (
            "post",
            reverse("offers:edit", args=[offer.pk]),
            {"title": offer.name, "price": "19.99", "stock": offer.stock_available},
        ),
        (
            "post",
            reverse("offers:publication", args=[offer.pk]),
            {"action": "END", "confirm": "1"},
        ),
        ("get", reverse("offers:operation", args=[offer.pk, "tok"]), {}),
        (
            "post",
            reverse("offers:bulk"),
            {"action": "stock_add", "value": "1", "offers": [offer.pk]},
        ),
        ("get", reverse("offers:bulk_job", args=[job.pk]), {}),
        ("get", reverse("offers:bulk_job_csv", args=[job.pk]), {}),
        ("get", reverse("orders:index"), {}),
        ("get", reverse("orders:detail", args=[order.pk]), {}),
        (
            "post",
            reverse("orders:fulfillment", args=[order.pk]),
            {"status": "PROCESSING", "revision": order.revision},
        ),
        (
            "post",
            reverse("orders:tracking", args=[order.pk]),
            {"carrier": "DPD", "waybill": "PERM-1", "revision": order.revision},
        ),
        (
            "post",
            reverse("orders:bulk_fulfillment"),
            {"status": "PROCESSING", "orders": [order.pk], "confirm": "1"},
        ),
    ]


def test_anonymous_is_sent_to_sign_in(
    client: Any, offer: Offer, order: Order, job: Job, sim_stats: Any
) -> None:
    sim_stats(clear=True)
    for method, url, data in _views(offer, order, job):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert _writes(sim_stats()) == {}


def test_staff_of_another_account_gets_404_and_sees_nothing(
    client_for: Any, outsider: Any, offer: Offer, order: Order, job: Job, sim_stats: Any
) -> None:
    client = client_for(outsider)
    sim_stats(clear=True)
    for method, url, data in _views(offer, order, job):
        response = getattr(client, method)(url, data)
        if url in (reverse("offers:index"), reverse("orders:index")):
            assert response.status_code == 200
            html = response.content.decode()
            assert offer.name not in html
            assert str(order.allegro_id) not in html
        elif url == reverse("offers:bulk"):
            assert response.status_code == 422  # nothing visible selected: the list with an error
        elif url == reverse("orders:bulk_fulfillment"):
            assert response.status_code == 200
            assert 'data-testid="bulk-row"' not in response.content.decode()
        else:
            assert response.status_code == 404, url
    assert _writes(sim_stats()) == {}
    assert Order.objects.get(pk=order.pk).fulfillment_status == order.fulfillment_status


def test_viewer_reads_everything_and_changes_nothing(
    client_for: Any, viewer: Any, offer: Offer, order: Order, job: Job, sim_stats: Any
) -> None:
    client = client_for(viewer)
    sim_stats(clear=True)
    for method, url, data in _views(offer, order, job):
        response = getattr(client, method)(url, data)
        if method == "get":
            expected = 404 if "bulk/" in url else 200  # someone else's job
            if url.endswith("/operations/tok/"):
                expected = 302  # unknown operation: back to the offer
            assert response.status_code == expected, url
        elif url == reverse("orders:bulk_fulfillment"):
            assert response.status_code == 200
            assert 'data-state="failed"' in response.content.decode()
        else:
            assert response.status_code == 403, url
    detail = client.get(reverse("offers:detail", args=[offer.pk])).content.decode()
    assert 'data-testid="offer-edit-form"' not in detail
    assert 'data-testid="end-offer"' not in detail
    order_html = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-testid="fulfillment-form"' not in order_html
    assert 'data-testid="tracking-form"' not in order_html
    assert _writes(sim_stats()) == {}


def test_operator_changes_fulfillment_and_tracking_but_not_offers(
    client_for: Any, operator: Any, offer: Offer, order: Order, job: Job, sim_stats: Any
) -> None:
    client = client_for(operator)
    sim_stats(clear=True)
    for method, url, data in _views(offer, order, job):
        response = getattr(client, method)(url, data)
        if url.startswith(reverse("offers:index")) and method == "post":
            assert response.status_code == 403, url
        elif url in (
            reverse("orders:fulfillment", args=[order.pk]),
            reverse("orders:tracking", args=[order.pk]),
        ):
            assert response.status_code in (302, 409), (url, response.status_code)
        elif "bulk/" in url and method == "get":
            assert response.status_code == 404, url
        elif url.endswith("/operations/tok/"):
            assert response.status_code == 302
        else:
            assert response.status_code == 200, url
    writes = _writes(sim_stats())
    assert not any("offer" in k for k in writes), writes
    assert any(k.endswith("/fulfillment") for k in writes)
    assert any(k.endswith("/shipments") for k in writes)
    order.refresh_from_db()
    assert order.tracking_numbers.filter(waybill="PERM-1").exists()


def test_manager_may_do_everything(
    client_for: Any,
    manager: Any,
    offer: Offer,
    order: Order,
    job: Job,
    sim_stats: Any,
    eager_tasks: None,
) -> None:
    client = client_for(manager)
    for method, url, data in _views(offer, order, job):
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302, 409), (url, response.status_code)
    offer.refresh_from_db()
    assert str(offer.price_amount) == "19.99"
