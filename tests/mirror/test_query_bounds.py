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


def _versions(model: Any, account: Any) -> dict[str, str]:
    """Each row's version (``xmin``: the transaction that last wrote it)."""
    rows = model.objects.filter(account=account).extra(select={"version": "xmin::text"})
    return {str(pk): version for pk, version in rows.values_list("pk", "version")}


def test_offer_page_upsert_is_one_copy_and_one_merge(
    docs: dict[str, Any], django_assert_num_queries: Any
) -> None:
    from offers.models import Offer
    from offers.sync import offers_upsert

    account, offers = docs["account"], docs["offers"]
    assert len(offers) == 1000
    # BEGIN, the staging table (made once per session), one COPY of 1000 rows, one
    # WITH ... INSERT ... ON CONFLICT, COMMIT.
    with django_assert_num_queries(5) as captured:
        offers_upsert(account=account, offers=offers, synced_at=timezone.now())
    verbs = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    assert verbs == ["BEGIN", "DO", "COPY", "WITH", "COMMIT"]
    assert "INSERT INTO offers_offer" in captured.captured_queries[3]["sql"]
    assert Offer.objects.filter(account=account).count() == 1000
    # The same for one row: the count does not grow with the page.
    with django_assert_num_queries(5):
        offers_upsert(account=account, offers=offers[:1], synced_at=timezone.now())

    # The same page again writes nothing; the full pass's ``mark_seen`` stamps every row.
    before = _versions(Offer, account)
    seen_before = Offer.objects.filter(account=account).order_by("synced_at")[0].synced_at
    offers_upsert(account=account, offers=offers, synced_at=timezone.now())
    assert _versions(Offer, account) == before
    stamp = timezone.now()
    offers_upsert(account=account, offers=offers, synced_at=stamp, mark_seen=True)
    assert Offer.objects.filter(account=account, synced_at=stamp).count() == 1000
    assert seen_before < stamp


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
    # Forced (the reconciliation's repair): the forms are rewritten, their unchanged lines not.
    lines_before = _versions(OrderLineItem, account)
    with transaction.atomic():
        forced = orders_upsert(account=account, forms=page, synced_at=timezone.now(), force=True)
    assert len(forced.written) == 100
    assert _versions(OrderLineItem, account) == lines_before


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
