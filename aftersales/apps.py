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
