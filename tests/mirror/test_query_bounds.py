"""The database work of a sync page is a fixed number of queries, whatever the page size."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.mirror.conftest import drive
from tests.mirror.equality import SimulatorReader

pytestmark = pytest.mark.django_db(transaction=True)
BIG_SEED = {"sellers": 1, "offers": 1000, "orders": 300, "seed": 5}


@pytest.fixture
def big(sim: Any) -> Any:
    sim.control("POST", "/reset", {"seed": BIG_SEED})
    return sim


@pytest.fixture
def docs(big: Any, link_account: Any) -> dict[str, Any]:
    account = link_account("SklepKowalski")
    reader = SimulatorReader(big, account.allegro_user_id)
    try:
        offers = reader.offers()
        forms = reader.checkout_forms()
    finally:
        reader.close()
    from allegro.api.offers import OfferSummary
    from allegro.api.orders import CheckoutForm

    return {
        "account": account,
        "offers": [OfferSummary.parse(d) for d in offers],
        "forms": [CheckoutForm.parse(d) for d in forms],
    }


def test_offer_page_upsert_is_one_statement(
    docs: dict[str, Any], django_assert_num_queries: Any
) -> None:
    from offers.models import Offer
    from offers.sync import offers_upsert

    assert len(docs["offers"]) == 1000
    with django_assert_num_queries(3):  # BEGIN, one INSERT ... ON CONFLICT for 1000 rows, COMMIT
        offers_upsert(account=docs["account"], offers=docs["offers"], synced_at=timezone.now())
    assert Offer.objects.filter(account=docs["account"]).count() == 1000


def test_order_page_upsert_is_bounded(
    docs: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    from django.db import transaction

    from orders.models import OrderLineItem
    from orders.sync import orders_upsert, tracking_replace

    page = docs["forms"][:100]
    account = docs["account"]
    with django_assert_max_num_queries(8), transaction.atomic():
        result = orders_upsert(account=account, forms=page, synced_at=timezone.now())
        tracking_replace(account=account, shipments={k: [] for k in result.written})
    assert len(result.written) == 100
    assert OrderLineItem.objects.filter(account=account).count() >= 100
    # The same page again: one locking read (plus BEGIN/COMMIT), nothing written.
    with django_assert_max_num_queries(3), transaction.atomic():
        again = orders_upsert(account=account, forms=page, synced_at=timezone.now())
    assert not again.written
    assert len(again.unchanged) == 100


def test_whole_initial_pass_queries_grow_with_pages_not_rows(
    docs: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    account = docs["account"]
    # Fixed cost of a run (lock, run log, states, sweep: ~35) plus a few queries per page.
    # 1000 offers = 1 page (+1 empty); 300 orders = 3 pages (+1 empty), 100 forms each.
    with django_assert_max_num_queries(35 + 2 * 5):
        drive(account, "offers")
    with django_assert_max_num_queries(35 + 4 * 12):
        drive(account, "orders")
