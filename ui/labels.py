"""Readable labels and colours for Allegro's enum values, in one place for every page.

A *kind* names one enum of Allegro's spec (``offer`` = ``OfferStatus``, ``fulfillment`` =
``CheckoutFormFulfillmentStatus``, …). Each value has a translated label and a *tone*, the colour
its badge has on every page (``static/css/backoffice.css`` defines ``.tone-<name>``). A value the
table does not know (Allegro added one) falls back to the raw value in a neutral badge.

``tests/pages/test_readable_labels.py`` reads the spec and fails when a value of an enum listed in
``SPEC_SOURCES`` has no label here. Pages use the template tags in
``ui/templatetags/status_tags.py``; Python code uses ``status_label`` / ``status_tone``.
ISO 8601 durations (``P30D``) read as "30 dni" / "30 days" through ``duration_label``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import ngettext, pgettext_lazy


@dataclass(frozen=True)
class Label:
    text: str | Promise  # a plain str only for names that read the same in every language
    tone: str = "grey"


# The tones a badge may have (``.tone-<name>`` in the stylesheet).
TONES = ("blue", "amber", "violet", "teal", "green", "olive", "red", "rose", "grey")

KINDS: dict[str, dict[str, Label]] = {
    # OfferStatus (publication.status)
    "offer": {
        "INACTIVE": Label(pgettext_lazy("offer status", "Inactive (draft)"), "grey"),
        "ACTIVATING": Label(pgettext_lazy("offer status", "Activating"), "blue"),
        "ACTIVE": Label(pgettext_lazy("offer status", "Active"), "green"),
        "ENDED": Label(pgettext_lazy("offer status", "Ended"), "red"),
    },
    # Publication.endedBy
    "offer_ended_by": {
        "USER": Label(pgettext_lazy("offer ended by", "Ended by the seller"), "grey"),
        "ADMIN": Label(pgettext_lazy("offer ended by", "Ended by Allegro"), "red"),
        "EXPIRATION": Label(pgettext_lazy("offer ended by", "Duration expired"), "grey"),
        "EMPTY_STOCK": Label(pgettext_lazy("offer ended by", "Sold out"), "amber"),
        "PRODUCT_DETACHMENT": Label(
            pgettext_lazy("offer ended by", "Detached from the product"), "amber"
        ),
        "ERROR": Label(pgettext_lazy("offer ended by", "Publication error"), "red"),
    },
    # SellingModeFormat
    "selling_format": {
        "BUY_NOW": Label(pgettext_lazy("selling format", "Buy now"), "grey"),
        "AUCTION": Label(pgettext_lazy("selling format", "Auction"), "violet"),
        "ADVERTISEMENT": Label(pgettext_lazy("selling format", "Advertisement"), "teal"),
    },
    # CheckoutFormStatus
    "order": {
        "BOUGHT": Label(pgettext_lazy("order status", "Bought (no checkout yet)"), "grey"),
        "FILLED_IN": Label(pgettext_lazy("order status", "Awaiting payment"), "amber"),
        "READY_FOR_PROCESSING": Label(
            pgettext_lazy("order status", "Paid, ready for processing"), "green"
        ),
        "CANCELLED": Label(pgettext_lazy("order status", "Cancelled"), "red"),
    },
    # CheckoutFormFulfillmentStatus: one colour per status, as in Allegro's order list.
    "fulfillment": {
        "NEW": Label(pgettext_lazy("fulfillment status", "New"), "blue"),
        "PROCESSING": Label(pgettext_lazy("fulfillment status", "Processing"), "amber"),
        "READY_FOR_SHIPMENT": Label(
            pgettext_lazy("fulfillment status", "Ready for shipment"), "violet"
        ),
        "READY_FOR_PICKUP": Label(pgettext_lazy("fulfillment status", "Ready for pickup"), "teal"),
        "SENT": Label(pgettext_lazy("fulfillment status", "Sent"), "green"),
        "PICKED_UP": Label(pgettext_lazy("fulfillment status", "Picked up"), "olive"),
        "CANCELLED": Label(pgettext_lazy("fulfillment status", "Cancelled"), "red"),
        "SUSPENDED": Label(pgettext_lazy("fulfillment status", "Suspended"), "grey"),
        "RETURNED": Label(pgettext_lazy("fulfillment status", "Returned"), "rose"),
    },
    # CheckoutFormFulfillmentShipmentSummaryLineItemsSent
    "line_items_sent": {
        "NONE": Label(pgettext_lazy("line items sent", "Nothing sent"), "grey"),
        "SOME": Label(pgettext_lazy("line items sent", "Partly sent"), "amber"),
        "ALL": Label(pgettext_lazy("line items sent", "All sent"), "green"),
    },
    # CheckoutFormPaymentType
    "payment_type": {
        "CASH_ON_DELIVERY": Label(pgettext_lazy("payment type", "Cash on delivery"), "amber"),
        "WIRE_TRANSFER": Label(pgettext_lazy("payment type", "Wire transfer"), "grey"),
        "ONLINE": Label(pgettext_lazy("payment type", "Online payment"), "grey"),
        "SPLIT_PAYMENT": Label(pgettext_lazy("payment type", "Split payment"), "grey"),
        "EXTENDED_TERM": Label(pgettext_lazy("payment type", "Deferred payment"), "violet"),
    },
    # CheckoutFormPaymentProvider: operators' names read the same in every language.
    "payment_provider": {
        "PAYU": Label("PayU"),
        "P24": Label("Przelewy24"),
        "AF": Label("Allegro Finance"),
        "OFFLINE": Label(pgettext_lazy("payment provider", "Offline payment")),
        "EPT": Label("Allegro Pay Business"),
    },
    # OrderEventType
    "order_event": {
        "BOUGHT": Label(pgettext_lazy("order event", "Bought"), "grey"),
        "FILLED_IN": Label(pgettext_lazy("order event", "Checkout filled in"), "amber"),
        "READY_FOR_PROCESSING": Label(pgettext_lazy("order event", "Paid"), "green"),
        "BUYER_CANCELLED": Label(pgettext_lazy("order event", "Cancelled by the buyer"), "red"),
        "FULFILLMENT_STATUS_CHANGED": Label(
            pgettext_lazy("order event", "Fulfillment status changed"), "blue"
        ),
        "BUYER_MODIFIED": Label(pgettext_lazy("order event", "Changed by the buyer"), "amber"),
        "AUTO_CANCELLED": Label(pgettext_lazy("order event", "Cancelled automatically"), "red"),
    },
    # PostPurchaseIssueStatus
    "dispute": {
        "DISPUTE_ONGOING": Label(pgettext_lazy("dispute status", "Discussion ongoing"), "amber"),
        "DISPUTE_CLOSED": Label(pgettext_lazy("dispute status", "Discussion closed"), "grey"),
        "DISPUTE_UNRESOLVED": Label(
            pgettext_lazy("dispute status", "Discussion unresolved"), "red"
        ),
        "CLAIM_SUBMITTED": Label(pgettext_lazy("dispute status", "Complaint submitted"), "blue"),
        "CLAIM_ACCEPTED": Label(pgettext_lazy("dispute status", "Complaint accepted"), "green"),
        "CLAIM_REJECTED": Label(pgettext_lazy("dispute status", "Complaint rejected"), "red"),
    },
    # PostPurchaseIssue.type
    "dispute_type": {
        "DISPUTE": Label(pgettext_lazy("dispute type", "Discussion"), "amber"),
        "CLAIM": Label(pgettext_lazy("dispute type", "Complaint"), "violet"),
    },
    # PostPurchaseIssueLastMessage.status
    "dispute_last_message": {
        "NEW": Label(pgettext_lazy("dispute last message", "Seller has not answered"), "amber"),
        "SELLER_REPLIED": Label(pgettext_lazy("dispute last message", "Seller replied"), "grey"),
        "BUYER_REPLIED": Label(pgettext_lazy("dispute last message", "Buyer replied"), "blue"),
        "ALLEGRO_ADVISOR_REPLIED": Label(
            pgettext_lazy("dispute last message", "Allegro advisor replied"), "violet"
        ),
    },
    # PostPurchaseIssueMessageAuthor.role (PostPurchaseIssueAuthor.role is a subset)
    "dispute_author": {
        "BUYER": Label(pgettext_lazy("message author", "Buyer"), "blue"),
        "SELLER": Label(pgettext_lazy("message author", "Seller"), "grey"),
        "ADMIN": Label(pgettext_lazy("message author", "Allegro advisor"), "violet"),
        "SYSTEM": Label(pgettext_lazy("message author", "System message"), "grey"),
        "FULFILLMENT": Label(pgettext_lazy("message author", "Allegro Warehouse"), "teal"),
    },
    # UserRating.recommended, as a value of its own
    "rating": {
        "POSITIVE": Label(pgettext_lazy("rating", "Positive"), "green"),
        "NEGATIVE": Label(pgettext_lazy("rating", "Negative"), "red"),
    },
    # RemovalRequest.source
    "rating_removal_source": {
        "SELLER": Label(pgettext_lazy("rating removal requested by", "Seller"), "grey"),
        "ADMIN": Label(pgettext_lazy("rating removal requested by", "Allegro"), "violet"),
    },
    # ReturnPolicyAvailability.range
    "return_availability": {
        "FULL": Label(pgettext_lazy("return policy", "Returns accepted"), "green"),
        "RESTRICTED": Label(pgettext_lazy("return policy", "Returns restricted"), "amber"),
        "DISABLED": Label(pgettext_lazy("return policy", "Returns disabled"), "red"),
    },
    # ReturnPolicyReturnCost.coveredBy
    "return_cost_covered_by": {
        "SELLER": Label(pgettext_lazy("return cost paid by", "Seller pays"), "green"),
        "BUYER": Label(pgettext_lazy("return cost paid by", "Buyer pays"), "grey"),
    },
    # RefundDetails.status (POST/GET /payments/refunds)
    "refund": {
        "NEW": Label(pgettext_lazy("refund status", "New"), "blue"),
        "VALIDATED": Label(pgettext_lazy("refund status", "Accepted by Allegro"), "blue"),
        "IN_PROGRESS": Label(pgettext_lazy("refund status", "In progress"), "amber"),
        "PARTIAL": Label(pgettext_lazy("refund status", "Partly refunded"), "amber"),
        "SUCCESS": Label(pgettext_lazy("refund status", "Refunded"), "green"),
        "CANCELED": Label(pgettext_lazy("refund status", "Cancelled"), "grey"),
        "VALIDATE_FAILED": Label(pgettext_lazy("refund status", "Refused by Allegro"), "red"),
    },
    # CustomerReturnItemReason.type (the spec lists the values in the description)
    "return_reason": {
        "NONE": Label(pgettext_lazy("return reason", "No reason given"), "grey"),
        "MISTAKE": Label(pgettext_lazy("return reason", "Bought by mistake"), "grey"),
        "TRANSPORT": Label(pgettext_lazy("return reason", "Damaged in transport"), "red"),
        "DAMAGED": Label(pgettext_lazy("return reason", "Arrived damaged"), "red"),
        "NOT_AS_DESCRIBED": Label(pgettext_lazy("return reason", "Not as described"), "amber"),
        "DONT_LIKE_IT": Label(pgettext_lazy("return reason", "Does not like it"), "grey"),
        "OVERDUE_DELIVERY": Label(pgettext_lazy("return reason", "Delivered too late"), "amber"),
        "INCOMPLETE": Label(pgettext_lazy("return reason", "Incomplete"), "amber"),
        "HIDDEN_FLAW": Label(pgettext_lazy("return reason", "Hidden flaw"), "red"),
        "OTHER_FLAW": Label(pgettext_lazy("return reason", "Other flaw"), "red"),
        "DIFFERENT": Label(pgettext_lazy("return reason", "Different from the offer"), "amber"),
        "COUNTERFEIT": Label(pgettext_lazy("return reason", "Counterfeit"), "red"),
        "NOT_NEW": Label(pgettext_lazy("return reason", "Not new"), "amber"),
        "TOO_LARGE": Label(pgettext_lazy("return reason", "Too large"), "grey"),
        "TOO_SMALL": Label(pgettext_lazy("return reason", "Too small"), "grey"),
        "NOT_AS_EXPECTED": Label(pgettext_lazy("return reason", "Not as expected"), "grey"),
        "ORDERED_FOR_COMPARISON": Label(
            pgettext_lazy("return reason", "Ordered to compare"), "grey"
        ),
    },
    # Carrier ids (CustomerReturnReturnParcel.carrierId, shipments, GET /order/carriers): the
    # names shipping's carrier filter and Allegro's carrier list use; a name reads the same in
    # every language (and may be its id: DPD).
    "carrier": {
        "ALLEGRO": Label("Allegro One"),
        "ALLEGRO_ONE_KURIER": Label("Allegro One Kurier"),
        "INPOST": Label("InPost"),
        "DPD": Label("DPD"),
        "DHL": Label("DHL"),
        "UPS": Label("UPS"),
        "GLS": Label("GLS"),
        "FEDEX": Label("FedEx"),
        "POCZTA_POLSKA": Label("Poczta Polska"),
        "ORLEN": Label("Orlen Paczka"),
        "ORLEN_PACZKA": Label("Orlen Paczka"),
        "PACZKA_W_RUCHU": Label("Paczka w Ruchu"),
        "AMBRO_EXPRESS": Label("Ambro Express"),
        "PATRON_SERVICE": Label("Patron Service"),
        "PEKAES": Label("Pekaes"),
        "GEIS": Label("Geis"),
        "RABEN": Label("Raben"),
        "DB_SCHENKER": Label("DB Schenker"),
        "CZECH_POST": Label("Česká pošta"),
        "SLOVAK_POST": Label("Slovenská pošta"),
        "OTHER": Label(pgettext_lazy("carrier", "Other carrier")),
    },
    # RefundClaim.status (commission refund claims, GET/POST /order/refund-claims)
    "refund_claim": {
        "IN_PROGRESS": Label(pgettext_lazy("refund claim status", "In progress"), "amber"),
        "WAITING_FOR_PAYMENT_REFUND": Label(
            pgettext_lazy("refund claim status", "Waiting for the buyer's refund"), "amber"
        ),
        "GRANTED": Label(pgettext_lazy("refund claim status", "Commission refunded"), "green"),
        "REJECTED": Label(pgettext_lazy("refund claim status", "Rejected"), "red"),
        "REJECTED_AFTER_APPEAL": Label(
            pgettext_lazy("refund claim status", "Rejected after appeal"), "red"
        ),
        "CANCELLED": Label(pgettext_lazy("refund claim status", "Cancelled"), "grey"),
        "APPEALED": Label(pgettext_lazy("refund claim status", "Appealed"), "blue"),
    },
    # One offer's outcome in a bulk command (CommandTask.status: NEW, SUCCESS, FAIL), and
    # ``PENDING`` while the back-office has not sent it yet.
    "bulk_result": {
        "PENDING": Label(pgettext_lazy("bulk result", "Waiting"), "grey"),
        "NEW": Label(pgettext_lazy("bulk result", "Waiting"), "grey"),
        "SUCCESS": Label(pgettext_lazy("bulk result", "Succeeded"), "green"),
        "FAIL": Label(pgettext_lazy("bulk result", "Failed"), "red"),
    },
}

# Where each kind's values come from in Allegro's spec (``components.schemas`` then a path to
# the ``enum``); the test reads these and fails on a value without a label.
SPEC_SOURCES: dict[str, list[tuple[str | int, ...]]] = {
    "offer": [("OfferStatus",)],
    "offer_ended_by": [("Publication", "allOf", 1, "properties", "endedBy")],
    "selling_format": [("SellingModeFormat",)],
    "order": [("CheckoutFormStatus",)],
    "fulfillment": [("CheckoutFormFulfillmentStatus",)],
    "line_items_sent": [("CheckoutFormFulfillmentShipmentSummaryLineItemsSent",)],
    "payment_type": [("CheckoutFormPaymentType",)],
    "payment_provider": [("CheckoutFormPaymentProvider",)],
    "order_event": [("OrderEventType",)],
    "dispute": [("PostPurchaseIssueStatus",)],
    "dispute_type": [("PostPurchaseIssue", "properties", "type")],
    "dispute_last_message": [("PostPurchaseIssueLastMessage", "properties", "status")],
    "dispute_author": [
        ("PostPurchaseIssueMessageAuthor", "properties", "role"),
        ("PostPurchaseIssueAuthor", "properties", "role"),
    ],
    "rating_removal_source": [("RemovalRequest", "properties", "source")],
    "return_availability": [("ReturnPolicyAvailability", "properties", "range")],
    "return_cost_covered_by": [("ReturnPolicyReturnCost", "properties", "coveredBy")],
    "refund": [("RefundDetails", "properties", "status")],
    # no ``enum`` there: the values are listed as 'Possible values: "NONE", …' in the description
    "return_reason": [("CustomerReturnItemReason", "properties", "type")],
    "refund_claim": [("RefundClaim", "properties", "status")],
}

UNKNOWN_TONE = "grey"


def status_label(kind: str, value: Any) -> str:
    """The translated label of ``value``; the raw value when unknown, "—" when empty."""
    if value is None or value == "":
        return "—"
    found = KINDS.get(kind, {}).get(str(value))
    return str(found.text) if found is not None else str(value)


def status_tone(kind: str, value: Any) -> str:
    found = KINDS.get(kind, {}).get(str(value)) if value not in (None, "") else None
    return found.tone if found is not None else UNKNOWN_TONE


def is_known(kind: str, value: Any) -> bool:
    return str(value) in KINDS.get(kind, {})


def choices(kind: str) -> list[tuple[str, str | Promise]]:
    """``(value, label)`` pairs of a kind, for a form's choices (labels stay lazy)."""
    return [(value, label.text) for value, label in KINDS[kind].items()]


