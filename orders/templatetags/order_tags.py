"""Small display helpers for the order pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def label(value: str, labels: dict[str, Any]) -> Any:
    """The translated label of a status code (the code itself when unknown)."""
    return labels.get(value, value or "—")


@register.filter
def address_lines(address: Any) -> list[str]:
    """A delivery address / pickup point document as display lines."""
    if not isinstance(address, dict):
        return []
    name = " ".join(str(address.get(k) or "") for k in ("firstName", "lastName")).strip()
    nested = address.get("address")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else address
    lines = [
        name,
        str(address.get("companyName") or address.get("name") or ""),
        str(inner.get("street") or ""),
        " ".join(str(inner.get(k) or "") for k in ("zipCode", "postCode", "city")).strip(),
        str(inner.get("countryCode") or ""),
        str(address.get("phoneNumber") or ""),
        str(address.get("description") or ""),
    ]
    return [line for line in lines if line]
