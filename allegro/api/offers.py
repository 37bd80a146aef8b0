"""Offers: listing, product-offer read/edit (202 → operation → 303), batch commands, events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
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
    opt_int,
    opt_str,
    parse_time,
    text,
)
from allegro.client import AllegroClient
from allegro.errors import UnexpectedResponse
from allegro.transport import ApiResponse, QueryValue

OfferStatus = Literal["INACTIVE", "ACTIVATING", "ACTIVE", "ENDED"]
DEFAULT_OPERATION_WAIT = 1.0


@dataclass(frozen=True, kw_only=True)
class ListedPrice:
    """A price exactly as the listing wrote it (the amount as text), for storing unchanged."""

    amount: str | None
    currency: str | None

    @classmethod
    def parse(cls, data: Any) -> ListedPrice | None:
        if not isinstance(data, dict):
            return None
        return cls(amount=opt_str(data.get("amount")), currency=opt_str(data.get("currency")))

    def as_json(self) -> JsonDict:
        return {"amount": self.amount, "currency": self.currency}


@dataclass(frozen=True, kw_only=True)
class OfferSummary:
    """One row of ``GET /sale/offers`` (``OfferListingDto``)."""

    id: str
    name: str
    status: str | None
    selling_format: str | None
    price: Money | None
    available: int | None
    sold: int | None
    category_id: str | None
    external_id: str | None
    primary_image_url: str | None = None
    starting_at: datetime | None = None
    started_at: datetime | None = None
    ending_at: datetime | None = None
    ended_at: datetime | None = None
    return_policy_id: str | None = None
    base_marketplace: str | None = None
    base_price: ListedPrice | None = None  # ``sellingMode.price`` as written
    additional_prices: dict[str, ListedPrice] = field(default_factory=dict)
    raw: JsonDict

    def marketplace_prices(self, *, default_base: str) -> dict[str, ListedPrice]:
        """The price on the base marketplace (``default_base`` when the offer names none) and
        on every additional marketplace that has one."""
        prices: dict[str, ListedPrice] = {}
        if self.base_price is not None:
            prices[self.base_marketplace or default_base] = self.base_price
        prices.update(self.additional_prices)
        return prices

    @classmethod
    def parse(cls, data: JsonDict) -> OfferSummary:
        extra = data.get("additionalMarketplaces")
        additional = {
            str(market): price
            for market, value in (extra.items() if isinstance(extra, dict) else ())
            if (price := ListedPrice.parse(dig(value, "sellingMode", "price"))) is not None
        }
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            status=opt_str(dig(data, "publication", "status")),
            selling_format=opt_str(dig(data, "sellingMode", "format")),
            price=Money.parse(dig(data, "sellingMode", "price")),
            available=opt_int(dig(data, "stock", "available")),
            sold=opt_int(dig(data, "stock", "sold")),
            category_id=opt_str(dig(data, "category", "id")),
            external_id=opt_str(dig(data, "external", "id")),
            primary_image_url=opt_str(dig(data, "primaryImage", "url")),
            starting_at=parse_time(dig(data, "publication", "startingAt")),
            started_at=parse_time(dig(data, "publication", "startedAt")),
            ending_at=parse_time(dig(data, "publication", "endingAt")),
            ended_at=parse_time(dig(data, "publication", "endedAt")),
            return_policy_id=opt_str(dig(data, "afterSalesServices", "returnPolicy", "id")),
            base_marketplace=opt_str(dig(data, "publication", "marketplaces", "base", "id")),
            base_price=ListedPrice.parse(dig(data, "sellingMode", "price")),
            additional_prices=additional,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class OffersPage(Traced):
    offers: list[OfferSummary]
    count: int
    total_count: int


@dataclass(frozen=True, kw_only=True)
class OfferFilters:
    """Filters of ``GET /sale/offers`` the product uses (names as in the spec)."""

    offer_ids: Sequence[str] | None = None
    name: str | None = None
    statuses: Sequence[OfferStatus] | None = None
    selling_formats: Sequence[str] | None = None
    external_ids: Sequence[str] | None = None
    category_id: str | None = None
    marketplace: str | None = None
    price_gte: str | None = None
    price_lte: str | None = None
    product_linked: bool | None = None  # ``product.id.empty=false``: linked to a product
    sort: str | None = None

    def params(self) -> dict[str, QueryValue]:
        linked = None if self.product_linked is None else not self.product_linked
        return {
            "product.id.empty": None if linked is None else ("true" if linked else "false"),
            "offer.id": self.offer_ids,
            "name": self.name,
            "publication.status": self.statuses,
            "sellingMode.format": self.selling_formats,
            "external.id": self.external_ids,
            "category.id": self.category_id,
            "publication.marketplace": self.marketplace,
            "sellingMode.price.amount.gte": self.price_gte,
            "sellingMode.price.amount.lte": self.price_lte,
            "sort": self.sort,
        }


def list_offers(
    client: AllegroClient,
    *,
    filters: OfferFilters | None = None,
    offset: int = 0,
    limit: int = 20,
) -> OffersPage:
    params = {**(filters or OfferFilters()).params(), "offset": offset, "limit": limit}
    response = client.get("/sale/offers", params=params)
    data = body(response)
    return OffersPage(
        offers=[OfferSummary.parse(o) for o in items(data, "offers")],
        count=int(data.get("count") or 0),
        total_count=int(data.get("totalCount") or 0),
        trace_id=response.trace_id,
        raw=data,
    )


def list_offer_ids(
    client: AllegroClient,
    *,
    filters: OfferFilters | None = None,
    offset: int = 0,
    limit: int = 20,
) -> list[str]:
    """The ids of a ``GET /sale/offers`` page, nothing else parsed (a 1000-offer page parsed
    in full costs about as much as its JSON)."""
    params = {**(filters or OfferFilters()).params(), "offset": offset, "limit": limit}
    data = body(client.get("/sale/offers", params=params))
    return [str(o["id"]) for o in items(data, "offers") if "id" in o]


def iter_offers(
    client: AllegroClient, *, filters: OfferFilters | None = None, page_size: int = 1000
) -> Iterator[OfferSummary]:
    def fetch(offset: int, limit: int) -> list[OfferSummary]:
        return list_offers(client, filters=filters, offset=offset, limit=limit).offers

    return paging.iter_offset(fetch, limits=paging.OFFERS, page_size=page_size)


EAN_PARAMETER = "225693"  # "EAN (GTIN)" in Allegro's category parameters


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """A category parameter of an offer or product: its id and its (non-empty) values."""

    id: str
    name: str | None
    values: tuple[str, ...]

    @classmethod
    def parse_list(cls, data: Any) -> tuple[Parameter, ...]:
        if not isinstance(data, list):
            return ()
        return tuple(
            cls(
                id=text(p.get("id")),
                name=opt_str(p.get("name")),
                values=_values(p.get("values")),
            )
            for p in data
            if isinstance(p, dict)
        )


def _values(data: Any) -> tuple[str, ...]:
    """A parameter's values up to the first empty one (an empty first value means none)."""
    out: list[str] = []
    for value in data if isinstance(data, list) else []:
        if value in (None, ""):
            break
        out.append(str(value))
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class ProductOffer(Traced):
    """``SaleProductOfferResponseV1``: the fields the product edits; the rest stays in ``raw``."""

    id: str
    name: str
    status: str | None
    price: Money | None
    available: int | None
    stock_unit: str | None
    category_id: str | None
    external_id: str | None
    updated_at: str | None
    parameters: tuple[Parameter, ...] = ()
    product_parameters: tuple[Parameter, ...] = ()  # of the products in ``productSet``, in order
    # The fields the product offer shares with a listing row (name, publication, prices, stock),
    # read the same way, so the mirror maps both through one function.
    summary: OfferSummary

    @property
    def ean(self) -> str:
        """The EAN (GTIN): the offer's own parameter, else the first product's that has one."""
        for parameter in (*self.parameters, *self.product_parameters):
            if parameter.id == EAN_PARAMETER and parameter.values:
                return parameter.values[0]
        return ""

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None) -> ProductOffer:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            status=opt_str(dig(data, "publication", "status")),
            price=Money.parse(dig(data, "sellingMode", "price")),
            available=dig(data, "stock", "available"),
            stock_unit=opt_str(dig(data, "stock", "unit")),
            category_id=opt_str(dig(data, "category", "id")),
            external_id=opt_str(dig(data, "external", "id")),
            updated_at=opt_str(data.get("updatedAt")),
            parameters=Parameter.parse_list(data.get("parameters")),
            summary=OfferSummary.parse(data),
            product_parameters=tuple(
                parameter
                for element in items(data, "productSet")
                for parameter in Parameter.parse_list(dig(element, "product", "parameters"))
            ),
            trace_id=trace_id,
            raw=data,
        )


