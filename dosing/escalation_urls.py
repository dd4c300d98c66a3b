"""URLs of the escalation dashboard (included at ``escalation/`` by ``trialsite/urls.py``)."""

from django.urls import path

from dosing import escalation_views as views

app_name = "escalation"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status/", views.status, name="status"),
    path("subjects.csv", views.chart_csv, name="chart-csv"),
    path("packet/", views.packet, name="packet"),
]
