"""Every enrollment write: registration, consent, screening CRFs, eligibility, the schedule.

Each function runs in one transaction through ``trialsite.records.services`` (audit trail,
optimistic version, data version). Every screening save recomputes the subject's eligibility in
the same transaction, so the stored checklist always matches the data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment import expected_forms, plausibility, rules, selectors
from enrollment.models import (
    Consent,
    EligibilityAssessment,
    FormExpectation,
    ScreeningCRF,
    SteroidCourse,
    Subject,
    SubjectStatus,
    Visit,
)
from enrollment.schedule import ANCHOR_DAY0, ANCHOR_SCREENING
from trialsite import clock
from trialsite.records import notifications
from trialsite.records import services as records
from trialsite.records.exceptions import StaleVersion, field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD
from trialsite.studies.models import Site
from trialsite.studies.roles import Role
from trialsite.studies.selectors import site_staff

CONSENT_FIRST = _("Record the subject's informed consent before entering screening data.")
BEFORE_CONSENT = _("This date (%(date)s) is before informed consent was signed (%(icf)s).")
NOT_SCREENING = _("Screening data can only change while the subject is in screening or eligible.")
# What resolves the investigators' eligibility notices (trialsite.records.notifications.resolve).
RESOLVED_BY_CONFIRMATION = "eligibility confirmed"
RESOLVED_BY_CONFIRMATION_OR_CHANGE = "eligibility confirmed, failed or no longer all-pass"

CONFIRM_MEANING = _("I confirm this subject is eligible for the study.")
DATE_FIELDS = ("assessment_date", "sample_date", "lab_date", "start_date")


# --- Registration and consent ----------------------------------------------------------------


def register_subject(
    *,
    actor,
    site: Site,
    initials: str,
    sex: str,
    screening_date: dt.date,
    birth_date: dt.date | None = None,
    birth_year: int | None = None,
    planned_apheresis_date: dt.date | None = None,
) -> Subject:
    """Register a screened subject; the site's next screening number is assigned (TJ-S-0007)."""
    if site.birth_year_only and birth_date is not None:
        raise field_error(
            "birth_date", _("This site records the year of birth only."), "birth_year_only"
        )
    with transaction.atomic():
        # Lock the site row: two coordinators registering at once get consecutive numbers.
        Site.objects.select_for_update().get(pk=site.pk)
        last = Subject.objects.filter(site=site).aggregate(n=Max("screening_sequence"))["n"] or 0
        sequence = last + 1
        subject = records.create_record(
            Subject,
            actor=actor,
            study=site.study,
            status=RecordStatus.SUBMITTED,
            values={
                "site": site,
                "screening_sequence": sequence,
                "screening_number": f"{site.code}-S-{sequence:04d}",
                "initials": initials.upper().strip(),
                "sex": sex,
                "birth_date": birth_date,
                "birth_year": birth_year if birth_date is None else birth_date.year,
                "screening_date": screening_date,
                "planned_apheresis_date": planned_apheresis_date,
            },
        )
        _build_visits(subject, anchor=ANCHOR_SCREENING, start=subject.screening_date)
        refresh_eligibility(subject, actor=actor, reason="Subject registered")
    return subject


def update_subject(
    subject: Subject, *, actor, values: Mapping, expected_version: int | None, reason: str
) -> Subject:
    """Correct the registration data (initials, birth date, dates) and recompute eligibility."""
    allowed = {
        "initials",
        "sex",
        "birth_date",
        "birth_year",
        "screening_date",
        "planned_apheresis_date",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %s") % ", ".join(sorted(unknown))
        )
    with transaction.atomic():
        subject = records.update_record(
            subject, actor=actor, values=values, expected_version=expected_version, reason=reason
        )
        refresh_eligibility(subject, actor=actor, reason=reason or "Registration data changed")
    return subject


def record_consent(
    subject: Subject, *, actor, icf_version: str, signed_at: dt.datetime, obtained_by
) -> Consent:
    """Record a signed ICF. A consent dated after screening data already entered is refused."""
    with transaction.atomic():
        _check_consent_before_data(subject, signed_at)
        _check_staff(subject, obtained_by)
        consent = records.create_record(
            Consent,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": subject,
                "icf_version": icf_version,
                "signed_at": signed_at,
                "obtained_by": obtained_by,
            },
        )
        refresh_eligibility(subject, actor=actor, reason="Informed consent recorded")
    return consent


