"""Orders (checkout forms): storage columns, revisions, mutations and the order events they emit."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from sandbox.http import ApiError
from sandbox.state import State, iso
from sandbox.store import Store

ORDER_COLUMNS = (
    "id, seller_id, status, fulfillment_status, provider, line_items_sent, bought_at, "
    "updated_at, buyer_login, "
    "marketplace, payment_id, delivery_method_id, surcharge_ids, revision, merged_into, doc"
)
INSERT_ORDER = f"INSERT OR REPLACE INTO orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * 16)})"  # noqa: S608
CARRIERS = (
    ("ALLEGRO", "Allegro"),
    ("INPOST", "InPost"),
    ("DPD", "DPD"),
    ("DHL", "DHL"),
    ("UPS", "UPS"),
    ("GLS", "GLS"),
    ("FEDEX", "FedEx"),
    ("POCZTA_POLSKA", "Poczta Polska"),
    ("ORLEN_PACZKA", "Orlen Paczka"),
    ("PACZKA_W_RUCHU", "Paczka w Ruchu"),
    ("AMBRO_EXPRESS", "Ambro Express"),
    ("PATRON_SERVICE", "Patron Service"),
    ("PEKAES", "Pekaes"),
    ("GEIS", "Geis"),
    ("RABEN", "Raben"),
    ("DB_SCHENKER", "DB Schenker"),
    ("CZECH_POST", "Česká pošta"),
    ("SLOVAK_POST", "Slovenská pošta"),
    ("OTHER", "Inny przewoźnik"),
)
SELLER_FULFILLMENT = (
    "NEW",
    "PROCESSING",
    "READY_FOR_SHIPMENT",
    "READY_FOR_PICKUP",
    "SENT",
    "PICKED_UP",
    "CANCELLED",
    "SUSPENDED",
)


def next_revision(previous: str, salt: str) -> str:
    return hashlib.sha1(f"{previous}:{salt}".encode(), usedforsecurity=False).hexdigest()[:8]


def order_row(
    doc: dict[str, Any], *, seller_id: str, merged_into: str | None = None
) -> tuple[Any, ...]:
    bought = min(li["boughtAt"] for li in doc["lineItems"])
    return (
        doc["id"],
        seller_id,
        doc["status"],
        doc["fulfillment"]["status"],
        doc["fulfillment"]["provider"]["id"],
        doc["fulfillment"]["shipmentSummary"]["lineItemsSent"],
        bought,
        doc["updatedAt"],
        doc["buyer"]["login"],
        doc["marketplace"]["id"],
        (doc.get("payment") or {}).get("id"),
        ((doc.get("delivery") or {}).get("method") or {}).get("id"),
        ",".join(s["id"] for s in doc.get("surcharges", [])),
        doc["revision"],
        merged_into,
        orjson.dumps(doc),
    )


def event_body(
    doc: dict[str, Any], *, seller_id: str, type_: str, occurred_at: str
) -> dict[str, Any]:
    buyer = doc["buyer"]
    return {
        "order": {
            "seller": {"id": seller_id},
            "buyer": {
                "id": buyer["id"],
                "email": buyer["email"],
                "login": buyer["login"],
                "guest": buyer["guest"],
                "preferences": buyer.get("preferences", {"language": "pl-PL"}),
            },
            "lineItems": [
                {
                    "id": li["id"],
                    "offer": {
                        "id": li["offer"]["id"],
                        "name": li["offer"]["name"],
                        "external": li["offer"].get("external", {}),
                    },
                    "quantity": li["quantity"],
                    "originalPrice": li["originalPrice"],
                    "price": li["price"],
                    "boughtAt": li["boughtAt"],
                }
                for li in doc["lineItems"]
            ],
            "checkoutForm": {"id": doc["id"], "revision": doc["revision"]},
            "marketplace": doc["marketplace"],
        },
        "type": type_,
        "occurredAt": occurred_at,
    }


def load_order(store: Store, *, seller_id: str, order_id: str) -> dict[str, Any] | None:
    row = store.one(
        "SELECT doc FROM orders WHERE id = ? AND seller_id = ? AND merged_into IS NULL",
        (order_id, seller_id),
    )
    if row is None:
        return None
    doc: dict[str, Any] = orjson.loads(row[0])
    return doc


def require_order(store: Store, *, seller_id: str, order_id: str) -> dict[str, Any]:
    doc = load_order(store, seller_id=seller_id, order_id=order_id)
    if doc is None:
        raise ApiError(404, "NOT_FOUND", f"Checkout form {order_id} not found", path="id")
    return doc


def save_order(
    state: State, doc: dict[str, Any], *, seller_id: str, events: tuple[str, ...] = ()
) -> None:
    """Bump the revision and ``updatedAt``, store, and emit ``events`` (in order)."""
    now = state.clock.now()
    doc["updatedAt"] = iso(now)
    doc["revision"] = next_revision(doc.get("revision", ""), f"{now}:{len(events)}")
    state.store.execute(INSERT_ORDER, order_row(doc, seller_id=seller_id))
    for type_ in events:
        if type_ == "READY_FOR_PROCESSING" and state.faults.roll(
            state.faults.skip_ready_for_processing_rate
        ):
            continue
        state.store.add_event(
            stream="order",
            seller_id=seller_id,
            type_=type_,
            occurred_at=now,
            subject_id=doc["id"],
            doc=event_body(doc, seller_id=seller_id, type_=type_, occurred_at=iso(now)),
        )


def set_fulfillment(state: State, *, seller_id: str, doc: dict[str, Any], status: str) -> None:
    if doc["fulfillment"]["status"] == status:
        return
    doc["fulfillment"]["status"] = status
    save_order(state, doc, seller_id=seller_id, events=("FULFILLMENT_STATUS_CHANGED",))


def sent_summary(doc: dict[str, Any], sent_ids: set[str]) -> str:
    ids = {li["id"] for li in doc["lineItems"]}
    covered = ids & sent_ids
    if not covered:
        return "NONE"
    return "ALL" if covered == ids else "SOME"
