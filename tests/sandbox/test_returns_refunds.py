"""Customer returns (beta), payment refunds and commission refund claims, spec validation on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.http import BETA
from sandbox.testing import SimulatorProcess
from tests.plugins.simulator import api_client, errors_of

pytestmark = pytest.mark.sandbox


@pytest.fixture
def beta(sim: SimulatorProcess, seller_token: str) -> Iterator[httpx.Client]:
    with api_client(sim, seller_token, accept=BETA) as client:
        yield client


def returns(beta: httpx.Client, **params: Any) -> dict[str, Any]:
    response = beta.get("/order/customer-returns", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(BETA)
    data: dict[str, Any] = response.json()
    return data


def paid_order(api: httpx.Client, *, skip: int = 0) -> dict[str, Any]:
    forms = api.get("/order/checkout-forms", params={"status": "READY_FOR_PROCESSING"}).json()
    form: dict[str, Any] = forms["checkoutForms"][skip]
    return form


def test_seeded_returns_in_every_state_oldest_first(beta: httpx.Client) -> None:
    data = returns(beta)
    items = data["customerReturns"]
    assert data["count"] == len(items) >= 4
    assert {"CREATED", "IN_TRANSIT", "DELIVERED", "REJECTED"} <= {r["status"] for r in items}
    created = [r["createdAt"] for r in items]
    assert created == sorted(created)
    rejected = next(r for r in items if r["status"] == "REJECTED")
    assert rejected["rejection"]["code"] == "REFUND_REJECTED"
    assert all(r["parcels"][0]["waybill"] and r["items"][0]["quantity"] >= 1 for r in items)
    # filters and the ``from`` cursor
    assert returns(beta, status="DELIVERED")["count"] == 1
    first = items[0]
    assert [r["id"] for r in returns(beta, orderId=first["orderId"])["customerReturns"]] == [
        first["id"]
    ]
    waybill = first["parcels"][0]["waybill"]
    assert returns(beta, **{"parcels.waybill": waybill})["count"] == 1
    after = returns(beta, **{"from": first["id"]})["customerReturns"]
    assert [r["id"] for r in after] == [r["id"] for r in items[1:]]
    assert len(returns(beta, limit=2, offset=1)["customerReturns"]) == 2


def test_buyer_starts_a_return_the_parcel_travels_and_a_refund_finishes_it(
    sim: SimulatorProcess, beta: httpx.Client, api: httpx.Client, seller_id: str
) -> None:
    order = paid_order(api)
    started = sim.control(
        "POST", f"/sellers/{seller_id}/customer-returns", {"orderId": order["id"]}
    )
    assert started["status"] == "CREATED"
    assert started["orderId"] == order["id"]
    got = beta.get(f"/order/customer-returns/{started['id']}").json()
    assert got == started
    for expected in ("DISPATCHED", "IN_TRANSIT", "DELIVERED"):
        moved = sim.control("POST", f"/customer-returns/{started['id']}/parcel")
        assert moved["status"] == expected
    assert moved["parcels"][0]["transportingWaybill"] == moved["parcels"][0]["waybill"]
    li = order["lineItems"][0]
    refund = api.post(
        "/payments/refunds",
        json={
            "payment": {"id": order["payment"]["id"]},
            "order": {"id": order["id"]},
            "commandId": str(uuid.uuid4()),
            "reason": "REFUND",
            "lineItems": [{"id": li["id"], "type": "QUANTITY", "quantity": 1}],
        },
    )
    assert refund.status_code == 200, refund.text
    assert beta.get(f"/order/customer-returns/{started['id']}").json()["status"] == "FINISHED"
    assert beta.get("/order/customer-returns/nope").status_code == 404


def test_rejection_codes_reason_and_once_only(
    sim: SimulatorProcess, beta: httpx.Client, api: httpx.Client, seller_id: str
) -> None:
    started = sim.control("POST", f"/sellers/{seller_id}/customer-returns", {})
    path = f"/order/customer-returns/{started['id']}/rejection"
    missing = beta.post(path, json={"rejection": {"code": "REFUND_REJECTED"}})
    assert missing.status_code == 422
    assert errors_of(missing)[0]["path"] == "rejection.reason"
    done = beta.post(path, json={"rejection": {"code": "ITEM_FIXED"}})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "REJECTED"
    assert done.json()["rejection"]["code"] == "ITEM_FIXED"
    again = beta.post(path, json={"rejection": {"code": "NEW_ITEM_SENT"}})
    assert again.status_code == 422
    assert beta.get(f"/order/customer-returns/{started['id']}").json()["rejection"]["code"] == (
        "ITEM_FIXED"
    )


@pytest.mark.allow_spec_violations
def test_rejection_outside_the_spec_is_refused(
    sim: SimulatorProcess, beta: httpx.Client, seller_id: str
) -> None:
    started = sim.control("POST", f"/sellers/{seller_id}/customer-returns", {})
    path = f"/order/customer-returns/{started['id']}/rejection"
    assert beta.post(path, json={"rejection": {"code": "BECAUSE"}}).status_code == 400
    long = beta.post(path, json={"rejection": {"code": "REFUND_REJECTED", "reason": "x" * 251}})
    assert long.status_code == 400
    assert beta.get(f"/order/customer-returns/{started['id']}").json()["status"] == "CREATED"
    assert beta.get("/order/customer-returns", params={"limit": 1001}).status_code == 400


def refund_body(order: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "payment": {"id": order["payment"]["id"]},
        "order": {"id": order["id"]},
        "commandId": str(uuid.uuid4()),
        "reason": "REFUND",
        **extra,
    }


def test_refund_is_idempotent_on_command_id_and_bounded_by_the_payment(
    sim: SimulatorProcess, api: httpx.Client
) -> None:
    order = paid_order(api, skip=1)
    li = order["lineItems"][0]
    body = refund_body(
        order,
        lineItems=[
            {"id": li["id"], "type": "AMOUNT", "value": {"amount": "1.00", "currency": "PLN"}}
        ],
    )
    first = api.post("/payments/refunds", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "IN_PROGRESS"
    again = api.post("/payments/refunds", json=body)
    assert again.json()["id"] == first.json()["id"]
    listed = api.get("/payments/refunds", params={"order.id": order["id"]}).json()
    assert [r["id"] for r in listed["refunds"]] == [first.json()["id"]]
    assert listed["refunds"][0]["status"] == "SUCCESS"  # command_delay 0: done on the next read
    assert listed["refunds"][0]["totalValue"] == {"amount": "1.00", "currency": "PLN"}
    # More than the line item: refused, nothing stored.
    paid_for_item = Decimal(li["price"]["amount"]) * li["quantity"]
    too_much = api.post(
        "/payments/refunds",
        json=refund_body(
            order,
            lineItems=[
                {
                    "id": li["id"],
                    "type": "AMOUNT",
                    "value": {"amount": f"{paid_for_item:.2f}", "currency": "PLN"},
                }
            ],
        ),
    )
    assert too_much.status_code == 422
    assert errors_of(too_much)[0]["path"] == "lineItems[0].value.amount"
    over_qty = api.post(
        "/payments/refunds",
        json=refund_body(
            order, lineItems=[{"id": li["id"], "type": "QUANTITY", "quantity": li["quantity"] + 1}]
        ),
    )
    assert over_qty.status_code == 422
    cost = Decimal(order["delivery"]["cost"]["amount"])
    delivery = api.post(
        "/payments/refunds",
        json=refund_body(
            order, delivery={"value": {"amount": f"{cost + 1:.2f}", "currency": "PLN"}}
        ),
    )
    assert delivery.status_code == 422
    assert errors_of(delivery)[0]["path"] == "delivery.value.amount"
    foreign = api.post(
        "/payments/refunds",
        json=refund_body(
            order, lineItems=[{"id": str(uuid.uuid4()), "type": "QUANTITY", "quantity": 1}]
        ),
    )
    assert foreign.status_code == 422
    assert (
        len(api.get("/payments/refunds", params={"order.id": order["id"]}).json()["refunds"]) == 1
    )


def test_refund_filters_status_and_cancellation(sim: SimulatorProcess, api: httpx.Client) -> None:
    order = paid_order(api, skip=2)
    li = order["lineItems"][0]
    made = api.post(
        "/payments/refunds",
        json=refund_body(order, lineItems=[{"id": li["id"], "type": "QUANTITY", "quantity": 1}]),
    ).json()
    sim.control("POST", f"/refunds/{made['id']}/cancellation")
    assert (
        api.get("/payments/refunds", params={"status": "CANCELED"}).json()["refunds"][0]["id"]
        == (made["id"])
    )
    assert (
        api.get("/payments/refunds", params={"status": "SUCCESS", "id": made["id"]}).json()[
            "refunds"
        ]
        == []
    )
    # the canceled refund gave the money back: the same item can be refunded again
    again = api.post(
        "/payments/refunds",
        json=refund_body(order, lineItems=[{"id": li["id"], "type": "QUANTITY", "quantity": 1}]),
    )
    assert again.status_code == 200, again.text


def unpaid_line_item(api: httpx.Client) -> dict[str, Any]:
    forms = api.get("/order/checkout-forms", params={"status": "CANCELLED"}).json()["checkoutForms"]
    if not forms:
        forms = api.get("/order/checkout-forms", params={"status": "BOUGHT"}).json()[
            "checkoutForms"
        ]
    item: dict[str, Any] = forms[0]["lineItems"][0]
    return item


def test_commission_refund_claims(sim: SimulatorProcess, api: httpx.Client, seller_id: str) -> None:
    unpaid = sim.control("POST", f"/sellers/{seller_id}/purchases", {"pay": False})
    li = unpaid["lineItems"][0]
    created = api.post("/order/refund-claims", json={"lineItem": {"id": li["id"]}, "quantity": 1})
    assert created.status_code == 201, created.text
    claim_id = created.json()["id"]
    claim = api.get(f"/order/refund-claims/{claim_id}").json()
    assert claim["status"] == "IN_PROGRESS"
    assert claim["lineItem"]["id"] == li["id"]
    listed = api.get("/order/refund-claims", params={"status": "IN_PROGRESS"}).json()
    assert claim_id in [c["id"] for c in listed["refundClaims"]]
    over = api.post(
        "/order/refund-claims", json={"lineItem": {"id": li["id"]}, "quantity": li["quantity"]}
    )
    assert over.status_code == 422
    paid_li = paid_order(api)["lineItems"][0]
    paid = api.post("/order/refund-claims", json={"lineItem": {"id": paid_li["id"]}, "quantity": 1})
    assert paid.status_code == 422
    assert api.delete(f"/order/refund-claims/{claim_id}").status_code == 204
    assert api.get(f"/order/refund-claims/{claim_id}").json()["status"] == "CANCELLED"
    assert api.delete(f"/order/refund-claims/{claim_id}").status_code == 422
