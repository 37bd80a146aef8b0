from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from aftersales import flows
        from mirror.models import Resource
        from mirror.registry import register

        register(Resource.RATINGS, flows.ratings_pass)
        register(Resource.ISSUES, flows.issues_pass)
        register(Resource.RETURN_POLICIES, flows.return_policies_pass)
        register(Resource.WARRANTIES, flows.warranties_pass)

        from aftersales import flows_returns

        register(Resource.RETURNS, flows_returns.returns_pass)
        register(Resource.REFUNDS, flows_returns.refunds_pass)
        register(Resource.REFUND_CLAIMS, flows_returns.refund_claims_pass)
        register(Resource.THREADS, flows_returns.threads_pass)
        register(Resource.BILLING, flows_returns.billing_pass)

        from aftersales import policies
        from jobs.registry import JobKindSpec
        from jobs.registry import register as register_job

        register_job(
            JobKindSpec(
                kind=policies.COPY_KIND, label=policies.COPY_LABEL, run=policies.policy_copy_step
            )
        )

        from aftersales import messaging, refunds

        register_job(
            JobKindSpec(
                kind=refunds.REFUND_KIND, label=refunds.REFUND_LABEL, run=refunds.refund_step
            )
        )
        register_job(
            JobKindSpec(
                kind=messaging.SEND_KIND,
                label=messaging.SEND_LABEL,
                run=messaging.message_send_step,
            )
        )