def get_product_offer(client: AllegroClient, *, offer_id: str) -> ProductOffer:
    response = client.get(f"/sale/product-offers/{offer_id}")
    return ProductOffer.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class OfferParts(Traced):
    id: str
    available: int | None
    price: Money | None


def get_offer_parts(
    client: AllegroClient, *, offer_id: str, include: Sequence[str] = ("stock", "price")
) -> OfferParts:
    response = client.get(
        f"/sale/product-offers/{offer_id}/parts", params={"include": list(include)}
    )
    data = body(response)
    return OfferParts(
        id=str(data.get("id") or offer_id),
        available=dig(data, "stock", "available"),
        price=Money.parse(dig(data, "sellingMode", "price")),
        trace_id=response.trace_id,
        raw=data,
    )


def offer_changes(
    *,
    name: str | None = None,
    price: Money | None = None,
    available: int | None = None,
) -> JsonDict:
    """A ``SaleProductOfferPatchRequestV1`` holding only what changes."""
    changes: JsonDict = {}
    if name is not None:
        changes["name"] = name
    if price is not None:
        changes["sellingMode"] = {"price": price.as_json()}
    if available is not None:
        changes["stock"] = {"available": available}
    return changes


@dataclass(frozen=True, kw_only=True)
class OfferEdit(Traced):
    """Outcome of a product-offer edit: the offer when done, else the operation to poll later."""

    offer: ProductOffer | None
    operation_url: str | None
    operation_status: str | None
    retry_after: float | None = None  # Allegro's ``Retry-After`` while the operation runs

    @property
    def completed(self) -> bool:
        return self.offer is not None


