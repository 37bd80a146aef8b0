"""A request the simulator rejects changes nothing; ``Accept-Language`` is never refused.

Every handler runs inside one store transaction that is rolled back when the answer is an error
(the handler's own 4xx, or the 422 that validation mode answers instead of a success to a
request breaking the spec): documents, revisions and events stay as they were.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from sandbox.app import run_handler
from sandbox.http import BETA, Ctx, RouteTable
from sandbox.store import Store
from tests.plugins.simulator import errors_of

pytestmark = pytest.mark.sandbox

SWA = "/shipment-management"


# -- reading the state through the API -----------------------------------------------------------
def get_json(api: httpx.Client, path: str, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def get_json_as(api: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = api.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def new_order(api: httpx.Client) -> dict[str, Any]:
    """A paid form whose fulfillment is still ``NEW`` and has no tracking numbers."""
    forms = get_json(
        api,
        "/order/checkout-forms",
        status="READY_FOR_PROCESSING",
        **{"fulfillment.status": "NEW", "fulfillment.shipmentSummary.lineItemsSent": "NONE"},
        limit=1,
    )["checkoutForms"]
    assert forms, "the seed has no paid order waiting for the seller"
    form: dict[str, Any] = forms[0]
    return form


def order_state(api: httpx.Client, order_id: str) -> dict[str, Any]:
    """The form, its tracking numbers and the seller's whole order-event journal."""
    return {
        "form": get_json(api, f"/order/checkout-forms/{order_id}"),
        "waybills": get_json(api, f"/order/checkout-forms/{order_id}/shipments"),
        "events": get_json(api, "/order/events", limit=1000)["events"],
        "latest": get_json(api, "/order/event-stats"),
    }


def active_offer(api: httpx.Client) -> dict[str, Any]:
    offer: dict[str, Any] = get_json(
        api, "/sale/offers", **{"publication.status": "ACTIVE", "limit": 1}
    )["offers"][0]
    return offer


def offer_state(api: httpx.Client, offer_id: str) -> dict[str, Any]:
    return {
        "offer": get_json(api, f"/sale/product-offers/{offer_id}"),
        "events": get_json(api, "/sale/offer-events", limit=1000)["offerEvents"],
    }


def assert_rejected(response: httpx.Response, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert errors_of(response)


# -- spec-invalid writes answered 4xx change nothing ---------------------------------------------
@pytest.mark.allow_spec_violations
def test_invalid_fulfillment_change_keeps_status_revision_and_events(api: httpx.Client) -> None:
    form = new_order(api)
    before = order_state(api, form["id"])
    # a valid status next to a summary value the spec does not know: the whole request is 422
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": form["revision"]},
        json={"status": "PROCESSING", "shipmentSummary": {"lineItemsSent": "HALF"}},
    )
    assert_rejected(response)
    after = order_state(api, form["id"])
    assert after["form"]["fulfillment"]["status"] == "NEW"
    assert after == before


def test_valid_fulfillment_change_still_applies(api: httpx.Client) -> None:
    form = new_order(api)
    before = order_state(api, form["id"])
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": form["revision"]},
        json={"status": "PROCESSING"},
    )
    assert response.status_code == 204, response.text
    after = order_state(api, form["id"])
    assert after["form"]["fulfillment"]["status"] == "PROCESSING"
    assert after["form"]["revision"] != before["form"]["revision"]
    new_events = after["events"][len(before["events"]) :]
    assert [(e["type"], e["order"]["checkoutForm"]["id"]) for e in new_events] == [
        ("FULFILLMENT_STATUS_CHANGED", form["id"])
    ]


def test_fulfillment_conflict_changes_nothing(api: httpx.Client) -> None:
    form = new_order(api)
    before = order_state(api, form["id"])
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": "stale"},
        json={"status": "PROCESSING"},
    )
    assert_rejected(response, 409)
    assert order_state(api, form["id"]) == before


@pytest.mark.allow_spec_violations
def test_invalid_offer_patch_keeps_price_stock_and_events(api: httpx.Client) -> None:
    offer = active_offer(api)
    before = offer_state(api, offer["id"])
    stock = before["offer"]["stock"]["available"]
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={
            "sellingMode": {"price": {"amount": "123.45", "currency": "PLN"}},
            "stock": {"available": stock + 5},
            "name": "Nowa nazwa oferty testowej",
            "location": "Kraków",  # not stored by the simulator, but the spec wants an object
        },
    )
    assert_rejected(response)
    after = offer_state(api, offer["id"])
    assert after["offer"]["stock"]["available"] == stock
    assert after == before


