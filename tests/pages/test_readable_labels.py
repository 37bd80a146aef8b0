"""Statuses people read: every enum value of Allegro's spec has a Polish and an English label, the
pages show labels (never the API value or a Python/JSON repr), the audit trail reads
"field: before → after", and a bulk report says what was done with old → new per offer, its CSV
in the interface language."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from sandbox.spec import spec_document
from ui import labels
from ui.changes import audit_changes

# The enums the pages show, where the spec defines them (independent of ``labels.SPEC_SOURCES``
# so that a kind dropped there still fails here).
SPEC_ENUMS: dict[str, list[tuple[str | int, ...]]] = {
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
    "return_reason": [("CustomerReturnItemReason", "properties", "type")],
    "refund_claim": [("RefundClaim", "properties", "status")],
}
STATUS_KINDS = ("offer", "order", "fulfillment", "dispute", "order_event", "payment_type")


@cache
def _schemas() -> dict[str, Any]:
    spec = spec_document(Path(settings.ALLEGRO_OPENAPI_PATH))
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


def _enum(path: tuple[str | int, ...]) -> list[str]:
    node: Any = _schemas()
    for step in path:
        node = node[step]
    if "enum" not in node:  # some enums are only listed: 'Possible values: "NONE", "MISTAKE", …'
        listed = str(node.get("description", "")).partition("Possible values:")[2]
        return re.findall(r'"([A-Z0-9_]+)"', listed)
    return [str(v) for v in node["enum"] if v is not None]


def _raw_values(kind: str) -> set[str]:
    return {v for path in SPEC_ENUMS[kind] for v in _enum(path)}


# --- the table against the spec ----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SPEC_ENUMS))
def test_every_spec_value_has_a_polish_and_an_english_label(kind: str) -> None:
    values = _raw_values(kind)
    assert values, f"no enum found in the spec for {kind}"
    missing = values - set(labels.KINDS.get(kind, {}))
    assert not missing, f"{kind}: no label for {sorted(missing)}"
    assert labels.SPEC_SOURCES[kind] == SPEC_ENUMS[kind]
    for value in sorted(values):
        found = labels.KINDS[kind][value]
        assert found.tone in labels.TONES
        with translation.override("pl"):
            polish = labels.status_label(kind, value)
        with translation.override("en"):
            english = labels.status_label(kind, value)
        for text in (polish, english):
            assert text.strip()
            assert text != value, f"{kind}.{value} shows the API value"
        if isinstance(found.text, Promise):  # names (PayU, Przelewy24) read the same everywhere
            assert polish != english, f"{kind}.{value} has no Polish translation ({polish!r})"


def test_each_fulfillment_status_has_a_colour_of_its_own() -> None:
    tones = [label.tone for label in labels.KINDS["fulfillment"].values()]
    assert len(set(tones)) == len(tones)
    order_tones = [label.tone for label in labels.KINDS["order"].values()]
    assert len(set(order_tones)) == len(order_tones)


def test_an_unknown_value_falls_back_to_itself() -> None:
    with translation.override("pl"):
        assert labels.status_label("fulfillment", "TELEPORTED") == "TELEPORTED"
        assert labels.status_tone("fulfillment", "TELEPORTED") == labels.UNKNOWN_TONE
        assert labels.status_label("fulfillment", "") == "—"
        assert labels.status_label("fulfillment", "SENT") == "Wysłane"


def test_a_badge_follows_the_language_it_is_printed_in() -> None:
    """Badges are kept once made (a list prints the same few on every row), per language."""
    from ui.templatetags.status_tags import status_badge

    with translation.override("pl"):
        polish = status_badge("fulfillment", "SENT", testid="t")
        assert status_badge("fulfillment", "SENT", testid="t") == polish
    with translation.override("en"):
        english = status_badge("fulfillment", "SENT", testid="t")
    assert ">Wysłane<" in polish
    assert ">Sent<" in english
    assert 'data-testid="t"' in english
    assert "badge-unknown" in status_badge("fulfillment", "TELEPORTED")
    assert ">—<" in status_badge("fulfillment", None)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 3, 30, 0, 59, tzinfo=UTC),  # 01:59 in Warsaw, then summer time
        datetime(2025, 3, 30, 1, 0, tzinfo=UTC),  # 03:00
        datetime(2025, 10, 26, 0, 30, tzinfo=UTC),  # 02:30 summer time
        datetime(2025, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 winter time
        datetime(999, 1, 2, 3, 4, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 6, 1, 8, 5),  # naive: printed as it is
    ],
)
def test_minute_filter_prints_what_the_date_filter_does(moment: datetime) -> None:
    from django.template import engines

    template = engines["django"].from_string(
        '{% load status_tags %}{{ t|date:"Y-m-d H:i" }}|{{ t|minute }}|{{ none|minute }}'
    )
    for zone in ("Europe/Warsaw", "America/Sao_Paulo"):
        with timezone.override(zone):
            by_date, by_minute, empty = template.render({"t": moment, "none": None}).split("|")
            assert by_minute == by_date
            assert empty == ""


@pytest.mark.parametrize(
    ("value", "polish", "english"),
    [
        ("P30D", "30 dni", "30 days"),
        ("P14D", "14 dni", "14 days"),
        ("P1D", "1 dzień", "1 day"),
        ("P2M", "2 miesiące", "2 months"),
        ("P5M", "5 miesięcy", "5 months"),
        ("P1Y", "1 rok", "1 year"),
        ("P2W", "2 tygodnie", "2 weeks"),
        ("PT12H", "12 godzin", "12 hours"),
        ("P1DT2H", "1 dzień 2 godziny", "1 day 2 hours"),
        ("30 days", "30 days", "30 days"),  # not ISO 8601: shown as it is
        ("P", "P", "P"),
    ],
)
def test_iso_durations_read_as_words(value: str, polish: str, english: str) -> None:
    with translation.override("pl"):
        assert labels.duration_label(value) == polish
    with translation.override("en"):
        assert labels.duration_label(value) == english


def test_audit_documents_become_field_rows() -> None:
    before = {"name": "A", "price": "140.99", "currency": "PLN", "stock": 5, "status": "ACTIVE"}
    with translation.override("pl"):
        rows = audit_changes(
            action="offer.edited", before=before, after={**before, "price": "1500.50"}
        )
        assert [(r.field, r.before, r.after) for r in rows] == [
            ("Cena", "140,99 PLN", "1500,50 PLN")
        ]
        failed = audit_changes(
            action="offer.edit_failed",
            before=before,
            after={"requested": {"stock": {"available": 0}}, "errors": ["Za mało"]},
        )
        assert [(r.field, r.before, r.after) for r in failed] == [
            ("Stan", "5", "0"),
            ("Błędy zgłoszone przez Allegro", None, "Za mało"),
        ]
    with translation.override("en"):
        rows = audit_changes(
            action="order.fulfillment_changed",
            before={"fulfillment": "NEW", "revision": "a"},
            after={"fulfillment": "READY_FOR_SHIPMENT", "revision": "b"},
        )
        assert [(r.field, r.before, r.after) for r in rows] == [
            ("Fulfillment status", "New", "Ready for shipment")
        ]


# --- pages ---------------------------------------------------------------------------------------

pages = pytest.mark.django_db

BADGE = re.compile(r'<span class="badge[^"]*"[^>]*>([^<]*)</span>')
REPR = re.compile(r"\{'|\{&#x27;|&#x27;: |\{&quot;|&quot;: ")


def _visible_badges(html: str) -> list[str]:
    return [html_lib.unescape(text).strip() for text in BADGE.findall(html)]


def _assert_readable(html: str, *, badges: bool = True) -> None:
    raw = set().union(*(_raw_values(k) for k in STATUS_KINDS)) | {"PENDING", "SUCCESS", "FAIL"}
    shown = _visible_badges(html)
    assert shown or not badges
    assert not raw & set(shown), f"raw API values shown: {sorted(raw & set(shown))}"
    # no raw value as a cell or code text either
    text_nodes = {html_lib.unescape(t).strip() for t in re.findall(r">([^<]+)<", html)}
    assert not raw & text_nodes, f"raw API values shown: {sorted(raw & text_nodes)}"
    content = re.sub(r"<body[^>]*>", "<body>", html)  # the CSRF header is JSON on purpose
    assert not REPR.search(content), "a dict repr is shown"


@pages
def test_offer_and_order_pages_show_polish_labels(client_for: Any, manager: Any, shop: Any) -> None:
    from offers.models import Offer
    from orders.models import Order

    client = client_for(manager)
    listing = client.get(reverse("offers:index"), {"per_page": 100}).content.decode()
    _assert_readable(listing)
    statuses = set(Offer.objects.filter(account=shop).values_list("status", flat=True))
    with translation.override("pl"):
        expected = {labels.status_label("offer", s) for s in statuses}
    assert expected <= set(_visible_badges(listing))
    assert "Aktywna" in expected

    offer = Offer.objects.filter(account=shop, status="ACTIVE").first()
    assert offer is not None
    detail = client.get(reverse("offers:detail", args=[offer.pk])).content.decode()
    _assert_readable(detail)
    assert re.search(r'class="badge tone-green"[^>]*data-testid="offer-status">Aktywna<', detail)

    orders = client.get(reverse("orders:index"), {"per_page": 100}).content.decode()
    _assert_readable(orders)
    fulfillments = set(
        Order.objects.filter(account=shop).values_list("fulfillment_status", flat=True)
    )
    with translation.override("pl"):
        assert {labels.status_label("fulfillment", s) for s in fulfillments} <= set(
            _visible_badges(orders)
        )

    order = Order.objects.filter(account=shop).exclude(payment_type="").first()
    assert order is not None
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    _assert_readable(page)
    with translation.override("pl"):
        assert labels.status_label("order", order.status) in _visible_badges(page)
        assert labels.status_label("payment_type", order.payment_type) in page

    client.cookies["django_language"] = "en"
    english = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    _assert_readable(english)
    with translation.override("en"):
        assert labels.status_label("fulfillment", order.fulfillment_status) in _visible_badges(
            english
        )


@pages
def test_the_audit_trail_reads_before_and_after(
    client_for: Any, manager: Any, shop: Any, admin_client: Any
) -> None:
    from accounts.models import AuditLogEntry
    from offers.models import Offer
    from orders.models import Order

    client = client_for(manager)
    offer = Offer.objects.filter(account=shop, status="ACTIVE").order_by("id").first()
    assert offer is not None
    assert offer.price_amount is not None
    old_price = offer.price_amount
    new_price = (old_price + Decimal("1000.05")).quantize(Decimal("0.01"))
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": offer.name, "price": str(new_price), "stock": offer.stock_available},
    )
    assert response.status_code == 302
    html = client.get(reverse("offers:detail", args=[offer.pk])).content.decode()
    trail = html.split('data-testid="audit-trail"', 1)[1].split("</table>", 1)[0]
    old_text = f"{old_price:.2f}".replace(".", ",")
    new_text = f"{new_price:.2f}".replace(".", ",")
    assert (
        f"Cena:</span> {old_text} {offer.price_currency} → {new_text} {offer.price_currency}"
        in (trail)
    )
    assert "Oferta zmieniona na Allegro" in trail
    assert "offer.edited" not in re.sub(r'data-action="[^"]*"', "", trail)
    _assert_readable(trail, badges=False)

    order = Order.objects.filter(account=shop, fulfillment_status="NEW").first()
    assert order is not None
    response = client.post(
        reverse("orders:fulfillment", args=[order.pk]),
        {"status": "PROCESSING", "revision": order.revision},
    )
    assert response.status_code == 302
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    trail = page.split('data-testid="audit-trail"', 1)[1].split("</table>", 1)[0]
    assert "Status realizacji:</span> Nowe → W realizacji" in trail
    assert not REPR.search(trail)

    # the admin's read-only view shows the same rows
    entry = AuditLogEntry.objects.filter(action="order.fulfillment_changed").latest("id")
    admin_page = admin_client.get(
        reverse("admin:accounts_auditlogentry_change", args=[entry.pk]),
        HTTP_ACCEPT_LANGUAGE="pl",
    ).content.decode()
    assert "Status realizacji: Nowe → W realizacji" in admin_page


def _csv(response: Any) -> tuple[list[str], list[list[str]]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    body = text[1:]
    dialect = csv.Sniffer().sniff(body.splitlines()[0], delimiters=";,")
    rows = list(csv.reader(io.StringIO(body), delimiter=dialect.delimiter))
    return [dialect.delimiter, *rows[0]], rows[1:]


@pages
def test_bulk_report_says_what_was_done_and_its_csv_follows_the_language(
    client_for: Any, manager: Any, shop: Any
) -> None:
    from jobs.tasks import job_run
    from offers.models import Offer
    from offers.services import bulk_job_create

    offers = list(Offer.objects.filter(account=shop).order_by("id")[:4])
    old = {o.allegro_id: o.price_amount for o in offers}
    job = bulk_job_create(
        actor=manager, offers=offers, action="price_increase_pct", value=Decimal("10")
    )
    job_run(str(job.pk))
    new = dict(
        Offer.objects.filter(pk__in=[o.pk for o in offers]).values_list(
            "allegro_id", "price_amount"
        )
    )
    assert all(new[k] != old[k] for k in old)

    client = client_for(manager)
    page = client.get(reverse("offers:bulk_job", args=[job.pk])).content.decode()
    assert re.search(r'data-testid="bulk-title">[^<]*Cena \+10 %<', page)
    for offer in offers:
        row = page.split(f"<code>{offer.allegro_id}</code>", 1)[1].split("</tr>", 1)[0]
        before = f"{old[offer.allegro_id]:.2f}".replace(".", ",")
        after = f"{new[offer.allegro_id]:.2f}".replace(".", ",")
        assert f"{before} {offer.price_currency} → {after} {offer.price_currency}" in row
        assert "Udało się" in row
    _assert_readable(page)

    polish = client.get(reverse("offers:bulk_job_csv", args=[job.pk]))
    header, rows = _csv(polish)
    assert header == [
        ";",
        "Konto",
        "Id oferty",
        "Tytuł",
        "Cena przed",
        "Cena po",
        "Waluta",
        "Wynik",
        "Komunikat Allegro",
    ]
    by_id = {r[1]: r for r in rows}
    assert len(by_id) == 4
    for offer in offers:
        line = by_id[offer.allegro_id]
        assert line[3] == f"{old[offer.allegro_id]:.2f}".replace(".", ",")
        assert line[4] == f"{new[offer.allegro_id]:.2f}".replace(".", ",")
        assert line[6] == "Udało się"

    client.cookies["django_language"] = "en"
    english_page = client.get(reverse("offers:bulk_job", args=[job.pk])).content.decode()
    assert re.search(r'data-testid="bulk-title">[^<]*Price \+10%<', english_page)
    header, rows = _csv(client.get(reverse("offers:bulk_job_csv", args=[job.pk])))
    assert header == [
        ",",
        "Account",
        "Offer id",
        "Title",
        "Price before",
        "Price after",
        "Currency",
        "Result",
        "Allegro's message",
    ]
    by_id = {r[1]: r for r in rows}
    for offer in offers:
        assert by_id[offer.allegro_id][3] == f"{old[offer.allegro_id]:.2f}"
        assert by_id[offer.allegro_id][4] == f"{new[offer.allegro_id]:.2f}"
        assert by_id[offer.allegro_id][6] == "Succeeded"


@pages
def test_stock_bulk_heading_and_old_to_new_stock(client_for: Any, manager: Any, shop: Any) -> None:
    from jobs.tasks import job_run
    from offers.models import Offer
    from offers.services import bulk_job_create

    offers = list(Offer.objects.filter(account=shop, status="ACTIVE").order_by("id")[:2])
    job = bulk_job_create(actor=manager, offers=offers, action="stock_set", value=Decimal("5"))
    job_run(str(job.pk))
    page = client_for(manager).get(reverse("offers:bulk_job", args=[job.pk])).content.decode()
    assert re.search(r'data-testid="bulk-title">[^<]*Stan = 5<', page)
    for offer in offers:
        row = page.split(f"<code>{offer.allegro_id}</code>", 1)[1].split("</tr>", 1)[0]
        assert f"{offer.stock_available} → 5" in row
