"""URLs of the AE log, the AE form and the CTCAE terms (included by safety/urls.py)."""

from django.urls import path

from safety import views_ae

urlpatterns = [
    path("subjects/<int:pk>/adverse-events/", views_ae.ae_log, name="ae-log"),
    path(
        "subjects/<int:pk>/adverse-events/new/",
        views_ae.AdverseEventView.as_view(),
        name="ae-new",
    ),
    path(
        "subjects/<int:pk>/adverse-events/<int:ae_id>/",
        views_ae.AdverseEventView.as_view(),
        name="ae-edit",
    ),
    path("ctcae-terms/", views_ae.term_search, name="ctcae-term-search"),
    path("terms/", views_ae.terms_list, name="ctcae-terms"),
]
