from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from allegro.governor import Lane
        from mirror.models import Resource
        from mirror.registry import register
        from orders import flows

        register(Resource.ORDERS, flows.initial_pass)
        register(Resource.ORDER_EVENTS, flows.events_pass)
        register(Resource.RECONCILIATION, flows.reconcile_pass)
        register(Resource.WAYBILL_BACKFILL, flows.waybill_backfill_pass, lane=Lane.BACKFILL)
