"""Orders: checkout forms, order events and their cursor, fulfillment, carriers, tracking."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from allegro import paging
from allegro.api._base import (
    JsonDict,
    Money,
    Traced,
    body,
    dig,
    items,
    obj,
    opt_str,
    parse_time,
    text,
)
from allegro.client import AllegroClient
from allegro.transport import QueryValue

FulfillmentStatus = Literal[
    "NEW",
    "PROCESSING",
    "READY_FOR_SHIPMENT",
    "READY_FOR_PICKUP",
    "SENT",
    "PICKED_UP",
    "CANCELLED",
    "SUSPENDED",
    "RETURNED",
]
# RETURNED is set by Allegro only; the seller may not send it.
SELLER_SETTABLE_STATUSES: tuple[FulfillmentStatus, ...] = (
    "NEW",
    "PROCESSING",
    "READY_FOR_SHIPMENT",
    "READY_FOR_PICKUP",
    "SENT",
    "PICKED_UP",
    "CANCELLED",
    "SUSPENDED",
)


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time of a document (``...Z`` or with an offset; naive means UTC)."""
    return parse_time(value)


@dataclass(frozen=True, kw_only=True)
class DispatchWindow:
    """``delivery.time.dispatch``: when the seller should hand the parcel over (either end may
    be missing, e.g. for personal pick-up)."""

    earliest: datetime | None = None
    latest: datetime | None = None

    @classmethod
    def parse(cls, checkout_form: Any) -> DispatchWindow:
        window = dig(checkout_form, "delivery", "time", "dispatch")
        if not isinstance(window, dict):
            return cls()
        return cls(
            earliest=parse_instant(window.get("from")), latest=parse_instant(window.get("to"))
        )


