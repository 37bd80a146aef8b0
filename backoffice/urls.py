from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from backoffice import views

# The admin signs in through allauth (throttling, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # No public sign-up: staff are created by an administrator. The name stays so allauth's
    # templates can reverse it; the page itself only sends people to sign-in.
    path(
        "auth/signup/",
        RedirectView.as_view(pattern_name="account_login", permanent=False),
        name="account_signup",
    ),
    path("auth/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("offers/", include("offers.urls")),
    path("orders/", include("orders.urls")),
    path("shipping/", include("shipping.urls")),
    path("after-sales/", include("aftersales.urls")),
    path("mirror/", include("mirror.urls")),
    path("jobs/", include("jobs.urls")),
]
