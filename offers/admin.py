"""Read-only admin for the offer mirror (Allegro is the source of truth)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from offers.models import Offer


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin[Offer]):
    list_display = ["allegro_id", "name", "account", "status", "price_amount", "stock_available"]
    list_filter = ["status", "selling_format", "account"]
    search_fields = ["allegro_id", "name", "external_id", "ean"]
    list_select_related = ["account"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
