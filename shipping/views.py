from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors import accounts_in_scope


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    accounts = accounts_in_scope(request=request).order_by("login", "id")
    return render(request, "shipping/index.html", {"accounts": accounts})
