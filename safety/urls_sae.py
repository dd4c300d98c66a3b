"""SAE pages under /safety/sae/ (added to ``safety.urls``)."""

from django.urls import path

from safety import views_sae

urlpatterns = [
    path("sae/", views_sae.sae_list, name="sae-list"),
    path("sae/<int:pk>/", views_sae.sae_report, name="sae-report"),
    path("sae/<int:pk>/print/", views_sae.sae_print, name="sae-print"),
    path("sae/<int:pk>/details/", views_sae.SAEReportDetails.as_view(), name="sae-details"),
    path("sae/clocks/<int:pk>/", views_sae.RecordSubmission.as_view(), name="sae-submission"),
]
