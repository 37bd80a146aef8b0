"""What the after-sales views share: the safe "back" URL of a form."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """``next`` from the form when it is a path on this site, else ``default`` (the inbox)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse("aftersales:index")
