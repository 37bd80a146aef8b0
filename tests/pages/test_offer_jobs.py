"""Staff work on offers is a durable job, never a cache entry: a 202 edit and a bulk change
survive a cache flush and a Redis flush mid-way (polling resumes, the outcome shows on the page,
each audit row is written once, the report is complete); a 200 edit answer is the mirror's new
state without a second read."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry
from backoffice.celery import app
from jobs.models import ItemStatus, Job, JobStatus
from jobs.tasks import job_run, jobs_resume
from offers.models import Offer
from offers.services import bulk_job_chunks, bulk_job_create

pytestmark = pytest.mark.django_db

OPERATIONS = "GET /sale/product-offers/{offerId}/operations/{operationId}"
PRICE_PUT = "PUT /sale/offer-price-change-commands/{commandId}"


def _active(shop: Any) -> Offer:
    return Offer.objects.filter(account=shop, status="ACTIVE", stock_available__gt=0).order_by(
        "id"
    )[0]


def _flush(redis_client: Any) -> None:
    """Everything the cache and Redis held is gone (a flush, a Redis restart)."""
    cache.clear()
    redis_client.flushdb()


def _stall(job_id: str) -> None:
    """The job's queued message was lost long enough ago for the beat task to notice."""
    past = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk=job_id).update(updated_at=past, next_poll_at=past, leased_until=None)


def _edit_202(client: Any, offer: Offer, price: str) -> tuple[str, str]:
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": offer.name, "price": price, "stock": offer.stock_available},
    )
    assert response.status_code == 302
    operation_url: str = response["Location"]
    assert "/operations/" in operation_url
    return operation_url, operation_url.rstrip("/").split("/")[-1]


