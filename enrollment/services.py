"""Every enrollment write: registration, consent, screening CRFs, eligibility, the schedule.

Each function runs in one transaction through ``trialsite.records.services`` (audit trail,
optimistic version, data version). Every screening save recomputes the subject's eligibility in
the same transaction, so the stored checklist always matches the data.
"""

from __future__ import annotations

import dataclasses
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

from enrollment import (
    consent_rules,
    expected_forms,
    missing_data,
    plausibility,
    rules,
    selectors,
    status_hooks,
)
from enrollment.models import (
    Consent,
    EligibilityAssessment,
    FormExpectation,
    OffStudy,
    PriorRegimen,
    ScreenFailure,
    ScreenFailureCategory,
    ScreeningCRF,
    SteroidCourse,
    Subject,
    SubjectStatus,
    Visit,
)
from enrollment.schedule import ANCHOR_DAY0, ANCHOR_SCREENING
from trialsite import clock
from trialsite.records import edit_checks, notifications
from trialsite.records import queries as data_queries
from trialsite.records import services as records
from trialsite.records.exceptions import BAD_PASSWORD, StaleVersion, field_error
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
    previous_screening: Subject | None = None,
) -> Subject:
    """Register a screened subject; the site's next screening number is assigned (TJ-S-0007).

    ``previous_screening`` links a rescreening to the screen failure it follows
    (``rescreen_subject``).
    """
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
                "birth_year": _birth_year(birth_date, birth_year),
                "screening_date": screening_date,
                "planned_apheresis_date": planned_apheresis_date,
                "previous_screening": previous_screening,
            },
        )
        _build_visits(subject, anchor=ANCHOR_SCREENING, start=subject.screening_date)
        refresh_eligibility(subject, actor=actor, reason="Subject registered")
    return subject


def _birth_year(birth_date: dt.date | None, birth_year: int | None) -> int | None:
    """The year of birth to store: the one typed, else the date's (a typed year is never dropped).

    A year that contradicts the date is kept so that ``Subject.clean`` refuses it on its field;
    a date before 1900 gives no derived year, so its error lands on the date, not the year.
    """
    if birth_year is not None or birth_date is None:
        return birth_year
    return birth_date.year if birth_date >= plausibility.EARLIEST_DATE else None


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
        _check_birth_before_consent(subject, values)
        subject = records.update_record(
            subject, actor=actor, values=values, expected_version=expected_version, reason=reason
        )
        refresh_eligibility(subject, actor=actor, reason=reason or "Registration data changed")
    return subject


BIRTH_AFTER_CONSENT = _(
    "The subject cannot be born after signing informed consent (%(date)s): check both dates."
)


def _check_birth_before_consent(subject: Subject, values: Mapping) -> None:
    """A corrected birth date (or year) may not come after the first consent (issue 10 item 1).

    The consent side is checked by the plausibility check on the consent; this is the other
    direction, which would otherwise reach the age rule with an impossible pair of dates.
    """
    first = plausibility.first_consent_date(subject)
    if first is None:
        return
    birth_date = values.get("birth_date", subject.birth_date)
    birth_year = values.get("birth_year", subject.birth_year)
    if birth_date and birth_date > first:
        raise field_error(
            "birth_date", BIRTH_AFTER_CONSENT % {"date": first.isoformat()}, "birth_after_consent"
        )
    if not birth_date and birth_year and birth_year > first.year:
        raise field_error(
            "birth_year", BIRTH_AFTER_CONSENT % {"date": first.isoformat()}, "birth_after_consent"
        )


CONSENT_FIELDS = (
    "signed_by",
    "representative_name",
    "representative_relationship",
    "witness_name",
)
WITHDRAWN_NO_CONSENT = _(
    "Consent was withdrawn: no new consent is recorded for this screening. "
    "A subject who consents again is screened again."
)
NOT_WITHDRAWN_AGAIN = _(
    "A recorded withdrawal cannot be taken back here; if it was entered by mistake, the "
    "investigator reverses it from the subject page, with a reason and an e-signature."
)


