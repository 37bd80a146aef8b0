"""Read-only admin for disputes, ratings and return policies (Allegro is the source of truth)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from aftersales.models import Dispute, DisputeMessage, Rating, RatingRevision, ReturnPolicy


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MessageInline(ReadOnly, admin.TabularInline[DisputeMessage, Model]):
    model = DisputeMessage
    fields = ["created_at", "author_login", "author_role", "text"]
    extra = 0


class RevisionInline(ReadOnly, admin.TabularInline[RatingRevision, Model]):
    model = RatingRevision
    fields = ["recorded_at", "kind", "last_changed_at"]
    extra = 0


@admin.register(Dispute)
class DisputeAdmin(ReadOnly, admin.ModelAdmin[Dispute]):
    list_display = [
        "allegro_id",
        "account",
        "type",
        "status",
        "subject",
        "buyer_login",
        "opened_at",
    ]
    list_filter = ["type", "status", "account"]
    search_fields = ["=allegro_id", "buyer_login", "=checkout_form_id"]
    inlines = [MessageInline]


@admin.register(Rating)
class RatingAdmin(ReadOnly, admin.ModelAdmin[Rating]):
    list_display = [
        "allegro_id",
        "account",
        "buyer_login",
        "recommended",
        "last_changed_at",
        "deleted_at",
    ]
    list_filter = ["recommended", "account"]
    search_fields = ["=allegro_id", "buyer_login"]
    inlines = [RevisionInline]


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(ReadOnly, admin.ModelAdmin[ReturnPolicy]):
    list_display = ["name", "account", "availability", "withdrawal_period", "is_fulfillment"]
    list_filter = ["account"]
