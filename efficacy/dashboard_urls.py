"""URLs of the efficacy dashboard (included at ``efficacy/`` by ``trialsite/urls.py``)."""

from django.urls import path

from efficacy import views_dashboard as views

app_name = "efficacy-dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status/", views.status, name="status"),
    path("<slug:table>.csv", views.table_csv, name="csv"),
]
