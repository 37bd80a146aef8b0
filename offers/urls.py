from django.urls import path

from offers import views

app_name = "offers"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("by-id/<int:account_pk>/<str:allegro_id>/", views.by_id, name="by_id"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/publication/", views.publication, name="publication"),
    path("<int:pk>/operations/<str:token>/", views.operation, name="operation"),
    path("bulk/", views.bulk, name="bulk"),
    path("bulk/<str:job_id>/", views.bulk_job, name="bulk_job"),
    path("bulk/<str:job_id>/report.csv", views.bulk_job_csv, name="bulk_job_csv"),
]
