"""What the after-sales pages print, checked without a page: periods in words with Polish plural
forms, percentages and amounts in the locale's format, carriers by the names the product uses
elsewhere, a policy's "Name" that is not a person's, and the refund form's per-item limit saying
how much is left (Polish and English)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation
from django.utils.functional import Promise

from aftersales.forms_returns import OrderLine, RefundForm
from shipping.forms import CARRIER_CHOICES
from ui import labels


def _in_polish_and_english(source: str, value: object) -> tuple[str, str]:
    """``source`` (``status_tags`` loaded) rendered with ``v`` = ``value``, in each language."""
    template = engines["django"].from_string("{% load status_tags %}" + source)
    rendered = []
    for language in ("pl", "en"):
        with translation.override(language):
            rendered.append(template.render({"v": value}))
    return rendered[0], rendered[1]


@pytest.mark.parametrize(
    ("value", "polish", "english"),
    [
        ("P30D", "30 dni", "30 days"),
        ("P14D", "14 dni", "14 days"),
        ("P24M", "24 miesiące", "24 months"),
        ("P12M", "12 miesięcy", "12 months"),
        ("P2Y", "2 lata", "2 years"),
        ("P5Y", "5 lat", "5 years"),
        ("P22D", "22 dni", "22 days"),
        (None, "—", "—"),
    ],
)
def test_a_period_reads_in_words_through_the_template_filter(
    value: str | None, polish: str, english: str
) -> None:
    assert _in_polish_and_english("{{ v|duration }}", value) == (polish, english)


@pytest.mark.parametrize(
    ("value", "polish", "english"),
    [
        ("85.1", "85,1%", "85.1%"),
        ("81.85", "81,85%", "81.85%"),
        ("100", "100%", "100%"),
        (Decimal("7.0"), "7,0%", "7.0%"),
        ("", "—", "—"),
    ],
)
def test_a_percentage_uses_the_locales_decimal_separator(
    value: object, polish: str, english: str
) -> None:
    assert _in_polish_and_english("{{ v|percent }}", value) == (polish, english)


def test_carriers_read_as_the_shipping_filter_names_them() -> None:
    from sandbox.orders import CARRIERS as ALLEGRO_CARRIERS  # GET /order/carriers of the simulator

    for carrier_id, name in CARRIER_CHOICES:
        if carrier_id:
            assert labels.status_label("carrier", carrier_id) == name
    for carrier_id, _name in ALLEGRO_CARRIERS:
        assert labels.is_known("carrier", carrier_id), carrier_id
    with translation.override("pl"):
        assert labels.status_label("carrier", "POCZTA_POLSKA") == "Poczta Polska"
        assert labels.status_label("carrier", "OTHER") == "Inny przewoźnik"
    with translation.override("en"):
        assert labels.status_label("carrier", "OTHER") == "Other carrier"
    # only names that are spelt like their id may equal it (DPD); the rest are words
    for carrier_id, label in labels.KINDS["carrier"].items():
        if isinstance(label.text, Promise) or "_" in carrier_id:
            assert str(label.text) != carrier_id


def test_a_policys_name_column_is_not_a_persons_name() -> None:
    template = engines["django"].from_string(
        '{% load i18n %}{% translate "Name" context "name of a policy or warranty" %}'
    )
    with translation.override("pl"):
        assert template.render({}) == "Nazwa"
        # the buyer's name on the order page keeps its own translation
        assert translation.gettext("Name") == "Imię i nazwisko"
    with translation.override("en"):
        assert template.render({}) == "Name"


PAN = OrderLine(
    id="li-1",
    name="Patelnia",
    quantity=1,
    price=Decimal("161.99"),
    refunded_quantity=0,
    refunded_amount=Decimal("60.00"),
    currency="PLN",
)


def _refund_form(amount: str) -> RefundForm:
    return RefundForm(
        {"command_id": "c", "reason": "REFUND", "amount_0": amount},
        lines=[PAN],
        paid=Decimal("181.98"),
        refunded=Decimal("60.00"),
        currency="PLN",
    )


def test_an_amount_over_what_is_left_for_an_item_says_how_much_is_left() -> None:
    with translation.override("pl"):
        form = _refund_form("150")
        assert not form.is_valid()
        assert form.errors["amount_0"] == ["Do zwrotu zostało najwyżej 101,99 PLN."]
        assert _refund_form("101,99").is_valid()  # exactly what is left: accepted
        assert PAN.refunded_text == "0 szt. · 60,00 PLN"
    with translation.override("en"):
        form = _refund_form("150")
        assert not form.is_valid()
        assert form.errors["amount_0"] == ["At most 101.99 PLN is left to refund for this item."]
        assert PAN.refunded_text == "0 pcs. · 60.00 PLN"


def test_the_refund_form_starts_on_its_first_field() -> None:
    form = _refund_form("")
    html = str(form["qty_0"])
    assert "autofocus" in html
    second = RefundForm(
        lines=[PAN, PAN], paid=Decimal(1), refunded=Decimal(0), initial={"command_id": "c"}
    )
    assert "autofocus" not in str(second["qty_1"])
