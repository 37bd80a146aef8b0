"""Market activity in the simulator between two syncs: what the incremental sync must catch.

Purchases (paid and unpaid), a payment, a cancellation, a merge of two unpaid forms (the old
ids then answer 404), a fulfillment change made on Allegro's side, a waybill, a price edit,
rating creation/edit/deletion, a new dispute and a buyer message, a new return policy.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from allegro.transport import tls_context
from sandbox.http import BETA, V1


def _api(sim: Any, seller_id: str) -> httpx.Client:
    return httpx.Client(
        base_url=sim.url,
        headers={"Authorization": f"Bearer {sim.token(seller_id)}", "Accept": V1},
        timeout=60,
        verify=tls_context(),
    )


def market_activity(sim: Any, seller_id: str, *, tag: str = "a") -> dict[str, Any]:
    """Run one round of activity; returns ids worth asserting on."""
    control = sim.control
    out: dict[str, Any] = {}
    # Two unpaid purchases by one buyer, then merged into a new form (old ids → 404).
    first = control("POST", f"/sellers/{seller_id}/purchases", {"buyerLogin": f"merge-{tag}"})
    second = control("POST", f"/sellers/{seller_id}/purchases", {"buyerLogin": f"merge-{tag}"})
    merged = control("POST", "/orders/merge", {"orderIds": [first["id"], second["id"]]})
    out["merged_from"] = [first["id"], second["id"]]
    out["merged_into"] = merged["id"]
    # Paid, unpaid then paid, cancelled.
    paid = control("POST", f"/sellers/{seller_id}/purchases", {"pay": True})
    later = control("POST", f"/sellers/{seller_id}/purchases", {})
    control("POST", f"/orders/{later['id']}/payment")
    cancelled = control("POST", f"/sellers/{seller_id}/purchases", {})
    control("POST", f"/orders/{cancelled['id']}/cancellation")
    # Allegro-side fulfillment change and a buyer note.
    control("POST", f"/orders/{paid['id']}/modification", {"fulfillmentStatus": "PROCESSING"})
    control("POST", f"/orders/{later['id']}/modification", {"note": f"note {tag}"})
    with _api(sim, seller_id) as api:
        # A waybill on a paid form (no order event: the reconciliation catches it).
        r = api.post(
            f"/order/checkout-forms/{paid['id']}/shipments",
            json={"carrierId": "INPOST", "waybill": f"WB{tag.upper()}{uuid.uuid4().hex[:10]}"},
            headers={"Content-Type": V1},
        )
        assert r.status_code == 201, r.text
        # A price edit on an active offer.
        listing = api.get("/sale/offers", params={"publication.status": "ACTIVE", "limit": 1})
        offer = listing.json()["offers"][0]
        amount = f"{float(offer['sellingMode']['price']['amount']) + 1:.2f}"
        r = api.patch(
            f"/sale/product-offers/{offer['id']}",
            json={"sellingMode": {"price": {"amount": amount, "currency": "PLN"}}},
            headers={"Content-Type": V1},
        )
        assert r.status_code in (200, 202), r.text
        out["offer_id"] = offer["id"]
        # Ratings: one new, one edited, one deleted.
        ratings = api.get("/sale/user-ratings", params={"limit": 100}).json()["ratings"]
        control("POST", f"/sellers/{seller_id}/ratings", {"comment": f"Nowa ocena {tag}"})
        if len(ratings) >= 2:
            control("PATCH", f"/ratings/{ratings[0]['id']}", {"comment": f"Zmieniona {tag}"})
            control("DELETE", f"/ratings/{ratings[-1]['id']}")
            out["deleted_rating"] = ratings[-1]["id"]
        # Disputes: a new one, and a buyer message on an open one.
        issues = api.get("/sale/issues", params={"limit": 100}, headers={"Accept": BETA})
        control("POST", f"/sellers/{seller_id}/issues", {"type": "DISPUTE", "text": f"Spór {tag}"})
        for issue in issues.json()["issues"]:
            if issue["currentState"]["chatActive"]:
                control("POST", f"/issues/{issue['id']}/messages", {"text": f"Halo {tag}"})
                break
        # A new return policy.
        r = api.post(
            "/after-sales-service-conditions/return-policies",
            json={
                "name": f"Zwroty {tag} {uuid.uuid4().hex[:6]}",
                "isFulfillment": False,
                "availability": {"range": "FULL"},
                "withdrawalPeriod": "P30D",
                "returnCost": {"coveredBy": "SELLER"},
                "address": {
                    "name": "Sklep",
                    "street": "Długa 1",
                    "postCode": "00-001",
                    "city": "Warszawa",
                    "countryCode": "PL",
                },
                "options": {
                    "cashOnDeliveryNotAllowed": False,
                    "freeAccessoriesReturnRequired": False,
                    "refundLoweredByReceivedDiscount": False,
                    "businessReturnAllowed": True,
                    "collectBySellerOnly": False,
                },
            },
            headers={"Content-Type": V1},
        )
        assert r.status_code == 201, r.text
    return out
