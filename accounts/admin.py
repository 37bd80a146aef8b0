"""Admin: staff users, Allegro accounts (never their tokens), grants, the read-only audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
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
from ui.changes import audit_action_label, audit_changes


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
    list_display = ("created_at", "actor", "account", "action_label", "target", "allegro_trace_id")
    list_filter = ("action", "account")
    search_fields = ("action", "target", "allegro_trace_id")
    date_hierarchy = "created_at"
    # Read-only: the readable changes first, Allegro's raw before/after documents below them.
    fields = readonly_fields = (
        "created_at",
        "actor",
        "account",
        "action_label",
        "action",
        "target",
        "changes",
        "allegro_trace_id",
        "before",
        "after",
    )

    @admin.display(description=gettext_lazy("action"), ordering="action")
    def action_label(self, obj: AuditLogEntry) -> str:
        return audit_action_label(obj.action)

    @admin.display(description=gettext_lazy("changes (before → after)"))
    def changes(self, obj: AuditLogEntry) -> str:
        rows = audit_changes(action=obj.action, before=obj.before, after=obj.after)
        if not rows:
            return "—"
        return format_html(
            '<ul class="changes">{}</ul>',
            format_html_join(
                "",
                "<li>{}: {}</li>",
                (
                    (row.field, f"{row.before} → {row.after}" if row.changed else row.after)
                    for row in rows
                ),
            ),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
