from django.urls import path

from shipping import print_views, views

app_name = "shipping"

urlpatterns = [
    path("", views.index, name="index"),
    path("orders/<int:pk>/", views.order_shipping, name="order"),
    path("orders/<int:pk>/create/", views.create, name="create"),
    path("bulk/", views.bulk_create, name="bulk_create"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("jobs/<uuid:job_id>/retry/", views.job_retry, name="job_retry"),
    path("shipments/<int:pk>/label/", print_views.shipment_label, name="label"),
    path("shipments/<int:pk>/cancel/", print_views.cancel, name="cancel"),
    path("labels/", print_views.labels_print, name="labels"),
    path("labels/<uuid:job_id>/", print_views.labels_job, name="labels_job"),
    path("labels/<uuid:job_id>/file/", print_views.labels_file, name="labels_file"),
    path("protocol/", print_views.protocol, name="protocol"),
    path("pickup/", print_views.pickup, name="pickup"),
    path("pack/", print_views.pack, name="pack"),
    path("pack/go/", print_views.pack_action, name="pack_action"),
]
