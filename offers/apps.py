from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = _("Offers")

    def ready(self) -> None:
        from django.urls import reverse

        from jobs import registry as jobs
        from mirror.models import Resource
        from mirror.registry import register
        from offers import flows, services

        register(Resource.OFFERS, flows.full_pass)
        register(Resource.OFFER_EVENTS, flows.events_pass)
        register(Resource.OFFER_DETAILS, flows.details_pass)
        jobs.register(
            jobs.JobKindSpec(
                kind=services.EDIT_JOB,
                label=_("Offer edit"),
                run=services.offer_edit_step,
                report_url=lambda job: reverse(
                    "offers:operation", args=[job.params.get("offer", 0), job.pk]
                ),
            )
        )
        jobs.register(
            jobs.JobKindSpec(
                kind=services.BULK_JOB,
                label=_("Bulk offer change"),
                run=services.bulk_job_step,
                report_url=lambda job: reverse("offers:bulk_job", args=[job.pk]),
            )
        )
