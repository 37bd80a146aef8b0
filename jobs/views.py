"""The Jobs page: a staff member's recent asynchronous work, its progress and its report."""

from __future__ import annotations

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backoffice.htmx import HtmxHttpRequest
from jobs import registry
from jobs.selectors import job_get_for_user, job_items, jobs_for_user
from ui.export import csv_safe

PAGE_SIZE = 50


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    jobs = list(jobs_for_user(user=request.user)[:PAGE_SIZE])
    for job in jobs:
        job.kind_label = registry.label_for(job.kind)  # type: ignore[attr-defined]
        job.report_url = registry.report_url_for(job)  # type: ignore[attr-defined]
    template = "jobs/list.html#rows" if request.htmx else "jobs/list.html"
    return render(request, template, {"jobs": jobs, "any_active": any(j.is_active for j in jobs)})


@require_GET
def detail(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=job_id)
    context = {
        "job": job,
        "kind_label": registry.label_for(job.kind),
        "items": job_items(job=job),
        "report_url": registry.report_url_for(job),
    }
    template = "jobs/detail.html#report" if request.htmx else "jobs/detail.html"
    return render(request, template, context)


@require_GET
def report_csv(request: HtmxHttpRequest, job_id: str) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=job_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}.csv"'
    writer = csv.writer(response)
    header = [_("Account"), _("Allegro id"), _("Label"), _("Result"), _("Allegro's message")]
    writer.writerow(header)
    for item in job_items(job=job):
        writer.writerow(
            [
                item.account.login,
                item.key,
                csv_safe(item.label),
                item.get_status_display(),
                csv_safe(item.message),
            ]
        )
    return response
