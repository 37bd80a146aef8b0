"""The order pages against the simulator: list (filters, search, sort, total, constant queries),
detail, fulfillment with revision and the 409 conflict screen, tracking numbers (carriers cached,
OTHER + name, chosen lines, SENT in the same action), bulk fulfillment with per-order results."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry
from orders.models import Order

pytestmark = pytest.mark.django_db


def _rows(html: str) -> int:
    return html.count('data-testid="order-row"')


def _paid(shop: Any, n: int = 1) -> list[Order]:
    return list(
        Order.objects.filter(account=shop, status="READY_FOR_PROCESSING")
        .exclude(fulfillment_status__in=["SENT", "CANCELLED", "PICKED_UP"])
        .order_by("id")[:n]
    )


def _allegro(api: Any, order: Order) -> dict[str, Any]:
    response = api.get(f"/order/checkout-forms/{order.allegro_id}")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_list_filters_search_and_total(client_for: Any, viewer: Any, shop: Any) -> None:
    client = client_for(viewer)
    total = Order.objects.filter(account=shop).count()
    html = client.get(reverse("orders:index"), {"per_page": 100}).content.decode()
    assert _rows(html) == total
    assert 'data-testid="order-total"' in html

    new = Order.objects.filter(account=shop, fulfillment_status="NEW").count()
    html = client.get(reverse("orders:index"), {"fulfillment": "NEW", "per_page": 100}).content
    assert _rows(html.decode()) == new

    untracked = Order.objects.filter(account=shop, line_items_sent__in=["", "NONE"]).count()
    html = client.get(reverse("orders:index"), {"no_tracking": "on", "per_page": 100}).content
    assert _rows(html.decode()) == untracked

    order = Order.objects.filter(account=shop).exclude(buyer_login="").order_by("id")[0]
    by_login = client.get(reverse("orders:index"), {"q": order.buyer_login}).content.decode()
    assert str(order.allegro_id) in by_login
    by_id = client.get(reverse("orders:index"), {"q": str(order.allegro_id)}).content.decode()
    assert _rows(by_id) == 1
    line = order.line_items.first()
    by_title = client.get(
        reverse("orders:index"), {"q": line.offer_name[:20], "per_page": 100}
    ).content.decode()
    assert str(order.allegro_id) in by_title
    by_email = client.get(reverse("orders:index"), {"q": order.buyer_email.upper()}).content
    assert str(order.allegro_id) in by_email.decode()

    oldest = Order.objects.filter(account=shop).order_by("bought_at", "id").first()
    html = client.get(reverse("orders:index"), {"sort": "bought", "per_page": 25}).content.decode()
    assert str(oldest.allegro_id) in html.split('data-testid="order-row"')[1]

    partial = client.get(reverse("orders:index"), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="order-rows">')
    assert 'data-testid="order-filters"' not in partial
    bad = client.get(reverse("orders:index"), {"bought_from": "31.02.2020", "fulfillment": "X"})
    assert bad.status_code == 200


@pytest.mark.parametrize("per_page", [25, 100])
def test_list_and_detail_queries_are_bounded(
    client_for: Any, operator: Any, shop: Any, per_page: int, django_assert_max_num_queries: Any
) -> None:
    client = client_for(operator)
    client.get(reverse("orders:index"))
    # session, user, accounts with roles, search (waybills, exact hits), count, page (lines and
    # waybills are subqueries of it), switcher: the same whatever the page size
    with django_assert_max_num_queries(8):
        response = client.get(reverse("orders:index"), {"per_page": per_page, "q": "a"})
    assert response.status_code == 200
    order = Order.objects.filter(account=shop).order_by("-id").first()
    client.get(reverse("orders:detail", args=[order.pk]))  # carriers cached from here on
    # session, user, order with role, lines with offer links, waybills, events, trail, switcher
    with django_assert_max_num_queries(8):
        assert client.get(reverse("orders:detail", args=[order.pk])).status_code == 200


def test_detail_shows_what_a_packer_needs(client_for: Any, viewer: Any, shop: Any) -> None:
    order = Order.objects.filter(account=shop, status="READY_FOR_PROCESSING").order_by("id")[0]
    html = client_for(viewer).get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert order.buyer_login in html
    for line in order.line_items.all():
        assert line.offer_name in html
    assert 'data-testid="line-items"' in html
    # the line items link to the mirrored offers
    assert reverse("offers:index") in html


def test_fulfillment_change_with_revision(
    client_for: Any, operator: Any, shop: Any, api: Any
) -> None:
    order = _paid(shop)[0]
    target = "PROCESSING" if order.fulfillment_status != "PROCESSING" else "READY_FOR_SHIPMENT"
    response = client_for(operator).post(
        reverse("orders:fulfillment", args=[order.pk]),
        {"status": target, "revision": order.revision},
    )
    assert response.status_code == 302
    assert _allegro(api, order)["fulfillment"]["status"] == target
    old_revision = order.revision
    order.refresh_from_db()
    assert order.fulfillment_status == target
    assert order.revision != old_revision
    entry = AuditLogEntry.objects.get(action="order.fulfillment_changed")
    assert entry.allegro_trace_id
    assert entry.actor_id == operator.pk


def test_revision_conflict_shows_changes_and_overwrites_nothing(
    client_for: Any, operator: Any, shop: Any, api: Any, sim: Any
) -> None:
    order = _paid(shop)[0]
    loaded_revision = order.revision
    sim.control(
        "POST",
        f"/orders/{order.allegro_id}/modification",
        {"fulfillmentStatus": "SUSPENDED"},
    )
    client = client_for(operator)
    response = client.post(
        reverse("orders:fulfillment", args=[order.pk]),
        {"status": "SENT", "revision": loaded_revision},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict-changes"' in html
    assert "fulfillment.status" in html
    assert "SUSPENDED" in html
    assert _allegro(api, order)["fulfillment"]["status"] == "SUSPENDED"
    order.refresh_from_db()
    assert order.fulfillment_status == "SUSPENDED"
    assert order.revision != loaded_revision
    assert AuditLogEntry.objects.filter(action="order.fulfillment_conflict").exists()
    # re-apply on the current revision
    response = client.post(
        reverse("orders:fulfillment", args=[order.pk]),
        {"status": "SENT", "revision": order.revision},
    )
    assert response.status_code == 302
    assert _allegro(api, order)["fulfillment"]["status"] == "SENT"


def test_tracking_number_with_other_carrier_on_chosen_lines_and_sent(
    client_for: Any, operator: Any, shop: Any, api: Any, sim_stats: Any
) -> None:
    order = _paid(shop)[0]
    lines = list(order.line_items.all())
    client = client_for(operator)
    client.get(reverse("orders:detail", args=[order.pk]))
    sim_stats(clear=True)
    client.get(reverse("orders:detail", args=[order.pk]))
    assert "GET /order/carriers" not in sim_stats()["paths"]  # cached
    # OTHER needs a name, at most 30 characters; waybill at most 64 — checked before sending
    for bad in (
        {"carrier": "OTHER", "waybill": "AB123"},
        {"carrier": "OTHER", "carrier_name": "x" * 31, "waybill": "AB123"},
        {"carrier": "DPD", "waybill": "W" * 65},
        {"carrier": "NOPE", "waybill": "AB123"},
    ):
        assert client.post(reverse("orders:tracking", args=[order.pk]), bad).status_code == 422
    assert not any(k.startswith("POST") for k in sim_stats()["paths"])
    response = client.post(
        reverse("orders:tracking", args=[order.pk]),
        {
            "carrier": "OTHER",
            "carrier_name": "Kurier Zenek",
            "waybill": "ZEN-0001",
            "line_items": [str(lines[0].allegro_id)],
            "set_sent": "on",
            "revision": order.revision,
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    shipments = api.get(f"/order/checkout-forms/{order.allegro_id}/shipments").json()["shipments"]
    assert [(s["waybill"], s["carrierId"], s.get("carrierName")) for s in shipments] == [
        ("ZEN-0001", "OTHER", "Kurier Zenek")
    ]
    assert [li["id"] for li in shipments[0]["lineItems"]] == [str(lines[0].allegro_id)]
    assert _allegro(api, order)["fulfillment"]["status"] == "SENT"
    order.refresh_from_db()
    assert order.fulfillment_status == "SENT"
    assert list(order.tracking_numbers.values_list("waybill", flat=True)) == ["ZEN-0001"]


def test_bulk_fulfillment_reports_each_order(
    client_for: Any, operator: Any, shop: Any, api: Any, sim: Any
) -> None:
    orders = _paid(shop, 3)
    sim.control("POST", f"/orders/{orders[2].allegro_id}/modification", {"note": "zmiana"})
    response = client_for(operator).post(
        reverse("orders:bulk_fulfillment"),
        {"status": "READY_FOR_SHIPMENT", "orders": [o.pk for o in orders], "confirm": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-state="done"') == 2
    assert html.count('data-state="conflict"') == 1
    assert _allegro(api, orders[0])["fulfillment"]["status"] == "READY_FOR_SHIPMENT"
    assert _allegro(api, orders[2])["fulfillment"]["status"] != "READY_FOR_SHIPMENT"


def test_tracking_with_sent_on_an_order_changed_meanwhile_does_not_set_sent(
    client_for: Any, operator: Any, shop: Any, api: Any, sim: Any
) -> None:
    order = _paid(shop)[0]
    before = _allegro(api, order)["fulfillment"]["status"]
    sim.control(
        "POST", f"/orders/{order.allegro_id}/modification", {"note": "Proszę o szybką wysyłkę"}
    )
    response = client_for(operator).post(
        reverse("orders:tracking", args=[order.pk]),
        {"carrier": "INPOST", "waybill": "IP-42", "set_sent": "on", "revision": order.revision},
    )
    assert response.status_code == 409
    assert 'data-testid="conflict-changes"' in response.content.decode()
    doc = _allegro(api, order)
    assert doc["fulfillment"]["status"] == before
    assert doc["fulfillment"]["shipmentSummary"]["lineItemsSent"] == "ALL"
    order.refresh_from_db()
    assert order.revision == doc["revision"]


def test_detail_still_opens_when_allegro_cannot_be_asked_for_carriers(
    client_for: Any, operator: Any, shop: Any, django_assert_max_num_queries: Any
) -> None:
    from accounts.models import AccountStatus

    shop.status = AccountStatus.REAUTH_REQUIRED
    shop.save(update_fields=["status"])
    order = _paid(shop)[0]
    client = client_for(operator)
    first = client.get(reverse("orders:detail", args=[order.pk]))
    assert first.status_code == 200
    assert first.context["carriers_problem"]
    with django_assert_max_num_queries(8):
        again = client.get(reverse("orders:detail", args=[order.pk]))
    assert again.context["carriers_problem"] == first.context["carriers_problem"]
