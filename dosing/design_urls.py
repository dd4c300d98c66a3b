"""URLs of the escalation design page (included at ``design/`` by ``trialsite/urls.py``)."""

from django.urls import path, re_path

from dosing import design_views as views

app_name = "design"

RUN = r"^runs/(?P<job_id>[0-9a-f]{32})/"  # a run's id: uuid4().hex (dosing.design.create_run)

urlpatterns = [
    path("", views.design_page, name="design"),
    path("operating-characteristics.csv", views.exact_csv, name="exact-csv"),
    re_path(RUN + r"$", views.run_page, name="run"),
    re_path(RUN + r"progress/$", views.run_progress, name="run-progress"),
    re_path(RUN + r"results\.csv$", views.run_csv, name="run-csv"),
]
