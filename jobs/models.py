"""Durable staff jobs: asynchronous work a person started (an offer edit Allegro answered 202, a
bulk change, later shipment creation, label batches and pickups).

A job is a row, never a cache entry: it survives a cache flush, a Redis restart and a worker
restart, and it is the source of its audit entries. Each item is one thing the job acts on
(an offer, an order) with its own outcome, Allegro's message and the command/operation id that
makes a resent request idempotent.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AllegroAccount


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting for Allegro")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.WAITING)


class ItemStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent to Allegro")
    SUCCESS = "success", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


FINAL_ITEM_STATUSES = (ItemStatus.SUCCESS, ItemStatus.FAILED, ItemStatus.SKIPPED)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("started by"),
    )
    account = models.ForeignKey(
        AllegroAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("Allegro account"),
        help_text=_("Empty when the job spans several accounts."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    total = models.PositiveIntegerField(_("items"), default=0)
    processed = models.PositiveIntegerField(_("items processed"), default=0)
    failed = models.PositiveIntegerField(_("items failed"), default=0)
    attempts = models.PositiveSmallIntegerField(_("transient failures in a row"), default=0)
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("next look at Allegro"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="job_actor_created"),
            models.Index(
                fields=["status", "leased_until"],
                name="job_active",
                condition=models.Q(status__in=["queued", "running", "waiting"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))


class JobItem(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(
        AllegroAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    key = models.CharField(_("Allegro id"), max_length=128)
    label = models.CharField(_("label"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING
    )
    message = models.TextField(_("Allegro's message"), blank=True)
    field = models.CharField(_("field Allegro named"), max_length=128, blank=True)
    command_id = models.CharField(_("Allegro command id"), max_length=64, blank=True)
    operation_url = models.CharField(_("Allegro operation"), max_length=1024, blank=True)
    trace_id = models.CharField(_("Allegro trace id"), max_length=128, blank=True)
    data = models.JSONField(_("request"), default=dict, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    audited_at = models.DateTimeField(_("audited at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("job item")
        verbose_name_plural = _("job items")
        ordering = ["job", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "account", "key"], name="job_item_unique_key")
        ]
        indexes = [
            models.Index(fields=["account", "key", "-updated_at"], name="job_item_target"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
