from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("switch/", views.switch_account, name="switch"),
    path("link/", views.link_start, name="link_start"),
    # The redirect URI registered at Allegro: <site>/accounts/allegro/callback/
    path("allegro/callback/", views.link_callback, name="allegro_callback"),
    path("<int:account_id>/unlink/", views.unlink, name="unlink"),
]
