"""The dashboard: what needs doing today per account and in total, and the sync's health.

Counts are checked against rows built here for two accounts (real PostgreSQL), every number's
link against the list it opens, a viewer of one account against the other's numbers, and the
query count against the number of accounts. The dispatch deadline comes from the real order
sync against the simulator.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus, Role
from aftersales.models import Dispute, DisputeMessage, Rating
from aftersales.sync import dispute_turns_refresh
from mirror.models import Resource, SyncState, SyncStatus
from offers.models import Offer
from orders.models import Order
from tests.factories import AllegroAccountFactory, staff_member

pytestmark = pytest.mark.django_db

COUNT = re.compile(
    r'(?:href="(?P<url>[^"]*)" )?data-testid="count-(?P<key>\w+)-(?P<account>\w+)">(?P<n>\d+)<'
)
METRICS = ("to_ship", "overdue", "unpaid", "quarantined", "offers_ended", "ratings", "disputes")


def _since() -> datetime:
    """Midnight at the start of yesterday, in the site's time zone (the dashboard's "since")."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(yesterday, time.min))


def _order(account: Any, **fields: Any) -> Order:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": "READY_FOR_PROCESSING",
        "fulfillment_status": "NEW",
        "bought_at": now - timedelta(days=1),
        "dispatch_by": now + timedelta(days=1),
        "synced_at": now,
    }
    values.update(fields)
    return Order.objects.create(account=account, allegro_id=uuid.uuid4(), **values)


def _offer(account: Any, **fields: Any) -> Offer:
    values: dict[str, Any] = {"name": "Kubek termiczny stalowy", "synced_at": timezone.now()}
    values.update(fields)
    return Offer.objects.create(account=account, allegro_id=str(uuid.uuid4().int)[:12], **values)


def _rating(account: Any, **fields: Any) -> Rating:
    values: dict[str, Any] = {"recommended": False, "synced_at": timezone.now()}
    values.update(fields)
    return Rating.objects.create(account=account, allegro_id=uuid.uuid4().hex, **values)


def _dispute(account: Any, status: str, *roles: str) -> Dispute:
    dispute = Dispute.objects.create(
        account=account,
        allegro_id=uuid.uuid4().hex,
        status=status,
        type="DISPUTE" if status.startswith("DISPUTE") else "CLAIM",
        synced_at=timezone.now(),
    )
    start = timezone.now() - timedelta(days=2)
    for i, role in enumerate(roles):
        DisputeMessage.objects.create(
            account=account,
            dispute=dispute,
            allegro_id=uuid.uuid4().hex,
            author_role=role,
            text=f"wiadomość {i}",
            created_at=start + timedelta(hours=i),
        )
    dispute_turns_refresh(dispute_ids=[dispute.pk])  # as the mirror does with every chat
    return dispute


def _fill(account: Any, *, scale: int) -> dict[str, int]:
    """Rows for each metric, ``scale`` of each counted kind plus rows that must not count;
    returns the expected counts."""
    now, since = timezone.now(), _since()
    for _ in range(scale):
        # to ship: two overdue (deadline passed), one not yet, one without a deadline
        _order(account, fulfillment_status="NEW", dispatch_by=now - timedelta(hours=3))
        _order(account, fulfillment_status="PROCESSING", dispatch_by=now - timedelta(days=2))
        _order(account, fulfillment_status="READY_FOR_SHIPMENT")
        _order(account, fulfillment_status="NEW", dispatch_by=None)
        # unpaid
        _order(account, status="BOUGHT", dispatch_by=now - timedelta(days=1))
        _order(account, status="FILLED_IN")
        # quarantined (already sent: not to ship)
        _order(account, fulfillment_status="SENT", quarantined=True)
        # offers ended or sold out since yesterday
        _offer(account, status="ENDED", stock_available=0, ended_at=since + timedelta(hours=1))
        _offer(account, status="ACTIVE", stock_available=0, allegro_updated_at=now)
        # ratings waiting for an answer
        _rating(account)
        # disputes waiting for the seller: buyer wrote last; an advisor wrote last (a system
        # notice after it does not count); a claim awaiting the decision
        _dispute(account, "DISPUTE_ONGOING", "BUYER", "SELLER", "BUYER")
        _dispute(account, "DISPUTE_ONGOING", "BUYER", "SELLER", "ADMIN", "SYSTEM")
        _dispute(account, "CLAIM_SUBMITTED", "BUYER", "SELLER")
    # none of these count
    _order(account, fulfillment_status="SENT", dispatch_by=now - timedelta(days=5))
    _order(account, fulfillment_status="READY_FOR_PICKUP", dispatch_by=now - timedelta(days=5))
    _order(account, status="CANCELLED", fulfillment_status="CANCELLED")
    target = _order(account, status="FILLED_IN")
    _order(account, status="FILLED_IN", merged_into=target, merged_at=now)
    _order(account, fulfillment_status="NEW", merged_into=target, merged_at=now)
    _offer(account, status="ENDED", stock_available=0, ended_at=since - timedelta(hours=1))
    _offer(account, status="ACTIVE", stock_available=0, allegro_updated_at=since - timedelta(1))
    _offer(account, status="ACTIVE", stock_available=5, allegro_updated_at=now)
    _offer(account, status="INACTIVE", stock_available=0, allegro_updated_at=now)
    _rating(account, recommended=True)
    _rating(account, answer_message="Przepraszamy", answer_created_at=now)
    _rating(account, deleted_at=now)
    _rating(account, removal_requested_at=now, removal_message="Błędna ocena")
    _dispute(account, "DISPUTE_ONGOING", "BUYER", "SELLER")
    _dispute(account, "DISPUTE_CLOSED", "BUYER")
    _dispute(account, "CLAIM_ACCEPTED", "BUYER")
    return {
        "to_ship": 4 * scale,
        "overdue": 2 * scale,
        "unpaid": 2 * scale + 1,  # the merge target is unpaid itself
        "quarantined": scale,
        "offers_ended": 2 * scale,
        "ratings": scale,
        "disputes": 3 * scale,
    }