def record_consent(
    subject: Subject,
    *,
    actor,
    icf_version: str,
    signed_at: dt.datetime,
    obtained_by,
    signed_by: str = consent_rules.SIGNED_BY_SUBJECT,
    representative_name: str = "",
    representative_relationship: str = "",
    witness_name: str = "",
) -> Consent:
    """Record a signed ICF: a first consent, or re-consent to a newer approved version.

    A consent dated after screening data already entered is refused; so is a version the study
    has not approved or a signature before its approval (``enrollment.consent_checks``), and any
    consent once the subject has withdrawn. The subject's checks run again (a screening date
    before the first consent opens a query).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        if subject.enrollment_status == SubjectStatus.WITHDRAWN:
            raise field_error("icf_version", WITHDRAWN_NO_CONSENT, "withdrawn")
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
                "signed_by": signed_by,
                "representative_name": representative_name,
                "representative_relationship": representative_relationship,
                "witness_name": witness_name,
            },
        )
        _run_subject_checks(subject, actor=actor)
        refresh_eligibility(subject, actor=actor, reason="Informed consent recorded")
    return consent


def update_consent(
    consent: Consent, *, actor, values: Mapping, expected_version: int | None, reason: str
) -> Consent:
    """Correct a consent, or record its withdrawal (``withdrawn_at`` and ``withdrawal_reason``).

    Withdrawal of the consent in force sets the subject's status to *withdrawn*: no new data
    is entered from then on; what was entered stays, read-only, audited and open to queries.
    """
    values = dict(values)
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=consent.subject_id)
        current = Consent.objects.get(pk=consent.pk)
        if "signed_at" in values:
            _check_consent_before_data(subject, values["signed_at"])
        if "obtained_by" in values:
            _check_staff(subject, values["obtained_by"])
        withdrawing = values.get("withdrawn_at") is not None and current.withdrawn_at is None
        if current.withdrawn_at is not None and values.get("withdrawn_at", True) is None:
            raise field_error("withdrawn_at", NOT_WITHDRAWN_AGAIN, "withdrawal_final")
        if withdrawing:
            values["withdrawn_by"] = actor
        consent = records.update_record(
            consent, actor=actor, values=values, expected_version=expected_version, reason=reason
        )
        if withdrawing and selectors.active_consent(subject) is None:
            _withdraw_subject(subject, consent, actor=actor)
        _run_subject_checks(subject, actor=actor)
        refresh_eligibility(subject, actor=actor, reason=reason or "Consent changed")
        if withdrawing:  # the DLT evaluation (safety) sees the withdrawal at once
            status_hooks.participation_changed(subject, actor=actor, reason="Consent withdrawn")
    return consent


def _withdraw_subject(subject: Subject, consent: Consent, *, actor) -> None:
    records.update_record(
        subject,
        actor=actor,
        values={"enrollment_status": SubjectStatus.WITHDRAWN},
        expected_version=UNREAD,  # follows the withdrawal, under the subject lock
        reason=f"Consent withdrawn: {consent.withdrawal_reason}",
    )


WITHDRAWAL_REVERSAL_MEANING = _(
    "I confirm this withdrawal of consent was recorded by mistake: the subject has not withdrawn."
)
NOT_WITHDRAWN = _("This subject's consent is not withdrawn: there is nothing to reverse.")
WITHDRAWAL_REVERSAL_REASON = _("Give the reason the withdrawal was a mistake.")


def withdrawal_in_force(subject: Subject) -> Consent | None:
    """The consent whose withdrawal made the subject *withdrawn* (the newest withdrawal)."""
    return (
        Consent.objects.filter(subject=subject, withdrawn_at__isnull=False)
        .select_related("withdrawn_by")
        .order_by("-withdrawn_at", "-pk")
        .first()
    )


def status_without_withdrawal(subject: Subject) -> str:
    """The status the subject's own records give it when no withdrawal is in force.

    Derived, never stored as a guess: a screen failure in force makes a screen failure; an
    off-study record makes *off study*; a Day 0 (the CAR-T infusion) makes *treated*; an
    eligibility confirmation whose signature still holds makes *eligible*; otherwise the subject
    is in screening. The withdrawal itself voids an eligibility confirmation (the consent
    criterion failed when it was recorded), so a subject confirmed before a mistaken withdrawal
    returns to screening and the investigator confirms again, notified as after any change to a
    confirmed checklist.
    """
    if current_screen_failure(subject) is not None:
        return SubjectStatus.SCREEN_FAILURE
    if OffStudy.objects.filter(subject=subject).exists():
        return SubjectStatus.OFF_STUDY
    if subject.day0 is not None:
        return SubjectStatus.TREATED
    assessment = EligibilityAssessment.objects.filter(subject=subject).first()
    if assessment is not None and assessment.status == RecordStatus.SIGNED:
        return SubjectStatus.ELIGIBLE
    return SubjectStatus.SCREENING


def reverse_withdrawal(
    subject: Subject, *, actor, reason: str, password: str, expected_version: int | None
) -> Consent:
    """The investigator reverses a withdrawal of consent recorded by mistake (e-signed, audited).

    Who: the investigator, as for the screen-failure decision and its reversal — the
    investigator is responsible for the consent process and signs the subject's status
    decisions (ICH E6(R3) §2.8; 21 CFR 11.50: the signature names its meaning). A coordinator
    records a withdrawal; undoing one changes what may be collected from a person, so it is
    signed. ``expected_version`` is the subject version the investigator read.

    The consent keeps the reversed withdrawal (date and reason) beside who reversed it, when and
    why, and ``withdrawn_at`` is empty again, so the consent is in force; the subject's status
    is derived again from its records (``status_without_withdrawal``) and data entry reopens.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        # One writer per subject: the status and the consent change together.
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        records._check_version(subject, expected_version)
        consent = withdrawal_in_force(subject)
        if subject.enrollment_status != SubjectStatus.WITHDRAWN or consent is None:
            raise ValidationError(NOT_WITHDRAWN, code="not_withdrawn")
        if not reason:
            raise field_error("reason", WITHDRAWAL_REVERSAL_REASON, "required")
        if not password or not actor.check_password(password):
            raise field_error("password", BAD_PASSWORD, "bad_password")
        consent = records.update_record(
            consent,
            actor=actor,
            values={
                "reversed_withdrawal_at": consent.withdrawn_at,
                "reversed_withdrawal_reason": consent.withdrawal_reason,
                "withdrawn_at": None,
                "withdrawal_reason": "",
                "withdrawn_by": None,
                "withdrawal_reversed_at": clock.now(),
                "withdrawal_reversed_by": actor,
                "withdrawal_reversal_reason": reason,
            },
            expected_version=UNREAD,  # the investigator read the subject, checked above
            reason=f"Withdrawal of consent reversed: {reason}",
        )
        records.sign_record(
            consent,
            actor=actor,
            password=password,
            meaning=str(WITHDRAWAL_REVERSAL_MEANING),
            expected_version=consent.version,
        )
        records.update_record(
            subject,
            actor=actor,
            values={"enrollment_status": status_without_withdrawal(subject)},
            expected_version=UNREAD,  # follows the reversal, under the subject lock
            reason=f"Withdrawal of consent reversed: {reason}",
        )
        _run_subject_checks(subject, actor=actor)
        refresh_eligibility(subject, actor=actor, reason="Withdrawal of consent reversed")
        status_hooks.participation_changed(
            subject, actor=actor, reason="Withdrawal of consent reversed"
        )
    consent.refresh_from_db()
    return consent


