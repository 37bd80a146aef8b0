"""Audit entries as people read them: a label for the action and "field: before → after" rows.

``AuditLogEntry.before`` / ``after`` are JSON documents whose shape depends on the action (an
offer snapshot, the PATCH body Allegro was sent, a fulfillment status and revision, …). This
module turns any of them into ``ChangeRow``s with translated field labels and values formatted
for the interface language (statuses through ``ui.labels``, money and numbers in the
locale's format, lists joined), so no page shows a Python or JSON repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from ui.labels import money_text, number_text, status_label


@dataclass(frozen=True)
class ChangeRow:
    """One field. ``before is None``: a fact of the action (shown as ``field: after``)."""

    field: str
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before is not None


ACTION_LABELS: dict[str, str | Promise] = {
    "offer.edited": gettext_lazy("Offer changed on Allegro"),
    "offer.edit_requested": gettext_lazy("Change sent, Allegro is processing it"),
    "offer.edit_failed": gettext_lazy("Change refused by Allegro"),
    "offer.activated": gettext_lazy("Offer activated"),
    "offer.ended": gettext_lazy("Offer ended"),
    "offers.bulk.price_set": gettext_lazy("Bulk change: price set"),
    "offers.bulk.price_increase": gettext_lazy("Bulk change: price raised"),
    "offers.bulk.price_decrease": gettext_lazy("Bulk change: price lowered"),
    "offers.bulk.price_increase_pct": gettext_lazy("Bulk change: price raised by %"),
    "offers.bulk.price_decrease_pct": gettext_lazy("Bulk change: price lowered by %"),
    "offers.bulk.stock_set": gettext_lazy("Bulk change: stock set"),
    "offers.bulk.stock_add": gettext_lazy("Bulk change: stock added"),
    "offers.bulk.activate": gettext_lazy("Bulk change: offers activated"),
    "offers.bulk.end": gettext_lazy("Bulk change: offers ended"),
    "order.fulfillment_changed": gettext_lazy("Fulfillment status changed"),
    "order.fulfillment_conflict": gettext_lazy("Not saved: the order changed on Allegro"),
    "order.tracking_added": gettext_lazy("Tracking number added"),
    "account.linked": gettext_lazy("Allegro account linked"),
    "account.relinked": gettext_lazy("Allegro account linked again"),
    "account.unlinked": gettext_lazy("Allegro account unlinked"),
    "account.deleted": gettext_lazy("Allegro account deleted"),
    "account.reauth_required": gettext_lazy("Allegro account needs re-authorisation"),
}

FIELD_LABELS: dict[str, str | Promise] = {
    "name": pgettext_lazy("audit field", "Title"),
    "price": pgettext_lazy("audit field", "Price"),
    "stock": pgettext_lazy("audit field", "Stock"),
    "status": pgettext_lazy("audit field", "Status"),
    "fulfillment": pgettext_lazy("audit field", "Fulfillment status"),
    "wanted": pgettext_lazy("audit field", "Requested status"),
    "waybill": pgettext_lazy("audit field", "Waybill"),
    "carrier": pgettext_lazy("audit field", "Carrier"),
    "carrier_name": pgettext_lazy("audit field", "Carrier name"),
    "line_items": pgettext_lazy("audit field", "Order lines"),
    "offers": pgettext_lazy("audit field", "Offers"),
    "value": pgettext_lazy("audit field", "Value"),
    "success": pgettext_lazy("audit field", "Succeeded"),
    "failed": pgettext_lazy("audit field", "Failed"),
    "errors": pgettext_lazy("audit field", "Allegro's errors"),
    "changed": pgettext_lazy("audit field", "Changed on Allegro"),
    "reason": pgettext_lazy("audit field", "Reason"),
    "login": pgettext_lazy("audit field", "Login"),
    "scopes": pgettext_lazy("audit field", "Permissions"),
    "allegro_user_id": pgettext_lazy("audit field", "Allegro user id"),
}
MARKETPLACE_PRICE = "marketplace_prices."
# Technical details the trace id column already covers, and the currency (part of the price).
HIDDEN = {"revision", "operation", "command", "currency"}
# Facts of an action rather than before/after pairs of one field.
FACTS = {"offers", "value", "wanted", "success", "failed", "errors", "changed", "reason"}


def audit_action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def field_label(key: str) -> str:
    if key.startswith(MARKETPLACE_PRICE):
        market = key[len(MARKETPLACE_PRICE) :]
        return _("Price on %(marketplace)s") % {"marketplace": market}
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


# --- normalising the documents ---------------------------------------------------------------


def _requested(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A ``PATCH /sale/product-offers`` body as snapshot fields."""
    out: dict[str, Any] = {}
    if "name" in changes:
        out["name"] = changes["name"]
    price = (changes.get("sellingMode") or {}).get("price")
    if isinstance(price, Mapping):
        out["price"] = {"amount": price.get("amount"), "currency": price.get("currency")}
    stock = changes.get("stock")
    if isinstance(stock, Mapping) and "available" in stock:
        out["stock"] = stock["available"]
    for market, extra in (changes.get("additionalMarketplaces") or {}).items():
        money = ((extra or {}).get("sellingMode") or {}).get("price")
        if isinstance(money, Mapping):
            out[MARKETPLACE_PRICE + market] = dict(money)
    return out


