"""``{% load mirror_tags %}{% sync_progress account %}``: the progress fragment, server-rendered
(the Accounts page works without JavaScript; HTMX then polls while a sync runs)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import AllegroAccount
from mirror.views import progress_context

register = template.Library()


@register.simple_tag(takes_context=True)
def sync_progress(context: template.Context, account: AllegroAccount) -> SafeString:
    request = context.get("request")
    html = render_to_string(
        "mirror/progress.html#progress", progress_context(account=account), request=request
    )
    return SafeString(html)