def patch_product_offer(
    client: AllegroClient,
    *,
    offer_id: str,
    changes: JsonDict,
    max_polls: int = 20,
    sleep: Callable[[float], None] = time.sleep,
) -> OfferEdit:
    """PATCH the offer; on 202 poll the operation until its 303 points at the final offer.

    Absolute values only, so the call is safe to retry after a dropped connection.
    """
    response = client.request(
        "PATCH",
        f"/sale/product-offers/{offer_id}",
        json=changes,
        ok=(200, 202),
        idempotent=True,
    )
    if response.status == 200:
        offer = ProductOffer.parse(body(response), trace_id=response.trace_id)
        return OfferEdit(
            offer=offer, operation_url=None, operation_status="COMPLETED", trace_id=offer.trace_id
        )
    location = _location(response)
    if max_polls <= 0:  # the caller polls later (a durable job)
        return OfferEdit(
            offer=None,
            operation_url=location,
            operation_status=None,
            retry_after=response.retry_after,
            trace_id=response.trace_id,
        )
    return poll_offer_operation(
        client,
        operation_url=location,
        first_wait=response.retry_after,
        max_polls=max_polls,
        sleep=sleep,
    )


def poll_offer_operation(
    client: AllegroClient,
    *,
    operation_url: str,
    first_wait: float | None = None,
    max_polls: int = 20,
    sleep: Callable[[float], None] = time.sleep,
) -> OfferEdit:
    """Follow ``GET .../operations/{id}``: 202 while processing, 303 + Location when done."""
    wait = DEFAULT_OPERATION_WAIT if first_wait is None else first_wait
    status: str | None = None
    trace_id: str | None = None
    for _ in range(max_polls):
        sleep(wait)
        response = client.get(operation_url, ok=(202, 303))
        trace_id = response.trace_id
        if response.status == 303:
            final = client.get(_location(response))
            offer = ProductOffer.parse(body(final), trace_id=final.trace_id)
            return OfferEdit(
                offer=offer,
                operation_url=operation_url,
                operation_status="COMPLETED",
                trace_id=final.trace_id,
            )
        status = opt_str(dig(body(response), "operation", "status"))
        wait = response.retry_after if response.retry_after is not None else wait
    return OfferEdit(
        offer=None,
        operation_url=operation_url,
        operation_status=status,
        retry_after=wait,
        trace_id=trace_id,
    )