def _normalise(doc: Any) -> dict[str, Any] | None:
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        return {"value": doc}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "requested" and isinstance(value, Mapping):
            out.update(_requested(value))
        elif key == "marketplace_prices" and isinstance(value, Mapping):
            for market, money in value.items():
                out[MARKETPLACE_PRICE + str(market)] = money
        elif key == "price" and not isinstance(value, Mapping):
            out["price"] = {"amount": value, "currency": doc.get("currency") or ""}
        else:
            out[key] = value
    return out


# --- values ----------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def value_text(key: str, value: Any, *, action: str = "") -> str:
    """One value of an audit document, readable in the interface language."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if key == "status":
        if action.startswith("account."):
            from accounts.models import AccountStatus

            known = {c.value: c.label for c in AccountStatus}
            return str(known.get(str(value), value))
        if action.startswith("order"):
            return status_label("order", value)
        return status_label("offer", value)
    if key in ("fulfillment", "wanted"):
        return status_label("fulfillment", value)
    if isinstance(value, Mapping) and "amount" in value:
        return money_text(value.get("amount"), value.get("currency") or "")
    if key in ("offers", "line_items") and isinstance(value, list):
        return number_text(len(value))
    if isinstance(value, list):
        return "; ".join(value_text("", item) for item in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(
            f"{field_label(str(k))}: {value_text(str(k), v)}" for k, v in value.items()
        )
    if isinstance(value, int | float) or (key in ("value", "stock") and isinstance(value, str)):
        return number_text(value)
    return str(value)


def audit_changes(*, action: str, before: Any, after: Any) -> list[ChangeRow]:
    """The fields an audit entry changed (``before → after``) and the facts it records.

    Fields equal on both sides are left out; fields only in ``before`` are left out unless the
    entry has no ``after`` (a deletion), since they are the unchanged rest of a snapshot.
    """
    old, new = _normalise(before), _normalise(after)
    keys = list(dict.fromkeys([*(old or {}), *(new or {})]))
    rows: list[ChangeRow] = []
    for key in keys:
        if key in HIDDEN:
            continue
        in_old, in_new = old is not None and key in old, new is not None and key in new
        b = old.get(key) if old is not None else None
        a = new.get(key) if new is not None else None
        label = field_label(key)
        if in_old and in_new:
            if b == a and key not in FACTS:
                continue
            if b == a:
                rows.append(ChangeRow(label, None, value_text(key, a, action=action)))
            else:
                rows.append(
                    ChangeRow(
                        label,
                        value_text(key, b, action=action),
                        value_text(key, a, action=action),
                    )
                )
        elif in_new:
            rows.append(ChangeRow(label, None, value_text(key, a, action=action)))
        elif in_old and (new is None or key in FACTS):
            rows.append(ChangeRow(label, None, value_text(key, b, action=action)))
    return rows
