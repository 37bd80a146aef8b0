from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/fulfillment/", views.fulfillment, name="fulfillment"),
    path("<int:pk>/tracking/", views.tracking, name="tracking"),
    path("bulk/fulfillment/", views.bulk_fulfillment, name="bulk_fulfillment"),
]
