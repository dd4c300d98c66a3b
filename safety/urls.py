"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []

from safety.urls_dlt import urlpatterns as dlt_urlpatterns  # noqa: E402

urlpatterns += dlt_urlpatterns
from django.urls import path  # noqa: E402

from safety import views_labs  # noqa: E402

urlpatterns += [
    path("subjects/<int:pk>/labs/", views_labs.lab_panels, name="lab-panels"),
    path("subjects/<int:pk>/labs/new/", views_labs.LabPanelView.as_view(), name="lab-panel-new"),
    path(
        "subjects/<int:pk>/labs/<int:panel_id>/",
        views_labs.LabPanelView.as_view(),
        name="lab-panel-edit",
    ),
    path("subjects/<int:pk>/lab-proposals/", views_labs.lab_proposals, name="lab-proposals"),
    path(
        "subjects/<int:pk>/lab-proposals/<int:proposal_id>/<slug:action>/",
        views_labs.lab_proposal_action,
        name="lab-proposal-action",
    ),
    path("labs/import/", views_labs.lab_import_page, name="lab-import"),
    path("labs/import/<str:token>/status/", views_labs.lab_import_status, name="lab-import-status"),
]
urlpatterns += [
    path("subjects/<int:pk>/labs/grade/", views_labs.lab_grade_preview, name="lab-grade-preview"),
]
from safety.urls_ae import urlpatterns as ae_urlpatterns  # noqa: E402

urlpatterns += ae_urlpatterns
from django.urls import path  # noqa: E402

from safety import views_crs  # noqa: E402

# Daily CRS and ICANS (safety/views_crs.py).
urlpatterns += [
    path("subjects/<int:pk>/crs/", views_crs.crs_list, name="crs-list"),
    path("subjects/<int:pk>/crs/new/", views_crs.CRSAssessmentView.as_view(), name="crs-new"),
    path(
        "subjects/<int:pk>/crs/<int:record_id>/",
        views_crs.CRSAssessmentView.as_view(),
        name="crs-edit",
    ),
    path("subjects/<int:pk>/crs/grade/", views_crs.crs_live_grade, name="crs-grade"),
    path("subjects/<int:pk>/icans/", views_crs.icans_list, name="icans-list"),
    path("subjects/<int:pk>/icans/new/", views_crs.ICANSAssessmentView.as_view(), name="icans-new"),
    path(
        "subjects/<int:pk>/icans/<int:record_id>/",
        views_crs.ICANSAssessmentView.as_view(),
        name="icans-edit",
    ),
    path("subjects/<int:pk>/icans/grade/", views_crs.icans_live_grade, name="icans-grade"),
]
from safety.urls_sae import urlpatterns as sae_urlpatterns  # noqa: E402

urlpatterns += sae_urlpatterns
from safety.urls_transfusions import urlpatterns as transfusion_urlpatterns  # noqa: E402

urlpatterns += transfusion_urlpatterns
