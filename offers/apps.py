from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = _("Offers")

    def ready(self) -> None:
        from mirror.models import Resource
        from mirror.registry import register
        from offers import flows

        register(Resource.OFFERS, flows.full_pass)
        register(Resource.OFFER_EVENTS, flows.events_pass)
        register(Resource.OFFER_DETAILS, flows.details_pass)
