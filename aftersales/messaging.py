"""Buyer messages: mark a thread read, send a message (queued: 1 request/s per user).

``message_send`` uploads the attachments at once (declare, upload: not rate limited), stores the
message as ``sending`` and queues an ``aftersales.message_send`` job. Allegro allows one send a
second per user: a 429 makes the job wait (``again``) instead of failing the staff member's
action. Sending is not idempotent, so a run that finds the item already sent first looks for the
message on Allegro before sending it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, account_require_writable, allegro_client_for
from aftersales.disputes import AttachmentDownload, stored_attachment
from aftersales.models import Message, MessageThread
from aftersales.sync_returns import message_fields, thread_fields
from allegro import errors
from allegro.api import messaging as messaging_api
from allegro.client import AllegroClient
from jobs.models import ItemStatus, Job
from jobs.registry import FINISHED, Step, again
from jobs.services import ItemSpec, job_audit_once, job_create, job_item_update

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

SEND_KIND = "aftersales.message_send"
SEND_LABEL = gettext_lazy("Message to a buyer")


@dataclass(frozen=True, kw_only=True)
class Upload:
    filename: str
    content: bytes
    content_type: str


def thread_mark_read(*, actor: AnyUser, thread: MessageThread, read: bool = True) -> MessageThread:
    account_require_role(user=actor, account=thread.account, role=Role.OPERATOR)
    account_require_writable(account=thread.account)
    doc = messaging_api.mark_thread_read(
        allegro_client_for(account=thread.account), thread_id=thread.allegro_id, read=read
    )
    for name, value in thread_fields(doc).items():
        setattr(thread, name, value)
    thread.save()
    return thread


ATTACHMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def message_attachment(*, thread: MessageThread, message_pk: int, index: int) -> AttachmentDownload:
    """The file of a thread message's attachment, fetched with the account's token (which never
    leaves the server). Viewers may download."""
    try:
        message = thread.messages.get(pk=message_pk)
    except Message.DoesNotExist as exc:
        raise Http404("No such message.") from exc
    item = stored_attachment(message.attachments, index)
    attachment_id = str(item.get("id") or "")
    if not ATTACHMENT_ID.fullmatch(attachment_id):
        raise Http404("No such attachment.")
    got = messaging_api.download_attachment(
        allegro_client_for(account=thread.account), attachment_id=attachment_id
    )
    return AttachmentDownload(
        name=str(item.get("file_name") or attachment_id),
        content=got.content,
        content_type=got.content_type,
    )


def message_send(
    *,
    actor: AnyUser,
    account: AllegroAccount,
    text: str,
    thread: MessageThread | None = None,
    order_id: str = "",
    login: str = "",
    files: Sequence[Upload] = (),
) -> Message:
    """Queue a message in ``thread``, or a new one to ``login`` about ``order_id``."""
    account_require_role(user=actor, account=account, role=Role.OPERATOR)
    account_require_writable(account=account)
    if thread is None and not (order_id and login):
        raise ValueError("a thread, or an order and its buyer's login")
    client = allegro_client_for(account=account)
    attachments = []
    for upload in files:
        declared = messaging_api.declare_attachment(
            client, filename=upload.filename, size=len(upload.content)
        )
        messaging_api.upload_attachment(
            client,
            attachment_id=declared.id,
            content=upload.content,
            content_type=upload.content_type,
        )
        attachments.append(
            {"id": declared.id, "file_name": upload.filename, "mime_type": upload.content_type}
        )
    with transaction.atomic():
        message = Message.objects.create(
            account=account,
            thread=thread,
            local_state=Message.Local.SENDING,
            text=text,
            order_id=order_id or (thread.order_id if thread else ""),
            recipient_login=login or (thread.interlocutor_login if thread else ""),
            attachments=attachments,
            sent_by_id=actor.pk if actor.is_authenticated else None,
            created_at=timezone.now(),
        )
        job_create(
            kind=SEND_KIND,
            actor=actor,
            account=account,
            title=str(SEND_LABEL),
            items=[ItemSpec(account=account, key=str(message.pk), label=message.recipient_login)],
        )
    return message


def _already_sent(client: AllegroClient, message: Message) -> messaging_api.Message | None:
    if message.thread is None:
        return None
    for doc in messaging_api.list_messages(client, thread_id=message.thread.allegro_id):
        mine = not doc.author_is_interlocutor and doc.text == message.text
        if mine and doc.created_at and message.created_at and doc.created_at >= message.created_at:
            return doc
    return None


def message_send_step(job: Job) -> Step:
    for item in job.items.select_related("account").exclude(
        status__in=[ItemStatus.SUCCESS, ItemStatus.FAILED, ItemStatus.SKIPPED]
    ):
        message = Message.objects.select_related("thread").get(pk=int(item.key))
        client = allegro_client_for(account=item.account)
        doc = _already_sent(client, message) if item.status == ItemStatus.SENT else None
        if doc is None:
            ids = [a["id"] for a in message.attachments]
            job_item_update(item=item, status=ItemStatus.SENT)
            try:
                if message.thread is not None:
                    doc = messaging_api.post_in_thread(
                        client,
                        thread_id=message.thread.allegro_id,
                        text=message.text,
                        attachment_ids=ids,
                    )
                else:
                    doc = messaging_api.post_to_buyer(
                        client,
                        login=message.recipient_login,
                        order_id=message.order_id,
                        text=message.text,
                        attachment_ids=ids,
                    )
            except errors.RateLimited as exc:
                job_item_update(item=item, status=ItemStatus.PENDING)
                return again(max(1.0, exc.retry_after or 1.0))
            except errors.TransientError:
                raise
            except errors.AllegroError as exc:
                first = exc.errors[0] if exc.errors else None
                text = (first.user_message or first.message) if first else str(exc)
                Message.objects.filter(pk=message.pk).update(
                    local_state=Message.Local.FAILED, error=text[:2000]
                )
                job_item_update(item=item, status=ItemStatus.FAILED, message=text[:2000])
                continue
        with transaction.atomic():
            thread = message.thread
            if thread is None:
                thread, _ = MessageThread.objects.get_or_create(
                    account=item.account,
                    allegro_id=doc.thread_id,
                    defaults={
                        "interlocutor_login": message.recipient_login,
                        "order_id": message.order_id,
                        "synced_at": timezone.now(),
                        "last_message_at": doc.created_at,
                    },
                )
            Message.objects.filter(account=item.account, allegro_id=doc.id).exclude(
                pk=message.pk
            ).delete()
            fields = message_fields(doc)
            fields["attachments"] = fields["attachments"] or message.attachments
            Message.objects.filter(pk=message.pk).update(
                **fields, thread=thread, allegro_id=doc.id, local_state=Message.Local.SENT
            )
            job_item_update(item=item, status=ItemStatus.SUCCESS, trace_id=doc.trace_id or "")
        job_audit_once(
            item=item,
            actor=job.actor,
            action="message.send",
            target=f"thread:{doc.thread_id}",
            before=None,
            after={"message": doc.id, "text": message.text[:200]},
            trace_id=doc.trace_id,
        )
    return FINISHED


def message_thread_of(*, account: AllegroAccount, allegro_id: str) -> MessageThread | None:
    return MessageThread.objects.filter(account=account, allegro_id=allegro_id).first()
