"""Offers: listing, product-offer read and edit (sync and 202/303), parts, offer events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


def offers(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/sale/offers", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def active_offer(api: httpx.Client) -> dict[str, Any]:
    offer: dict[str, Any] = offers(api, **{"publication.status": "ACTIVE", "limit": 1})["offers"][0]
    return offer


def events(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/sale/offer-events", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["offerEvents"]
    return items


def latest_offer_event(api: httpx.Client) -> str | None:
    items = events(api, limit=1000)
    return items[-1]["id"] if items else None


def test_list_default_page_is_20_newest_first(api: httpx.Client) -> None:
    body = offers(api)
    assert body["count"] == 20
    assert body["totalCount"] == 30
    ids = [int(o["id"]) for o in body["offers"]]
    assert ids == sorted(ids, reverse=True)


def test_list_paging(api: httpx.Client) -> None:
    page1 = offers(api, limit=10)
    page3 = offers(api, limit=10, offset=20)
    assert page1["count"] == 10
    assert page3["count"] == 10
    assert not {o["id"] for o in page1["offers"]} & {o["id"] for o in page3["offers"]}


def test_list_filters(api: httpx.Client) -> None:
    active = offers(api, **{"publication.status": "ACTIVE", "limit": 1000})
    assert active["totalCount"] > 0
    assert {o["publication"]["status"] for o in active["offers"]} == {"ACTIVE"}
    both = offers(api, **{"publication.status": ["ACTIVE", "ENDED"], "limit": 1000})
    assert both["totalCount"] >= active["totalCount"]
    sample = active["offers"][0]
    by_id = offers(api, **{"offer.id": [sample["id"]]})
    assert [o["id"] for o in by_id["offers"]] == [sample["id"]]
    by_external = offers(api, **{"external.id": sample["external"]["id"]})
    assert [o["id"] for o in by_external["offers"]] == [sample["id"]]
    word = sample["name"].split()[0]
    by_name = offers(api, name=word, limit=1000)
    assert all(word.lower() in o["name"].lower() for o in by_name["offers"])
    cheap = offers(api, **{"sellingMode.price.amount.lte": 100, "limit": 1000})
    assert all(float(o["sellingMode"]["price"]["amount"]) <= 100 for o in cheap["offers"])
    pricey = offers(api, **{"sellingMode.price.amount.gte": 100, "limit": 1000})
    assert cheap["totalCount"] + pricey["totalCount"] >= 30
    category = offers(api, **{"category.id": sample["category"]["id"], "limit": 1000})
    assert {o["category"]["id"] for o in category["offers"]} == {sample["category"]["id"]}
    assert offers(api, **{"sellingMode.format": "AUCTION"})["totalCount"] == 0


def test_list_marketplace_filter_and_foreign_currencies(api: httpx.Client) -> None:
    cz = offers(api, **{"publication.marketplace": "allegro-cz", "limit": 1000})
    for offer in cz["offers"]:
        assert {"id": "allegro-cz"} in offer["publication"]["marketplaces"]["additional"]
        assert (
            offer["additionalMarketplaces"]["allegro-cz"]["sellingMode"]["price"]["currency"]
            == "CZK"
        )
    assert offers(api, **{"publication.marketplace": "allegro-pl"})["totalCount"] == 30


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("sellingMode.price.amount", lambda o: float(o["sellingMode"]["price"]["amount"]), False),
        ("-sellingMode.price.amount", lambda o: float(o["sellingMode"]["price"]["amount"]), True),
        ("stock.available", lambda o: o["stock"]["available"], False),
        ("-stock.sold", lambda o: o["stock"]["sold"], True),
    ],
)
def test_list_sort(api: httpx.Client, sort: str, key: Any, reverse: bool) -> None:
    listed = offers(api, sort=sort, limit=1000)["offers"]
    values = [key(o) for o in listed]
    assert values == sorted(values, reverse=reverse)


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 1001},
        {"limit": 0},
        {"offset": 10_000_000},
        {"sort": "name"},
        {"publication.status": "GONE"},
    ],
)
def test_list_rejects_bad_parameters_with_400(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get("/sale/offers", params=params)
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] in {"limit", "offset", "sort", "publication.status"}


@pytest.mark.allow_spec_violations
def test_list_rejects_too_many_external_ids(api: httpx.Client) -> None:
    response = api.get("/sale/offers", params={"external.id": [f"X{i}" for i in range(101)]})
    assert response.status_code == 400


def test_list_is_scoped_to_the_seller(api: httpx.Client, sim: SimulatorProcess) -> None:
    with api_client(sim, sim.token("10000002")) as other:
        theirs = {
            o["id"] for o in other.get("/sale/offers", params={"limit": 1000}).json()["offers"]
        }
    mine = {o["id"] for o in offers(api, limit=1000)["offers"]}
    assert not theirs & mine


def test_list_needs_read_scope(sim: SimulatorProcess) -> None:
    with api_client(sim, sim.token("10000001", scopes=["allegro:api:orders:read"])) as client:
        assert client.get("/sale/offers").status_code == 403


def test_get_product_offer(api: httpx.Client) -> None:
    listed = active_offer(api)
    response = api.get(f"/sale/product-offers/{listed['id']}")
    assert response.status_code == 200
    offer = response.json()
    assert offer["id"] == listed["id"]
    assert offer["sellingMode"]["price"] == listed["sellingMode"]["price"]
    assert offer["stock"]["available"] == listed["stock"]["available"]
    assert offer["productSet"][0]["product"]["id"]
    ean = offer["parameters"][0]["values"][0]
    assert len(ean) == 13
    assert ean.isdigit()


def test_get_unknown_and_foreign_offer_is_404(api: httpx.Client, sim: SimulatorProcess) -> None:
    assert api.get("/sale/product-offers/1").status_code == 404
    with api_client(sim, sim.token("10000002")) as other:
        foreign = other.get("/sale/offers", params={"limit": 1}).json()["offers"][0]["id"]
    assert api.get(f"/sale/product-offers/{foreign}").status_code == 404


def test_patch_price_stock_and_name_emits_events(api: httpx.Client) -> None:
    offer = active_offer(api)
    cursor = latest_offer_event(api)
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={
            "name": "Nowa nazwa oferty testowej",
            "sellingMode": {"price": {"amount": "77.70", "currency": "PLN"}},
            "stock": {"available": offer["stock"]["available"] + 5},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["sellingMode"]["price"] == {"amount": "77.70", "currency": "PLN"}
    again = api.get(f"/sale/product-offers/{offer['id']}").json()
    assert again["name"] == "Nowa nazwa oferty testowej"
    assert again["stock"]["available"] == offer["stock"]["available"] + 5
    listed = offers(api, **{"offer.id": offer["id"]})["offers"][0]
    assert listed["sellingMode"]["price"]["amount"] == "77.70"
    params = {"from": cursor} if cursor else {}
    new = events(api, **params)
    assert sorted(e["type"] for e in new) == [
        "OFFER_CHANGED",
        "OFFER_PRICE_CHANGED",
        "OFFER_STOCK_CHANGED",
    ]
    assert {e["offer"]["id"] for e in new} == {offer["id"]}
    price_event = next(e for e in new if e["type"] == "OFFER_PRICE_CHANGED")
    assert price_event["offer"]["external"] == offer["external"]


def test_patch_stock_to_zero_ends_the_offer(api: httpx.Client) -> None:
    offer = active_offer(api)
    cursor = latest_offer_event(api)
    response = api.patch(f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 0}})
    assert response.status_code == 200
    assert response.json()["publication"]["status"] == "ENDED"
    params = {"from": cursor} if cursor else {}
    new = events(api, **params)
    ended = [e for e in new if e["type"] == "OFFER_ENDED"]
    assert ended[0]["offer"]["publication"]["endedBy"] == "EMPTY_STOCK"


@pytest.mark.allow_spec_violations
def test_patch_validation_errors_name_the_field(api: httpx.Client) -> None:
    offer = active_offer(api)
    url = f"/sale/product-offers/{offer['id']}"
    cases = [
        ({"name": "x" * 76}, "name"),
        (
            {"sellingMode": {"price": {"amount": "-1", "currency": "PLN"}}},
            "sellingMode.price.amount",
        ),
        (
            {"sellingMode": {"price": {"amount": "10.00", "currency": "EUR"}}},
            "sellingMode.price.currency",
        ),
        ({"stock": {"available": -3}}, "stock.available"),
    ]
    for body, path in cases:
        response = api.patch(url, json=body)
        assert response.status_code == 422, body
        assert errors_of(response)[0]["path"] == path


def test_patch_unknown_offer_is_404(api: httpx.Client) -> None:
    assert (
        api.patch("/sale/product-offers/1", json={"name": "Cokolwiek tu wpisane"}).status_code
        == 404
    )


def test_patch_wrong_content_type_is_415(api: httpx.Client) -> None:
    offer = active_offer(api)
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        content=b'{"name": "abc def ghi jkl"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 415


def test_patch_async_202_then_303_and_409_while_pending(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 5})
    offer = active_offer(api)
    url = f"/sale/product-offers/{offer['id']}"
    response = api.patch(
        url, json={"sellingMode": {"price": {"amount": "55.55", "currency": "PLN"}}}
    )
    assert response.status_code == 202
    assert response.headers["retry-after"] == "5"
    location = response.headers["location"]
    assert "/operations/" in location
    busy = api.patch(url, json={"stock": {"available": 3}})
    assert busy.status_code == 409
    pending = api.get(location, follow_redirects=False)
    assert pending.status_code == 202
    assert pending.json()["operation"]["status"] == "IN_PROGRESS"
    assert (
        api.get(url).json()["sellingMode"]["price"]["amount"]
        == offer["sellingMode"]["price"]["amount"]
    )
    sim.control("POST", "/clock", {"advance": 6})
    done = api.get(location, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].endswith(url)
    assert api.get(url).json()["sellingMode"]["price"]["amount"] == "55.55"
    assert api.patch(url, json={"stock": {"available": 3}}).status_code == 202


def test_unknown_operation_is_404(api: httpx.Client) -> None:
    offer = active_offer(api)
    assert api.get(f"/sale/product-offers/{offer['id']}/operations/nope").status_code == 404


def test_parts(api: httpx.Client) -> None:
    offer = active_offer(api)
    response = api.get(
        f"/sale/product-offers/{offer['id']}/parts", params={"include": ["stock", "price"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["stock"] == {"available": offer["stock"]["available"]}
    assert body["sellingMode"]["price"] == offer["sellingMode"]["price"]
    only_stock = api.get(
        f"/sale/product-offers/{offer['id']}/parts", params={"include": "stock"}
    ).json()
    assert "sellingMode" not in only_stock


@pytest.mark.allow_spec_violations
def test_parts_requires_include(api: httpx.Client) -> None:
    offer = active_offer(api)
    assert api.get(f"/sale/product-offers/{offer['id']}/parts").status_code == 400
    assert (
        api.get(f"/sale/product-offers/{offer['id']}/parts", params={"include": "name"}).status_code
        == 400
    )


def test_offer_events_cursor_limit_and_type(api: httpx.Client) -> None:
    listed = offers(api, **{"publication.status": "ACTIVE", "limit": 3})["offers"]
    for i, offer in enumerate(listed):
        api.patch(f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 100 + i}})
        api.patch(
            f"/sale/product-offers/{offer['id']}",
            json={"sellingMode": {"price": {"amount": f"{10 + i}.00", "currency": "PLN"}}},
        )
    everything = events(api, limit=1000)
    assert len(everything) >= 6
    first_two = events(api, limit=2)
    assert [e["id"] for e in first_two] == [e["id"] for e in everything[:2]]
    after = events(api, **{"from": first_two[-1]["id"], "limit": 1000})
    assert [e["id"] for e in after] == [e["id"] for e in everything[2:]]
    prices = events(api, type="OFFER_PRICE_CHANGED", limit=1000)
    assert {e["type"] for e in prices} == {"OFFER_PRICE_CHANGED"}
    assert len(prices) == 3


def test_offer_events_skip_inactive_offers(api: httpx.Client) -> None:
    inactive = offers(api, **{"publication.status": "INACTIVE", "limit": 1})["offers"]
    if not inactive:
        pytest.fail("the seed must contain an INACTIVE offer")
    cursor = latest_offer_event(api)
    api.patch(f"/sale/product-offers/{inactive[0]['id']}", json={"stock": {"available": 9}})
    params = {"from": cursor} if cursor else {}
    assert events(api, **params) == []


def test_offer_events_retention_and_expired_cursor(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    offer = active_offer(api)
    api.patch(f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 42}})
    old = events(api)
    assert old
    sim.control("POST", "/clock", {"advance": 24 * 3600 + 1})
    with api_client(sim, sim.token("10000001")) as fresh:  # the old token expired meanwhile
        assert events(fresh) == []
        response = fresh.get("/sale/offer-events", params={"from": old[-1]["id"]})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert errors_of(response)[0]["code"] == "EVENT_EXPIRED"


def test_offer_events_unknown_cursor_is_400(api: httpx.Client) -> None:
    response = api.get("/sale/offer-events", params={"from": "bm9wZQ"})
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "from"


def test_patch_after_sales_services_and_description(api: httpx.Client) -> None:
    offer = active_offer(api)
    cursor = latest_offer_event(api)
    policy = "09f0b4cc-7880-11e9-8f9e-2a86e4085a59"
    description = {"sections": [{"items": [{"type": "TEXT", "content": "<p>Opis produktu</p>"}]}]}
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={
            "afterSalesServices": {"returnPolicy": {"id": policy}},
            "description": description,
            "delivery": {"handlingTime": "PT48H"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["afterSalesServices"] == {"returnPolicy": {"id": policy}}
    assert body["description"] == description
    assert body["delivery"]["handlingTime"] == "PT48H"
    found = offers(api, **{"afterSalesServices.returnPolicy.id": policy})
    assert [o["id"] for o in found["offers"]] == [offer["id"]]
    params = {"from": cursor} if cursor else {}
    assert [e["type"] for e in events(api, **params)] == ["OFFER_CHANGED"]


@pytest.mark.allow_spec_violations
def test_patch_after_sales_needs_uuids(api: httpx.Client) -> None:
    offer = active_offer(api)
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={"afterSalesServices": {"returnPolicy": {"id": "abc"}}},
    )
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "afterSalesServices.returnPolicy.id"
