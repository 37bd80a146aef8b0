"""``GET /me``: the seller behind the token (used when linking an account)."""

from __future__ import annotations

from dataclasses import dataclass

from allegro.api._base import Traced, body, dig, opt_str
from allegro.client import AllegroClient


@dataclass(frozen=True, kw_only=True)
class Me(Traced):
    id: str
    login: str
    first_name: str | None
    last_name: str | None
    email: str | None
    base_marketplace: str | None
    company_name: str | None
    company_tax_id: str | None
    features: tuple[str, ...]


def get_me(client: AllegroClient) -> Me:
    response = client.get("/me")
    data = body(response)
    return Me(
        id=str(data["id"]),
        login=str(data.get("login") or ""),
        first_name=opt_str(data.get("firstName")),
        last_name=opt_str(data.get("lastName")),
        email=opt_str(data.get("email")),
        base_marketplace=opt_str(dig(data, "baseMarketplace", "id")),
        company_name=opt_str(dig(data, "company", "name")),
        company_tax_id=opt_str(dig(data, "company", "taxId")),
        features=tuple(str(f) for f in data.get("features") or ()),
        trace_id=response.trace_id,
        raw=data,
    )
