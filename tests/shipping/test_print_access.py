"""The print and hand-over views (one label, label batches and their file, protocol, pickup,
cancel, packing station) for a granted operator, a viewer, another account's staff and an
anonymous visitor; hypothesis-generated input to their forms never causes a 500 nor a request
Allegro (the simulator's spec validation) refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from shipping.models import Shipment, ShipmentStatus
from tests.pages.test_bad_input import NUMBER, TEXT
from tests.shipping.test_create import finish, queue
from tests.shipping.test_labels import make_shipments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def labels_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SHIPPING_LABELS_DIR = str(tmp_path / "labels")
    return tmp_path / "labels"


@pytest.fixture
def created(operator: Any, shops: Any, sim: Any) -> list[Shipment]:
    return make_shipments(operator, shops[:1], sim, 2)


def labels_job(client: Any, shipments: list[Shipment]) -> Job | None:
    before = set(Job.objects.filter(kind="shipping.labels").values_list("pk", flat=True))
    client.post(
        reverse("shipping:labels"),
        {"shipments": [s.pk for s in shipments], "layout": "a6", "ordering": "order_date"},
    )
    new = Job.objects.filter(kind="shipping.labels").exclude(pk__in=before)
    return new.first()


def test_permission_matrix(
    client_for: Any,
    operator: Any,
    viewer: Any,
    outsider: Any,
    created: list[Shipment],
) -> None:
    shipment = created[0]
    ids = {"shipments": [s.pk for s in created]}
    ops = client_for(operator)
    job = labels_job(ops, created)
    assert job is not None
    assert job_run(str(job.pk)) == JobStatus.DONE
    gets = {
        "label": reverse("shipping:label", args=[shipment.pk]),
        "cancel": reverse("shipping:cancel", args=[shipment.pk]),
        "labels_job": reverse("shipping:labels_job", args=[job.pk]),
        "labels_file": reverse("shipping:labels_file", args=[job.pk]),
        "pack": reverse("shipping:pack"),
    }
    posts = {
        "labels": reverse("shipping:labels"),
        "protocol": reverse("shipping:protocol"),
        "pickup": reverse("shipping:pickup"),
        "cancel": gets["cancel"],
        "pack_action": reverse("shipping:pack_action"),
    }

    # anonymous: sign in first, nothing happens
    anonymous = Client()
    for url in [*gets.values(), *posts.values()]:
        for response in (anonymous.get(url), anonymous.post(url, ids)):
            if response.status_code == 405:
                continue
            assert response.status_code == 302, url
            assert "/login/" in response["Location"] or "/accounts/" in response["Location"]

    # the operator prints, hands over and cancels
    label = ops.get(gets["label"])
    assert label.status_code == 200
    assert label["Content-Type"] == "application/pdf"
    assert label["Content-Disposition"].startswith("inline;")
    assert ops.get(gets["cancel"]).status_code == 200
    assert ops.get(gets["labels_job"]).status_code == 200
    assert ops.get(gets["labels_file"]).status_code == 200
    assert ops.get(gets["pack"]).status_code == 200
    assert ops.post(posts["protocol"], ids)["Content-Type"] == "application/pdf"
    one = {"shipments": [shipment.pk]}  # a pickup is for one account and carrier
    assert ops.get(posts["pickup"], one).status_code == 200
    listing = ops.get(reverse("shipping:index") + "?tab=shipments").content.decode()
    assert 'data-testid="shipment-actions"' in listing
    assert listing.count('data-testid="shipment-select"') == 2
    fragment = ops.get(reverse("shipping:order", args=[shipment.order_id])).content.decode()
    assert 'data-testid="shipment-label"' in fragment
    assert 'data-testid="shipment-cancel"' in fragment

    # a viewer reads the lists, every action is refused and nothing reaches Allegro
    views = client_for(viewer)
    listing = views.get(reverse("shipping:index") + "?tab=shipments").content.decode()
    assert 'data-testid="shipment-row"' in listing
    assert 'data-testid="shipment-actions"' not in listing
    assert 'data-testid="shipment-select"' not in listing
    fragment = views.get(reverse("shipping:order", args=[shipment.order_id])).content.decode()
    assert 'data-testid="waybill"' in fragment
    assert 'data-testid="shipment-cancel"' not in fragment
    assert views.get(gets["label"]).status_code == 403
    assert views.get(gets["cancel"]).status_code == 403
    assert views.post(posts["cancel"], {"confirm": "1"}).status_code == 403
    assert views.get(gets["pack"]).status_code == 403
    assert views.post(posts["pack_action"], {"q": "abc"}).status_code == 403
    assert views.get(gets["labels_job"]).status_code == 404  # another person's job
    assert views.get(gets["labels_file"]).status_code == 404
    assert labels_job(views, created) is None
    Shipment.objects.update(protocol_printed_at=None)
    refused = views.post(posts["protocol"], ids)
    assert refused.status_code == 302
    assert not Shipment.objects.filter(protocol_printed_at__isnull=False).exists()
    assert views.get(posts["pickup"], one).status_code == 302
    assert views.post(posts["pickup"], {**one, "slot": "x"}).status_code == 302

    # another account's staff: 404 for this account's shipments, the ticks are ignored
    other = client_for(outsider)
    for name in ("label", "cancel", "labels_job", "labels_file"):
        assert other.get(gets[name]).status_code == 404, name
    assert other.post(posts["cancel"], {"confirm": "1"}).status_code == 404
    assert labels_job(other, created) is None
    assert other.post(posts["protocol"], ids).status_code == 302
    assert not Shipment.objects.filter(protocol_printed_at__isnull=False).exists()
    assert other.get(posts["pickup"], one).status_code == 302
    station = other.get(gets["pack"], {"order": shipment.order_id}).content.decode()
    assert 'data-testid="pack-order"' not in station
    before = Job.objects.count()
    other.post(posts["pack_action"], {"order": shipment.order_id})
    assert Job.objects.count() == before
    assert Shipment.objects.filter(status=ShipmentStatus.CREATED).count() == 2


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
IDS = st.lists(st.one_of(TEXT, NUMBER, st.sampled_from(["1", "0", "-1", "9" * 30])), max_size=4)


def no_refused_request(sim_stats: Any) -> None:
    statuses = sim_stats()["statuses"]
    assert not any(int(code) >= 400 for code in statuses), statuses


@SETTINGS
@given(
    ordering=st.one_of(st.sampled_from(["order_date", "carrier", "deadline"]), TEXT),
    layout=st.one_of(st.sampled_from(["a6", "a4"]), TEXT),
    start=st.one_of(st.sampled_from(["1", "2", "3", "4", ""]), NUMBER, TEXT),
    cut_lines=st.one_of(st.just("on"), TEXT),
    summary=st.one_of(st.just("on"), st.just(""), TEXT),
    extra=IDS,
    tick=st.booleans(),
)
def test_labels_form(
    client_for: Any,
    operator: Any,
    created: list[Shipment],
    sim_stats: Any,
    ordering: str,
    layout: str,
    start: str,
    cut_lines: str,
    summary: str,
    extra: list[str],
    tick: bool,
) -> None:
    client = client_for(operator)
    sim_stats(clear=True)
    shipments = ([str(s.pk) for s in created] if tick else []) + extra
    data = {
        "shipments": shipments,
        "ordering": ordering,
        "layout": layout,
        "start": start,
        "cut_lines": cut_lines,
        "summary": summary,
    }
    response = client.post(reverse("shipping:labels"), data)
    assert response.status_code == 302
    job = Job.objects.filter(kind="shipping.labels", status=JobStatus.QUEUED).first()
    if job is not None:
        assert job_run(str(job.pk)) == JobStatus.DONE
        assert client.get(reverse("shipping:labels_job", args=[job.pk])).status_code == 200
        assert client.get(reverse("shipping:labels_file", args=[job.pk])).status_code == 200
    no_refused_request(sim_stats)


@SETTINGS
@given(shipments=IDS, slot=st.one_of(TEXT, st.just("")), tick=st.booleans(), q=TEXT, order=TEXT)
def test_protocol_pickup_and_station_forms(
    client_for: Any,
    operator: Any,
    created: list[Shipment],
    sim_stats: Any,
    shipments: list[str],
    slot: str,
    tick: bool,
    q: str,
    order: str,
) -> None:
    client = client_for(operator)
    sim_stats(clear=True)
    chosen = ([str(created[0].pk)] if tick else []) + shipments
    assert client.post(reverse("shipping:protocol"), {"shipments": chosen}).status_code in (
        200,
        302,
    )
    assert client.get(reverse("shipping:pickup"), {"shipments": chosen}).status_code in (200, 302)
    ordered = client.post(reverse("shipping:pickup"), {"shipments": chosen, "slot": slot})
    assert ordered.status_code in (200, 302, 422)
    assert client.get(reverse("shipping:pack"), {"q": q}).status_code == 200
    assert client.get(reverse("shipping:pack"), {"order": order, "job": q}).status_code == 200
    assert client.post(reverse("shipping:pack_action"), {"q": q}).status_code == 302
    assert client.post(reverse("shipping:pack_action"), {"order": order}).status_code == 302
    no_refused_request(sim_stats)


def test_the_station_stops_polling_once_the_shipment_is_created(
    client_for: Any, operator: Any, shops: Any, sim: Any
) -> None:
    """The created shipment's label frame is the station's last swap: a poll after it would
    take the frame away (it printed already) while the job is still finishing its bookkeeping."""
    ops = client_for(operator)
    order = queue(shops[0])[0]
    answer = ops.post(reverse("shipping:pack_action"), {"order": order.pk, "q": ""})
    job = Job.objects.get(kind="shipping.create")
    assert answer.status_code == 302
    station = answer["Location"]

    def section() -> str:
        return ops.get(station, headers={"HX-Request": "true"}).content.decode()

    waiting = section()
    assert 'data-testid="pack-creating"' in waiting
    assert "hx-trigger=" in waiting  # polls while the shipment is being created
    assert finish(job.pk, sim) == JobStatus.DONE
    # the shipment is created while its job is still running (the worker has not closed it yet)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    created = section()
    assert 'data-testid="pack-label-frame"' in created
    assert "hx-trigger=" not in created
