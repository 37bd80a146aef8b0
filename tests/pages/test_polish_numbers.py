"""Money and quantities the way a Polish seller types them, in Chromium against the simulator.

The interface is Polish by default (the browser sends ``pl-PL``): amounts show a decimal comma,
a pre-filled form saves unchanged, and a comma or a dot both work. One flow runs in English
(picked with the language switch) with a dot. Every result is read back from the simulator.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from offers.models import Offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _allegro_offer(api: Any, offer: Offer) -> dict[str, Any]:
    data: dict[str, Any] = api.get(f"/sale/product-offers/{offer.allegro_id}").json()
    return data


def _allegro_price(api: Any, offer: Offer) -> Decimal:
    return Decimal(_allegro_offer(api, offer)["sellingMode"]["price"]["amount"])


def _offer_with_cents(shop: Any, *, skip: int = 0) -> Offer:
    """An active offer whose price has a fraction (so the decimal separator shows)."""
    offers = [
        o
        for o in Offer.objects.filter(account=shop, status="ACTIVE").order_by("id")
        if o.price_amount is not None
        and o.price_amount != o.price_amount.to_integral_value()
        and (o.stock_available or 0) > 0
    ]
    return offers[skip]


def test_polish_stock_edit_saves_without_retyping_the_price(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    offer = _offer_with_cents(shop)
    before = _allegro_offer(api, offer)
    price = Decimal(before["sellingMode"]["price"]["amount"])
    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/{offer.pk}/")
    price_input = page.locator("#id_price")
    expect(price_input).to_have_value(f"{price:.2f}".replace(".", ","))
    expect(price_input).to_have_attribute("type", "text")
    expect(price_input).to_have_attribute("inputmode", "decimal")
    for extra in page.get_by_test_id("marketplace-price-field").locator("input").all():
        assert "." not in extra.input_value()  # additional marketplaces' prices too

    # untouched, the pre-filled form changes nothing
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Nie ma nic do zmiany.")
    expect(page.get_by_test_id("price-errors")).to_have_count(0)

    new_stock = int(before["stock"]["available"]) + 3
    page.fill("#id_stock", str(new_stock))
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Zapisano na Allegro.")
    after = _allegro_offer(api, offer)
    assert after["stock"]["available"] == new_stock
    assert Decimal(after["sellingMode"]["price"]["amount"]) == price
    expect(page.get_by_test_id("offer-stock")).to_have_text(str(new_stock))


def test_polish_price_with_a_comma(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    offer = _offer_with_cents(shop, skip=1)
    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/{offer.pk}/")
    page.fill("#id_price", "149,50")
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Zapisano na Allegro.")
    assert _allegro_offer(api, offer)["sellingMode"]["price"]["amount"] == "149.50"
    expect(page.locator("#id_price")).to_have_value("149,50")

    # a typo is a field error in Polish, and nothing is sent
    page.fill("#id_price", "149,5,0")
    page.get_by_test_id("save-offer").click()
    expect(page.get_by_test_id("price-errors")).to_contain_text("Wpisz liczbę, np. 149,50.")
    expect(page.locator("#id_price")).to_have_value("149,5,0")
    assert _allegro_price(api, offer) == Decimal("149.50")


def test_polish_price_range_filter_with_a_comma(
    live_server: Any, browser_login: Any, viewer: Any, shop: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_login(viewer)
    page.goto(f"{live_server.url}/offers/")
    page.fill("#id_price_min", "100,50")
    page.fill("#id_price_max", "1 000,00")
    page.get_by_test_id("apply-filters").click()
    expected = Offer.objects.filter(
        account=shop, price_amount__gte=Decimal("100.50"), price_amount__lte=Decimal("1000")
    ).count()
    assert 0 < expected < Offer.objects.filter(account=shop).count()
    expect(page.get_by_test_id("offer-total")).to_contain_text(str(expected))
    expect(page.locator("#id_price_min")).to_have_value("100,50")
    expect(page.locator(".errorlist")).to_have_count(0)
    for price in page.get_by_test_id("offer-price").all_inner_texts()[:5]:
        assert "," in price
        assert "." not in price


def test_polish_bulk_price_increase_with_a_comma(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any, eager_tasks: None
) -> None:
    from playwright.sync_api import expect

    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/?sort=price")
    rows = page.get_by_test_id("offer-row")
    expect(rows).to_have_count(50)
    chosen = [rows.nth(i).get_attribute("data-offer-id") for i in range(3)]
    offers = [Offer.objects.get(account=shop, allegro_id=allegro_id) for allegro_id in chosen]
    before = {o.pk: _allegro_price(api, o) for o in offers}
    for i in range(3):
        page.get_by_test_id("offer-select").nth(i).check()
    page.select_option("[data-testid=bulk-action]", "price_increase")
    expect(page.get_by_test_id("bulk-value")).to_have_attribute("inputmode", "decimal")
    page.fill("[data-testid=bulk-value]", "+2,50")
    page.get_by_test_id("bulk-submit").click()
    expect(page.get_by_test_id("bulk-state")).to_have_text("zakończono")
    expect(page.locator("[data-testid=bulk-row][data-status=SUCCESS]")).to_have_count(3)
    for offer in offers:
        assert _allegro_price(api, offer) == before[offer.pk] + Decimal("2.50")


@pytest.mark.browser_context_args(locale="en-US")
def test_english_edit_with_a_dot(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    offer = _offer_with_cents(shop, skip=2)
    before = _allegro_offer(api, offer)
    price = Decimal(before["sellingMode"]["price"]["amount"])
    page = browser_login(manager)
    page.goto(f"{live_server.url}/offers/{offer.pk}/")
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_test_id("save-offer")).to_have_text("Save on Allegro")
    expect(page.locator("#id_price")).to_have_value(f"{price:.2f}")

    new_stock = int(before["stock"]["available"]) + 1
    page.fill("#id_stock", str(new_stock))
    page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Saved on Allegro.")
    assert _allegro_offer(api, offer)["stock"]["available"] == new_stock
    assert _allegro_price(api, offer) == price

    page.fill("#id_price", "149.50")
    with page.expect_navigation():  # the same message as before: wait for the new page
        page.get_by_test_id("save-offer").click()
    expect(page.locator("#messages")).to_contain_text("Saved on Allegro.")
    assert _allegro_offer(api, offer)["sellingMode"]["price"]["amount"] == "149.50"
    expect(page.locator("#id_price")).to_have_value("149.50")
