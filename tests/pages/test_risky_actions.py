"""Risky actions ask first: ending an offer (one, or in bulk), bulk fulfillment changes (no
status chosen in advance) and unlinking an account; a refused bulk form keeps what was ticked;
an unlinked account's pages are read-only and its writes are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AccountStatus, AllegroAccount
from accounts.services import AccountReadOnly
from offers.models import Offer
from offers.services import offer_set_publication
from orders.models import Order
from orders.services import order_set_fulfillment

pytestmark = pytest.mark.django_db


def _active(shop: Any, n: int = 1) -> list[Offer]:
    return list(
        Offer.objects.filter(account=shop, status="ACTIVE", stock_available__gt=0).order_by("id")[
            :n
        ]
    )


def _on_allegro(api: Any, offer: Offer) -> str:
    response = api.get(f"/sale/product-offers/{offer.allegro_id}")
    assert response.status_code == 200
    status: str = response.json()["publication"]["status"]
    return status


def _fulfillment(api: Any, order: Order) -> str:
    response = api.get(f"/order/checkout-forms/{order.allegro_id}")
    assert response.status_code == 200
    status: str = response.json()["fulfillment"]["status"]
    return status


def _writes(stats: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in stats["paths"].items() if not k.startswith("GET ")}


def _ticked(html: str, name: str) -> set[int]:
    """The pks of the checked ``name`` checkboxes in a page."""
    boxes = re.findall(rf'<input type="checkbox" name="{name}" value="(\d+)"[^>]*>', html)
    tags = re.findall(rf'<input type="checkbox" name="{name}" value="\d+"[^>]*>', html)
    return {int(pk) for pk, tag in zip(boxes, tags, strict=True) if " checked" in tag}


# --- ending offers ------------------------------------------------------------------------------


def test_ending_an_offer_without_confirmation_changes_nothing(
    client_for: Any, manager: Any, shop: Any, api: Any, sim_stats: Any
) -> None:
    client = client_for(manager)
    offer = _active(shop)[0]
    url = reverse("offers:publication", args=[offer.pk])
    sim_stats(clear=True)
    asked = client.post(url, {"action": "END"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert 'data-testid="confirm-end-offer"' in html
    assert "Zakończyć ofertę" in html
    panel = client.post(url, {"action": "END"}, headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="confirm-end-offer"' in panel
    assert "<html" not in panel
    assert _writes(sim_stats()) == {}
    assert _on_allegro(api, offer) == "ACTIVE"
    offer.refresh_from_db()
    assert offer.status == "ACTIVE"

    done = client.post(url, {"action": "END", "confirm": "1"})
    assert done.status_code == 302
    assert _on_allegro(api, offer) == "ENDED"
    offer.refresh_from_db()
    assert offer.status == "ENDED"


def test_bulk_end_asks_first_then_ends_them(
    client_for: Any, manager: Any, shop: Any, api: Any, sim_stats: Any, eager_tasks: None
) -> None:
    client = client_for(manager)
    offers = _active(shop, 3)
    data = {"action": "end", "offers": [o.pk for o in offers], "filters": "status=ACTIVE"}
    sim_stats(clear=True)
    asked = client.post(reverse("offers:bulk"), data)
    assert asked.status_code == 200
    html = asked.content.decode()
    assert 'data-testid="bulk-confirm"' in html
    assert "Zakończyć 3 oferty na Allegro?" in html
    for offer in offers:
        assert f'name="offers" value="{offer.pk}"' in html
    assert _writes(sim_stats()) == {}
    assert {_on_allegro(api, o) for o in offers} == {"ACTIVE"}

    done = client.post(reverse("offers:bulk"), {**data, "confirm": "1"})
    assert done.status_code == 302
    assert "/bulk/" in done["Location"]
    assert {_on_allegro(api, o) for o in offers} == {"ENDED"}
    assert set(
        Offer.objects.filter(pk__in=[o.pk for o in offers]).values_list("status", flat=True)
    ) == {"ENDED"}


def test_a_refused_bulk_offer_form_keeps_the_selection(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any
) -> None:
    client = client_for(manager)
    shown = list(Offer.objects.filter(account=shop).order_by("-id")[:25])  # the first page
    chosen = [shown[1].pk, shown[4].pk, shown[7].pk]
    sim_stats(clear=True)
    response = client.post(
        reverse("offers:bulk"), {"action": "price_set", "value": "", "offers": chosen}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="bulk-errors"' in html
    assert _ticked(html, "offers") == set(chosen)
    assert '<option value="price_set" selected>' in html
    assert _writes(sim_stats()) == {}


# --- bulk fulfillment ---------------------------------------------------------------------------


def test_bulk_fulfillment_has_no_status_chosen_in_advance(
    client_for: Any, operator: Any, shop: Any
) -> None:
    html = client_for(operator).get(reverse("orders:index")).content.decode()
    select = html.split('id="bulk-status"', 1)[1].split("</select>", 1)[0]
    assert '<option value="">' in select
    assert " selected" not in select


def test_bulk_fulfillment_without_a_status_is_a_field_error_and_keeps_the_selection(
    client_for: Any, operator: Any, shop: Any, sim_stats: Any, api: Any
) -> None:
    client = client_for(operator)
    shown = list(Order.objects.filter(account=shop).order_by("-bought_at", "-id")[:25])
    chosen = [shown[0].pk, shown[3].pk]
    sim_stats(clear=True)
    response = client.post(
        reverse("orders:bulk_fulfillment"), {"status": "", "orders": chosen, "filters": ""}
    )
    assert response.status_code == 422
    html = response.content.decode()
    errors = html.split('data-testid="bulk-errors"', 1)[1].split("</ul>", 1)[0]
    assert "Wybierz status do ustawienia." in errors
    assert _ticked(html, "orders") == set(chosen)
    assert _writes(sim_stats()) == {}

    # HTMX: only the panel with the error; the page (and its ticks) stays as it is
    panel = client.post(
        reverse("orders:bulk_fulfillment"),
        {"status": "", "orders": chosen},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Wybierz status do ustawienia." in panel
    assert "<html" not in panel


def test_bulk_fulfillment_asks_first_then_changes(
    client_for: Any, operator: Any, shop: Any, sim_stats: Any, api: Any
) -> None:
    client = client_for(operator)
    orders = list(
        Order.objects.filter(account=shop, status="READY_FOR_PROCESSING")
        .exclude(fulfillment_status__in=["SENT", "CANCELLED", "PICKED_UP", "PROCESSING"])
        .order_by("id")[:2]
    )
    assert len(orders) == 2
    data = {"status": "PROCESSING", "orders": [o.pk for o in orders]}
    sim_stats(clear=True)
    asked = client.post(reverse("orders:bulk_fulfillment"), data)
    assert asked.status_code == 200
    html = asked.content.decode()
    assert 'data-testid="bulk-confirm-orders"' in html
    for order in orders:
        assert str(order.allegro_id)[:8].upper() in html
    assert _writes(sim_stats()) == {}
    assert {_fulfillment(api, o) for o in orders} != {"PROCESSING"}

    done = client.post(reverse("orders:bulk_fulfillment"), {**data, "confirm": "1"})
    assert done.status_code == 200
    assert done.content.decode().count('data-state="done"') == 2
    assert {_fulfillment(api, o) for o in orders} == {"PROCESSING"}


# --- unlinking and read-only pages --------------------------------------------------------------


def test_unlinking_asks_first(client_for: Any, manager: Any, shop: Any) -> None:
    client = client_for(manager)
    url = reverse("accounts:unlink", args=[shop.pk])
    asked = client.post(url)
    assert asked.status_code == 200
    assert 'data-testid="confirm-unlink"' in asked.content.decode()
    assert "hx-confirm" not in asked.content.decode()
    assert AllegroAccount.objects.get(pk=shop.pk).status == AccountStatus.ACTIVE
    fragment = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="account-rows">')
    assert 'data-testid="confirm-unlink"' in fragment
    assert AllegroAccount.objects.get(pk=shop.pk).status == AccountStatus.ACTIVE

    assert client.post(url, {"confirm": "1"}).status_code == 302
    assert AllegroAccount.objects.get(pk=shop.pk).status == AccountStatus.UNLINKED


def test_an_unlinked_accounts_pages_are_read_only_and_writes_are_refused(
    client_for: Any, manager: Any, operator: Any, shop: Any, sim_stats: Any, api: Any
) -> None:
    offer = _active(shop)[0]
    order = Order.objects.filter(account=shop).order_by("id").first()
    assert order is not None
    assert (
        client_for(manager)
        .post(reverse("accounts:unlink", args=[shop.pk]), {"confirm": "1"})
        .status_code
        == 302
    )
    shop.refresh_from_db()
    client = client_for(manager)
    sim_stats(clear=True)

    for url in (
        reverse("offers:index"),
        reverse("offers:detail", args=[offer.pk]),
        reverse("orders:index"),
        reverse("orders:detail", args=[order.pk]),
    ):
        html = client.get(url).content.decode()
        assert 'data-testid="read-only-banner"' in html, url
        assert "odłączone" in html, url
        for testid in (
            "offer-edit-form",
            "end-offer",
            "activate-offer",
            "bulk-form",
            "offer-select",
            "bulk-fulfillment-form",
            "order-select",
            "fulfillment-form",
            "tracking-form",
        ):
            assert f'data-testid="{testid}"' not in html, (url, testid)

    refused = [
        client.post(
            reverse("offers:edit", args=[offer.pk]),
            {"title": offer.name, "price": "19.99", "stock": offer.stock_available},
        ),
        client.post(
            reverse("offers:publication", args=[offer.pk]), {"action": "END", "confirm": "1"}
        ),
        client.post(
            reverse("orders:fulfillment", args=[order.pk]),
            {"status": "PROCESSING", "revision": order.revision},
        ),
        client.post(
            reverse("orders:tracking", args=[order.pk]),
            {"carrier": "DPD", "waybill": "RO-1", "revision": order.revision},
        ),
    ]
    for response in refused:
        assert response.status_code == 403
        assert "jest odłączone" in response.content.decode()
    bulk_offers = client.post(
        reverse("offers:bulk"),
        {"action": "stock_add", "value": "1", "offers": [offer.pk], "confirm": "1"},
    )
    assert bulk_offers.status_code == 422
    assert "jest odłączone" in bulk_offers.content.decode()
    bulk_orders = client_for(operator).post(
        reverse("orders:bulk_fulfillment"),
        {"status": "PROCESSING", "orders": [order.pk], "confirm": "1"},
    )
    assert 'data-state="failed"' in bulk_orders.content.decode()
    assert "jest odłączone" in bulk_orders.content.decode()

    # the services refuse on their own, before any client is asked for
    with pytest.raises(AccountReadOnly):
        offer_set_publication(offer=offer, actor=manager, action="END")
    with pytest.raises(AccountReadOnly):
        order_set_fulfillment(order=order, actor=manager, status="PROCESSING", revision=None)

    assert _writes(sim_stats()) == {}
    assert _on_allegro(api, offer) == "ACTIVE"
    assert _fulfillment(api, order) == order.fulfillment_status


# --- in the browser (Polish, the default) ------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ending_an_offer_in_the_browser_asks_in_polish_without_a_native_dialog(
    live_server: Any, browser_login: Any, manager: Any, shop: Any, api: Any
) -> None:
    from playwright.sync_api import expect

    offer = _active(shop)[0]
    page = browser_login(manager)
    dialogs: list[str] = []

    def refuse(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    detail_url = f"{live_server.url}{reverse('offers:detail', args=[offer.pk])}"
    page.goto(detail_url)

    page.get_by_role("button", name="Zakończ ofertę").click()
    panel = page.get_by_test_id("confirm-end-offer")
    expect(panel).to_contain_text("Zakończyć ofertę")
    expect(panel).to_contain_text("Kupujący nie będą mogli jej już kupić")
    assert page.url == detail_url  # the question came in place of the button (HTMX)
    assert _on_allegro(api, offer) == "ACTIVE"

    panel.get_by_role("link", name="Anuluj, zostaw ją w sprzedaży").click()
    expect(page.get_by_role("button", name="Zakończ ofertę")).to_be_visible()
    assert _on_allegro(api, offer) == "ACTIVE"

    page.get_by_role("button", name="Zakończ ofertę").click()
    page.get_by_role("button", name="Tak, zakończ ofertę").click()
    expect(page.get_by_test_id("activate-offer")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Allegro potwierdziło zmianę")
    assert _on_allegro(api, offer) == "ENDED"
    assert dialogs == []
