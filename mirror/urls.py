from django.urls import path

from mirror import views

app_name = "mirror"
urlpatterns = [
    path("accounts/<int:account_id>/progress/", views.sync_progress, name="progress"),
]
