"""Typing helpers for views."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """An ``HttpRequest`` after django-htmx's middleware: ``request.htmx`` is always set."""

    htmx: HtmxDetails
