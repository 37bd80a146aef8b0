"""A Celery app on the embedded default's broker settings, for tests/test_embedded_broker.py.

It reads the project's settings (``BACKOFFICE_VAR_DIR`` set, no ``REDIS_URL``), so the worker
and the producers use exactly the transport and folders ``make demo`` uses. Its one task appends
the number it is given to ``BROKER_TEST_RECORD`` (a short ``O_APPEND`` write: atomic).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("embedded_broker_test")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_scheduler = "celery.beat:PersistentScheduler"


@app.task(name="embedded_broker_test.record")
def record(number: int) -> None:
    with open(os.environ["BROKER_TEST_RECORD"], "a") as fh:
        fh.write(f"{number}\n")
