"""URLs of the transfusion log and CRF and of the subject's safety timeline (safety/urls.py)."""

from django.urls import path

from safety import views_timeline, views_transfusions

urlpatterns = [
    path(
        "subjects/<int:pk>/transfusions/",
        views_transfusions.transfusion_list,
        name="transfusion-list",
    ),
    path(
        "subjects/<int:pk>/transfusions/new/",
        views_transfusions.TransfusionView.as_view(),
        name="transfusion-new",
    ),
    path(
        "subjects/<int:pk>/transfusions/<int:record_id>/",
        views_transfusions.TransfusionView.as_view(),
        name="transfusion-edit",
    ),
    path("subjects/<int:pk>/timeline/", views_timeline.timeline, name="subject-timeline"),
    path(
        "subjects/<int:pk>/timeline/<slug:chart>.csv",
        views_timeline.timeline_csv,
        name="subject-timeline-csv",
    ),
]
