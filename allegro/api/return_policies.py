"""Return policies (``/after-sales-service-conditions/return-policies``): list, get, CRUD."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from allegro import paging
from allegro.api._base import JsonDict, Traced, body, dig, items, opt_str
from allegro.client import AllegroClient

Availability = Literal["FULL", "RESTRICTED", "DISABLED"]
BASE = "/after-sales-service-conditions/return-policies"


@dataclass(frozen=True, kw_only=True)
class ReturnAddress:
    name: str
    street: str
    post_code: str
    city: str
    country_code: str = "PL"

    def as_json(self) -> JsonDict:
        return {
            "name": self.name,
            "street": self.street,
            "postCode": self.post_code,
            "city": self.city,
            "countryCode": self.country_code,
        }


@dataclass(frozen=True, kw_only=True)
class ReturnPolicyInput:
    """What a seller edits; ``as_json`` gives ``ReturnPolicyRequestV1`` / ``...UpdateRequestV1``.

    Allegro's docs (stricter than the spec) require ``withdrawal_period``, ``return_cost_by``
    and ``address`` when ``availability`` is FULL, and ``restriction_cause`` when RESTRICTED.
    """

    name: str
    availability: Availability
    is_fulfillment: bool = False
    restriction_cause: str | None = None
    withdrawal_period: str | None = None  # ISO 8601 whole days, e.g. "P14D"
    return_cost_by: Literal["SELLER", "BUYER"] | None = None
    address: ReturnAddress | None = None
    phone: str | None = None
    email: str | None = None
    options: dict[str, bool] = field(default_factory=dict)

    def as_json(self, *, for_update: bool = False) -> JsonDict:
        availability: JsonDict = {"range": self.availability}
        if self.restriction_cause:
            availability["restrictionCause"] = {"name": self.restriction_cause}
        data: JsonDict = {"name": self.name, "availability": availability}
        if not for_update:
            data["isFulfillment"] = self.is_fulfillment
        if self.withdrawal_period:
            data["withdrawalPeriod"] = self.withdrawal_period
        if self.return_cost_by:
            data["returnCost"] = {"coveredBy": self.return_cost_by}
        if self.address:
            data["address"] = self.address.as_json()
        if self.phone or self.email:
            data["contact"] = {"phoneNumber": self.phone, "email": self.email}
        if self.options:
            data["options"] = dict(self.options)
        return data


@dataclass(frozen=True, kw_only=True)
class ReturnPolicy(Traced):
    id: str
    name: str
    availability: str | None
    is_fulfillment: bool
    withdrawal_period: str | None
    return_cost_by: str | None

    @classmethod
    def parse(cls, data: JsonDict, *, trace_id: str | None = None) -> ReturnPolicy:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            availability=opt_str(dig(data, "availability", "range")),
            is_fulfillment=bool(data.get("isFulfillment")),
            withdrawal_period=opt_str(data.get("withdrawalPeriod")),
            return_cost_by=opt_str(dig(data, "returnCost", "coveredBy")),
            trace_id=trace_id,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class ReturnPoliciesPage(Traced):
    return_policies: list[ReturnPolicy]
    count: int


def list_return_policies(
    client: AllegroClient, *, offset: int = 0, limit: int = 60
) -> ReturnPoliciesPage:
    response = client.get(BASE, params={"offset": offset, "limit": limit})
    data = body(response)
    return ReturnPoliciesPage(
        return_policies=[ReturnPolicy.parse(p) for p in items(data, "returnPolicies")],
        count=int(data.get("count") or 0),
        trace_id=response.trace_id,
        raw=data,
    )


def iter_return_policies(client: AllegroClient) -> Iterator[ReturnPolicy]:
    """All policies reachable by paging (limit ≤ 60, offset ≤ 59)."""

    def fetch(offset: int, limit: int) -> list[ReturnPolicy]:
        return list_return_policies(client, offset=offset, limit=limit).return_policies

    return paging.iter_offset(fetch, limits=paging.RETURN_POLICIES)


def get_return_policy(client: AllegroClient, *, policy_id: str) -> ReturnPolicy:
    response = client.get(f"{BASE}/{policy_id}")
    return ReturnPolicy.parse(body(response), trace_id=response.trace_id)


def create_return_policy(client: AllegroClient, *, policy: ReturnPolicyInput) -> ReturnPolicy:
    response = client.request("POST", BASE, json=policy.as_json(), ok=(201,))
    return ReturnPolicy.parse(body(response), trace_id=response.trace_id)


def update_return_policy(
    client: AllegroClient, *, policy_id: str, policy: ReturnPolicyInput
) -> ReturnPolicy:
    """PUT replaces the policy; ``isFulfillment`` cannot change and is not sent."""
    response = client.request("PUT", f"{BASE}/{policy_id}", json=policy.as_json(for_update=True))
    return ReturnPolicy.parse(body(response), trace_id=response.trace_id)


@dataclass(frozen=True, kw_only=True)
class Deleted(Traced):
    id: str


def delete_return_policy(client: AllegroClient, *, policy_id: str) -> Deleted:
    response = client.request("DELETE", f"{BASE}/{policy_id}", ok=(200, 204))
    return Deleted(id=policy_id, trace_id=response.trace_id)
