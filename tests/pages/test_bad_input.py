"""Generated input for every form: never a 500, never a request that breaks Allegro's spec.

The simulator validates every request against the spec; the suite's autouse fixture fails a test
whose traffic produced a violation. Valid examples really reach the simulator (and change it).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.models import Offer
from orders.models import Order

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text a browser could send: any characters but lone surrogates, sometimes near the limits.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=90),
    st.sampled_from(["", " ", "a b c", "Trzy słowa tutaj", "x" * 75, "y " * 40, "\x00abc"]),
)
# Amounts as a Polish user types them: a decimal comma, spaces grouping thousands.
COMMA_NUMBER = st.one_of(
    st.decimals(
        min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
    ).map(lambda d: str(d).replace(".", ",")),
    st.sampled_from(
        [
            "149,50",
            "+2,50",
            "10,5",
            "1 234,50",
            "1\xa0234,5",
            "1.234,50",
            "1,2,3",
            ",5",
            "5,",
            "-0,01",
        ]
    ),
)
# Ids around and beyond PostgreSQL's bigint and Python's int-from-text limits.
HUGE_ID = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**70).map(str),
    st.sampled_from(
        [str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "9" * 5000, "0", "-1", "\uff11", "²"]
    ),
)
NUMBER = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["", "1e5", "0", "-0", "0.001", "99999999.99", "100000000", "NaN", "1,50"]),
    COMMA_NUMBER,
    HUGE_ID,
    TEXT,
)
# Dates at and beyond the calendar's limits, in ISO and in the Polish format.
DATE = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "1998-12-31",
            "2100-01-01",
            "10000-01-01",
            "0000-01-01",
            "31.12.9999",
            "01.01.0001",
            "2024-02-30",
            "99-12-31",
        ]
    ),
    NUMBER,
)


def _writes_ok(sim_stats: Any) -> None:
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 500 for code in statuses), statuses


@SETTINGS
@given(title=TEXT, price=NUMBER, stock=NUMBER, confirm=st.booleans())
def test_offer_edit_form(
    client_for: Any,
    manager: Any,
    shop: Any,
    sim_stats: Any,
    title: str,
    price: str,
    stock: str,
    confirm: bool,
) -> None:
    offer = Offer.objects.filter(account=shop).order_by("id")[1]
    data = {"title": title, "price": price, "stock": stock}
    if confirm:
        data["confirm_end"] = "on"
    response = client_for(manager).post(reverse("offers:edit", args=[offer.pk]), data)
    assert response.status_code in (302, 422)
    _writes_ok(sim_stats)


@SETTINGS
@given(action=st.one_of(st.sampled_from(["ACTIVATE", "END"]), TEXT))
def test_offer_publication_form(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any, action: str
) -> None:
    offer = Offer.objects.filter(account=shop).order_by("id")[2]
    response = client_for(manager).post(
        reverse("offers:publication", args=[offer.pk]), {"action": action}
    )
    assert response.status_code in (200, 302)  # 200: ending a live offer asks first
    _writes_ok(sim_stats)


ACTIONS = st.sampled_from(
    [
        "price_set",
        "price_increase",
        "price_decrease",
        "price_increase_pct",
        "price_decrease_pct",
        "stock_set",
        "stock_add",
        "activate",
        "end",
        "bogus",
    ]
)


@SETTINGS
@given(
    action=ACTIONS,
    value=NUMBER,
    picks=st.lists(st.integers(min_value=0, max_value=70), max_size=5),
    junk=st.lists(st.one_of(TEXT, HUGE_ID), max_size=2),
    all_matching=st.booleans(),
    filters=TEXT,
)
def test_offer_bulk_form(
    client_for: Any,
    manager: Any,
    shop: Any,
    sim_stats: Any,
    eager_tasks: None,
    action: str,
    value: str,
    picks: list[int],
    junk: list[str],
    all_matching: bool,
    filters: str,
) -> None:
    pks = list(Offer.objects.filter(account=shop).order_by("id").values_list("pk", flat=True))
    chosen = [str(pks[i]) for i in picks if i < len(pks)] + junk
    data: dict[str, Any] = {"action": action, "value": value, "offers": chosen}
    if all_matching:
        data.update(all_matching="on", filters=filters[:50])
    response = client_for(manager).post(reverse("offers:bulk"), data)
    # 302: the job started; 422: the list again, with the errors; 200: "end" asks first.
    assert response.status_code in (200, 302, 422)
    if response.status_code == 200:
        assert action == "end"
        assert b'name="confirm"' in response.content
    _writes_ok(sim_stats)


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "account",
                "status",
                "marketplace",
                "price_min",
                "price_max",
                "out_of_stock",
                "no_product",
                "sort",
                "per_page",
                "page",
            ]
        ),
        NUMBER,
        max_size=6,
    )
)
def test_offer_list_filters(client_for: Any, viewer: Any, shop: Any, params: dict) -> None:
    assert client_for(viewer).get(reverse("offers:index"), params).status_code == 200


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "account",
                "status",
                "fulfillment",
                "marketplace",
                "delivery",
                "no_tracking",
                "quarantined",
                "merged",
                "sort",
                "per_page",
                "page",
            ]
        ),
        NUMBER,
        max_size=5,
    ),
    bought_from=st.one_of(st.none(), DATE),
    bought_to=st.one_of(st.none(), DATE),
)
def test_order_list_filters(
    client_for: Any,
    viewer: Any,
    shop: Any,
    params: dict,
    bought_from: str | None,
    bought_to: str | None,
) -> None:
    dates = {"bought_from": bought_from, "bought_to": bought_to}
    params.update({k: v for k, v in dates.items() if v is not None})
    assert client_for(viewer).get(reverse("orders:index"), params).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"bought_to": "9999-12-31"},
        {"bought_from": "0001-01-01"},
        {"bought_from": "0001-01-01", "bought_to": "9999-12-31"},
        {"bought_to": "31.12.9999"},
    ],
)
def test_order_filter_dates_at_the_calendar_limits_are_field_errors(
    client_for: Any, viewer: Any, shop: Any, params: dict[str, str]
) -> None:
    """Reported on the field (not clamped: the filter is ignored and the list shown whole)."""
    response = client_for(viewer).get(reverse("orders:index"), params)
    assert response.status_code == 200
    assert "Podaj datę od 01-01-1999 do 31-12-2099." in response.content.decode()
    total = Order.objects.filter(account=shop).count()
    assert response.context["page"].paginator.count == total


@pytest.mark.parametrize("pk", [str(2**63 - 1), str(2**63), "9" * 30])
@pytest.mark.parametrize("name", ["offers:detail", "orders:detail"])
def test_ids_beyond_64_bits_in_the_url_are_not_found(
    client_for: Any, viewer: Any, shop: Any, name: str, pk: str
) -> None:
    url = reverse(name, args=[1]).replace("/1/", f"/{pk}/")
    assert client_for(viewer).get(url).status_code == 404


@pytest.mark.parametrize("huge", [str(2**63), str(2**64), "9" * 30])
def test_bulk_forms_refuse_ids_beyond_64_bits(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any, huge: str
) -> None:
    sim_stats(clear=True)
    offer = Offer.objects.filter(account=shop).order_by("id")[0]
    client = client_for(manager)
    response = client.post(
        reverse("offers:bulk"),
        {"action": "price_set", "value": "10,00", "offers": [str(offer.pk), huge]},
        follow=True,
    )
    assert response.status_code in (200, 422)
    assert huge in response.content.decode()  # "… is not one of the available choices"
    order = Order.objects.filter(account=shop).order_by("id")[0]
    response = client.post(
        reverse("orders:bulk_fulfillment"),
        {"status": "PROCESSING", "orders": [str(order.pk), huge]},
        follow=True,
    )
    assert response.status_code in (200, 422)
    assert huge in response.content.decode()
    assert not sim_stats()["statuses"], "nothing may reach Allegro"


STATUSES = st.one_of(
    st.sampled_from(
        ["NEW", "PROCESSING", "READY_FOR_SHIPMENT", "SENT", "RETURNED", "CANCELLED", "SUSPENDED"]
    ),
    TEXT,
)


@SETTINGS
@given(status=STATUSES, revision=st.one_of(TEXT, st.just("")), use_current=st.booleans())
def test_fulfillment_form(
    client_for: Any,
    operator: Any,
    shop: Any,
    sim_stats: Any,
    status: str,
    revision: str,
    use_current: bool,
) -> None:
    order = Order.objects.filter(account=shop).order_by("id")[0]
    data = {"status": status, "revision": order.revision if use_current else revision}
    response = client_for(operator).post(reverse("orders:fulfillment", args=[order.pk]), data)
    assert response.status_code in (302, 409, 422)
    _writes_ok(sim_stats)


@SETTINGS
@given(
    carrier=st.one_of(st.sampled_from(["DPD", "OTHER", "INPOST", "ALLEGRO"]), TEXT),
    carrier_name=TEXT,
    waybill=TEXT,
    lines=st.lists(st.one_of(st.integers(min_value=0, max_value=3), TEXT), max_size=3),
    set_sent=st.booleans(),
)
def test_tracking_form(
    client_for: Any,
    operator: Any,
    shop: Any,
    sim_stats: Any,
    carrier: str,
    carrier_name: str,
    waybill: str,
    lines: list,
    set_sent: bool,
) -> None:
    order = Order.objects.filter(account=shop, status="READY_FOR_PROCESSING").order_by("id")[1]
    ids = [str(li) for li in order.line_items.values_list("allegro_id", flat=True)]
    chosen = [ids[x] if isinstance(x, int) and x < len(ids) else str(x) for x in lines]
    data: dict[str, Any] = {
        "carrier": carrier,
        "carrier_name": carrier_name,
        "waybill": waybill,
        "line_items": chosen,
    }
    if set_sent:
        data["set_sent"] = "on"
    response = client_for(operator).post(reverse("orders:tracking", args=[order.pk]), data)
    assert response.status_code in (302, 409, 422)
    _writes_ok(sim_stats)


@SETTINGS
@given(status=STATUSES, picks=st.lists(st.one_of(st.integers(0, 50), TEXT), max_size=4))
def test_bulk_fulfillment_form(
    client_for: Any, operator: Any, shop: Any, sim_stats: Any, status: str, picks: list
) -> None:
    pks = list(Order.objects.filter(account=shop).order_by("id").values_list("pk", flat=True))
    chosen = [str(pks[x]) if isinstance(x, int) and x < len(pks) else str(x) for x in picks]
    response = client_for(operator).post(
        reverse("orders:bulk_fulfillment"), {"status": status, "orders": chosen}
    )
    assert response.status_code in (200, 302, 422)
    _writes_ok(sim_stats)
