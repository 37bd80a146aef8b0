"""Editing an offer's price on each additional marketplace (allegro-cz in CZK, …) from the offer
page, against the simulator: the value reaches Allegro as
``additionalMarketplaces.<id>.sellingMode.price``, only changed prices are sent, the mirror is
refreshed from Allegro, the audit log has before / after / trace id, Allegro's 422 lands on the
marketplace's field, and only managers may change prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from hypothesis import given

from accounts.models import AuditLogEntry
from jobs.models import JobStatus
from jobs.tasks import job_run
from offers.models import Offer
from offers.services import UnknownMarketplace, offer_changes_for, offer_edit
from tests.pages.test_bad_input import NUMBER, SETTINGS

pytestmark = pytest.mark.django_db

CZ = "allegro-cz"
CZ_FIELD = f"price_{CZ}"


def _offer_on_cz(shop: Any) -> Offer:
    offers = Offer.objects.filter(
        account=shop, status="ACTIVE", stock_available__gt=0, marketplace_prices__has_key=CZ
    ).order_by("id")
    if not offers:
        pytest.fail("the pages seed must contain an ACTIVE offer listed on allegro-cz")
    return offers[0]


def _form_data(offer: Offer, **changes: Any) -> dict[str, Any]:
    data = {
        "title": offer.name,
        "price": str(offer.price_amount),
        "stock": offer.stock_available,
    }
    for market, price in offer.marketplace_prices.items():
        if market != "allegro-pl":
            data[f"price_{market}"] = price["amount"]
    data.update(changes)
    return data


def _allegro_doc(api: Any, offer: Offer) -> dict[str, Any]:
    response = api.get(f"/sale/product-offers/{offer.allegro_id}")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def _allegro_price(api: Any, offer: Offer, market: str = CZ) -> dict[str, Any]:
    price: dict[str, Any] = _allegro_doc(api, offer)["additionalMarketplaces"][market][
        "sellingMode"
    ]["price"]
    return price


def _shown(amount: str) -> str:
    """An amount as the Polish form shows it (a decimal comma)."""
    return amount.replace(".", ",")


def _new_cz_amount(offer: Offer) -> str:
    return str(Decimal(offer.marketplace_prices[CZ]["amount"]) + Decimal("11.11"))


def test_detail_shows_an_editable_price_per_marketplace_with_its_currency(
    client_for: Any, manager: Any, shop: Any
) -> None:
    offer = _offer_on_cz(shop)
    html = client_for(manager).get(reverse("offers:detail", args=[offer.pk])).content.decode()
    assert f'name="{CZ_FIELD}"' in html
    assert f'value="{_shown(offer.marketplace_prices[CZ]["amount"])}"' in html
    assert "allegro-cz (CZK)" in html
    assert "allegro-pl (PLN)" in html  # the base price's label names its marketplace too


def test_edit_the_czk_price_and_read_it_back_from_allegro(
    client_for: Any, manager: Any, shop: Any, api: Any
) -> None:
    client = client_for(manager)
    offer = _offer_on_cz(shop)
    base_before = _allegro_doc(api, offer)["sellingMode"]["price"]
    before = dict(offer.marketplace_prices)
    amount = _new_cz_amount(offer)
    response = client.post(
        reverse("offers:edit", args=[offer.pk]), _form_data(offer, **{CZ_FIELD: amount})
    )
    assert response.status_code == 302
    assert _allegro_price(api, offer) == {"amount": amount, "currency": "CZK"}
    assert _allegro_doc(api, offer)["sellingMode"]["price"] == base_before
    offer.refresh_from_db()
    assert offer.marketplace_prices[CZ] == {"amount": amount, "currency": "CZK"}
    entry = AuditLogEntry.objects.get(action="offer.edited", target=f"offer:{offer.allegro_id}")
    assert entry.actor_id == manager.pk
    assert entry.allegro_trace_id
    assert entry.before["marketplace_prices"][CZ] == before[CZ]
    assert entry.after["marketplace_prices"][CZ] == {"amount": amount, "currency": "CZK"}
    # the page shows the new price
    html = client.get(reverse("offers:detail", args=[offer.pk])).content.decode()
    assert f'value="{_shown(amount)}"' in html


def test_only_changed_prices_are_sent(
    client_for: Any, manager: Any, shop: Any, sim: Any, api: Any
) -> None:
    """Asynchronous path (202 → operation → done): the request the audit records holds only
    the changed marketplace; the mirror changes once Allegro says it is done."""
    sim.control("PUT", "/settings", {"operation_delay": 30})
    client = client_for(manager)
    offer = _offer_on_cz(shop)
    amount = _new_cz_amount(offer)
    response = client.post(
        reverse("offers:edit", args=[offer.pk]), _form_data(offer, **{CZ_FIELD: amount})
    )
    assert response.status_code == 302
    operation_url = response["Location"]
    assert "/operations/" in operation_url
    requested = AuditLogEntry.objects.get(action="offer.edit_requested").after["requested"]
    assert requested == {
        "additionalMarketplaces": {
            CZ: {"sellingMode": {"price": {"amount": amount, "currency": "CZK"}}}
        }
    }
    offer.refresh_from_db()
    assert offer.marketplace_prices[CZ]["amount"] != amount  # waits for Allegro's answer
    sim.control("POST", "/clock", {"advance": 31})
    # The job's task (a worker in production) looks at the operation again.
    assert job_run(operation_url.rstrip("/").split("/")[-1]) == JobStatus.DONE
    assert client.get(operation_url).status_code == 302
    offer.refresh_from_db()
    assert offer.marketplace_prices[CZ] == {"amount": amount, "currency": "CZK"}
    assert _allegro_price(api, offer)["amount"] == amount
    # unchanged values (the form's initial ones) send nothing at all
    response = client.post(reverse("offers:edit", args=[offer.pk]), _form_data(offer))
    assert response.status_code == 302
    assert AuditLogEntry.objects.filter(action="offer.edit_requested").count() == 1


def test_allegro_422_lands_on_the_marketplace_field_and_changes_nothing(
    client_for: Any, manager: Any, shop: Any, api: Any
) -> None:
    """A stale mirror currency for allegro-cz: the form is fine, Allegro refuses
    ``additionalMarketplaces.allegro-cz.sellingMode.price.currency``."""
    client = client_for(manager)
    offer = _offer_on_cz(shop)
    before = _allegro_doc(api, offer)
    stale = {**offer.marketplace_prices, CZ: {**offer.marketplace_prices[CZ], "currency": "EUR"}}
    Offer.objects.filter(pk=offer.pk).update(marketplace_prices=stale)
    offer.refresh_from_db()
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        _form_data(offer, **{CZ_FIELD: _new_cz_amount(offer)}),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-testid="{CZ_FIELD}-errors"' in html
    assert 'data-testid="price-errors"' not in html
    assert 'data-testid="form-errors"' not in html
    assert _allegro_doc(api, offer) == before
    failed = AuditLogEntry.objects.get(action="offer.edit_failed")
    assert failed.allegro_trace_id
    assert not AuditLogEntry.objects.filter(action="offer.edited").exists()


@pytest.mark.parametrize("bad", ["abc", "-5", "0", "1.234", "100000000"])
def test_bad_marketplace_price_is_a_field_error_before_allegro(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any, api: Any, bad: str
) -> None:
    client = client_for(manager)
    offer = _offer_on_cz(shop)
    before = _allegro_price(api, offer)
    sim_stats(clear=True)
    response = client.post(
        reverse("offers:edit", args=[offer.pk]), _form_data(offer, **{CZ_FIELD: bad})
    )
    assert response.status_code == 422
    assert f'data-testid="{CZ_FIELD}-errors"' in response.content.decode()
    assert not any(k.startswith("PATCH") for k in sim_stats()["paths"])
    assert _allegro_price(api, offer) == before


def test_viewer_and_operator_cannot_change_a_marketplace_price(
    client_for: Any, viewer: Any, operator: Any, shop: Any, api: Any
) -> None:
    offer = _offer_on_cz(shop)
    before = _allegro_price(api, offer)
    amount = Decimal(_new_cz_amount(offer))
    for user in (viewer, operator):
        html = client_for(user).get(reverse("offers:detail", args=[offer.pk])).content.decode()
        assert f'name="{CZ_FIELD}"' not in html
        response = client_for(user).post(
            reverse("offers:edit", args=[offer.pk]), _form_data(offer, **{CZ_FIELD: amount})
        )
        assert response.status_code == 403
        # the service refuses too, whoever calls it
        with pytest.raises(PermissionDenied):
            offer_edit(
                offer=offer,
                actor=user,
                title=offer.name,
                price=offer.price_amount,
                stock=offer.stock_available,
                marketplace_prices={CZ: amount},
            )
    assert _allegro_price(api, offer) == before
    assert not AuditLogEntry.objects.filter(target=f"offer:{offer.allegro_id}").exists()


def test_changes_name_only_marketplaces_the_offer_is_priced_on(shop: Any) -> None:
    offer = _offer_on_cz(shop)
    same = Decimal(offer.marketplace_prices[CZ]["amount"])
    kwargs = {
        "offer": offer,
        "title": offer.name,
        "price": offer.price_amount,
        "stock": offer.stock_available,
    }
    assert offer_changes_for(**kwargs, marketplace_prices={CZ: same}) == {}
    with pytest.raises(UnknownMarketplace):
        offer_changes_for(**kwargs, marketplace_prices={"allegro-hu": Decimal("100")})
    with pytest.raises(UnknownMarketplace):
        offer_changes_for(**kwargs, marketplace_prices={"allegro-pl": Decimal("100")})


@SETTINGS
@given(amount=NUMBER)
def test_generated_marketplace_prices_never_500_nor_break_the_spec(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any, amount: str
) -> None:
    """The simulator validates every request against the spec (the autouse fixture fails the
    test on a violation); a valid amount really reaches it."""
    offer = _offer_on_cz(shop)
    response = client_for(manager).post(
        reverse("offers:edit", args=[offer.pk]), _form_data(offer, **{CZ_FIELD: amount})
    )
    assert response.status_code in (302, 422)
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 500 for code in statuses), statuses
