"""Efficacy pages, included at ``/efficacy/`` by trialsite/urls.py: the response, follow-up and
disease-event CRFs here, the samples (kinetics, anti-CAR, RCL, the import) in ``urls_samples``."""

from django.urls import path

from efficacy import views

app_name = "efficacy"

urlpatterns = [
    path("subjects/<int:pk>/responses/", views.response_list, name="responses"),
    path(
        "subjects/<int:pk>/responses/new/",
        views.ResponseAssessmentView.as_view(),
        name="response-new",
    ),
    path(
        "subjects/<int:pk>/responses/<int:record_id>/",
        views.ResponseAssessmentView.as_view(),
        name="response-edit",
    ),
    path(
        "subjects/<int:pk>/responses/<int:record_id>/confirm/",
        views.response_confirm,
        name="response-confirm",
    ),
    path("subjects/<int:pk>/responses/live/", views.response_live, name="response-live"),
    path("subjects/<int:pk>/follow-up/", views.follow_up_list, name="follow-ups"),
    path("subjects/<int:pk>/follow-up/new/", views.FollowUpView.as_view(), name="follow-up-new"),
    path(
        "subjects/<int:pk>/follow-up/<int:record_id>/",
        views.FollowUpView.as_view(),
        name="follow-up-edit",
    ),
    path(
        "subjects/<int:pk>/disease-events/new/",
        views.DiseaseEventView.as_view(),
        name="disease-event-new",
    ),
    path(
        "subjects/<int:pk>/disease-events/<int:record_id>/",
        views.DiseaseEventView.as_view(),
        name="disease-event-edit",
    ),
]

from efficacy.urls_samples import urlpatterns as samples_urlpatterns  # noqa: E402

urlpatterns += samples_urlpatterns
