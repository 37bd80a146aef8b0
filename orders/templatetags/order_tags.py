"""Small display helpers for the order pages."""

from __future__ import annotations

from typing import Any

from django import template

from orders.selectors import order_ref

register = template.Library()


@register.filter
def ref(allegro_id: Any) -> str:
    """An order's short reference (``3F2A9C1B``); see ``orders.selectors.order_ref``."""
    return order_ref(allegro_id) if allegro_id else "—"


@register.filter
def label(value: str, labels: dict[str, Any]) -> Any:
    """The translated label of a status code (the code itself when unknown)."""
    return labels.get(value, value or "—")
