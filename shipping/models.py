"""Ship with Allegro ("Wysyłam z Allegro"): shipments, their parcels, pickups and package presets.

A ``Shipment`` row is written *before* the create command is sent, with the command id it will
be sent under (unique), so a job that is re-run after a crash asks Allegro about the same command
instead of creating a second parcel. One order has at most one live shipment (``creating`` or
``created``); a failed attempt keeps its row (with Allegro's message) and is retried in place
under a new command id.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount
from orders.models import Order


class ShipmentStatus(models.TextChoices):
    CREATING = "creating", _("Being created")
    CREATED = "created", _("Created")
    FAILED = "failed", _("Not created")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_STATUSES = (ShipmentStatus.CREATING, ShipmentStatus.CREATED)


class LabelFormat(models.TextChoices):
    PDF = "PDF", _("PDF")
    ZPL = "ZPL", _("ZPL (thermal printers)")


class PackageType(models.TextChoices):
    PACKAGE = "PACKAGE", _("Parcel")
    DOX = "DOX", _("Envelope")
    PALLET = "PALLET", _("Pallet")
    OTHER = "OTHER", _("Other")


class Pickup(models.Model):
    """A carrier pickup ordered for some shipments (``pickups/create-commands``)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    allegro_id = models.CharField(_("Allegro pickup id"), max_length=64, blank=True)
    carrier_pickup_id = models.CharField(_("carrier pickup id"), max_length=64, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    command_id = models.UUIDField(_("create command id"), unique=True, default=uuid.uuid4)
    date = models.DateField(_("pickup date"), null=True, blank=True)
    min_time = models.TimeField(_("from"), null=True, blank=True)
    max_time = models.TimeField(_("until"), null=True, blank=True)
    address = models.JSONField(_("pickup address"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ordered by"),
    )
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pickup")
        verbose_name_plural = _("pickups")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "allegro_id"],
                name="pickup_unique_per_account",
                condition=~models.Q(allegro_id=""),
            )
        ]

    def __str__(self) -> str:
        return self.carrier_pickup_id or self.allegro_id or str(self.command_id)


class Shipment(models.Model):
    """One Ship-with-Allegro shipment of an order (possibly several parcels)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="+", verbose_name=_("order")
    )
    allegro_id = models.CharField(_("Allegro shipment id"), max_length=64, blank=True)
    command_id = models.UUIDField(_("create command id"), unique=True, default=uuid.uuid4)
    status = models.CharField(
        _("status"), max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATING
    )
    delivery_method_id = models.CharField(_("delivery method id"), max_length=64, blank=True)
    delivery_method_name = models.CharField(_("delivery method"), max_length=255, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    label_format = models.CharField(
        _("label format"), max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF
    )
    reference_number = models.CharField(_("reference number"), max_length=100, blank=True)
    insurance_amount = models.DecimalField(
        _("insurance"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    cod_amount = models.DecimalField(
        _("cash on delivery"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    # The create request as sent (the command's ``input``): a resent command must be identical.
    request = models.JSONField(_("request"), default=dict, blank=True)
    error_message = models.TextField(_("Allegro's message"), blank=True)
    error_field = models.CharField(_("field Allegro named"), max_length=128, blank=True)
    trace_id = models.CharField(_("Allegro trace id"), max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    allegro_created_at = models.DateTimeField(_("created on Allegro"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    label_printed_at = models.DateTimeField(_("label printed at"), null=True, blank=True)
    protocol_id = models.CharField(_("dispatch protocol"), max_length=64, blank=True)
    protocol_printed_at = models.DateTimeField(_("protocol printed at"), null=True, blank=True)
    pickup = models.ForeignKey(
        Pickup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("pickup"),
    )

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # never a second live shipment for one order
            models.UniqueConstraint(
                fields=["order"],
                name="shipment_one_live_per_order",
                condition=models.Q(status__in=["creating", "created"]),
            ),
            models.UniqueConstraint(
                fields=["account", "allegro_id"],
                name="shipment_unique_per_account",
                condition=~models.Q(allegro_id=""),
            ),
        ]
        indexes = [
            models.Index("account", models.F("created_at").desc(), name="shipment_account_created"),
            models.Index(fields=["account", "carrier"], name="shipment_account_carrier"),
        ]

    def __str__(self) -> str:
        return self.allegro_id or str(self.command_id)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class ShipmentPackage(models.Model):
    """A parcel of a shipment with its waybill (assigned when the shipment is created)."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="packages", verbose_name=_("shipment")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    type = models.CharField(
        _("type"), max_length=8, choices=PackageType.choices, default=PackageType.PACKAGE
    )
    length_cm = models.DecimalField(_("length (cm)"), max_digits=6, decimal_places=1)
    width_cm = models.DecimalField(_("width (cm)"), max_digits=6, decimal_places=1)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=6, decimal_places=1)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=7, decimal_places=3)
    text_on_label = models.CharField(_("text on the label"), max_length=100, blank=True)
    waybill = models.CharField(_("waybill"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["shipment_id", "position"]
        indexes = [models.Index(fields=["waybill"], name="shipment_package_waybill")]

    def __str__(self) -> str:
        return self.waybill or f"{self.length_cm}x{self.width_cm}x{self.height_cm}"


class PackagePreset(models.Model):
    """A box the shop uses (or a carrier's locker size), picked when creating a shipment."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=64)
    type = models.CharField(
        _("type"), max_length=8, choices=PackageType.choices, default=PackageType.PACKAGE
    )
    length_cm = models.DecimalField(_("length (cm)"), max_digits=6, decimal_places=1)
    width_cm = models.DecimalField(_("width (cm)"), max_digits=6, decimal_places=1)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=6, decimal_places=1)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=7, decimal_places=3)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("package preset")
        verbose_name_plural = _("package presets")
        ordering = ["account", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="package_preset_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryMethodDefault(models.Model):
    """The preset used for a delivery method when nobody picks one (bulk create, packing)."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    delivery_method_id = models.CharField(_("delivery method id"), max_length=64)
    delivery_method_name = models.CharField(_("delivery method"), max_length=255, blank=True)
    preset = models.ForeignKey(
        PackagePreset, on_delete=models.CASCADE, related_name="+", verbose_name=_("package")
    )

    class Meta:
        verbose_name = _("default package of a delivery method")
        verbose_name_plural = _("default packages of delivery methods")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "delivery_method_id"], name="delivery_method_default_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery_method_name or self.delivery_method_id}: {self.preset}"
