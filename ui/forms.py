"""Form fields every page shares (to become part of the shared UI kit).

- :class:`LocalizedDecimalField` / :class:`LocalizedIntegerField`: money and quantities typed
  the way staff type them. The input is ``type="text"`` (a browser's ``type="number"`` refuses a
  decimal comma, or silently empties the field, depending on its own locale) with an
  ``inputmode`` for the phone keyboard. The server accepts a decimal comma *and* a dot, spaces
  (also no-break ones) grouping thousands, and shows a value in the active language's format
  (``140,99`` in Polish, ``140.99`` in English), so a pre-filled form submits back unchanged.
- :class:`BoundedDateField`: a date between :data:`DATE_MIN` and :data:`DATE_MAX`. The calendar's
  limits (``0001-01-01``, ``9999-12-31``) overflow date arithmetic and time-zone conversion, so
  a date outside the range is a field error before it reaches a query.
- :class:`DbIdsField`: ticked rows' primary keys; anything but a positive 64-bit integer is an
  invalid choice (PostgreSQL's ``bigint`` would otherwise fail the query).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import formats
from django.utils.translation import gettext_lazy as _

# --- numbers ---------------------------------------------------------------------------------
MAX_NUMBER_LENGTH = 40
# Spaces a person, a spreadsheet or Django's own formatting may put between groups of digits.
_GROUP_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?P<whole>[0-9]{1,3}(?: [0-9]{3})+|[0-9]*)"
    r"(?:[.,](?P<fraction>[0-9]*))?"
)


def parse_number(text: str) -> Decimal | None:
    """``text`` as a ``Decimal``, or ``None`` when it is not a plain number.

    Either a comma or a dot is the decimal separator (at most one of them); spaces may group
    thousands (``1 234,50``). Exponents, ``NaN``, ``Infinity``, non-ASCII digits and a second
    separator (``1.234,50``, ambiguous between languages) are refused.
    """
    text = text.translate(_GROUP_SPACES).strip()
    if len(text) > MAX_NUMBER_LENGTH:
        return None
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    whole = match["whole"].replace(" ", "")
    fraction = match["fraction"] or ""
    if not whole and not fraction:
        return None
    return Decimal(f"{match['sign']}{whole or '0'}" + (f".{fraction}" if fraction else ""))


def _localized(value: Any) -> str:
    return str(formats.number_format(value)) if isinstance(value, Decimal | int) else str(value)


class LocalizedMinValueValidator(MinValueValidator):
    """Django's, with the limit in the error message written in the active language."""

    def __call__(self, value: Any) -> None:
        if self.compare(self.clean(value), self.limit_value):
            raise ValidationError(
                self.message,
                code=self.code,
                params={"limit_value": _localized(self.limit_value), "value": value},
            )


class LocalizedMaxValueValidator(MaxValueValidator):
    def __call__(self, value: Any) -> None:
        if self.compare(self.clean(value), self.limit_value):
            raise ValidationError(
                self.message,
                code=self.code,
                params={"limit_value": _localized(self.limit_value), "value": value},
            )


class DecimalInput(forms.TextInput):
    """A text input for amounts: the phone shows digits and a separator."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class IntegerInput(forms.TextInput):
    """A text input for whole numbers (``inputmode="numeric"``)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})


def _limit_validators(field: forms.IntegerField) -> None:
    """Swap the min/max validators Django added for ones that localize their limit."""
    for i, validator in enumerate(field.validators):
        if type(validator) is MinValueValidator:
            field.validators[i] = LocalizedMinValueValidator(validator.limit_value)
        elif type(validator) is MaxValueValidator:
            field.validators[i] = LocalizedMaxValueValidator(validator.limit_value)


class LocalizedDecimalField(forms.DecimalField):
    """An amount in the active language's format, typed with a comma or a dot."""

    widget = DecimalInput
    default_error_messages = {
        "invalid": _("Enter a number, for example %(example)s."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs["localize"] = True
        super().__init__(**kwargs)
        _limit_validators(self)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int):
            return Decimal(value)
        number = parse_number(str(value))
        if number is None:
            raise ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"example": formats.number_format(Decimal("149.50"))},
            )
        return number


class LocalizedIntegerField(forms.IntegerField):
    """A whole number; ``12``, ``1 200`` and ``12,0`` are accepted, ``12,5`` is not."""

    widget = IntegerInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs["localize"] = True
        super().__init__(**kwargs)
        _limit_validators(self)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        number = parse_number(str(value))
        if number is None or number != number.to_integral_value():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(number)


def localized_decimal(value: Any) -> Decimal | None:
    """A stored amount (``Decimal``, number or the API's string) as a ``Decimal`` for a form's
    initial value, so the field shows it in the active language's format."""
    if value is None or isinstance(value, Decimal):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --- dates -----------------------------------------------------------------------------------
DATE_MIN = date(1999, 1, 1)  # before Allegro existed
DATE_MAX = date(2099, 12, 31)
ISO_DATE = "%Y-%m-%d"  # what <input type="date"> sends and expects, whatever the language


class BoundedDateField(forms.DateField):
    """A date between ``DATE_MIN`` and ``DATE_MAX``, in a browser date picker."""

    default_error_messages = {
        "out_of_range": _("Enter a date between %(min)s and %(max)s."),
    }

    def __init__(self, **kwargs: Any) -> None:
        attrs = {"type": "date", "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}
        kwargs.setdefault("widget", forms.DateInput(attrs=attrs, format=ISO_DATE))
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not DATE_MIN <= value <= DATE_MAX:
            raise ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={
                    "min": formats.date_format(DATE_MIN, "SHORT_DATE_FORMAT"),
                    "max": formats.date_format(DATE_MAX, "SHORT_DATE_FORMAT"),
                },
            )


# --- ids -------------------------------------------------------------------------------------
DB_ID_MAX = 2**63 - 1  # PostgreSQL bigint (BigAutoField)


def is_db_id(value: Any) -> bool:
    """A primary key the database can hold: a positive 64-bit integer written in ASCII digits."""
    text = str(value)
    return 0 < len(text) <= 19 and text.isascii() and text.isdigit() and 0 < int(text) <= DB_ID_MAX


class DbIdsField(forms.TypedMultipleChoiceField):
    """Primary keys of ticked rows. Any id in range is accepted: the selector that loads them
    drops the ones the staff member may not see."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", int)
        super().__init__(**kwargs)

    def valid_value(self, value: Any) -> bool:
        return is_db_id(value)
