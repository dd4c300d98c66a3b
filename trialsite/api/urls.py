from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from dosing import api as dosing_api
from dosing import escalation_api
from efficacy import api_endpoints as efficacy_endpoints_api
from efficacy import api_samples as efficacy_samples_api
from enrollment import api as enrollment_api
from enrollment import api_off_study
from safety import api_ae as safety_api
from safety import api_crs, api_labs
from safety import api_dlt as safety_dlt_api
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
    path(
        "v1/subjects/<int:pk>/off-study/",
        api_off_study.OffStudyApi.as_view(),
        name="subject-off-study",
    ),
    path(
        "v1/studies/<int:study_id>/escalation/",
        escalation_api.EscalationApi.as_view(),
        name="escalation",
    ),
    path(
        "v1/studies/<int:study_id>/dosing/<slug:crf>/",
        dosing_api.DosingListApi.as_view(),
        name="dosing-list",
    ),
    path(
        "v1/subjects/<int:pk>/dosing/<slug:crf>/",
        dosing_api.SubjectDosingCrfApi.as_view(),
        name="subject-dosing-crf",
    ),
    path(
        "v1/subjects/<int:pk>/assignment/",
        dosing_api.SubjectAssignmentApi.as_view(),
        name="subject-assignment",
    ),
    path(
        "v1/studies/<int:study_id>/dlt-evaluations/",
        safety_dlt_api.DLTEvaluationListApi.as_view(),
        name="dlt-evaluation-list",
    ),
    path(
        "v1/subjects/<int:pk>/dlt-evaluation/",
        safety_dlt_api.SubjectDLTEvaluationApi.as_view(),
        name="subject-dlt-evaluation",
    ),
    path(
        "v1/subjects/<int:pk>/dlt-adjudications/",
        safety_dlt_api.SubjectDLTAdjudicationsApi.as_view(),
        name="subject-dlt-adjudications",
    ),
    path(
        "v1/subjects/<int:pk>/lab-panels/",
        api_labs.SubjectLabPanelsApi.as_view(),
        name="subject-lab-panels",
    ),
    path(
        "v1/subjects/<int:pk>/adverse-events/",
        safety_api.AdverseEventListApi.as_view(),
        name="subject-adverse-events",
    ),
    path(
        "v1/subjects/<int:pk>/adverse-events/<int:ae_id>/",
        safety_api.AdverseEventDetailApi.as_view(),
        name="subject-adverse-event",
    ),
    path("v1/ctcae-terms/", safety_api.CTCAETermListApi.as_view(), name="ctcae-term-list"),
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
    path(
        "v1/studies/<int:study_id>/efficacy/endpoints/",
        efficacy_endpoints_api.EfficacyEndpointsApi.as_view(),
        name="efficacy-endpoints",
    ),
]
urlpatterns += sae_api_urlpatterns
from safety.api_transfusions import urlpatterns as transfusion_api_urlpatterns  # noqa: E402

urlpatterns += transfusion_api_urlpatterns

from efficacy import api as efficacy_api  # noqa: E402

# Efficacy CRFs (efficacy/api.py): per subject (identified) and the study's read lists.
urlpatterns += (
    [
        path(
            f"v1/subjects/<int:pk>/efficacy/{kind}/",
            getattr(efficacy_api, f"{view}ListApi").as_view(),
            name=f"subject-efficacy-{name}-list",
        )
        for kind, view, name in (
            ("responses", "Response", "responses"),
            ("follow-up", "FollowUp", "follow-up"),
            ("disease-events", "DiseaseEvent", "disease-events"),
        )
    ]
    + [
        path(
            f"v1/subjects/<int:pk>/efficacy/{kind}/<int:record_id>/",
            getattr(efficacy_api, f"{view}DetailApi").as_view(),
            name=f"subject-efficacy-{name}-detail",
        )
        for kind, view, name in (
            ("responses", "Response", "responses"),
            ("follow-up", "FollowUp", "follow-up"),
            ("disease-events", "DiseaseEvent", "disease-events"),
        )
    ]
    + [
        path(
            f"v1/studies/<int:study_id>/efficacy/{kind}/",
            getattr(efficacy_api, f"Study{view}ListApi").as_view(),
            name=f"efficacy-{name}-list",
        )
        for kind, view, name in (
            ("responses", "Response", "responses"),
            ("follow-up", "FollowUp", "follow-up"),
            ("disease-events", "DiseaseEvent", "disease-events"),
        )
    ]
)
urlpatterns += [
    path(
        "v1/subjects/<int:pk>/efficacy/kinetics/",
        efficacy_samples_api.SubjectKineticsApi.as_view(),
        name="subject-efficacy-kinetics",
    ),
    path(
        "v1/subjects/<int:pk>/efficacy/anti-car/",
        efficacy_samples_api.SubjectAntiCARApi.as_view(),
        name="subject-efficacy-anti-car",
    ),
    path(
        "v1/subjects/<int:pk>/efficacy/rcl/",
        efficacy_samples_api.SubjectRCLApi.as_view(),
        name="subject-efficacy-rcl",
    ),
]
urlpatterns += [
    path(
        "v1/studies/<int:study_id>/escalation/what-if/",
        escalation_api.EscalationWhatIfApi.as_view(),
        name="escalation-what-if",
    ),
    path(
        "v1/subjects/<int:pk>/assignment/end/",
        dosing_api.SubjectAssignmentEndApi.as_view(),
        name="subject-assignment-end",
    ),
]
