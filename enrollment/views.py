"""Enrollment pages: screening log, registration, subject page, consent, CRFs, eligibility."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from enrollment import rules, selectors, services
from enrollment.forms import (
    SCREENING_FORMS,
    ConsentForm,
    RegisterSubjectForm,
    ScreenFailureForm,
    ScreeningLogFilter,
    SteroidCourseForm,
)
from enrollment.models import (
    Consent,
    EligibilityAssessment,
    MedicationHistory,
    SteroidCourse,
    Subject,
)
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.exceptions import RecordStateError
from trialsite.records.views import CRFEditView, SignRecordView, add_service_error
from trialsite.studies import permissions
from trialsite.studies.models import Membership, Site
from trialsite.studies.roles import Action, Role


def _study(request):
    if not request.study:
        raise Http404("No study.")
    return request.study


def _subject(request, pk: int, action: str = Action.VIEW_CLINICAL) -> Subject:
    study = _study(request)
    subject = get_object_or_404(Subject.objects.select_related("site", "study"), pk=pk, study=study)
    permissions.require(request.user, action, study=study, site=subject.site_id)
    return subject


def screening_log(request):
    study = _study(request)
    permissions.require(request.user, Action.VIEW_CLINICAL, study=study)
    sites = permissions.scope_by_site(
        Site.objects.filter(study=study),
        request.user,
        Action.VIEW_CLINICAL,
        study=study,
        site_field="pk",
    )
    filters = ScreeningLogFilter(request.GET or None, sites=sites)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    subjects = selectors.screening_log(
        study,
        request.user,
        site_id=criteria["site"].pk if criteria.get("site") else None,
        status=criteria.get("status") or None,
        screened_from=criteria.get("screened_from"),
        screened_to=criteria.get("screened_to"),
    )
    page = Paginator(subjects, 25).get_page(request.GET.get("page"))
    assessments = selectors.assessments_for(page.object_list)
    rows = [(subject, assessments.get(subject.pk)) for subject in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "enrollment/screening_log.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "query": query.urlencode(),
            "can_register": permissions.can(request.user, Action.ENTER_DATA, study=study),
        },
    )


class RegisterSubject(CRFEditView):
    form_class = RegisterSubjectForm
    title = _("Register a screening subject")

    def get_study_and_site(self, record):
        study = _study(self.request)
        return study, None

    def _sites(self):
        study = _study(self.request)
        return permissions.scope_by_site(
            Site.objects.filter(study=study, is_active=True),
            self.request.user,
            Action.ENTER_DATA,
            study=study,
            site_field="pk",
        )

    def get(self, request, *args, **kwargs):
        self._setup()
        form = RegisterSubjectForm(sites=self._sites(), initial={"screening_date": clock.today()})
        return self.render(form, None)

    def post(self, request, *args, **kwargs):
        self._setup()
        form = RegisterSubjectForm(request.POST, sites=self._sites())
        if form.is_valid():
            values = form.clinical_values()
            try:
                subject = services.register_subject(actor=request.user, **values)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request, _("Registered %(no)s.") % {"no": subject.screening_number}
                )
                return redirect("enrollment:subject", subject.pk)
        return self.render(form, None, status=400)


class EditSubject(CRFEditView):
    form_class = RegisterSubjectForm
    title = _("Registration data")

    def get_record(self):
        return _subject(self.request, self.kwargs["pk"], Action.ENTER_DATA)

    def get_study_and_site(self, record):
        return record.study, record.site

    def update(self, form, record):
        return services.update_subject(
            record,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("enrollment:subject", args=[record.pk])


def subject_detail(request, pk: int):
    subject = _subject(request, pk)
    today = clock.today()
    visits = [(visit, visit.state(today)) for visit in selectors.visits(subject)]
    consents = (
        Consent.objects.filter(subject=subject).select_related("obtained_by").order_by("-signed_at")
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
            "crfs": selectors.crf_completeness(subject),
            "steroid_courses": SteroidCourse.objects.filter(subject=subject).order_by("start_date"),
            "assessment": assessment,
            "can_enter": permissions.can(
                request.user, Action.ENTER_DATA, study=subject.study, site=subject.site_id
            ),
        },
    )


def _site_staff(subject: Subject):
    from django.contrib.auth import get_user_model

    staff_ids = Membership.objects.filter(
        Q(site=subject.site) | Q(site__isnull=True),
        study_id=subject.study_id,
        is_active=True,
        role__in=[Role.INVESTIGATOR, Role.COORDINATOR],
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=staff_ids).order_by("last_name", "username")


class ConsentView(CRFEditView):
    form_class = ConsentForm
    title = _("Informed consent")

    def get_record(self):
        self.subject = _subject(self.request, self.kwargs["pk"], Action.ENTER_DATA)
        consent_id = self.kwargs.get("consent_id")
        if consent_id is None:
            return None
        return get_object_or_404(Consent, pk=consent_id, subject=self.subject)

    def get_study_and_site(self, record):
        return self.subject.study, self.subject.site

    def get(self, request, *args, **kwargs):
        record, _study, _site = self._setup()
        initial = (
            {} if record else {"obtained_by": request.user.pk, "signed_at": timezone.localtime()}
        )
        form = ConsentForm(instance=record, initial=initial, staff=_site_staff(self.subject))
        return self.render(form, record)

    def post(self, request, *args, **kwargs):
        record, _study, _site = self._setup()
        form = ConsentForm(request.POST, instance=record, staff=_site_staff(self.subject))
        if form.is_valid():
            try:
                if record is None:
                    services.record_consent(
                        self.subject, actor=request.user, **form.clinical_values()
                    )
                else:
                    services.update_consent(
                        record,
                        actor=request.user,
                        values=form.clinical_values(),
                        expected_version=form.cleaned_data.get("version"),
                        reason=form.cleaned_data.get("reason") or "",
                    )
            except ValidationError as exc:
                add_service_error(form, exc)
            except RecordStateError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Consent saved."))
                return redirect("enrollment:subject", self.subject.pk)
        return self.render(form, record, status=400)

    def get_context_data(self, **context):
        return {**super().get_context_data(**context), "subject": self.subject}


class ScreeningCRFView(CRFEditView):
    """Any screening CRF of a subject, chosen by its code in the URL."""

    template_name = "enrollment/crf.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.model, self.form_class = SCREENING_FORMS[kwargs["crf"]]
        except KeyError:
            raise Http404("No such CRF.") from None
        self.title = self.model.crf_title
        return super().dispatch(request, *args, **kwargs)

    def _setup(self):
        self.subject = _subject(self.request, self.kwargs["pk"])
        action = Action.SIGN if self.kwargs["crf"] == "attestation" else Action.ENTER_DATA
        permissions.require(
            self.request.user, action, study=self.subject.study, site=self.subject.site_id
        )
        record = self.model.objects.filter(subject=self.subject).first()
        return record, self.subject.study, self.subject.site

    def create(self, form, *, study, site):
        return services.save_screening_crf(
            self.subject, self.model, actor=self.request.user, values=form.clinical_values()
        )

    def update(self, form, record):
        return services.save_screening_crf(
            self.subject,
            self.model,
            actor=self.request.user,
            values=form.clinical_values(),
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("enrollment:subject", args=[self.subject.pk])

    def get_context_data(self, **context):
        extra = {"subject": self.subject}
        if self.model is MedicationHistory:
            extra["steroid_courses"] = [
                (course, rules.prednisone_equivalent_mg(course.drug, course.daily_dose_mg))
                for course in SteroidCourse.objects.filter(subject=self.subject).order_by(
                    "start_date"
                )
            ]
        return {**super().get_context_data(**context), **extra}


class SteroidCourseView(CRFEditView):
    form_class = SteroidCourseForm
    title = _("Corticosteroid course")

    def get_record(self):
        self.subject = _subject(self.request, self.kwargs["pk"], Action.ENTER_DATA)
        course_id = self.kwargs.get("course_id")
        return (
            get_object_or_404(SteroidCourse, pk=course_id, subject=self.subject)
            if course_id
            else None
        )

    def get_study_and_site(self, record):
        return self.subject.study, self.subject.site

    def create(self, form, *, study, site):
        return services.save_steroid_course(
            self.subject, actor=self.request.user, values=form.clinical_values()
        )

    def update(self, form, record):
        return services.save_steroid_course(
            self.subject,
            actor=self.request.user,
            values=form.clinical_values(),
            course=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("enrollment:crf", args=[self.subject.pk, "medications"])


def eligibility(request, pk: int):
    subject = _subject(request, pk)
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
            "signature": records.signature_state(assessment),
            "can_sign": can_sign,
            "failure_form": ScreenFailureForm(),
        },
    )


class ConfirmEligibility(SignRecordView):
    meaning = services.CONFIRM_MEANING

    def get_record(self):
        self.subject = _subject(self.request, self.kwargs["pk"])
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


@require_POST
def screen_failure(request, pk: int):
    subject = _subject(request, pk, Action.SIGN)
    form = ScreenFailureForm(request.POST)
    form.is_valid()
    try:
        services.record_screen_failure(
            subject, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Recorded as a screen failure."))
    return redirect("enrollment:eligibility", subject.pk)
