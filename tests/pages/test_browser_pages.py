"""The flows staff click through, in Chromium against the simulator (offline)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from offers.models import Offer
from orders.models import Order
from tests.pages.order_page import wait_for_order_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _allegro_offer(api: Any, offer: Offer) -> dict[str, Any]:
    data: dict[str, Any] = api.get(f"/sale/product-offers/{offer.allegro_id}").json()
    return data


def _allegro_order(api: Any, order: Order) -> dict[str, Any]:
    data: dict[str, Any] = api.get(f"/order/checkout-forms/{order.allegro_id}").json()
    return data


def test_search_and_filter_offers(
    live_server: Any, browser_login: Any, viewer: Any, shop: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_login(viewer)
    page.goto(f"{live_server.url}/offers/")
    rows = page.get_by_test_id("offer-row")
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("offer-total")).to_contain_text("60")

    page.evaluate("window.__samePage = true")  # survives HTMX swaps, not a page load
    page.get_by_test_id("sort-price").click()
    expect(page).to_have_url(re.compile(r"sort=price"))
    cheapest = Offer.objects.filter(account=shop).order_by("price_amount", "id")[0]
    expect(rows.first).to_have_attribute("data-offer-id", cheapest.allegro_id)
    assert page.evaluate("window.__samePage") is True

    target = Offer.objects.filter(account=shop).order_by("id")[3]
    page.keyboard.press("/")  # focuses the search box
    page.keyboard.type(target.allegro_id)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(target.name)
    expect(page).to_have_url(re.compile(rf"q={target.allegro_id}"))

    page.fill("[data-search]", "")
    expect(rows).to_have_count(50)
    page.get_by_label("Zakończona").check()  # status ENDED
    ended = Offer.objects.filter(account=shop, status="ENDED").count()
    expect(page.get_by_test_id("offer-total")).to_contain_text(str(ended))
    expect(page).to_have_url(re.compile(r"status=ENDED"))
    assert page.evaluate("window.__samePage") is True

    # keyboard: j moves the row focus, Enter opens the offer
    page.locator("body").click()
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.dataset.testid")
    assert focused == "offer-row"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("offer-title")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=ENDED"))


def test_edit_a_price_and_read_it_back_from_allegro(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    offer = Offer.objects.filter(account=shop, status="ACTIVE").order_by("id")[0]
    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/{offer.pk}/")
    page.fill("#id_price", "123.45")
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Zapisano")
    # The table shows the amount with the Polish decimal comma.
    expect(page.get_by_test_id("marketplace-prices")).to_contain_text("123,45")
    assert _allegro_offer(api, offer)["sellingMode"]["price"]["amount"] == "123.45"
    expect(page.get_by_test_id("audit-trail")).to_contain_text("Oferta zmieniona na Allegro")

    # a title Allegro would refuse never leaves the page (HTMX swaps the form with the error)
    page.fill("#id_title", "Za krótki")
    page.get_by_test_id("save-offer").click()
    expect(page.get_by_test_id("title-errors")).to_be_visible()
    assert _allegro_offer(api, offer)["name"] == offer.name


def test_bulk_price_change_on_50_offers_with_report(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any, eager_tasks: None
) -> None:
    from playwright.sync_api import expect

    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/?sort=price")
    boxes = page.get_by_test_id("offer-select")
    expect(boxes).to_have_count(50)
    for i in range(50):
        boxes.nth(i).check()
    page.select_option("[data-testid=bulk-action]", "price_set")
    page.fill("[data-testid=bulk-value]", "49.90")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-state")).to_have_text("zakończono")
    expect(page.locator("[data-testid=bulk-row][data-status=SUCCESS]")).to_have_count(50)
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("50")

    csv_url = page.get_by_test_id("bulk-csv").get_attribute("href")
    report = page.request.get(f"{live_server.url}{csv_url}")
    lines = report.text().strip().splitlines()
    assert lines[0].lstrip("\ufeff") == (
        "Konto;Id oferty;Tytuł;Cena przed;Cena po;Waluta;Wynik;Komunikat Allegro"
    )
    assert len(lines) == 51
    assert all(";49,90;PLN;Udało się;" in line for line in lines[1:])

    cheapest = Offer.objects.filter(account=shop).order_by("price_amount", "id")
    assert cheapest.filter(price_amount=Decimal("49.90")).count() >= 50
    sample = Offer.objects.filter(account=shop, price_amount=Decimal("49.90")).first()
    assert _allegro_offer(api, sample)["sellingMode"]["price"]["amount"] == "49.90"


def test_set_an_order_sent_with_a_tracking_number(
    live_server: Any, browser_login: Any, operator: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    order = (
        Order.objects.filter(account=shop, status="READY_FOR_PROCESSING")
        .exclude(fulfillment_status__in=["SENT", "CANCELLED"])
        .order_by("id")[0]
    )
    page = browser_login(operator)
    page.goto(f"{live_server.url}/orders/")
    page.locator(f"[data-order-id='{order.allegro_id}'] a[data-row-link]").click()
    wait_for_order_page(page)
    page.select_option("#id_carrier", "DPD")
    page.fill("#id_waybill", "DPD-PL-000123")
    page.check("#id_set_sent")
    page.get_by_test_id("add-tracking").click()
    expect(page.get_by_test_id("tracking-numbers")).to_contain_text("DPD-PL-000123")
    expect(page.get_by_test_id("fulfillment-status")).to_have_text("Wysłane")
    doc = _allegro_order(api, order)
    assert doc["fulfillment"]["status"] == "SENT"
    assert doc["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL"
    shipments = api.get(f"/order/checkout-forms/{order.allegro_id}/shipments").json()
    assert [s["waybill"] for s in shipments["shipments"]] == ["DPD-PL-000123"]


def test_revision_conflict_shows_what_changed_and_overwrites_nothing(
    live_server: Any, browser_login: Any, operator: Any, shop: Any, api: Any, sim: Any
) -> None:
    from playwright.sync_api import expect

    order = (
        Order.objects.filter(account=shop, status="READY_FOR_PROCESSING")
        .exclude(fulfillment_status__in=["SENT", "CANCELLED", "SUSPENDED"])
        .order_by("id")[0]
    )
    page = browser_login(operator)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    wait_for_order_page(page)
    # meanwhile, on Allegro's side
    sim.control(
        "POST", f"/orders/{order.allegro_id}/modification", {"fulfillmentStatus": "SUSPENDED"}
    )
    page.select_option("#id_status", "SENT")
    page.get_by_test_id("save-fulfillment").click()
    expect(page.get_by_test_id("conflict-title")).to_be_visible()
    expect(page.get_by_test_id("conflict-changes")).to_contain_text("fulfillment.status")
    expect(page.get_by_test_id("conflict-changes")).to_contain_text("SUSPENDED")
    assert _allegro_order(api, order)["fulfillment"]["status"] == "SUSPENDED"

    page.get_by_test_id("cancel-change").click()
    expect(page.get_by_test_id("fulfillment-status")).to_have_text("Wstrzymane")
    assert _allegro_order(api, order)["fulfillment"]["status"] == "SUSPENDED"


def test_unreachable_offer_images_are_hidden_not_broken(
    live_server: Any, browser_login: Any, viewer: Any, shop: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_login(viewer)
    # Allegro's image CDN unreachable (this route wins over the fixture's local pixel).
    page.route("https://a.allegroimg.com/**", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{live_server.url}/offers/")
    thumbs = page.locator("td.thumb img")
    expect(thumbs.first).to_be_hidden()
    # lazy images load (and fail) when near the view; the cell is scrolled to, since the image
    # may already be hidden (a browser that counts a wider margin as "near" loads it at once)
    page.locator("td.thumb").last.scroll_into_view_if_needed()
    expect(thumbs.last).to_be_hidden()
