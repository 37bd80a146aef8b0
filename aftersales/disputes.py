"""Disputes and claims: the list and detail reads, the reply (text and files), the claim
decision and the attachment download.

Roles are checked here, once: viewers read and download, operators reply, managers decide
claims. Each action is audited with Allegro's trace id; the mirror takes Allegro's answer (the
posted message, then the issue and its chat read again).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_log
from accounts.models import Role
from accounts.selectors import accounts_visible_to, role_expression
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from aftersales.models import Dispute, DisputeMessage
from aftersales.sync import dispute_turns_refresh, disputes_upsert, message_fields
from allegro import errors
from allegro.api import issues as issues_api
from allegro.api._base import Money
from ui.paging import Accounts, account_filter, contains

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

log = logging.getLogger(__name__)

TYPES = ("DISPUTE", "CLAIM")
STATUSES = (
    "DISPUTE_ONGOING",
    "DISPUTE_UNRESOLVED",
    "DISPUTE_CLOSED",
    "CLAIM_SUBMITTED",
    "CLAIM_ACCEPTED",
    "CLAIM_REJECTED",
)
OPEN_STATUSES = ("DISPUTE_ONGOING", "DISPUTE_UNRESOLVED", "CLAIM_SUBMITTED")
SPEAKERS = ("BUYER", "SELLER", "ADMIN")
MAX_TEXT = issues_api.MAX_MESSAGE_LENGTH
MAX_FILES = 5  # the spec sets no count; a reply carries at most this many here
MAX_FILE_SIZE = issues_api.MAX_ATTACHMENT_SIZE
CHAT_PAGE = 100
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# The first bytes of each file type Allegro takes (the browser's content type is not trusted).
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


class ChatClosed(ValidationError):
    """Allegro answered 409: the issue's state no longer takes messages or decisions."""


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeQuery:
    q: str = ""
    account_ids: Sequence[int] = ()
    types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    waiting: bool | None = None
    due_to: date | None = None
    overdue: bool = False


WAITING = Q(status="CLAIM_SUBMITTED") | Q(
    status__in=["DISPUTE_ONGOING", "DISPUTE_UNRESOLVED"],
    last_speaker__in=["BUYER", "ADMIN"],
)


def disputes_matching(
    *, accounts: Accounts, query: DisputeQuery, now: datetime | None = None
) -> QuerySet[Dispute]:
    """Disputes and claims of ``accounts`` matching the filters and the search (buyer login,
    order id, issue id, reference number, subject), newest opened first; ``last_speaker`` (who
    spoke last: BUYER, SELLER or ADMIN) is the column the mirror keeps."""
    now = now or timezone.now()
    qs = Dispute.objects.filter(account__in=account_filter(accounts))
    if query.account_ids:
        qs = qs.filter(account_id__in=query.account_ids)
    if query.types:
        qs = qs.filter(type__in=list(query.types))
    if query.statuses:
        qs = qs.filter(status__in=list(query.statuses))
    if query.waiting is True:
        qs = qs.filter(WAITING)
    elif query.waiting is False:
        qs = qs.exclude(WAITING)
    if query.due_to:
        end = timezone.make_aware(datetime.combine(query.due_to, time.min)) + timedelta(days=1)
        qs = qs.filter(decision_due_at__lt=end)
    if query.overdue:
        qs = qs.filter(decision_due_at__lt=now, status__in=OPEN_STATUSES)
    text = query.q.strip()
    if text:
        qs = qs.filter(
            Q(buyer_login__iexact=text)
            | Q(checkout_form_id=text)
            | Q(allegro_id=text)
            | Q(reference_number=text)
            | contains("buyer_login", text)
            | contains("subject", text)
        )
    return qs.order_by("-opened_at", "-id")


def dispute_get_for_user(*, user: AnyUser, pk: int) -> Dispute:
    """One dispute the user may see, with ``viewer_role`` (their role on its account)."""
    try:
        return (
            Dispute.objects.filter(account__in=accounts_visible_to(user=user))
            .select_related("account")
            .annotate(viewer_role=role_expression(user=user, account_ref="account_id"))
            .get(pk=pk)
        )
    except Dispute.DoesNotExist as exc:
        raise Http404("No such dispute.") from exc


def dispute_chat_active(*, dispute: Dispute) -> bool:
    return dispute.chat_active is not False


