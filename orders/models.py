"""Mirror of the sellers' orders (checkout forms) on Allegro, written by ``orders.sync``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount

# Paid (or cash on delivery) and not yet handed to a carrier: what the seller has to ship. The
# dashboard counts these, the orders list filters them (``to_ship``) and a partial index keeps
# them in dispatch-deadline order. A merged form was replaced by the one it was merged into.
AWAITING_DISPATCH = ("NEW", "PROCESSING", "READY_FOR_SHIPMENT")
TO_SHIP = models.Q(
    status="READY_FOR_PROCESSING",
    fulfillment_status__in=AWAITING_DISPATCH,
    merged_into__isnull=True,
)
# Bought but not paid yet (no checkout, or checkout filled in without a payment).
UNPAID_STATUSES = ("BOUGHT", "FILLED_IN")
UNPAID = models.Q(status__in=UNPAID_STATUSES, merged_into__isnull=True)
# Something was sent, so Allegro may hold waybills for it; they were never read.
SENT = ("SOME", "ALL")
WAYBILLS_UNREAD = models.Q(
    waybills_read_at__isnull=True, line_items_sent__in=SENT, merged_into__isnull=True
)


class Order(models.Model):
    """One checkout form (``GET /order/checkout-forms/{id}``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="orders", verbose_name=_("account")
    )
    allegro_id = models.UUIDField(_("checkout form id"))
    buyer_id = models.CharField(_("buyer id"), max_length=64, blank=True)
    buyer_login = models.CharField(_("buyer login"), max_length=128, blank=True)
    buyer_email = models.CharField(_("buyer e-mail"), max_length=255, blank=True)
    buyer_first_name = models.CharField(_("buyer first name"), max_length=128, blank=True)
    buyer_last_name = models.CharField(_("buyer last name"), max_length=128, blank=True)
    buyer_company_name = models.CharField(_("buyer company"), max_length=255, blank=True)
    delivery_address = models.JSONField(_("delivery address"), null=True, blank=True)
    # What the pages show of the addresses: display lines written by the sync mapping.
    delivery_address_lines = models.JSONField(_("delivery address lines"), default=list, blank=True)
    pickup_point = models.JSONField(_("pickup point"), null=True, blank=True)
    pickup_point_id = models.CharField(_("pickup point id"), max_length=64, blank=True)
    pickup_point_lines = models.JSONField(_("pickup point lines"), default=list, blank=True)
    delivery_method_id = models.CharField(_("delivery method id"), max_length=64, blank=True)
    delivery_method_name = models.CharField(_("delivery method"), max_length=255, blank=True)
    payment_id = models.CharField(_("payment id"), max_length=64, blank=True)
    payment_type = models.CharField(_("payment type"), max_length=32, blank=True)
    payment_provider = models.CharField(_("payment provider"), max_length=32, blank=True)
    paid_amount = models.DecimalField(
        _("paid amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    paid_currency = models.CharField(_("paid currency"), max_length=3, blank=True)
    payment_finished_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    fulfillment_status = models.CharField(_("fulfillment status"), max_length=32, blank=True)
    line_items_sent = models.CharField(_("line items sent"), max_length=8, blank=True)
    revision = models.CharField(_("revision"), max_length=64, blank=True)
    total_amount = models.DecimalField(
        _("total to pay"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    marketplace = models.CharField(_("marketplace"), max_length=32, blank=True)
    invoice_required = models.BooleanField(_("invoice requested"), default=False)
    invoice_address_lines = models.JSONField(_("invoice address lines"), default=list, blank=True)
    invoice_tax_id = models.CharField(_("invoice tax id"), max_length=32, blank=True)
    message_to_seller = models.TextField(_("message to seller"), blank=True)
    bought_at = models.DateTimeField(_("bought at"), null=True, blank=True)
    # Allegro's dispatch window (``delivery.time.dispatch``): ship no earlier than
    # ``dispatch_from`` and no later than ``dispatch_by``.
    dispatch_from = models.DateTimeField(_("dispatch from"), null=True, blank=True)
    dispatch_by = models.DateTimeField(_("dispatch by"), null=True, blank=True)
    allegro_updated_at = models.DateTimeField(_("updated on Allegro"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)
    quarantined = models.BooleanField(
        _("quarantined"),
        default=False,
        help_text=_("Refreshing this order keeps failing; it is retried later."),
    )
    synced_at = models.DateTimeField(_("last synchronised"))
    # When the waybill list was last read (or known to be empty because nothing was sent).
    # Empty while the initial sync deferred the read to the backfill: the page then says "not
    # read yet" instead of "no tracking", and reads them when staff open it.
    waybills_read_at = models.DateTimeField(_("waybills read at"), null=True, blank=True)
    raw = models.JSONField(_("Allegro document"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-bought_at", "allegro_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"], name="order_unique_per_account"
            )
        ]
        indexes = [
            models.Index("account", models.F("bought_at").desc(), name="order_account_bought"),
            # Fulfillment (+ marketplace) filters, newest first; its (account, fulfillment)
            # prefix serves a fulfillment-only filter and count.
            models.Index(
                "account",
                "fulfillment_status",
                "marketplace",
                models.F("bought_at").desc(),
                name="order_account_fulfil_market",
            ),
            models.Index(fields=["account", "status"], name="order_account_status"),
            models.Index(fields=["account", "marketplace"], name="order_account_market"),
            models.Index(fields=["account", "line_items_sent"], name="order_account_sent"),
            models.Index(fields=["account", "buyer_login"], name="order_account_buyer"),
            models.Index(fields=["account", "buyer_email"], name="order_account_email"),
            models.Index(fields=["account", "allegro_updated_at"], name="order_account_updated"),
            # The orders to ship by deadline: the dashboard's counts (to ship, overdue) read
            # only this index, the shipping queue pages through it.
            models.Index(
                fields=["account", "dispatch_by"], name="order_to_ship", condition=TO_SHIP
            ),
            # The same orders newest first (the list filtered "to ship" / "overdue"): each
            # account's page is the start of this index; the deadline is in it, so "overdue"
            # skips the orders not yet due without reading the table.
            models.Index(
                fields=["account", "-bought_at", "-id"],
                include=["dispatch_by"],
                name="order_to_ship_bought",
                condition=TO_SHIP,
            ),
            models.Index(
                fields=["account"], name="order_quarantined", condition=models.Q(quarantined=True)
            ),
            models.Index(fields=["account", "bought_at"], name="order_unpaid", condition=UNPAID),
            # The waybill backfill's queue, newest first (mirror's WAYBILL_BACKFILL pass).
            models.Index(
                "account",
                models.F("bought_at").desc(),
                "id",
                name="order_waybills_unread",
                condition=WAYBILLS_UNREAD,
            ),
        ]

    def __str__(self) -> str:
        return str(self.allegro_id)


class OrderLineItem(models.Model):
    """A line of a checkout form. The same ``lineItem.id`` reappears in the form a merge creates."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="line_items", verbose_name=_("order")
    )
    allegro_id = models.UUIDField(_("line item id"))
    offer_id = models.CharField(_("offer id"), max_length=64)
    offer_name = models.CharField(_("offer title"), max_length=255, blank=True)
    quantity = models.IntegerField(_("quantity"))
    price_amount = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    price_currency = models.CharField(_("currency"), max_length=3)
    bought_at = models.DateTimeField(_("bought at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "allegro_id"], name="line_item_unique_per_order"
            )
        ]
        indexes = [
            models.Index(fields=["account", "allegro_id"], name="line_item_account_id"),
            models.Index(fields=["account", "offer_id"], name="line_item_account_offer"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.offer_name}"


class TrackingNumber(models.Model):
    """A waybill added to a checkout form (``GET /order/checkout-forms/{id}/shipments``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="tracking_numbers", verbose_name=_("order")
    )
    allegro_id = models.CharField(_("shipment id"), max_length=64)
    waybill = models.CharField(_("waybill"), max_length=64)
    carrier_id = models.CharField(_("carrier id"), max_length=64, blank=True)
    carrier_name = models.CharField(_("carrier name"), max_length=64, blank=True)
    line_items = models.JSONField(_("line items"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracking number")
        verbose_name_plural = _("tracking numbers")
        ordering = ["order_id", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "allegro_id"], name="tracking_unique_per_order"
            )
        ]
        indexes = [models.Index(fields=["account", "waybill"], name="tracking_account_waybill")]

    def __str__(self) -> str:
        return self.waybill


class OrderEvent(models.Model):
    """An order event seen in ``GET /order/events`` (kept for history)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("event id"), max_length=256)
    type = models.CharField(_("type"), max_length=32)
    occurred_at = models.DateTimeField(_("occurred at"))
    checkout_form_id = models.UUIDField(_("checkout form id"))
    revision = models.CharField(_("revision"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "allegro_id"], name="order_event_unique")
        ]
        indexes = [
            models.Index(fields=["account", "checkout_form_id"], name="order_event_form"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.checkout_form_id}"
