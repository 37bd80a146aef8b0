"""Statuses, durations and audit changes in templates (``{% load status_tags %}``).

- ``{% status_badge "fulfillment" order.fulfillment_status %}``: the translated label in a badge
  with the status's colour (``testid="…"`` adds a ``data-testid``);
- ``{{ value|status_label:"offer" }}``: the label alone; ``{{ "P30D"|duration }}``: "30 dni";
- ``{{ amount|money:currency }}``: "140,99 PLN" in the interface language;
  ``{{ share|percent }}``: "85,1%";
- ``{{ "POCZTA_POLSKA"|status_label:"carrier" }}``: "Poczta Polska" (one kind per enum, see
  ``ui.labels``);
- ``{{ order.bought_at|minute }}``: "2025-03-01 14:05" in the current time zone (as
  ``date:"Y-m-d H:i"``, much cheaper: the big lists print one or two per row);
- ``{% audit_changes entry as rows %}``: the entry's ``ChangeRow``s;
  ``{{ entry.action|audit_action }}``: the action's label.

The labels and colours live in ``ui.labels``; see there.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from ui import labels
from ui.changes import ChangeRow, audit_action_label
from ui.changes import audit_changes as changes_of

register = template.Library()


# ``(language, kind, value, testid)`` → the badge's HTML: a list prints the same few badges on
# every row. Bounded by the kinds' values (an unknown value is not kept).
_BADGES: dict[tuple[str | None, str, str, str], SafeString] = {}


@register.simple_tag
def status_badge(kind: str, value: Any, testid: str = "") -> str:
    key = (get_language(), kind, str(value), str(testid))
    badge = _BADGES.get(key)
    if badge is None:
        badge = _badge(kind, value, testid)
        if labels.is_known(kind, value) and isinstance(value, str):
            _BADGES[key] = badge
    return badge


def _badge(kind: str, value: Any, testid: str) -> SafeString:
    text = labels.status_label(kind, value)
    tone = labels.status_tone(kind, value)
    known = "" if labels.is_known(kind, value) else " badge-unknown"
    if testid:
        return format_html(
            '<span class="badge tone-{}{}" data-status="{}" data-testid="{}">{}</span>',
            tone,
            known,
            value or "",
            testid,
            text,
        )
    return format_html(
        '<span class="badge tone-{}{}" data-status="{}">{}</span>', tone, known, value or "", text
    )


@register.filter(name="status_label")
def status_label_filter(value: Any, kind: str) -> str:
    return labels.status_label(kind, value)


@register.filter(name="status_tone")
def status_tone_filter(value: Any, kind: str) -> str:
    return labels.status_tone(kind, value)


@register.filter
def duration(value: Any) -> str:
    return labels.duration_label(value)


@register.filter(expects_localtime=False)
def minute(value: Any) -> str:
    return labels.minute_text(value)


@register.filter
def money(amount: Any, currency: Any = "") -> str:
    return labels.money_text(amount, currency or "")


@register.filter
def percent(value: Any) -> str:
    return labels.percent_text(value)


@register.filter
def number(value: Any) -> str:
    return labels.number_text(value)


@register.filter
def audit_action(action: str) -> str:
    return audit_action_label(action)


@register.simple_tag
def audit_changes(entry: Any) -> list[ChangeRow]:
    return changes_of(action=entry.action, before=entry.before, after=entry.after)
