"""The Celery application.

Configuration is read from Django settings under the ``CELERY_`` namespace (JSON only, time
limits, ``django_celery_beat`` DatabaseScheduler); tasks are discovered in each app's
``tasks.py``. The default task class enqueues on transaction commit
(:class:`backoffice.tasks.TransactionAwareTask`).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice", task_cls="backoffice.tasks:TransactionAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
