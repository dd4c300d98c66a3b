"""Enrollment pages: screening log, registration, subject page, consent, CRFs, eligibility."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enrollment import rules, screening_log_columns, selectors, services, subject_sections
from enrollment.forms import (
    SCREENING_FORMS,
    ConsentForm,
    PriorRegimenForm,
    RegisterSubjectForm,
    RescreenForm,
    ReverseScreenFailureForm,
    ReverseWithdrawalForm,
    ScreenFailureForm,
    ScreeningLogFilter,
    SteroidCourseForm,
)
from enrollment.models import (
    AmlHistory,
    Consent,
    EligibilityAssessment,
    MedicationHistory,
    PriorRegimen,
    ScreenFailure,
    ScreeningVitals,
    SteroidCourse,
    Subject,
    SubjectStatus,
)
from enrollment.off_study import off_study_record
from trialsite import clock
from trialsite.records import selectors as record_selectors
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import CRFEditView, SignRecordView, add_service_error
from trialsite.studies import permissions
from trialsite.studies.models import Site
from trialsite.studies.roles import Action, Role
from trialsite.studies.selectors import site_staff


def _study(request):
    if not request.study:
        raise Http404("No study.")
    return request.study


def subject_for(request, pk: int, action: str = Action.VIEW_CLINICAL) -> Subject:
    """The subject of the current study, if the user may ``action`` at its site (else 404/403)."""
    study = _study(request)
    subject = get_object_or_404(Subject.objects.select_related("site", "study"), pk=pk, study=study)
    permissions.require(request.user, action, study=study, site=subject.site_id)
    return subject


def _log_filters(request):
    study = _study(request)
    permissions.require(request.user, Action.VIEW_CLINICAL, study=study)
    sites = permissions.scope_by_site(
        Site.objects.filter(study=study),
        request.user,
        Action.VIEW_CLINICAL,
        study=study,
        site_field="pk",
    )
    return study, ScreeningLogFilter(request.GET or None, sites=sites)


def screening_log(request):
    study, filters = _log_filters(request)
    selection = filters.selection()
    subjects = selectors.screening_log(study, request.user, **selection)
    page = Paginator(subjects, 25).get_page(request.GET.get("page"))
    assessments = selectors.assessments_for(page.object_list)
    open_queries = selectors.open_query_counts(study, [s.pk for s in page.object_list])
    rows = [
        (subject, assessments.get(subject.pk), open_queries.get(subject.pk, 0))
        for subject in page.object_list
    ]
    summary_filters = {k: v for k, v in selection.items() if k not in ("status", "sort")}
    query = request.GET.copy()
    query.pop("page", None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    return render(
        request,
        "enrollment/screening_log.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "query": query.urlencode(),
            "unsorted_query": unsorted.urlencode(),
            "sort": selection["sort"] or selectors.DEFAULT_LOG_SORT,
            "columns": screening_log_columns.SORTABLE,
            "summary": selectors.screening_summary(study, request.user, **summary_filters),
            "can_register": permissions.can(request.user, Action.ENTER_DATA, study=study),
        },
    )


def screening_log_csv(request):
    """The screening log as CSV, with the log's filters and order, streamed row by row."""
    study, filters = _log_filters(request)
    subjects = selectors.screening_log(study, request.user, **filters.selection())
    filename = f"screening-log-{study.nct_id or study.pk}-{clock.today().isoformat()}.csv"
    response = StreamingHttpResponse(
        screening_log_columns.csv_lines(subjects), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class RegisterSubject(CRFEditView):
    form_class = RegisterSubjectForm
    title = _("Register a screening subject")
    readonly_allowed = False

    def get_study_and_site(self, record):
        return _study(self.request), None

    def get_form_kwargs(self):
        study = _study(self.request)
        sites = permissions.scope_by_site(
            Site.objects.filter(study=study, is_active=True),
            self.request.user,
            Action.ENTER_DATA,
            study=study,
            site_field="pk",
        )
        return {"sites": sites}

    def get_initial(self):
        return {"screening_date": clock.today()}

    def save(self, form, record, *, study, site):
        return services.register_subject(actor=self.request.user, **form.clinical_values())

    def get_success_url(self, record):
        messages.success(self.request, _("Registered %(no)s.") % {"no": record.screening_number})
        return reverse("enrollment:subject", args=[record.pk])


class SubjectCRFView(CRFEditView):
    """Base of every CRF page about one subject; safety, dosing and efficacy subclass it.

    ``get_subject`` finds the subject of the URL (``pk``) in the current study: an outsider gets
    404, a reader the read-only page. Subclasses name the form and implement ``save`` with their
    app's service.
    """

    template_name = "enrollment/crf.html"
    readonly_template_name = "enrollment/crf_readonly.html"

    def get_subject(self) -> Subject:
        if not hasattr(self, "subject"):
            self.subject = subject_for(self.request, self.kwargs["pk"])
        return self.subject

    def get_study_and_site(self, record):
        subject = self.get_subject()
        return subject.study, subject.site

    def get_success_url(self, record):
        return reverse("enrollment:subject", args=[self.get_subject().pk])

    def entry_blocked_reason(self, record):
        """No new data once consent is withdrawn (subclasses add their own prerequisites)."""
        return services.data_entry_blocked(self.get_subject())

    def get_context_data(self, **context):
        return {**super().get_context_data(**context), "subject": self.get_subject()}


class EditSubject(SubjectCRFView):
    form_class = RegisterSubjectForm
    title = _("Registration data")

    def get_record(self):
        return self.get_subject()

    def save(self, form, record, *, study, site):
        return services.update_subject(
            record,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )


def subject_detail(request, pk: int):
    subject = subject_for(request, pk)
    today = clock.today()
    visits = [(visit, visit.state(today)) for visit in selectors.visits(subject)]
    consents = (
        Consent.objects.filter(subject=subject)
        .select_related("obtained_by", "withdrawn_by", "withdrawal_reversed_by")
        .order_by("-signed_at")
    )
    assessment = EligibilityAssessment.objects.filter(subject=subject).first()
    return render(
        request,
        "enrollment/subject_detail.html",
        {
            "subject": subject,
            "visits": visits,
            "consents": consents,
            "active_consent": next((c for c in consents if c.withdrawn_at is None), None),
            "withdrawal": next((c for c in consents if c.withdrawn_at is not None), None),
            "screen_failures": ScreenFailure.objects.filter(subject=subject).select_related(
                "created_by", "reversed_by"
            ),
            "rescreenings": Subject.objects.filter(previous_screening=subject),
            "off_study": off_study_record(subject),
            "rescreen_form": RescreenForm(initial={"version": subject.version}),
            "crfs": selectors.crf_completeness(subject),
            "steroid_courses": SteroidCourse.objects.filter(subject=subject).order_by("start_date"),
            "assessment": assessment,
            "open_queries": selectors.open_query_counts(subject.study, [subject.pk]).get(
                subject.pk, 0
            ),
            "missing_forms": selectors.missing_forms(subject=subject, today=today),
            "can_enter": permissions.can(
                request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
            ),
            "can_sign": permissions.can(
                request.user, Action.SIGN, study=subject.study, site=subject.site_id
            ),
            "sections": subject_sections.sections_for(request, subject),
        },
    )


class ConsentView(SubjectCRFView):
    form_class = ConsentForm
    title = _("Informed consent")
    readonly_allowed = False  # a new consent page; an existing consent opens read-only

    def get_record(self):
        consent_id = self.kwargs.get("consent_id")
        if consent_id is None:
            return None
        return get_object_or_404(Consent, pk=consent_id, subject=self.get_subject())

    def get_form_kwargs(self):
        subject = self.get_subject()
        return {
            "staff": site_staff(subject.site, [Role.INVESTIGATOR, Role.COORDINATOR]),
            "icf_versions": selectors.approved_icf_versions(subject.study),
        }

    def get_initial(self):
        if self.kwargs.get("consent_id") is not None:
            return {}  # a correction starts from the record, never from "now"
        newest = selectors.approved_icf_versions(self.get_subject().study)[-1]["version"]
        return {
            "obtained_by": self.request.user.pk,
            "signed_at": timezone.localtime(clock.now()),
            "icf_version": newest,
        }

    def save(self, form, record, *, study, site):
        if record is None:
            return services.record_consent(
                self.get_subject(), actor=self.request.user, **form.clinical_values()
            )
        return services.update_consent(
            record,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )


class ScreeningCRFView(SubjectCRFView):
    """Any screening CRF of a subject, chosen by its code in the URL."""

    def dispatch(self, request, *args, **kwargs):
        try:
            self.model, self.form_class = SCREENING_FORMS[kwargs["crf"]]
        except KeyError:
            raise Http404("No such CRF.") from None
        self.title = self.model.crf_title
        # The attestations are the investigator's judgement: others read them.
        self.action = Action.SIGN if kwargs["crf"] == "attestation" else Action.ENTER_DATA
        return super().dispatch(request, *args, **kwargs)

    def get_record(self):
        return (
            self.model.objects.filter(subject=self.get_subject())
            .select_related("visit", "updated_by")
            .first()
        )

    def entry_blocked_reason(self, record):
        return services.screening_entry_blocked(self.get_subject())

    def save(self, form, record, *, study, site):
        return services.save_screening_crf(
            self.get_subject(),
            self.model,
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_context_data(self, **context):
        extra = {}
        if self.model is MedicationHistory:
            extra["steroid_courses"] = [
                (course, rules.prednisone_equivalent_mg(course.drug, course.daily_dose_mg))
                for course in SteroidCourse.objects.filter(subject=self.get_subject()).order_by(
                    "start_date"
                )
            ]
            extra["can_add_course"] = self.can_write and not self.blocked
        if self.model is AmlHistory:
            extra["prior_regimens"] = PriorRegimen.objects.filter(
                subject=self.get_subject()
            ).order_by("start_date")
            extra["can_add_regimen"] = self.can_write and not self.blocked
        if self.model is ScreeningVitals:
            record = self.get_record()
            extra["bsa_m2"] = record.bsa_m2 if record is not None else None
        return {**super().get_context_data(**context), **extra}


class RepeatingRecordView(SubjectCRFView):
    """One row of a repeating list on a parent CRF (steroid courses, prior regimens, …).

    Subclasses name the model, the URL keyword of the row's id, the app service that saves it
    and the parent CRF the page returns to. A new-row page has nothing to read (readers get
    403); an existing row opens read-only for them.
    """

    model: type
    id_kwarg: str
    parent_crf: str
    readonly_allowed = False

    def service(self, subject, **kwargs):
        raise NotImplementedError

    def get_record(self):
        row_id = self.kwargs.get(self.id_kwarg)
        if not row_id:
            return None
        return get_object_or_404(self.model, pk=row_id, subject=self.get_subject())

    def entry_blocked_reason(self, record):
        return services.screening_entry_blocked(self.get_subject())

    def save(self, form, record, *, study, site):
        return self.service(
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("enrollment:crf", args=[self.get_subject().pk, self.parent_crf])


class SteroidCourseView(RepeatingRecordView):
    form_class = SteroidCourseForm
    title = _("Corticosteroid course")
    model = SteroidCourse
    id_kwarg = "course_id"
    parent_crf = "medications"

    def service(self, subject, **kwargs):
        return services.save_steroid_course(subject, **kwargs)


class PriorRegimenView(RepeatingRecordView):
    form_class = PriorRegimenForm
    title = _("Prior anti-leukemic regimen")
    model = PriorRegimen
    id_kwarg = "regimen_id"
    parent_crf = "aml_history"

    def service(self, subject, **kwargs):
        return services.save_prior_regimen(subject, **kwargs)


def eligibility(request, pk: int):
    subject = subject_for(request, pk)
    assessment = get_object_or_404(EligibilityAssessment, subject=subject)
    rows = [
        {"code": code, "status": status, **assessment.details.get(code, {})}
        for code, status in assessment.criteria.items()
    ]
    can_sign = permissions.can(request.user, Action.SIGN, study=subject.study, site=subject.site_id)
    return render(
        request,
        "enrollment/eligibility.html",
        {
            "subject": subject,
            "assessment": assessment,
            "inclusion": [r for r in rows if r.get("kind") == "inclusion"],
            "exclusion": [r for r in rows if r.get("kind") == "exclusion"],
            "signature": record_selectors.signature_state(assessment),
            "can_sign": can_sign,
        },
    )


class ConfirmEligibility(SignRecordView):
    meaning = services.CONFIRM_MEANING

    def get_record(self):
        self.subject = subject_for(self.request, self.kwargs["pk"])
        return get_object_or_404(EligibilityAssessment, subject=self.subject)

    def get_study_and_site(self, record):
        return self.subject.study, self.subject.site

    def sign(self, record, *, password, expected_version):
        return services.confirm_eligibility(
            self.subject,
            actor=self.request.user,
            password=password,
            expected_version=expected_version,
        )

    def get_success_url(self, record):
        return reverse("enrollment:eligibility", args=[self.subject.pk])


def _subject_action(request, subject, form, *, title, intro, act):
    """Render a decision form about a subject; on a valid POST call ``act`` (a service)."""
    if request.method == "POST" and form.is_valid():
        try:
            result = act(form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        except RecordStateError as exc:
            form.add_error(None, exc.message)
        else:
            return result
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "enrollment/subject_action.html",
        {"subject": subject, "form": form, "title": title, "intro": intro},
        status=status,
    )


def screen_failure(request, pk: int):
    """The investigator records a screen failure: reason category, details, e-signature."""
    subject = subject_for(request, pk, Action.SIGN)
    data = request.POST if request.method == "POST" else None
    form = ScreenFailureForm(data, initial={"version": subject.version})

    def act(values):
        services.record_screen_failure(
            subject,
            actor=request.user,
            category=values["category"],
            text=values["text"],
            password=values["password"],
            expected_version=values["version"],
        )
        messages.success(request, _("Recorded as a screen failure."))
        return redirect("enrollment:subject", subject.pk)

    return _subject_action(
        request,
        subject,
        form,
        title=_("Record a screen failure"),
        intro=services.SCREEN_FAILURE_MEANING,
        act=act,
    )


def reverse_screen_failure(request, pk: int):
    """The investigator reverses a mistaken screen failure, with the reason (audited)."""
    subject = subject_for(request, pk, Action.SIGN)
    data = request.POST if request.method == "POST" else None
    form = ReverseScreenFailureForm(data, initial={"version": subject.version})

    def act(values):
        services.reverse_screen_failure(
            subject,
            actor=request.user,
            reason=values["reason"],
            expected_version=values["version"],
        )
        messages.success(request, _("Screen failure reversed: the subject is in screening again."))
        return redirect("enrollment:subject", subject.pk)

    return _subject_action(
        request,
        subject,
        form,
        title=_("Reverse the screen failure"),
        intro=_("The subject returns to screening; the screen failure stays on record."),
        act=act,
    )


def reverse_withdrawal(request, pk: int):
    """The investigator reverses a withdrawal of consent recorded by mistake (reason, e-signature).

    Readers of the subject (coordinators, monitors, data managers) get the withdrawal and any
    reversal read-only: only the investigator signs the subject's status decisions.
    """
    subject = subject_for(request, pk)
    can_sign = permissions.can(request.user, Action.SIGN, study=subject.study, site=subject.site_id)
    if request.method == "POST" and not can_sign:
        permissions.require(request.user, Action.SIGN, study=subject.study, site=subject.site_id)
    withdrawn = subject.enrollment_status == SubjectStatus.WITHDRAWN
    form = None
    if can_sign and withdrawn:
        data = request.POST if request.method == "POST" else None
        form = ReverseWithdrawalForm(data, initial={"version": subject.version})
        if data is not None and form.is_valid():
            try:
                services.reverse_withdrawal(
                    subject,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    password=form.cleaned_data["password"],
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                subject.refresh_from_db()
                messages.success(
                    request,
                    _("Withdrawal reversed: the subject is %(status)s again.")
                    % {"status": subject.get_enrollment_status_display()},
                )
                return redirect("enrollment:subject", subject.pk)
    consents = Consent.objects.filter(subject=subject).select_related(
        "withdrawn_by", "withdrawal_reversed_by"
    )
    return render(
        request,
        "enrollment/reverse_withdrawal.html",
        {
            "subject": subject,
            "form": form,
            "readonly": not can_sign,
            "withdrawal": services.withdrawal_in_force(subject) if withdrawn else None,
            "reversals": [c for c in consents if c.withdrawal_reversed_at],
            "meaning": services.WITHDRAWAL_REVERSAL_MEANING,
        },
        status=400 if form is not None and form.is_bound else 200,
    )


@require_POST
def rescreen(request, pk: int):
    """Rescreen a screen failure under a new screening number linked to this one.

    A button on the subject page: a refusal comes back as a message on that page.
    """
    subject = subject_for(request, pk, Action.ENTER_DATA)
    form = RescreenForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(services.RELOAD_AND_RETRY, code="no_version")
        new = services.rescreen_subject(
            subject, actor=request.user, expected_version=form.cleaned_data["version"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except RecordStateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Rescreening %(new)s registered (previous screening %(old)s).")
            % {"new": new.screening_number, "old": subject.screening_number},
        )
        return redirect("enrollment:subject", new.pk)
    return redirect("enrollment:subject", subject.pk)
