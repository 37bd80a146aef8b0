"""Label batches across accounts as one file (pdfinfo/pdftotext check the pages and waybills),
4-up A6 on A4 from a start position, a batch interrupted mid-way or throttled by a 429, dispatch
protocols, pickups and cancelling — against the simulator over HTTP."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import AuditLogEntry
from jobs.models import Job, JobStatus
from jobs.tasks import job_run
from shipping.models import Pickup, Shipment, ShipmentStatus
from tests.shipping.test_create import distinct_buyers, finish, queue

pytestmark = pytest.mark.django_db

LABEL_POST = "POST /shipment-management/label"


@pytest.fixture(autouse=True)
def labels_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SHIPPING_LABELS_DIR = str(tmp_path / "labels")
    return tmp_path / "labels"


def make_shipments(operator: Any, shops: Any, sim: Any, per_account: int) -> list[Shipment]:
    from shipping.services import shipments_bulk_create_start

    orders = []
    for shop in shops:
        orders.extend(distinct_buyers(queue(shop), per_account))
    job = shipments_bulk_create_start(user=operator, orders=orders)
    assert finish(job.pk, sim) == JobStatus.DONE
    created = list(
        Shipment.objects.filter(status=ShipmentStatus.CREATED).select_related("order", "account")
    )
    assert len(created) == len(orders) == per_account * len(shops)
    return created


def waybills(shipments: list[Shipment]) -> list[str]:
    return [p.waybill for s in shipments for p in s.packages.all()]


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    assert match, info.stdout
    return int(match.group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def print_labels(client: Any, shipments: list[Shipment], **options: Any) -> Job:
    data = {"shipments": [str(s.pk) for s in shipments], "ordering": "order_date"}
    data.update({"layout": "a6", **options})
    response = client.post(reverse("shipping:labels"), data)
    assert response.status_code == 302, response.content[:500]
    job = Job.objects.filter(kind="shipping.labels").latest("created_at")
    assert response["Location"] == reverse("shipping:labels_job", args=[job.pk])
    if job.status == JobStatus.QUEUED:  # the worker's turn
        job_run(str(job.pk))
    job.refresh_from_db()
    return job


def file_of(client: Any, job: Job, tmp_path: Path) -> Path:
    response = client.get(reverse("shipping:labels_file", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    path = tmp_path / f"{job.pk}.pdf"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_labels_of_12_shipments_across_two_accounts_as_one_pdf(
    client_for: Any, operator: Any, shops: Any, sim: Any, sim_stats: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops, sim, 6)
    client = client_for(operator)
    sim_stats(clear=True)
    job = print_labels(client, shipments)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    # one request per account (6 < the batch size)
    assert sim_stats()["paths"][LABEL_POST] == 2
    path = file_of(client, job, tmp_path)
    assert pdf_pages(path) == 12
    text = pdf_text(path)
    for waybill in waybills(shipments):
        assert waybill in text
    # in order of the order date: the waybills appear in that order
    ordered = sorted(shipments, key=lambda s: (s.order.bought_at, s.pk))
    positions = [text.index(waybills([s])[0]) for s in ordered]
    assert positions == sorted(positions)
    assert Shipment.objects.filter(label_printed_at__isnull=False).count() == 12
    assert AuditLogEntry.objects.filter(action="shipment.labels_printed").count() == 2
    assert not AuditLogEntry.objects.filter(
        action="shipment.labels_printed", allegro_trace_id=""
    ).exists()
    page = client.get(reverse("shipping:labels_job", args=[job.pk])).content.decode()
    assert reverse("shipping:labels_file", args=[job.pk]) in page


def bbox_words(path: Path, tmp_path: Path) -> list[tuple[int, str, float, float]]:
    """(page, word, xMin, yMin) from ``pdftotext -bbox`` (y grows downwards)."""
    out = tmp_path / "bbox.html"
    subprocess.run(["pdftotext", "-bbox", str(path), str(out)], check=True)
    words = []
    page = 0
    for line in out.read_text().splitlines():
        if "<page " in line:
            page += 1
        match = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', line)
        if match:
            words.append((page, match.group(3), float(match.group(1)), float(match.group(2))))
    return words


def test_four_a6_labels_per_a4_sheet_from_position_three(
    client_for: Any, operator: Any, shops: Any, sim: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops[:1], sim, 5)
    client = client_for(operator)
    job = print_labels(client, shipments, layout="a4", start="3", cut_lines="on")
    path = file_of(client, job, tmp_path)
    # positions 3, 4 on the first sheet, 1-3 on the second
    assert pdf_pages(path) == 2
    ordered = sorted(shipments, key=lambda s: (s.order.bought_at, s.pk))
    words = bbox_words(path, tmp_path)
    expected = [(1, 3), (1, 4), (2, 1), (2, 2), (2, 3)]
    for shipment, (sheet, position) in zip(ordered, expected, strict=True):
        hits = [(p, x, y) for p, w, x, y in words if w == waybills([shipment])[0]]
        assert hits, waybills([shipment])
        page, x, y = hits[0]
        assert page == sheet
        left = x < 595.28 / 2
        top = y < 841.89 / 2
        assert (left, top) == {
            1: (True, True),
            2: (False, True),
            3: (True, False),
            4: (False, False),
        }[position]


def test_a_batch_interrupted_between_accounts_resumes_with_the_same_file(
    client_for: Any, operator: Any, shops: Any, sim: Any, sim_stats: Any, tmp_path: Path
) -> None:
    from shipping import labels

    shipments = make_shipments(operator, shops, sim, 3)
    client = client_for(operator)
    whole = print_labels(client, shipments)
    reference = file_of(client, whole, tmp_path).read_bytes()

    # The second account's request fails hard (the worker dies there): the first account's
    # labels are on disk and its items done; the job stays unfinished.
    calls = {"n": 0}
    real_fetch = labels._fetch

    def fetch_then_die(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            real_fetch(*args, **kwargs)
            return
        raise SystemExit("worker killed")

    labels._fetch = fetch_then_die  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit):
            print_labels(client, shipments)
    finally:
        labels._fetch = real_fetch  # type: ignore[assignment]
    job = Job.objects.filter(kind="shipping.labels").latest("created_at")
    assert job.status == JobStatus.RUNNING
    assert job.items.filter(status="success").count() == 3
    sim_stats(clear=True)
    Job.objects.filter(pk=job.pk).update(leased_until=None)  # the lease of the dead worker ends
    assert job_run(str(job.pk)) == JobStatus.DONE
    assert sim_stats()["paths"][LABEL_POST] == 1  # only the missing account
    assert file_of(client, job, tmp_path).read_bytes() == reference


def test_a_429_mid_batch_waits_and_completes(
    client_for: Any, operator: Any, shops: Any, sim: Any, sim_stats: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops, sim, 2)
    client = client_for(operator)
    sim_stats(clear=True)
    # one more request goes through, then the client id is blocked (429) for a fifth of a second
    # (``Retry-After: 0.2``, a simulator-only scale-down of Allegro's shortest, 1 s)
    sim.control(
        "PUT", "/faults", {"rate_limit": {"enabled": True, "limit": 1, "window": 600, "block": 0.2}}
    )
    job = print_labels(client, shipments)
    # the second account's request met the block: it waited (Retry-After) and went through
    assert job.status == JobStatus.DONE, job.error
    assert sim_stats()["paths"][LABEL_POST] > 2
    assert job.items.filter(status="success").count() == 4
    sim.control("PUT", "/faults", {"rate_limit": {"enabled": False}})
    path = file_of(client, job, tmp_path)
    assert pdf_pages(path) == 4
    text = pdf_text(path)
    assert all(w in text for w in waybills(shipments))


def test_dispatch_protocol_pickup_and_cancel(
    client_for: Any, operator: Any, shops: Any, sim: Any, tmp_path: Path
) -> None:
    shipments = make_shipments(operator, shops[:1], sim, 3)
    client = client_for(operator)
    response = client.post(reverse("shipping:protocol"), {"shipments": [s.pk for s in shipments]})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    path = tmp_path / "protocol.pdf"
    path.write_bytes(response.content)
    text = pdf_text(path)
    assert all(w in text for w in waybills(shipments))
    assert Shipment.objects.filter(protocol_printed_at__isnull=False).count() == 3

    carrier = shipments[0].carrier
    door = [
        s
        for s in Shipment.objects.filter(status="created", carrier=carrier)
        if not any(w in s.delivery_method_name.lower() for w in ("paczkomat", "punkt", "one"))
    ]
    chosen = door[:1] or shipments[:1]
    form = client.get(reverse("shipping:pickup"), {"shipments": [s.pk for s in chosen]})
    assert form.status_code in (200, 302)
    if form.status_code == 200 and b'name="slot"' in form.content:
        slot = re.search(rb'name="slot"[^>]*>\s*<option value="([^"]+)"', form.content)
        assert slot
        ordered = client.post(
            reverse("shipping:pickup"),
            {"shipments": [s.pk for s in chosen], "slot": slot.group(1).decode()},
        )
        assert ordered.status_code == 302
        job = Job.objects.filter(kind="shipping.pickup").get()
        assert finish(job.pk, sim) == JobStatus.DONE
        pickup = Pickup.objects.get()
        assert pickup.allegro_id
        assert pickup.command_id
        assert Shipment.objects.get(pk=chosen[0].pk).pickup_id == pickup.pk

    victim = shipments[-1]
    confirm = client.get(reverse("shipping:cancel", args=[victim.pk]))
    assert confirm.status_code == 200
    assert b"cancel-confirm" in confirm.content
    assert Shipment.objects.get(pk=victim.pk).status == ShipmentStatus.CREATED
    done = client.post(reverse("shipping:cancel", args=[victim.pk]), {"confirm": "1"})
    assert done.status_code == 302
    victim.refresh_from_db()
    assert victim.status == ShipmentStatus.CANCELLED
    assert victim.cancelled_at
    entry = AuditLogEntry.objects.get(action="shipment.cancelled")
    assert entry.allegro_trace_id
