"""Staff users, linked Allegro accounts (the tenants), per-staff grants and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A member of staff. Signs in with e-mail and password (allauth)."""

    email = models.EmailField(_("email address"), unique=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("staff user")  # type: ignore[assignment]
        verbose_name_plural = _("staff users")  # type: ignore[assignment]


class Environment(models.TextChoices):
    SIMULATOR = "simulator", _("Simulator")
    SANDBOX = "sandbox", _("Allegro sandbox")
    PRODUCTION = "production", _("Allegro production")


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REAUTH_REQUIRED = "reauth_required", _("Re-authorisation required")
    UNLINKED = "unlinked", _("Unlinked")


class Role(models.IntegerChoices):
    """Ordered: a higher value includes every permission of the lower ones."""

    VIEWER = 10, _("Viewer")
    OPERATOR = 20, _("Operator")
    MANAGER = 30, _("Manager")


class AllegroAccount(models.Model):
    """A seller account on Allegro linked to this back-office. Tokens live in a later model."""

    allegro_user_id = models.CharField(_("Allegro user id"), max_length=64)
    login = models.CharField(_("login"), max_length=128)
    company_name = models.CharField(_("company name"), max_length=255, blank=True)
    base_marketplace = models.CharField(
        _("base marketplace"), max_length=32, default="allegro-pl", blank=True
    )
    environment = models.CharField(
        _("environment"), max_length=16, choices=Environment.choices, default=Environment.SIMULATOR
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful call"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Allegro account")
        verbose_name_plural = _("Allegro accounts")
        ordering = ["login", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "allegro_user_id"],
                name="allegro_account_unique_per_environment",
            )
        ]

    def __str__(self) -> str:
        return self.login


class AccountGrant(models.Model):
    """Gives one staff user a role on one Allegro account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account_grants",
        verbose_name=_("staff user"),
    )
    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="grants",
        verbose_name=_("Allegro account"),
    )
    role = models.PositiveSmallIntegerField(_("role"), choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account grant")
        verbose_name_plural = _("account grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="account_grant_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.account} ({self.get_role_display()})"


class AuditLogEntry(models.Model):
    """One state-changing staff action. Written through ``accounts.services.audit_log``."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("Allegro account"),
    )
    action = models.CharField(_("action"), max_length=100)
    target = models.CharField(_("target"), max_length=255, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    allegro_trace_id = models.CharField(_("Allegro trace id"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="audit_account_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"


class AccountToken(models.Model):
    """The OAuth token pair of one linked account, encrypted at rest (``accounts.crypto``).

    Only ciphertext is stored; ``accounts.tokens`` decrypts on use. No attribute of this model
    holds plaintext, so ``repr``, the admin and templates cannot show a token by accident.
    """

    account = models.OneToOneField(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="token",
        verbose_name=_("Allegro account"),
    )
    access_token_ciphertext = models.TextField(_("access token (encrypted)"), editable=False)
    refresh_token_ciphertext = models.TextField(
        _("refresh token (encrypted)"), blank=True, editable=False
    )
    expires_at = models.DateTimeField(_("access token expires at"))
    scopes = models.TextField(_("scopes"), blank=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    refresh_failures = models.PositiveSmallIntegerField(
        _("consecutive refresh failures"), default=0
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Allegro token")
        verbose_name_plural = _("Allegro tokens")

    def __str__(self) -> str:
        return f"token of account {self.account_id}"

    def __repr__(self) -> str:
        return f"<AccountToken account={self.account_id} expires_at={self.expires_at}>"
