"""allauth adapter: staff are created or invited by an administrator, never self-registered.

Sign-in throttling is allauth's ``login_failed`` limit (``ACCOUNT_RATE_LIMITS``: per client IP
and per login e-mail). A refused attempt is marked on the request (``login_throttled``) so
``backoffice.middleware.LoginThrottleMiddleware`` answers it with 429 and the login page shows
why.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class StaffAccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _(
            "Too many failed sign-in attempts for this account or from your network. "
            "Wait a few minutes and try again; if you have forgotten your password, reset it."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code == "too_many_login_attempts":
                request.login_throttled = True  # type: ignore[attr-defined]
            raise
