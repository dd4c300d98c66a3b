"""Daily CRS and ICANS pages: the list per subject, the CRF, and the live-grade endpoint.

The live grade (``crs_live_grade`` / ``icans_live_grade``) takes the form's current values,
parses them with the same form and calls the same service function the save uses
(``safety.services.grade_crs`` / ``grade_icans``), so the grade shown while typing is the grade
that will be stored; no rule runs in JavaScript (``static/js/live_grade.js`` only posts and
shows the answer). Without JavaScript the grade appears after saving.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enrollment.views import SubjectCRFView, subject_for
from safety import selectors_crs, services
from safety.forms_crs import CRSAssessmentForm, ICANSAssessmentForm
from safety.models import CRSAssessment, ICANSAssessment
from safety.services.crs_grading import stored_sentence
from safety.services.crs_icans import NO_DAY0
from trialsite.records.exceptions import RecordStateError
from trialsite.studies import permissions
from trialsite.studies.roles import Action

KINDS = {
    "crs": {
        "model": CRSAssessment,
        "form": CRSAssessmentForm,
        "grade": services.grade_crs,
        "save": services.save_crs_assessment,
        "title": _("Daily CRS assessments (ASTCT 2019)"),
        "add": _("Add today's CRS assessment"),
        "episodes": _("CRS episodes"),
    },
    "icans": {
        "model": ICANSAssessment,
        "form": ICANSAssessmentForm,
        "grade": services.grade_icans,
        "save": services.save_icans_assessment,
        "title": _("Daily ICANS assessments (ASTCT 2019)"),
        "add": _("Add today's ICANS assessment"),
        "episodes": _("ICANS episodes"),
    },
}


def event_url(event) -> str:
    """The AE page of an episode's AE, once the AE pages exist (else no link)."""
    try:
        return event.get_absolute_url()
    except NoReverseMatch:
        return ""


def _daily_list(request, pk: int, kind: str):
    subject = subject_for(request, pk)
    spec = KINDS[kind]
    episodes = [
        (episode, event, event_url(event) if event else "")
        for episode, event in selectors_crs.episodes_with_events(subject, spec["model"])
    ]
    return render(
        request,
        "safety/crs/daily_list.html",
        {
            "subject": subject,
            "kind": kind,
            "title": spec["title"],
            "add_label": spec["add"],
            "episodes_title": spec["episodes"],
            "assessments": [
                (day, stored_sentence(day))
                for day in selectors_crs.daily_assessments(subject, spec["model"])
            ],
            "episodes": episodes,
            "can_add": subject.day0 is not None
            and permissions.can(
                request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
            ),
        },
    )


def crs_list(request, pk: int):
    return _daily_list(request, pk, "crs")


def icans_list(request, pk: int):
    return _daily_list(request, pk, "icans")


class DailyAssessmentView(SubjectCRFView):
    """One day's CRS or ICANS CRF; the grade is derived by the service on save."""

    kind = "crs"
    template_name = "safety/crs/assessment_form.html"
    readonly_template_name = "safety/crs/assessment_readonly.html"
    readonly_allowed = False  # a new day has nothing to read; a saved day opens read-only

    @property
    def spec(self):
        return KINDS[self.kind]

    @property
    def form_class(self):
        return self.spec["form"]

    @property
    def title(self):
        return self.spec["model"].crf_title

    def get_record(self):
        record_id = self.kwargs.get("record_id")
        if record_id is None:
            return None
        return get_object_or_404(self.spec["model"], pk=record_id, subject=self.get_subject())

    def get_initial(self):
        from trialsite import clock

        return {"assessment_date": clock.today()}

    def entry_blocked_reason(self, record):
        blocked = super().entry_blocked_reason(record)
        if not blocked and self.get_subject().day0 is None:
            return str(NO_DAY0)
        return blocked

    def save(self, form, record, *, study, site):
        return self.spec["save"](
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse(f"safety:{self.kind}-list", args=[self.get_subject().pk])

    def get_context_data(self, **context):
        subject = self.get_subject()
        record = context.get("record")
        grade_url = reverse(f"safety:{self.kind}-grade", args=[subject.pk])
        return {
            **super().get_context_data(**context),
            "kind": self.kind,
            "grade_url": grade_url,
            "record_id": record.pk if record is not None else "",
            "stored_sentence": stored_sentence(record) if record is not None else "",
            "list_url": reverse(f"safety:{self.kind}-list", args=[subject.pk]),
        }


class CRSAssessmentView(DailyAssessmentView):
    kind = "crs"


class ICANSAssessmentView(DailyAssessmentView):
    kind = "icans"


def _errors(exc: ValidationError) -> dict:
    if not hasattr(exc, "error_dict"):
        return {"__all__": [{"message": m, "code": exc.code or ""} for m in exc.messages]}
    return {
        field: [{"message": m, "code": e.code or ""} for e in errors for m in e.messages]
        for field, errors in exc.error_dict.items()
    }


def _live_grade(request, pk: int, kind: str):
    """POST the form's values; answer {grade, sentence, deciding} or {errors} (JSON, 200)."""
    subject = subject_for(request, pk, Action.ENTER_DATA)
    spec = KINDS[kind]
    record = None
    record_id = request.POST.get("record_id") or ""
    if record_id.isdigit():
        record = get_object_or_404(spec["model"], pk=int(record_id), subject=subject)
    form = spec["form"](request.POST, instance=record)
    if not form.is_valid():
        errors = {
            field: messages
            for field, messages in form.errors.get_json_data().items()
            if field not in ("version", "reason")
        }
        if errors:
            return JsonResponse({"grade": None, "sentence": "", "errors": errors})
    try:
        grading = spec["grade"](subject, form.clinical_values(), record=record)
    except ValidationError as exc:
        return JsonResponse({"grade": None, "sentence": "", "errors": _errors(exc)})
    except RecordStateError as exc:
        return JsonResponse({"grade": None, "sentence": "", "errors": {"__all__": [exc.message]}})
    return JsonResponse({**grading.as_dict(), "errors": {}})


@require_POST
def crs_live_grade(request, pk: int):
    return _live_grade(request, pk, "crs")


@require_POST
def icans_live_grade(request, pk: int):
    return _live_grade(request, pk, "icans")
