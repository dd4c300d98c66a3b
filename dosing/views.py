"""Dosing pages: the cohort assignment and the four treatment CRFs of one subject.

Each is an ``enrollment.views.SubjectCRFView`` (docs/architecture.md §10): readers get the page
read-only, and a CRF whose prerequisites are missing is read-only with the reason
(``dosing.selectors.blocked_reason``). Derived values — BSA, mg per day, dose per kg and its
deviation from the planned dose — are computed by ``dosing.rules`` and shown, not stored.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from dosing import assignments, selectors, services
from dosing.forms import (
    ApheresisForm,
    AssignmentForm,
    EndAssignmentForm,
    InfusionForm,
    LymphodepletionForm,
    ProductReleaseForm,
)
from dosing.models import (
    Apheresis,
    CohortAssignment,
    DoseLevel,
    Infusion,
    Lymphodepletion,
    ProductRelease,
)
from enrollment.views import SubjectCRFView, subject_for
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import add_service_error
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NO_ACTIVE_ASSIGNMENT = _("The subject has no active cohort assignment: there is nothing to end.")


class DosingCRFView(SubjectCRFView):
    """One treatment CRF of the subject (one record per subject)."""

    template_name = "dosing/crf.html"
    readonly_template_name = "dosing/crf_readonly.html"
    model: type
    service = None

    def state(self) -> selectors.TreatmentState:
        if not hasattr(self, "_state"):
            self._state = selectors.treatment_state(self.get_subject())
        return self._state

    def get_record(self):
        return self.state().record(self.model)

    def entry_blocked_reason(self, record):
        return selectors.blocked_reason(self.state(), self.model)

    def save(self, form, record, *, study, site):
        return type(self).service(
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def derived(self, record) -> dict:
        return {}

    def get_context_data(self, **context):
        context = super().get_context_data(**context)
        state = self.state()
        return {
            **context,
            "assignment": state.assignment,
            "derived": self.derived(context.get("record")),
        }


class ApheresisView(DosingCRFView):
    form_class = ApheresisForm
    title = _("Apheresis")
    model = Apheresis
    service = services.save_apheresis


class ProductReleaseView(DosingCRFView):
    form_class = ProductReleaseForm
    title = _("Manufacturing and product release")
    model = ProductRelease
    service = services.save_product_release


class LymphodepletionView(DosingCRFView):
    form_class = LymphodepletionForm
    title = _("Lymphodepletion")
    model = Lymphodepletion
    service = services.save_lymphodepletion

    def derived(self, record) -> dict:
        return {
            "bsa_m2": selectors.bsa_m2(record),
            "ld_days": selectors.lymphodepletion_doses(record),
        }


class InfusionView(DosingCRFView):
    form_class = InfusionForm
    title = _("CAR-T infusion")
    model = Infusion
    service = services.record_infusion

    def derived(self, record) -> dict:
        assignment = self.state().assignment
        planned = record.planned_dose_cells_per_kg if record else None
        if planned is None and assignment is not None:
            planned = assignment.dose_level.dose_cells_per_kg
        return {"planned_dose": planned, "dose": record.dose_check() if record else None}


class AssignView(DosingCRFView):
    """Assign the subject to a dose level and cohort (no change once assigned, for now)."""

    form_class = AssignmentForm
    title = _("Cohort assignment")
    model = CohortAssignment

    def get_form_kwargs(self):
        return {"levels": DoseLevel.objects.filter(pk__in=self._level_ids()).order_by("level")}

    def _level_ids(self):
        return [level.pk for level in services.dose_levels(self.get_subject().study)]

    def save(self, form, record, *, study, site):
        values = form.clinical_values()
        return services.assign_subject(
            self.get_subject(),
            actor=self.request.user,
            dose_level=values["dose_level"],
            phase=values["phase"],
            cohort_number=values["cohort_number"],
        )


def treatment_section(request, subject) -> dict:
    """The subject page's Treatment section: what is entered, what is next, what is blocked."""
    state = selectors.treatment_state(subject)
    infusion = state.infusion
    return {
        "steps": selectors.treatment_steps(state),
        "assignment": state.assignment,
        "infusion": infusion,
        "dose": infusion.dose_check() if infusion else None,
        "can_enter": permissions.can(
            request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
        ),
        "ended": list(assignments.ended_assignments(subject)),
    }


def end_assignment(request, pk: int):
    """End the subject's assignment before the infusion (coordinators and investigators of the
    site), with the reason; readers see the page read-only with the ended assignments and their
    reasons (``dosing.assignments``)."""
    subject = subject_for(request, pk)
    can_enter = permissions.can(
        request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
    )
    if request.method == "POST" and not can_enter:
        raise PermissionDenied
    state = selectors.treatment_state(subject)
    current, infusion = state.assignment, state.infusion
    blocked = ""
    if current is None:
        blocked = str(NO_ACTIVE_ASSIGNMENT)
    elif infusion is not None:
        blocked = str(
            assignments.ALREADY_INFUSED % {"subject": subject, "level": current.dose_level.label}
        )
    form = None
    if can_enter and not blocked:
        data = request.POST if request.method == "POST" else None
        form = EndAssignmentForm(data, initial={"version": current.version})
        if data is not None and form.is_valid():
            try:
                assignments.end_assignment(
                    current,
                    actor=request.user,
                    reason=form.reason(),
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
                    exc = ValidationError({"details": exc.error_dict["reason"]})
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("The assignment to %(level)s ended: the slot is free again.")
                    % {"level": current.dose_level.label},
                )
                return redirect("enrollment:subject", subject.pk)
    return render(
        request,
        "dosing/end_assignment.html",
        {
            "subject": subject,
            "assignment": current,
            "form": form,
            "readonly": form is None,
            "blocked": blocked,
            "ended": assignments.ended_assignments(subject),
            "title": _("End the cohort assignment"),
        },
        status=400 if form is not None and form.is_bound else 200,
    )
