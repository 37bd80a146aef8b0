"""What the after-sales views share: the safe "back" URL of a form."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from backoffice.redirects import safe_back_url


def back_url(request: HttpRequest, default: str | None = None) -> str:
    """``next`` from the form when it is a path on this site, else ``default`` (the inbox)."""
    return safe_back_url(
        request,
        (request.POST.get("next"), request.GET.get("next")),
        default or reverse("aftersales:index"),
    )
