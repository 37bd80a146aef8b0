from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShippingConfig(AppConfig):
    name = "shipping"
    verbose_name = _("Shipping")

    def ready(self) -> None:
        from django.urls import reverse

        from jobs.registry import JobKindSpec, register
        from shipping.dispatch import PICKUP_KIND, pickup_step
        from shipping.labels import LABELS_KIND, labels_step
        from shipping.services import CREATE_KIND, shipment_create_step

        register(
            JobKindSpec(
                kind=CREATE_KIND,
                label=_("Create shipments"),
                run=shipment_create_step,
                report_url=lambda job: reverse("shipping:job", args=[job.pk]),
            )
        )
        register(
            JobKindSpec(
                kind=LABELS_KIND,
                label=_("Print labels"),
                run=labels_step,
                report_url=lambda job: reverse("shipping:labels_job", args=[job.pk]),
            )
        )
        register(JobKindSpec(kind=PICKUP_KIND, label=_("Order a pickup"), run=pickup_step))
