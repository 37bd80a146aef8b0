"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Polish unless the person chose otherwise.

    Django's ``LocaleMiddleware`` with one change: the browser's ``Accept-Language`` is not
    consulted. The back-office serves Polish shops, so the language is Polish until someone
    picks English with the switch (Django's ``set_language`` view, stored in the language
    cookie).
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = settings.LANGUAGE_CODE
        if chosen:
            try:
                language = translation.get_supported_language_variant(chosen)
            except LookupError:
                language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class LoginThrottleMiddleware:
    """Answers a sign-in refused by allauth's failed-login limit with 429 Too Many Requests.

    allauth refuses the attempt with a form error (the login page, 200);
    ``accounts.adapters.StaffAccountAdapter`` marks the request, and the page is sent with 429 so
    proxies, scripts and monitoring see the throttling for what it is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, "login_throttled", False) and response.status_code == 200:
            response.status_code = 429
            response.reason_phrase = "Too Many Requests"
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware; ``form-action`` also allows Allegro's authorisation page.

    "Link an Allegro account" is a form posted here that redirects the browser to Allegro's
    consent page, and browsers apply ``form-action`` to that redirect. The origin is read per
    request (``ALLEGRO_BROWSER_AUTH_URL``, ``ALLEGRO_AUTH_URL`` or the environment's default).
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = _allegro_authorisation_origin()
        if origin and not report_only:
            parts.update = {**(parts.update or {}), "form-action": [origin]}
        return parts


def _allegro_authorisation_origin() -> str | None:
    from accounts.allegro_setup import allegro_endpoints

    url = getattr(settings, "ALLEGRO_BROWSER_AUTH_URL", None) or allegro_endpoints().auth_url
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"
