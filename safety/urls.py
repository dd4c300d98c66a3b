"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []

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
