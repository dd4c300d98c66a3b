"""URLs of the cross-app dashboards, included at ``/dashboards/`` by ``trialsite.urls``."""

from django.urls import path  # noqa: F401  (each dashboard adds its paths below)

app_name = "dashboards"

urlpatterns: list = []

from trialsite.dashboards import safety as safety_views  # noqa: E402

urlpatterns += [
    path("safety/", safety_views.dashboard, name="safety"),
    path("safety/crs-icans-grades.csv", safety_views.grades_csv, name="safety-grades-csv"),
    path("safety/swimmer.csv", safety_views.swimmer_csv, name="safety-swimmer-csv"),
    path("safety/ae-table.csv", safety_views.ae_table_csv, name="safety-ae-csv"),
]
