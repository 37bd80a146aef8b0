"""``{% load mirror_tags %}{% sync_progress account %}`` (one account) and
``{% sync_progress_all accounts %}`` (several, constant queries): the progress fragment,
server-rendered (the Accounts page works without JavaScript; HTMX then polls while a sync runs)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import AccountStatus, AllegroAccount
from mirror.views import progress_context, progress_contexts

register = template.Library()


@register.simple_tag
def sync_progress(account: AllegroAccount) -> SafeString:
    # No request: the fragment needs no context processors, which would re-run their queries.
    return SafeString(
        render_to_string("mirror/progress.html#progress", progress_context(account=account))
    )


@register.simple_tag
def sync_progress_all(accounts: Iterable[AllegroAccount]) -> SafeString:
    """The fragment of each linked account (unlinked accounts do not sync), constant queries."""
    linked = [a for a in accounts if a.status != AccountStatus.UNLINKED]
    html = "".join(
        render_to_string("mirror/progress.html#progress", ctx)
        for ctx in progress_contexts(accounts=linked)
    )
    return SafeString(html)
