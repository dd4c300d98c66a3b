"""Lab pages: a subject's collections, entry per collection, proposed AEs, and the CSV import.

HTTP only (DESIGN.md §3): permission, parse, call the lab service or selector, render. Readers
(monitors, data managers) get the collection read-only, never a 403; a new collection, the
proposal decisions and the import are for those who enter data.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST

from enrollment.services import data_entry_blocked
from enrollment.views import subject_for
from safety import lab_catalogue, lab_import, selectors_labs
from safety.forms_labs import DismissProposalForm, LabImportForm, LabPanelForm, ResultRowForm
from safety.models import LabAEProposal, LabPanel, LabResult
from safety.services import (
    LabRowsInvalid,
    confirm_lab_proposal,
    dismiss_lab_proposal,
    grade_preview,
    save_lab_panel,
)
from safety.tasks import import_lab_file
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import add_service_error, history_url
from trialsite.studies import permissions
from trialsite.studies.roles import Action

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _can_enter(request, subject) -> bool:
    return permissions.can(
        request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
    )


def lab_panels(request, pk: int):
    """The subject's collections with every result's grade and flag."""
    subject = subject_for(request, pk)
    return render(
        request,
        "safety/labs/panel_list.html",
        {
            "subject": subject,
            "panels": selectors_labs.panels_of(subject),
            "can_enter": _can_enter(request, subject) and not data_entry_blocked(subject),
            "pending": selectors_labs.pending_proposal_counts([subject.pk]).get(subject.pk, 0),
        },
    )


class LabPanelView(View):
    """Enter (or correct) one collection: the panel fields and a row per catalogue test."""

    template_name = "safety/labs/panel_form.html"

    def _setup(self):
        self.subject = subject_for(self.request, self.kwargs["pk"])
        panel_id = self.kwargs.get("panel_id")
        self.record = (
            get_object_or_404(LabPanel, pk=panel_id, subject=self.subject) if panel_id else None
        )
        study, site = self.subject.study, self.subject.site_id
        level = permissions.access_level(
            self.request.user, study, site, write_action=Action.ENTER_DATA
        )
        if level not in (permissions.WRITE, permissions.READ) or (
            level == permissions.READ and self.record is None
        ):
            permissions.require(self.request.user, Action.ENTER_DATA, study=study, site=site)
        self.can_write = level == permissions.WRITE
        self.blocked = data_entry_blocked(self.subject) if self.can_write else ""
        self.results = (
            {r.test_code: r for r in LabResult.objects.filter(panel=self.record)}
            if self.record
            else {}
        )

    def _forms(self, data=None):
        panel_form = (
            LabPanelForm(data, instance=self.record) if data else LabPanelForm(instance=self.record)
        )
        rows = []
        for test in lab_catalogue.TESTS.values():
            result = self.results.get(test.code)
            initial = {}
            if result is not None:
                initial = {
                    "value": f"{result.value.normalize():f}",
                    "unit": result.unit,
                    "lln": "" if result.lln is None else f"{result.lln.normalize():f}",
                    "uln": "" if result.uln is None else f"{result.uln.normalize():f}",
                    "is_baseline": result.is_baseline,
                    "version": result.version,
                }
            form = ResultRowForm(data, test=test, initial=initial)
            rows.append({"test": test, "form": form, "result": result})
        return panel_form, rows

    def render(self, panel_form, rows, status=200):
        readonly = not self.can_write or bool(self.blocked)
        groups = [
            (label, [r for r in rows if r["test"].group == code])
            for code, label in lab_catalogue.GROUPS.items()
        ]
        context = {
            "title": _("Lab collection"),
            "subject": self.subject,
            "record": self.record,
            "form": panel_form,
            "groups": groups,
            "readonly": readonly,
            "blocked": self.blocked,
            "history_url": history_url(self.record) if self.record else "",
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        self._setup()
        return self.render(*self._forms())

    def post(self, request, *args, **kwargs):
        self._setup()
        if not self.can_write:
            raise PermissionDenied
        panel_form, rows = self._forms(request.POST)
        if self.blocked:
            return self.render(panel_form, rows, status=409)
        row_valid = [r["form"].is_valid() for r in rows]  # every row, so every error shows
        if panel_form.is_valid() and all(row_valid):
            typed = [(r, r["form"].row()) for r in rows]
            typed = [(r, values) for r, values in typed if values is not None]
            try:
                saved = save_lab_panel(
                    self.subject,
                    actor=request.user,
                    values=panel_form.clinical_values(),
                    results=[values for _r, values in typed],
                    record=self.record,
                    expected_version=panel_form.cleaned_data.get("version"),
                    reason=panel_form.cleaned_data.get("reason") or "",
                )
            except LabRowsInvalid as exc:
                for index, errors in exc.rows.items():
                    form = typed[index][0]["form"]
                    for name, messages_ in errors.items():
                        target = name if name in form.fields else None
                        form.add_error(target, messages_)
            except ValidationError as exc:
                add_service_error(panel_form, exc)
            except RecordStateError as exc:
                panel_form.add_error(None, exc.message)
            else:
                messages.success(request, _("Saved; the grades are shown beside each value."))
                return redirect(reverse("safety:lab-panel-edit", args=[self.subject.pk, saved.pk]))
        return self.render(panel_form, rows, status=400)


def lab_proposals(request, pk: int):
    """Proposed AEs from graded lab abnormalities: pending ones to confirm or dismiss."""
    subject = subject_for(request, pk)
    return render(
        request,
        "safety/labs/proposals.html",
        {
            "subject": subject,
            "proposals": selectors_labs.proposals_of(subject),
            "can_decide": _can_enter(request, subject),
        },
    )


@require_POST
def lab_proposal_action(request, pk: int, proposal_id: int, action: str):
    subject = subject_for(request, pk, Action.ENTER_DATA)
    proposal = get_object_or_404(LabAEProposal, pk=proposal_id, subject=subject)
    form = DismissProposalForm(request.POST)
    form.is_valid()
    version = form.cleaned_data.get("version")
    back = reverse("safety:lab-proposals", args=[subject.pk])
    try:
        if action == "confirm":
            event = confirm_lab_proposal(proposal, actor=request.user, expected_version=version)
            messages.success(
                request, _("Recorded as an adverse event: %(event)s.") % {"event": event}
            )
        elif action == "dismiss":
            dismiss_lab_proposal(
                proposal,
                actor=request.user,
                expected_version=version,
                reason=form.cleaned_data.get("reason") or "",
            )
            messages.success(request, _("Dismissed."))
        else:
            raise Http404
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except RecordStateError as exc:
        messages.error(request, exc.message)
    return redirect(back)


def _import_study(request):
    study = request.study
    if not study:
        raise Http404("No study.")
    permissions.require(request.user, Action.ENTER_DATA, study=study)
    return study


def lab_import_page(request):
    """Upload -> preview (nothing written) -> confirm (the commit runs as a task)."""
    study = _import_study(request)
    context = {"form": LabImportForm(), "example": lab_import.example_csv()}
    status = 200
    if request.method == "POST" and "token" in request.POST:
        token = request.POST["token"]
        job = lab_import.upload(token)
        if job is None or job["user_id"] != request.user.pk or job["study_id"] != study.pk:
            messages.error(request, _("This upload has expired; upload the file again."))
            return redirect("safety:lab-import")
        lab_import.set_progress(token, state="queued", done=0, total=0, user_id=request.user.pk)
        import_lab_file.delay(token)
        context.update(token=token, filename=job["filename"], committing=True)
        context["progress"] = lab_import.progress_of(token)
    elif request.method == "POST":
        form = LabImportForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", _("The file is larger than 5 MB; split it."))
                status = 400
            else:
                content = upload.read()
                plan = lab_import.preview(
                    content, filename=upload.name, study=study, user=request.user
                )
                context["preview"] = plan
                if not plan.error_count and plan.rows:
                    token = secrets.token_urlsafe(16)
                    lab_import.store_upload(
                        token, content=content, filename=upload.name, study=study,
                        user=request.user,
                    )  # fmt: skip
                    context["token"] = token
        else:
            status = 400
    return render(request, "safety/labs/import.html", context, status=status)


def lab_import_status(request, token: str):
    """The progress of a commit, as JSON for static/js/lab_import.js."""
    _import_study(request)
    state = lab_import.progress_of(token)
    if state is None or state.get("user_id") != request.user.pk:
        raise Http404  # another user's import is not revealed
    return JsonResponse({k: v for k, v in state.items() if k != "user_id"})


@require_POST
def lab_grade_preview(request, pk: int):
    """The grade a typed row would get (JSON for static/js/lab_grade.js); writes nothing.

    The server computes it with the lab service's own grading (no second implementation in
    JavaScript)."""
    subject = subject_for(request, pk, Action.ENTER_DATA)
    form = LabPanelForm(request.POST)
    collected_at = None
    if form.is_valid():
        collected_at = form.clinical_values()["collected_at"]
    row = {name: request.POST.get(name) for name in ("test_code", "value", "unit", "lln", "uln")}
    return JsonResponse(grade_preview(subject, row, collected_at=collected_at))
