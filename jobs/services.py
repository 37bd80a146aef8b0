"""State changes of durable jobs: create, lease, record item outcomes, audit once, finish."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AllegroAccount
from jobs.models import ACTIVE_STATUSES, FINAL_ITEM_STATUSES, ItemStatus, Job, JobItem, JobStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def lease_seconds() -> int:
    """How long one run may hold a job: the task's hard time limit plus a margin."""
    limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 300))
    return limit + int(getattr(settings, "JOBS_LEASE_MARGIN_SECONDS", 30))


@dataclass(kw_only=True)
class ItemSpec:
    account: AllegroAccount
    key: str
    label: str = ""
    command_id: str = ""
    operation_url: str = ""
    trace_id: str = ""
    status: str = ItemStatus.PENDING
    data: Mapping[str, Any] = field(default_factory=dict)
    before: Any = None


def job_create(
    *,
    kind: str,
    actor: AnyUser | None,
    items: Iterable[ItemSpec],
    title: str = "",
    params: Mapping[str, Any] | None = None,
    account: AllegroAccount | None = None,
    status: str = JobStatus.QUEUED,
    enqueue: bool = True,
    countdown: float | None = None,
) -> Job:
    """Store a job and its items, then (on commit) hand it to a worker, in ``countdown``
    seconds when given (e.g. Allegro's ``Retry-After``)."""
    next_poll_at = None if countdown is None else timezone.now() + timedelta(seconds=countdown)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            title=title[:255],
            actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
            account=account,
            status=status,
            params=dict(params or {}),
            next_poll_at=next_poll_at,
        )
        rows = [
            JobItem(
                job=job,
                account=spec.account,
                position=position,
                key=spec.key,
                label=spec.label[:255],
                status=spec.status,
                command_id=spec.command_id,
                operation_url=spec.operation_url,
                trace_id=spec.trace_id,
                data=dict(spec.data),
                before=spec.before,
            )
            for position, spec in enumerate(items)
        ]
        JobItem.objects.bulk_create(rows)
        job.total = len(rows)
        job.save(update_fields=["total", "updated_at"])
    if enqueue:
        job_enqueue(job=job, countdown=countdown)
    return job


RUN_TASK = "jobs.tasks.job_run"


# Set while a job runs in the calling process (``task_always_eager``): a run never starts
# another one from inside itself, a job that must wait stays WAITING for ``jobs_resume``.
_running_inline: ContextVar[bool] = ContextVar("jobs_running_inline", default=False)


def job_enqueue(*, job: Job, countdown: float | None = None) -> None:
    """Hand the job to a worker once the surrounding transaction commits (by task name, so the
    services never import the task module that imports them).

    With ``task_always_eager`` (tests, a single-process demo) the job runs here and now, once.
    """
    job_id = str(job.pk)
    if current_app.conf.task_always_eager:
        if _running_inline.get():
            return
        token = _running_inline.set(True)
        try:
            current_app.tasks[RUN_TASK].apply(args=(job_id,))
        finally:
            _running_inline.reset(token)
        return

    def send() -> None:
        current_app.send_task(RUN_TASK, args=[job_id], countdown=countdown or None)

    transaction.on_commit(send)


def job_lease(*, job_id: str) -> Job | None:
    """Take the job for one run, or ``None`` if it is finished or another run holds it."""
    now = timezone.now()
    taken = (
        Job.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(
            leased_until=now + timedelta(seconds=lease_seconds()),
            status=JobStatus.RUNNING,
            started_at=Coalesce(F("started_at"), now),
            next_poll_at=None,
            updated_at=now,
        )
    )
    if not taken:
        return None
    return Job.objects.select_related("account", "actor").get(pk=job_id)


