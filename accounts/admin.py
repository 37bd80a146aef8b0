"""Admin: staff users, Allegro accounts (never their tokens), grants, the read-only audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import (
    AccountGrant,
    AccountStatus,
    AccountToken,
    AllegroAccount,
    AuditLogEntry,
    User,
)
from accounts.services import account_delete


class AccountGrantInline(admin.TabularInline[AccountGrant, User]):
    model = AccountGrant
    extra = 0
    autocomplete_fields = ["account"]


@admin.register(User)
class StaffUserAdmin(UserAdmin[User]):
    inlines = [AccountGrantInline]
    list_display = ("email", "username", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "username", "first_name", "last_name")
    ordering = ("email",)
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )


@admin.register(AllegroAccount)
class AllegroAccountAdmin(admin.ModelAdmin[AllegroAccount]):
    """Tokens are never shown: only their expiry. Linking starts on the change list ("Link an
    Allegro account"); deleting asks for confirmation (Django's page) and removes the account's
    tokens, grants and mirrored data."""

    change_list_template = "admin/accounts/allegroaccount/change_list.html"
    list_display = ("login", "allegro_user_id", "environment", "status", "linked_at")
    list_filter = ("environment", "status")
    search_fields = ("login", "allegro_user_id", "company_name")
    readonly_fields = (
        "status",
        "linked_at",
        "token_expires_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AllegroAccount]:
        return super().get_queryset(request).select_related("token")

    @admin.display(description=gettext_lazy("access token expires at"))
    def token_expires_at(self, obj: AllegroAccount) -> object:
        try:
            return obj.token.expires_at
        except AccountToken.DoesNotExist:
            return "—"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        logins = list(
            AllegroAccount.objects.filter(status=AccountStatus.REAUTH_REQUIRED).values_list(
                "login", flat=True
            )
        )
        if logins and request.method == "GET":
            self.message_user(
                request,
                _("Re-authorisation needed (synchronisation stopped): %(logins)s")
                % {"logins": ", ".join(logins)},
                level=messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def delete_model(self, request: HttpRequest, obj: AllegroAccount) -> None:
        account_delete(account=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AllegroAccount]) -> None:
        for account in queryset:
            account_delete(account=account, actor=request.user)


@admin.register(AccountGrant)
class AccountGrantAdmin(admin.ModelAdmin[AccountGrant]):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "account__login")
    autocomplete_fields = ["user", "account"]


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin[AuditLogEntry]):
    list_display = ("created_at", "actor", "account", "action", "target", "allegro_trace_id")
    list_filter = ("action", "account")
    search_fields = ("action", "target", "allegro_trace_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
