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