def _counts(html: str) -> dict[tuple[str, str], tuple[int, str | None]]:
    found = {
        (m["key"], m["account"]): (
            int(m["n"]),
            m["url"].replace("&amp;", "&") if m["url"] else None,
        )
        for m in COUNT.finditer(html)
    }
    assert found, "no counts on the dashboard"
    return found


@pytest.fixture
def two_shops() -> tuple[Any, Any, dict[str, int], dict[str, int]]:
    first = AllegroAccountFactory(login="sklep-pierwszy")
    second = AllegroAccountFactory(login="sklep-drugi")
    return first, second, _fill(first, scale=1), _fill(second, scale=2)


def test_counts_per_account_and_in_total(client_for: Callable[[Any], Any], two_shops: Any) -> None:
    first, second, expected_first, expected_second = two_shops
    staff = staff_member("dora", Role.VIEWER, first, second)
    counts = _counts(client_for(staff).get(reverse("dashboard")).content.decode())
    for key in METRICS:
        assert counts[(key, str(first.pk))][0] == expected_first[key], key
        assert counts[(key, str(second.pk))][0] == expected_second[key], key
        assert counts[(key, "total")][0] == expected_first[key] + expected_second[key], key


def test_a_viewer_of_one_account_never_sees_the_others_numbers(
    client_for: Callable[[Any], Any], two_shops: Any
) -> None:
    first, second, expected_first, _ = two_shops
    client = client_for(staff_member("vera", Role.VIEWER, first))
    html = client.get(reverse("dashboard")).content.decode()
    counts = _counts(html)
    assert {account for _, account in counts} == {str(first.pk)}  # no total of one account
    assert {key: counts[(key, str(first.pk))][0] for key in METRICS} == expected_first
    assert second.login not in html
    assert f'data-account="{second.pk}"' not in html
    # the links carry the account id: swapping in the other account's shows none of its rows
    url = counts[("to_ship", str(first.pk))][1]
    assert url is not None
    other = client.get(url.replace(f"account={first.pk}", f"account={second.pk}"))
    shown = set(re.findall(r'data-order-id="([0-9a-f-]{36})"', other.content.decode()))
    theirs = {
        str(i) for i in Order.objects.filter(account=second).values_list("allegro_id", flat=True)
    }
    assert shown
    assert not shown & theirs


def test_each_number_links_to_a_list_of_exactly_those_rows(
    client_for: Callable[[Any], Any], two_shops: Any
) -> None:
    first, second, _, _ = two_shops
    client = client_for(staff_member("lena", Role.VIEWER, first, second))
    counts = _counts(client.get(reverse("dashboard")).content.decode())
    linked = 0
    for (key, account), (n, url) in counts.items():
        assert url is not None, (key, account)
        html = client.get(f"{url}&per_page=100").content.decode()
        marker = "offer-row" if url.startswith(reverse("offers:index")) else "order-row"
        if url.startswith(reverse("aftersales:index")):
            marker = "inbox-row"
        assert html.count(f'data-testid="{marker}"') == n, (key, account, url)
        linked += 1
    assert linked == 7 * 3  # seven linked metrics, two accounts and the total


