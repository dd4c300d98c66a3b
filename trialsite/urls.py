from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from trialsite import audit_views, health, views
from trialsite.records import recompute_views
from trialsite.studies import views as study_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("study/switch/", views.switch_study, name="switch-study"),
    path("study/settings/", views.study_settings, name="study-settings"),
    path("study/members/", study_views.members, name="study-members"),
    path("study/members/<int:pk>/", study_views.member, name="study-member"),
    path("study/audit/", audit_views.audit_trail, name="audit-trail"),
    path("study/audit/export.csv", audit_views.audit_export, name="audit-export"),
    path("study/recompute/", recompute_views.recompute_status, name="recompute-status"),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("subjects/", include("enrollment.urls")),
    path("safety/", include("safety.urls")),
    path("design/", include("dosing.design_urls")),
    path("subjects/", include("dosing.urls")),
    path("escalation/", include("dosing.escalation_urls")),
    path("efficacy/", include("efficacy.dashboard_urls")),
    path("dashboards/", include("trialsite.dashboards.urls")),
    path("efficacy/", include("efficacy.urls")),
    path("", include("trialsite.records.urls")),
    path("api/", include("trialsite.api.urls")),
    path("admin/", admin.site.urls),
]
