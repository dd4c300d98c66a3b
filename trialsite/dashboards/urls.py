"""URLs of the cross-app dashboards, included at ``/dashboards/`` by ``trialsite.urls``."""

from django.urls import path  # noqa: F401  (each dashboard adds its paths below)

app_name = "dashboards"

urlpatterns: list = []
