"""Batch commands: price, quantity and publication changes, reports, tasks, 409 on reuse."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import errors_of

pytestmark = pytest.mark.sandbox


def active_offers(api: httpx.Client, n: int) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get(
        "/sale/offers", params={"publication.status": "ACTIVE", "limit": n}
    ).json()["offers"]
    assert len(listed) == n
    return listed


def criteria(ids: list[str]) -> list[dict[str, Any]]:
    return [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in ids]}]


def test_price_command_fixed_price(api: httpx.Client) -> None:
    offers = active_offers(api, 2)
    command_id = str(uuid.uuid4())
    body = {
        "modification": {"type": "FIXED_PRICE", "price": {"amount": "19.99", "currency": "PLN"}},
        "offerCriteria": criteria([o["id"] for o in offers] + ["1"]),
    }
    response = api.put(f"/sale/offer-price-change-commands/{command_id}", json=body)
    assert response.status_code == 201
    assert response.json()["taskCount"] == {"failed": 0, "success": 0, "total": 0}
    report = api.get(f"/sale/offer-price-change-commands/{command_id}").json()
    assert report["taskCount"] == {"failed": 1, "success": 2, "total": 3}
    assert report["completedAt"]
    tasks = api.get(f"/sale/offer-price-change-commands/{command_id}/tasks").json()["tasks"]
    assert [t["status"] for t in tasks] == ["SUCCESS", "SUCCESS", "FAIL"]
    assert tasks[2]["offer"] == {"id": "1"}
    for offer in offers:
        price = api.get(f"/sale/product-offers/{offer['id']}").json()["sellingMode"]["price"]
        assert price == {"amount": "19.99", "currency": "PLN"}
    types = [
        e["type"]
        for e in api.get("/sale/offer-events", params={"limit": 1000}).json()["offerEvents"]
    ]
    assert types.count("OFFER_PRICE_CHANGED") == 2


@pytest.mark.parametrize(
    ("modification", "expected"),
    [
        (
            {"type": "INCREASE_PRICE", "value": {"amount": "1.00", "currency": "PLN"}},
            lambda p: p + 1,
        ),
        (
            {"type": "DECREASE_PRICE", "value": {"amount": "1.00", "currency": "PLN"}},
            lambda p: p - 1,
        ),
        ({"type": "INCREASE_PERCENTAGE", "percentage": "10"}, lambda p: round(p * 1.1, 2)),
        ({"type": "DECREASE_PERCENTAGE", "percentage": "10"}, lambda p: round(p * 0.9, 2)),
    ],
)
def test_price_command_relative_changes(
    api: httpx.Client, modification: dict[str, Any], expected: Any
) -> None:
    offer = active_offers(api, 1)[0]
    before = float(offer["sellingMode"]["price"]["amount"])
    command_id = str(uuid.uuid4())
    response = api.put(
        f"/sale/offer-price-change-commands/{command_id}",
        json={"modification": modification, "offerCriteria": criteria([offer["id"]])},
    )
    assert response.status_code == 201
    after = float(
        api.get(f"/sale/product-offers/{offer['id']}").json()["sellingMode"]["price"]["amount"]
    )
    assert after == pytest.approx(expected(before), abs=0.011)


def test_reused_command_id_is_409(api: httpx.Client) -> None:
    offer = active_offers(api, 1)[0]
    command_id = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "GAIN", "value": 1},
        "offerCriteria": criteria([offer["id"]]),
    }
    assert (
        api.put(f"/sale/offer-quantity-change-commands/{command_id}", json=body).status_code == 201
    )
    response = api.put(f"/sale/offer-quantity-change-commands/{command_id}", json=body)
    assert response.status_code == 409
    assert errors_of(response)[0]["code"] == "COMMAND_ID_ALREADY_USED"


def test_quantity_command_fixed_and_gain(api: httpx.Client) -> None:
    first, second = active_offers(api, 2)
    fixed = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "FIXED", "value": 15},
        "offerCriteria": criteria([first["id"]]),
    }
    assert api.put(f"/sale/offer-quantity-change-commands/{fixed}", json=body).status_code == 201
    assert api.get(f"/sale/product-offers/{first['id']}").json()["stock"]["available"] == 15
    gain = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "GAIN", "value": -1},
        "offerCriteria": criteria([second["id"]]),
    }
    assert api.put(f"/sale/offer-quantity-change-commands/{gain}", json=body).status_code == 201
    assert (
        api.get(f"/sale/product-offers/{second['id']}").json()["stock"]["available"]
        == second["stock"]["available"] - 1
    )
    report = api.get(f"/sale/offer-quantity-change-commands/{gain}").json()
    assert report["taskCount"]["success"] == 1
    tasks = api.get(f"/sale/offer-quantity-change-commands/{gain}/tasks").json()["tasks"]
    assert tasks[0]["field"] == "stock"
    assert tasks[0]["status"] == "SUCCESS"


def test_quantity_gain_below_zero_fails_the_task(api: httpx.Client) -> None:
    offer = active_offers(api, 1)[0]
    command_id = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "GAIN", "value": -100000},
        "offerCriteria": criteria([offer["id"]]),
    }
    api.put(f"/sale/offer-quantity-change-commands/{command_id}", json=body)
    tasks = api.get(f"/sale/offer-quantity-change-commands/{command_id}/tasks").json()["tasks"]
    assert tasks[0]["status"] == "FAIL"
    assert tasks[0]["errors"][0]["code"] == "INVALID_QUANTITY"


def test_publication_command_end_and_activate(api: httpx.Client) -> None:
    offer = active_offers(api, 1)[0]
    end = str(uuid.uuid4())
    body = {"publication": {"action": "END"}, "offerCriteria": criteria([offer["id"]])}
    assert api.put(f"/sale/offer-publication-commands/{end}", json=body).status_code == 201
    assert api.get(f"/sale/product-offers/{offer['id']}").json()["publication"]["status"] == "ENDED"
    assert api.get(f"/sale/offer-publication-commands/{end}").json()["taskCount"]["success"] == 1
    activate = str(uuid.uuid4())
    body = {"publication": {"action": "ACTIVATE"}, "offerCriteria": criteria([offer["id"]])}
    assert api.put(f"/sale/offer-publication-commands/{activate}", json=body).status_code == 201
    assert (
        api.get(f"/sale/product-offers/{offer['id']}").json()["publication"]["status"] == "ACTIVE"
    )
    tasks = api.get(f"/sale/offer-publication-commands/{activate}/tasks").json()["tasks"]
    assert tasks[0]["status"] == "SUCCESS"
    types = [
        e["type"]
        for e in api.get("/sale/offer-events", params={"limit": 1000}).json()["offerEvents"]
    ]
    assert "OFFER_ENDED" in types
    assert types[-1] == "OFFER_ACTIVATED"


def test_publication_scheduled_in_the_past_is_422(api: httpx.Client) -> None:
    offer = active_offers(api, 1)[0]
    body = {
        "publication": {"action": "ACTIVATE", "scheduledFor": "2001-01-01T00:00:00Z"},
        "offerCriteria": criteria([offer["id"]]),
    }
    response = api.put(f"/sale/offer-publication-commands/{uuid.uuid4()}", json=body)
    assert response.status_code == 422
    assert "past" in errors_of(response)[0]["message"]


def test_command_with_more_than_1000_offers_is_422(api: httpx.Client) -> None:
    body = {
        "publication": {"action": "END"},
        "offerCriteria": criteria([str(i) for i in range(1001)]),
    }
    response = api.put(f"/sale/offer-publication-commands/{uuid.uuid4()}", json=body)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "offerCriteria"


def test_delayed_command_shows_progress_later(api: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control("PUT", "/settings", {"command_delay": 30})
    offer = active_offers(api, 1)[0]
    command_id = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "FIXED", "value": 3},
        "offerCriteria": criteria([offer["id"]]),
    }
    api.put(f"/sale/offer-quantity-change-commands/{command_id}", json=body)
    waiting = api.get(f"/sale/offer-quantity-change-commands/{command_id}").json()
    assert waiting["completedAt"] is None
    assert api.get(f"/sale/offer-quantity-change-commands/{command_id}/tasks").json()["tasks"] == []
    sim.control("POST", "/clock", {"advance": 31})
    done = api.get(f"/sale/offer-quantity-change-commands/{command_id}").json()
    assert done["taskCount"] == {"failed": 0, "success": 1, "total": 1}
    assert api.get(f"/sale/product-offers/{offer['id']}").json()["stock"]["available"] == 3


def test_unknown_command_is_404(api: httpx.Client) -> None:
    for base in (
        "offer-price-change-commands",
        "offer-quantity-change-commands",
        "offer-publication-commands",
    ):
        assert api.get(f"/sale/{base}/{uuid.uuid4()}").status_code == 404
        assert api.get(f"/sale/{base}/{uuid.uuid4()}/tasks").status_code == 404


@pytest.mark.allow_spec_violations
def test_tasks_paging_limits(api: httpx.Client) -> None:
    offer = active_offers(api, 1)[0]
    command_id = str(uuid.uuid4())
    body = {
        "modification": {"changeType": "GAIN", "value": 1},
        "offerCriteria": criteria([offer["id"]]),
    }
    api.put(f"/sale/offer-quantity-change-commands/{command_id}", json=body)
    url = f"/sale/offer-quantity-change-commands/{command_id}/tasks"
    assert api.get(url, params={"limit": 1001}).status_code == 422
    assert api.get(url, params={"offset": 1000}).status_code == 422


def test_commands_need_write_scope(sim: SimulatorProcess) -> None:
    from tests.plugins.simulator import api_client

    with api_client(sim, sim.token("10000001", scopes=["allegro:api:sale:offers:read"])) as client:
        response = client.put(
            f"/sale/offer-price-change-commands/{uuid.uuid4()}",
            json={
                "modification": {
                    "type": "FIXED_PRICE",
                    "price": {"amount": "1.00", "currency": "PLN"},
                },
                "offerCriteria": criteria(["1"]),
            },
        )
    assert response.status_code == 403


def test_bad_modification_is_422(api: httpx.Client) -> None:
    response = api.put(
        f"/sale/offer-price-change-commands/{uuid.uuid4()}",
        json={"modification": {"type": "HALF_PRICE"}, "offerCriteria": criteria(["1"])},
    )
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "modification.type"
