"""Project package: settings, URLs, Celery app, dashboard and health views."""

from backoffice.celery import app as celery_app

__all__ = ["celery_app"]
