"""The audit log service and its read-only admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from accounts.audit import audit_log
from accounts.models import AuditLogEntry

pytestmark = pytest.mark.django_db


def test_audit_log_writes_an_entry(alice: Any, account: Any) -> None:
    entry = audit_log(
        actor=alice,
        account=account,
        action="offer.price_changed",
        target="offer:7788",
        before={"price": "10.00"},
        after={"price": "12.50"},
        allegro_trace_id="trace-123",
    )
    stored = AuditLogEntry.objects.get(pk=entry.pk)
    assert stored.actor == alice
    assert stored.account == account
    assert stored.action == "offer.price_changed"
    assert stored.target == "offer:7788"
    assert stored.before == {"price": "10.00"}
    assert stored.after == {"price": "12.50"}
    assert stored.allegro_trace_id == "trace-123"
    assert stored.created_at is not None


def test_audit_log_without_trace_or_actor(account: Any) -> None:
    entry = audit_log(
        actor=AnonymousUser(),
        account=account,
        action="sync.started",
        target="orders",
        before=None,
        after={"cursor": None},
    )
    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.allegro_trace_id == ""
    assert AuditLogEntry.objects.count() == 1


def test_audit_log_is_read_only_in_admin(client_for: Any, superuser: Any, account: Any) -> None:
    entry = audit_log(
        actor=superuser, account=account, action="a", target="t", before=None, after=None
    )
    client = client_for(superuser)
    changelist = client.get(reverse("admin:accounts_auditlogentry_changelist"))
    assert changelist.status_code == 200
    assert client.get(reverse("admin:accounts_auditlogentry_add")).status_code == 403
    change_url = reverse("admin:accounts_auditlogentry_change", args=[entry.pk])
    page = client.get(change_url)
    assert page.status_code == 200  # viewable ...
    assert client.post(change_url, {"action": "tampered"}).status_code == 403  # ... not editable
    delete_url = reverse("admin:accounts_auditlogentry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "a"


def test_admin_lists_the_models(client_for: Any, superuser: Any) -> None:
    client = client_for(superuser)
    for name in (
        "admin:accounts_user_changelist",
        "admin:accounts_allegroaccount_changelist",
        "admin:accounts_accountgrant_changelist",
        "admin:django_celery_beat_periodictask_changelist",
    ):
        assert client.get(reverse(name)).status_code == 200, name


def test_staff_without_superuser_cannot_open_admin(client_for: Any, alice: Any) -> None:
    response = client_for(alice).get(reverse("admin:index"))
    assert response.status_code == 302
