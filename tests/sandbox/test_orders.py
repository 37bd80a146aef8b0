"""Orders: checkout forms, events, fulfillment with revisions, carriers and tracking numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


def forms(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/order/checkout-forms", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def paid_form(api: httpx.Client) -> dict[str, Any]:
    form: dict[str, Any] = forms(api, status="READY_FOR_PROCESSING", limit=1)["checkoutForms"][0]
    return form


def test_list_defaults_newest_first_with_counts(api: httpx.Client) -> None:
    body = forms(api)
    assert body["totalCount"] == 40
    assert body["count"] == 40
    bought = [f["lineItems"][0]["boughtAt"] for f in body["checkoutForms"]]
    assert bought == sorted(bought, reverse=True)


def test_list_paging_and_sort(api: httpx.Client) -> None:
    first = forms(api, limit=10, offset=0, sort="lineItems.boughtAt")
    second = forms(api, limit=10, offset=10, sort="lineItems.boughtAt")
    assert first["count"] == 10
    assert first["totalCount"] == 40
    ids = [f["id"] for f in first["checkoutForms"] + second["checkoutForms"]]
    assert len(set(ids)) == 20
    last_first = first["checkoutForms"][-1]["lineItems"][0]["boughtAt"]
    assert last_first <= second["checkoutForms"][0]["lineItems"][0]["boughtAt"]


def test_list_filters(api: httpx.Client) -> None:
    paid = forms(api, status="READY_FOR_PROCESSING")
    assert paid["totalCount"] > 0
    assert {f["status"] for f in paid["checkoutForms"]} == {"READY_FOR_PROCESSING"}
    login = paid["checkoutForms"][0]["buyer"]["login"]
    by_buyer = forms(api, **{"buyer.login": login})
    assert {f["buyer"]["login"] for f in by_buyer["checkoutForms"]} == {login}
    pivot = paid["checkoutForms"][5]["lineItems"][0]["boughtAt"]
    newer = forms(api, **{"lineItems.boughtAt.gte": pivot})
    assert all(f["lineItems"][0]["boughtAt"] >= pivot for f in newer["checkoutForms"])
    sent = forms(api, **{"fulfillment.shipmentSummary.lineItemsSent": "ALL"})
    assert all(
        f["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL" for f in sent["checkoutForms"]
    )


def test_updated_at_filter_sees_a_change(api: httpx.Client, sim: SimulatorProcess) -> None:
    form = paid_form(api)
    sim.control("POST", "/clock", {"advance": 3600})
    marker = sim.control("GET", "/clock")["now"]
    status = "SUSPENDED" if form["fulfillment"]["status"] != "SUSPENDED" else "PROCESSING"
    api.put(f"/order/checkout-forms/{form['id']}/fulfillment", json={"status": status})
    changed = forms(api, **{"updatedAt.gte": marker})
    assert [f["id"] for f in changed["checkoutForms"]] == [form["id"]]


@pytest.mark.allow_spec_violations
@pytest.mark.parametrize(
    "params", [{"limit": 101}, {"limit": 0}, {"offset": -1}, {"sort": "price"}, {"status": "PAID"}]
)
def test_list_rejects_bad_paging_with_422(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get("/order/checkout-forms", params=params)
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] in {"limit", "offset", "sort", "status"}


def test_get_one(api: httpx.Client) -> None:
    form = paid_form(api)
    response = api.get(f"/order/checkout-forms/{form['id']}")
    assert response.status_code == 200
    assert response.json() == form


def test_get_unknown_is_404(api: httpx.Client) -> None:
    response = api.get("/order/checkout-forms/5a2c1d2e-0000-4000-8000-000000000000")
    assert response.status_code == 404


@pytest.mark.allow_spec_violations
def test_get_malformed_uuid_is_422(api: httpx.Client) -> None:
    response = api.get("/order/checkout-forms/not-a-uuid")
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "id"


def test_other_sellers_order_is_404(api: httpx.Client, sim: SimulatorProcess) -> None:
    with api_client(sim, sim.token("10000002")) as other:
        foreign = other.get("/order/checkout-forms", params={"limit": 1}).json()["checkoutForms"][0]
    assert api.get(f"/order/checkout-forms/{foreign['id']}").status_code == 404


def test_fulfillment_change_bumps_revision_and_emits_event(api: httpx.Client) -> None:
    form = paid_form(api)
    latest = api.get("/order/event-stats").json()["latestEvent"]["id"]
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": form["revision"]},
        json={
            "status": "READY_FOR_SHIPMENT"
            if form["fulfillment"]["status"] != "READY_FOR_SHIPMENT"
            else "SENT"
        },
    )
    assert response.status_code == 204
    after = api.get(f"/order/checkout-forms/{form['id']}").json()
    assert after["revision"] != form["revision"]
    assert after["updatedAt"] > form["updatedAt"]
    events = api.get("/order/events", params={"from": latest}).json()["events"]
    assert [(e["type"], e["order"]["checkoutForm"]["id"]) for e in events] == [
        ("FULFILLMENT_STATUS_CHANGED", form["id"])
    ]
    assert events[0]["order"]["checkoutForm"]["revision"] == after["revision"]


def test_stale_revision_is_409(api: httpx.Client, sim: SimulatorProcess) -> None:
    form = paid_form(api)
    sim.control("POST", f"/orders/{form['id']}/modification", {"note": "zmiana po stronie Allegro"})
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": form["revision"]},
        json={"status": "PROCESSING"},
    )
    assert response.status_code == 409
    assert errors_of(response)[0]["path"] == "checkoutForm.revision"


def test_returned_status_is_422(api: httpx.Client) -> None:
    form = paid_form(api)
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment", json={"status": "RETURNED"}
    )
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "status"


@pytest.mark.allow_spec_violations
def test_unknown_status_is_422(api: httpx.Client) -> None:
    form = paid_form(api)
    response = api.put(f"/order/checkout-forms/{form['id']}/fulfillment", json={"status": "LOST"})
    assert response.status_code == 422


def test_fulfillment_on_unknown_order_is_404(api: httpx.Client) -> None:
    response = api.put(
        "/order/checkout-forms/5a2c1d2e-0000-4000-8000-000000000000/fulfillment",
        json={"status": "PROCESSING"},
    )
    assert response.status_code == 404


def test_fulfillment_needs_write_scope(sim: SimulatorProcess) -> None:
    token = sim.token("10000001", scopes=["allegro:api:orders:read"])
    with api_client(sim, token) as client:
        form = client.get("/order/checkout-forms", params={"limit": 1}).json()["checkoutForms"][0]
        response = client.put(
            f"/order/checkout-forms/{form['id']}/fulfillment", json={"status": "PROCESSING"}
        )
    assert response.status_code == 403


def test_events_cursor_type_filter_and_limit(api: httpx.Client) -> None:
    first = api.get("/order/events", params={"limit": 5}).json()["events"]
    assert len(first) == 5
    rest = api.get("/order/events", params={"from": first[-1]["id"], "limit": 1000}).json()[
        "events"
    ]
    ids = [e["id"] for e in first + rest]
    assert len(ids) == len(set(ids))
    assert api.get("/order/event-stats").json()["latestEvent"]["id"] == ids[-1]
    paid = api.get("/order/events", params={"type": "READY_FOR_PROCESSING", "limit": 1000}).json()[
        "events"
    ]
    assert paid
    assert {e["type"] for e in paid} == {"READY_FOR_PROCESSING"}
    empty = api.get("/order/events", params={"from": ids[-1]}).json()["events"]
    assert empty == []


def test_events_unknown_cursor_is_422(api: httpx.Client) -> None:
    response = api.get("/order/events", params={"from": "bm9wZQ"})
    assert response.status_code == 422
    assert errors_of(response)[0]["path"] == "from"


@pytest.mark.allow_spec_violations
def test_events_limit_over_1000_is_422(api: httpx.Client) -> None:
    assert api.get("/order/events", params={"limit": 1001}).status_code == 422


def test_carriers_with_user_and_app_token(api: httpx.Client, sim: SimulatorProcess) -> None:
    carriers = api.get("/order/carriers").json()["carriers"]
    assert {"id": "OTHER", "name": "Inny przewoźnik"} in carriers
    assert any(c["id"] == "INPOST" for c in carriers)
    with api_client(sim, sim.token(None)) as app:
        assert app.get("/order/carriers").status_code == 200


def test_tracking_numbers_update_line_items_sent(api: httpx.Client, sim: SimulatorProcess) -> None:
    offers = api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 2}).json()[
        "offers"
    ]
    order = sim.control(
        "POST", "/sellers/10000001/purchases", {"offerIds": [o["id"] for o in offers], "pay": True}
    )
    first, second = order["lineItems"]
    response = api.post(
        f"/order/checkout-forms/{order['id']}/shipments",
        json={
            "carrierId": "INPOST",
            "waybill": "620000000000000000000001",
            "lineItems": [{"id": first["id"]}],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["waybill"] == "620000000000000000000001"
    assert created["lineItems"] == [{"id": first["id"]}]
    form = api.get(f"/order/checkout-forms/{order['id']}").json()
    assert form["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "SOME"
    assert form["revision"] != order["revision"]
    response = api.post(
        f"/order/checkout-forms/{order['id']}/shipments",
        json={
            "carrierId": "OTHER",
            "carrierName": "Kurier Janusz",
            "waybill": "JAN-1",
            "lineItems": [{"id": second["id"]}],
        },
    )
    assert response.status_code == 201
    assert response.json()["carrierName"] == "Kurier Janusz"
    form = api.get(f"/order/checkout-forms/{order['id']}").json()
    assert form["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL"
    listed = api.get(f"/order/checkout-forms/{order['id']}/shipments").json()["shipments"]
    assert [s["waybill"] for s in listed] == ["620000000000000000000001", "JAN-1"]


def test_tracking_number_without_line_items_covers_all(api: httpx.Client) -> None:
    form = forms(
        api,
        **{"fulfillment.shipmentSummary.lineItemsSent": "NONE", "status": "READY_FOR_PROCESSING"},
    )["checkoutForms"][0]
    response = api.post(
        f"/order/checkout-forms/{form['id']}/shipments",
        json={"carrierId": "DPD", "waybill": "DPD123"},
    )
    assert response.status_code == 201
    assert len(response.json()["lineItems"]) == len(form["lineItems"])
    after = api.get(f"/order/checkout-forms/{form['id']}").json()
    assert after["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL"


def test_tracking_number_errors(api: httpx.Client) -> None:
    form = paid_form(api)
    url = f"/order/checkout-forms/{form['id']}/shipments"
    foreign = api.post(
        url,
        json={
            "carrierId": "DPD",
            "waybill": "X1",
            "lineItems": [{"id": "4f3c2d1e-0000-4000-8000-000000000000"}],
        },
    )
    assert foreign.status_code == 422
    assert errors_of(foreign)[0]["path"] == "lineItems.id"
    unknown_carrier = api.post(url, json={"carrierId": "PIGEON", "waybill": "X1"})
    assert unknown_carrier.status_code == 400
    other_without_name = api.post(url, json={"carrierId": "OTHER", "waybill": "X1"})
    assert other_without_name.status_code == 422
    assert errors_of(other_without_name)[0]["path"] == "carrierName"
    assert (
        api.get("/order/checkout-forms/5a2c1d2e-0000-4000-8000-000000000000/shipments").status_code
        == 404
    )


@pytest.mark.allow_spec_violations
def test_tracking_number_length_limits(api: httpx.Client) -> None:
    form = paid_form(api)
    url = f"/order/checkout-forms/{form['id']}/shipments"
    long_waybill = api.post(url, json={"carrierId": "DPD", "waybill": "W" * 65})
    assert long_waybill.status_code == 422
    assert errors_of(long_waybill)[0]["path"] == "waybill"
    long_name = api.post(url, json={"carrierId": "OTHER", "carrierName": "N" * 31, "waybill": "X"})
    assert long_name.status_code == 422
    assert errors_of(long_name)[0]["path"] == "carrierName"


def test_waybill_reused_in_too_many_orders_is_409(api: httpx.Client) -> None:
    paid = forms(api, status="READY_FOR_PROCESSING", limit=11)["checkoutForms"]
    codes = [
        api.post(
            f"/order/checkout-forms/{f['id']}/shipments",
            json={"carrierId": "DPD", "waybill": "SHARED"},
        ).status_code
        for f in paid
    ]
    assert codes == [201] * 10 + [409]


def test_every_pickup_delivery_names_its_point(api: httpx.Client) -> None:
    """Locker and collection-point deliveries carry the point the buyer chose (a shipment for
    them cannot be created without it)."""
    forms = api.get("/order/checkout-forms", params={"limit": 100}).json()["checkoutForms"]
    pickup = [
        f
        for f in forms
        if "Paczkomat" in f["delivery"]["method"]["name"]
        or "Orlen" in f["delivery"]["method"]["name"]
        or "One Box" in f["delivery"]["method"]["name"]
    ]
    assert pickup
    assert all(f["delivery"].get("pickupPoint", {}).get("id") for f in pickup)
    assert any(f["delivery"]["pickupPoint"]["id"].startswith("POP-") for f in pickup)
