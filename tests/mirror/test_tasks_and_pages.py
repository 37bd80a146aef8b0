"""Scheduling, task guards (skip, lock, bounded retries) and the progress fragment."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.mirror.conftest import drive

pytestmark = pytest.mark.django_db(transaction=True)


def test_setup_schedules_is_idempotent_and_keeps_admin_edits() -> None:
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedules")
    tasks = {t.name: t for t in PeriodicTask.objects.filter(task="mirror.tasks.sync_all")}
    every = {json.loads(t.args)[0]: t.interval.every for t in tasks.values() if t.interval}
    assert every == {
        "order_events": 30,
        "offer_events": 60,
        "offer_details": 300,
        "ratings": 300,
        "issues": 300,
        "return_policies": 3600,
        "warranties": 3600,
        "waybill_backfill": 120,
        "returns": 300,
        "refunds": 300,
        "refund_claims": 3600,
        "threads": 60,
        "billing": 900,
    }
    nightly = tasks["mirror: nightly reconciliation"]
    assert (nightly.crontab.minute, nightly.crontab.hour) == ("15", "3")
    edited = tasks["mirror: ratings"]
    edited.enabled = False
    edited.save()

    call_command("setup_schedules")

    # 13 interval entries and the nightly reconciliation; nothing duplicated by the second run.
    assert PeriodicTask.objects.filter(task="mirror.tasks.sync_all").count() == 14
    assert PeriodicTask.objects.filter(task="jobs.tasks.jobs_resume").count() == 1
    assert not PeriodicTask.objects.get(name="mirror: ratings").enabled


@pytest.mark.parametrize("status", ["unlinked", "reauth_required"])
def test_task_skips_accounts_that_cannot_sync(linked: Any, sim: Any, status: str) -> None:
    from mirror.models import SyncRun
    from mirror.tasks import sync_resource

    linked.status = status
    linked.save()
    sim.control("DELETE", "/stats")

    assert sync_resource.apply(args=(linked.pk, "offers")).get() == "skipped"

    assert not SyncRun.objects.filter(account=linked).exists()
    assert sim.control("GET", "/stats")["paths"] == {}


def test_lock_keeps_a_second_run_of_the_same_pair_out(linked: Any, sim: Any) -> None:
    from django.db import connection

    from mirror.locks import lock_held, lock_key
    from mirror.services import Outcome, sync_run

    key1, key2 = lock_key(account_id=linked.pk, resource="orders")
    params = connection.get_connection_params()
    other = psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [key1, key2])
        sim.control("DELETE", "/stats")
        # order events share the orders lock: it is busy
        assert sync_run(account=linked, resource="order_events") == Outcome.LOCKED
        assert sim.control("GET", "/stats")["paths"] == {}
        # another resource of the same account is not blocked
        assert sync_run(account=linked, resource="return_policies") == Outcome.DONE
        assert lock_held(account_id=linked.pk, resource="orders")
    finally:
        other.close()  # the server drops the lock with the session
    for _ in range(100):
        if not lock_held(account_id=linked.pk, resource="orders"):
            break
        time.sleep(0.05)
    assert sync_run(account=linked, resource="orders") == Outcome.DONE


def test_transient_errors_give_up_after_bounded_retries_and_are_recorded(
    linked: Any, sim: Any
) -> None:
    from mirror.models import SyncState, SyncStatus
    from mirror.tasks import MAX_RETRIES, sync_resource

    sim.control("PUT", "/faults", {"error_rate": 1.0, "error_statuses": [503]})
    try:
        outcome = sync_resource.apply(args=(linked.pk, "return_policies"), retries=MAX_RETRIES)
        assert outcome.get() == "failed"
    finally:
        sim.control("DELETE", "/faults")
    state = SyncState.objects.get(account=linked, resource="return_policies")
    assert state.status == SyncStatus.FAILED
    assert "ServerError" in state.last_error
    assert "Bearer" not in state.last_error


def test_sync_start_initial_queues_each_resource_on_commit(linked: Any, redis_client: Any) -> None:
    from django.db import transaction

    from mirror.services import INITIAL_RESOURCES, sync_start_initial

    redis_client.delete("celery")
    with transaction.atomic():
        sync_start_initial(account=linked)
        assert redis_client.llen("celery") == 0  # nothing before the commit
    assert redis_client.llen("celery") == len(INITIAL_RESOURCES)
    redis_client.delete("celery")


def test_progress_fragment_for_granted_staff_only(
    linked: Any,
    initial_sync: Callable[[], None],
    client_for: Callable[[Any], Any],
    grant: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    from accounts.models import Role
    from mirror.models import SyncState, SyncStatus
    from tests.factories import UserFactory

    initial_sync()
    viewer = UserFactory(email="viewer@example.com", username="viewer")
    grant(viewer, linked, Role.VIEWER)
    stranger = UserFactory(email="stranger@example.com", username="stranger")
    url = reverse("mirror:progress", args=[linked.pk])

    client = client_for(viewer)
    with django_assert_max_num_queries(12):
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-resource="orders"' in html
    assert "hx-get" not in html  # nothing running: no polling
    SyncState.objects.filter(account=linked, resource="orders").update(
        status=SyncStatus.RUNNING, fetched=10, total=40, rate=5.0
    )
    html = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert 'value="25"' in html  # 10 of 40

    assert client_for(stranger).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_progress_template_tag_renders_without_javascript(linked: Any) -> None:
    from django.template import Context, Template

    html = Template("{% load mirror_tags %}{% sync_progress account %}").render(
        Context({"account": linked})
    )
    assert 'data-testid="sync-progress"' in html
    assert 'data-resource="offers"' in html


def test_drive_helper_runs_reconciliation_with_zero_repairs_on_a_fresh_mirror(
    linked: Any, initial_sync: Callable[[], None]
) -> None:
    from mirror.models import SyncState

    initial_sync()
    drive(linked, "reconciliation")
    assert SyncState.objects.get(account=linked, resource="reconciliation").repairs == 0


def test_linking_an_account_queues_its_initial_sync(
    link_account: Callable[..., Any], redis_client: Any
) -> None:
    from mirror.services import INITIAL_RESOURCES

    redis_client.delete("celery")
    account = link_account("ElektroMax_PL")
    queued = [json.loads(m) for m in redis_client.lrange("celery", 0, -1)]
    redis_client.delete("celery")
    calls = [
        json.loads(base64.b64decode(m["body"]))[0]
        for m in queued
        if m["headers"]["task"] == "mirror.tasks.sync_resource"
    ]
    assert sorted(resource for _, resource in calls) == sorted(str(r) for r in INITIAL_RESOURCES)
    assert {account_id for account_id, _ in calls} == {account.pk}
