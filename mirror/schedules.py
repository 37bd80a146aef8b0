"""The beat schedule of the mirror, stored in django-celery-beat (editable in the admin)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from mirror.models import Resource

TASK = "mirror.tasks.sync_all"


@dataclass(frozen=True)
class Entry:
    name: str
    resource: str
    every_seconds: int | None = None
    crontab: tuple[str, str] | None = None  # (minute, hour), Europe/Warsaw
    task: str = TASK


ENTRIES = (
    Entry("mirror: order events", Resource.ORDER_EVENTS, every_seconds=30),
    Entry("mirror: offer events", Resource.OFFER_EVENTS, every_seconds=60),
    Entry("mirror: offer details (EAN)", Resource.OFFER_DETAILS, every_seconds=300),
    Entry("mirror: ratings", Resource.RATINGS, every_seconds=300),
    Entry("mirror: disputes", Resource.ISSUES, every_seconds=300),
    Entry("mirror: return policies", Resource.RETURN_POLICIES, every_seconds=3600),
    Entry("mirror: warranties", Resource.WARRANTIES, every_seconds=3600),
    Entry("mirror: waybills of older orders", Resource.WAYBILL_BACKFILL, every_seconds=120),
    Entry("mirror: customer returns", Resource.RETURNS, every_seconds=300),
    Entry("mirror: refunds", Resource.REFUNDS, every_seconds=300),
    Entry("mirror: commission refund claims", Resource.REFUND_CLAIMS, every_seconds=3600),
    Entry("mirror: buyer messages", Resource.THREADS, every_seconds=60),
    Entry("mirror: billing", Resource.BILLING, every_seconds=900),
    Entry("mirror: nightly reconciliation", Resource.RECONCILIATION, crontab=("15", "3")),
    # Staff jobs whose queued message was lost (broker flush, worker restart) are woken here.
    Entry("jobs: resume stalled jobs", "", every_seconds=60, task="jobs.tasks.jobs_resume"),
)


def schedules_setup() -> list[PeriodicTask]:
    """Create the entries that are missing; existing ones keep any edits made in the admin."""
    tasks = []
    for entry in ENTRIES:
        existing = PeriodicTask.objects.filter(name=entry.name).first()
        if existing is not None:
            tasks.append(existing)
            continue
        kwargs: dict[str, object] = {}
        if entry.every_seconds is not None:
            kwargs["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            assert entry.crontab is not None
            minute, hour = entry.crontab
            kwargs["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="Europe/Warsaw",
            )
        tasks.append(
            PeriodicTask.objects.create(
                name=entry.name,
                task=entry.task,
                args=json.dumps([str(entry.resource)] if entry.resource else []),
                **kwargs,
            )
        )
    return tasks
