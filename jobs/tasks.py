"""The one task that runs every kind of job, and the beat task that wakes stalled jobs."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from allegro import errors
from jobs import registry
from jobs.services import (
    job_enqueue,
    job_fail,
    job_finish,
    job_lease,
    job_note_transient,
    job_release,
    jobs_stalled,
)

log = logging.getLogger(__name__)


def max_transient_failures() -> int:
    return int(getattr(settings, "JOBS_MAX_TRANSIENT_FAILURES", 5))


def _backoff(attempt: int, exc: errors.TransientError) -> float:
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        return float(retry_after)
    return float(min(60, 2 * 2 ** max(0, attempt - 1)))


@shared_task(acks_late=True, ignore_result=True)
def job_run(job_id: str) -> str:
    """Advance job ``job_id`` once; re-enqueue itself while Allegro is still working."""
    job = job_lease(job_id=job_id)
    if job is None:
        return "skipped"
    try:
        step = registry.spec_for(job.kind).run(job)
    except errors.TransientError as exc:
        attempt = job_note_transient(job=job, error=str(exc))
        if attempt >= max_transient_failures():
            job_fail(job=job, error=str(exc))
            return "failed"
        delay = _backoff(attempt, exc)
        job_release(job=job, again_after=delay)
        job_enqueue(job=job, countdown=delay)
        return "retry"
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, job.kind)
        job_fail(job=job, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    if step.again_after is not None:
        job_release(job=job, again_after=step.again_after)
        job_enqueue(job=job, countdown=step.again_after)
        return "waiting"
    return str(job_finish(job=job).status)


@shared_task(ignore_result=True)
def jobs_resume(*args: Any) -> int:
    """Beat: hand every stalled job back to a worker (a lost message never loses a job)."""
    ids = jobs_stalled()
    for job_id in ids:
        job_run.delay(job_id)
    return len(ids)
