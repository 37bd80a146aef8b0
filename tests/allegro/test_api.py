"""API modules against the simulator: paging, event cursors, offer edits (202 → 303), commands,
orders and tracking. Every request is validated against the spec by the simulator."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from allegro import errors, paging
from allegro.api import offers, orders
from allegro.api._base import Money
from allegro.client import AllegroClient
from sandbox.testing import SimulatorProcess
from tests.allegro.conftest import stats
from tests.plugins.simulator import SELLER_ID, SMALL_SEED

pytestmark = pytest.mark.sandbox


# --- paging helpers (pure) --------------------------------------------------------------------


def recording_fetch(
    total: int | None = None,
) -> tuple[list[tuple[int, int]], Callable[[int, int], Sequence[int]]]:
    calls: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> Sequence[int]:
        calls.append((offset, limit))
        end = offset + limit if total is None else min(offset + limit, total)
        return list(range(offset, max(end, offset)))

    return calls, fetch


def test_offset_paging_stops_at_a_short_page() -> None:
    calls, fetch = recording_fetch(total=250)
    assert list(paging.iter_offset(fetch, limits=paging.CHECKOUT_FORMS)) == list(range(250))
    assert calls == [(0, 100), (100, 100), (200, 100)]


def test_offset_paging_honours_each_endpoint_maximum() -> None:
    calls, fetch = recording_fetch()
    assert len(list(paging.iter_offset(fetch, limits=paging.RETURN_POLICIES))) == 60
    assert calls == [(0, 60)]  # offset 60 would exceed the maximum of 59

    calls, fetch = recording_fetch()
    list(paging.iter_offset(fetch, limits=paging.OFFERS, start=9_999_500))
    assert calls == [(9_999_500, 500)]  # offset + limit <= 10 000 000

    calls, fetch = recording_fetch()
    list(paging.iter_offset(fetch, limits=paging.RATINGS, start=19_900))
    assert calls == [(19_900, 100), (20_000, 100)]

    calls, fetch = recording_fetch(total=5000)
    list(paging.iter_offset(fetch, limits=paging.OFFERS, page_size=5000))
    assert calls[0] == (0, 1000)


def test_event_pages_follow_the_cursor() -> None:
    log = [f"e{i}" for i in range(7)]
    seen: list[str | None] = []

    def fetch(cursor: str | None, limit: int) -> list[str]:
        seen.append(cursor)
        start = 0 if cursor is None else log.index(cursor) + 1
        return log[start : start + limit]

    pages = list(paging.iter_event_pages(fetch, cursor=None, id_of=str, limit=3))
    assert [list(p.events) for p in pages] == [log[0:3], log[3:6], log[6:7]]
    assert [p.cursor for p in pages] == ["e2", "e5", "e6"]
    assert seen == [None, "e2", "e5"]
    empty = list(paging.iter_event_pages(fetch, cursor="e6", id_of=str, limit=3))
    assert [(list(p.events), p.cursor) for p in empty] == [([], "e6")]


# --- offers -----------------------------------------------------------------------------------


def test_iter_offers_walks_every_page(seller_client: AllegroClient, sim: SimulatorProcess) -> None:
    first = offers.list_offers(seller_client, limit=5)
    assert first.total_count == SMALL_SEED["offers"]
    assert len(first.offers) == first.count == 5
    found = list(offers.iter_offers(seller_client, page_size=7))
    assert len({o.id for o in found}) == SMALL_SEED["offers"]
    assert stats(sim)["paths"]["GET /sale/offers"] == 1 + 5  # 7+7+7+7+2
    assert all(o.raw["id"] == o.id for o in found)


def test_offer_filters_reach_the_api(seller_client: AllegroClient) -> None:
    active = offers.list_offers(
        seller_client, filters=offers.OfferFilters(statuses=["ACTIVE"]), limit=100
    )
    assert active.offers
    assert {o.status for o in active.offers} == {"ACTIVE"}
    ids = [o.id for o in active.offers[:2]]
    picked = offers.list_offers(seller_client, filters=offers.OfferFilters(offer_ids=ids))
    assert sorted(o.id for o in picked.offers) == sorted(ids)


def active_offer(client: AllegroClient) -> offers.OfferSummary:
    page = offers.list_offers(client, filters=offers.OfferFilters(statuses=["ACTIVE"]), limit=1)
    return page.offers[0]


def test_product_offer_and_parts(seller_client: AllegroClient) -> None:
    summary = active_offer(seller_client)
    offer = offers.get_product_offer(seller_client, offer_id=summary.id)
    assert (offer.id, offer.name) == (summary.id, summary.name)
    parts = offers.get_offer_parts(seller_client, offer_id=summary.id)
    assert parts.available == offer.available
    assert parts.price == offer.price


def test_offer_edit_202_operation_303(seller_client: AllegroClient, sim: SimulatorProcess) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 5})
    offer_id = active_offer(seller_client).id
    waited: list[float] = []

    def advance(seconds: float) -> None:  # simulated time instead of sleeping
        waited.append(seconds)
        sim.control("POST", "/clock", {"advance": seconds})

    new_price = Money(amount=Decimal("123.45"), currency="PLN")
    pending = offers.patch_product_offer(
        seller_client,
        offer_id=offer_id,
        changes=offers.offer_changes(price=new_price),
        max_polls=0,
    )
    assert not pending.completed
    assert pending.operation_url
    assert "/operations/" in pending.operation_url
    with pytest.raises(errors.Conflict):  # the previous edit is still processing
        offers.patch_product_offer(
            seller_client, offer_id=offer_id, changes=offers.offer_changes(available=3)
        )
    edit = offers.poll_offer_operation(
        seller_client, operation_url=pending.operation_url, first_wait=2, sleep=advance
    )
    assert edit.completed
    assert edit.offer is not None
    assert edit.offer.price == new_price
    assert waited[0] == 2
    assert sum(waited) >= 5
    paths = stats(sim)["paths"]
    assert paths["GET /sale/product-offers/{offerId}/operations/{operationId}"] == len(waited)
    assert offers.get_product_offer(seller_client, offer_id=offer_id).price == new_price


def test_offer_edit_without_delay_answers_200(seller_client: AllegroClient) -> None:
    offer_id = active_offer(seller_client).id
    edit = offers.patch_product_offer(
        seller_client, offer_id=offer_id, changes=offers.offer_changes(available=7)
    )
    assert edit.completed
    assert edit.offer is not None
    assert edit.offer.available == 7


def test_price_command_report_and_tasks(seller_client: AllegroClient) -> None:
    ids = [o.id for o in offers.list_offers(seller_client, limit=3).offers]
    command_id = str(uuid.uuid4())
    price = Money(amount=Decimal("49.99"), currency="PLN")
    report = offers.change_prices(seller_client, command_id=command_id, offer_ids=ids, price=price)
    assert report.id == command_id
    final = offers.get_command(seller_client, kind="price", command_id=command_id)
    assert final.total == 3
    tasks = list(offers.iter_command_tasks(seller_client, kind="price", command_id=command_id))
    assert sorted(t.offer_id or "" for t in tasks) == sorted(ids)
    with pytest.raises(errors.Conflict):
        offers.change_prices(seller_client, command_id=command_id, offer_ids=ids, price=price)


def test_quantity_and_publication_commands(seller_client: AllegroClient) -> None:
    offer_id = active_offer(seller_client).id
    report = offers.change_quantities(
        seller_client,
        command_id=str(uuid.uuid4()),
        offer_ids=[offer_id],
        change_type="FIXED",
        value=11,
    )
    assert report.id
    assert offers.get_offer_parts(seller_client, offer_id=offer_id).available == 11
    ended = offers.change_publication(
        seller_client, command_id=str(uuid.uuid4()), offer_ids=[offer_id], action="END"
    )
    assert offers.get_command(seller_client, kind="publication", command_id=ended.id).total == 1
    assert offers.get_product_offer(seller_client, offer_id=offer_id).status == "ENDED"


def test_offer_events_cursor(seller_client: AllegroClient) -> None:
    pages = list(offers.iter_offer_event_pages(seller_client, cursor=None, limit=50))
    cursor = pages[-1].cursor
    seen = {e.id for p in pages for e in p.events}
    offer_id = active_offer(seller_client).id
    offers.patch_product_offer(
        seller_client,
        offer_id=offer_id,
        changes=offers.offer_changes(price=Money(amount=Decimal("77.70"), currency="PLN")),
    )
    fresh = [
        e
        for p in offers.iter_offer_event_pages(seller_client, cursor=cursor, limit=50)
        for e in p.events
    ]
    assert fresh
    assert not seen & {e.id for e in fresh}
    assert {e.offer_id for e in fresh} == {offer_id}
    assert "OFFER_PRICE_CHANGED" in {e.type for e in fresh}


# --- orders -----------------------------------------------------------------------------------


def test_iter_checkout_forms_walks_every_page(
    seller_client: AllegroClient, sim: SimulatorProcess
) -> None:
    first = orders.list_checkout_forms(seller_client, limit=1)
    found = list(orders.iter_checkout_forms(seller_client, page_size=15))
    assert len({cf.id for cf in found}) == first.total_count
    assert all(cf.line_items and cf.revision for cf in found)


def test_order_event_cursor_sees_only_new_events(
    seller_client: AllegroClient, sim: SimulatorProcess
) -> None:
    pages = list(orders.iter_order_event_pages(seller_client, cursor=None, limit=5))
    assert len(pages) >= 2
    cursor = pages[-1].cursor
    assert cursor == orders.get_order_event_stats(seller_client).latest_event_id
    seen = {e.id for p in pages for e in p.events}
    bought = sim.control("POST", f"/sellers/{SELLER_ID}/purchases", {"pay": True})
    new = [
        e
        for p in orders.iter_order_event_pages(seller_client, cursor=cursor, limit=25)
        for e in p.events
    ]
    assert new
    assert not seen & {e.id for e in new}
    order_id = bought.get("id") or bought.get("checkoutForm", {}).get("id")
    assert {e.checkout_form_id for e in new} == {order_id}
    assert "READY_FOR_PROCESSING" in {e.type for e in new}


def test_tracking_numbers(seller_client: AllegroClient) -> None:
    carriers = orders.list_carriers(seller_client).carriers
    assert any(c.id == "INPOST" for c in carriers)
    order = orders.list_checkout_forms(seller_client, limit=1).checkout_forms[0]
    created = orders.add_tracking_number(
        seller_client, checkout_form_id=order.id, carrier_id="INPOST", waybill="620000000001"
    )
    assert created.waybill == "620000000001"
    listed = orders.list_tracking_numbers(seller_client, checkout_form_id=order.id)
    assert created.id in {w.id for w in listed.shipments}
    with pytest.raises(errors.ValidationFailed) as caught:
        orders.add_tracking_number(
            seller_client,
            checkout_form_id=order.id,
            carrier_id="INPOST",
            waybill="620000000002",
            line_item_ids=[str(uuid.uuid4())],
        )
    assert caught.value.errors[0].path == "lineItems.id"


def test_checkout_form_is_parsed_once_into_typed_parts(seller_client: AllegroClient) -> None:
    forms = list(orders.iter_checkout_forms(seller_client, page_size=50))
    with_address = [f for f in forms if f.delivery.address is not None]
    assert with_address
    for form in with_address:
        address = form.delivery.address
        assert address is not None
        assert address.raw == form.raw["delivery"]["address"]
        assert address.raw["street"] in address.lines
        assert any(address.raw["city"] in line for line in address.lines)
    for form in forms:
        assert form.buyer.login == form.raw["buyer"]["login"]
        assert form.bought_at == min(li.bought_at for li in form.line_items if li.bought_at)
        assert all(
            li.price is not None and li.price.rounded == li.price.amount for li in form.line_items
        )
