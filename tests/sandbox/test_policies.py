"""Return policies CRUD (with the guide's conditional rules) and the warranty lists."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox

URL = "/after-sales-service-conditions/return-policies"
FULL: dict[str, Any] = {
    "name": "Zwrot 30 dni",
    "isFulfillment": False,
    "availability": {"range": "FULL"},
    "withdrawalPeriod": "P30D",
    "returnCost": {"coveredBy": "SELLER"},
    "address": {
        "name": "Sklep Kowalski",
        "street": "Długa 10",
        "postCode": "30-001",
        "city": "Kraków",
        "countryCode": "PL",
    },
    "contact": {"phoneNumber": "+48 600 700 800", "email": "zwroty@example.pl"},
    "options": {
        "cashOnDeliveryNotAllowed": True,
        "freeAccessoriesReturnRequired": False,
        "refundLoweredByReceivedDiscount": False,
        "businessReturnAllowed": True,
        "collectBySellerOnly": False,
    },
}


def policies(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def with_(changes: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    body = copy.deepcopy(FULL)
    body.update(copy.deepcopy(changes))
    for key in drop:
        body.pop(key)
    return body


def test_seeded_policies(api: httpx.Client) -> None:
    body = policies(api)
    assert 2 <= body["count"] == len(body["returnPolicies"]) <= 4
    assert all(p["seller"]["id"] == "10000001" for p in body["returnPolicies"])
    assert body["returnPolicies"][0]["availability"]["range"] == "FULL"


def test_create_get_list_update_delete(api: httpx.Client) -> None:
    before = policies(api)["count"]
    created = api.post(URL, json=FULL)
    assert created.status_code == 201
    doc = created.json()
    assert doc["name"] == "Zwrot 30 dni"
    assert doc["seller"] == {"id": "10000001"}
    assert doc["address"] == FULL["address"]
    assert api.get(f"{URL}/{doc['id']}").json() == doc
    listed = policies(api)
    assert listed["count"] == before + 1
    assert listed["returnPolicies"][-1] == doc
    update = with_(
        {
            "name": "Bez zwrotu - na zamówienie",
            "availability": {"range": "RESTRICTED", "restrictionCause": {"name": "CUSTOM_ITEM"}},
        },
        drop=("isFulfillment", "withdrawalPeriod", "returnCost", "address", "contact", "options"),
    )
    updated = api.put(f"{URL}/{doc['id']}", json=update)
    assert updated.status_code == 200, updated.text
    assert updated.json()["availability"]["restrictionCause"] == {"name": "CUSTOM_ITEM"}
    assert updated.json()["withdrawalPeriod"] is None
    assert updated.json()["isFulfillment"] is False
    assert api.get(f"{URL}/{doc['id']}").json() == updated.json()
    assert api.delete(f"{URL}/{doc['id']}").status_code == 204
    assert api.get(f"{URL}/{doc['id']}").status_code == 404
    assert api.delete(f"{URL}/{doc['id']}").status_code == 404
    assert policies(api)["count"] == before


def test_is_fulfillment_cannot_change(api: httpx.Client) -> None:
    doc = api.post(URL, json=with_({"isFulfillment": True})).json()
    same = api.put(f"{URL}/{doc['id']}", json=with_({"isFulfillment": True}))
    assert same.status_code == 200
    changed = api.put(f"{URL}/{doc['id']}", json=with_({"isFulfillment": False}))
    assert changed.status_code == 422
    assert errors_of(changed)[0]["path"] == "isFulfillment"
    assert api.get(f"{URL}/{doc['id']}").json()["isFulfillment"] is True


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (with_({}, drop=("withdrawalPeriod",)), "withdrawalPeriod"),
        (with_({}, drop=("returnCost",)), "returnCost.coveredBy"),
        (with_({}, drop=("address",)), "address"),
        (with_({"withdrawalPeriod": "P1M"}), "withdrawalPeriod"),
        (with_({"withdrawalPeriod": "P7D"}), "withdrawalPeriod"),
        (with_({"availability": {"range": "RESTRICTED"}}), "availability.restrictionCause.name"),
        (
            with_(
                {"availability": {"range": "RESTRICTED", "restrictionCause": {"name": "ALCOHOL"}}}
            ),
            "availability.restrictionCause.name",
        ),
        (
            with_({"availability": {"range": "FULL", "restrictionCause": {"name": "PRESS"}}}),
            "availability.restrictionCause",
        ),
        (with_({"address": {**FULL["address"], "postCode": "30001"}}), "address.postCode"),
        (with_({"address": {**FULL["address"], "street": "x" * 36}}), "address.street"),
        (with_({"contact": {"email": "not-an-email"}}), "contact.email"),
        (with_({"name": "   "}), "name"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(
    api: httpx.Client, body: dict[str, Any], path: str
) -> None:
    response = api.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert errors_of(response)[0]["path"] == path


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    ("body", "path"),
    [
        (with_({}, drop=("isFulfillment",)), "isFulfillment"),
        (with_({"name": "n" * 201}), "name"),
        (with_({"availability": {"range": "SOMETIMES"}}), "availability.range"),
        (
            with_({"options": {"cashOnDeliveryNotAllowed": True}}),
            "options.freeAccessoriesReturnRequired",
        ),
    ],
)
def test_bodies_breaking_the_schema_are_422(
    api: httpx.Client, body: dict[str, Any], path: str
) -> None:
    response = api.post(URL, json=body)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == path


def test_disabled_policy_needs_a_cause_only(api: httpx.Client) -> None:
    body = {
        "name": "Usługi",
        "isFulfillment": False,
        "availability": {
            "range": "DISABLED",
            "restrictionCause": {"name": "NOT_RECORDED_DIGITAL_CONTENT"},
        },
    }
    response = api.post(URL, json=body)
    assert response.status_code == 201
    assert response.json()["address"] is None


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize("params", [{"limit": 61}, {"limit": 0}, {"offset": 60}])
def test_paging_limits(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get(URL, params=params)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == next(iter(params))


def test_paging(api: httpx.Client) -> None:
    everything = policies(api)["returnPolicies"]
    second = policies(api, limit=1, offset=1)
    assert second["returnPolicies"] == everything[1:2]
    assert second["count"] == 1


def test_other_sellers_policies_are_404(api: httpx.Client, sim: SimulatorProcess) -> None:
    mine = policies(api)["returnPolicies"][0]
    with api_client(sim, sim.token("10000002")) as other:
        assert other.get(f"{URL}/{mine['id']}").status_code == 404
        assert (
            other.put(f"{URL}/{mine['id']}", json=with_({}, drop=("isFulfillment",))).status_code
            == 404
        )
        assert other.delete(f"{URL}/{mine['id']}").status_code == 404
        assert mine["id"] not in {p["id"] for p in other.get(URL).json()["returnPolicies"]}


def test_scopes(sim: SimulatorProcess) -> None:
    read_only = sim.token("10000001", scopes=["allegro:api:sale:settings:read"])
    with api_client(sim, read_only) as client:
        assert client.get(URL).status_code == 200
        assert client.post(URL, json=FULL).status_code == 403


def test_warranties(api: httpx.Client) -> None:
    base = "/after-sales-service-conditions"
    warranties = api.get(f"{base}/warranties").json()
    assert warranties["count"] == len(warranties["warranties"]) >= 1
    first = warranties["warranties"][0]
    detail = api.get(f"{base}/warranties/{first['id']}").json()
    assert detail["name"] == first["name"]
    assert detail["type"] in ("MANUFACTURER", "SELLER")
    implied = api.get(f"{base}/implied-warranties").json()
    assert implied["count"] >= 1
    one = implied["impliedWarranties"][0]
    assert api.get(f"{base}/implied-warranties/{one['id']}").json()["individual"]["period"] == "P2Y"
    assert api.get(f"{base}/warranties/00000000-0000-4000-8000-000000000000").status_code == 404


def test_policy_used_by_an_offer_cannot_be_deleted(api: httpx.Client) -> None:
    policy = api.post(URL, json=FULL).json()
    offer = api.get("/sale/offers", params={"limit": 1}).json()["offers"][0]
    patched = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={"afterSalesServices": {"returnPolicy": {"id": policy["id"]}}},
    )
    assert patched.status_code == 200, patched.text
    refused = api.delete(f"{URL}/{policy['id']}")
    assert refused.status_code == 400
    assert errors_of(refused)[0]["code"] == "RETURN_POLICY_IN_USE"
    assert api.get(f"{URL}/{policy['id']}").status_code == 200


def test_no_token_is_401(sim: SimulatorProcess) -> None:
    response = httpx.get(
        f"{sim.url}{URL}", headers={"Accept": "application/vnd.allegro.public.v1+json"}
    )
    assert response.status_code == 401