def _run_subject_checks(subject: Subject, *, actor) -> None:
    """Re-run the subject's soft checks after a consent change (SCR-BEFORE-ICF reads consents)."""
    subject.refresh_from_db()
    data_queries.sync_automatic_queries(subject, edit_checks.soft_failures(subject), actor=actor)


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
    if subject.enrollment_status == SubjectStatus.WITHDRAWN:
        return data_entry_blocked(subject)
    if subject.enrollment_status not in (SubjectStatus.SCREENING, SubjectStatus.ELIGIBLE):
        return str(NOT_SCREENING)
    if selectors.active_consent(subject) is None:
        return str(CONSENT_FIRST)
    return ""


WITHDRAWN_NO_DATA = _(
    "Consent was withdrawn on %(date)s: no new data is entered. The data already entered stays "
    "on record and can be queried."
)


def data_entry_blocked(subject: Subject) -> str:
    """Why no new data of any CRF may be entered for the subject ('' when it may).

    Every app's CRF page (``SubjectCRFView``) and service asks this: after withdrawal of
    consent nothing new is collected (ICH E6(R3) §2.8.10), whatever the phase of the study;
    after the off-study date (``OffStudy``) the subject's participation has ended, so neither.
    """
    if subject.enrollment_status == SubjectStatus.OFF_STUDY:
        return off_study_blocked(subject)
    if subject.enrollment_status != SubjectStatus.WITHDRAWN:
        return ""
    withdrawn = (
        Consent.objects.filter(subject=subject, withdrawn_at__isnull=False)
        .order_by("-withdrawn_at")
        .values_list("withdrawn_at", flat=True)
        .first()
    )
    shown = timezone.localtime(withdrawn).date().isoformat() if withdrawn else "?"
    return str(WITHDRAWN_NO_DATA % {"date": shown})


