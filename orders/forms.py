"""Forms of the order pages; each checks Allegro's limits before a request is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from allegro.api.orders import SELLER_SETTABLE_STATUSES
from orders.selectors import DEFAULT_SORT, OrderQuery
from ui.forms import BoundedDateField, DbIdsField
from ui.listing import MARKETPLACE_CHOICES, ListFilterForm

ORDER_STATUSES = [
    ("BOUGHT", _("Bought (no checkout yet)")),
    ("FILLED_IN", _("Filled in (not paid)")),
    ("READY_FOR_PROCESSING", _("Ready for processing")),
    ("CANCELLED", _("Cancelled")),
]
FULFILLMENT_LABELS = {
    "NEW": _("New"),
    "PROCESSING": _("Processing"),
    "READY_FOR_SHIPMENT": _("Ready for shipment"),
    "READY_FOR_PICKUP": _("Ready for pickup"),
    "SENT": _("Sent"),
    "PICKED_UP": _("Picked up"),
    "CANCELLED": _("Cancelled"),
    "SUSPENDED": _("Suspended"),
    "RETURNED": _("Returned"),
}
FULFILLMENT_CHOICES = list(FULFILLMENT_LABELS.items())
SETTABLE_CHOICES = [(s, FULFILLMENT_LABELS[s]) for s in SELLER_SETTABLE_STATUSES]
SORT_CHOICES = [
    ("-bought", _("Newest first")),
    ("bought", _("Oldest first")),
    ("-updated", _("Last changed")),
    ("-total", _("Total: high to low")),
    ("total", _("Total: low to high")),
    ("buyer", _("Buyer")),
]
PAGE_SIZES = (25, 50, 100)
WAYBILL_MAX = 64
CARRIER_NAME_MAX = 30
MAX_BULK_ORDERS = 100


class OrderFilterForm(ListFilterForm):
    page_sizes = PAGE_SIZES
    field_order = (
        "q",
        "account",
        "status",
        "fulfillment",
        "bought_from",
        "bought_to",
        "marketplace",
        "delivery",
        "no_tracking",
        "quarantined",
        "merged",
        "to_ship",
        "overdue",
        "unpaid",
        "sort",
        "per_page",
    )

    status = forms.MultipleChoiceField(
        label=_("Order status"),
        required=False,
        choices=ORDER_STATUSES,
        widget=forms.CheckboxSelectMultiple,
    )
    fulfillment = forms.MultipleChoiceField(
        label=_("Fulfillment"),
        required=False,
        choices=FULFILLMENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    bought_from = BoundedDateField(label=_("Bought from"), required=False)
    bought_to = BoundedDateField(label=_("Bought to"), required=False)
    marketplace = forms.ChoiceField(
        label=_("Marketplace"), required=False, choices=MARKETPLACE_CHOICES
    )
    delivery = forms.CharField(label=_("Delivery method"), required=False, max_length=100)
    no_tracking = forms.BooleanField(label=_("No tracking number yet"), required=False)
    quarantined = forms.BooleanField(label=_("Quarantined"), required=False)
    merged = forms.BooleanField(label=_("Merged"), required=False)
    to_ship = forms.BooleanField(label=_("To ship"), required=False)
    overdue = forms.BooleanField(label=_("Dispatch overdue"), required=False)
    unpaid = forms.BooleanField(label=_("Unpaid"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def query(self) -> OrderQuery:
        data = self.valid_data()
        return OrderQuery(
            q=data.get("q") or "",
            account_ids=self.account_ids(),
            statuses=data.get("status") or [],
            fulfillment=data.get("fulfillment") or [],
            bought_from=data.get("bought_from"),
            bought_to=data.get("bought_to"),
            marketplace=data.get("marketplace") or "",
            delivery=data.get("delivery") or "",
            no_tracking=bool(data.get("no_tracking")),
            quarantined=bool(data.get("quarantined")),
            merged=bool(data.get("merged")),
            to_ship=bool(data.get("to_ship")),
            overdue=bool(data.get("overdue")),
            unpaid=bool(data.get("unpaid")),
            sort=data.get("sort") or DEFAULT_SORT,
        )


class FulfillmentForm(forms.Form):
    """A new fulfillment status with the revision the staff member was looking at."""

    status = forms.ChoiceField(label=_("Fulfillment status"), choices=SETTABLE_CHOICES)
    revision = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class BulkFulfillmentForm(forms.Form):
    """No status is chosen in advance; ``confirm`` is set by the confirmation step."""

    status = forms.ChoiceField(
        label=_("Fulfillment status"),
        choices=[("", _("— choose a status —")), *SETTABLE_CHOICES],
        error_messages={"required": _("Choose the status to set.")},
    )
    # Any id in range is acceptable here: the selector drops ids the user may not see.
    orders = DbIdsField(error_messages={"required": _("Select at least one order.")})
    confirm = forms.BooleanField(required=False)

    def clean_orders(self) -> list[int]:
        orders: list[int] = self.cleaned_data["orders"]
        if len(orders) > MAX_BULK_ORDERS:
            raise forms.ValidationError(
                _("Select at most %(n)d orders at a time."), params={"n": MAX_BULK_ORDERS}
            )
        return orders


class TrackingForm(forms.Form):
    """``POST /order/checkout-forms/{id}/shipments`` (+ optionally fulfillment ``SENT``)."""

    carrier = forms.ChoiceField(label=_("Carrier"))
    carrier_name = forms.CharField(
        label=_("Carrier name (for “Other”)"), required=False, max_length=CARRIER_NAME_MAX
    )
    waybill = forms.CharField(label=_("Tracking number"), max_length=WAYBILL_MAX)
    line_items = forms.MultipleChoiceField(
        label=_("Items in this parcel (none ticked: all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    set_sent = forms.BooleanField(label=_("Also mark the order as sent"), required=False)
    revision = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        carriers: Sequence[tuple[str, str]],
        line_items: Sequence[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        carrier = self.fields["carrier"]
        assert isinstance(carrier, forms.ChoiceField)
        carrier.choices = list(carriers)
        lines = self.fields["line_items"]
        assert isinstance(lines, forms.MultipleChoiceField)
        lines.choices = list(line_items)

    def clean_waybill(self) -> str:
        waybill: str = self.cleaned_data["waybill"].strip()
        if not waybill:
            raise forms.ValidationError(_("Enter the tracking number."))
        if any(ch.isspace() for ch in waybill) or not waybill.isprintable():
            raise forms.ValidationError(_("A tracking number has no spaces or control characters."))
        return waybill

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = (data.get("carrier_name") or "").strip()
        if data.get("carrier") == "OTHER":
            if not name:
                self.add_error("carrier_name", _("Name the carrier when you choose “Other”."))
            elif not name.isprintable():
                self.add_error("carrier_name", _("Use printable characters only."))
        data["carrier_name"] = name if data.get("carrier") == "OTHER" else ""
        return data
