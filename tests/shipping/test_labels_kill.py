"""A label batch whose worker process is killed (SIGKILL) after the first account's labels are
stored: once the dead worker's lease runs out, a new run asks Allegro only for the second
account's labels and ends with the very file an uninterrupted run of the same selection gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from jobs.models import ItemStatus, Job, JobStatus
from jobs.tasks import job_run
from tests.conftest import worker_redis_url
from tests.plugins.allegro_accounts import allegro_env
from tests.shipping.test_labels import LABEL_POST, file_of, make_shipments, print_labels

pytestmark = pytest.mark.django_db(transaction=True)

# The simulator holds every label request this long: the killed worker is mid-request for the
# second account when it dies.
SLOW_SECONDS = 1
# The killed worker's lease: ``CELERY_TASK_TIME_LIMIT`` plus ``JOBS_LEASE_MARGIN_SECONDS`` (30 s
# by default), both whole seconds. Long enough for the first account's slow request, the kill and
# the checks below (about 2 s to spare after the slow request; those take ~0.1 s), and the test
# waits for all of it to run out: every second more is a second of idle waiting.
WORKER_TIME_LIMIT = 1
LEASE_MARGIN = 2


@pytest.fixture(autouse=True)
def labels_dir(settings: Any, tmp_path: Path) -> Path:
    # the worker process finds the same folder through BACKOFFICE_VAR_DIR (``VAR_DIR/labels``)
    settings.SHIPPING_LABELS_DIR = str(tmp_path / "labels")
    return tmp_path / "labels"


def worker_env(settings: Any, tmp_path: Path) -> dict[str, str]:
    """The environment of a worker process on this test's database, Redis, simulator and
    label folder."""
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DATABASE_URL": f"{url}/{db['NAME']}",
        "REDIS_URL": worker_redis_url(),
        "BACKOFFICE_VAR_DIR": str(tmp_path),
        "CELERY_TASK_TIME_LIMIT": str(WORKER_TIME_LIMIT),
        "JOBS_LEASE_MARGIN_SECONDS": str(LEASE_MARGIN),
        **allegro_env(settings),
    }


def test_a_batch_whose_worker_is_killed_resumes_with_the_same_file(
    client_for: Any,
    operator: Any,
    shops: Any,
    sim: Any,
    sim_stats: Any,
    settings: Any,
    tmp_path: Path,
    labels_dir: Path,
) -> None:
    shipments = make_shipments(operator, shops, sim, 3)
    client = client_for(operator)
    whole = print_labels(client, shipments)
    assert whole.status == JobStatus.DONE, whole.error
    reference = file_of(client, whole, tmp_path).read_bytes()

    # The same selection again, run by a worker process the simulator keeps waiting.
    sim.control(
        "PUT",
        "/faults",
        {"slow_rate": 1.0, "slow_seconds": SLOW_SECONDS, "paths": ["/shipment-management/label"]},
    )
    data = {"shipments": [str(s.pk) for s in shipments], "ordering": "order_date", "layout": "a6"}
    assert client.post(reverse("shipping:labels"), data).status_code == 302
    job = Job.objects.filter(kind="shipping.labels").exclude(pk=whole.pk).get()
    items = job.items.order_by("position", "pk")
    first_account = items[0].account_id
    first_items = job.items.filter(account_id=first_account)
    assert first_items.count() == 3
    code = f"import django; django.setup(); from jobs.tasks import job_run; job_run('{job.pk}')"
    worker = subprocess.Popen(
        [sys.executable, "-c", code],
        env=worker_env(settings, tmp_path),
        cwd=str(Path(django_settings.BASE_DIR)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while first_items.filter(status=ItemStatus.SUCCESS).count() < 3:
            assert worker.poll() is None, worker.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the worker never stored the first account's labels"
            time.sleep(0.05)
        # the second account's request is now held by the simulator: kill the worker there
        worker.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    sim.control("PUT", "/faults", {"slow_rate": 0.0, "paths": []})

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.leased_until is not None
    assert job.items.filter(status=ItemStatus.SUCCESS).count() == 3
    assert (
        job.items.exclude(account_id=first_account).filter(status=ItemStatus.PENDING).count() == 3
    )
    parts = sorted(p.name for p in (labels_dir / str(job.pk)).iterdir())
    assert parts == ["part-00000.pdf"]  # the first account's answer, on disk
    assert not (labels_dir / f"{job.pk}.pdf").exists()

    # While the dead worker's lease holds, no other run takes the job ...
    assert job_run(str(job.pk)) == "skipped"
    # ... and once it runs out (a real wait, no shortcut), the next run resumes it.
    deadline = time.monotonic() + WORKER_TIME_LIMIT + LEASE_MARGIN + 30
    while Job.objects.filter(pk=job.pk, leased_until__gte=timezone.now()).exists():
        assert time.monotonic() < deadline, "the dead worker's lease never ran out"
        time.sleep(0.05)
    # the killed request has been answered (to nobody) by now
    time.sleep(max(0.0, killed_at + SLOW_SECONDS - time.monotonic()))
    sim_stats(clear=True)
    assert job_run(str(job.pk)) == JobStatus.DONE
    assert sim_stats()["paths"][LABEL_POST] == 1  # only the second account's labels
    job.refresh_from_db()
    assert (job.total, job.processed, job.failed) == (6, 6, 0)
    assert file_of(client, job, tmp_path).read_bytes() == reference
