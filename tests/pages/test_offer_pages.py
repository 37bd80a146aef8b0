"""The offer pages against the simulator: list (search, filters, sort, paging, HTMX partial,
constant queries), edit (422 on the field its path names, 202 → operation → done, audit),
activate / end, bulk commands (split per 1000 — here per 20 —, per-offer report, CSV, rerun)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry
from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from offers.models import Offer
from offers.services import bulk_job_chunks, bulk_job_create, bulk_job_rows

pytestmark = pytest.mark.django_db


def _rows(html: str) -> int:
    return html.count('data-testid="offer-row"')


def test_list_search_filters_sort_and_paging(client_for: Any, manager: Any, shop: Any) -> None:
    client = client_for(manager)
    offers = list(Offer.objects.filter(account=shop).order_by("id"))
    assert len(offers) == 60
    html = client.get(reverse("offers:index")).content.decode()
    assert "60 ofert" in html or "60 offers" in html
    assert _rows(html) == 50  # default page size
    page2 = client.get(reverse("offers:index"), {"page": 2}).content.decode()
    assert _rows(page2) == 10

    target = offers[7]
    by_title = client.get(reverse("offers:index"), {"q": target.name[:25]}).content.decode()
    assert target.allegro_id in by_title
    by_id = client.get(reverse("offers:index"), {"q": target.allegro_id}).content.decode()
    assert _rows(by_id) == 1
    assert target.allegro_id in by_id
    if target.external_id:
        by_sku = client.get(reverse("offers:index"), {"q": target.external_id}).content.decode()
        assert target.allegro_id in by_sku
    Offer.objects.filter(pk=target.pk).update(ean="5901234123457")
    by_ean = client.get(reverse("offers:index"), {"q": "5901234123457"}).content.decode()
    assert _rows(by_ean) == 1

    active = Offer.objects.filter(account=shop, status="ACTIVE").count()
    html = client.get(
        reverse("offers:index"), {"status": "ACTIVE", "per_page": 100}
    ).content.decode()
    assert _rows(html) == active

    cheap = Offer.objects.filter(account=shop, price_amount__lte=Decimal("50")).count()
    html = client.get(
        reverse("offers:index"), {"price_max": "50", "per_page": 100}
    ).content.decode()
    assert _rows(html) == cheap

    Offer.objects.filter(pk=offers[0].pk).update(stock_available=0, product_linked=False)
    html = client.get(reverse("offers:index"), {"out_of_stock": "on"}).content.decode()
    assert offers[0].allegro_id in html
    assert _rows(html) == Offer.objects.filter(account=shop, stock_available__lte=0).count()
    html = client.get(reverse("offers:index"), {"no_product": "on"}).content.decode()
    assert _rows(html) == Offer.objects.filter(account=shop, product_linked=False).count()

    html = client.get(reverse("offers:index"), {"sort": "-price", "per_page": 25}).content.decode()
    top = Offer.objects.filter(account=shop).order_by("-price_amount", "-id").first()
    assert html.index(top.allegro_id) < html.index("</tbody>")
    first_row = html.split('data-testid="offer-row"')[1]
    assert top.allegro_id in first_row

    # bad values are reported, never a 500, and the rest of the filters still apply
    response = client.get(reverse("offers:index"), {"price_min": "abc", "status": "NOPE"})
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()


def test_htmx_gets_only_the_rows_partial(client_for: Any, viewer: Any, shop: Any) -> None:
    client = client_for(viewer)
    full = client.get(reverse("offers:index")).content.decode()
    partial = client.get(reverse("offers:index"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in full
    assert 'id="offer-filters"' not in partial
    assert partial.lstrip().startswith('<div id="offer-rows">')
    assert "<html" not in partial
    assert 'data-testid="offer-filters"' not in partial
    # a viewer has no bulk bar and no selection checkboxes
    assert 'data-testid="bulk-form"' not in full
    assert 'data-testid="offer-select"' not in full


@pytest.mark.parametrize("per_page", [25, 100])
def test_list_and_detail_queries_are_bounded(
    client_for: Any, manager: Any, shop: Any, per_page: int, django_assert_max_num_queries: Any
) -> None:
    client = client_for(manager)
    client.get(reverse("offers:index"))  # session, locale warm-up
    # session, user, accounts with roles, count, page, switcher
    with django_assert_max_num_queries(6):
        response = client.get(
            reverse("offers:index"), {"per_page": per_page, "q": "a", "sort": "price"}
        )
    assert response.status_code == 200
    offer = Offer.objects.filter(account=shop).first()
    # session, user, offer with role, audit trail, switcher
    with django_assert_max_num_queries(5):
        assert client.get(reverse("offers:detail", args=[offer.pk])).status_code == 200


def _active(shop: Any) -> Offer:
    return Offer.objects.filter(account=shop, status="ACTIVE", stock_available__gt=0).order_by(
        "id"
    )[0]


def _read_back(api: Any, allegro_id: str) -> dict[str, Any]:
    response = api.get(f"/sale/product-offers/{allegro_id}")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_edit_saves_on_allegro_updates_mirror_and_audits(
    client_for: Any, manager: Any, shop: Any, api: Any
) -> None:
    client = client_for(manager)
    offer = _active(shop)
    title = "Solidny stalowy młotek warsztatowy 500 g"
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": title, "price": "77.70", "stock": offer.stock_available + 3},
    )
    assert response.status_code == 302
    doc = _read_back(api, offer.allegro_id)
    assert doc["name"] == title
    assert doc["sellingMode"]["price"]["amount"] == "77.70"
    assert doc["stock"]["available"] == offer.stock_available + 3
    before_stock = offer.stock_available
    offer.refresh_from_db()
    assert (offer.name, offer.price_amount, offer.stock_available) == (
        title,
        Decimal("77.70"),
        before_stock + 3,
    )
    entry = AuditLogEntry.objects.get(action="offer.edited", target=f"offer:{offer.allegro_id}")
    assert entry.actor_id == manager.pk
    assert entry.allegro_trace_id
    assert entry.before["price"] != entry.after["price"] == "77.70"


def test_form_limits_stop_bad_titles_before_allegro(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any
) -> None:
    client = client_for(manager)
    offer = _active(shop)
    sim_stats(clear=True)
    for bad in ("Za krótki", "Dwa słowadługiesłowo", "x" * 76, "a b " + "c" * 72):
        response = client.post(
            reverse("offers:edit", args=[offer.pk]),
            {"title": bad, "price": "10.00", "stock": 5},
        )
        assert response.status_code == 422
        assert 'data-testid="title-errors"' in response.content.decode()
    assert not any(k.startswith("PATCH") for k in sim_stats()["paths"])


def test_stock_zero_on_an_active_offer_asks_first(
    client_for: Any, manager: Any, shop: Any, api: Any
) -> None:
    client = client_for(manager)
    offer = _active(shop)
    data = {"title": offer.name, "price": str(offer.price_amount), "stock": 0}
    response = client.post(reverse("offers:edit", args=[offer.pk]), data)
    assert response.status_code == 422
    assert 'data-testid="confirm-end"' in response.content.decode()
    assert _read_back(api, offer.allegro_id)["stock"]["available"] == offer.stock_available
    response = client.post(reverse("offers:edit", args=[offer.pk]), {**data, "confirm_end": "on"})
    assert response.status_code == 302
    assert _read_back(api, offer.allegro_id)["publication"]["status"] == "ENDED"
    offer.refresh_from_db()
    assert offer.status == "ENDED"
    assert offer.stock_available == 0


def test_allegro_422_lands_on_the_field_its_path_names(
    client_for: Any, manager: Any, shop: Any
) -> None:
    """A stale mirror currency: the form is fine, Allegro refuses ``sellingMode.price.currency``."""
    client = client_for(manager)
    offer = _active(shop)
    Offer.objects.filter(pk=offer.pk).update(price_currency="EUR")
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": offer.name, "price": "12.00", "stock": offer.stock_available},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="price-errors"' in html
    assert 'data-testid="title-errors"' not in html
    assert AuditLogEntry.objects.filter(action="offer.edit_failed").exists()


def test_asynchronous_edit_202_operation_then_done(
    client_for: Any, manager: Any, shop: Any, sim: Any, api: Any
) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 30})
    client = client_for(manager)
    offer = _active(shop)
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": offer.name, "price": "55.55", "stock": offer.stock_available},
    )
    assert response.status_code == 302
    operation_url = response["Location"]
    assert "/operations/" in operation_url
    pending = client.get(operation_url)
    assert pending.status_code == 200
    assert 'data-state="pending"' in pending.content.decode()
    partial = client.get(operation_url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="operation-status"')
    offer.refresh_from_db()
    assert offer.price_amount != Decimal("55.55")  # the mirror waits for Allegro's answer
    sim.control("POST", "/clock", {"advance": 31})
    assert job_run(operation_url.rstrip("/").split("/")[-1]) == JobStatus.DONE  # the job's task
    done = client.get(operation_url)
    assert done.status_code == 302
    assert done["Location"] == reverse("offers:detail", args=[offer.pk])
    offer.refresh_from_db()
    assert offer.price_amount == Decimal("55.55")
    assert _read_back(api, offer.allegro_id)["sellingMode"]["price"]["amount"] == "55.55"
    actions = list(
        AuditLogEntry.objects.filter(target=f"offer:{offer.allegro_id}")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["offer.edit_requested", "offer.edited"]
    # polling again after completion is harmless
    assert client.get(operation_url).status_code == 302
    assert AuditLogEntry.objects.filter(target=f"offer:{offer.allegro_id}").count() == 2


def test_end_and_activate(client_for: Any, manager: Any, shop: Any, api: Any) -> None:
    client = client_for(manager)
    offer = _active(shop)
    response = client.post(
        reverse("offers:publication", args=[offer.pk]), {"action": "END", "confirm": "1"}
    )
    assert response.status_code == 302
    assert _read_back(api, offer.allegro_id)["publication"]["status"] == "ENDED"
    offer.refresh_from_db()
    assert offer.status == "ENDED"
    client.post(reverse("offers:publication", args=[offer.pk]), {"action": "ACTIVATE"})
    assert _read_back(api, offer.allegro_id)["publication"]["status"] in ("ACTIVE", "ACTIVATING")
    assert AuditLogEntry.objects.filter(action="offer.ended", target=f"offer:{offer.allegro_id}")


def test_bulk_price_split_into_commands_with_report_and_csv(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any, api: Any
) -> None:
    offers = list(Offer.objects.filter(account=shop).order_by("id")[:50])
    job = bulk_job_create(
        actor=manager,
        offers=offers,
        action="price_increase_pct",
        value=Decimal("10"),
        chunk_size=20,
    )
    assert [len(c.ids) for c in bulk_job_chunks(job=job)] == [20, 20, 10]
    sim_stats(clear=True)
    assert job_run(str(job.pk)) == JobStatus.DONE
    assert sim_stats()["paths"]["PUT /sale/offer-price-change-commands/{commandId}"] == 3
    statuses = {r["offer_id"]: r["status"] for r in bulk_job_rows(job=job)}
    assert len(statuses) == 50
    assert set(statuses.values()) == {"SUCCESS"}
    sample = offers[0]
    expected = (sample.price_amount * Decimal("1.10")).quantize(Decimal("0.01"))
    assert Decimal(_read_back(api, sample.allegro_id)["sellingMode"]["price"]["amount"]) == expected
    sample.refresh_from_db()
    assert sample.price_amount == expected  # mirror refreshed from Allegro
    assert AuditLogEntry.objects.filter(action="offers.bulk.price_increase_pct").count() == 3

    client = client_for(manager)
    page = client.get(reverse("offers:bulk_job", args=[job.pk])).content.decode()
    assert page.count('data-testid="bulk-row"') == 50
    report = client.get(reverse("offers:bulk_job_csv", args=[job.pk]))
    # Polish interface: Polish headers and results, semicolons (the decimal separator is a comma)
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 50
    assert {r["Wynik"] for r in rows} == {"Udało się"}

    # running the job again (a redelivered task) sends nothing new
    sim_stats(clear=True)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)  # as if it never finished
    assert job_run(str(job.pk)) == JobStatus.DONE
    assert not any(k.startswith("PUT") for k in sim_stats()["paths"])


def test_bulk_reports_per_offer_failures_and_survives_a_resend(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any
) -> None:
    client = client_for(manager)
    offers = list(Offer.objects.filter(account=shop, status="ACTIVE").order_by("id")[:4])
    # two of them lose their stock on Allegro: activating them must fail
    for offer in offers[:2]:
        client.post(
            reverse("offers:edit", args=[offer.pk]),
            {
                "title": offer.name,
                "price": str(offer.price_amount),
                "stock": 0,
                "confirm_end": "on",
            },
        )
    for offer in offers[2:]:
        client.post(
            reverse("offers:publication", args=[offer.pk]), {"action": "END", "confirm": "1"}
        )
    job = bulk_job_create(actor=manager, offers=offers, action="activate", value=None)
    # a worker died after sending the command: the rerun gets 409 and reads the outcome
    from accounts.services import allegro_client_for
    from allegro.api import offers as offers_api

    chunk = bulk_job_chunks(job=job)[0]
    offers_api.change_publication(
        allegro_client_for(account=shop),
        command_id=chunk.command_id,
        offer_ids=chunk.ids,
        action="ACTIVATE",
    )
    assert job_run(str(job.pk)) == JobStatus.DONE
    by_id = {r["offer_id"]: r for r in bulk_job_rows(job=job)}
    for offer in offers[:2]:
        assert by_id[offer.allegro_id]["status"] == "FAIL"
        assert by_id[offer.allegro_id]["message"]
    for offer in offers[2:]:
        assert by_id[offer.allegro_id]["status"] == "SUCCESS"


def test_bulk_view_starts_the_task_and_only_for_managers(
    client_for: Any, manager: Any, operator: Any, shop: Any, eager_tasks: None
) -> None:
    offers = list(Offer.objects.filter(account=shop).order_by("id")[:3])
    data = {"action": "stock_add", "value": "2", "offers": [o.pk for o in offers]}
    assert client_for(operator).post(reverse("offers:bulk"), data).status_code == 403
    response = client_for(manager).post(reverse("offers:bulk"), data)
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    job = Job.objects.get(pk=job_id, actor=manager)
    assert job.status == "done"
    for offer in offers:
        before = offer.stock_available
        offer.refresh_from_db()
        assert offer.stock_available == before + 2
    # "all matching the filter"
    response = client_for(manager).post(
        reverse("offers:bulk"),
        {
            "action": "stock_add",
            "value": "1",
            "all_matching": "on",
            "filters": "q=" + offers[0].allegro_id,
        },
    )
    job = Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1], actor=manager)
    assert job.total == 1


def test_multi_valued_filters_survive_the_default_page_size(
    client_for: Any, viewer: Any, shop: Any
) -> None:
    client = client_for(viewer)
    html = client.get(reverse("offers:index") + "?status=ACTIVE&status=ENDED").content.decode()
    expected = Offer.objects.filter(account=shop, status__in=["ACTIVE", "ENDED"]).count()
    assert f'data-testid="offer-total">{expected} ' in html
