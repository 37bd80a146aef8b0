"""Shipping forms: the queue's and the shipments list's filters, the create form (limits from
Allegro's delivery proposal, checked before anything is sent) and the bulk form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount
from shipping.models import LabelFormat, PackagePreset, PackageType
from ui import labels
from ui.errors import field_for_path
from ui.forms import BoundedDateField, DbIdsField, LocalizedDecimalField
from ui.listing import MARKETPLACE_CHOICES, ListFilterForm

DEADLINE_CHOICES = [
    ("", _("Any deadline")),
    ("today", _("Due by the end of today")),
    ("overdue", _("Overdue")),
]
# The carriers the queue filters by, named as everywhere else (ui.labels' "carrier" kind).
FILTER_CARRIERS = ("INPOST", "DPD", "ALLEGRO", "ORLEN_PACZKA", "DHL", "UPS", "GLS", "POCZTA_POLSKA")
CARRIER_CHOICES = [("", _("Any carrier"))] + [
    (carrier, labels.status_label("carrier", carrier)) for carrier in FILTER_CARRIERS
]


class QueueFilterForm(ListFilterForm):
    field_order = ["tab", "account", "delivery", "carrier", "deadline", "marketplace", "per_page"]

    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    delivery = forms.ChoiceField(label=_("Delivery method"), required=False)
    carrier = forms.ChoiceField(label=_("Carrier"), required=False, choices=CARRIER_CHOICES)
    deadline = forms.ChoiceField(
        label=_("Dispatch deadline"), required=False, choices=DEADLINE_CHOICES
    )
    marketplace = forms.ChoiceField(
        label=_("Marketplace"), required=False, choices=MARKETPLACE_CHOICES
    )

    def __init__(
        self, *args: Any, accounts: Sequence[AllegroAccount], methods: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, accounts=accounts, **kwargs)
        delivery = self.fields["delivery"]
        assert isinstance(delivery, forms.ChoiceField)
        delivery.choices = [("", _("Any delivery method"))] + [(m, m) for m in methods]


YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class ShipmentFilterForm(ListFilterForm):
    field_order = [
        "tab",
        "q",
        "account",
        "carrier",
        "created_from",
        "created_to",
        "label",
        "protocol",
        "pickup",
        "cancelled",
        "per_page",
    ]

    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    carrier = forms.ChoiceField(label=_("Carrier"), required=False)
    created_from = BoundedDateField(label=_("Created from"), required=False)
    created_to = BoundedDateField(label=_("Created to"), required=False)
    label = forms.ChoiceField(
        label=_("Label"),
        required=False,
        choices=[("", _("Any")), ("printed", _("Printed")), ("not_printed", _("Not printed"))],
    )
    protocol = forms.ChoiceField(label=_("In a dispatch protocol"), required=False, choices=YES_NO)
    pickup = forms.ChoiceField(label=_("Pickup ordered"), required=False, choices=YES_NO)
    cancelled = forms.ChoiceField(
        label=_("Cancelled"),
        required=False,
        choices=[("", _("Hide cancelled")), ("only", _("Only cancelled")), ("all", _("All"))],
    )

    def __init__(
        self, *args: Any, accounts: Sequence[AllegroAccount], carriers: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, accounts=accounts, **kwargs)
        carrier = self.fields["carrier"]
        assert isinstance(carrier, forms.ChoiceField)
        carrier.choices = [("", _("Any carrier"))] + [(c, c) for c in carriers]


# --- create ------------------------------------------------------------------------------------
CUSTOM = "custom"
# When the proposal names no limit: the largest courier parcel Allegro ships.
FALLBACK_LIMITS = (Decimal("150"), Decimal("80"), Decimal("80"), Decimal("31.5"))
MAX_AMOUNT = Decimal("99999.99")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, dict):
        value = value.get("value", value.get("amount"))
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return number if number.is_finite() and number > 0 else None


class Limits:
    """The largest parcel, insurance and cash on delivery the order's delivery options allow."""

    def __init__(self, options: Sequence[Mapping[str, Any]]) -> None:
        sides: list[Decimal] = []
        weights: list[Decimal] = []
        self.insurance: Decimal | None = None
        self.cod: Decimal | None = None
        for option in options:
            limits = option.get("limits") if isinstance(option, Mapping) else None
            if not isinstance(limits, Mapping):
                continue
            dims = limits.get("dimensions")
            if not isinstance(dims, Mapping):
                dims = {}
            found = [_number(dims.get(k)) for k in ("length", "width", "height")]
            if all(found):
                sides = sorted((d for d in found if d is not None), reverse=True)
            weight = _number(limits.get("weight"))
            if weight:
                weights.append(weight)
            insurance = _number(limits.get("insurance"))
            if insurance:
                self.insurance = max(self.insurance or insurance, insurance)
            cod = _number(limits.get("cashOnDelivery"))
            if cod:
                self.cod = max(self.cod or cod, cod)
        self.sides = sides or list(FALLBACK_LIMITS[:3])
        self.weight = max(weights) if weights else FALLBACK_LIMITS[3]
        self.cod_available = self.cod is not None or any(
            isinstance(o, Mapping) and o.get("paymentType") == "POSTPAID" for o in options
        )


