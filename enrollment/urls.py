from django.urls import path

from enrollment import views, views_off_study

app_name = "enrollment"

urlpatterns = [
    path("", views.screening_log, name="screening-log"),
    path("screening-log.csv", views.screening_log_csv, name="screening-log-csv"),
    path("new/", views.RegisterSubject.as_view(), name="register"),
    path("<int:pk>/", views.subject_detail, name="subject"),
    path("<int:pk>/registration/", views.EditSubject.as_view(), name="edit-subject"),
    path("<int:pk>/consent/", views.ConsentView.as_view(), name="consent"),
    path("<int:pk>/consent/<int:consent_id>/", views.ConsentView.as_view(), name="consent-edit"),
    path("<int:pk>/screening/<slug:crf>/", views.ScreeningCRFView.as_view(), name="crf"),
    path("<int:pk>/steroids/new/", views.SteroidCourseView.as_view(), name="steroid-new"),
    path(
        "<int:pk>/steroids/<int:course_id>/", views.SteroidCourseView.as_view(), name="steroid-edit"
    ),
    path("<int:pk>/regimens/new/", views.PriorRegimenView.as_view(), name="regimen-new"),
    path(
        "<int:pk>/regimens/<int:regimen_id>/",
        views.PriorRegimenView.as_view(),
        name="regimen-edit",
    ),
    path("<int:pk>/eligibility/", views.eligibility, name="eligibility"),
    path("<int:pk>/eligibility/confirm/", views.ConfirmEligibility.as_view(), name="confirm"),
    path("<int:pk>/screen-failure/", views.screen_failure, name="screen-failure"),
    path(
        "<int:pk>/screen-failure/reverse/",
        views.reverse_screen_failure,
        name="reverse-screen-failure",
    ),
    path(
        "<int:pk>/consent/withdrawal/reverse/",
        views.reverse_withdrawal,
        name="reverse-withdrawal",
    ),
    path("<int:pk>/rescreen/", views.rescreen, name="rescreen"),
    path("<int:pk>/off-study/", views_off_study.OffStudyView.as_view(), name="off-study"),
]
