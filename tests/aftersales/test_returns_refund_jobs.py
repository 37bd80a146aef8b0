"""Refunds as durable jobs against the simulator: a job killed after the request was sent and
before the answer was stored, then retried, leaves exactly one refund; a double-submitted refund
is one refund; a queued message waits out the 1 request/s limit instead of failing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)


class Killed(BaseException):
    """The worker dies: not an ``Exception``, so the job runner cannot record it."""


def paid_form(sim: Any, seller: str) -> dict[str, Any]:
    form: dict[str, Any] = sim.control(
        "POST", f"/sellers/{seller}/purchases", {"pay": True, "buyerLogin": "zwrot-kupujacy"}
    )
    return form


def refunds_on_sim(sim: Any, account: Any, order_id: str) -> list[dict[str, Any]]:
    import httpx

    token = sim.token(account.allegro_user_id)
    response = httpx.get(
        f"{sim.url}/payments/refunds",
        params={"order.id": order_id},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.allegro.public.v1+json",
        },
    )
    assert response.status_code == 200, response.text
    refunds: list[dict[str, Any]] = response.json()["refunds"]
    return refunds


@pytest.fixture
def linked(link_account: Any) -> Any:
    from tests.plugins.allegro_accounts import SELLER_LOGIN

    return link_account(SELLER_LOGIN)


@pytest.fixture
def manager(linked: Any) -> Any:
    from accounts.models import AccountGrant, Role
    from tests.factories import UserFactory

    user = UserFactory()
    AccountGrant.objects.create(user=user, account=linked, role=Role.MANAGER)
    return user


def test_a_refund_job_killed_after_sending_is_resent_with_the_same_command_once(
    linked: Any, sim: Any, manager: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aftersales import refunds
    from aftersales.models import Refund
    from jobs.models import Job, JobStatus
    from jobs.tasks import job_run

    settings.CELERY_TASK_ALWAYS_EAGER = False
    form = paid_form(sim, linked.allegro_user_id)
    li = form["lineItems"][0]
    original = refunds._store

    def die(**kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(refunds, "_store", die)
    refund = refunds.refund_create(
        actor=manager,
        account=linked,
        order_id=form["id"],
        lines=[refunds.RefundLineInput(line_item_id=li["id"], quantity=1)],
        reason="REFUND",
    )
    assert refund.command_id
    job = Job.objects.get(kind=refunds.REFUND_KIND, params__refund=refund.pk)
    with pytest.raises(Killed):
        job_run(str(job.pk))
    # The request reached Allegro; the answer was never stored.
    assert len(refunds_on_sim(sim, linked, form["id"])) == 1
    refund.refresh_from_db()
    assert refund.allegro_id == ""
    assert refund.local_state == Refund.Local.SENT
    # The lease of the dead run runs out; the job is resumed with the same command id.
    monkeypatch.setattr(refunds, "_store", original)
    Job.objects.filter(pk=job.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    for _ in range(5):
        if job_run(str(job.pk)) == JobStatus.DONE:
            break
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
    on_sim = refunds_on_sim(sim, linked, form["id"])
    assert len(on_sim) == 1
    refund.refresh_from_db()
    assert refund.allegro_id == on_sim[0]["id"]
    assert refund.status == "SUCCESS"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    from accounts.models import AuditLogEntry

    assert AuditLogEntry.objects.filter(action="refund.create", account=linked).count() == 1


def test_a_double_submitted_refund_is_one_refund(linked: Any, sim: Any, manager: Any) -> None:
    from aftersales import refunds
    from aftersales.models import Refund
    from jobs.models import Job, JobStatus
    from jobs.tasks import job_run

    form = paid_form(sim, linked.allegro_user_id)
    li = form["lineItems"][0]
    command = "2f1d7c1e-5d0c-4c43-9a51-000000000001"
    made = [
        refunds.refund_create(
            actor=manager,
            account=linked,
            order_id=form["id"],
            lines=[refunds.RefundLineInput(line_item_id=li["id"], quantity=1)],
            reason="REFUND",
            command_id=command,
        )
        for _ in range(2)
    ]
    assert made[0].pk == made[1].pk
    assert Refund.objects.filter(account=linked, order_id=form["id"]).count() == 1
    jobs = Job.objects.filter(kind=refunds.REFUND_KIND, params__refund=made[0].pk)
    assert jobs.count() == 1
    for _ in range(5):
        if job_run(str(jobs[0].pk)) == JobStatus.DONE:
            break
        jobs.update(next_poll_at=None)
    assert len(refunds_on_sim(sim, linked, form["id"])) == 1


def test_only_managers_refund(linked: Any, sim: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from accounts.models import AccountGrant, Role
    from aftersales import refunds
    from tests.factories import UserFactory

    operator = UserFactory()
    AccountGrant.objects.create(user=operator, account=linked, role=Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        refunds.refund_create(
            actor=operator, account=linked, order_id="x", lines=[], reason="REFUND"
        )


def test_a_message_waits_out_the_rate_limit_then_is_sent(
    linked: Any, sim: Any, manager: Any, settings: Any
) -> None:
    from aftersales import messaging
    from aftersales.models import Message, MessageThread
    from jobs.models import Job, JobStatus
    from jobs.tasks import job_run
    from tests.mirror.conftest import drive

    settings.CELERY_TASK_ALWAYS_EAGER = False
    drive(linked, "threads")
    thread = MessageThread.objects.filter(account=linked).first()
    assert thread is not None
    first = messaging.message_send(actor=manager, account=linked, thread=thread, text="Pierwsza")
    second = messaging.message_send(actor=manager, account=linked, thread=thread, text="Druga")
    jobs = list(Job.objects.filter(kind=messaging.SEND_KIND).order_by("created_at"))
    sim.control("DELETE", "/stats")
    # Allegro's one send a second, scaled down to one in a fifth of a second (``Retry-After:
    # 0.2``): the wait is the same, only shorter.
    sim.control("PUT", "/settings", {"message_send_interval": 0.2})
    assert job_run(str(jobs[0].pk)) == JobStatus.DONE
    # The second send comes within the interval: Allegro answers 429; the transport or the job
    # (``again``) waits it out, and the staff member's message is never failed.
    for _ in range(5):
        outcome = job_run(str(jobs[1].pk))
        if outcome == JobStatus.DONE:
            break
        assert outcome == "waiting"
        sim.control("POST", "/clock", {"advance": 2})
        Job.objects.filter(pk=jobs[1].pk).update(next_poll_at=None)
    assert sim.control("GET", "/stats")["rateLimited"] >= 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.local_state == second.local_state == Message.Local.SENT
    assert first.allegro_id != second.allegro_id
