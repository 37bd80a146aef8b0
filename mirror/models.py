"""Sync bookkeeping: per (account, resource) state and cursor, quarantined orders, run log."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount


class Resource(models.TextChoices):
    OFFERS = "offers", _("Offers")
    OFFER_EVENTS = "offer_events", _("Offer events")
    OFFER_DETAILS = "offer_details", _("Offer details")
    ORDERS = "orders", _("Orders")
    ORDER_EVENTS = "order_events", _("Order events")
    RATINGS = "ratings", _("Ratings")
    ISSUES = "issues", _("Disputes")
    RETURN_POLICIES = "return_policies", _("Return policies")
    WARRANTIES = "warranties", _("Warranties")
    RECONCILIATION = "reconciliation", _("Order reconciliation")
    WAYBILL_BACKFILL = "waybill_backfill", _("Waybills of older orders")
    RETURNS = "returns", _("Customer returns")
    REFUNDS = "refunds", _("Refunds")
    REFUND_CLAIMS = "refund_claims", _("Commission refund claims")
    THREADS = "threads", _("Buyer messages")
    BILLING = "billing", _("Billing")


class SyncStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SyncState(models.Model):
    """Progress and cursor of one resource of one account.

    A cursor is written only in the transaction that commits the rows it covers.
    """

    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        related_name="sync_states",
        verbose_name=_("account"),
    )
    resource = models.CharField(_("resource"), max_length=32, choices=Resource.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING
    )
    initial_done = models.BooleanField(_("initial sync done"), default=False)
    cursor = models.CharField(_("cursor"), max_length=256, blank=True)
    cursor_at = models.DateTimeField(_("cursor time"), null=True, blank=True)
    fetched = models.IntegerField(_("fetched"), default=0)
    total = models.IntegerField(_("total"), null=True, blank=True)
    rate = models.FloatField(_("items per second"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    full_pass_at = models.DateTimeField(_("last full pass"), null=True, blank=True)
    repairs = models.IntegerField(_("repairs"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sync state")
        verbose_name_plural = _("sync states")
        ordering = ["account_id", "resource"]
        constraints = [
            models.UniqueConstraint(fields=["account", "resource"], name="sync_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.resource}"


class QuarantinedOrder(models.Model):
    """A checkout form whose refresh keeps failing; it no longer blocks the event cursor."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    checkout_form_id = models.UUIDField(_("checkout form id"))
    attempts = models.IntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    first_failed_at = models.DateTimeField(_("first failure"))
    last_failed_at = models.DateTimeField(_("last failure"))
    quarantined_at = models.DateTimeField(_("quarantined at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("quarantined order")
        verbose_name_plural = _("quarantined orders")
        ordering = ["-last_failed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "checkout_form_id"], name="quarantined_order_unique"
            )
        ]
        indexes = [
            models.Index(fields=["account", "resolved_at"], name="quarantine_open"),
        ]

    def __str__(self) -> str:
        return str(self.checkout_form_id)


class SyncRun(models.Model):
    """One execution of a sync task, kept as the sync log."""

    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    resource = models.CharField(_("resource"), max_length=32, choices=Resource.choices)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), null=True, blank=True)
    rows = models.IntegerField(_("rows written"), default=0)
    repairs = models.IntegerField(_("repairs"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["account", "resource", "-started_at"], name="sync_run_recent")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.resource}@{self.started_at:%Y-%m-%d %H:%M}"
