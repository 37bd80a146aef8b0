"""Payment refunds (``/payments/refunds``) and commission refund claims
(``/order/refund-claims``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    opt_int,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient

RefundReason = Literal[
    "REFUND",
    "COMPLAINT",
    "PRODUCT_NOT_AVAILABLE",
    "PAID_VALUE_TOO_LOW",
    "OVERPAID",
    "CANCELLED_BY_BUYER",
    "NOT_COLLECTED",
]
REFUND_REASONS: tuple[RefundReason, ...] = (
    "REFUND",
    "COMPLAINT",
    "PRODUCT_NOT_AVAILABLE",
    "PAID_VALUE_TOO_LOW",
    "OVERPAID",
    "CANCELLED_BY_BUYER",
    "NOT_COLLECTED",
)
FINAL_STATUSES = ("SUCCESS", "CANCELED")
MAX_COMMENT_LENGTH = 250
REFUNDS_PAGE_LIMIT = 100
CLAIM_STATUSES = (
    "IN_PROGRESS",
    "WAITING_FOR_PAYMENT_REFUND",
    "GRANTED",
    "REJECTED",
    "REJECTED_AFTER_APPEAL",
    "CANCELLED",
    "APPEALED",
)
CLAIMS_PAGE_LIMIT = 100


@dataclass(frozen=True, kw_only=True)
class RefundLine:
    """One line of a refund: ``type`` ``QUANTITY`` (``quantity``) or ``AMOUNT`` (``value``)."""

    line_item_id: str
    type: Literal["AMOUNT", "QUANTITY"]
    quantity: Decimal | None = None
    value: Money | None = None

    def as_json(self) -> JsonDict:
        out: JsonDict = {"id": self.line_item_id, "type": self.type}
        if self.type == "QUANTITY":
            out["quantity"] = int(self.quantity or 0)
        elif self.value is not None:
            out["value"] = self.value.as_json()
        return out


@dataclass(frozen=True, kw_only=True)
class RefundRequest:
    """``InitializeRefund``: the ``command_id`` makes a repeated request return the first
    refund (store it before sending)."""

    command_id: str
    payment_id: str
    order_id: str
    reason: RefundReason
    lines: Sequence[RefundLine] = ()
    delivery: Money | None = None
    surcharges: Sequence[tuple[str, Money]] = ()
    seller_comment: str = ""

    def as_json(self) -> JsonDict:
        out: JsonDict = {
            "payment": {"id": self.payment_id},
            "order": {"id": self.order_id},
            "commandId": self.command_id,
            "reason": self.reason,
        }
        if self.lines:
            out["lineItems"] = [line.as_json() for line in self.lines]
        if self.delivery is not None:
            out["delivery"] = {"value": self.delivery.as_json()}
        if self.surcharges:
            out["surcharges"] = [{"id": s, "value": v.as_json()} for s, v in self.surcharges]
        if self.seller_comment:
            out["sellerComment"] = self.seller_comment
        return out


@dataclass(frozen=True, kw_only=True)
class Refund(Traced):
    id: str
    payment_id: str
    order_id: str
    reason: str
    status: str
    created_at: datetime | None
    total: Money | None
    delivery: Money | None
    seller_comment: str
    lines: list[RefundLine] = field(default_factory=list)

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Refund:
        lines = []
        for li in items(data, "lineItems"):
            kind: Literal["AMOUNT", "QUANTITY"] = (
                "AMOUNT" if li.get("type") == "AMOUNT" else "QUANTITY"
            )
            quantity = li.get("quantity")
            lines.append(
                RefundLine(
                    line_item_id=str(li.get("id") or ""),
                    type=kind,
                    quantity=Decimal(str(quantity)) if quantity is not None else None,
                    value=Money.parse(li.get("value")),
                )
            )
        return cls(
            id=str(data["id"]),
            payment_id=opt_str(dig(data, "payment", "id")) or "",
            order_id=opt_str(dig(data, "order", "id")) or "",
            reason=opt_str(data.get("reason")) or "",
            status=opt_str(data.get("status")) or "",
            created_at=parse_time(data.get("createdAt")),
            total=Money.parse(data.get("totalValue")),
            delivery=Money.parse(dig(data, "delivery", "value")),
            seller_comment=opt_str(data.get("sellerComment")) or "",
            lines=lines,
            trace_id=trace_id,
            raw=data,
        )

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def create_refund(client: AllegroClient, *, request: RefundRequest) -> Refund:
    """``POST /payments/refunds``. Safe to resend: Allegro answers the same ``commandId`` with
    the first refund, so the transport may retry it."""
    response = client.request("POST", "/payments/refunds", json=request.as_json(), idempotent=True)
    return Refund.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class RefundsPage(Traced):
    refunds: list[Refund]
    total_count: int | None


def list_refunds(
    client: AllegroClient,
    *,
    refund_id: str | None = None,
    order_id: str | None = None,
    occurred_gte: str | None = None,
    statuses: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = REFUNDS_PAGE_LIMIT,
) -> RefundsPage:
    """Newest first."""
    params = {
        "id": refund_id,
        "order.id": order_id,
        "occurredAt.gte": occurred_gte,
        "status": list(statuses) if statuses else None,
        "offset": offset,
        "limit": limit,
    }
    response = client.get("/payments/refunds", params=params)
    data = body(response)
    return RefundsPage(
        refunds=[Refund.parse(r) for r in items(data, "refunds")],
        total_count=opt_int(data.get("totalCount")),
        trace_id=response.trace_id,
        raw=data,
    )


def iter_refunds(
    client: AllegroClient, *, occurred_gte: str | None = None, limit: int = REFUNDS_PAGE_LIMIT
) -> Iterator[list[Refund]]:
    offset = 0
    while True:
        page = list_refunds(client, occurred_gte=occurred_gte, offset=offset, limit=limit).refunds
        if page:
            yield page
        if len(page) < limit:
            return
        offset += limit


def get_refund(client: AllegroClient, *, refund_id: str) -> Refund | None:
    """The refund by id (through the list's ``id`` filter: there is no single-refund read)."""
    found = list_refunds(client, refund_id=refund_id, limit=1).refunds
    return found[0] if found else None


# --- commission refund claims -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RefundClaim(Traced):
    id: str
    status: str
    type: str
    quantity: int
    commission: Money | None
    buyer_id: str
    line_item_id: str
    line_item_quantity: int | None
    bought_at: datetime | None
    offer_id: str
    created_at: datetime | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> RefundClaim:
        commission = dig(data, "commission")
        money = None
        if isinstance(commission, dict) and commission.get("amount") is not None:
            money = Money(
                amount=Decimal(str(commission["amount"])),
                currency=str(commission.get("currency") or "PLN"),
            )
        return cls(
            id=str(data["id"]),
            status=opt_str(data.get("status")) or "",
            type=opt_str(data.get("type")) or "",
            quantity=opt_int(data.get("quantity")) or 0,
            commission=money,
            buyer_id=opt_str(dig(data, "buyer", "id")) or "",
            line_item_id=opt_str(dig(data, "lineItem", "id")) or "",
            line_item_quantity=opt_int(dig(data, "lineItem", "quantity")),
            bought_at=parse_time(dig(data, "lineItem", "boughtAt")),
            offer_id=opt_str(dig(data, "lineItem", "offer", "id")) or "",
            created_at=parse_time(data.get("createdAt")),
            trace_id=trace_id,
            raw=data,
        )


def list_refund_claims(
    client: AllegroClient,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = CLAIMS_PAGE_LIMIT,
) -> list[RefundClaim]:
    params = {"status": status, "offset": offset, "limit": limit}
    data = body(client.get("/order/refund-claims", params=params))
    return [RefundClaim.parse(c) for c in items(data, "refundClaims")]


def iter_refund_claims(
    client: AllegroClient, *, limit: int = CLAIMS_PAGE_LIMIT
) -> Iterator[list[RefundClaim]]:
    offset = 0
    while True:
        page = list_refund_claims(client, offset=offset, limit=limit)
        if page:
            yield page
        if len(page) < limit:
            return
        offset += limit


def get_refund_claim(client: AllegroClient, *, claim_id: str) -> RefundClaim:
    response = client.get(f"/order/refund-claims/{claim_id}")
    return RefundClaim.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class ClaimCreated(Traced):
    id: str


def create_refund_claim(client: AllegroClient, *, line_item_id: str, quantity: int) -> ClaimCreated:
    """``POST /order/refund-claims`` (201 ``{id}``; 422 when the order was paid or the quantity
    is more than is left to claim). Not idempotent: never retried by the transport."""
    response = client.request(
        "POST",
        "/order/refund-claims",
        json={"lineItem": {"id": line_item_id}, "quantity": quantity},
        ok=(201,),
    )
    data = body(response)
    return ClaimCreated(id=str(data["id"]), trace_id=response.trace_id, raw=data)


def cancel_refund_claim(client: AllegroClient, *, claim_id: str) -> str | None:
    """``DELETE /order/refund-claims/{id}`` (204); returns the trace id."""
    response = client.request("DELETE", f"/order/refund-claims/{claim_id}", ok=(204,))
    return response.trace_id
