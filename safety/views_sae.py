"""SAE pages: the study's SAE list with its clocks, one SAE report, its printable CIOMS-I-style
form, the report's details and a recorded submission (HTTP only; the service does the work).

Every page is read by the site's staff, monitors and data managers (read-only for readers);
sponsors read SAE reports de-identified through the API (``safety.api_sae``).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from enrollment.schedule import study_day
from safety import sae_product, sae_selectors
from safety.forms_sae import SAEReportForm, SubmissionForm
from safety.models import SAEClock, SAEReport
from safety.services import sae as sae_services
from trialsite import clock
from trialsite.records.views import CRFEditView
from trialsite.studies import permissions
from trialsite.studies.roles import Action


def _study(request):
    if not request.study:
        raise Http404("No study.")
    return request.study


def _report_for(request, pk: int) -> SAEReport:
    study = _study(request)
    if not SAEReport.objects.filter(pk=pk, study=study).exists():
        raise Http404("No such SAE report.")
    report = sae_selectors.sae_report(pk)
    permissions.require(
        request.user, Action.VIEW_CLINICAL, study=study, site=report.subject.site_id
    )
    return report


def sae_list(request):
    """Every SAE of the study at the user's sites, each clock with its time left."""
    study = _study(request)
    permissions.require(request.user, Action.VIEW_CLINICAL, study=study)
    settings = sae_services.reporting_settings(study)
    reports = sae_selectors.sae_reports(study, request.user)
    subject_filter = (request.GET.get("subject") or "").strip()
    if subject_filter:
        reports = reports.filter(subject__screening_number=subject_filter)
    now = clock.now()
    rows = [
        (
            report,
            sae_selectors.clock_states(report, now=now, due_soon_hours=settings.due_soon_hours),
        )
        for report in reports
    ]
    return render(
        request,
        "safety/sae/list.html",
        {"rows": rows, "subject_filter": subject_filter, "now": now},
    )


def _report_context(request, report: SAEReport) -> dict:
    settings = sae_services.reporting_settings(report.study)
    return {
        "report": report,
        "event": report.event,
        "subject": report.subject,
        "clocks": sae_selectors.clock_states(report, due_soon_hours=settings.due_soon_hours),
        "criteria": _criteria(report.event),
        "onset_study_day": study_day(report.event.onset_date, report.subject.day0),
        "can_enter": permissions.can(
            request.user, Action.ENTER_DATA, study=report.study, site=report.subject.site_id
        ),
    }


def sae_report(request, pk: int):
    """One SAE report: the event, awareness, SUSAR classification and every clock."""
    report = _report_for(request, pk)
    return render(request, "safety/sae/report.html", _report_context(request, report))


def sae_print(request, pk: int):
    """The SAE report as a printable CIOMS-I-style form, from the data already entered.

    Subject identifiers are those the sponsor sees (subject or screening number, site code, sex,
    age at the event; no initials or birth date). The suspect product is the CAR-T infusion of
    Day 0 (``subject.day0``); its dose level, cells/kg and date come from the provider the top
    floor registers (``safety.sae_product``: dosing sits above safety, safety never imports it).
    """
    report = _report_for(request, pk)
    context = _report_context(request, report)
    subject = report.subject
    event = report.event
    age = None
    if subject.birth_date:
        onset = event.onset_date
        age = (
            onset.year
            - subject.birth_date.year
            - ((onset.month, onset.day) < (subject.birth_date.month, subject.birth_date.day))
        )
    context.update(
        {
            "age_at_onset": age,
            "reporter": report.reporter or _("Principal investigator"),
            "printed_at": clock.now(),
            "suspect_product": sae_product.suspect_product(subject),
        }
    )
    return render(request, "safety/sae/print.html", context)


def _criteria(event) -> list[tuple[str, str, bool]]:
    from safety.models import SeriousnessCriterion

    return [(c.value, c.label, c.value in event.seriousness_criteria) for c in SeriousnessCriterion]


class SAEReportDetails(CRFEditView):
    """Correct the awareness moment (the clocks move with it) and complete the CIOMS-I fields."""

    form_class = SAEReportForm
    title = _("SAE report details")
    template_name = "safety/sae/edit.html"
    readonly_template_name = "safety/sae/edit_readonly.html"

    def get_record(self):
        if not hasattr(self, "record"):
            self.record = _report_for(self.request, self.kwargs["pk"])
        return self.record

    def get_study_and_site(self, record):
        return record.study, record.subject.site

    def save(self, form, record, *, study, site):
        return sae_services.update_sae_report(
            record,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return record.get_absolute_url()

    def get_context_data(self, **context):
        report = self.get_record()
        return {**super().get_context_data(**context), "report": report}


class RecordSubmission(CRFEditView):
    """Record when one report (initial, follow-up, expedited) was submitted, and its reference."""

    form_class = SubmissionForm
    template_name = "safety/sae/edit.html"
    readonly_template_name = "safety/sae/edit_readonly.html"

    @property
    def title(self):
        return _("Record submission: %(kind)s") % {"kind": self.get_record().get_kind_display()}

    def get_record(self):
        if not hasattr(self, "record"):
            study = _study(self.request)
            self.record = get_object_or_404(
                SAEClock.objects.select_related("report__subject__site", "report__event__term"),
                pk=self.kwargs["pk"],
                study=study,
            )
        return self.record

    def get_study_and_site(self, record):
        return record.study, record.report.subject.site

    def get_initial(self):
        record = self.get_record()
        return {} if record.submitted_at else {"submitted_at": clock.now()}

    def save(self, form, record, *, study, site):
        return sae_services.record_submission(
            record,
            actor=self.request.user,
            submitted_at=form.cleaned_data["submitted_at"],
            reference=form.cleaned_data["reference"],
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return record.report.get_absolute_url()

    def get_context_data(self, **context):
        record = self.get_record()
        return {
            **super().get_context_data(**context),
            "report": record.report,
            "clock_state": sae_selectors.clock_state(record),
        }
