"""Customer returns: the beta ``/order/customer-returns`` API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from allegro.api._base import (
    JsonDict,
    Money,
    Traced,
    body,
    dig,
    items,
    opt_bool,
    opt_int,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient
from allegro.transport import BETA

RejectionCode = Literal[
    "REFUND_REJECTED",
    "NEW_ITEM_SENT",
    "ITEM_FIXED",
    "MISSING_PART_SENT",
    "ITEM_MISMATCH",
    "BUSINESS_PURCHASE",
    "NO_RETURN_RIGHT",
]
REJECTION_CODES: tuple[RejectionCode, ...] = (
    "REFUND_REJECTED",
    "NEW_ITEM_SENT",
    "ITEM_FIXED",
    "MISSING_PART_SENT",
    "ITEM_MISMATCH",
    "BUSINESS_PURCHASE",
    "NO_RETURN_RIGHT",
)
# ``reason`` is 1 to 250 characters and required with ``REFUND_REJECTED``.
REASON_REQUIRED: tuple[RejectionCode, ...] = ("REFUND_REJECTED",)
MAX_REASON_LENGTH = 250
STATUSES = (
    "CREATED",
    "DISPATCHED",
    "IN_TRANSIT",
    "DELIVERED",
    "FINISHED",
    "FINISHED_APT",
    "REJECTED",
    "COMMISSION_REFUND_CLAIMED",
    "COMMISSION_REFUNDED",
    "WAREHOUSE_DELIVERED",
    "WAREHOUSE_VERIFICATION",
)
PAGE_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class ReturnItem:
    offer_id: str
    name: str
    quantity: int
    price: Money | None
    reason_type: str
    reason_comment: str


@dataclass(frozen=True, kw_only=True)
class ReturnParcel:
    waybill: str
    carrier_id: str
    transporting_waybill: str | None
    transporting_carrier_id: str | None
    created_at: datetime | None
    sender_phone: str


@dataclass(frozen=True, kw_only=True)
class CustomerReturn(Traced):
    id: str
    reference_number: str
    order_id: str
    status: str
    created_at: datetime | None
    buyer_login: str
    buyer_email: str
    marketplace_id: str
    is_fulfillment: bool | None
    rejection_code: str | None
    rejection_reason: str | None
    rejected_at: datetime | None
    items: list[ReturnItem] = field(default_factory=list)
    parcels: list[ReturnParcel] = field(default_factory=list)

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> CustomerReturn:
        return cls(
            id=str(data["id"]),
            reference_number=opt_str(data.get("referenceNumber")) or "",
            order_id=opt_str(data.get("orderId")) or "",
            status=opt_str(data.get("status")) or "",
            created_at=parse_time(data.get("createdAt")),
            buyer_login=opt_str(dig(data, "buyer", "login")) or "",
            buyer_email=opt_str(dig(data, "buyer", "email")) or "",
            marketplace_id=opt_str(data.get("marketplaceId")) or "",
            is_fulfillment=opt_bool(data.get("isFulfillment")),
            rejection_code=opt_str(dig(data, "rejection", "code")),
            rejection_reason=opt_str(dig(data, "rejection", "reason")),
            rejected_at=parse_time(dig(data, "rejection", "createdAt")),
            items=[
                ReturnItem(
                    offer_id=opt_str(i.get("offerId")) or "",
                    name=opt_str(i.get("name")) or "",
                    quantity=opt_int(i.get("quantity")) or 0,
                    price=Money.parse(i.get("price")),
                    reason_type=opt_str(dig(i, "reason", "type")) or "",
                    reason_comment=opt_str(dig(i, "reason", "userComment")) or "",
                )
                for i in items(data, "items")
            ],
            parcels=[
                ReturnParcel(
                    waybill=opt_str(p.get("waybill")) or "",
                    carrier_id=opt_str(p.get("carrierId")) or "",
                    transporting_waybill=opt_str(p.get("transportingWaybill")),
                    transporting_carrier_id=opt_str(p.get("transportingCarrierId")),
                    created_at=parse_time(p.get("createdAt")),
                    sender_phone=opt_str(dig(p, "sender", "phoneNumber")) or "",
                )
                for p in items(data, "parcels")
            ],
            trace_id=trace_id,
            raw=data,
        )

    @property
    def value(self) -> Decimal:
        return sum(
            ((i.price.amount * i.quantity) for i in self.items if i.price is not None),
            Decimal(0),
        )


@dataclass(frozen=True, kw_only=True)
class ReturnsPage(Traced):
    returns: list[CustomerReturn]
    count: int


def list_returns(
    client: AllegroClient,
    *,
    order_id: str | None = None,
    status: str | None = None,
    after_id: str | None = None,
    offset: int = 0,
    limit: int = PAGE_LIMIT,
) -> ReturnsPage:
    """Oldest first; ``after_id`` continues after that return (Allegro's ``from``)."""
    params = {
        "orderId": order_id,
        "status": status,
        "from": after_id,
        "offset": offset,
        "limit": limit,
    }
    response = client.get("/order/customer-returns", params=params, media=BETA)
    data = body(response)
    return ReturnsPage(
        returns=[CustomerReturn.parse(r) for r in items(data, "customerReturns")],
        count=opt_int(data.get("count")) or 0,
        trace_id=response.trace_id,
        raw=data,
    )


def iter_returns(
    client: AllegroClient, *, limit: int = PAGE_LIMIT
) -> Iterator[list[CustomerReturn]]:
    """Every return, a page at a time."""
    offset = 0
    while True:
        page = list_returns(client, offset=offset, limit=limit).returns
        if page:
            yield page
        if len(page) < limit:
            return
        offset += limit


def get_return(client: AllegroClient, *, return_id: str) -> CustomerReturn:
    response = client.get(f"/order/customer-returns/{return_id}", media=BETA)
    return CustomerReturn.parse(body(response), trace_id=response.trace_id)


def reject_return(
    client: AllegroClient, *, return_id: str, code: RejectionCode, reason: str | None = None
) -> CustomerReturn:
    """``POST …/rejection``: refuse the refund (422 when it was rejected already)."""
    rejection: JsonDict = {"code": code}
    if reason:
        rejection["reason"] = reason
    response = client.request(
        "POST",
        f"/order/customer-returns/{return_id}/rejection",
        json={"rejection": rejection},
        media=BETA,
        idempotent=True,
    )
    return CustomerReturn.parse(body(response), trace_id=response.trace_id)
