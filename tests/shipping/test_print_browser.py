"""In Chromium, in Polish, from the shipping pages: labels of 12 shipments across two accounts
printed as one PDF (pdfinfo/pdftotext check the pages and every waybill), 4-up A6 on A4 from
position 3 (pdftotext -bbox checks where each label landed), a dispatch protocol, a pickup, a
cancelled shipment, and the packing station driven by the keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from orders.selectors import order_ref
from shipping.models import Pickup, Shipment, ShipmentStatus
from tests.conftest import full_chromium
from tests.shipping.test_create import distinct_buyers, finish, queue
from tests.shipping.test_labels import bbox_words, make_shipments, pdf_pages, pdf_text, waybills

pytestmark = pytest.mark.django_db(transaction=True)

# Labels and protocols open inline in Chromium's PDF viewer (the packing station prints from it),
# which only the full browser has.
browser = pytest.fixture(scope="module")(full_chromium)


@pytest.fixture(autouse=True)
def labels_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SHIPPING_LABELS_DIR = str(tmp_path / "labels")
    return tmp_path / "labels"


def sign_in(page: Any, client: Any, live_server: Any, user: Any) -> None:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def open_shipments(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}{reverse('shipping:index')}?tab=shipments&per_page=50")
    page.get_by_test_id("shipment-table").wait_for()


def tick(page: Any, shipments: list[Shipment]) -> None:
    for shipment in shipments:
        page.locator(f'[data-shipment="{shipment.pk}"] [data-testid="shipment-select"]').check()


def printed_file(page: Any, live_server: Any, tmp_path: Path, name: str) -> Path:
    """Run the label job like a worker, wait for the page's link and fetch the file as the
    browser does (inline, for its print dialog)."""
    job = Job.objects.filter(kind="shipping.labels").latest("created_at")
    page.wait_for_url(f"**{reverse('shipping:labels_job', args=[job.pk])}")
    assert job_run(str(job.pk)) == JobStatus.DONE
    link = page.get_by_test_id("labels-file")
    link.wait_for()  # the page polls until the file is ready
    response = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    path = tmp_path / name
    path.write_bytes(response.body())
    return path


def test_labels_of_12_shipments_across_two_accounts_printed_from_the_list(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops, sim, 6)
    sign_in(page, client, live_server, operator)
    open_shipments(page, live_server)
    assert "Etykiety zaznaczonych przesyłek" in page.get_by_test_id("label-options").inner_text()
    tick(page, shipments)
    page.locator("#id_layout").select_option("a6")
    page.locator("#id_ordering").select_option(label="Według przewoźnika")
    page.get_by_role("button", name="Drukuj etykiety").click()
    path = printed_file(page, live_server, tmp_path, "labels.pdf")
    assert pdf_pages(path) == 12
    text = pdf_text(path)
    for waybill in waybills(shipments):
        assert waybill in text
    assert Shipment.objects.filter(label_printed_at__isnull=False).count() == 12
    assert {s.account_id for s in shipments} == {shops[0].pk, shops[1].pk}


def test_four_labels_per_a4_sheet_from_position_three(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops[:1], sim, 5)
    sign_in(page, client, live_server, operator)
    open_shipments(page, live_server)
    tick(page, shipments)
    page.locator("#id_layout").select_option("a4")
    page.locator("#id_start").select_option("3")
    page.locator("#id_cut_lines").check()
    page.locator("#id_ordering").select_option("order_date")
    page.get_by_test_id("print-labels").click()
    path = printed_file(page, live_server, tmp_path, "a4.pdf")
    assert pdf_pages(path) == 2  # 3, 4 on the first sheet; 1, 2, 3 on the second
    words = bbox_words(path, tmp_path)
    ordered = sorted(shipments, key=lambda s: (s.order.bought_at, s.pk))
    expected = [(1, True, False), (1, False, False), (2, True, True), (2, False, True)]
    expected.append((2, True, False))
    for shipment, (sheet, left, top) in zip(ordered, expected, strict=True):
        hits = [(p, x, y) for p, w, x, y in words if w == waybills([shipment])[0]]
        assert hits
        page_no, x, y = hits[0]
        assert (page_no, x < 595.28 / 2, y < 841.89 / 2) == (sheet, left, top)


def test_dispatch_protocol_from_the_list(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops[:1], sim, 3)
    sign_in(page, client, live_server, operator)
    open_shipments(page, live_server)
    tick(page, shipments)
    served: list[Any] = []

    def keep(route: Any) -> None:  # what the browser receives, kept before its viewer shows it
        response = route.fetch()
        served.append((response.status, response.headers, response.body()))
        route.fulfill(response=response)

    page.route(f"**{reverse('shipping:protocol')}", keep)
    page.get_by_role("button", name="Protokół nadania").click()
    page.wait_for_url(f"**{reverse('shipping:protocol')}")
    status, headers, body = served[0]
    assert status == 200
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline;")
    path = tmp_path / "protocol.pdf"
    path.write_bytes(body)
    text = pdf_text(path)
    assert all(w in text for w in waybills(shipments))
    assert Shipment.objects.filter(protocol_printed_at__isnull=False).count() == 3


def test_a_pickup_ordered_and_a_shipment_cancelled_from_the_order_page(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any
) -> None:
    from shipping.services import shipments_bulk_create_start

    # A courier shipment (a carrier collects it) and two others, one of which is cancelled.
    candidates = distinct_buyers(queue(shops[0]), 40)
    courier = [o for o in candidates if "kurier" in o.delivery_method_name.lower()][:1]
    assert courier, "the seed has courier orders to ship"
    orders = courier + [o for o in candidates if o not in courier][:2]
    job = shipments_bulk_create_start(user=operator, orders=orders)
    assert finish(job.pk, sim) == JobStatus.DONE
    shipments = list(Shipment.objects.filter(status=ShipmentStatus.CREATED))
    assert len(shipments) == 3
    chosen = next(s for s in shipments if s.order_id == courier[0].pk)
    sign_in(page, client, live_server, operator)
    page.goto(f"{live_server.url}{reverse('orders:detail', args=[chosen.order_id])}")
    page.get_by_test_id("shipment-pickup-order").click()  # in the fragment loaded by htmx
    page.get_by_test_id("pickup-form").wait_for()
    assert "Data i godzina odbioru" in page.get_by_test_id("pickup-form").inner_text()
    page.get_by_role("button", name="Zamów odbiór").click()
    job = Job.objects.get(kind="shipping.pickup")
    page.wait_for_url(f"**{reverse('jobs:detail', args=[job.pk])}")
    assert finish(job.pk, sim) == JobStatus.DONE
    pickup = Pickup.objects.get()
    assert pickup.allegro_id
    page.goto(f"{live_server.url}{reverse('orders:detail', args=[chosen.order_id])}")
    page.get_by_test_id("shipment-pickup").wait_for()
    assert pickup.date.isoformat() in page.get_by_test_id("shipment-pickup").inner_text()
    assert not page.get_by_test_id("shipment-pickup-order").count()

    victim = next(s for s in shipments if s.pk != chosen.pk)
    page.goto(f"{live_server.url}{reverse('orders:detail', args=[victim.order_id])}")
    page.get_by_test_id("shipment-cancel").click()
    page.get_by_role("button", name="Tak, anuluj przesyłkę").click()
    page.wait_for_url(f"**{reverse('orders:detail', args=[victim.order_id])}")
    page.get_by_text("Przesyłka została anulowana.").wait_for()
    victim.refresh_from_db()
    assert victim.status == ShipmentStatus.CANCELLED
    fragment = page.get_by_test_id("shipment").first
    fragment.wait_for()
    assert fragment.get_attribute("data-status") == "cancelled"


def test_the_packing_station_with_the_keyboard_only(
    live_server: Any, page: Any, client: Any, operator: Any, shops: Any, sim: Any
) -> None:
    first, second = distinct_buyers(queue(shops[0]), 2)
    # Headless Chromium has no print dialog: a scripted print() reaches its headless print
    # manager, which under load killed the page ("Unexpected Print Manager call") when the next
    # scan navigated away. Every frame's print() records that it was asked for instead.
    page.add_init_script("window.print = function () { window.__printAsked = true; };")
    sign_in(page, client, live_server, operator)
    page.goto(f"{live_server.url}{reverse('shipping:pack')}")
    # scan: the order opens with its items
    page.keyboard.type(order_ref(first.allegro_id))
    page.keyboard.press("Enter")
    page.get_by_test_id("pack-ready").wait_for()
    assert order_ref(first.allegro_id) in page.get_by_test_id("pack-order").inner_text()
    assert page.get_by_test_id("pack-lines").locator("li").count() >= 1
    assert page.evaluate("document.activeElement.id") == "id_q"
    # Enter on the empty field: the shipment is created with the default package ...
    page.keyboard.press("Enter")
    page.get_by_test_id("pack-creating").wait_for()
    job = Job.objects.get(kind="shipping.create")
    label_url = None
    with page.expect_response(lambda r: "/label/" in r.url) as info:
        assert finish(job.pk, sim) == JobStatus.DONE  # the worker's part
        shipment = Shipment.objects.get(order=first, status=ShipmentStatus.CREATED)
        label_url = reverse("shipping:label", args=[shipment.pk])
    # ... and its label prints by itself once the station sees it created
    assert info.value.url.endswith(label_url)
    assert info.value.status == 200
    assert info.value.headers["content-type"] == "application/pdf"
    assert page.get_by_test_id("pack-waybill").inner_text() == shipment.packages.get().waybill
    shipment.refresh_from_db()
    assert shipment.label_printed_at is not None
    label = page.get_by_test_id("pack-label-frame").element_handle().content_frame()
    assert label is not None
    label.wait_for_function("window.__printAsked === true")  # the station printed it by itself
    # the next scan moves on, the field still has the focus
    assert page.evaluate("document.activeElement.id") == "id_q"
    page.keyboard.type(order_ref(second.allegro_id))
    page.keyboard.press("Enter")
    page.get_by_test_id("pack-ready").wait_for()
    assert order_ref(second.allegro_id) in page.get_by_test_id("pack-order").inner_text()
