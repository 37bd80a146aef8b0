"""In Chromium, in Polish, from the "to ship" queue: 12 orders of two accounts ticked and their
shipments created as one job; the simulator fails one of them, the job's report shows Allegro's
message for it and the 11 waybills, and its "retry the failed orders" button creates only that
one."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jobs.models import Job, JobStatus
from shipping.models import Shipment, ShipmentStatus
from tests.shipping.test_create import CREATE_POST, distinct_buyers, finish, queue
from tests.shipping.test_print_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def report_done(page: Any, job: Job) -> Any:
    """The job's report page once the page's polling has seen the job end."""
    page.wait_for_url(f"**{reverse('shipping:job', args=[job.pk])}")
    report = page.locator('[data-testid="job-report"][data-status="done"]')
    report.wait_for()
    return report


def test_bulk_create_for_12_orders_from_the_queue_with_one_failure_and_a_retry(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any, sim_stats: Any
) -> None:
    first, second = shops
    chosen = distinct_buyers(queue(first), 6) + distinct_buyers(queue(second), 6)
    assert len(chosen) == 12
    failing = chosen[3]
    sim.control("PUT", "/faults", {"shipment_error_orders": [str(failing.allegro_id)]})

    sign_in(page, client, live_server, operator)
    page.goto(f"{live_server.url}{reverse('shipping:index')}?per_page=100")
    page.get_by_test_id("queue-table").wait_for()
    for order in chosen:
        row = page.locator(f'[data-testid="queue-row"][data-order-id="{order.allegro_id}"]')
        row.get_by_test_id("queue-select").check()
    page.get_by_role("button", name="Utwórz przesyłki dla zaznaczonych zamówień").click()
    # the confirmation lists the 12 orders; nothing is sent before it
    page.get_by_test_id("bulk-orders").wait_for()
    assert page.get_by_test_id("bulk-orders").locator("li").count() == 12
    assert Job.objects.count() == 0
    page.get_by_test_id("bulk-confirm").click()
    page.wait_for_url("**/shipping/jobs/**")
    job = Job.objects.get()
    assert job.total == 12
    assert finish(job.pk, sim) == JobStatus.DONE  # the worker's part

    report = report_done(page, job)
    failed_row = report.locator(f'[data-testid="job-item"][data-order-id="{failing.allegro_id}"]')
    assert failed_row.get_attribute("data-status") == "failed"
    # Allegro's message for the failed order, in Polish
    assert (
        "Przewoźnik nie przyjął przesyłki" in failed_row.get_by_test_id("job-message").inner_text()
    )
    shown = report.get_by_test_id("job-waybill").all_inner_texts()
    created = Shipment.objects.filter(status=ShipmentStatus.CREATED)
    assert created.count() == 11
    assert sorted(shown) == sorted(created.values_list("packages__waybill", flat=True))
    assert len(set(shown)) == 11
    assert all(shown)
    assert set(created.values_list("account_id", flat=True)) == {first.pk, second.pk}

    # The carrier accepts now: the report's button creates only the failed one.
    sim.control("PUT", "/faults", {"shipment_error_orders": []})
    sim_stats(clear=True)
    page.get_by_role("button", name="Ponów nieudane zamówienia").click()
    again = Job.objects.exclude(pk=job.pk).get()
    page.wait_for_url(f"**{reverse('shipping:job', args=[again.pk])}")
    assert again.total == 1
    assert finish(again.pk, sim) == JobStatus.DONE
    retried = report_done(page, again)
    assert sim_stats()["paths"][CREATE_POST] == 1
    assert Shipment.objects.filter(status=ShipmentStatus.CREATED).count() == 12
    assert Shipment.objects.filter(order=failing).count() == 1
    waybill = Shipment.objects.get(order=failing).packages.get().waybill
    assert retried.get_by_test_id("job-waybill").all_inner_texts() == [waybill]
