"""Forms of the offer pages. Each validates the limits Allegro applies before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from offers.selectors import DEFAULT_SORT, OfferQuery
from ui.forms import (
    BoundedDateField,
    DbIdsField,
    DecimalInput,
    IntegerInput,
    LocalizedDecimalField,
    LocalizedIntegerField,
    localized_decimal,
)
from ui.listing import MARKETPLACE_CHOICES, ListFilterForm

STATUS_CHOICES = [
    ("ACTIVE", _("Active")),
    ("INACTIVE", _("Inactive (draft)")),
    ("ACTIVATING", _("Activating")),
    ("ENDED", _("Ended")),
]
SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("changed", _("Last changed")),
    ("price", _("Price: low to high")),
    ("-price", _("Price: high to low")),
    ("stock", _("Stock: low to high")),
    ("-stock", _("Stock: high to low")),
    ("-sold", _("Most sold")),
    ("sold", _("Least sold")),
    ("title", _("Title")),
]
PAGE_SIZES = (25, 50, 100, 200)
TITLE_MIN, TITLE_MAX, TITLE_MIN_WORDS = 12, 75, 3
MAX_PRICE = Decimal("99999999.99")
MAX_STOCK = 999_999
ACTIVE_STATUSES = ("ACTIVE", "ACTIVATING")


class OfferFilterForm(ListFilterForm):
    """The offers list's query string. Invalid values are reported and otherwise ignored."""

    page_sizes = PAGE_SIZES
    field_order = (
        "q",
        "account",
        "status",
        "marketplace",
        "price_min",
        "price_max",
        "out_of_stock",
        "no_product",
        "ended_since",
        "sort",
        "per_page",
    )

    status = forms.MultipleChoiceField(
        label=_("Status"),
        required=False,
        choices=STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    marketplace = forms.ChoiceField(
        label=_("Marketplace"), required=False, choices=MARKETPLACE_CHOICES
    )
    price_min = LocalizedDecimalField(
        label=_("Price from"),
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        decimal_places=2,
        widget=DecimalInput(attrs={"class": "short"}),
    )
    price_max = LocalizedDecimalField(
        label=_("Price to"),
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        decimal_places=2,
        widget=DecimalInput(attrs={"class": "short"}),
    )
    out_of_stock = forms.BooleanField(label=_("Out of stock"), required=False)
    no_product = forms.BooleanField(label=_("Not linked to a product"), required=False)
    ended_since = BoundedDateField(label=_("Ended or sold out since"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def query(self) -> OfferQuery:
        data = self.valid_data()
        return OfferQuery(
            q=data.get("q") or "",
            account_ids=self.account_ids(),
            statuses=data.get("status") or [],
            marketplace=data.get("marketplace") or "",
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            out_of_stock=bool(data.get("out_of_stock")),
            no_product=bool(data.get("no_product")),
            ended_since=data.get("ended_since"),
            sort=data.get("sort") or DEFAULT_SORT,
        )


def validate_title(value: str) -> None:
    if len(value.split()) < TITLE_MIN_WORDS:
        raise forms.ValidationError(
            _("The title needs at least %(n)d words."), params={"n": TITLE_MIN_WORDS}
        )


def marketplace_price_field(marketplace: str) -> str:
    """The edit form's field for the price on an additional marketplace."""
    return f"price_{marketplace}"


class OfferEditForm(forms.Form):
    """Title, prices and stock of one offer (``PATCH /sale/product-offers/{id}``).

    ``price`` is the base marketplace's price; every additional marketplace the offer has a price
    on gets its own field (``price_<marketplace id>``, in that marketplace's currency). An empty
    additional price keeps the current one.
    """

    title = forms.CharField(
        label=_("Title"),
        min_length=TITLE_MIN,
        max_length=TITLE_MAX,
        strip=True,
        validators=[validate_title],
    )
    price = LocalizedDecimalField(
        label=_("Price"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_PRICE,
        widget=DecimalInput(attrs={"class": "short"}),
    )
    stock = LocalizedIntegerField(
        label=_("Stock"),
        min_value=0,
        max_value=MAX_STOCK,
        widget=IntegerInput(attrs={"class": "short"}),
    )
    confirm_end = forms.BooleanField(
        label=_("Yes, end the offer by setting its stock to 0"), required=False
    )

    def __init__(
        self,
        *args: Any,
        offer_status: str,
        marketplace_prices: Iterable[Mapping[str, Any]] = (),
        **kwargs: Any,
    ) -> None:
        """``marketplace_prices``: ``offer_marketplace_prices`` rows (the base one is skipped)."""
        super().__init__(*args, **kwargs)
        self.initial["price"] = localized_decimal(self.initial.get("price"))
        self.offer_status = offer_status
        self.needs_end_confirmation = False
        self.marketplaces: dict[str, str] = {}  # field name → marketplace id
        for row in marketplace_prices:
            if row.get("base"):
                continue
            market, currency = str(row["marketplace"]), str(row.get("currency") or "")
            name = marketplace_price_field(market)
            self.fields[name] = LocalizedDecimalField(
                label=_("Price on %(marketplace)s (%(currency)s)")
                % {"marketplace": market, "currency": currency},
                required=False,
                max_digits=10,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=MAX_PRICE,
                help_text=_("Leave empty to keep the current price."),
                widget=DecimalInput(attrs={"class": "short"}),
            )
            self.marketplaces[name] = market
            if name not in self.initial:
                self.initial[name] = localized_decimal(row.get("amount"))

    def marketplace_fields(self) -> list[forms.BoundField]:
        """The additional marketplaces' price fields, bound, in the order they were given."""
        return [self[name] for name in self.marketplaces]

    def marketplace_prices(self) -> dict[str, Decimal]:
        """Cleaned additional-marketplace prices: ``{marketplace id: amount}``, empty ones out."""
        return {
            market: self.cleaned_data[name]
            for name, market in self.marketplaces.items()
            if self.cleaned_data.get(name) is not None
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("stock") == 0
            and self.offer_status in ACTIVE_STATUSES
            and not data.get("confirm_end")
        ):
            self.needs_end_confirmation = True
            self.add_error(
                "stock",
                _(
                    "Setting the stock to 0 ends this active offer on Allegro. "
                    "Tick the confirmation to go ahead."
                ),
            )
        return data


PUBLICATION_CHOICES = [("ACTIVATE", _("Activate")), ("END", _("End"))]


class OfferPublicationForm(forms.Form):
    action = forms.ChoiceField(choices=PUBLICATION_CHOICES)
    confirm = forms.BooleanField(required=False)  # ending a live offer asks first


BULK_ACTIONS = [
    ("price_set", _("Set price to")),
    ("price_increase", _("Increase price by (amount)")),
    ("price_decrease", _("Decrease price by (amount)")),
    ("price_increase_pct", _("Increase price by (%)")),
    ("price_decrease_pct", _("Decrease price by (%)")),
    ("stock_set", _("Set stock to")),
    ("stock_add", _("Add to stock (negative subtracts)")),
    ("activate", _("Activate")),
    ("end", _("End")),
]
VALUE_ACTIONS = {
    "price_set",
    "price_increase",
    "price_decrease",
    "price_increase_pct",
    "price_decrease_pct",
    "stock_set",
    "stock_add",
}
MAX_SELECTION = 20_000


class BulkActionForm(forms.Form):
    """A bulk action on the ticked offers, or on every offer matching the list's filters."""

    action = forms.ChoiceField(label=_("Action"), choices=BULK_ACTIONS)
    value = LocalizedDecimalField(label=_("Value"), required=False, max_digits=10, decimal_places=2)
    # Any id in range is acceptable here: the selector drops ids the user may not see.
    offers = DbIdsField(required=False)
    all_matching = forms.BooleanField(required=False)
    filters = forms.CharField(required=False, max_length=2000)
    confirm = forms.BooleanField(required=False)  # "end" asks first

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        value = data.get("value")
        if not data.get("offers") and not data.get("all_matching"):
            raise forms.ValidationError(_("Select at least one offer."))
        if action in VALUE_ACTIONS:
            if value is None:
                self.add_error("value", _("This action needs a value."))
            else:
                self._check_value(action, value)
        return data

    def _check_value(self, action: str, value: Decimal) -> None:
        if action.startswith("price_") and not action.endswith("_pct"):
            if not Decimal("0.01") <= value <= MAX_PRICE:
                self.add_error("value", _("Enter an amount between 0.01 and 99999999.99."))
        elif action == "price_increase_pct" and not Decimal("0.01") <= value <= Decimal("1000"):
            self.add_error("value", _("Enter a percentage between 0.01 and 1000."))
        elif action == "price_decrease_pct" and not Decimal("0.01") <= value <= Decimal("99.99"):
            self.add_error("value", _("Enter a percentage between 0.01 and 99.99."))
        elif action == "stock_set" and (
            value != value.to_integral() or not 1 <= value <= MAX_STOCK
        ):
            self.add_error(
                "value", _("Enter a whole number between 1 and %(max)d.") % {"max": MAX_STOCK}
            )
        elif action == "stock_add" and (
            value != value.to_integral() or value == 0 or abs(value) > MAX_STOCK
        ):
            self.add_error("value", _("Enter a non-zero whole number."))
