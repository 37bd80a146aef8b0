"""The control plane: scripted market activity, statistics, violations, clock, seeding, restarts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client

pytestmark = pytest.mark.sandbox


def new_events(api: httpx.Client, cursor: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(
        "/order/events", params={"from": cursor, "limit": 1000}
    ).json()["events"]
    return items


def cursor(api: httpx.Client) -> str:
    latest: str = api.get("/order/event-stats").json()["latestEvent"]["id"]
    return latest


def test_sellers_listing(sim: SimulatorProcess) -> None:
    sellers = sim.control("GET", "/sellers")["sellers"]
    assert [s["id"] for s in sellers] == ["10000001", "10000002"]
    assert sellers[0]["company"]["name"] == "Sklep Kowalski Sp. z o.o."


def test_purchase_creates_an_order_lowers_stock_and_emits_events(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    offer = api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 1}).json()[
        "offers"
    ][0]
    start = cursor(api)
    offer_cursor = api.get("/sale/offer-events", params={"limit": 1000}).json()["offerEvents"]
    order = sim.control(
        "POST",
        "/sellers/10000001/purchases",
        {"offerIds": [offer["id"]], "quantity": 2, "buyerLogin": "kupujacy_jan"},
    )
    assert order["status"] == "FILLED_IN"
    form = api.get(f"/order/checkout-forms/{order['id']}").json()
    assert form["buyer"]["login"] == "kupujacy_jan"
    assert form["lineItems"][0]["offer"]["id"] == offer["id"]
    assert form["lineItems"][0]["quantity"] == 2
    assert [e["type"] for e in new_events(api, start)] == ["BOUGHT", "FILLED_IN"]
    after = api.get(f"/sale/product-offers/{offer['id']}").json()
    assert after["stock"]["available"] == max(0, offer["stock"]["available"] - 2)
    params = {"from": offer_cursor[-1]["id"]} if offer_cursor else {}
    offer_events = api.get("/sale/offer-events", params=params).json()["offerEvents"]
    assert "OFFER_STOCK_CHANGED" in [e["type"] for e in offer_events]


def test_payment_and_cancellation(api: httpx.Client, sim: SimulatorProcess) -> None:
    first = sim.control("POST", "/sellers/10000001/purchases", {})
    second = sim.control("POST", "/sellers/10000001/purchases", {})
    start = cursor(api)
    paid = sim.control("POST", f"/orders/{first['id']}/payment")
    assert paid["status"] == "READY_FOR_PROCESSING"
    assert paid["payment"]["paidAmount"] == paid["summary"]["totalToPay"]
    sim.control("POST", f"/orders/{second['id']}/cancellation")
    assert api.get(f"/order/checkout-forms/{second['id']}").json()["status"] == "CANCELLED"
    assert [(e["type"], e["order"]["checkoutForm"]["id"]) for e in new_events(api, start)] == [
        ("READY_FOR_PROCESSING", first["id"]),
        ("BUYER_CANCELLED", second["id"]),
    ]
    again = httpx.post(f"{sim.url}/__sandbox__/orders/{first['id']}/payment")
    assert again.status_code == 422


def test_merge_replaces_old_forms(api: httpx.Client, sim: SimulatorProcess) -> None:
    first = sim.control(
        "POST", "/sellers/10000001/purchases", {"buyerLogin": "ola_kot", "fillIn": False}
    )
    second = sim.control("POST", "/sellers/10000001/purchases", {"buyerLogin": "ola_kot"})
    start = cursor(api)
    merged = sim.control("POST", "/orders/merge", {"orderIds": [first["id"], second["id"]]})
    assert api.get(f"/order/checkout-forms/{first['id']}").status_code == 404
    assert api.get(f"/order/checkout-forms/{second['id']}").status_code == 404
    form = api.get(f"/order/checkout-forms/{merged['id']}").json()
    line_ids = {li["id"] for li in form["lineItems"]}
    assert line_ids == {li["id"] for li in first["lineItems"] + second["lineItems"]}
    assert form["status"] == "READY_FOR_PROCESSING"
    types = [(e["type"], e["order"]["checkoutForm"]["id"]) for e in new_events(api, start)]
    assert types == [("FILLED_IN", merged["id"]), ("READY_FOR_PROCESSING", merged["id"])]
    listed = {f["id"] for f in api.get("/order/checkout-forms").json()["checkoutForms"]}
    assert merged["id"] in listed
    assert first["id"] not in listed


def test_merge_needs_one_buyer_and_unpaid_forms(sim: SimulatorProcess) -> None:
    first = sim.control("POST", "/sellers/10000001/purchases", {"buyerLogin": "ala_nowak"})
    other = sim.control("POST", "/sellers/10000001/purchases", {"buyerLogin": "jan_kot"})
    url = f"{sim.url}/__sandbox__/orders/merge"
    assert httpx.post(url, json={"orderIds": [first["id"], other["id"]]}).status_code == 422
    paid = sim.control(
        "POST", "/sellers/10000001/purchases", {"buyerLogin": "ala_nowak", "pay": True}
    )
    assert httpx.post(url, json={"orderIds": [first["id"], paid["id"]]}).status_code == 422
    assert httpx.post(url, json={"orderIds": [first["id"]]}).status_code == 422


def test_modification_on_allegros_side_bumps_revision(
    api: httpx.Client, sim: SimulatorProcess
) -> None:
    form = api.get("/order/checkout-forms", params={"limit": 1}).json()["checkoutForms"][0]
    start = cursor(api)
    changed = sim.control(
        "POST", f"/orders/{form['id']}/modification", {"note": "Prośba kupującego"}
    )
    assert changed["revision"] != form["revision"]
    assert [e["type"] for e in new_events(api, start)] == ["BUYER_MODIFIED"]
    sim.control("POST", f"/orders/{form['id']}/modification", {"fulfillmentStatus": "PICKED_UP"})
    assert [e["type"] for e in new_events(api, start)][-1] == "FULFILLMENT_STATUS_CHANGED"


def test_stats_count_paths_and_statuses(api: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control("DELETE", "/stats")
    api.get("/me")
    api.get("/me")
    api.get("/sale/offers")
    api.get("/me", headers={"Accept": "text/html"})
    stats = sim.control("GET", "/stats")
    assert stats["paths"]["GET /me"] == 3
    assert stats["paths"]["GET /sale/offers"] == 1
    assert stats["statuses"]["406"] == 1


@pytest.mark.allow_spec_violations
def test_violations_are_recorded_and_cleared(api: httpx.Client, sim: SimulatorProcess) -> None:
    api.get("/sale/offers", params={"limit": 5000})
    found = sim.control("GET", "/violations")["violations"]
    assert found[0]["kind"] == "request"
    assert found[0]["path"] == "/sale/offers"
    assert "limit" in found[0]["errors"][0]
    sim.control("DELETE", "/violations")
    assert sim.control("GET", "/violations")["violations"] == []


@pytest.mark.allow_spec_violations
def test_request_violation_answers_422_even_when_the_handler_accepts(api: httpx.Client) -> None:
    # the handler ignores unknown body fields, the spec does not allow a string stock
    offer = api.get("/sale/offers", params={"limit": 1}).json()["offers"][0]
    response = api.patch(f"/sale/product-offers/{offer['id']}", json={"stock": "many"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("Request does not match the spec")


def test_clock_and_settings(sim: SimulatorProcess) -> None:
    before = sim.control("GET", "/clock")
    after = sim.control("POST", "/clock", {"advance": 3600})
    assert after["offset"] == before["offset"] + 3600
    settings = sim.control("PUT", "/settings", {"access_ttl": 60, "operation_delay": 2})
    assert settings["access_ttl"] == 60
    assert settings["operation_delay"] == 2.0
    assert httpx.put(f"{sim.url}/__sandbox__/settings", json={"bogus": 1}).status_code == 400


def test_seed_is_deterministic(sim: SimulatorProcess) -> None:
    def snapshot() -> list[Any]:
        with api_client(sim, sim.token("10000001")) as client:
            listed = client.get("/sale/offers", params={"limit": 1000}).json()["offers"]
            forms = client.get("/order/checkout-forms").json()["checkoutForms"]
        return [(o["id"], o["name"], o["sellingMode"]["price"]) for o in listed] + [
            (f["id"], f["buyer"]["login"], [li["offer"]["id"] for li in f["lineItems"]])
            for f in forms
        ]

    first = snapshot()
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 30, "orders": 40, "seed": 42}})
    assert snapshot() == first
    sim.control("POST", "/reset", {"seed": {"sellers": 2, "offers": 30, "orders": 40, "seed": 7}})
    assert snapshot() != first


def test_seed_mix_of_statuses_and_marketplaces(sim: SimulatorProcess) -> None:
    sim.control("POST", "/reset", {"seed": {"sellers": 1, "offers": 400, "orders": 300}})
    with api_client(sim, sim.token("10000001")) as client:
        offers = client.get("/sale/offers", params={"limit": 1000}).json()["offers"]
        forms = [
            f
            for offset in range(0, 300, 100)
            for f in client.get("/order/checkout-forms", params={"offset": offset}).json()[
                "checkoutForms"
            ]
        ]
    assert {o["publication"]["status"] for o in offers} == {
        "ACTIVE",
        "ENDED",
        "INACTIVE",
        "ACTIVATING",
    }
    currencies = {
        p["sellingMode"]["price"]["currency"]
        for o in offers
        for p in o.get("additionalMarketplaces", {}).values()
    }
    assert currencies == {"CZK", "EUR"}
    assert {f["status"] for f in forms} >= {"READY_FOR_PROCESSING", "CANCELLED"}
    assert any("pickupPoint" in f["delivery"] for f in forms)
    assert all(f["buyer"]["email"].endswith("@allegromail.pl") for f in forms)


def test_state_survives_a_restart() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-restart-"))
    first = SimulatorProcess(data_dir=data_dir, validate=False).start()
    try:
        first.reset(sellers=1, offers=5, orders=5)
        token = first.token("10000001")
        with api_client(first, token) as client:
            offer = client.get("/sale/offers", params={"limit": 1}).json()["offers"][0]
            client.patch(f"/sale/product-offers/{offer['id']}", json={"stock": {"available": 321}})
    finally:
        first.stop()
    second = SimulatorProcess(data_dir=data_dir, validate=False).start()
    try:
        with api_client(second, token) as client:
            assert (
                client.get(f"/sale/product-offers/{offer['id']}").json()["stock"]["available"]
                == 321
            )
    finally:
        second.stop()


def test_auto_cancellation_of_an_unpaid_form(api: httpx.Client, sim: SimulatorProcess) -> None:
    unpaid = sim.control("POST", "/sellers/10000001/purchases", {})
    paid = sim.control("POST", "/sellers/10000001/purchases", {"pay": True})
    start = cursor(api)
    sim.control("POST", f"/orders/{unpaid['id']}/auto-cancellation")
    assert api.get(f"/order/checkout-forms/{unpaid['id']}").json()["status"] == "CANCELLED"
    assert [e["type"] for e in new_events(api, start)] == ["AUTO_CANCELLED"]
    refused = httpx.post(f"{sim.url}/__sandbox__/orders/{paid['id']}/auto-cancellation")
    assert refused.status_code == 422


def test_restore_brings_back_the_snapshot_exactly(api: httpx.Client, sim: SimulatorProcess) -> None:
    from tests.sandbox.test_oauth import refresh

    sim.control("POST", "/clock", {"advance": 120})
    pair = sim.control("POST", "/tokens", {"seller_id": "10000001", "client_id": sim.client_id})
    assert sim.control("POST", "/snapshot", {"name": "before-purchase"}) == {
        "snapshot": "before-purchase"
    }
    assert "before-purchase" in sim.control("GET", "/snapshot")["snapshots"]
    start = cursor(api)
    offers_before = api.get("/sale/offers", params={"limit": 1000}).json()

    # Everything after the snapshot: an order with events, a used refresh token, clock, faults.
    first = sim.control("POST", "/sellers/10000001/purchases", {"pay": True})
    first_events = new_events(api, start)
    assert refresh(sim, pair["refresh_token"]).status_code == 200
    assert refresh(sim, pair["refresh_token"]).status_code == 400  # used up
    sim.control("POST", "/clock", {"advance": 3600})
    sim.control("PUT", "/faults", {"error_rate": 1.0})

    assert sim.control("POST", "/restore", {"name": "before-purchase"}) == {
        "restored": "before-purchase"
    }
    assert sim.control("GET", "/faults")["error_rate"] == 0
    assert sim.control("GET", "/clock")["offset"] == 120
    assert sim.control("GET", "/stats")["paths"] == {}
    assert cursor(api) == start  # the token minted before the snapshot still works
    assert new_events(api, start) == []
    assert api.get("/sale/offers", params={"limit": 1000}).json() == offers_before
    assert api.get(f"/order/checkout-forms/{first['id']}").status_code == 404
    # The refresh token is unused again; the next order gets the same event ids as before.
    assert refresh(sim, pair["refresh_token"]).status_code == 200
    again = sim.control("POST", "/sellers/10000001/purchases", {"pay": True})
    assert again["status"] == first["status"]
    assert [e["id"] for e in new_events(api, start)] == [e["id"] for e in first_events]


def test_restore_needs_a_known_snapshot_with_a_safe_name(sim: SimulatorProcess) -> None:
    control = f"{sim.url}/__sandbox__"
    assert httpx.post(f"{control}/restore", json={"name": "never-taken"}).status_code == 404
    for bad in ("../escape", "", "a/b", ".hidden"):
        assert httpx.post(f"{control}/snapshot", json={"name": bad}).status_code == 400, bad
    assert httpx.post(f"{control}/snapshot", json={}).status_code == 400