def dispute_message_types(*, dispute: Dispute) -> tuple[str, ...]:
    """The message types the spec allows for this kind of issue."""
    if dispute.type == "CLAIM":
        return issues_api.CLAIM_MESSAGE_TYPES
    return issues_api.DISPUTE_MESSAGE_TYPES


def dispute_can_decide(*, dispute: Dispute) -> bool:
    return dispute.type == "CLAIM" and dispute.status == "CLAIM_SUBMITTED"


def attachment_id_of(url: str) -> str | None:
    """The attachment id at the end of Allegro's attachment URL (``None`` if it has none)."""
    tail = url.rstrip("/").rsplit("/", 1)[-1] if url else ""
    return tail if ATTACHMENT_ID.match(tail) else None


# --- the reply --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingFile:
    name: str
    content: bytes


def file_type_of(content: bytes) -> str | None:
    """The content type the file's first bytes show, if Allegro takes it."""
    for magic, kind in MAGIC:
        if content.startswith(magic):
            return kind
    return None


def files_check(files: Sequence[OutgoingFile]) -> list[tuple[OutgoingFile, str]]:
    """Each file with its type; a ``ValidationError`` naming what Allegro would refuse."""
    if len(files) > MAX_FILES:
        raise ValidationError(
            _("At most %(count)s files in one message.") % {"count": MAX_FILES}, code="too_many"
        )
    checked = []
    for f in files:
        if not f.content:
            raise ValidationError(_("The file %(name)s is empty.") % {"name": f.name})
        if len(f.content) > MAX_FILE_SIZE:
            raise ValidationError(
                _("The file %(name)s is larger than %(size)s MB.")
                % {"name": f.name, "size": MAX_FILE_SIZE // (1024 * 1024)},
                code="too_big",
            )
        kind = file_type_of(f.content)
        if kind is None:
            raise ValidationError(
                _("The file %(name)s is not an image (PNG, JPEG, GIF, BMP, TIFF) nor a PDF.")
                % {"name": f.name},
                code="type",
            )
        checked.append((f, kind))
    return checked


def _refresh(*, dispute: Dispute, client: Any) -> None:
    """Read the issue and its whole chat again into the mirror (best effort)."""
    try:
        issue = issues_api.get_issue(client, issue_id=dispute.allegro_id)
        chat: list[issues_api.IssueMessage] = []
        offset = 0
        while True:
            page = issues_api.get_issue_chat(
                client, issue_id=dispute.allegro_id, offset=offset, limit=CHAT_PAGE
            ).messages
            chat.extend(page)
            if len(page) < CHAT_PAGE:
                break
            offset += CHAT_PAGE
    except errors.AllegroError as exc:
        log.info("dispute %s: refresh after an action failed: %s", dispute.pk, exc)
        return
    with transaction.atomic():
        disputes_upsert(
            account=dispute.account,
            issues=[issue],
            chats={issue.id: chat},
            synced_at=timezone.now(),
        )
    dispute.refresh_from_db()


def _conflict(exc: errors.Conflict) -> ChatClosed:
    return ChatClosed(
        _(
            "Allegro no longer accepts messages in this issue: its chat is closed. "
            "(Allegro said: %(detail)s)"
        )
        % {"detail": exc.user_message},
        code="chat_closed",
    )


def dispute_reply(
    *,
    dispute: Dispute,
    text: str,
    message_type: str,
    files: Sequence[OutgoingFile] = (),
    actor: AnyUser,
) -> DisputeMessage:
    """Post a message to the issue's chat: each file is declared, uploaded, then referenced."""
    account_require_role(user=actor, account=dispute.account, role=Role.OPERATOR)
    account_require_writable(account=dispute.account)
    body = text.strip()
    if len(body) > MAX_TEXT:
        raise ValidationError(
            _("At most %(limit)s characters (this one has %(length)s).")
            % {"limit": MAX_TEXT, "length": len(body)},
            code="max_length",
        )
    if message_type not in dispute_message_types(dispute=dispute):
        raise ValidationError(_("This kind of message is not allowed here."), code="type")
    checked = files_check(files)
    if not body and not checked:
        raise ValidationError(_("Write a message or attach a file."), code="required")
    client = allegro_client_for(account=dispute.account)
    attachment_ids = []
    for f, kind in checked:
        declared = issues_api.declare_attachment(
            client,
            file_name=f.name[: issues_api.MAX_ATTACHMENT_NAME] or "file",
            size=len(f.content),
        )
        issues_api.upload_attachment(
            client, declared=declared, content=f.content, content_type=kind
        )
        attachment_ids.append(declared.id)
    try:
        posted = issues_api.post_issue_message(
            client,
            issue_id=dispute.allegro_id,
            text=body,
            message_type=message_type,  # type: ignore[arg-type]
            attachment_ids=attachment_ids,
        )
    except errors.Conflict as exc:
        raise _conflict(exc) from exc
    with transaction.atomic():
        message, _created = DisputeMessage.objects.update_or_create(
            account=dispute.account,
            allegro_id=posted.id,
            defaults={"dispute": dispute, **message_fields(posted)},
        )
        dispute_turns_refresh(dispute_ids=[dispute.pk])  # our word: out of the inbox now
        audit_log(
            actor=actor,
            account=dispute.account,
            action="dispute.reply",
            target=f"dispute:{dispute.allegro_id}",
            before=None,
            after={
                "type": message_type,
                "text": body,
                "attachments": [f.name for f, _k in checked],
            },
            allegro_trace_id=posted.trace_id,
        )
    _refresh(dispute=dispute, client=client)
    return message


# --- the claim decision -----------------------------------------------------------------------


def claim_decide(
    *,
    dispute: Dispute,
    decision: str,
    message: str,
    refund: Decimal | None = None,
    currency: str = "PLN",
    actor: AnyUser,
) -> Dispute:
    """Accept or reject a claim (``POST …/status``); a partial refund names its amount."""
    account_require_role(user=actor, account=dispute.account, role=Role.MANAGER)
    account_require_writable(account=dispute.account)
    if not dispute_can_decide(dispute=dispute):
        raise ValidationError(_("This claim is no longer waiting for a decision."), code="state")
    if decision not in issues_api.CLAIM_DECISIONS:
        raise ValidationError(_("Choose a decision."), code="decision")
    body = message.strip()
    if not body:
        raise ValidationError(_("Write a message for the buyer."), code="required")
    if len(body) > MAX_TEXT:
        raise ValidationError(
            _("At most %(limit)s characters.") % {"limit": MAX_TEXT}, code="max_length"
        )
    partial = None
    if decision == "ACCEPTED_PARTIAL_REFUND":
        if refund is None or refund <= 0:
            raise ValidationError(_("Give the amount to refund."), code="refund")
        partial = Money(amount=refund, currency=currency)
    client = allegro_client_for(account=dispute.account)
    try:
        changed = issues_api.change_claim_status(
            client,
            issue_id=dispute.allegro_id,
            decision=decision,
            message=body,
            partial_refund=partial,
        )
    except errors.Conflict as exc:
        raise _conflict(exc) from exc
    before = {"status": dispute.status}
    audit_log(
        actor=actor,
        account=dispute.account,
        action="claim.decision",
        target=f"dispute:{dispute.allegro_id}",
        before=before,
        after={
            "decision": decision,
            "message": body,
            "refund": f"{partial.amount:.2f} {partial.currency}" if partial else None,
            # the same refund as data, for the claim's page (``claim_decision_of``)
            "refund_amount": f"{partial.amount:.2f}" if partial else None,
            "refund_currency": partial.currency if partial else None,
        },
        allegro_trace_id=changed.trace_id,
    )
    _refresh(dispute=dispute, client=client)
    return dispute


# --- attachments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentDownload:
    name: str
    content: bytes
    content_type: str


def stored_attachment(attachments: Any, index: int) -> dict[str, Any]:
    """The ``index``th attachment a mirrored message keeps (404 when it has none there)."""
    items = attachments if isinstance(attachments, list) else []
    if not 0 <= index < len(items) or not isinstance(items[index], dict):
        raise Http404("No such attachment.")
    item: dict[str, Any] = items[index]
    return item


def dispute_attachment(*, dispute: Dispute, message_pk: int, index: int) -> AttachmentDownload:
    """The file of a chat message's attachment, fetched with the account's token (which never
    leaves the server). Viewers may download."""
    try:
        message = dispute.messages.get(pk=message_pk)
    except DisputeMessage.DoesNotExist as exc:
        raise Http404("No such message.") from exc
    item = stored_attachment(message.attachments, index)
    attachment_id = attachment_id_of(str(item.get("url") or ""))
    if attachment_id is None:
        raise Http404("No such attachment.")
    client = allegro_client_for(account=dispute.account)
    got = issues_api.download_attachment(client, attachment_id=attachment_id)
    return AttachmentDownload(
        name=str(item.get("fileName") or attachment_id),
        content=got.content,
        content_type=got.content_type,
    )
