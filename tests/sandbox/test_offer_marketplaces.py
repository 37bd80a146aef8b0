"""Offers: prices on additional marketplaces (``additionalMarketplaces.<id>.sellingMode.price``)
edited with ``PATCH /sale/product-offers/{id}`` — applied, listed, evented, or refused with a 422
naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import errors_of
from tests.sandbox.test_offers import events, latest_offer_event, offers

pytestmark = pytest.mark.sandbox


def offer_on(api: httpx.Client, market: str, *, status: str = "ACTIVE") -> dict[str, Any]:
    found = offers(
        api, **{"publication.marketplace": market, "publication.status": status, "limit": 1000}
    )["offers"]
    if not found:
        pytest.fail(f"the seed must contain an {status} offer listed on {market}")
    return found[0]


def offer_not_on(api: httpx.Client, market: str) -> dict[str, Any]:
    for offer in offers(api, **{"publication.status": "ACTIVE", "limit": 1000})["offers"]:
        if {"id": market} not in offer["publication"]["marketplaces"]["additional"]:
            return offer
    pytest.fail(f"the seed must contain an ACTIVE offer not listed on {market}")


def cz_price(amount: str, currency: str = "CZK") -> dict[str, Any]:
    return {
        "additionalMarketplaces": {
            "allegro-cz": {"sellingMode": {"price": {"amount": amount, "currency": currency}}}
        }
    }


def new_events(api: httpx.Client, cursor: str | None) -> list[dict[str, Any]]:
    return events(api, **({"from": cursor} if cursor else {}))


def test_patch_additional_marketplace_price_is_applied_listed_and_evented(
    api: httpx.Client,
) -> None:
    offer = offer_on(api, "allegro-cz")
    base_price = offer["sellingMode"]["price"]
    cursor = latest_offer_event(api)
    url = f"/sale/product-offers/{offer['id']}"
    response = api.patch(url, json=cz_price("321.5"))
    assert response.status_code == 200, response.text
    expected = {"amount": "321.50", "currency": "CZK"}
    assert response.json()["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == (
        expected
    )
    again = api.get(url).json()
    assert again["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == expected
    assert again["sellingMode"]["price"] == base_price
    listed = offers(api, **{"offer.id": offer["id"]})["offers"][0]
    assert listed["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == expected
    assert listed["sellingMode"]["price"] == base_price
    parts = api.get(f"{url}/parts", params={"include": "price"}).json()
    assert parts["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == expected
    new = new_events(api, cursor)
    assert [e["type"] for e in new] == ["OFFER_PRICE_CHANGED"]
    assert new[0]["offer"]["id"] == offer["id"]
    assert new[0]["offer"]["marketplaces"] == [{"id": "allegro-cz", "changeType": "MANUAL"}]
    # the same price again changes nothing and emits nothing
    cursor = latest_offer_event(api)
    assert api.patch(url, json=cz_price("321.50")).status_code == 200
    assert new_events(api, cursor) == []


def test_patch_base_and_additional_prices_together_emit_one_event(api: httpx.Client) -> None:
    offer = offer_on(api, "allegro-cz")
    cursor = latest_offer_event(api)
    body = {
        "sellingMode": {"price": {"amount": "49.99", "currency": "PLN"}},
        **cz_price("299.00"),
    }
    response = api.patch(f"/sale/product-offers/{offer['id']}", json=body)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["sellingMode"]["price"]["amount"] == "49.99"
    assert doc["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"]["amount"] == (
        "299.00"
    )
    new = new_events(api, cursor)
    assert [e["type"] for e in new] == ["OFFER_PRICE_CHANGED"]
    assert [m["id"] for m in new[0]["offer"]["marketplaces"]] == ["allegro-pl", "allegro-cz"]


@pytest.mark.parametrize(
    ("amount", "currency", "path_tail"),
    [
        ("-1", "CZK", "sellingMode.price.amount"),
        ("0", "CZK", "sellingMode.price.amount"),
        ("abc", "CZK", "sellingMode.price.amount"),
        ("10.123", "CZK", "sellingMode.price.amount"),
        ("100.00", "PLN", "sellingMode.price.currency"),
        ("100.00", "EUR", "sellingMode.price.currency"),
    ],
)
def test_patch_bad_additional_price_is_422_on_its_path_and_changes_nothing(
    api: httpx.Client, amount: str, currency: str, path_tail: str
) -> None:
    offer = offer_on(api, "allegro-cz")
    url = f"/sale/product-offers/{offer['id']}"
    before = api.get(url).json()
    cursor = latest_offer_event(api)
    response = api.patch(url, json=cz_price(amount, currency))
    assert response.status_code == 422, response.text
    assert errors_of(response)[0]["path"] == f"additionalMarketplaces.allegro-cz.{path_tail}"
    assert api.get(url).json() == before
    assert new_events(api, cursor) == []


def test_patch_base_marketplace_inside_additional_marketplaces_is_422(api: httpx.Client) -> None:
    offer = offer_on(api, "allegro-cz")
    url = f"/sale/product-offers/{offer['id']}"
    before = api.get(url).json()
    response = api.patch(
        url,
        json={
            "additionalMarketplaces": {
                "allegro-pl": {"sellingMode": {"price": {"amount": "10.00", "currency": "PLN"}}}
            }
        },
    )
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "additionalMarketplaces.allegro-pl"
    assert api.get(url).json() == before


@pytest.mark.parametrize(
    ("market", "currency"), [("allegro-xx", "XXX"), ("allegro-sk", "EUR"), ("allegro-hu", "HUF")]
)
def test_patch_unknown_or_unlisted_marketplace_is_422(
    api: httpx.Client, market: str, currency: str
) -> None:
    offer = offer_not_on(api, market)
    url = f"/sale/product-offers/{offer['id']}"
    before = api.get(url).json()
    response = api.patch(
        url,
        json={
            "additionalMarketplaces": {
                market: {"sellingMode": {"price": {"amount": "10.00", "currency": currency}}}
            }
        },
    )
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == f"additionalMarketplaces.{market}"
    assert api.get(url).json() == before


def test_patch_a_bad_additional_price_rejects_the_whole_patch(api: httpx.Client) -> None:
    offer = offer_on(api, "allegro-cz")
    url = f"/sale/product-offers/{offer['id']}"
    before = api.get(url).json()
    response = api.patch(
        url,
        json={
            "name": "Zupełnie nowy tytuł oferty",
            "sellingMode": {"price": {"amount": "12.34", "currency": "PLN"}},
            **cz_price("12.34", "EUR"),
        },
    )
    assert response.status_code == 422
    assert api.get(url).json() == before


def test_patch_additional_price_asynchronously(api: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 5})
    offer = offer_on(api, "allegro-cz")
    url = f"/sale/product-offers/{offer['id']}"
    old = offer["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"]
    response = api.patch(url, json=cz_price("777.00"))
    assert response.status_code == 202
    assert (
        api.get(url).json()["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == old
    )
    sim.control("POST", "/clock", {"advance": 6})
    assert api.get(response.headers["location"], follow_redirects=False).status_code == 303
    doc = api.get(url).json()
    assert doc["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"] == {
        "amount": "777.00",
        "currency": "CZK",
    }
