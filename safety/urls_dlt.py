"""DLT pages (included by safety/urls.py)."""

from django.urls import path

from safety import views_dlt

urlpatterns = [
    path("dlt/candidates/", views_dlt.dlt_candidates, name="dlt-candidates"),
    path("subjects/<int:pk>/dlt/", views_dlt.dlt_evaluation, name="dlt-evaluation"),
    path(
        "subjects/<int:pk>/dlt/adjudicate/<int:event_id>/",
        views_dlt.adjudicate,
        name="dlt-adjudicate",
    ),
]
