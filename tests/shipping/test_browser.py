"""In Chromium, in Polish: an operator opens an order, creates its shipment from the order page
(Allegro's proposal fills the form) and sees the waybill on the order."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jobs.models import Job, JobStatus
from shipping.models import Shipment, ShipmentStatus
from tests.shipping.test_create import distinct_buyers, finish, queue

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_a_shipment_from_the_order_page_and_see_its_waybill(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any
) -> None:
    order = next(
        o for o in distinct_buyers(queue(shops[0]), 30) if "Paczkomat" in o.delivery_method_name
    )
    client.force_login(operator, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}{reverse('orders:detail', args=[order.pk])}")
    page.get_by_test_id("create-shipment").click()  # loaded into the order page by htmx
    page.wait_for_url(f"**{reverse('shipping:create', args=[order.pk])}")
    assert page.get_by_test_id("receiver").inner_text().strip()
    assert "Waga (kg)" in page.get_by_test_id("create-form").inner_text()  # in Polish
    page.locator("#id_preset").select_option(label="Inny rozmiar (wpisz poniżej)")
    page.locator("#id_length").fill("40")
    page.locator("#id_width").fill("30")
    page.locator("#id_height").fill("7,5")
    page.locator("#id_weight").fill("1,25")
    page.locator("#id_text_on_label").fill("Ostrożnie")
    page.get_by_role("button", name="Utwórz przesyłkę w Allegro").click()
    page.wait_for_url(f"**{reverse('orders:detail', args=[order.pk])}")
    page.get_by_test_id("shipment-pending").wait_for()
    job = Job.objects.get()
    assert finish(job.pk, sim) == JobStatus.DONE  # the worker's part
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == ShipmentStatus.CREATED
    package = shipment.packages.get()
    assert (package.height_cm, package.weight_kg, package.text_on_label) == (7.5, 1.25, "Ostrożnie")
    waybill = page.get_by_test_id("waybill")
    waybill.wait_for()  # the fragment polls until the job is done
    assert waybill.inner_text() == package.waybill
    assert 'data-testid="create-shipment"' not in page.content()
