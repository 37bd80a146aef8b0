"""Billing (``/billing``): the fees Allegro charged, newest first, and the fee types."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from allegro.api._base import (
    JsonDict,
    Money,
    Traced,
    body,
    dig,
    items,
    opt_str,
    parse_time,
)
from allegro.client import AllegroClient
from allegro.errors import UnexpectedResponse

PAGE_LIMIT = 100
MAX_OFFSET = 10_000


@dataclass(frozen=True, kw_only=True)
class BillingEntry(Traced):
    id: str
    occurred_at: datetime | None
    occurred: str
    type_id: str
    type_name: str
    offer_id: str
    offer_name: str
    value: Money | None
    balance: Money | None
    tax_percentage: str
    tax_annotation: str
    order_id: str

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> BillingEntry:
        return cls(
            id=str(data["id"]),
            occurred_at=parse_time(data.get("occurredAt")),
            occurred=opt_str(data.get("occurredAt")) or "",
            type_id=opt_str(dig(data, "type", "id")) or "",
            type_name=opt_str(dig(data, "type", "name")) or "",
            offer_id=opt_str(dig(data, "offer", "id")) or "",
            offer_name=opt_str(dig(data, "offer", "name")) or "",
            value=Money.parse(data.get("value")),
            balance=Money.parse(data.get("balance")),
            tax_percentage=opt_str(dig(data, "tax", "percentage")) or "",
            tax_annotation=opt_str(dig(data, "tax", "annotation")) or "",
            order_id=opt_str(dig(data, "order", "id")) or "",
            trace_id=trace_id,
            raw=data,
        )


def list_entries(
    client: AllegroClient,
    *,
    occurred_gte: str | None = None,
    occurred_lte: str | None = None,
    type_ids: Sequence[str] | None = None,
    order_id: str | None = None,
    offer_id: str | None = None,
    offset: int = 0,
    limit: int = PAGE_LIMIT,
) -> list[BillingEntry]:
    """Newest first."""
    params = {
        "occurredAt.gte": occurred_gte,
        "occurredAt.lte": occurred_lte,
        "type.id": list(type_ids) if type_ids else None,
        "order.id": order_id,
        "offer.id": offer_id,
        "offset": offset,
        "limit": limit,
    }
    data = body(client.get("/billing/billing-entries", params=params))
    return [BillingEntry.parse(e) for e in items(data, "billingEntries")]


def iter_entries(
    client: AllegroClient, *, occurred_gte: str | None = None
) -> Iterator[list[BillingEntry]]:
    """Every entry since ``occurred_gte``, newest first. Offsets stop at 10000: the pages go on
    below the oldest moment seen (the boundary entries are read twice: harmless)."""
    upper: str | None = None
    while True:
        offset = 0
        oldest: str | None = None
        while offset <= MAX_OFFSET:
            page = list_entries(
                client,
                occurred_gte=occurred_gte,
                occurred_lte=upper,
                offset=offset,
                limit=PAGE_LIMIT,
            )
            if page:
                yield page
                oldest = page[-1].occurred or oldest
            if len(page) < PAGE_LIMIT:
                return
            offset += PAGE_LIMIT
        if oldest is None or oldest == upper:
            return
        upper = oldest


@dataclass(frozen=True, kw_only=True)
class BillingType:
    id: str
    description: str


def billing_types(client: AllegroClient, *, language: str | None = None) -> list[BillingType]:
    response = client.request("GET", "/billing/billing-types", language=language)
    data = response.json()
    if not isinstance(data, list):
        raise UnexpectedResponse(
            "expected a list of billing types", status=response.status, trace_id=response.trace_id
        )
    return [
        BillingType(id=str(t.get("id") or ""), description=str(t.get("description") or ""))
        for t in data
        if isinstance(t, dict)
    ]
