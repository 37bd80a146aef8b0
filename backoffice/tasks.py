"""Task base class: enqueue on commit, arguments are ids.

Inside an atomic block, ``.delay()`` / ``.apply_async()`` defer sending until the transaction
commits (and drop the message if it rolls back), so a worker never sees an id whose row is not
committed yet. Outside a transaction the task is sent at once. Arguments must be JSON values
(ids, strings), never model instances: the JSON serializer rejects anything else, and
:func:`_reject_models` fails early with a clear message.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import models, transaction


def _reject_models(args: Any, kwargs: Any) -> None:
    values = list(args or ()) + list((kwargs or {}).values())
    for value in values:
        if isinstance(value, models.Model):
            raise TypeError(f"Pass ids to tasks, not model instances (got {type(value).__name__}).")


class TransactionAwareTask(Task):  # type: ignore[type-arg]
    """A Celery task whose ``apply_async`` waits for the surrounding transaction to commit."""

    abstract = True

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        **options: Any,
    ) -> Any:
        _reject_models(args, kwargs)
        connection = transaction.get_connection()
        if not connection.in_atomic_block or self.app.conf.task_always_eager:
            return super().apply_async(
                args, kwargs, task_id, producer, link, link_error, shadow, **options
            )
        from celery.utils import uuid

        task_id = task_id or uuid()

        def send() -> None:
            super(TransactionAwareTask, self).apply_async(
                args, kwargs, task_id, producer, link, link_error, shadow, **options
            )

        transaction.on_commit(send)
        return self.AsyncResult(task_id)