def test_valid_offer_patch_still_applies(api: httpx.Client) -> None:
    offer = active_offer(api)
    before = offer_state(api, offer["id"])
    response = api.patch(
        f"/sale/product-offers/{offer['id']}",
        json={"sellingMode": {"price": {"amount": "123.45", "currency": "PLN"}}},
    )
    assert response.status_code == 200, response.text
    after = offer_state(api, offer["id"])
    assert after["offer"]["sellingMode"]["price"]["amount"] == "123.45"
    new_events = after["events"][len(before["events"]) :]
    assert [e["type"] for e in new_events] == ["OFFER_PRICE_CHANGED"]


@pytest.mark.allow_spec_violations
def test_invalid_tracking_number_is_not_stored(api: httpx.Client) -> None:
    form = new_order(api)
    before = order_state(api, form["id"])
    response = api.post(
        f"/order/checkout-forms/{form['id']}/shipments",
        json={"carrierId": "DPD", "waybill": "DPD-0001", "carrierName": 12},
    )
    assert_rejected(response)
    after = order_state(api, form["id"])
    assert after["waybills"] == {"shipments": []}
    assert after == before


@pytest.mark.allow_spec_violations
def test_invalid_batch_command_leaves_its_id_unused(api: httpx.Client) -> None:
    offer = active_offer(api)
    before = offer_state(api, offer["id"])
    command_id = str(uuid.uuid4())
    url = f"/sale/offer-price-change-commands/{command_id}"
    modification: dict[str, Any] = {
        "type": "FIXED_PRICE",
        "price": {"amount": "19.99", "currency": "PLN"},
    }
    body: dict[str, Any] = {
        "modification": modification,
        "offerCriteria": [{"type": "CONTAINS_OFFERS", "offers": [{"id": offer["id"]}]}],
    }
    invalid = {**body, "modification": {**modification, "marketplaceId": 5}}
    assert_rejected(api.put(url, json=invalid))
    assert offer_state(api, offer["id"]) == before
    assert api.get(url).status_code == 404
    # the id was never taken: the same command, now valid, runs (not 409)
    assert api.put(url, json=body).status_code == 201
    after = offer_state(api, offer["id"])
    assert after["offer"]["sellingMode"]["price"]["amount"] == "19.99"


@pytest.mark.allow_spec_violations
def test_invalid_dispute_message_is_not_posted(api: httpx.Client) -> None:
    beta = {"Accept": BETA, "Content-Type": BETA}
    issues = get_json_as(api, "/sale/issues", beta, limit=100)["issues"]
    issue = next(i for i in issues if i["currentState"]["chatActive"])

    def dispute() -> dict[str, Any]:
        return {
            "issue": get_json_as(api, f"/sale/issues/{issue['id']}", beta),
            "chat": get_json_as(api, f"/sale/issues/{issue['id']}/chat", beta),
        }

    before = dispute()
    response = api.post(
        f"/sale/issues/{issue['id']}/message",
        json={"text": "Dzień dobry, paczka jest w drodze.", "type": "REGULAR", "attachments": None},
        headers=beta,
    )
    assert_rejected(response)
    assert dispute() == before


@pytest.mark.allow_spec_violations
def test_invalid_swa_shipment_command_is_not_registered(api: httpx.Client) -> None:
    order = get_json(api, "/order/checkout-forms", status="READY_FOR_PROCESSING", limit=1)
    order_id = order["checkoutForms"][0]["id"]
    suggested = get_json(api, f"{SWA}/delivery-proposals/{order_id}")["suggestedInput"]
    command_id = str(uuid.uuid4())
    response = api.post(
        f"{SWA}/shipments/create-commands",
        json={"commandId": command_id, "input": {**suggested, "referenceNumber": 5}},
    )
    assert_rejected(response)
    assert api.get(f"{SWA}/shipments/create-commands/{command_id}").status_code == 404
    # the same command id, now valid, is accepted (it was never taken)
    response = api.post(
        f"{SWA}/shipments/create-commands", json={"commandId": command_id, "input": suggested}
    )
    assert response.status_code == 200, response.text


