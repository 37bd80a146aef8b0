"""Read-only admin for the order mirror (Allegro is the source of truth)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from orders.models import Order, OrderEvent, OrderLineItem, TrackingNumber


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LineItemInline(ReadOnly, admin.TabularInline[OrderLineItem, Model]):
    model = OrderLineItem
    fields = ["allegro_id", "offer_id", "offer_name", "quantity", "price_amount", "price_currency"]
    extra = 0


class TrackingInline(ReadOnly, admin.TabularInline[TrackingNumber, Model]):
    model = TrackingNumber
    fields = ["waybill", "carrier_id", "carrier_name", "created_at"]
    extra = 0


@admin.register(Order)
class OrderAdmin(ReadOnly, admin.ModelAdmin[Order]):
    list_display = [
        "allegro_id",
        "account",
        "buyer_login",
        "status",
        "fulfillment_status",
        "total_amount",
        "currency",
        "bought_at",
        "quarantined",
    ]
    list_filter = ["status", "fulfillment_status", "marketplace", "quarantined", "account"]
    search_fields = ["=allegro_id", "buyer_login", "buyer_email"]
    list_select_related = ["account"]
    inlines = [LineItemInline, TrackingInline]
    show_full_result_count = False


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnly, admin.ModelAdmin[OrderEvent]):
    list_display = ["allegro_id", "account", "type", "occurred_at", "checkout_form_id", "revision"]
    list_filter = ["type", "account"]
    search_fields = ["=checkout_form_id", "=allegro_id"]
    show_full_result_count = False
