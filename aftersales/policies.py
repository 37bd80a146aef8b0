"""Return policies (create, edit, delete, copy to other accounts) and the warranty reads.

Managers change policies; everyone granted reads them. Each change is audited with Allegro's
trace id and the mirror takes Allegro's answer. A copy to more than one account is a durable
job (``aftersales.policy_copy``): one request per account, each item with its own outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit import audit_log
from accounts.models import AllegroAccount, Role
from accounts.selectors import accounts_visible_to, role_expression
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from aftersales.models import ImpliedWarranty, ReturnPolicy, Warranty
from aftersales.sync import policy_fields
from allegro import errors
from allegro.api import return_policies as policies_api
from allegro.api._base import dig
from jobs.models import ItemStatus, Job, JobItem
from jobs.registry import FINISHED, Step
from jobs.services import ItemSpec, job_audit_once, job_create, job_finish, job_item_update
from ui.paging import Accounts, account_filter

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

COPY_KIND = "aftersales.policy_copy"
COPY_LABEL = gettext_lazy("Return policy copy")


# --- reads ------------------------------------------------------------------------------------


def return_policies_of(*, accounts: Accounts) -> QuerySet[ReturnPolicy]:
    return (
        ReturnPolicy.objects.filter(account__in=account_filter(accounts))
        .select_related("account")
        .order_by("account__login", "name", "id")
    )


def return_policy_get_for_user(*, user: AnyUser, pk: int) -> ReturnPolicy:
    try:
        return (
            ReturnPolicy.objects.filter(account__in=accounts_visible_to(user=user))
            .select_related("account")
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=pk)
        )
    except ReturnPolicy.DoesNotExist as exc:
        raise Http404("No such return policy.") from exc


def warranties_of(*, accounts: Accounts) -> QuerySet[Warranty]:
    return (
        Warranty.objects.filter(account__in=account_filter(accounts))
        .select_related("account")
        .order_by("account__login", "name", "id")
    )


def implied_warranties_of(*, accounts: Accounts) -> QuerySet[ImpliedWarranty]:
    return (
        ImpliedWarranty.objects.filter(account__in=account_filter(accounts))
        .select_related("account")
        .order_by("account__login", "name", "id")
    )


def return_policy_input_of(*, policy: ReturnPolicy) -> policies_api.ReturnPolicyInput:
    """The editable shape of a mirrored policy (the edit form's start, the copy's body)."""
    raw = policy.raw if isinstance(policy.raw, dict) else {}
    address = raw.get("address") if isinstance(raw.get("address"), dict) else None
    options = raw.get("options") if isinstance(raw.get("options"), dict) else {}
    return policies_api.ReturnPolicyInput(
        name=policy.name,
        availability=policy.availability or "FULL",  # type: ignore[arg-type]
        is_fulfillment=policy.is_fulfillment,
        restriction_cause=dig(raw, "availability", "restrictionCause", "name"),
        withdrawal_period=policy.withdrawal_period or None,
        return_cost_by=policy.return_cost_covered_by or None,  # type: ignore[arg-type]
        address=policies_api.ReturnAddress(
            name=str(address.get("name") or ""),
            street=str(address.get("street") or ""),
            post_code=str(address.get("postCode") or ""),
            city=str(address.get("city") or ""),
            country_code=str(address.get("countryCode") or "PL"),
        )
        if address
        else None,
        phone=dig(raw, "contact", "phoneNumber"),
        email=dig(raw, "contact", "email"),
        options={str(k): bool(v) for k, v in (options or {}).items() if isinstance(v, bool)},
    )


# --- changes ----------------------------------------------------------------------------------


def _store(*, account: AllegroAccount, doc: policies_api.ReturnPolicy) -> ReturnPolicy:
    policy, _created = ReturnPolicy.objects.update_or_create(
        account=account,
        allegro_id=doc.id,
        defaults={"synced_at": timezone.now(), **policy_fields(doc)},
    )
    return policy


def return_policy_create(
    *, account: AllegroAccount, data: policies_api.ReturnPolicyInput, actor: AnyUser
) -> ReturnPolicy:
    account_require_role(user=actor, account=account, role=Role.MANAGER)
    account_require_writable(account=account)
    client = allegro_client_for(account=account)
    doc = policies_api.create_return_policy(client, policy=data)
    with transaction.atomic():
        policy = _store(account=account, doc=doc)
        audit_log(
            actor=actor,
            account=account,
            action="return_policy.create",
            target=f"return_policy:{doc.id}",
            before=None,
            after=data.as_json(),
            allegro_trace_id=doc.trace_id,
        )
    return policy


def return_policy_update(
    *, policy: ReturnPolicy, data: policies_api.ReturnPolicyInput, actor: AnyUser
) -> ReturnPolicy:
    account_require_role(user=actor, account=policy.account, role=Role.MANAGER)
    account_require_writable(account=policy.account)
    before = return_policy_input_of(policy=policy).as_json(for_update=True)
    client = allegro_client_for(account=policy.account)
    doc = policies_api.update_return_policy(client, policy_id=policy.allegro_id, policy=data)
    with transaction.atomic():
        stored = _store(account=policy.account, doc=doc)
        audit_log(
            actor=actor,
            account=policy.account,
            action="return_policy.update",
            target=f"return_policy:{policy.allegro_id}",
            before=before,
            after=data.as_json(for_update=True),
            allegro_trace_id=doc.trace_id,
        )
    return stored


def return_policy_delete(*, policy: ReturnPolicy, actor: AnyUser) -> None:
    account_require_role(user=actor, account=policy.account, role=Role.MANAGER)
    account_require_writable(account=policy.account)
    client = allegro_client_for(account=policy.account)
    deleted = policies_api.delete_return_policy(client, policy_id=policy.allegro_id)
    with transaction.atomic():
        audit_log(
            actor=actor,
            account=policy.account,
            action="return_policy.delete",
            target=f"return_policy:{policy.allegro_id}",
            before={"name": policy.name},
            after=None,
            allegro_trace_id=deleted.trace_id,
        )
        policy.delete()


# --- copy to other accounts -------------------------------------------------------------------


def return_policy_copy(
    *, policy: ReturnPolicy, targets: Sequence[AllegroAccount], actor: AnyUser
) -> Job:
    """Copy the policy to each target account (manager there, linked): a job with one item
    per account; it runs at once for one account, on a worker for more."""
    for account in targets:
        account_require_role(user=actor, account=account, role=Role.MANAGER)
        account_require_writable(account=account)
    body = return_policy_input_of(policy=policy).as_json()
    job = job_create(
        kind=COPY_KIND,
        actor=actor,
        title=_("Copy of the return policy “%(name)s”") % {"name": policy.name},
        account=policy.account,
        params={"source": policy.allegro_id, "source_account": policy.account_id},
        items=[
            ItemSpec(account=a, key=f"copy:{policy.allegro_id}", label=a.login, data=body)
            for a in targets
        ],
        enqueue=len(targets) > 1,
    )
    if len(targets) == 1:  # one request: answered here, with its result kept in the job
        policy_copy_step(job)
        job = job_finish(job=job)
    return job


def _input_from_json(data: dict[str, Any]) -> policies_api.ReturnPolicyInput:
    address = data.get("address")
    contact = data.get("contact") or {}
    return policies_api.ReturnPolicyInput(
        name=str(data["name"]),
        availability=data["availability"]["range"],
        is_fulfillment=bool(data.get("isFulfillment")),
        restriction_cause=dig(data, "availability", "restrictionCause", "name"),
        withdrawal_period=data.get("withdrawalPeriod"),
        return_cost_by=dig(data, "returnCost", "coveredBy"),
        address=policies_api.ReturnAddress(
            name=address["name"],
            street=address["street"],
            post_code=address["postCode"],
            city=address["city"],
            country_code=address["countryCode"],
        )
        if isinstance(address, dict)
        else None,
        phone=contact.get("phoneNumber"),
        email=contact.get("email"),
        options=dict(data.get("options") or {}),
    )


def _copy_item(job: Job, item: JobItem) -> None:
    data = dict(item.data)
    client = allegro_client_for(account=item.account)
    if item.status == ItemStatus.SENT:
        # An earlier run sent it and stopped before the answer was kept: look before resending.
        for existing in policies_api.iter_return_policies(client):
            if existing.name == data.get("name"):
                _store(account=item.account, doc=existing)
                job_item_update(item=item, status=ItemStatus.SUCCESS, after={"id": existing.id})
                return
    job_item_update(item=item, status=ItemStatus.SENT)
    try:
        doc = policies_api.create_return_policy(client, policy=_input_from_json(data))
    except errors.TransientError:
        raise
    except errors.AllegroError as exc:
        first = exc.errors[0] if exc.errors else None
        job_item_update(
            item=item,
            status=ItemStatus.FAILED,
            message=(first.user_message or first.message if first else exc.user_message)[:2000],
            field=(first.path or "") if first else "",
            trace_id=exc.trace_id or "",
        )
        return
    _store(account=item.account, doc=doc)
    job_item_update(
        item=item, status=ItemStatus.SUCCESS, trace_id=doc.trace_id or "", after={"id": doc.id}
    )
    job_audit_once(
        item=item,
        actor=job.actor,
        action="return_policy.copy",
        target=f"return_policy:{doc.id}",
        before={"source": job.params.get("source")},
        after=data,
        trace_id=doc.trace_id,
    )


def policy_copy_step(job: Job) -> Step:
    """The job runner: each pending item is one ``POST`` to its account."""
    pending = job.items.exclude(
        status__in=[ItemStatus.SUCCESS, ItemStatus.FAILED, ItemStatus.SKIPPED]
    ).select_related("account")
    for item in pending.order_by("position"):
        _copy_item(job, item)
    return FINISHED
