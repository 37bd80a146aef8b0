"""``manage.py setup_schedules``: create the mirror's beat entries (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mirror.schedules import schedules_setup


class Command(BaseCommand):
    help = "Create the mirror's periodic sync tasks in django-celery-beat (safe to re-run)."

    def handle(self, *args: Any, **options: Any) -> None:
        for task in schedules_setup():
            self.stdout.write(f"{task.name}: {task.interval or task.crontab}")
