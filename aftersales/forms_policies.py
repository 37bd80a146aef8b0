"""The return policy form (the full shape of ``ReturnPolicyRequestV1``, with the limits Allegro
checks) and the copy form."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount
from allegro.api import return_policies as policies_api
from ui.forms import LocalizedIntegerField

RANGE_CHOICES = [
    ("FULL", _("Returns accepted")),
    ("RESTRICTED", _("Returns restricted")),
    ("DISABLED", _("No returns")),
]
CAUSE_CHOICES = [
    ("", _("—")),
    ("SEALED_MEDIA", _("Sealed media (opened: no return)")),
    ("SEALED_ITEM_NO_RETURN_DUE_HEALTH_OR_HYGIENE", _("Sealed for health or hygiene")),
    ("CUSTOM_ITEM", _("Made to the buyer's specification")),
    ("SHORT_SHELF_LIFE", _("Short shelf life")),
    ("INSEPARABLY_LINKED", _("Inseparably mixed with other items")),
    ("PRESS", _("Newspapers and magazines")),
    ("MEDICINAL_PRODUCT", _("Medicinal product")),
    ("NOT_RECORDED_DIGITAL_CONTENT", _("Digital content not on a medium")),
    ("VALUE_DEPENDENT_ON_FINANCIAL_MARKET", _("Price depends on the financial market")),
]
COST_CHOICES = [("", _("—")), ("SELLER", _("Seller")), ("BUYER", _("Buyer"))]
COUNTRY_CHOICES = [("PL", "Polska"), ("CZ", "Česko"), ("SK", "Slovensko"), ("HU", "Magyarország")]
OPTION_FIELDS = (
    ("cashOnDeliveryNotAllowed", "opt_cod_not_allowed", _("Returns sent cash on delivery refused")),
    (
        "freeAccessoriesReturnRequired",
        "opt_free_accessories",
        _("Free accessories must be sent back"),
    ),
    (
        "refundLoweredByReceivedDiscount",
        "opt_refund_lowered",
        _("Refund lowered by a discount received after the order"),
    ),
    ("businessReturnAllowed", "opt_business_return", _("Returns of business purchases accepted")),
    ("collectBySellerOnly", "opt_collect_by_seller", _("The seller collects returned items")),
)
POSTCODES = {
    "PL": re.compile(r"^\d{2}-\d{3}$"),
    "CZ": re.compile(r"^\d{3} \d{2}$"),
    "SK": re.compile(r"^\d{3} \d{2}$"),
}
OTHER_POSTCODE = re.compile(r"^[A-Za-z0-9 -]{1,16}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
MIN_DAYS = 14
MAX_DAYS = 365
# Allegro's path -> our field
PATH_FIELDS = {
    "name": "name",
    "availability": "range",
    "withdrawalPeriod": "withdrawal_days",
    "returnCost": "return_cost_by",
    "contact": "email",
    "options": None,
    "isFulfillment": "is_fulfillment",
}
ADDRESS_FIELDS = {
    "name": "address_name",
    "street": "address_street",
    "postCode": "address_post_code",
    "city": "address_city",
    "countryCode": "address_country",
}


def field_of(path: str | None) -> str | None:
    """The form field an Allegro 422 ``path`` names (``None``: the form as a whole)."""
    if not path:
        return None
    head, _dot, rest = path.partition(".")
    if head == "address":
        return ADDRESS_FIELDS.get(rest.split(".", 1)[0], "address_name")
    if head == "availability" and "restrictionCause" in rest:
        return "restriction_cause"
    if head == "contact" and "phone" in rest:
        return "phone"
    return PATH_FIELDS.get(head)


class ReturnPolicyForm(forms.Form):
    name = forms.CharField(label=_("Policy name"), max_length=200)
    is_fulfillment = forms.BooleanField(
        label=_("For One Fulfillment offers (cannot be changed later)"), required=False
    )
    range = forms.ChoiceField(label=_("Returns"), choices=RANGE_CHOICES)
    restriction_cause = forms.ChoiceField(
        label=_("Restriction cause"), choices=CAUSE_CHOICES, required=False
    )
    withdrawal_days = LocalizedIntegerField(
        label=_("Withdrawal period (days)"), required=False, min_value=MIN_DAYS, max_value=MAX_DAYS
    )
    return_cost_by = forms.ChoiceField(
        label=_("Return shipping paid by"), choices=COST_CHOICES, required=False
    )
    address_name = forms.CharField(label=_("Return address: name"), max_length=200, required=False)
    address_street = forms.CharField(label=_("Street"), max_length=200, required=False)
    address_post_code = forms.CharField(label=_("Post code"), max_length=16, required=False)
    address_city = forms.CharField(label=_("City"), max_length=200, required=False)
    address_country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES, initial="PL")
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    opt_cod_not_allowed = forms.BooleanField(label=OPTION_FIELDS[0][2], required=False)
    opt_free_accessories = forms.BooleanField(label=OPTION_FIELDS[1][2], required=False)
    opt_refund_lowered = forms.BooleanField(label=OPTION_FIELDS[2][2], required=False)
    opt_business_return = forms.BooleanField(label=OPTION_FIELDS[3][2], required=False)
    opt_collect_by_seller = forms.BooleanField(label=OPTION_FIELDS[4][2], required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["is_fulfillment"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("name") or "").strip() and "name" not in self.errors:
            self.add_error("name", _("Give the policy a name."))
        range_ = data.get("range")
        full = range_ == "FULL"
        if range_ and not full and not data.get("restriction_cause"):
            self.add_error("restriction_cause", _("Choose why returns are restricted."))
        if full and data.get("restriction_cause"):
            self.add_error("restriction_cause", _("Leave empty when returns are accepted."))
        if full and data.get("withdrawal_days") is None and "withdrawal_days" not in self.errors:
            self.add_error("withdrawal_days", _("Required when returns are accepted."))
        if full and not data.get("return_cost_by"):
            self.add_error("return_cost_by", _("Required when returns are accepted."))
        address_given = any(
            (data.get(f) or "").strip()
            for f in ("address_name", "address_street", "address_post_code", "address_city")
        )
        if full or address_given:
            self._clean_address(data)
        email = (data.get("email") or "").strip()
        if email and not EMAIL.match(email):
            self.add_error("email", _("Enter a valid e-mail address."))
        phone = (data.get("phone") or "").strip()
        if phone and not PHONE.match(phone):
            self.add_error("phone", _("Enter a valid phone number."))
        return data

    def _clean_address(self, data: dict[str, Any]) -> None:
        country = data.get("address_country") or "PL"
        local = country in ("PL", "CZ", "SK")
        limits = {
            "address_name": 50 if country in ("CZ", "SK") else 200,
            "address_street": 35 if local else 200,
            "address_city": 30 if local else 200,
            "address_post_code": 16,
        }
        for name, limit in limits.items():
            value = (data.get(name) or "").strip()
            if name in self.errors:
                continue
            if not value:
                self.add_error(name, _("Required for the return address."))
            elif len(value) > limit:
                self.add_error(name, _("At most %(limit)s characters.") % {"limit": limit})
        code = (data.get("address_post_code") or "").strip()
        pattern = POSTCODES.get(country, OTHER_POSTCODE)
        if code and "address_post_code" not in self.errors and not pattern.match(code):
            example = {"PL": "00-950", "CZ": "110 00", "SK": "811 01"}.get(country, "1051")
            self.add_error(
                "address_post_code",
                _("Not a post code of this country (e.g. %(example)s).") % {"example": example},
            )

    def policy_input(self) -> policies_api.ReturnPolicyInput:
        data = self.cleaned_data
        full = data["range"] == "FULL"
        address = None
        if (data.get("address_street") or "").strip():
            address = policies_api.ReturnAddress(
                name=data["address_name"].strip(),
                street=data["address_street"].strip(),
                post_code=data["address_post_code"].strip(),
                city=data["address_city"].strip(),
                country_code=data["address_country"],
            )
        days = data.get("withdrawal_days")
        return policies_api.ReturnPolicyInput(
            name=data["name"].strip(),
            availability=data["range"],
            is_fulfillment=bool(data.get("is_fulfillment")),
            restriction_cause=None if full else (data.get("restriction_cause") or None),
            withdrawal_period=f"P{days}D" if days is not None else None,
            return_cost_by=data.get("return_cost_by") or None,
            address=address,
            phone=(data.get("phone") or "").strip() or None,
            email=(data.get("email") or "").strip() or None,
            options={key: bool(data.get(name)) for key, name, _label in OPTION_FIELDS},
        )

    @staticmethod
    def initial_of(value: policies_api.ReturnPolicyInput) -> dict[str, Any]:
        period = re.match(r"^P(\d+)D$", value.withdrawal_period or "")
        initial: dict[str, Any] = {
            "name": value.name,
            "is_fulfillment": value.is_fulfillment,
            "range": value.availability,
            "restriction_cause": value.restriction_cause or "",
            "withdrawal_days": int(period.group(1)) if period else None,
            "return_cost_by": value.return_cost_by or "",
            "phone": value.phone or "",
            "email": value.email or "",
        }
        if value.address:
            initial.update(
                address_name=value.address.name,
                address_street=value.address.street,
                address_post_code=value.address.post_code,
                address_city=value.address.city,
                address_country=value.address.country_code,
            )
        for key, name, _label in OPTION_FIELDS:
            initial[name] = bool(value.options.get(key))
        return initial


class CopyForm(forms.Form):
    targets = forms.TypedMultipleChoiceField(
        label=_("Copy to accounts"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    confirm = forms.BooleanField(label=_("Create the policy on each chosen account"))

    def __init__(self, *args: Any, accounts: list[AllegroAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["targets"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(a.pk, a.login) for a in accounts]
