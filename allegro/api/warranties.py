"""Warranties and implied warranties (``/after-sales-service-conditions/...``): read only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from allegro.api._base import JsonDict, Traced, body, dig, items, opt_bool, opt_str
from allegro.client import AllegroClient

BASE = "/after-sales-service-conditions"
PAGE = 60  # the listing's limit is at most 60


@dataclass(frozen=True, kw_only=True)
class WarrantyBasic:
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Warranty(Traced):
    """``WarrantyResponse``: periods are ISO 8601 texts (``P2Y``); ``lifetime`` may replace them."""

    id: str
    name: str
    type: str | None
    individual_period: str | None
    individual_lifetime: bool | None
    corporate_period: str | None
    corporate_lifetime: bool | None
    attachment_name: str | None
    description: str | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> Warranty:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            type=opt_str(data.get("type")),
            individual_period=opt_str(dig(data, "individual", "period")),
            individual_lifetime=opt_bool(dig(data, "individual", "lifetime")),
            corporate_period=opt_str(dig(data, "corporate", "period")),
            corporate_lifetime=opt_bool(dig(data, "corporate", "lifetime")),
            attachment_name=opt_str(dig(data, "attachment", "name")),
            description=opt_str(data.get("description")),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class ImpliedWarranty(Traced):
    """``ImpliedWarrantyResponse``: periods in whole years; the address complaints go to."""

    id: str
    name: str
    individual_period: str | None
    corporate_period: str | None
    address_name: str | None
    address_street: str | None
    address_post_code: str | None
    address_city: str | None
    address_country_code: str | None
    description: str | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> ImpliedWarranty:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            individual_period=opt_str(dig(data, "individual", "period")),
            corporate_period=opt_str(dig(data, "corporate", "period")),
            address_name=opt_str(dig(data, "address", "name")),
            address_street=opt_str(dig(data, "address", "street")),
            address_post_code=opt_str(dig(data, "address", "postCode")),
            address_city=opt_str(dig(data, "address", "city")),
            address_country_code=opt_str(dig(data, "address", "countryCode")),
            description=opt_str(data.get("description")),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class BasicPage(Traced):
    entries: list[WarrantyBasic]


def _list(client: AllegroClient, *, path: str, key: str, offset: int, limit: int) -> BasicPage:
    response = client.get(f"{BASE}/{path}", params={"offset": offset, "limit": limit})
    data = body(response)
    return BasicPage(
        entries=[
            WarrantyBasic(id=str(e["id"]), name=str(e.get("name") or ""))
            for e in items(data, key)
            if e.get("id") is not None
        ],
        trace_id=response.trace_id,
        raw=data,
    )


def list_warranties(client: AllegroClient, *, offset: int = 0, limit: int = PAGE) -> BasicPage:
    """``GET …/warranties``: ids and names (``WarrantiesList_WarrantyBasic_``)."""
    return _list(client, path="warranties", key="warranties", offset=offset, limit=limit)


def list_implied_warranties(
    client: AllegroClient, *, offset: int = 0, limit: int = PAGE
) -> BasicPage:
    """``GET …/implied-warranties``: ids and names."""
    return _list(
        client, path="implied-warranties", key="impliedWarranties", offset=offset, limit=limit
    )


def get_warranty(client: AllegroClient, *, warranty_id: str) -> Warranty:
    response = client.get(f"{BASE}/warranties/{warranty_id}")
    return Warranty.parse(body(response), trace_id=response.trace_id)


def get_implied_warranty(client: AllegroClient, *, implied_warranty_id: str) -> ImpliedWarranty:
    response = client.get(f"{BASE}/implied-warranties/{implied_warranty_id}")
    return ImpliedWarranty.parse(body(response), trace_id=response.trace_id)


def iter_warranties(client: AllegroClient) -> Iterator[WarrantyBasic]:
    """Every reachable warranty: the listing's offset stops below its page size (60)."""
    yield from list_warranties(client, offset=0, limit=PAGE).entries


def iter_implied_warranties(client: AllegroClient) -> Iterator[WarrantyBasic]:
    yield from list_implied_warranties(client, offset=0, limit=PAGE).entries
