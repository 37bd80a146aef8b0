"""Creating Ship-with-Allegro shipments: one from the order page's form, many from the queue as
one job (a per-order result, Allegro's message for the one the simulator fails, a re-run that
creates only that one, never a second shipment for an order)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry
from jobs.models import ItemStatus, Job, JobStatus
from jobs.tasks import job_run
from orders.models import Order
from shipping.models import Shipment, ShipmentStatus
from shipping.selectors import QueueQuery, queue_orders

pytestmark = pytest.mark.django_db

CREATE_POST = "POST /shipment-management/shipments/create-commands"


def queue(*accounts: Any) -> list[Order]:
    return list(queue_orders(query=QueueQuery(accounts=list(accounts))).select_related("account"))


def distinct_buyers(orders: list[Order], n: int) -> list[Order]:
    """Orders whose buyers have no other open order (the simulator matches a shipment to its
    order by the buyer's e-mail)."""
    seen: set[tuple[int, str]] = set()
    out = []
    for order in orders:
        if "Punkcie" in order.delivery_method_name and not order.pickup_point:
            continue  # Allegro refuses a collection-point shipment without its point
        key = (order.account_id, order.buyer_login)
        if key in seen:
            continue
        seen.add(key)
        out.append(order)
    chosen = [
        o
        for o in out
        if not Order.objects.filter(account=o.account, buyer_login=o.buyer_login)
        .exclude(pk=o.pk)
        .exclude(fulfillment_status__in=["SENT", "PICKED_UP", "CANCELLED"])
        .exists()
    ]
    return chosen[:n]


def finish(job_id: Any, sim: Any) -> str:
    """Run the job like a worker would until it ends (the simulator's clock moves on)."""
    result = ""
    for _ in range(10):
        sim.control("POST", "/clock", {"advance": 2})
        result = job_run(str(job_id))
        if result in (JobStatus.DONE, JobStatus.FAILED, "skipped"):
            break
    return result


def test_the_queue_lists_only_swa_orders_to_ship_by_deadline(shops: Any) -> None:
    rows = queue(*shops)
    assert rows, "the seed has Ship-with-Allegro orders to ship"
    assert all(o.delivery_method_name.startswith("Allegro ") for o in rows)
    assert all(o.status == "READY_FOR_PROCESSING" for o in rows)
    assert all(o.fulfillment_status in ("NEW", "PROCESSING", "READY_FOR_SHIPMENT") for o in rows)
    deadlines = [o.dispatch_by for o in rows]
    assert deadlines == sorted(deadlines)
    others = Order.objects.filter(status="READY_FOR_PROCESSING").exclude(
        delivery_method_name__startswith="Allegro "
    )
    assert others.exists()
    assert not {o.pk for o in others} & {o.pk for o in rows}


def test_bulk_create_for_12_orders_across_two_accounts_with_one_failure(
    client_for: Any, operator: Any, shops: Any, sim: Any, sim_stats: Any
) -> None:
    first, second = shops
    chosen = distinct_buyers(queue(first), 6) + distinct_buyers(queue(second), 6)
    assert len(chosen) == 12
    failing = chosen[3]
    sim.control("PUT", "/faults", {"shipment_error_orders": [str(failing.allegro_id)]})
    client = client_for(operator)
    pks = [str(o.pk) for o in chosen]
    confirm = client.post(reverse("shipping:bulk_create"), {"orders": pks})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert page.count("<li><code>") == 12
    assert Job.objects.count() == 0  # nothing before the confirmation
    started = client.post(reverse("shipping:bulk_create"), {"orders": pks, "confirm": "1"})
    assert started.status_code == 302
    job = Job.objects.get()
    assert started["Location"] == reverse("shipping:job", args=[job.pk])
    assert finish(job.pk, sim) == JobStatus.DONE

    job.refresh_from_db()
    failures = list(job.items.filter(status=ItemStatus.FAILED).values_list("key", "message"))
    assert (job.total, job.processed, job.failed) == (12, 12, 1), failures
    created = Shipment.objects.filter(status=ShipmentStatus.CREATED)
    assert created.count() == 11
    assert set(created.values_list("account_id", flat=True)) == {first.pk, second.pk}
    assert all(s.packages.exclude(waybill="").count() == 1 for s in created)
    failed_item = job.items.get(status=ItemStatus.FAILED)
    assert failed_item.key == str(failing.allegro_id)
    report = client.get(reverse("shipping:job", args=[job.pk])).content.decode()
    assert "Przewoźnik nie przyjął przesyłki" in report  # Allegro's message, in Polish
    for shipment in created:
        assert shipment.packages.get().waybill in report
    assert AuditLogEntry.objects.filter(action="shipment.created").count() == 11
    assert (
        AuditLogEntry.objects.filter(action="shipment.created").exclude(allegro_trace_id="").count()
        == 11
    )

    # The failed order is back in the queue; the others are not.
    assert {o.pk for o in queue(first, second)} & {o.pk for o in chosen} == {failing.pk}

    # A re-run (the carrier accepts now) creates only the failed one.
    sim.control("PUT", "/faults", {"shipment_error_orders": []})
    sim_stats(clear=True)
    retry = client.post(reverse("shipping:job_retry", args=[job.pk]))
    assert retry.status_code == 302
    again = Job.objects.exclude(pk=job.pk).get()
    assert again.total == 1
    assert finish(again.pk, sim) == JobStatus.DONE
    assert sim_stats()["paths"][CREATE_POST] == 1
    assert Shipment.objects.filter(status=ShipmentStatus.CREATED).count() == 12
    assert Shipment.objects.filter(order=failing).count() == 1  # the failed row, reused

    # Asking again for all 12 never creates a second shipment.
    sim_stats(clear=True)
    client.post(reverse("shipping:bulk_create"), {"orders": pks, "confirm": "1"})
    assert Job.objects.count() == 2  # none of them is in the queue any more
    assert CREATE_POST not in sim_stats()["paths"]


def test_a_rerun_after_a_crash_resends_the_same_command(
    operator: Any, shops: Any, sim: Any, sim_stats: Any
) -> None:
    from shipping.services import shipments_bulk_create_start

    order = distinct_buyers(queue(shops[0]), 1)[0]
    job = shipments_bulk_create_start(user=operator, orders=[order])
    sim.control("PUT", "/settings", {"command_delay": 30})
    assert job_run(str(job.pk)) == "waiting"
    item = job.items.get()
    shipment = Shipment.objects.get(order=order)
    assert item.command_id == str(shipment.command_id)
    # The worker died before it recorded that the command was sent: the item is still pending.
    item.status = ItemStatus.PENDING
    item.save(update_fields=["status"])
    sim_stats(clear=True)
    Job.objects.filter(pk=job.pk).update(leased_until=None)
    assert job_run(str(job.pk)) == "waiting"
    assert sim_stats()["paths"][CREATE_POST] == 1  # the same command id, accepted again
    sim.control("POST", "/clock", {"advance": 31})
    assert finish(job.pk, sim) == JobStatus.DONE
    assert Shipment.objects.filter(order=order).count() == 1
    assert Shipment.objects.get(order=order).status == ShipmentStatus.CREATED


def test_an_error_shows_next_to_the_field_allegro_names(
    client_for: Any, operator: Any, shops: Any, sim: Any
) -> None:
    order = next(
        o for o in distinct_buyers(queue(shops[0]), 30) if "Paczkomat" in o.delivery_method_name
    )
    client = client_for(operator)
    url = reverse("shipping:create", args=[order.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert "InPost A" in form.content.decode()
    # A parcel the form allows but the carrier refuses after accepting the command: too heavy
    # for the locker is caught by the form first.
    heavy = client.post(
        url,
        {
            "preset": "custom",
            "package_type": "PACKAGE",
            "length": "30",
            "width": "20",
            "height": "10",
            "weight": "26",
            "label_format": "PDF",
        },
    )
    assert heavy.status_code == 422
    assert 'data-testid="error-weight"' in heavy.content.decode()
    assert Job.objects.count() == 0
    # The simulator fails the command: Allegro's message is shown on the form.
    sim.control("PUT", "/faults", {"shipment_error_orders": [str(order.allegro_id)]})
    sent = client.post(
        url,
        {
            "preset": "custom",
            "package_type": "PACKAGE",
            "length": "30",
            "width": "20",
            "height": "10",
            "weight": "2,5",
            "label_format": "ZPL",
            "text_on_label": "Szkło",
        },
    )
    assert sent.status_code == 302
    job = Job.objects.get()
    assert finish(job.pk, sim) == JobStatus.DONE
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == ShipmentStatus.FAILED
    assert shipment.label_format == "ZPL"
    again = client.get(url).content.decode()
    assert "Przewoźnik nie przyjął przesyłki" in again