def update_consent(
    consent: Consent, *, actor, values: Mapping, expected_version: int | None, reason: str
) -> Consent:
    with transaction.atomic():
        if "signed_at" in values:
            _check_consent_before_data(consent.subject, values["signed_at"])
        if "obtained_by" in values:
            _check_staff(consent.subject, values["obtained_by"])
        consent = records.update_record(
            consent, actor=actor, values=values, expected_version=expected_version, reason=reason
        )
        refresh_eligibility(consent.subject, actor=actor, reason=reason or "Consent changed")
    return consent


def _check_staff(subject: Subject, user) -> None:
    is_staff = site_staff(subject.site, [Role.INVESTIGATOR, Role.COORDINATOR]).filter(pk=user.pk)
    if not is_staff.exists():
        raise field_error(
            "obtained_by",
            _("Consent must be obtained by an investigator or coordinator of this site."),
            "not_site_staff",
        )


def _check_consent_before_data(subject: Subject, signed_at: dt.datetime) -> None:
    earliest = _earliest_screening_date(subject)
    if earliest and signed_at and plausibility.calendar_date(signed_at) > earliest:
        raise field_error(
            "signed_at",
            _("Consent cannot be dated after screening data already entered (%(date)s).")
            % {"date": earliest.isoformat()},
            "consent_after_data",
        )


def _earliest_screening_date(subject: Subject) -> dt.date | None:
    dates = []
    for record in selectors.screening_records(subject).values():
        for name in DATE_FIELDS:
            value = getattr(record, name, None)
            if value:
                dates.append(value)
    return min(dates) if dates else None


# --- Screening CRFs ---------------------------------------------------------------------------


def screening_entry_blocked(subject: Subject) -> str:
    """Why screening data cannot be entered for the subject now ('' when it can).

    The pages show the CRF read-only with this banner instead of a form that refuses on save.
    """
    if subject.enrollment_status not in (SubjectStatus.SCREENING, SubjectStatus.ELIGIBLE):
        return str(NOT_SCREENING)
    if selectors.active_consent(subject) is None:
        return str(CONSENT_FIRST)
    return ""


def _require_screening_entry(subject: Subject, values: Mapping) -> None:
    if subject.enrollment_status not in (SubjectStatus.SCREENING, SubjectStatus.ELIGIBLE):
        raise ValidationError(NOT_SCREENING, code="not_screening")
    consent = selectors.active_consent(subject)
    if consent is None:
        raise ValidationError(CONSENT_FIRST, code="no_consent")
    icf = timezone.localtime(consent.signed_at).date()
    for name in DATE_FIELDS:
        value = values.get(name)
        if value and value < icf:
            raise field_error(
                name,
                BEFORE_CONSENT % {"date": value.isoformat(), "icf": icf.isoformat()},
                "before_consent",
            )


ALREADY_ENTERED = _(
    "%(form)s was already entered for this subject (by %(who)s at %(when)s): "
    "reload it and make your change there."
)
NOTHING_TO_UPDATE = _("There is no saved record to update: leave out the version to create it.")


