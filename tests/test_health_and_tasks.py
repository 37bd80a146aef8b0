"""/healthz, and the enqueue-on-commit task base class against the real Redis broker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from backoffice.celery import app as celery_app


@celery_app.task(name="tests.probe")
def probe(value: int) -> int:
    return value


@pytest.mark.django_db
def test_healthz_ok(client: Any) -> None:
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_names_the_broken_broker(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 on loopback: nothing listens there, so the connection is really refused.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert json.loads(response.content) == {"database": "ok", "broker": "unreachable"}


def test_task_base_class_is_transaction_aware() -> None:
    from backoffice.tasks import TransactionAwareTask

    assert isinstance(probe, TransactionAwareTask)
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_time_limit
    assert celery_app.conf.task_soft_time_limit
    assert celery_app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.django_db
def test_delay_in_transaction_waits_for_commit(
    redis_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    redis_client.delete("celery")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            result = probe.delay(41)
        assert redis_client.llen("celery") == 0  # not sent inside the transaction
    assert result.id
    assert len(callbacks) == 1
    callbacks[0]()
    assert redis_client.llen("celery") == 1
    message = json.loads(redis_client.lpop("celery"))
    assert message["headers"]["task"] == "tests.probe"
    assert message["headers"]["id"] == result.id


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_sends_nothing(redis_client: Any) -> None:
    redis_client.delete("celery")

    class Boom(Exception):
        pass

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            probe.delay(1)
            raise Boom

    with pytest.raises(Boom):
        enqueue_then_fail()
    assert redis_client.llen("celery") == 0
    probe.delay(2)  # outside any transaction: sent at once
    assert redis_client.llen("celery") == 1


@pytest.mark.django_db
def test_tasks_refuse_model_instances(alice: Any) -> None:
    with pytest.raises(TypeError, match="ids"):
        probe.delay(alice)
