"""Efficacy pages: response assessments (list, CRF, live ELN category, confirmation), follow-up
contacts and disease events, and the subject page's Efficacy section.

The live category (``response_live``) parses the form's current values with the same form and
calls the same service function as the save (``efficacy.services.classify``), so the category
shown while typing is the one that will be stored; ``static/js/live_grade.js`` only posts and
shows the answer (no rule in JavaScript). Without JavaScript the category appears after saving.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from efficacy import selectors, services
from efficacy.forms import (
    ConfirmResponseForm,
    DiseaseEventForm,
    FollowUpForm,
    ResponseAssessmentForm,
)
from efficacy.models import DiseaseEvent, FollowUp, ResponseAssessment
from efficacy.services.follow_up import NO_DAY0 as FOLLOW_UP_NO_DAY0
from efficacy.services.response import NO_DAY0
from enrollment.views import SubjectCRFView, subject_for
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import add_service_error
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def _can(request, subject, action) -> bool:
    return permissions.can(request.user, action, study=subject.study, site=subject.site_id)


def efficacy_section(request, subject) -> dict:
    """The subject page's Efficacy section (3 queries): responses, follow-ups, disease events."""
    return {
        "responses": list(selectors.responses_of(subject)),
        "follow_ups": list(selectors.follow_ups_of(subject)),
        "events": list(selectors.disease_events_of(subject)),
        "can_enter": subject.day0 is not None and _can(request, subject, Action.ENTER_DATA),
    }


def response_list(request, pk: int):
    subject = subject_for(request, pk)
    return render(
        request,
        "efficacy/response_list.html",
        {
            "subject": subject,
            "title": _("Response assessments (ELN 2022)"),
            "responses": list(selectors.responses_of(subject)),
            "can_add": subject.day0 is not None and _can(request, subject, Action.ENTER_DATA),
            "can_confirm": _can(request, subject, Action.SIGN),
        },
    )


def follow_up_list(request, pk: int):
    subject = subject_for(request, pk)
    return render(
        request,
        "efficacy/follow_up_list.html",
        {
            "subject": subject,
            "title": _("Follow-up and disease events"),
            "follow_ups": list(selectors.follow_ups_of(subject)),
            "events": list(selectors.disease_events_of(subject)),
            "can_add": subject.day0 is not None and _can(request, subject, Action.ENTER_DATA),
        },
    )


class EfficacyCRFView(SubjectCRFView):
    """A repeating efficacy CRF of one subject (new at …/new/, a saved one at …/<id>/)."""

    model: type
    list_url_name = ""
    readonly_allowed = False  # a new record has nothing to read; a saved one opens read-only
    no_day0 = FOLLOW_UP_NO_DAY0
    template_name = "efficacy/crf_form.html"
    readonly_template_name = "efficacy/crf_readonly.html"

    @property
    def title(self):
        return self.model.crf_title

    def get_record(self):
        record_id = self.kwargs.get("record_id")
        if record_id is None:
            return None
        return get_object_or_404(self.model, pk=record_id, subject=self.get_subject())

    def entry_blocked_reason(self, record):
        blocked = super().entry_blocked_reason(record)
        if not blocked and self.get_subject().day0 is None:
            return str(self.no_day0)
        return blocked

    def get_success_url(self, record):
        return reverse(self.list_url_name, args=[self.get_subject().pk])

    def get_context_data(self, **context):
        return {
            **super().get_context_data(**context),
            "list_url": reverse(self.list_url_name, args=[self.get_subject().pk]),
        }

    def service_kwargs(self, form, record) -> dict:
        return {
            "actor": self.request.user,
            "values": form.clinical_values(),
            "record": record,
            "expected_version": form.cleaned_data.get("version"),
            "reason": form.cleaned_data.get("reason") or "",
        }


class ResponseAssessmentView(EfficacyCRFView):
    model = ResponseAssessment
    form_class = ResponseAssessmentForm
    list_url_name = "efficacy:responses"
    no_day0 = NO_DAY0
    template_name = "efficacy/response_form.html"
    readonly_template_name = "efficacy/response_readonly.html"

    def save(self, form, record, *, study, site):
        return services.save_response_assessment(
            self.get_subject(), **self.service_kwargs(form, record)
        )

    def get_context_data(self, **context):
        subject = self.get_subject()
        record = context.get("record")
        return {
            **super().get_context_data(**context),
            "live_url": reverse("efficacy:response-live", args=[subject.pk]),
            "record_id": record.pk if record is not None else "",
            "can_confirm": record is not None and _can(self.request, subject, Action.SIGN),
        }


class FollowUpView(EfficacyCRFView):
    model = FollowUp
    form_class = FollowUpForm
    list_url_name = "efficacy:follow-ups"

    def save(self, form, record, *, study, site):
        return services.save_follow_up(self.get_subject(), **self.service_kwargs(form, record))


class DiseaseEventView(EfficacyCRFView):
    model = DiseaseEvent
    form_class = DiseaseEventForm
    list_url_name = "efficacy:follow-ups"

    def save(self, form, record, *, study, site):
        return services.save_disease_event(self.get_subject(), **self.service_kwargs(form, record))


def _errors(exc: ValidationError) -> dict:
    if not hasattr(exc, "error_dict"):
        return {"__all__": [{"message": m, "code": exc.code or ""} for m in exc.messages]}
    return {
        field: [{"message": m, "code": e.code or ""} for e in errors for m in e.messages]
        for field, errors in exc.error_dict.items()
    }


@require_POST
def response_live(request, pk: int):
    """POST the form's values; answer {category, mrd_status, sentence} or {errors} (JSON)."""
    subject = subject_for(request, pk, Action.ENTER_DATA)
    record = None
    record_id = request.POST.get("record_id") or ""
    if record_id.isdigit():
        record = get_object_or_404(ResponseAssessment, pk=int(record_id), subject=subject)
    form = ResponseAssessmentForm(request.POST, instance=record)
    empty = {"category": None, "mrd_status": None, "sentence": ""}
    if not form.is_valid():
        errors = {
            field: messages_
            for field, messages_ in form.errors.get_json_data().items()
            if field not in ("version", "reason")
        }
        if errors:
            return JsonResponse({**empty, "errors": errors})
    try:
        result = services.classify(subject, form.clinical_values(), record=record)
    except ValidationError as exc:
        return JsonResponse({**empty, "errors": _errors(exc)})
    except RecordStateError as exc:
        return JsonResponse({**empty, "errors": {"__all__": [exc.message]}})
    return JsonResponse({**result.as_dict(), "errors": {}})


def response_confirm(request, pk: int, record_id: int):
    """The investigator's confirmation or override (e-signed); others read the decision."""
    subject = subject_for(request, pk)
    record = get_object_or_404(ResponseAssessment, pk=record_id, subject=subject)
    can_confirm = _can(request, subject, Action.SIGN)
    form = ConfirmResponseForm(initial={"version": record.version})
    status = 200
    if request.method == "POST":
        if not can_confirm:
            raise PermissionDenied
        form = ConfirmResponseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.confirm_response(
                    record,
                    actor=request.user,
                    password=data["password"],
                    expected_version=data["version"],
                    override_category=(
                        data["override_category"] if data["decision"] == "override" else ""
                    ),
                    reason=data["reason"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Response category recorded and signed."))
                return redirect("efficacy:responses", pk=subject.pk)
        status = 400
    return render(
        request,
        "efficacy/response_confirm.html",
        {
            "subject": subject,
            "record": record,
            "form": form,
            "can_confirm": can_confirm,
            "title": _("Confirm the response category"),
        },
        status=status,
    )