def job_release(*, job: Job, again_after: float) -> None:
    """Give the job back until Allegro is asked again in ``again_after`` seconds."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        leased_until=None,
        status=JobStatus.WAITING,
        next_poll_at=now + timedelta(seconds=again_after),
        updated_at=now,
    )


def job_note_transient(*, job: Job, error: str) -> int:
    """Count one transient failure in a row; returns the count."""
    Job.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1, error=error[:2000])
    job.refresh_from_db(fields=["attempts", "error"])
    return job.attempts


def job_item_update(*, item: JobItem, **changes: Any) -> JobItem:
    """Record an item's progress (``status``, ``message``, ``trace_id``, ``after``...)."""
    for name, value in changes.items():
        setattr(item, name, value)
    item.save(update_fields=[*changes, "updated_at"])
    return item


def job_items_update(*, job: Job, keys: Iterable[tuple[int, str]], **changes: Any) -> int:
    """Same change for several items, addressed as ``(account_id, key)``."""
    condition = Q()
    for account_id, key in keys:
        condition |= Q(account_id=account_id, key=key)
    if not condition:
        return 0
    return JobItem.objects.filter(condition, job=job).update(**changes, updated_at=timezone.now())


def job_progress_refresh(*, job: Job) -> Job:
    counts = JobItem.objects.filter(job=job).aggregate(
        processed=Count("pk", filter=Q(status__in=FINAL_ITEM_STATUSES)),
        failed=Count("pk", filter=Q(status=ItemStatus.FAILED)),
    )
    Job.objects.filter(pk=job.pk).update(
        processed=counts["processed"], failed=counts["failed"], attempts=0
    )
    job.processed, job.failed, job.attempts = counts["processed"], counts["failed"], 0
    return job


def job_audit_once(
    *,
    item: JobItem,
    actor: AnyUser | None,
    action: str,
    target: str,
    before: Any,
    after: Any,
    trace_id: str | None = None,
) -> bool:
    """Write the item's audit entry unless an earlier run already did (exactly once)."""
    with transaction.atomic():
        claimed = JobItem.objects.filter(pk=item.pk, audited_at__isnull=True).update(
            audited_at=timezone.now()
        )
        if not claimed:
            return False
        audit_log(
            actor=actor,
            account=item.account,
            action=action,
            target=target,
            before=before,
            after=after,
            allegro_trace_id=trace_id,
        )
    return True


def job_items_audit_once(
    *,
    items: Sequence[JobItem],
    actor: AnyUser | None,
    action: str,
    target: str,
    before: Any,
    after: Any,
    trace_id: str | None = None,
) -> bool:
    """One audit entry for a group of items (e.g. the offers of one Allegro batch command),
    written unless an earlier run already did. The items share one account."""
    if not items:
        return False
    with transaction.atomic():
        claimed = JobItem.objects.filter(
            pk__in=[i.pk for i in items], audited_at__isnull=True
        ).update(audited_at=timezone.now())
        if not claimed:
            return False
        audit_log(
            actor=actor,
            account=items[0].account,
            action=action,
            target=target,
            before=before,
            after=after,
            allegro_trace_id=trace_id,
        )
    return True


def job_finish(*, job: Job) -> Job:
    """Close the job: ``done`` (items carry their own outcomes) unless it already failed."""
    job_progress_refresh(job=job)
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.DONE, finished_at=now, leased_until=None, next_poll_at=None, updated_at=now
    )
    job.refresh_from_db()
    return job


def job_fail(*, job: Job, error: str) -> Job:
    """The job cannot go on: items without an outcome fail with ``error``."""
    now = timezone.now()
    with transaction.atomic():
        JobItem.objects.filter(job=job).exclude(status__in=FINAL_ITEM_STATUSES).update(
            status=ItemStatus.FAILED, message=error[:2000], updated_at=now
        )
        job_progress_refresh(job=job)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=error[:2000],
            finished_at=now,
            leased_until=None,
            next_poll_at=None,
            updated_at=now,
        )
    job.refresh_from_db()
    return job


def jobs_stalled(*, grace_seconds: float = 30) -> list[str]:
    """Active jobs no run holds and no queued message will wake (lost by a restart or flush)."""
    now = timezone.now()
    grace = now - timedelta(seconds=grace_seconds)
    ids = (
        Job.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=grace))
        .filter(updated_at__lte=grace)
        .values_list("pk", flat=True)[:500]
    )
    return [str(pk) for pk in ids]
