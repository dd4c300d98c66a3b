from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from enrollment import api as enrollment_api
from safety import api_crs
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
    path("v1/subjects/<int:pk>/crs/", api_crs.CRSListApi.as_view(), name="subject-crs-list"),
    path(
        "v1/subjects/<int:pk>/crs/<int:record_id>/",
        api_crs.CRSDetailApi.as_view(),
        name="subject-crs-detail",
    ),
    path(
        "v1/subjects/<int:pk>/crs-episodes/",
        api_crs.CRSEpisodeListApi.as_view(),
        name="subject-crs-episodes",
    ),
    path("v1/subjects/<int:pk>/icans/", api_crs.ICANSListApi.as_view(), name="subject-icans-list"),
    path(
        "v1/subjects/<int:pk>/icans/<int:record_id>/",
        api_crs.ICANSDetailApi.as_view(),
        name="subject-icans-detail",
    ),
    path(
        "v1/subjects/<int:pk>/icans-episodes/",
        api_crs.ICANSEpisodeListApi.as_view(),
        name="subject-icans-episodes",
    ),
]
