"""Platform pages: the role-aware home page, the study switcher, study settings."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enrollment.selectors import awaiting_confirmation
from trialsite.records import notifications
from trialsite.records.models import DataQuery, RecomputeRun
from trialsite.studies import permissions, services, settings_forms, structured_forms
from trialsite.studies import study_settings as settings_document
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


def _settings_forms(study, posted: str | None = None, data=None) -> tuple[list, object]:
    """(one (section, form) per section, the raw form); the posted one bound to ``data``.

    Flat sections get a form of their settings, list sections a table of rows, object
    sections labelled fields in groups (``trialsite.studies.structured_forms``).
    """
    rows = []
    for name, section in settings_document.sections().items():
        bound = data if posted == name else None
        if section.is_flat:
            rows.append((section, settings_forms.section_form(section, study, bound)))
        elif section.is_table:
            rows.append((section, structured_forms.ListSectionForm(section, study, bound)))
        elif section.is_object:
            rows.append((section, structured_forms.object_form(section, study, bound)))
        else:
            rows.append((section, None))
    raw = settings_forms.raw_form(study, data if posted == settings_forms.RAW else None)
    return rows, raw


def _posted_values(section, form):
    """The section's new value from its valid form."""
    if section.is_flat:
        return settings_forms.section_values(form)
    if section.is_table:
        return form.parse()
    return structured_forms.object_values(section, form)


def _put_back(section, form, exc, values) -> None:
    """The service's errors beside the field (and row) they are about."""
    if section is None or section.is_flat:
        settings_forms.add_service_errors(form, exc, section=section.name if section else None)
    elif section.is_table:
        form.add_service_errors(exc, values)
    else:
        structured_forms.add_object_errors(section, form, exc)


def study_settings(request):
    """Administrators edit the settings per section (or the raw document); data managers read."""
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.VIEW_SETTINGS, study=study)
    can_edit = permissions.can(request.user, Action.MANAGE_STUDY, study=study)
    status = 200
    posted = None
    if request.method == "POST":
        permissions.require(request.user, Action.MANAGE_STUDY, study=study)
        # Each form carries its section in a hidden, prefixed field ("enrollment-section").
        posted = request.POST.get(next((k for k in request.POST if k.endswith("-section")), ""))
        sections = settings_document.sections()
        rows, raw = _settings_forms(study, posted, request.POST)
        by_name = {section.name: form for section, form in rows if form is not None}
        if posted not in by_name:
            posted = settings_forms.RAW
            rows, raw = _settings_forms(study, posted, request.POST)
        section = None if posted == settings_forms.RAW else sections[posted]
        form = raw if section is None else by_name[posted]
        if form.is_valid():
            if section is None:
                document = values = form.cleaned_data["document"]
            else:
                values = _posted_values(section, form)
                document = {**study.settings, posted: values}
            try:
                services.update_study_settings(
                    study,
                    actor=request.user,
                    document=document,
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                _put_back(section, form, exc, values)
            else:
                messages.success(request, _("Study settings saved as a new version."))
                return redirect("study-settings")
        status = 400
    else:
        rows, raw = _settings_forms(study)
    versions = study.settings_versions.select_related("changed_by").order_by("-version")[:20]
    context = {
        "study": study,
        "sections": [
            (section, form, study.settings.get(section.name), posted == section.name)
            for section, form in rows
        ],
        "form": raw,
        "raw_open": posted == settings_forms.RAW,
        "document_text": json.dumps(study.settings, indent=2, ensure_ascii=False),
        "can_edit": can_edit,
        "versions": versions,
    }
    return render(request, "study_settings.html", context, status=status)