OFF_STUDY_NO_DATA = _(
    "Off study since %(date)s (%(reason)s): no new data is entered. The data already entered "
    "stays on record and can be queried."
)


def off_study_blocked(subject: Subject) -> str:
    """The off-study banner: 'Off study since <date> (<reason>) ...' (one query)."""
    record = OffStudy.objects.filter(subject=subject).first()
    if record is None:
        return ""
    return str(
        OFF_STUDY_NO_DATA
        % {"date": record.off_study_date.isoformat(), "reason": record.reason_shown}
    )


def require_data_entry(subject: Subject) -> None:
    """Refuse a new entry for a withdrawn or off-study subject (for every app's services)."""
    reason = data_entry_blocked(subject)
    if reason:
        off = subject.enrollment_status == SubjectStatus.OFF_STUDY
        raise ValidationError(reason, code="off_study" if off else "withdrawn")


def _require_screening_entry(subject: Subject, values: Mapping) -> None:
    require_data_entry(subject)
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


def save_prior_regimen(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: PriorRegimen | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> PriorRegimen:
    """Add (``record=None``) or change one prior anti-leukemic regimen of the AML history.

    No criterion reads the regimens (the washout uses the last therapy on the AML history), so
    eligibility is not recomputed; they are baseline data for efficacy. A regimen is history:
    its dates precede consent and lie outside any visit window, so it belongs to no visit and
    its dates are not held against the ICF date (plausibility still applies: not in the
    future, not before birth).
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        _require_screening_entry(subject, {})
        if record is None:
            return records.create_record(
                PriorRegimen,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject, "visit": None},
            )
        return records.update_record(
            record, actor=actor, values=values, expected_version=expected_version, reason=reason
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
    """Run the eligibility rules on the subject's current facts with the study's settings.

    A criterion left missing by a result coded "not done" (or unknown, not applicable) says so.
    """
    facts, coded = selectors.eligibility_inputs(subject)
    result = rules.evaluate_eligibility(facts, **subject.study.rule_settings("enrollment"))
    if not coded:
        return result
    details = {
        code: dataclasses.replace(d, message=missing_data.explain(d.message, d.needs, coded))
        if d.status == rules.MISSING
        else d
        for code, d in result.details.items()
    }
    return dataclasses.replace(result, details=details)


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
    data_version, settings_version, settings = (
        type(subject.study)
        .objects.values_list("data_version", "settings_version", "settings")
        .get(pk=subject.study_id)
    )
    values = {
        **result,
        "settings_used": dict(settings.get("enrollment", {})),
        "settings_version": settings_version,
        "data_version": data_version,
    }
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
    # Settings used count too: a result under other settings is another result (issue 10 item 4).
    compared = {**result, "settings_used": values["settings_used"]}
    unchanged = all(getattr(assessment, k) == v for k, v in compared.items())
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


def recompute_eligibility_for_settings(study, *, actor, reason: str) -> list[EligibilityAssessment]:
    """Recompute every screening subject's eligibility computed with other eligibility settings.

    Why: a settings change must reach the derived results it affects (issue 10 item 4). Only
    subjects still in screening or eligible are recomputed: an enrolled or screen-failed subject's
    assessment is the decision taken under the settings of its time, and stays as it was. A
    confirmed assessment whose result or settings change is reopened for re-confirmation.
    """
    current = dict(study.settings.get("enrollment", {}))
    rows = EligibilityAssessment.objects.filter(
        study=study,
        subject__enrollment_status__in=(SubjectStatus.SCREENING, SubjectStatus.ELIGIBLE),
    ).values_list("subject_id", "settings_used")
    stale = [subject_id for subject_id, used in rows if used != current]
    updated = []
    for subject_id in stale:
        with transaction.atomic():
            subject = Subject.objects.select_for_update().get(pk=subject_id)
            updated.append(refresh_eligibility(subject, actor=actor, reason=reason))
    return updated


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


SCREEN_FAILURE_MEANING = _("I confirm this subject is a screen failure for the reason given.")
NOT_IN_SCREENING = _("Only a subject in screening can be a screen failure (this one is %s).")
REVERSAL_REASON = _("Give the reason the screen failure was a mistake.")
NOT_A_SCREEN_FAILURE = _("This subject is not a screen failure.")
RELOAD_AND_RETRY = _("Reload the subject page and try again.")
ALREADY_RESCREENED = _("This screening was already followed by rescreening %(number)s.")


def record_screen_failure(
    subject: Subject,
    *,
    actor,
    category: str,
    text: str = "",
    password: str,
    expected_version: int | None,
) -> ScreenFailure:
    """The investigator records a screen failure with its reason and their e-signature.

    ``expected_version`` is the subject version the investigator saw. "Failed criteria" needs a
    failing criterion; a patient who declines (criteria still missing), dies, or the
    investigator's decision needs none (``consent_rules.screen_failure_problems``). The failing
    criteria at the time are stored on the signed record and on the subject.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        records._check_version(subject, expected_version)
        if subject.enrollment_status not in (SubjectStatus.SCREENING, SubjectStatus.ELIGIBLE):
            raise ValidationError(
                NOT_IN_SCREENING % subject.get_enrollment_status_display(), code="not_screening"
            )
        assessment = EligibilityAssessment.objects.filter(subject=subject).first()
        reasons = _failing_reasons(assessment) if assessment else []
        problems = consent_rules.screen_failure_problems(
            category, text or "", failed_criteria=[r["code"] for r in reasons]
        )
        if problems:
            raise ValidationError(
                {f: ValidationError(_(m), code="screen_failure") for f, m in problems.items()}
            )
        if not password or not actor.check_password(password):
            raise field_error("password", BAD_PASSWORD, "bad_password")
        failure = records.create_record(
            ScreenFailure,
            actor=actor,
            study=subject.study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": subject,
                "visit": screening_visit(subject),
                "decided_on": plausibility.site_today(subject.site),
                "category": category,
                "text": (text or "").strip(),
                "failed_criteria": reasons,
            },
        )
        records.sign_record(
            failure,
            actor=actor,
            password=password,
            meaning=str(SCREEN_FAILURE_MEANING),
            expected_version=failure.version,
        )
        if assessment is not None:
            notifications.resolve(
                assessment, RESOLVED_BY_CONFIRMATION, RESOLVED_BY_CONFIRMATION_OR_CHANGE
            )
        label = ScreenFailureCategory(category).label
        shown = reasons if category == ScreenFailureCategory.FAILED_CRITERIA else []
        records.update_record(
            subject,
            actor=actor,
            values={
                "enrollment_status": SubjectStatus.SCREEN_FAILURE,
                "screen_failure_reasons": shown
                or [{"code": category, "message": (text or "").strip() or str(label)}],
            },
            expected_version=UNREAD,  # checked against the investigator's read above
            reason=f"Screen failure ({label}): {(text or '').strip()}".strip(": "),
        )
        status_hooks.participation_changed(subject, actor=actor, reason="Screen failure")
    failure.refresh_from_db()
    return failure


