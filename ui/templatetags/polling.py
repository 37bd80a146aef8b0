"""Polling intervals in templates (``{% load polling %}``).

``hx-trigger="every {{ 2|poll }}"`` polls every 2 s, ``hx-trigger="load delay:{{ 1|poll }}"``
waits 1 s: the interval the template names times ``settings.UI_POLL_SCALE`` (1 by default, which
gives ``2s`` and ``1s`` as written), in milliseconds when that is not whole seconds (``200ms``).
Browser tests scale them down, so a test does not spend seconds waiting for the next poll.
"""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()

# Never poll more often than this, whatever the scale.
SHORTEST_MS = 50


@register.filter
def poll(seconds: float | int | str) -> str:
    """``2`` -> ``"2s"``; scaled by ``UI_POLL_SCALE`` 0.1, ``"200ms"``."""
    ms = max(SHORTEST_MS, round(float(seconds) * 1000 * float(settings.UI_POLL_SCALE)))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
