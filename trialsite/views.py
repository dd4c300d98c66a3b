"""Platform pages: the role-aware home page, the study switcher, study settings."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enrollment.selectors import awaiting_confirmation
from trialsite.records import notifications
from trialsite.records.models import DataQuery, RecomputeRun
from trialsite.studies import permissions, services
from trialsite.studies.middleware import SESSION_KEY
from trialsite.studies.roles import Action, Role
from trialsite.studies.selectors import studies_for_user, study_overview

# What each role is here to do, shown on the home page (RULES of the brief: "Who uses it").
ROLE_TASKS = {
    Role.COORDINATOR: _(
        "Register and screen subjects, record consent, and enter the case report forms."
    ),
    Role.INVESTIGATOR: _(
        "Review eligibility and safety, adjudicate DLTs, confirm escalation decisions and sign."
    ),
    Role.MONITOR: _("Verify source data and raise queries on the entered data."),
    Role.DATA_MANAGER: _("Manage data queries, review the audit trail and lock clean data."),
    Role.SPONSOR: _("Pull de-identified data and exports through the REST API."),
    Role.ADMIN: _("Maintain the study settings, sites and members."),
}


def open_query_count(user, study) -> int | None:
    """Open or answered data queries of the sites the user reads (None: not a clinical reader)."""
    if not permissions.can(user, Action.VIEW_CLINICAL, study=study):
        return None
    rows = permissions.scope_by_site(
        DataQuery.objects.filter(study=study), user, Action.VIEW_CLINICAL, study=study
    )
    return rows.exclude(status=DataQuery.Status.CLOSED).count()


def home(request):
    study = request.study
    if not study:
        return render(request, "home_no_study.html")
    overview = study_overview(study)
    my_roles = sorted(permissions.roles(request.user, study))
    last_run = RecomputeRun.objects.filter(study=study).order_by("-id").first()
    context = {
        "study": overview,
        "my_roles": [(role, Role(role).label, ROLE_TASKS[role]) for role in my_roles],
        "studies": studies_for_user(request.user),
        "last_run": last_run,
        "recomputing": (last_run.data_version if last_run else 0) < overview.data_version,
        "can_view_clinical": permissions.can(request.user, Action.VIEW_CLINICAL, study=study),
        "open_queries": open_query_count(request.user, study),
        "notifications": notifications.pending(request.user, study)[:10],
        "awaiting_signature": awaiting_confirmation(request.user, study),
    }
    return render(request, "home.html", context)


@require_POST
def switch_study(request):
    try:
        wanted = int(request.POST.get("study", ""))
    except ValueError:
        raise Http404("No such study.") from None
    study = studies_for_user(request.user).filter(pk=wanted).first()
    if study is None:
        raise Http404("No such study.")
    request.session[SESSION_KEY] = study.pk
    messages.info(request, _("You are now working in %(study)s.") % {"study": study})
    return redirect("home")


class StudySettingsForm(forms.Form):
    document = forms.CharField(
        label=_("Settings document (JSON)"), widget=forms.Textarea(attrs={"rows": 24})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason for change"), widget=forms.Textarea(attrs={"rows": 2}))

    def clean_document(self):
        try:
            return json.loads(self.cleaned_data["document"])
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("This is not valid JSON: %(error)s"), params={"error": exc}
            ) from None


def study_settings(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_SETTINGS, study=study)
    can_edit = permissions.can(request.user, Action.MANAGE_STUDY, study=study)
    status = 200
    if request.method == "POST":
        permissions.require(request.user, Action.MANAGE_STUDY, study=study)
        form = StudySettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_study_settings(
                    study,
                    actor=request.user,
                    document=form.cleaned_data["document"],
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and set(exc.error_dict) <= {"reason"}:
                    form.add_error("reason", exc.error_dict["reason"])
                else:
                    form.add_error("document", exc)
            else:
                messages.success(request, _("Study settings saved as a new version."))
                return redirect("study-settings")
        status = 400
    else:
        form = StudySettingsForm(
            initial={
                "document": json.dumps(study.settings, indent=2, ensure_ascii=False),
                "version": study.settings_version,
            }
        )
    versions = study.settings_versions.select_related("changed_by").order_by("-version")[:20]
    return render(
        request,
        "study_settings.html",
        {"study": study, "form": form, "can_edit": can_edit, "versions": versions},
        status=status,
    )