def rating_kind_value(recommended: bool | None) -> str:
    return "" if recommended is None else ("POSITIVE" if recommended else "NEGATIVE")


# --- ISO 8601 durations ----------------------------------------------------------------------

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def _unit(name: str, count: int) -> str:
    if name == "years":
        return ngettext("%(count)d year", "%(count)d years", count) % {"count": count}
    if name == "months":
        return ngettext("%(count)d month", "%(count)d months", count) % {"count": count}
    if name == "weeks":
        return ngettext("%(count)d week", "%(count)d weeks", count) % {"count": count}
    if name == "days":
        return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
    if name == "hours":
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    if name == "minutes":
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    return ngettext("%(count)d second", "%(count)d seconds", count) % {"count": count}


def duration_label(value: Any) -> str:
    """``P30D`` → "30 dni" / "30 days"; ``P1M`` → "1 miesiąc"; anything else stays as it is."""
    if value is None or value == "":
        return "—"
    match = _DURATION.match(str(value).strip().upper())
    if match is None:
        return str(value)
    parts = [_unit(name, int(n)) for name, n in match.groupdict().items() if n is not None]
    return " ".join(parts) if parts else str(value)


# --- times ------------------------------------------------------------------------------------


def minute_text(value: Any) -> str:
    """A moment to the minute in the current time zone, ``2025-03-01 14:05`` (what the ``date``
    filter prints for ``"Y-m-d H:i"``, at a tenth of its cost: the big lists print one per row);
    "" for anything but a ``datetime``."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


# --- numbers in the interface language ---------------------------------------------------------


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number_text(value: Any, *, decimals: int | None = None) -> str:
    """A number in the active language's format (``1234,5`` in Polish); not a number: as is.

    ``decimals=None`` keeps whole numbers whole (``10``) and shows others with two places.
    """
    number = decimal_or_none(value)
    if number is None:
        return "—" if value in (None, "") else str(value)
    if decimals is None:
        decimals = 0 if number == number.to_integral_value() else 2
    return formats.number_format(number, decimal_pos=decimals, use_l10n=True)


def percent_text(value: Any) -> str:
    """``85.1`` → "85,1%" in Polish, "85.1%" in English (the decimals it came with); "—" when
    empty, anything else as it is."""
    number = decimal_or_none(value)
    if number is None:
        return number_text(value)
    exponent = number.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{number_text(number, decimals=decimals)}%"


def money_text(amount: Any, currency: Any = "") -> str:
    """``140,99 PLN`` (two decimal places, the locale's separator); "—" without an amount."""
    if decimal_or_none(amount) is None:
        return "—" if amount in (None, "") else str(amount)
    text = number_text(amount, decimals=2)
    return f"{text} {currency}" if currency else text


__all__ = [
    "KINDS",
    "SPEC_SOURCES",
    "TONES",
    "Label",
    "choices",
    "decimal_or_none",
    "duration_label",
    "is_known",
    "minute_text",
    "money_text",
    "number_text",
    "percent_text",
    "rating_kind_value",
    "status_label",
    "status_tone",
]