def save_screening_crf(
    subject: Subject,
    model: type[ScreeningCRF],
    *,
    actor,
    values: Mapping,
    record: ScreeningCRF | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> ScreeningCRF:
    """Create or update one screening CRF, then recompute eligibility in the same transaction.

    The CRF service shape (every app's ``save_<crf>`` follows it): the subject first, then
    keyword-only ``actor``, ``values``, ``record`` (the record the user opened, or None for a
    first entry), ``expected_version`` (the version that was read — required to change an
    existing record) and ``reason``. The subject row is locked *before* the existing record is
    read, so two first saves at once cannot both create: the second finds the first and is
    refused as a conflict, never silently overwriting it (the unique constraint backs this up).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        _require_screening_entry(subject, values)
        existing = model.objects.filter(subject=subject).first()
        if existing is None:
            if record is not None or expected_version is not None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
            saved = records.create_record(
                model,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject, "visit": screening_visit(subject)},
            )
            mark_entered(subject, saved.visit, model.crf_code)
        elif record is None and expected_version is None:
            raise StaleVersion(
                user=str(existing.updated_by),
                when=records._when(existing.updated_at),
                current_version=existing.version,
                message=ALREADY_ENTERED
                % {
                    "form": model.crf_title,
                    "who": existing.updated_by,
                    "when": records._when(existing.updated_at),
                },
            )
        else:
            saved = records.update_record(
                existing,
                actor=actor,
                values=values,
                expected_version=expected_version,
                reason=reason,
            )
        refresh_eligibility(
            subject, actor=actor, reason=f"Recomputed after {model.crf_title} was saved"
        )
    return saved


def save_steroid_course(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: SteroidCourse | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> SteroidCourse:
    """Add (``record=None``) or change one corticosteroid course; eligibility is recomputed."""
    course = record
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        _require_screening_entry(subject, values)
        if course is None:
            course = records.create_record(
                SteroidCourse,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject, "visit": screening_visit(subject)},
            )
        else:
            course = records.update_record(
                course, actor=actor, values=values, expected_version=expected_version, reason=reason
            )
        refresh_eligibility(
            subject, actor=actor, reason="Recomputed after a steroid course changed"
        )
    return course


def delete_steroid_course(course: SteroidCourse, *, actor, expected_version: int, reason: str):
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=course.subject_id)
        records.delete_record(course, actor=actor, expected_version=expected_version, reason=reason)
        refresh_eligibility(
            subject, actor=actor, reason="Recomputed after a steroid course was deleted"
        )


# --- Eligibility ------------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def evaluate(subject: Subject) -> rules.EligibilityResult:
    """Run the eligibility rules on the subject's current facts with the study's settings."""
    return rules.evaluate_eligibility(
        selectors.eligibility_facts(subject), **subject.study.rule_settings("enrollment")
    )


def serialize_result(result: rules.EligibilityResult) -> dict:
    details = {
        code: {
            "kind": d.kind,
            "title": d.title,
            "status": d.status,
            "message": d.message,
            "threshold": _jsonable(d.threshold),
            "values": _jsonable(d.values),
            "needs": list(d.needs),
        }
        for code, d in result.details.items()
    }
    # A JSON round trip now, so the stored value compares equal to what the database returns.
    return json.loads(
        json.dumps(
            {"eligible": result.eligible, "criteria": dict(result.criteria), "details": details}
        )
    )


def refresh_eligibility(subject: Subject, *, actor, reason: str) -> EligibilityAssessment:
    """Recompute and store the subject's eligibility; reopen a confirmation it no longer matches.

    Called inside the transaction of every screening write. If the result changes after the
    investigator confirmed eligibility, the signature no longer covers it (the record returns to
    *submitted*), the subject goes back to screening, and the site's investigators are notified.
    """
    subject.refresh_from_db()
    result = serialize_result(evaluate(subject))
    values = {**result, "settings_used": subject.study.rule_settings("enrollment")}
    values["data_version"] = (
        type(subject.study).objects.values_list("data_version", flat=True).get(pk=subject.study_id)
    )
    assessment = EligibilityAssessment.objects.filter(subject=subject).first()
    if assessment is None:
        assessment = records.create_record(
            EligibilityAssessment,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={**values, "subject": subject},
            derived=True,
        )
        _notify_ready(subject, assessment, was_eligible=None)
        return assessment
    was_eligible = assessment.eligible
    was_confirmed = assessment.status == RecordStatus.SIGNED
    unchanged = all(getattr(assessment, k) == v for k, v in result.items())
    if unchanged:
        return assessment
    assessment = records.update_record(
        assessment,
        actor=actor,
        values=values,
        expected_version=UNREAD,  # derived: recomputed from the data, not from a read
        reason=reason,
        derived=True,
    )
    if was_confirmed or subject.enrollment_status == SubjectStatus.ELIGIBLE:
        _reopen(subject, assessment, actor=actor, reason=reason)
    else:
        _notify_ready(subject, assessment, was_eligible=was_eligible)
    return assessment


def _notify_ready(subject: Subject, assessment, *, was_eligible: bool | None) -> None:
    """Tell the site's investigators a checklist now passes every criterion (or clear that).

    The notice clears when the investigator confirms, records a screen failure, or the
    checklist stops passing; "Waiting for your signature" lists the same checklists.
    """
    if assessment.eligible is not True:
        notifications.resolve(assessment, RESOLVED_BY_CONFIRMATION_OR_CHANGE)
        return
    if was_eligible is True or subject.enrollment_status != SubjectStatus.SCREENING:
        return
    records.notify(
        subject.study,
        site_staff(subject.site, [Role.INVESTIGATOR]),
        message=str(
            _("Eligibility of %(subject)s passes every criterion: it awaits your confirmation.")
            % {"subject": subject}
        ),
        url=reverse("enrollment:eligibility", args=[subject.pk]),
        target=assessment,
        resolved_when=RESOLVED_BY_CONFIRMATION_OR_CHANGE,
    )


def _reopen(subject: Subject, assessment, *, actor, reason: str) -> None:
    if subject.enrollment_status == SubjectStatus.ELIGIBLE:
        records.update_record(
            subject,
            actor=actor,
            values={"enrollment_status": SubjectStatus.SCREENING},
            expected_version=UNREAD,  # system transition under the subject lock
            reason=f"Eligibility reopened: {reason}",
        )
    investigators = list(site_staff(subject.site, [Role.INVESTIGATOR]))
    records.notify(
        subject.study,
        investigators,
        message=str(
            _("Eligibility of %(subject)s changed after it was confirmed: confirm it again.")
            % {"subject": subject}
        ),
        url=reverse("enrollment:eligibility", args=[subject.pk]),
        target=assessment,
        resolved_when=RESOLVED_BY_CONFIRMATION,
        email=True,
    )


def confirm_eligibility(
    subject: Subject, *, actor, password: str, expected_version: int | None
) -> EligibilityAssessment:
    """The investigator's e-signature on an all-pass assessment; assigns the subject ID."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        assessment = EligibilityAssessment.objects.get(subject=subject)
        if subject.enrollment_status != SubjectStatus.SCREENING:
            raise ValidationError(
                _("Only a subject in screening can be confirmed (this one is %s).")
                % subject.get_enrollment_status_display(),
                code="not_screening",
            )
        if assessment.eligible is not True:
            raise ValidationError(
                _("Eligibility can only be confirmed when every criterion passes."),
                code="not_eligible",
            )
        records.sign_record(
            assessment,
            actor=actor,
            password=password,
            meaning=str(CONFIRM_MEANING),
            expected_version=expected_version,
        )
        values = {"enrollment_status": SubjectStatus.ELIGIBLE}
        if not subject.subject_number:
            values["subject_number"] = _next_subject_number(subject)
        if not subject.enrollment_date:
            values["enrollment_date"] = clock.today()
        records.update_record(
            subject,
            actor=actor,
            values=values,
            expected_version=UNREAD,  # follows the signature, under the subject lock
            reason="Eligibility confirmed by the investigator",
        )
        notifications.resolve(
            assessment, RESOLVED_BY_CONFIRMATION, RESOLVED_BY_CONFIRMATION_OR_CHANGE
        )
    assessment.refresh_from_db()
    return assessment


def _next_subject_number(subject: Subject) -> str:
    taken = Subject.objects.filter(site=subject.site, subject_number__isnull=False).count()
    return f"{subject.site.code}-{taken + 1:03d}"


def record_screen_failure(
    subject: Subject, *, actor, expected_version: int | None, reason: str = ""
) -> Subject:
    """Record the subject as a screen failure with the failing criteria as the reasons.

    ``expected_version`` is the subject version the investigator saw on the checklist.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        if expected_version is None or expected_version != subject.version:
            records._check_version(subject, expected_version)
        assessment = EligibilityAssessment.objects.get(subject=subject)
        if assessment.eligible is not False:
            raise ValidationError(
                _("A screen failure needs at least one failing criterion."), code="not_failed"
            )
        if subject.enrollment_status != SubjectStatus.SCREENING:
            raise ValidationError(_("The subject is not in screening."), code="not_screening")
        reasons = [
            {"code": code, "message": assessment.details[code]["message"]}
            for code in assessment.failed
            if not any(
                assessment.details.get(c, {}).get("status") == "fail"
                for c in _children(code, assessment)
            )
        ]
        notifications.resolve(
            assessment, RESOLVED_BY_CONFIRMATION, RESOLVED_BY_CONFIRMATION_OR_CHANGE
        )
        return records.update_record(
            subject,
            actor=actor,
            values={
                "enrollment_status": SubjectStatus.SCREEN_FAILURE,
                "screen_failure_reasons": reasons,
            },
            expected_version=UNREAD,  # checked against the investigator's read above
            reason=reason or "Screen failure: " + ", ".join(r["code"] for r in reasons),
        )


def _children(code: str, assessment: EligibilityAssessment) -> list[str]:
    return [c for c in assessment.criteria if c.startswith(code + ".")]


# --- Day 0 and the visit schedule -------------------------------------------------------------


def anchor_schedule(subject: Subject, day0: dt.date, *, actor, reason: str = "") -> list[Visit]:
    """Set Day 0 (the CAR-T infusion) and (re)build the visit schedule from the study settings.

    Each Day-0 visit's target date is Day 0 + its day, with the window of the schedule, and the
    forms expected at it get their expectation rows. A visit that already happened keeps its
    actual date. Called by dosing when the infusion is recorded.
    """
    with transaction.atomic():
        subject = records.update_record(
            subject,
            actor=actor,
            values={"day0": day0},
            expected_version=UNREAD,  # dosing's infusion service holds the subject lock
            reason=reason or "Day 0 set by the CAR-T infusion",
        )
        return _build_visits(subject, anchor=ANCHOR_DAY0, start=day0)


def _build_visits(subject: Subject, *, anchor: str, start: dt.date) -> list[Visit]:
    """Create or move the subject's visits of one anchor, and write their expectation rows.

    Visits are derived data: the audited facts are the anchor date on the subject (screening
    date, Day 0) and the schedule in the study settings.
    """
    schedule = subject.study.settings.get("visit_schedule") or []
    existing = {v.code: v for v in Visit.objects.filter(subject=subject)}
    visits = []
    for order, item in enumerate(schedule, start=1):
        if item.get("anchor", ANCHOR_DAY0) != anchor:
            continue
        target = start + dt.timedelta(days=item["day"] if anchor == ANCHOR_DAY0 else 0)
        visit = existing.get(item["code"]) or Visit(subject=subject, code=item["code"])
        visit.label = item["label"]
        visit.anchor = anchor
        visit.day = item["day"]
        visit.order = order
        visit.target_date = target
        visit.window_start = target - dt.timedelta(days=item["window_before"])
        visit.window_end = target + dt.timedelta(days=item["window_after"])
        visit.save()
        visits.append(visit)
    _write_expectations(subject, visits)
    return visits


def _write_expectations(subject: Subject, visits: list[Visit]) -> None:
    now = clock.now()
    known = set(
        FormExpectation.objects.filter(subject=subject, visit__in=visits).values_list(
            "visit_id", "form_code"
        )
    )
    rows = [
        FormExpectation(
            subject=subject,
            visit=visit,
            form_code=form.code,
            form_label=form.label[:120],
            status=FormExpectation.Status.REQUIRED
            if form.applies(subject)
            else FormExpectation.Status.NOT_REQUIRED,
            updated_at=now,
        )
        for visit in visits
        for form in expected_forms.forms_for_visit(visit.code)
        if (visit.pk, form.code) not in known
    ]
    FormExpectation.objects.bulk_create(rows)  # expectation rows are metadata, not CRF data


def screening_visit(subject: Subject) -> Visit:
    """The subject's screening visit (built at registration; rebuilt for older subjects)."""
    visit = Visit.objects.filter(subject=subject, anchor=ANCHOR_SCREENING).first()
    if visit is None:
        built = _build_visits(subject, anchor=ANCHOR_SCREENING, start=subject.screening_date)
        visit = built[0] if built else None
    return visit


def mark_entered(subject: Subject, visit: Visit | None, form_code: str) -> None:
    """The form has been entered at the visit: its expectation row says so."""
    if visit is None:
        return
    form = expected_forms.get(form_code)
    FormExpectation.objects.update_or_create(
        subject=subject,
        visit=visit,
        form_code=form_code,
        defaults={
            "status": FormExpectation.Status.ENTERED,
            "form_label": (form.label if form else form_code)[:120],
            "updated_at": clock.now(),
        },
    )
