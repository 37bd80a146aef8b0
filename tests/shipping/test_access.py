"""Every shipping view for granted operators, viewers, other accounts' staff and anonymous
visitors; the queue's and the shipments list's query counts do not grow with their rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jobs.models import Job
from shipping.models import Shipment, ShipmentPackage, ShipmentStatus
from shipping.selectors import QueueQuery, queue_orders
from shipping.services import shipments_bulk_create_start

pytestmark = pytest.mark.django_db


def _queued(shop: Any) -> Any:
    return queue_orders(query=QueueQuery(accounts=[shop])).first()


def test_permission_matrix(
    client: Any, client_for: Any, operator: Any, viewer: Any, outsider: Any, shop: Any
) -> None:
    order = _queued(shop)
    assert order is not None
    job = shipments_bulk_create_start(user=operator, orders=[order])  # no worker: it waits
    Job.objects.filter(pk=job.pk).update(status="done")
    urls = {
        "index": reverse("shipping:index"),
        "shipments": reverse("shipping:index") + "?tab=shipments",
        "order": reverse("shipping:order", args=[order.pk]),
        "create": reverse("shipping:create", args=[order.pk]),
        "job": reverse("shipping:job", args=[job.pk]),
    }
    # anonymous: sign in first
    for url in [*urls.values(), reverse("shipping:bulk_create")]:
        response = client.get(url)
        assert response.status_code in (302, 405), url
        if response.status_code == 302:
            assert "/login/" in response["Location"] or "/accounts/" in response["Location"]
    # an operator of the account sees everything and may create
    ops = client_for(operator)
    for name, url in urls.items():
        assert ops.get(url).status_code == 200, name
    assert 'data-testid="create-shipment"' in ops.get(urls["order"]).content.decode()
    assert ops.post(reverse("shipping:bulk_create"), {"orders": [order.pk]}).status_code == 200
    # a viewer reads, never creates
    views = client_for(viewer)
    for name in ("index", "shipments", "order"):
        assert views.get(urls[name]).status_code == 200, name
    page = views.get(urls["index"]).content.decode()
    assert 'data-testid="bulk-create-form"' not in page
    assert views.get(urls["create"]).status_code == 403
    assert views.post(urls["create"], {"preset": "custom"}).status_code == 403
    assert views.get(urls["job"]).status_code == 404  # another person's job
    views.post(reverse("shipping:bulk_create"), {"orders": [order.pk], "confirm": "1"})
    assert Job.objects.count() == 1
    # staff of another account: 404 for this account's things, an empty queue
    other = client_for(outsider)
    for name in ("order", "create", "job"):
        assert other.get(urls[name]).status_code == 404, name
    assert str(order.allegro_id) not in other.get(urls["index"]).content.decode()
    other.post(reverse("shipping:bulk_create"), {"orders": [order.pk], "confirm": "1"})
    assert Job.objects.count() == 1


def _make_shipments(shop: Any, n: int) -> None:
    orders = list(queue_orders(query=QueueQuery(accounts=[shop]))[:n])
    for i, order in enumerate(orders):
        shipment = Shipment.objects.create(
            account=shop,
            order=order,
            status=ShipmentStatus.CREATED,
            carrier="INPOST",
            allegro_id=f"s-{i}",
        )
        ShipmentPackage.objects.create(
            shipment=shipment,
            length_cm=64,
            width_cm=38,
            height_cm=8,
            weight_kg=1,
            waybill=f"6{i:023d}",
        )


def test_query_counts_do_not_grow_with_rows(
    client_for: Any, operator: Any, shops: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(operator)
    with django_assert_max_num_queries(14):
        queue_page = client.get(reverse("shipping:index"))
    assert queue_page.content.decode().count('data-testid="queue-row"') > 5
    _make_shipments(shops[0], 4)
    _make_shipments(shops[1], 4)
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("shipping:index") + "?tab=shipments&label=no&pickup=no")
    assert listing.content.decode().count('data-testid="shipment-row"') == 8
    with django_assert_max_num_queries(14):
        client.get(reverse("shipping:index") + "?deadline=overdue&carrier=INPOST")
