"""Hypothesis-generated create-form input never causes a 500 and never an invalid request to
Allegro: what the form accepts is sent (and the simulator validates it against the spec and its
own 400 checks), what it refuses is answered 422 with nothing sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobs.models import Job
from jobs.tasks import job_run
from shipping.models import Shipment, ShipmentStatus
from tests.pages.test_bad_input import NUMBER, TEXT
from tests.shipping.test_create import distinct_buyers, queue

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CREATE_POST = "POST /shipment-management/shipments/create-commands"


@SETTINGS
@given(
    preset=st.one_of(st.sampled_from(["custom", "first"]), TEXT),
    package_type=st.one_of(st.sampled_from(["PACKAGE", "DOX", "PALLET", "OTHER"]), TEXT),
    length=NUMBER,
    width=NUMBER,
    height=NUMBER,
    weight=NUMBER,
    label_format=st.one_of(st.sampled_from(["PDF", "ZPL"]), TEXT),
    insurance=st.one_of(st.just(""), NUMBER),
    text_on_label=TEXT,
    reference_number=TEXT,
)
@example(
    preset="first",
    package_type="PACKAGE",
    length="",
    width="",
    height="",
    weight="",
    label_format="ZPL",
    insurance="12,50",
    text_on_label="Szkło ☂",
    reference_number="FV/2024/1",
)
@example(
    preset="custom",
    package_type="DOX",
    length="35,5",
    width="25",
    height="1",
    weight="0,2",
    label_format="PDF",
    insurance="",
    text_on_label="",
    reference_number="",
)
def test_create_form(
    client_for: Any,
    operator: Any,
    shops: Any,
    sim_stats: Any,
    preset: str,
    package_type: str,
    length: str,
    width: str,
    height: str,
    weight: str,
    label_format: str,
    insurance: str,
    text_on_label: str,
    reference_number: str,
) -> None:
    order = distinct_buyers(queue(shops[0]), 1)[0]
    client = client_for(operator)
    url = reverse("shipping:create", args=[order.pk])
    if preset == "first":
        from shipping.models import PackagePreset

        client.get(url)  # seeds the presets
        preset = str(PackagePreset.objects.filter(account=order.account).first().pk)
    sim_stats(clear=True)
    data = {
        "preset": preset,
        "package_type": package_type,
        "length": length,
        "width": width,
        "height": height,
        "weight": weight,
        "label_format": label_format,
        "insurance": insurance,
        "text_on_label": text_on_label,
        "reference_number": reference_number,
    }
    response = client.post(url, data)
    assert response.status_code in (302, 422)
    job = Job.objects.order_by("-created_at").first()
    if response.status_code == 422:
        assert CREATE_POST not in sim_stats()["paths"]
        return
    assert job is not None
    job_run(str(job.pk))  # sends the command: the simulator checks it
    stats = sim_stats()
    assert stats["paths"].get(CREATE_POST) == 1
    assert not any(int(code) >= 400 for code in stats["statuses"]), stats["statuses"]
    # the next example starts from an order without a shipment again
    Shipment.objects.filter(order=order).update(status=ShipmentStatus.FAILED)
    Job.objects.all().delete()
