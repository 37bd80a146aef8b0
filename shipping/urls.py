from django.urls import path

from shipping import views

app_name = "shipping"

urlpatterns = [
    path("", views.index, name="index"),
    path("orders/<int:pk>/", views.order_shipping, name="order"),
    path("orders/<int:pk>/create/", views.create, name="create"),
    path("bulk/", views.bulk_create, name="bulk_create"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("jobs/<uuid:job_id>/retry/", views.job_retry, name="job_retry"),
]
