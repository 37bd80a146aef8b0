from django.urls import path

from shipping import views

app_name = "shipping"

urlpatterns = [
    path("", views.index, name="index"),
]
