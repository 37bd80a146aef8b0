"""Admin for shipping: shipments and pickups are read-only (Allegro owns them), presets editable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from shipping.models import DeliveryMethodDefault, PackagePreset, Pickup, Shipment, ShipmentPackage


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PackageInline(ReadOnly, admin.TabularInline[ShipmentPackage, Model]):
    model = ShipmentPackage
    fields = ["position", "type", "length_cm", "width_cm", "height_cm", "weight_kg", "waybill"]
    extra = 0


@admin.register(Shipment)
class ShipmentAdmin(ReadOnly, admin.ModelAdmin[Shipment]):
    list_display = [
        "allegro_id",
        "account",
        "order",
        "status",
        "carrier",
        "label_format",
        "created_at",
        "label_printed_at",
        "cancelled_at",
    ]
    list_filter = ["status", "carrier", "label_format", "account"]
    search_fields = ["allegro_id", "command_id", "packages__waybill", "order__allegro_id"]
    list_select_related = ["account", "order"]
    raw_id_fields = ["order", "pickup", "created_by"]
    inlines = [PackageInline]


@admin.register(Pickup)
class PickupAdmin(ReadOnly, admin.ModelAdmin[Pickup]):
    list_display = ["allegro_id", "carrier_pickup_id", "account", "carrier", "date", "created_at"]
    list_filter = ["carrier", "account"]
    search_fields = ["allegro_id", "carrier_pickup_id"]


@admin.register(PackagePreset)
class PackagePresetAdmin(admin.ModelAdmin[PackagePreset]):
    list_display = [
        "name",
        "account",
        "type",
        "length_cm",
        "width_cm",
        "height_cm",
        "weight_kg",
        "position",
    ]
    list_filter = ["account", "type"]
    search_fields = ["name"]


@admin.register(DeliveryMethodDefault)
class DeliveryMethodDefaultAdmin(admin.ModelAdmin[DeliveryMethodDefault]):
    list_display = ["delivery_method_name", "delivery_method_id", "account", "preset"]
    list_filter = ["account"]