def _location(response: ApiResponse) -> str:
    if not response.location:
        raise UnexpectedResponse(
            f"HTTP {response.status} without Location",
            status=response.status,
            trace_id=response.trace_id,
        )
    return response.location


# --- batch commands -------------------------------------------------------------------------

CommandKind = Literal["price", "quantity", "publication"]
_COMMAND_PATHS: dict[CommandKind, str] = {
    "price": "/sale/offer-price-change-commands",
    "quantity": "/sale/offer-quantity-change-commands",
    "publication": "/sale/offer-publication-commands",
}
MAX_OFFERS_PER_COMMAND = 1000


@dataclass(frozen=True, kw_only=True)
class CommandReport(Traced):
    """``GeneralReport``."""

    id: str
    created_at: str | None
    completed_at: str | None
    failed: int
    success: int
    total: int

    @property
    def done(self) -> bool:
        return self.completed_at is not None or (
            self.total > 0 and self.failed + self.success >= self.total
        )

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None) -> CommandReport:
        counts = data.get("taskCount") or {}
        return cls(
            id=str(data.get("id") or ""),
            created_at=opt_str(data.get("createdAt")),
            completed_at=opt_str(data.get("completedAt")),
            failed=int(counts.get("failed") or 0),
            success=int(counts.get("success") or 0),
            total=int(counts.get("total") or 0),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class CommandTask:
    offer_id: str | None
    status: str | None
    field: str | None
    message: str | None
    errors: list[JsonDict]


@dataclass(frozen=True, kw_only=True)
class CommandTasks(Traced):
    tasks: list[CommandTask]


def _criteria(offer_ids: Sequence[str]) -> list[JsonDict]:
    if not 1 <= len(offer_ids) <= MAX_OFFERS_PER_COMMAND:
        raise ValueError(f"a command takes 1..{MAX_OFFERS_PER_COMMAND} offers")
    return [{"type": "CONTAINS_OFFERS", "offers": [{"id": i} for i in offer_ids]}]


def _put_command(
    client: AllegroClient, *, kind: CommandKind, command_id: str, payload: JsonDict
) -> CommandReport:
    response = client.request(
        "PUT", f"{_COMMAND_PATHS[kind]}/{command_id}", json=payload, ok=(201,)
    )
    return CommandReport.parse(body(response), trace_id=response.trace_id)


def change_prices(
    client: AllegroClient, *, command_id: str, offer_ids: Sequence[str], price: Money
) -> CommandReport:
    """Set a fixed BUY NOW price on up to 1000 offers (``commandId`` is a client UUID)."""
    payload = {
        "modification": {"type": "FIXED_PRICE", "price": price.as_json()},
        "offerCriteria": _criteria(offer_ids),
    }
    return _put_command(client, kind="price", command_id=command_id, payload=payload)


PriceModificationType = Literal[
    "FIXED_PRICE", "INCREASE_PRICE", "DECREASE_PRICE", "INCREASE_PERCENTAGE", "DECREASE_PERCENTAGE"
]


def price_modification(
    kind: PriceModificationType, *, amount: Money | None = None, percentage: str | None = None
) -> JsonDict:
    """A ``PriceModification``: ``price`` for FIXED_PRICE, ``value`` for +/- amount,
    ``percentage`` (a decimal string) for +/- %."""
    if kind == "FIXED_PRICE" and amount is not None:
        return {"type": kind, "price": amount.as_json()}
    if kind in ("INCREASE_PRICE", "DECREASE_PRICE") and amount is not None:
        return {"type": kind, "value": amount.as_json()}
    if kind in ("INCREASE_PERCENTAGE", "DECREASE_PERCENTAGE") and percentage is not None:
        return {"type": kind, "percentage": percentage}
    raise ValueError(f"{kind} needs {'percentage' if 'PERCENT' in kind else 'amount'}")


def modify_prices(
    client: AllegroClient, *, command_id: str, offer_ids: Sequence[str], modification: JsonDict
) -> CommandReport:
    """Any ``PriceModification`` (see :func:`price_modification`) on up to 1000 offers."""
    payload = {"modification": modification, "offerCriteria": _criteria(offer_ids)}
    return _put_command(client, kind="price", command_id=command_id, payload=payload)


def change_quantities(
    client: AllegroClient,
    *,
    command_id: str,
    offer_ids: Sequence[str],
    change_type: Literal["FIXED", "GAIN"],
    value: int,
) -> CommandReport:
    payload = {
        "modification": {"changeType": change_type, "value": value},
        "offerCriteria": _criteria(offer_ids),
    }
    return _put_command(client, kind="quantity", command_id=command_id, payload=payload)


def change_publication(
    client: AllegroClient,
    *,
    command_id: str,
    offer_ids: Sequence[str],
    action: Literal["ACTIVATE", "END"],
    scheduled_for: str | None = None,
) -> CommandReport:
    publication: JsonDict = {"action": action}
    if scheduled_for is not None:
        publication["scheduledFor"] = scheduled_for
    payload = {"offerCriteria": _criteria(offer_ids), "publication": publication}
    return _put_command(client, kind="publication", command_id=command_id, payload=payload)


def get_command(client: AllegroClient, *, kind: CommandKind, command_id: str) -> CommandReport:
    response = client.get(f"{_COMMAND_PATHS[kind]}/{command_id}")
    return CommandReport.parse(body(response), trace_id=response.trace_id)


def get_command_tasks(
    client: AllegroClient,
    *,
    kind: CommandKind,
    command_id: str,
    offset: int = 0,
    limit: int = 100,
) -> CommandTasks:
    response = client.get(
        f"{_COMMAND_PATHS[kind]}/{command_id}/tasks", params={"offset": offset, "limit": limit}
    )
    data = body(response)
    tasks = [
        CommandTask(
            offer_id=opt_str(dig(t, "offer", "id")),
            status=opt_str(t.get("status")),
            field=opt_str(t.get("field")),
            message=opt_str(t.get("message")),
            errors=items(t, "errors"),
        )
        for t in items(data, "tasks")
    ]
    return CommandTasks(tasks=tasks, trace_id=response.trace_id, raw=data)


def iter_command_tasks(
    client: AllegroClient, *, kind: CommandKind, command_id: str
) -> Iterator[CommandTask]:
    def fetch(offset: int, limit: int) -> list[CommandTask]:
        return get_command_tasks(
            client, kind=kind, command_id=command_id, offset=offset, limit=limit
        ).tasks

    return paging.iter_offset(fetch, limits=paging.COMMAND_TASKS)


# --- offer events ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OfferEvent:
    id: str
    type: str
    occurred_at: str  # Allegro's text; ``occurred`` parsed
    occurred: datetime | None
    offer_id: str | None
    external_id: str | None
    raw: JsonDict


@dataclass(frozen=True, kw_only=True)
class OfferEvents(Traced):
    events: list[OfferEvent]


def list_offer_events(
    client: AllegroClient,
    *,
    from_id: str | None = None,
    limit: int = 100,
    types: Sequence[str] | None = None,
) -> OfferEvents:
    params: dict[str, Any] = {"from": from_id, "limit": limit, "type": types}
    # Accept-Language on this operation allows only en-US.
    response = client.request("GET", "/sale/offer-events", params=params, language="en-US")
    data = body(response)
    events = [
        OfferEvent(
            id=str(e["id"]),
            type=str(e.get("type") or ""),
            occurred_at=str(e.get("occurredAt") or ""),
            occurred=parse_time(e.get("occurredAt")),
            offer_id=opt_str(dig(e, "offer", "id")),
            external_id=opt_str(dig(e, "offer", "external", "id")),
            raw=e,
        )
        for e in items(data, "offerEvents")
    ]
    return OfferEvents(events=events, trace_id=response.trace_id, raw=data)


def iter_offer_event_pages(
    client: AllegroClient,
    *,
    cursor: str | None,
    limit: int = paging.EVENTS_MAX_LIMIT,
    types: Sequence[str] | None = None,
    max_pages: int | None = None,
) -> Iterator[paging.EventPage[OfferEvent]]:
    def fetch(from_id: str | None, size: int) -> list[OfferEvent]:
        return list_offer_events(client, from_id=from_id, limit=size, types=types).events

    return paging.iter_event_pages(
        fetch, cursor=cursor, id_of=lambda e: e.id, limit=limit, max_pages=max_pages
    )