def test_a_202_edit_survives_a_cache_and_redis_flush(
    client_for: Any,
    manager: Any,
    shop: Any,
    sim: Any,
    sim_stats: Any,
    redis_client: Any,
) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 30})
    client = client_for(manager)
    offer = _active(shop)
    operation_url, job_id = _edit_202(client, offer, "61.23")
    job = Job.objects.get(pk=job_id)
    assert (job.kind, job.status, job.actor_id) == ("offers.edit", JobStatus.WAITING, manager.pk)
    item = job.items.get()
    assert item.operation_url
    assert item.before is not None
    assert item.before["price"] != "61.23"

    # One look: Allegro is still working and says when to look again.
    sim_stats(clear=True)
    assert job_run(job_id) == "waiting"
    assert sim_stats()["paths"][OPERATIONS] == 1
    job.refresh_from_db()
    assert job.next_poll_at is not None
    assert job.next_poll_at > timezone.now()
    detail = client.get(reverse("offers:detail", args=[offer.pk])).content.decode()
    assert 'data-state="pending"' in detail  # the offer page polls the job's status fragment
    assert f'hx-get="{operation_url}"' in detail

    _flush(redis_client)
    sim.control("POST", "/clock", {"advance": 31})
    _stall(job_id)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True  # a worker, in-process
    try:
        assert jobs_resume() == 1  # the beat task hands the stalled job back to a worker
    finally:
        app.conf.task_always_eager = eager

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    offer.refresh_from_db()
    assert offer.price_amount == Decimal("61.23")
    done = client.get(operation_url)
    assert done.status_code == 302
    assert done["Location"] == reverse("offers:detail", args=[offer.pk])
    page = client.get(done["Location"]).content.decode()
    assert "Allegro zakończyło zmianę. Zapisano." in page
    assert 'data-testid="operation-status"' not in page  # nothing pending any more

    # A redelivered message and a second run of the finished job audit nothing twice.
    assert job_run(job_id) == "skipped"
    Job.objects.filter(pk=job_id).update(status=JobStatus.WAITING)
    assert job_run(job_id) == JobStatus.DONE
    target = f"offer:{offer.allegro_id}"
    actions = list(
        AuditLogEntry.objects.filter(target=target)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["offer.edit_requested", "offer.edited"]
    edited = AuditLogEntry.objects.get(target=target, action="offer.edited")
    assert edited.actor_id == manager.pk
    assert edited.after is not None
    assert edited.after["price"] == "61.23"


@pytest.mark.allow_spec_violations  # the injected refusal is not an answer the spec lists
def test_an_edit_allegro_refuses_while_processing_is_recorded_and_audited_once(
    client_for: Any, manager: Any, shop: Any, sim: Any, redis_client: Any
) -> None:
    sim.control("PUT", "/settings", {"operation_delay": 30})
    client = client_for(manager)
    offer = _active(shop)
    operation_url, job_id = _edit_202(client, offer, "62.34")
    _flush(redis_client)
    path = f"/sale/product-offers/{offer.allegro_id}/operations"
    sim.control("PUT", "/faults", {"error_rate": 1, "error_statuses": [422], "paths": [path]})
    try:
        assert job_run(job_id) == JobStatus.DONE
    finally:
        sim.control("DELETE", "/faults")
    item = Job.objects.get(pk=job_id).items.get()
    assert item.status == ItemStatus.FAILED
    assert item.message  # Allegro's own words
    page = client.get(operation_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-state="failed"' in html
    assert item.message in html
    Job.objects.filter(pk=job_id).update(status=JobStatus.WAITING)
    assert job_run(job_id) == JobStatus.DONE
    assert AuditLogEntry.objects.filter(action="offer.edit_failed").count() == 1
    assert not AuditLogEntry.objects.filter(action="offer.edited").exists()
    offer.refresh_from_db()
    assert offer.price_amount != Decimal("62.34")


def test_a_bulk_job_survives_a_cache_and_redis_flush(
    client_for: Any, manager: Any, shop: Any, sim: Any, sim_stats: Any, redis_client: Any
) -> None:
    sim.control("PUT", "/settings", {"command_delay": 30})
    offers = list(Offer.objects.filter(account=shop).order_by("id")[:5])
    old = {o.allegro_id: Decimal(str(o.price_amount)) for o in offers}
    job = bulk_job_create(
        actor=manager, offers=offers, action="price_increase_pct", value=Decimal("10"), chunk_size=2
    )
    chunks = bulk_job_chunks(job=job)
    assert [len(c.ids) for c in chunks] == [2, 2, 1]
    job_id = str(job.pk)
    sim_stats(clear=True)
    assert job_run(job_id) == "waiting"  # the first command is sent, Allegro is still at it
    assert sim_stats()["paths"][PRICE_PUT] == 1

    runs = 0
    while Job.objects.get(pk=job_id).status != JobStatus.DONE:
        runs += 1
        assert runs <= 6, "the job does not finish"
        _flush(redis_client)
        sim.control("POST", "/clock", {"advance": 31})
        job_run(job_id)
    # every command went out exactly once, whatever the flushes and reruns
    assert sim_stats()["paths"][PRICE_PUT] == 3
    assert AuditLogEntry.objects.filter(action="offers.bulk.price_increase_pct").count() == 3
    targets = set(
        AuditLogEntry.objects.filter(action="offers.bulk.price_increase_pct").values_list(
            "target", flat=True
        )
    )
    assert targets == {f"command:{c.command_id}" for c in chunks}

    client = client_for(manager)
    page = client.get(reverse("offers:bulk_job", args=[job_id])).content.decode()
    assert page.count('data-testid="bulk-row" data-status="SUCCESS"') == 5
    assert re.search(r'data-testid="bulk-title">[^<]*Cena \+10 %<', page)
    for offer in offers:
        offer.refresh_from_db()
        assert offer.price_amount == (old[offer.allegro_id] * Decimal("1.10")).quantize(
            Decimal("0.01")
        )
    report = client.get(reverse("offers:bulk_job_csv", args=[job_id]))
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert {r["Id oferty"] for r in rows} == set(old)
    assert {r["Wynik"] for r in rows} == {"Udało się"}
    assert all(r["Cena przed"] != r["Cena po"] for r in rows)

    # A rerun after a lost acknowledgement sends nothing and audits nothing again.
    sim_stats(clear=True)
    Job.objects.filter(pk=job_id).update(status=JobStatus.QUEUED)
    assert job_run(job_id) == JobStatus.DONE
    assert not any(k.startswith("PUT") for k in sim_stats()["paths"])
    assert AuditLogEntry.objects.filter(action="offers.bulk.price_increase_pct").count() == 3
    # The Jobs page lists it with a link to its report.
    jobs_page = client.get(reverse("jobs:index")).content.decode()
    assert reverse("offers:bulk_job", args=[job_id]) in jobs_page


def test_a_200_edit_answer_updates_the_mirror_without_a_second_read(
    client_for: Any, manager: Any, shop: Any, sim_stats: Any
) -> None:
    client = client_for(manager)
    offer = _active(shop)
    title = "Nowy tytuł z odpowiedzi Allegro bez ponownego odczytu"
    sim_stats(clear=True)
    response = client.post(
        reverse("offers:edit", args=[offer.pk]),
        {"title": title, "price": "43.21", "stock": int(offer.stock_available or 0) + 1},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("offers:detail", args=[offer.pk])
    paths = sim_stats()["paths"]
    assert paths["PATCH /sale/product-offers/{offerId}"] == 1
    assert [k for k in paths if k.startswith("GET ")] == []
    stock = int(offer.stock_available or 0)
    offer.refresh_from_db()
    assert (offer.name, offer.price_amount, offer.stock_available) == (
        title,
        Decimal("43.21"),
        stock + 1,
    )
    assert any(p["amount"] == "43.21" for p in offer.marketplace_prices.values())
    assert not Job.objects.exists()  # nothing to follow
    entry = AuditLogEntry.objects.get(action="offer.edited")
    assert entry.after is not None
    assert entry.after["price"] == "43.21"