# Allegro's error ``path`` (``packages[0].weight`` → ``weight``) onto the create form's fields.
PATH_FIELDS = {
    "insurance": "insurance",
    "cashOnDelivery": "cash_on_delivery",
    "labelFormat": "label_format",
    "referenceNumber": "reference_number",
}
PACKAGE_FIELDS = {
    "weight": "weight",
    "length": "length",
    "width": "width",
    "height": "height",
    "type": "package_type",
    "textOnLabel": "text_on_label",
}


def field_of_path(path: str | None) -> str | None:
    """The create form's field an Allegro error path names (``None``: the form as a whole)."""
    if not path:
        return None
    cleaned = path.removeprefix("input.")
    if cleaned.startswith("packages"):
        rest = cleaned.split(".", 1)[1] if "." in cleaned else ""
        return PACKAGE_FIELDS.get(rest.split(".", 1)[0], "length")
    return field_for_path(cleaned, fields=PATH_FIELDS)


class ShipmentCreateForm(forms.Form):
    preset = forms.ChoiceField(label=_("Package"))
    package_type = forms.ChoiceField(
        label=_("Package type"), choices=PackageType.choices, initial=PackageType.PACKAGE
    )
    length = LocalizedDecimalField(
        label=_("Length (cm)"),
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("9999"),
        decimal_places=1,
    )
    width = LocalizedDecimalField(
        label=_("Width (cm)"),
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("9999"),
        decimal_places=1,
    )
    height = LocalizedDecimalField(
        label=_("Height (cm)"),
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("9999"),
        decimal_places=1,
    )
    weight = LocalizedDecimalField(
        label=_("Weight (kg)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("9999"),
        decimal_places=3,
    )
    label_format = forms.ChoiceField(
        label=_("Label format"), choices=LabelFormat.choices, initial=LabelFormat.PDF
    )
    insurance = LocalizedDecimalField(
        label=_("Insurance"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    cash_on_delivery = LocalizedDecimalField(
        label=_("Cash on delivery"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    text_on_label = forms.CharField(label=_("Text on the label"), required=False, max_length=100)
    reference_number = forms.CharField(label=_("Reference number"), required=False, max_length=100)

    def __init__(
        self,
        *args: Any,
        presets: Sequence[PackagePreset],
        limits: Limits,
        cod_allowed: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.presets = {str(p.pk): p for p in presets}
        self.limits = limits
        preset = self.fields["preset"]
        assert isinstance(preset, forms.ChoiceField)
        preset.choices = [
            (
                str(p.pk),
                f"{p.name} ({p.length_cm:g}x{p.width_cm:g}x{p.height_cm:g} cm, {p.weight_kg:g} kg)",
            )
            for p in presets
        ] + [(CUSTOM, _("Other size (enter below)"))]
        insurance = self.fields["insurance"]
        assert isinstance(insurance, forms.DecimalField)
        insurance.help_text = (
            _("Up to %(limit)s.") % {"limit": limits.insurance} if limits.insurance else ""
        )
        if not cod_allowed:
            del self.fields["cash_on_delivery"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        preset = self.presets.get(str(data.get("preset") or ""))
        if preset is not None:
            data.update(
                package_type=preset.type,
                length=preset.length_cm,
                width=preset.width_cm,
                height=preset.height_cm,
                weight=preset.weight_kg,
            )
        elif data.get("preset") == CUSTOM:
            for name in ("length", "width", "height", "weight"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Enter the parcel's size and weight."))
        if all(data.get(n) is not None for n in ("length", "width", "height")):
            sides = sorted((data["length"], data["width"], data["height"]), reverse=True)
            if any(s > m for s, m in zip(sides, self.limits.sides, strict=False)):
                self.add_error(
                    "length" if preset is None else "preset",
                    _("The parcel exceeds %(dims)s cm allowed for this delivery.")
                    % {"dims": "x".join(f"{s:g}" for s in self.limits.sides)},
                )
        weight = data.get("weight")
        if weight is not None and weight > self.limits.weight:
            self.add_error(
                "weight" if preset is None else "preset",
                _("The parcel weighs more than %(kg)s kg allowed for this delivery.")
                % {"kg": f"{self.limits.weight:g}"},
            )
        for name, limit in (
            ("insurance", self.limits.insurance or MAX_AMOUNT),
            ("cash_on_delivery", self.limits.cod or MAX_AMOUNT),
        ):
            value = data.get(name)
            if value is not None and value > limit:
                self.add_error(name, _("At most %(limit)s.") % {"limit": limit})
        return data


class BulkCreateForm(forms.Form):
    orders = DbIdsField(required=False)
    all_matching = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)