@dataclass(frozen=True, kw_only=True)
class Address:
    """A delivery address, a pickup point or an invoice address.

    ``lines`` is what a person reads (name, company, street, post code and city, country, phone,
    description); ``raw`` is the sub-document as Allegro sent it.
    """

    id: str = ""  # a pickup point's id
    lines: tuple[str, ...] = ()
    tax_id: str = ""  # an invoice address's ``company.taxId``
    raw: JsonDict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: Any) -> Address | None:
        """``None`` when there is no address (missing, empty or not an object)."""
        if not isinstance(data, dict) or not data:
            return None
        name = " ".join(text(data.get(k)) for k in ("firstName", "lastName")).strip()
        inner = obj(data.get("address")) or data
        lines = (
            name,
            text(data.get("companyName") or data.get("name") or ""),
            text(inner.get("street")),
            " ".join(text(inner.get(k)) for k in ("zipCode", "postCode", "city")).strip(),
            text(inner.get("countryCode")),
            text(data.get("phoneNumber")),
            text(data.get("description")),
        )
        return cls(
            id=text(data.get("id")),
            lines=tuple(line for line in lines if line),
            tax_id=text(dig(data, "company", "taxId")),
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class Buyer:
    id: str = ""
    login: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""

    @classmethod
    def parse(cls, data: Any) -> Buyer:
        return cls(
            id=text(dig(data, "id")),
            login=text(dig(data, "login")),
            email=text(dig(data, "email")),
            first_name=text(dig(data, "firstName")),
            last_name=text(dig(data, "lastName")),
            company_name=text(dig(data, "companyName")),
        )


@dataclass(frozen=True, kw_only=True)
class Delivery:
    method_id: str = ""
    method_name: str = ""
    address: Address | None = None
    pickup_point: Address | None = None
    dispatch: DispatchWindow = DispatchWindow()

    @classmethod
    def parse(cls, checkout_form: Any) -> Delivery:
        data = dig(checkout_form, "delivery")
        return cls(
            method_id=text(dig(data, "method", "id")),
            method_name=text(dig(data, "method", "name")),
            address=Address.parse(dig(data, "address")),
            pickup_point=Address.parse(dig(data, "pickupPoint")),
            dispatch=DispatchWindow.parse(checkout_form),
        )


@dataclass(frozen=True, kw_only=True)
class Payment:
    id: str = ""
    type: str = ""
    provider: str = ""
    paid: Money | None = None
    finished_at: datetime | None = None

    @classmethod
    def parse(cls, data: Any) -> Payment:
        return cls(
            id=text(dig(data, "id")),
            type=text(dig(data, "type")),
            provider=text(dig(data, "provider")),
            paid=Money.parse(dig(data, "paidAmount")),
            finished_at=parse_time(dig(data, "finishedAt")),
        )


@dataclass(frozen=True, kw_only=True)
class Invoice:
    required: bool = False
    address: Address | None = None

    @classmethod
    def parse(cls, data: Any) -> Invoice:
        return cls(
            required=bool(dig(data, "required")), address=Address.parse(dig(data, "address"))
        )


@dataclass(frozen=True, kw_only=True)
class LineItem:
    id: str
    offer_id: str | None
    offer_name: str | None
    quantity: int
    price: Money | None
    bought_at: datetime | None

    @classmethod
    def parse(cls, data: JsonDict) -> LineItem:
        return cls(
            id=text(data.get("id")),
            offer_id=opt_str(dig(data, "offer", "id")),
            offer_name=opt_str(dig(data, "offer", "name")),
            quantity=int(data.get("quantity") or 0),
            price=Money.parse(data.get("price")),
            bought_at=parse_time(data.get("boughtAt")),
        )


@dataclass(frozen=True, kw_only=True)
class CheckoutForm(Traced):
    """``CheckoutForm``: an order as Allegro describes it (``raw`` is kept for storage)."""

    id: str
    status: str
    revision: str | None
    buyer: Buyer
    delivery: Delivery
    payment: Payment
    invoice: Invoice
    fulfillment_status: str | None
    line_items_sent: str | None
    total_to_pay: Money | None
    marketplace: str | None
    message_to_seller: str
    updated_at: datetime | None
    line_items: list[LineItem]

    @property
    def dispatch(self) -> DispatchWindow:
        return self.delivery.dispatch

    @property
    def bought_at(self) -> datetime | None:
        """When the first line was bought (a form's lines may be bought at different times)."""
        times = [li.bought_at for li in self.line_items if li.bought_at is not None]
        return min(times) if times else None

    @property
    def needs_shipments(self) -> bool:
        """Only a form with something sent can have tracking numbers worth a request."""
        return self.line_items_sent in {"SOME", "ALL"}

    def is_newer_than(self, other: CheckoutForm) -> bool:
        """Not older than ``other`` by ``updatedAt`` (unknown times count as newer)."""
        if self.updated_at is None or other.updated_at is None:
            return True
        return self.updated_at >= other.updated_at

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> CheckoutForm:
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            revision=opt_str(data.get("revision")),
            buyer=Buyer.parse(data.get("buyer")),
            delivery=Delivery.parse(data),
            payment=Payment.parse(data.get("payment")),
            invoice=Invoice.parse(data.get("invoice")),
            fulfillment_status=opt_str(dig(data, "fulfillment", "status")),
            line_items_sent=opt_str(dig(data, "fulfillment", "shipmentSummary", "lineItemsSent")),
            total_to_pay=Money.parse(dig(data, "summary", "totalToPay")),
            marketplace=opt_str(dig(data, "marketplace", "id")),
            message_to_seller=text(data.get("messageToSeller")),
            updated_at=parse_time(data.get("updatedAt")),
            line_items=[LineItem.parse(li) for li in items(data, "lineItems")],
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class CheckoutFormsPage(Traced):
    checkout_forms: list[CheckoutForm]
    count: int
    total_count: int


@dataclass(frozen=True, kw_only=True)
class CheckoutFormFilters:
    status: str | None = None
    fulfillment_status: str | None = None
    line_items_sent: str | None = None
    bought_at_gte: str | None = None
    bought_at_lte: str | None = None
    updated_at_gte: str | None = None
    updated_at_lte: str | None = None
    buyer_login: str | None = None
    marketplace: str | None = None
    sort: str | None = None

    def params(self) -> dict[str, QueryValue]:
        return {
            "status": self.status,
            "fulfillment.status": self.fulfillment_status,
            "fulfillment.shipmentSummary.lineItemsSent": self.line_items_sent,
            "lineItems.boughtAt.gte": self.bought_at_gte,
            "lineItems.boughtAt.lte": self.bought_at_lte,
            "updatedAt.gte": self.updated_at_gte,
            "updatedAt.lte": self.updated_at_lte,
            "buyer.login": self.buyer_login,
            "marketplace.id": self.marketplace,
            "sort": self.sort,
        }


def list_checkout_forms(
    client: AllegroClient,
    *,
    filters: CheckoutFormFilters | None = None,
    offset: int = 0,
    limit: int = 100,
) -> CheckoutFormsPage:
    params = {**(filters or CheckoutFormFilters()).params(), "offset": offset, "limit": limit}
    response = client.get("/order/checkout-forms", params=params)
    data = body(response)
    return CheckoutFormsPage(
        checkout_forms=[CheckoutForm.parse(cf) for cf in items(data, "checkoutForms")],
        count=int(data.get("count") or 0),
        total_count=int(data.get("totalCount") or 0),
        trace_id=response.trace_id,
        raw=data,
    )


def iter_checkout_forms(
    client: AllegroClient, *, filters: CheckoutFormFilters | None = None, page_size: int = 100
) -> Iterator[CheckoutForm]:
    def fetch(offset: int, limit: int) -> list[CheckoutForm]:
        return list_checkout_forms(
            client, filters=filters, offset=offset, limit=limit
        ).checkout_forms

    return paging.iter_offset(fetch, limits=paging.CHECKOUT_FORMS, page_size=page_size)


def get_checkout_form(client: AllegroClient, *, checkout_form_id: str) -> CheckoutForm:
    response = client.get(f"/order/checkout-forms/{checkout_form_id}")
    return CheckoutForm.parse(body(response), trace_id=response.trace_id)


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OrderEvent:
    """``OrderEvent``: ``occurred_at`` is Allegro's text (a cursor value), ``occurred`` parsed."""

    id: str
    type: str
    occurred_at: str
    occurred: datetime | None
    checkout_form_id: str | None
    revision: str | None
    line_item_ids: tuple[str, ...]  # the form's line items as the event describes them
    buyer_login: str
    raw: JsonDict

    @classmethod
    def parse(cls, data: JsonDict) -> OrderEvent:
        order = dig(data, "order")
        return cls(
            id=str(data["id"]),
            type=str(data.get("type") or ""),
            occurred_at=str(data.get("occurredAt") or ""),
            occurred=parse_time(data.get("occurredAt")),
            checkout_form_id=opt_str(dig(order, "checkoutForm", "id")),
            revision=opt_str(dig(order, "checkoutForm", "revision")),
            line_item_ids=tuple(text(li["id"]) for li in items(order, "lineItems") if li.get("id")),
            buyer_login=text(dig(order, "buyer", "login")),
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class OrderEvents(Traced):
    events: list[OrderEvent]


def list_order_events(
    client: AllegroClient,
    *,
    from_id: str | None = None,
    limit: int = 100,
    types: Sequence[str] | None = None,
) -> OrderEvents:
    response = client.get("/order/events", params={"from": from_id, "limit": limit, "type": types})
    data = body(response)
    events = [OrderEvent.parse(e) for e in items(data, "events")]
    return OrderEvents(events=events, trace_id=response.trace_id, raw=data)


def iter_order_event_pages(
    client: AllegroClient,
    *,
    cursor: str | None,
    limit: int = paging.EVENTS_MAX_LIMIT,
    types: Sequence[str] | None = None,
    max_pages: int | None = None,
) -> Iterator[paging.EventPage[OrderEvent]]:
    def fetch(from_id: str | None, size: int) -> list[OrderEvent]:
        return list_order_events(client, from_id=from_id, limit=size, types=types).events

    return paging.iter_event_pages(
        fetch, cursor=cursor, id_of=lambda e: e.id, limit=limit, max_pages=max_pages
    )


@dataclass(frozen=True, kw_only=True)
class EventStats(Traced):
    latest_event_id: str | None
    latest_occurred_at: str | None


def get_order_event_stats(client: AllegroClient) -> EventStats:
    """The starting cursor: the id of the newest order event."""
    response = client.get("/order/event-stats")
    data = body(response)
    return EventStats(
        latest_event_id=opt_str(dig(data, "latestEvent", "id")),
        latest_occurred_at=opt_str(dig(data, "latestEvent", "occurredAt")),
        trace_id=response.trace_id,
        raw=data,
    )


# --- fulfillment and tracking ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Done(Traced):
    """An operation that answers without a body (204)."""


def set_fulfillment_status(
    client: AllegroClient,
    *,
    checkout_form_id: str,
    status: FulfillmentStatus,
    revision: str | None = None,
) -> Done:
    """Change the fulfillment status; with ``revision`` a stale copy gets 409 ``Conflict``."""
    response = client.request(
        "PUT",
        f"/order/checkout-forms/{checkout_form_id}/fulfillment",
        params={"checkoutForm.revision": revision},
        json={"status": status},
        ok=(204,),
        language="en-US",  # the only Accept-Language this operation allows
    )
    return Done(trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class Carrier:
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Carriers(Traced):
    carriers: list[Carrier]


def list_carriers(client: AllegroClient) -> Carriers:
    response = client.get("/order/carriers")
    data = body(response)
    return Carriers(
        carriers=[
            Carrier(id=str(c.get("id") or ""), name=str(c.get("name") or ""))
            for c in items(data, "carriers")
        ],
        trace_id=response.trace_id,
        raw=data,
    )


@dataclass(frozen=True, kw_only=True)
class Waybill(Traced):
    id: str
    waybill: str
    carrier_id: str
    carrier_name: str | None
    line_item_ids: list[str]
    created_at: datetime | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Waybill:
        return cls(
            id=str(data.get("id") or ""),
            waybill=str(data.get("waybill") or ""),
            carrier_id=str(data.get("carrierId") or ""),
            carrier_name=opt_str(data.get("carrierName")),
            line_item_ids=[str(li["id"]) for li in items(data, "lineItems") if "id" in li],
            created_at=parse_time(data.get("createdAt")),
            trace_id=trace_id,
            raw=data,
        )


def add_tracking_number(
    client: AllegroClient,
    *,
    checkout_form_id: str,
    carrier_id: str,
    waybill: str,
    carrier_name: str | None = None,
    line_item_ids: Sequence[str] | None = None,
) -> Waybill:
    """Attach a waybill (no ``line_item_ids``: all items; ``carrier_name``: only for OTHER)."""
    payload: JsonDict = {"carrierId": carrier_id, "waybill": waybill}
    if carrier_name is not None:
        payload["carrierName"] = carrier_name
    if line_item_ids:
        payload["lineItems"] = [{"id": i} for i in line_item_ids]
    response = client.request(
        "POST", f"/order/checkout-forms/{checkout_form_id}/shipments", json=payload, ok=(201,)
    )
    return Waybill.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class Waybills(Traced):
    shipments: list[Waybill]


def list_tracking_numbers(client: AllegroClient, *, checkout_form_id: str) -> Waybills:
    response = client.get(f"/order/checkout-forms/{checkout_form_id}/shipments")
    data = body(response)
    return Waybills(
        shipments=[Waybill.parse(s) for s in items(data, "shipments")],
        trace_id=response.trace_id,
        raw=data,
    )
