from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:job_id>/", views.detail, name="detail"),
    path("<str:job_id>/report.csv", views.report_csv, name="report_csv"),
]
