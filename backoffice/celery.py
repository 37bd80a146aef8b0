"""The Celery application.

Configuration is read from Django settings under the ``CELERY_`` namespace (JSON only, time
limits, ``django_celery_beat`` DatabaseScheduler); tasks are discovered in each app's
``tasks.py``. The default task class enqueues on transaction commit
(:class:`backoffice.tasks.TransactionAwareTask`).

Without ``DJANGO_SETTINGS_MODULE`` a worker or beat (``celery -A backoffice``) loads the
production settings, which refuse to start without their secrets; ``make demo`` and the tests
set ``backoffice.settings`` explicitly (manage.py does, and its children inherit it).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.production")

app = Celery("backoffice", task_cls="backoffice.tasks:TransactionAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
