"""Reading jobs: a staff member sees the jobs they started, on accounts they may still see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from accounts.selectors import accounts_visible_to
from jobs.models import Job, JobItem

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def jobs_for_user(*, user: AnyUser) -> QuerySet[Job]:
    """The user's own jobs (a superuser: everyone's), minus any touching an account they lost."""
    qs = Job.objects.all()
    if not getattr(user, "is_superuser", False):
        hidden = JobItem.objects.filter(job=OuterRef("pk")).exclude(
            account__in=accounts_visible_to(user=user)
        )
        qs = qs.filter(actor_id=user.pk).exclude(Exists(hidden))
    return qs.select_related("account", "actor")


def job_get_for_user(*, user: AnyUser, job_id: str) -> Job:
    try:
        return jobs_for_user(user=user).get(pk=job_id)
    except (Job.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("No such job.") from exc


def job_items(*, job: Job) -> QuerySet[JobItem]:
    return job.items.select_related("account").order_by("position", "pk")


def job_latest_for_target(*, kind: str, account_id: int, key: str) -> JobItem | None:
    """The newest item of ``kind`` acting on one Allegro object (e.g. an offer's pending edit)."""
    return (
        JobItem.objects.filter(job__kind=kind, account_id=account_id, key=key)
        .select_related("job")
        .order_by("-job__created_at")
        .first()
    )