# -- Accept-Language: any language answers, messages in Polish or English ----------------------
LANGUAGES = ["pl-PL", "pl", "en-US", "pl-PL,pl;q=0.9,en-US;q=0.8", "de-DE"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_any_accept_language_answers_normally(api: httpx.Client, language: str) -> None:
    headers = {"Accept-Language": language}
    form = new_order(api)
    # this operation declares only en-US: Allegro falls back to English, it does not refuse
    response = api.put(
        f"/order/checkout-forms/{form['id']}/fulfillment",
        params={"checkoutForm.revision": form["revision"]},
        json={"status": "PROCESSING"},
        headers=headers,
    )
    assert response.status_code == 204, response.text
    assert get_json(api, f"/order/checkout-forms/{form['id']}")["fulfillment"]["status"] == (
        "PROCESSING"
    )
    events = api.get("/sale/offer-events", params={"limit": 10}, headers=headers)
    assert events.status_code == 200, events.text
    offers = api.get("/sale/offers", params={"limit": 1}, headers=headers)
    assert offers.status_code == 200, offers.text


@pytest.mark.parametrize(
    ("language", "polish"),
    [("pl-PL", True), ("pl", True), ("pl-PL,en;q=0.5", True), ("en-US", False), ("de-DE", False)],
)
def test_error_messages_follow_the_language_or_fall_back_to_english(
    api: httpx.Client, language: str, polish: bool
) -> None:
    response = api.put(
        "/order/checkout-forms/5a2c1d2e-0000-4000-8000-000000000000/fulfillment",
        json={"status": "PROCESSING"},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 404
    error = errors_of(response)[0]
    assert error["message"].startswith("Checkout form")
    if polish:
        assert error["userMessage"] == "Nie znaleziono zasobu."
    else:
        assert error["userMessage"] == error["message"]


# -- the mechanism, in-process ---------------------------------------------------------------------
def test_store_atomic_rolls_back_nested_writes_and_events(tmp_path: Path) -> None:
    store = Store(tmp_path / "sandbox.sqlite3")
    try:
        store.doc_put(kind="note", id_="a", seller_id="1", doc={"v": 1})
        with store.atomic() as tx:
            store.doc_put(kind="note", id_="a", seller_id="1", doc={"v": 2})
            with store.tx():
                store.add_event(
                    stream="order",
                    seller_id="1",
                    type_="X",
                    occurred_at=0.0,
                    subject_id="a",
                    doc={},
                )
            assert store.count("SELECT COUNT(*) FROM events", ()) == 1
            tx.rollback()
        assert store.doc_get(kind="note", id_="a") == {"v": 1}
        assert store.count("SELECT COUNT(*) FROM events", ()) == 0

        def failing_write() -> None:
            with store.tx():
                store.doc_put(kind="note", id_="b", seller_id="1", doc={})
                raise ValueError("inner")

        with store.atomic():
            with pytest.raises(ValueError, match="inner"):
                failing_write()
            store.doc_put(kind="note", id_="c", seller_id="1", doc={})
        assert store.doc_get(kind="note", id_="b") is None
        assert store.doc_get(kind="note", id_="c") == {}
        # event ids are not burnt by a rolled-back append
        seq = store.add_event(
            stream="order", seller_id="1", type_="Y", occurred_at=0.0, subject_id="a", doc={}
        )
        assert seq == 1
    finally:
        store.close()


def test_a_handler_that_suspends_inside_its_transaction_is_an_error() -> None:
    table = RouteTable()

    @table.route("GET", "/sleepy")
    async def sleepy(ctx: Ctx) -> Response:
        await asyncio.sleep(0)
        return ctx.empty()

    @table.route("GET", "/quick")
    async def quick(ctx: Ctx) -> Response:
        return ctx.empty(204)

    slow_route, quick_route = table.routes
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})

    def ctx_for(route: Any) -> Ctx:
        return Ctx(request=request, route=route, state=None, claims=None)  # type: ignore[arg-type]

    assert run_handler(quick_route, ctx_for(quick_route)).status_code == 204
    with pytest.raises(RuntimeError, match="suspended"):
        run_handler(slow_route, ctx_for(slow_route))