def test_sync_health_and_reauthorisation(client_for: Callable[[Any], Any], two_shops: Any) -> None:
    first, second, _, _ = two_shops
    now = timezone.now()
    SyncState.objects.create(
        account=first,
        resource=Resource.ORDER_EVENTS,
        status=SyncStatus.DONE,
        last_success_at=now - timedelta(minutes=3),
    )
    SyncState.objects.create(
        account=first,
        resource=Resource.RATINGS,
        status=SyncStatus.FAILED,
        last_success_at=now - timedelta(hours=5),
        last_error="HTTP 503 od Allegro",
        last_error_at=now - timedelta(minutes=1),
    )
    SyncState.objects.create(
        account=second,
        resource=Resource.ORDERS,
        status=SyncStatus.DONE,
        last_success_at=now - timedelta(days=1),
        last_error="stary błąd",
        last_error_at=now - timedelta(days=2),  # followed by a success: not shown
    )
    type(second).objects.filter(pk=second.pk).update(status=AccountStatus.REAUTH_REQUIRED)
    response = client_for(staff_member("hela", Role.VIEWER, first, second)).get(
        reverse("dashboard")
    )
    board = response.context["board"]
    health = {item.account.pk: item for item in board.health}
    first_res = {r.key: r for r in health[first.pk].resources}
    assert first_res["orders"].last_success_at == now - timedelta(minutes=3)
    assert first_res["ratings"].error == "HTTP 503 od Allegro"
    assert first_res["offers"].last_success_at is None
    assert not health[first.pk].needs_reauth
    second_res = {r.key: r for r in health[second.pk].resources}
    assert second_res["orders"].error == ""
    assert health[second.pk].needs_reauth
    html = response.content.decode()
    assert html.count('data-testid="sync-error"') == 1
    assert html.count('data-testid="reauth-needed"') == 1
    assert "HTTP 503 od Allegro" in html


def test_query_count_does_not_grow_with_accounts(
    client_for: Callable[[Any], Any], django_assert_max_num_queries: Any
) -> None:
    shops = [AllegroAccountFactory() for _ in range(3)]
    for shop in shops:
        _fill(shop, scale=1)
        SyncState.objects.create(account=shop, resource=Resource.ORDERS, status=SyncStatus.DONE)
    one, three = (
        staff_member("ola", Role.VIEWER, shops[0]),
        staff_member("tola", Role.VIEWER, *shops),
    )
    from django.db import connection

    measured = []
    for staff in (one, three):
        client = client_for(staff)
        client.get(reverse("dashboard"))  # session and caches warm
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        measured.append(len(captured))
    assert measured[0] == measured[1], measured
    client = client_for(three)
    with django_assert_max_num_queries(8):
        client.get(reverse("dashboard"))


def test_no_accounts_no_queries_for_counts(client_for: Callable[[Any], Any], user: Any) -> None:
    html = client_for(user).get(reverse("dashboard")).content.decode()
    assert 'data-testid="dashboard-today"' not in html
    assert 'class="empty"' in html


def test_order_sync_stores_allegros_dispatch_window(shop: Any) -> None:
    """The simulator's checkout forms carry ``delivery.time.dispatch``; the sync maps it."""
    orders = list(Order.objects.filter(account=shop))
    assert orders
    for order in orders:
        window = order.raw["delivery"]["time"]["dispatch"]
        assert order.dispatch_by == datetime.fromisoformat(window["to"])
        assert order.dispatch_from == datetime.fromisoformat(window["from"])
        assert order.dispatch_from < order.dispatch_by


def test_a_count_beyond_the_cap_reads_as_a_lower_bound(
    client_for: Callable[[Any], Any],
) -> None:
    from ui.paging import COUNT_CAP

    shop = AllegroAccountFactory()
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            account=shop,
            allegro_id=uuid.uuid4(),
            status="READY_FOR_PROCESSING",
            fulfillment_status="NEW",
            dispatch_by=now + timedelta(days=1),
            synced_at=now,
        )
        for _ in range(COUNT_CAP + 1)
    )
    html = (
        client_for(staff_member("gosia", Role.VIEWER, shop))
        .get(reverse("dashboard"))
        .content.decode()
    )
    assert f'data-testid="count-to_ship-{shop.pk}">{COUNT_CAP}+<' in html
    assert f'data-testid="count-overdue-{shop.pk}">0<' in html
