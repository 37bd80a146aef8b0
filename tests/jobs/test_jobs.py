"""Durable jobs: lease, bounded retries, audit written once, stalled jobs resumed, scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry
from allegro import errors
from jobs import registry
from jobs.models import ItemStatus, Job, JobItem, JobStatus
from jobs.services import ItemSpec, job_audit_once, job_create, job_item_update, jobs_stalled
from jobs.tasks import job_run, jobs_resume

pytestmark = pytest.mark.django_db

CALLS: list[str] = []


def _counting_run(job: Job) -> registry.Step:
    """A runner that needs two looks: the first sends, the second reads the outcome."""
    CALLS.append(str(job.pk))
    item = job.items.get()
    if item.status == ItemStatus.PENDING:
        job_item_update(item=item, status=ItemStatus.SENT, command_id="cmd-1")
        return registry.again(0)
    job_item_update(item=item, status=ItemStatus.SUCCESS)
    job_audit_once(
        item=item, actor=job.actor, action="test.done", target=item.key, before={}, after={}
    )
    return registry.FINISHED


def _transient_run(job: Job) -> registry.Step:
    raise errors.ServerError("upstream 503", status=503)


@pytest.fixture(autouse=True)
def _kinds() -> Iterator[None]:
    spec = registry.JobKindSpec
    registry.register(spec(kind="test.two_looks", label="Two looks", run=_counting_run))
    registry.register(spec(kind="test.transient", label="Flaky", run=_transient_run))
    CALLS.clear()
    return


def _job(actor: Any, account: Any, kind: str = "test.two_looks") -> Job:
    return job_create(
        kind=kind,
        actor=actor,
        items=[ItemSpec(account=account, key="offer-1", label="Kubek")],
        title="Test",
        enqueue=False,
    )


def test_a_job_runs_to_its_outcome_and_audits_once(alice: Any, account: Any) -> None:
    job = _job(alice, account)
    assert job_run(str(job.pk)) == "waiting"
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    assert job.next_poll_at is not None
    assert job_run(str(job.pk)) == JobStatus.DONE
    job.refresh_from_db()
    assert (job.status, job.processed, job.failed, job.total) == (JobStatus.DONE, 1, 0, 1)
    # A duplicate message (a redelivery after a worker restart) changes nothing.
    assert job_run(str(job.pk)) == "skipped"
    assert AuditLogEntry.objects.filter(action="test.done").count() == 1


def test_audit_once_even_when_the_outcome_is_recorded_twice(alice: Any, account: Any) -> None:
    job = _job(alice, account)
    item = job.items.get()
    kwargs = {"actor": alice, "action": "x", "target": "t", "before": {}, "after": {}}
    assert job_audit_once(item=item, **kwargs) is True
    assert job_audit_once(item=JobItem.objects.get(pk=item.pk), **kwargs) is False
    assert AuditLogEntry.objects.filter(action="x").count() == 1


def test_a_held_lease_keeps_a_second_run_out(alice: Any, account: Any) -> None:
    job = _job(alice, account)
    Job.objects.filter(pk=job.pk).update(leased_until=timezone.now() + timedelta(minutes=5))
    assert job_run(str(job.pk)) == "skipped"
    assert CALLS == []
    # An expired lease (the holder died) is taken over.
    Job.objects.filter(pk=job.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert job_run(str(job.pk)) == "waiting"


def test_transient_failures_are_retried_a_bounded_number_of_times(
    alice: Any, account: Any, settings: Any
) -> None:
    settings.JOBS_MAX_TRANSIENT_FAILURES = 3
    job = _job(alice, account, kind="test.transient")
    assert [job_run(str(job.pk)) for _ in range(3)] == ["retry", "retry", "failed"]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "503" in job.error
    item = job.items.get()
    assert item.status == ItemStatus.FAILED
    assert "503" in item.message


def test_stalled_jobs_are_found_and_resumed(alice: Any, account: Any) -> None:
    queued = _job(alice, account)
    waiting = _job(alice, account)
    job_run(str(waiting.pk))  # now WAITING with a poll due at once
    fresh = _job(alice, account)
    past = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk__in=[queued.pk, waiting.pk]).update(updated_at=past)
    Job.objects.filter(pk=waiting.pk).update(next_poll_at=past)
    stalled = set(jobs_stalled())
    assert {str(queued.pk), str(waiting.pk)} <= stalled
    assert str(fresh.pk) not in stalled
    assert jobs_resume() >= 2


def test_the_jobs_page_shows_only_the_users_jobs(
    alice: Any, bob: Any, account: Any, other_account: Any, client_for: Any
) -> None:
    mine = _job(alice, account)
    theirs = _job(bob, other_account)
    client = client_for(alice)
    page = client.get(reverse("jobs:index"))
    assert page.status_code == 200
    assert reverse("jobs:detail", args=[mine.pk]) in page.content.decode()
    assert reverse("jobs:detail", args=[theirs.pk]) not in page.content.decode()
    assert client.get(reverse("jobs:detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("jobs:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("jobs:detail", args=["not-a-uuid"])).status_code == 404
    csv = client.get(reverse("jobs:report_csv", args=[mine.pk]))
    assert csv.status_code == 200
    assert "offer-1" in csv.content.decode()


def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    response = client.get(reverse("jobs:index"))
    assert response.status_code == 302
    assert "/auth/login" in response["Location"]