def _failing_reasons(assessment: EligibilityAssessment) -> list[dict]:
    """The failing criteria, most specific first (a parent is left out when a child fails)."""
    return [
        {"code": code, "message": assessment.details[code]["message"]}
        for code in assessment.failed
        if not any(
            assessment.details.get(c, {}).get("status") == "fail"
            for c in _children(code, assessment)
        )
    ]


def current_screen_failure(subject: Subject) -> ScreenFailure | None:
    return (
        ScreenFailure.objects.filter(subject=subject, reversed_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def reverse_screen_failure(
    subject: Subject, *, actor, reason: str, expected_version: int | None
) -> ScreenFailure:
    """The investigator reverses a mistaken screen failure; the subject is in screening again.

    The screen-failure record keeps who reversed it, when and why (audited; its signature no
    longer holds). Refused once the subject has been rescreened under a new number.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        records._check_version(subject, expected_version)
        failure = current_screen_failure(subject)
        if subject.enrollment_status != SubjectStatus.SCREEN_FAILURE or failure is None:
            raise ValidationError(NOT_A_SCREEN_FAILURE, code="not_screen_failure")
        later = Subject.objects.filter(previous_screening=subject).first()
        if later is not None:
            raise ValidationError(
                ALREADY_RESCREENED % {"number": later.screening_number}, code="rescreened"
            )
        if not reason:
            raise field_error("reason", REVERSAL_REASON, "required")
        failure = records.update_record(
            failure,
            actor=actor,
            values={
                "reversed_at": clock.now(),
                "reversed_by": actor,
                "reversal_reason": reason,
            },
            expected_version=UNREAD,  # the investigator read the subject, checked above
            reason=f"Screen failure reversed: {reason}",
        )
        records.update_record(
            subject,
            actor=actor,
            values={"enrollment_status": SubjectStatus.SCREENING, "screen_failure_reasons": []},
            expected_version=UNREAD,
            reason=f"Screen failure reversed: {reason}",
        )
        refresh_eligibility(subject, actor=actor, reason="Screen failure reversed")
        status_hooks.participation_changed(subject, actor=actor, reason="Screen failure reversed")
    return failure


def rescreen_subject(
    subject: Subject, *, actor, expected_version: int | None, screening_date: dt.date | None = None
) -> Subject:
    """Screen a screen failure again: a new screening number linked to the previous one.

    Protocol §6.3 allows rescreening once the reason has changed. The person's registration
    data is copied; consent and every screening CRF are collected again for the new number.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        records._check_version(subject, expected_version)
        if subject.enrollment_status != SubjectStatus.SCREEN_FAILURE:
            raise ValidationError(NOT_A_SCREEN_FAILURE, code="not_screen_failure")
        later = Subject.objects.filter(previous_screening=subject).first()
        if later is not None:
            raise ValidationError(
                ALREADY_RESCREENED % {"number": later.screening_number}, code="rescreened"
            )
        return register_subject(
            actor=actor,
            site=subject.site,
            initials=subject.initials,
            sex=subject.sex,
            screening_date=screening_date or plausibility.site_today(subject.site),
            birth_date=subject.birth_date,
            birth_year=subject.birth_year,
            previous_screening=subject,
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
