"""Celery tasks of the offer pages: bulk actions run as a task, the page shows the progress."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from allegro import errors
from offers.services import bulk_job_fail, bulk_job_run

log = logging.getLogger(__name__)
MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, ignore_result=True)
def offers_bulk_run(self: Any, job_id: str) -> str:
    """Run bulk job ``job_id``; transient Allegro errors retry (bounded), the rest is reported."""
    try:
        job = bulk_job_run(job_id=job_id)
    except errors.TransientError as exc:
        if self.request.retries >= MAX_RETRIES:
            bulk_job_fail(job_id=job_id, error=str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=min(60, 5 * 2**self.request.retries)) from exc
    except Exception as exc:
        log.exception("bulk job %s failed", job_id)
        bulk_job_fail(job_id=job_id, error=f"{type(exc).__name__}")
        raise
    return "missing" if job is None else str(job["status"])
