"""Polling intervals in templates (``ui/templatetags/polling.py``): the template's seconds as
written by default, scaled by ``UI_POLL_SCALE``."""

from __future__ import annotations

from typing import Any

from django.template import Context, Template

TRIGGER = Template('{% load polling %}hx-trigger="every {{ 2|poll }}" delay:{{ 1|poll }}')


def test_intervals_are_the_templates_own_by_default(settings: Any) -> None:
    settings.UI_POLL_SCALE = 1.0  # the default
    assert TRIGGER.render(Context()) == 'hx-trigger="every 2s" delay:1s'


def test_the_scale_shortens_every_interval_down_to_50_ms(settings: Any) -> None:
    settings.UI_POLL_SCALE = 0.1
    assert TRIGGER.render(Context()) == 'hx-trigger="every 200ms" delay:100ms'
    settings.UI_POLL_SCALE = 0.001
    assert TRIGGER.render(Context()) == 'hx-trigger="every 50ms" delay:50ms'
