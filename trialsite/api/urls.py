from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from enrollment import api as enrollment_api
from safety.api_sae import urlpatterns as sae_api_urlpatterns
from trialsite.api import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/me/", views.MeApi.as_view(), name="me"),
    path("v1/studies/", views.StudyListApi.as_view(), name="study-list"),
    path("v1/studies/<int:study_id>/", views.StudyDetailApi.as_view(), name="study-detail"),
    path(
        "v1/studies/<int:study_id>/subjects/",
        enrollment_api.SubjectListApi.as_view(),
        name="subject-list",
    ),
    path(
        "v1/subjects/<int:pk>/eligibility/",
        enrollment_api.EligibilityApi.as_view(),
        name="subject-eligibility",
    ),
    path(
        "v1/subjects/<int:pk>/screening/<slug:crf>/",
        enrollment_api.ScreeningCrfApi.as_view(),
        name="subject-screening-crf",
    ),
]
urlpatterns += sae_api_urlpatterns
