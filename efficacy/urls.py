"""Efficacy pages (included at /subjects/… by trialsite/urls.py)."""

from django.urls import path

from efficacy import views

app_name = "efficacy"

urlpatterns = [
    path("<int:pk>/efficacy/responses/", views.response_list, name="responses"),
    path(
        "<int:pk>/efficacy/responses/new/",
        views.ResponseAssessmentView.as_view(),
        name="response-new",
    ),
    path(
        "<int:pk>/efficacy/responses/<int:record_id>/",
        views.ResponseAssessmentView.as_view(),
        name="response-edit",
    ),
    path(
        "<int:pk>/efficacy/responses/<int:record_id>/confirm/",
        views.response_confirm,
        name="response-confirm",
    ),
    path("<int:pk>/efficacy/responses/live/", views.response_live, name="response-live"),
    path("<int:pk>/efficacy/follow-up/", views.follow_up_list, name="follow-ups"),
    path("<int:pk>/efficacy/follow-up/new/", views.FollowUpView.as_view(), name="follow-up-new"),
    path(
        "<int:pk>/efficacy/follow-up/<int:record_id>/",
        views.FollowUpView.as_view(),
        name="follow-up-edit",
    ),
    path(
        "<int:pk>/efficacy/disease-events/new/",
        views.DiseaseEventView.as_view(),
        name="disease-event-new",
    ),
    path(
        "<int:pk>/efficacy/disease-events/<int:record_id>/",
        views.DiseaseEventView.as_view(),
        name="disease-event-edit",
    ),
]
