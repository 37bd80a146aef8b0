"""Paging across accounts: merged per-account index scans give exactly the rows and order of a
plain sorted query; totals are exact up to the cap and estimated (flagged) above it."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from offers.models import Offer
from offers.selectors import SORTS as OFFER_SORTS
from offers.selectors import OfferQuery, offers_filtered, offers_page_source
from orders.models import Order
from orders.selectors import SORTS as ORDER_SORTS
from orders.selectors import OrderQuery, orders_filtered, orders_page_source
from ui.paging import CappedPaginator, MergedByAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_shops(db: None) -> list[Any]:
    from tests.factories import AllegroAccountFactory

    rng = random.Random(7)
    shops = [AllegroAccountFactory(login=f"shop-{i}") for i in range(3)]
    now = timezone.now()
    offers, orders = [], []
    for shop in shops:
        for i in range(rng.randint(30, 60)):
            offers.append(
                Offer(
                    account=shop,
                    allegro_id=f"{shop.pk}{i:05d}",
                    name=f"Oferta {i}",
                    status=rng.choice(["ACTIVE", "ENDED"]),
                    price_amount=Decimal(rng.randint(1, 40)),  # many ties
                    stock_available=rng.randint(0, 5),
                    stock_sold=rng.randint(0, 5),
                    allegro_updated_at=None if i % 9 == 0 else now - timedelta(hours=i % 7),
                    synced_at=now,
                )
            )
            orders.append(
                Order(
                    account=shop,
                    allegro_id=uuid.uuid4(),
                    buyer_login=f"buyer{rng.randint(1, 9)}",
                    fulfillment_status=rng.choice(["NEW", "SENT"]),
                    bought_at=None if i % 11 == 0 else now - timedelta(minutes=rng.randint(0, 30)),
                    synced_at=now,
                )
            )
    Offer.objects.bulk_create(offers)
    Order.objects.bulk_create(orders)
    return shops


def _accounts(shops: list[Any]) -> Any:
    from accounts.models import AllegroAccount

    return AllegroAccount.objects.filter(pk__in=[s.pk for s in shops])


def _viewer(shops: list[Any]) -> Any:
    """A staff member granted the three shops (the list selectors start from the user)."""
    from tests.factories import AccountGrantFactory, UserFactory

    user = UserFactory()
    for shop in shops:
        AccountGrantFactory(user=user, account=shop)
    return user


@pytest.mark.parametrize("sort", sorted(OFFER_SORTS))
def test_merged_offer_pages_equal_a_plain_sort(three_shops: list[Any], sort: str) -> None:
    user = _viewer(three_shops)
    query = OfferQuery(sort=sort, statuses=["ACTIVE"])
    rows, count_qs = offers_page_source(user=user, query=query)
    expected = list(offers_filtered(user=user, query=query).values_list("pk", flat=True))
    got = [o.pk for start in range(0, len(expected) + 10, 10) for o in rows[start : start + 10]]
    assert got == expected
    assert count_qs.count() == len(expected)


@pytest.mark.parametrize("sort", sorted(ORDER_SORTS))
def test_merged_order_pages_equal_a_plain_sort(three_shops: list[Any], sort: str) -> None:
    user = _viewer(three_shops)
    query = OrderQuery(sort=sort, fulfillment=["NEW"])
    rows, _count = orders_page_source(user=user, query=query)
    expected = list(orders_filtered(user=user, query=query).values_list("pk", flat=True))
    got = [o.pk for start in range(0, len(expected) + 7, 7) for o in rows[start : start + 7]]
    assert got == expected


def test_merge_is_used_for_indexed_sorts_only(three_shops: list[Any]) -> None:
    user = _viewer(three_shops)
    ids = [s.pk for s in three_shops]
    merged, _ = offers_page_source(user=user, query=OfferQuery(sort="price"))
    plain, _ = offers_page_source(user=user, query=OfferQuery(sort="title"))
    one, _ = offers_page_source(user=user, query=OfferQuery(sort="price", account_ids=[ids[0]]))
    assert isinstance(merged, MergedByAccount)
    assert not isinstance(plain, MergedByAccount)
    assert not isinstance(one, MergedByAccount)


def test_capped_total_is_exact_below_the_cap_and_estimated_above(
    three_shops: list[Any], django_assert_max_num_queries: Any
) -> None:
    qs = Offer.objects.filter(account__in=_accounts(three_shops)).order_by("-id")
    total = qs.count()
    exact = CappedPaginator(qs, 10, count_qs=qs, cap=total)
    assert exact.count == total
    assert not exact.estimated
    capped = CappedPaginator(qs, 10, count_qs=qs, cap=20)
    with django_assert_max_num_queries(2):
        assert capped.count > 20
    assert capped.estimated


def _plan(qs: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:  # the test's transaction: reset when it ends
        cursor.execute("ANALYZE offers_offer, orders_order")
        cursor.execute("SET LOCAL enable_seqscan = off")
        # and sorts: on a few test rows sorting them is cheapest; the lists rely on an index
        # that hands the rows over in the page's order
        cursor.execute("SET LOCAL enable_sort = off")
    return str(qs.explain())


def test_rare_filters_read_their_partial_indexes(three_shops: list[Any]) -> None:
    """The lists "active, out of stock" (and its count) and to-ship orders, newest first, are read
    by the partial indexes made for them (``offers.models``, ``orders.models``): with sequential
    scans priced out, a plan that cannot use them (a filter no longer implying the index's
    condition, a column missing) walks a bigger index instead. The bench (``bench/pages.py``)
    prints the plans of every page at 5 x 500,000 rows."""
    from orders.models import TO_SHIP

    user = _viewer(three_shops)
    active_empty, count_qs = offers_page_source(
        user=user, query=OfferQuery(statuses=["ACTIVE"], out_of_stock=True)
    )
    # the name alone: the dashboard's "offer_active_no_stock_changed" does not count here
    assert re.search(r"\boffer_active_no_stock\b", _plan(active_empty[:50]))
    assert re.search(r"\boffer_active_no_stock\b", _plan(count_qs[:1001]))
    to_ship = Order.objects.filter(TO_SHIP, account=three_shops[0]).order_by("-bought_at", "-id")
    assert "order_to_ship_bought" in _plan(to_ship.values_list("pk", "bought_at")[:50])


# --- keyset pages: a deep page read after (or before) a row equals the page read by offset ----


def _keyset_pages(rows: Any, count_qs: Any, size: int) -> None:
    """Every page read by offset, then again from the previous page's ``after`` cursor and from
    the next page's ``before`` cursor (``LIST_KEYSET_FROM`` = 0: every link carries one). The
    cursor pages are asked for with another page number (first / last): only a read by keyset
    (the number is then just shown) gives the expected rows."""
    by_offset = CappedPaginator(rows, size, count_qs=count_qs)
    pages = [list(by_offset.page(n).object_list) for n in by_offset.page_range]
    assert sum(len(p) for p in pages) == count_qs.count() > size * 3
    for number in by_offset.page_range:
        page = by_offset.page(number)
        if page.has_next():
            assert page.next_cursor
            after = CappedPaginator(rows, size, count_qs=count_qs, after=page.next_cursor)
            assert [r.pk for r in after.page(1)] == [r.pk for r in pages[number]]
        if page.has_previous():
            assert page.previous_cursor
            before = CappedPaginator(rows, size, count_qs=count_qs, before=page.previous_cursor)
            last = by_offset.num_pages
            assert [r.pk for r in before.page(last)] == [r.pk for r in pages[number - 2]]


@pytest.mark.parametrize("sort", sorted(OFFER_SORTS))
def test_offer_keyset_pages_equal_offset_pages(
    three_shops: list[Any], sort: str, settings: Any
) -> None:
    """Ties on the sort column and NULLs (first descending, last ascending) included."""
    settings.LIST_KEYSET_FROM = 0
    user = _viewer(three_shops)
    rows, count_qs = offers_page_source(user=user, query=OfferQuery(sort=sort))
    _keyset_pages(rows, count_qs, 7)


@pytest.mark.parametrize("sort", sorted(ORDER_SORTS))
def test_order_keyset_pages_equal_offset_pages(
    three_shops: list[Any], sort: str, settings: Any
) -> None:
    settings.LIST_KEYSET_FROM = 0
    user = _viewer(three_shops)
    rows, count_qs = orders_page_source(user=user, query=OrderQuery(sort=sort))
    _keyset_pages(rows, count_qs, 9)


def test_pager_links_carry_a_cursor_from_deep_pages_on(
    three_shops: list[Any], settings: Any
) -> None:
    settings.LIST_KEYSET_FROM = 20
    user = _viewer(three_shops)
    rows, count_qs = orders_page_source(user=user, query=OrderQuery())
    paginator = CappedPaginator(rows, 10, count_qs=count_qs)
    assert not paginator.page(1).next_cursor  # page 2 starts at row 10
    assert paginator.page(2).next_cursor  # page 3 at row 20
    assert not paginator.page(3).previous_cursor
    assert paginator.page(4).previous_cursor


@pytest.mark.parametrize(
    "token",
    ["garbage", "W10", "W1siLWJvdWdodF9hdCIsIi1pZCJdLFsibm90IGEgZGF0ZSIsMV1d", "e30", "%%%"],
)
def test_a_cursor_that_does_not_read_falls_back_to_the_offset(
    three_shops: list[Any], token: str, settings: Any
) -> None:
    """Bad base64, JSON of the wrong shape, a value the column cannot hold: the ``page``."""
    settings.LIST_KEYSET_FROM = 0
    user = _viewer(three_shops)
    rows, count_qs = orders_page_source(user=user, query=OrderQuery())
    offset = [o.pk for o in CappedPaginator(rows, 10, count_qs=count_qs).page(3)]
    for cursor in ({"after": token}, {"before": token}):
        paged = CappedPaginator(rows, 10, count_qs=count_qs, **cursor)
        assert [o.pk for o in paged.page(3)] == offset


def test_a_cursor_of_another_sort_falls_back_to_the_offset(
    three_shops: list[Any], settings: Any
) -> None:
    settings.LIST_KEYSET_FROM = 0
    user = _viewer(three_shops)
    by_buyer, count_qs = orders_page_source(user=user, query=OrderQuery(sort="buyer"))
    token = CappedPaginator(by_buyer, 10, count_qs=count_qs).page(2).next_cursor
    newest, count_qs = orders_page_source(user=user, query=OrderQuery())
    offset = [o.pk for o in CappedPaginator(newest, 10, count_qs=count_qs).page(3)]
    paged = CappedPaginator(newest, 10, count_qs=count_qs, after=token)
    assert [o.pk for o in paged.page(3)] == offset


@pytest.mark.parametrize(("path", "sort"), [("/orders/", "-bought"), ("/offers/", "price")])
def test_following_next_and_previous_links_shows_the_offset_pages(
    three_shops: list[Any],
    client_for: Any,
    settings: Any,
    django_assert_max_num_queries: Any,
    path: str,
    sort: str,
) -> None:
    """The pager's links (with a cursor from the page starting at row 50 on) lead to the rows
    ``?page=N`` shows, in as many queries."""
    import html as html_lib

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.LIST_KEYSET_FROM = 50
    client = client_for(_viewer(three_shops))
    row_ids = re.compile(r'data-(?:order|offer)-id="([^"]+)"')

    def link(body: str, rel: str) -> str:
        found = re.search(rf'<a href="(\?[^"]+)"[^>]*rel="{rel}"', body)
        return html_lib.unescape(found.group(1)) if found else ""

    def by_offset(number: int) -> list[str]:
        return row_ids.findall(client.get(f"{path}?sort={sort}&per_page=25&page={number}").text)

    body = client.get(f"{path}?sort={sort}&per_page=25").text
    number = 1
    while nxt := link(body, "next"):
        number += 1
        assert ("after=" in nxt) == (number >= 3)
        with CaptureQueriesContext(connection) as keyset:
            body = client.get(path + nxt).text
        with CaptureQueriesContext(connection) as offset:
            expected = by_offset(number)
        assert row_ids.findall(body) == expected
        assert len(keyset) == len(offset)
    assert number >= 4
    prev = link(body, "prev")
    assert "before=" in prev
    with django_assert_max_num_queries(8):
        shown = row_ids.findall(client.get(path + prev).text)
    assert shown == by_offset(number - 1)
