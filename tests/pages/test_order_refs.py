# ruff: noqa: RUF001 (the multiplication sign in the expected texts is what the page prints)
"""Orders people can name: the short reference on the list and the detail, search by any prefix
of the order id (with or without dashes, any case), and an "Items" column that reads as a
phrase in Polish and English."""

from __future__ import annotations

import uuid
from html import unescape as html_unescape
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from orders.models import Order
from orders.selectors import items_summary, order_ref

pytestmark = pytest.mark.django_db


def _found(client: Any, q: str) -> set[str]:
    """The ids of the orders the list shows for ``q`` (data-order-id of each row)."""
    html = client.get(reverse("orders:index"), {"q": q, "per_page": 100}).content.decode()
    chunks = html.split('data-testid="order-row" data-order-id="')[1:]
    return {chunk.split('"', 1)[0] for chunk in chunks}


def _twin(order: Order, allegro_id: str) -> Order:
    """A copy of a mirrored order under another id (ids crafted to share a prefix)."""
    copy = Order.objects.get(pk=order.pk)
    copy.pk = None
    copy.allegro_id = uuid.UUID(allegro_id)
    copy.save()
    return copy


def test_short_reference_on_the_list_and_the_detail(
    client_for: Any, viewer: Any, shop: Any
) -> None:
    client = client_for(viewer)
    order = Order.objects.filter(account=shop).order_by("-bought_at", "-id").first()
    assert order is not None
    ref = order_ref(order.allegro_id)
    assert ref == str(order.allegro_id)[:8].upper()
    html = client.get(reverse("orders:index")).content.decode()
    row = html.split(f'data-order-id="{order.allegro_id}"', 1)[1].split("</tr>", 1)[0]
    assert f'<code data-testid="order-ref">{ref}</code>' in row
    detail = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert f'<code data-testid="order-ref">{ref}</code>' in detail
    assert f"<title>Zamówienie {ref}" in detail
    assert str(order.allegro_id) in detail  # the whole id is still there to copy


def test_a_unique_prefix_finds_exactly_that_order(client_for: Any, viewer: Any, shop: Any) -> None:
    client = client_for(viewer)
    ids = [str(i) for i in Order.objects.filter(account=shop).values_list("allegro_id", flat=True)]
    target = ids[0]
    ref = order_ref(target)
    assert _found(client, ref) == {target}  # upper case, as printed
    assert _found(client, ref.lower()) == {target}
    assert _found(client, target[:13]) == {target}  # with the dash
    assert _found(client, target[:13].replace("-", "").upper()) == {target}  # without
    assert _found(client, f"  {target[:18]} ") == {target}
    shortest = next(n for n in range(4, 9) if sum(i.startswith(target[:n]) for i in ids) == 1)
    assert _found(client, target[:shortest].upper()) == {target}  # shorter than the ref
    assert _found(client, target) == {target}
    assert _found(client, target.replace("-", "").upper()) == {target}


def test_an_ambiguous_prefix_lists_every_match(client_for: Any, viewer: Any, shop: Any) -> None:
    client = client_for(viewer)
    base = Order.objects.filter(account=shop).order_by("id").first()
    assert base is not None
    first = _twin(base, "0badcafe-1234-4000-8000-000000000001")
    second = _twin(base, "0badcafe-1234-4000-8000-000000000002")
    third = _twin(base, "0badcaff-0000-4000-8000-000000000003")
    both = {str(first.allegro_id), str(second.allegro_id)}
    assert _found(client, "0BADCAFE") == both  # the shared short reference
    assert _found(client, "0badcafe-1234") == both
    assert _found(client, "0BADCAFE1234") == both
    assert _found(client, "0badca") == both | {str(third.allegro_id)}
    assert _found(client, "0badcafe-1234-4000-8000-000000000002") == {str(second.allegro_id)}
    assert _found(client, "0BADCAFE123440008000000000000002") == {str(second.allegro_id)}
    assert _found(client, "0badcafe-1235") == set()


def test_prefix_search_is_not_offered_to_staff_of_another_account(
    client_for: Any, outsider: Any, shop: Any
) -> None:
    order = Order.objects.filter(account=shop).first()
    assert order is not None
    assert _found(client_for(outsider), order_ref(order.allegro_id)) == set()


@pytest.mark.parametrize(
    ("language", "lines", "expected"),
    [
        ("pl", 1, "2 × Kubek termiczny"),
        ("pl", 2, "2 × Kubek termiczny, i jeszcze 1 pozycja"),
        ("pl", 3, "2 × Kubek termiczny, i jeszcze 2 pozycje"),
        ("pl", 6, "2 × Kubek termiczny, i jeszcze 5 pozycji"),
        ("pl", 23, "2 × Kubek termiczny, i jeszcze 22 pozycje"),
        ("pl", 13, "2 × Kubek termiczny, i jeszcze 12 pozycji"),
        ("en", 1, "2 × Kubek termiczny"),
        ("en", 2, "2 × Kubek termiczny, and 1 more item"),
        ("en", 4, "2 × Kubek termiczny, and 3 more items"),
    ],
)
def test_items_read_as_a_phrase_with_plural_forms(language: str, lines: int, expected: str) -> None:
    with translation.override(language):
        assert items_summary(lines=lines, quantity=2, name="Kubek termiczny") == expected


def test_a_long_title_is_shortened_with_an_ellipsis() -> None:
    text = items_summary(lines=1, quantity=1, name="Bardzo długi tytuł oferty " * 4)
    assert text.endswith("…")
    assert len(text) <= len("1 × ") + 40


def test_items_column_on_the_list_in_polish_and_english(
    client_for: Any, viewer: Any, shop: Any
) -> None:
    order = Order.objects.filter(account=shop).order_by("-bought_at", "-id").first()
    assert order is not None
    lines = list(order.line_items.order_by("id"))
    extra = lines[0]
    for _n in range(2):  # three lines in all (at least): the plural form is "pozycje"/"items"
        extra.pk = None
        extra.allegro_id = uuid.uuid4()
        extra.save()
    count = order.line_items.count()
    client = client_for(viewer)

    def cell() -> str:
        html = client.get(reverse("orders:index")).content.decode()
        row = html.split(f'data-order-id="{order.allegro_id}"', 1)[1]
        return html_unescape(row.split('data-testid="order-items">', 1)[1].split("</td>", 1)[0])

    first = f"{lines[0].quantity} × {lines[0].offer_name[:20]}"
    polish = cell()
    assert polish.startswith(first)
    more = count - 1
    form = "pozycje" if more % 10 in (2, 3, 4) and more % 100 not in (12, 13, 14) else "pozycji"
    assert polish.endswith(f", i jeszcze {more} {form}")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # what the language switch stores
    english = cell()
    assert english.endswith(f", and {more} more items")
    assert " x " not in polish
