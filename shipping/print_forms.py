"""Forms of the print and dispatch actions: label batches, pickups and the packing station."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_SELECTED = 500
MAX_ID = 2**63 - 1


def selected_ids(values: list[str]) -> list[int]:
    """The ticked shipment ids (positive 64-bit integers, duplicates dropped, order kept)."""
    out: list[int] = []
    for value in values[: MAX_SELECTED * 2]:
        text = str(value).strip()
        # ASCII digits, at most 19 of them, before int(): a huge number is refused unconverted
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            continue
        number = int(text)
        if 0 < number <= MAX_ID and number not in out:
            out.append(number)
    return out[:MAX_SELECTED]


class LabelsForm(forms.Form):
    ordering = forms.ChoiceField(
        label=_("Order of the labels"),
        choices=[
            ("order_date", _("By order date")),
            ("carrier", _("By carrier")),
            ("deadline", _("By dispatch deadline")),
        ],
        initial="order_date",
    )
    layout = forms.ChoiceField(
        label=_("Paper"),
        choices=[("a6", _("A6 (label printer)")), ("a4", _("A4, four labels per sheet"))],
        initial="a6",
    )
    cut_lines = forms.BooleanField(label=_("Cut lines"), required=False)
    start = forms.TypedChoiceField(
        label=_("First free position on the sheet"),
        choices=[(1, "1"), (2, "2"), (3, "3"), (4, "4")],
        coerce=int,
        initial=1,
        required=False,
        empty_value="1",
    )
    summary = forms.BooleanField(label=_("Allegro's summary report"), required=False)


class ShipmentsForm(forms.Form):
    """Only the ticked shipments (the ids come from ``getlist``)."""

    confirm = forms.BooleanField(required=False)


class PickupForm(forms.Form):
    slot = forms.ChoiceField(label=_("Pickup date and time"))

    def __init__(self, *args: Any, slots: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["slot"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, s) for s in slots]


class ScanForm(forms.Form):
    # empty is allowed: Enter on the empty field acts on the open order
    q = forms.CharField(
        label=_("Order id, buyer login or EAN"),
        max_length=64,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
