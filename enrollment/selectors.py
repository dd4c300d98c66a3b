"""Reads for enrollment: a subject's eligibility facts, the screening log, the subject page.

``eligibility_facts`` is the only bridge between the screening CRFs and
``enrollment.rules.evaluate_eligibility``: the page, the API and outside validators all see the
result of the same facts. Query counts are fixed (one query per CRF table, never per row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import capfirst

from enrollment import rules
from enrollment.models import (
    SCREENING_CRFS,
    Consent,
    EligibilityAssessment,
    MedicationHistory,
    ScreeningLabs,
    ScreeningVitals,
    SteroidCourse,
    Subject,
    SubjectStatus,
    Visit,
)
from trialsite import clock
from trialsite.records.models import RecordStatus
from trialsite.studies import permissions
from trialsite.studies.roles import Action

# CRF fields copied into facts under the same name (everything whose name is a fact key).
_COPIED = {
    model: [
        f.name
        for f in model.content_fields()
        if f.name in rules.FACT_KEYS and f.name not in ("subject", "visit")
    ]
    for model in SCREENING_CRFS
}


def active_consent(subject: Subject) -> Consent | None:
    """The newest consent that has not been withdrawn."""
    return (
        Consent.objects.filter(subject=subject, withdrawn_at__isnull=True)
        .order_by("-signed_at")
        .first()
    )


def approved_icf_versions(study) -> list[dict]:
    """The study's approved ICF versions (study setting ``approved_icf_versions``)."""
    from enrollment.consent_checks import approved_versions

    return approved_versions(study)


def screening_records(subject: Subject) -> dict[type, object]:
    """Each screening CRF of the subject that exists, by model (one query per CRF table)."""
    found = {}
    for model in SCREENING_CRFS:
        record = model.objects.filter(subject=subject).first()
        if record is not None:
            found[model] = record
    return found


def _birth_date_for_rules(subject: Subject, on: dt.date | None) -> dt.date | None:
    """The birth date, or — where only the year is recorded — a date that decides the age.

    With a birth year only, the age at ICF depends on the unknown birthday; if the first and the
    last day of the year give the same IN1 outcome, either decides it (1 January is used);
    otherwise the full date is needed and IN1 stays missing.
    """
    if subject.birth_date or not subject.birth_year or on is None:
        return subject.birth_date
    age_rule = subject.study.rule_settings("enrollment").get("age_rule", "completed_years")
    earliest, latest = dt.date(subject.birth_year, 1, 1), dt.date(subject.birth_year, 12, 31)
    if on < earliest:
        return None  # impossible dates: refused by the plausibility checks, never a crash
    latest = min(latest, on)  # a consent in the birth year: born on that day at the latest
    outcomes = {rules.age_criterion_met(day, on, age_rule=age_rule) for day in (earliest, latest)}
    return earliest if len(outcomes) == 1 else None


def eligibility_facts(subject: Subject, *, today: dt.date | None = None) -> dict[str, object]:
    """The documented ``facts`` of ``evaluate_eligibility`` from the subject's records.

    A fact is left out when its CRF is missing or the field is empty — or carries a
    missing-data code ("not done") — so the criterion stays *missing* with a message naming
    what is needed.
    """
    return eligibility_inputs(subject, today=today)[0]


def eligibility_inputs(subject: Subject, *, today: dt.date | None = None):
    """(facts, coded): the facts, and {fact key: (label, Coded)} of results not given."""
    records = screening_records(subject)
    coded = {}
    for model, record in records.items():
        for name, code in record.coded().items():
            label = capfirst(str(model._meta.get_field(name).verbose_name))
            coded[name] = (label, code)
    return _facts(subject, records, today=today), coded


def _facts(subject: Subject, records: dict, *, today: dt.date | None) -> dict[str, object]:
    today = today or clock.today()
    consent = active_consent(subject)
    icf_date = timezone.localtime(consent.signed_at).date() if consent else None
    facts: dict[str, object] = {
        "screening_date": subject.screening_date,
        "sex": subject.sex,
        "enrollment_date": subject.enrollment_date or today,
    }
    if consent is not None:
        facts["icf_signed"] = True
    elif Consent.objects.filter(subject=subject).exists():
        facts["icf_signed"] = False  # every consent was withdrawn
    if icf_date:
        facts["icf_date"] = icf_date
    birth_date = _birth_date_for_rules(subject, icf_date)
    if birth_date:
        facts["birth_date"] = birth_date
    if subject.planned_apheresis_date:
        facts["planned_apheresis_date"] = subject.planned_apheresis_date
    for model, record in records.items():
        for name in _COPIED[model]:
            value = getattr(record, name)
            if value is not None and value != "":
                facts[name] = value
    vitals = records.get(ScreeningVitals)
    if vitals is not None:
        facts["blood_pressure_readings_mmhg"] = vitals.blood_pressure_readings()
    labs = records.get(ScreeningLabs)
    if labs is not None:
        facts["creatinine_date"] = labs.lab_date
        if labs.creatinine is None:
            facts.pop("creatinine_unit", None)
    medications = records.get(MedicationHistory)
    if medications is not None and medications.steroids_before_apheresis is not None:
        courses = []
        if medications.steroids_before_apheresis:
            courses = [
                {
                    "drug": c.drug,
                    "daily_dose_mg": c.daily_dose_mg,
                    "start_date": c.start_date,
                    "end_date": c.end_date,
                    "ongoing": c.ongoing,
                }
                for c in SteroidCourse.objects.filter(subject=subject).order_by("start_date")
            ]
        facts["steroid_courses"] = courses
    return facts


@dataclass(frozen=True)
class CrfStatus:
    model: type
    code: str
    title: str
    record: object | None
    filled: int
    total: int

    @property
    def complete(self) -> bool:
        return self.record is not None and self.filled == self.total


def crf_completeness(subject: Subject) -> list[CrfStatus]:
    """Each screening CRF with how many of its applicable questions are answered."""
    records = screening_records(subject)
    rows = []
    for model in SCREENING_CRFS:
        record = records.get(model)
        if record is None:
            rows.append(CrfStatus(model, model.crf_code, str(model.crf_title), None, 0, 0))
            continue
        record.subject = subject  # already loaded: no query per CRF
        fields = record.applicable_fields()
        coded = record.coded()  # a code with its reason answers the question
        filled = sum(
            1 for name in fields if getattr(record, name) not in (None, "") or name in coded
        )
        rows.append(
            CrfStatus(model, model.crf_code, str(model.crf_title), record, filled, len(fields))
        )
    return rows


def visits(subject: Subject) -> QuerySet[Visit]:
    return Visit.objects.filter(subject=subject).order_by("order")


# Sortable columns of the screening log: the query parameter → the ordering it applies.
LOG_SORTS = {
    "screening_number": ("screening_number",),
    "subject_number": ("subject_number", "screening_number"),
    "initials": ("initials", "screening_number"),
    "site": ("site__code", "screening_sequence"),
    "screening_date": ("screening_date", "screening_sequence"),
    "status": ("enrollment_status", "screening_number"),
}
DEFAULT_LOG_SORT = "-screening_date"


def log_ordering(sort: str | None) -> tuple[str, ...]:
    """The ordering of ``?sort=`` (``"-initials"`` descending); unknown keys give the default."""
    sort = sort or DEFAULT_LOG_SORT
    descending = sort.startswith("-")
    columns = LOG_SORTS.get(sort.lstrip("-"))
    if columns is None:
        return log_ordering(DEFAULT_LOG_SORT)
    return tuple(f"-{c}" if descending else c for c in columns)


def screening_log(
    study,
    user,
    *,
    site_id: int | None = None,
    status: str | None = None,
    screened_from: dt.date | None = None,
    screened_to: dt.date | None = None,
    search: str = "",
    sort: str | None = None,
) -> QuerySet[Subject]:
    """Screened subjects the user may see, newest first (or as ``sort``), with their site loaded.

    ``search`` matches the screening number, the subject ID or the initials (any case, any part).
    """
    subjects = _log_scope(study, user, site_id, screened_from, screened_to, search)
    if status:
        subjects = subjects.filter(enrollment_status=status)
    return subjects.order_by(*log_ordering(sort))


def _log_scope(study, user, site_id, screened_from, screened_to, search) -> QuerySet[Subject]:
    from django.db.models import Q

    subjects = permissions.scope_by_site(
        Subject.objects.filter(study=study), user, Action.VIEW_CLINICAL, study=study
    ).select_related("site")
    if site_id:
        subjects = subjects.filter(site_id=site_id)
    if screened_from:
        subjects = subjects.filter(screening_date__gte=screened_from)
    if screened_to:
        subjects = subjects.filter(screening_date__lte=screened_to)
    search = (search or "").strip()
    if search:
        subjects = subjects.filter(
            Q(screening_number__icontains=search)
            | Q(subject_number__icontains=search)
            | Q(initials__icontains=search)
        )
    return subjects


@dataclass(frozen=True)
class ScreeningSummary:
    """CONSORT-style screening numbers (``enrollment.consort``)."""

    screened: int
    in_screening: int
    screen_failures: int
    failures_by_criterion: list[tuple[str, int]]
    eligible_unconfirmed: int
    confirmed: int


def screening_summary(
    study,
    user,
    *,
    site_id: int | None = None,
    screened_from: dt.date | None = None,
    screened_to: dt.date | None = None,
    search: str = "",
) -> ScreeningSummary:
    """The screening numbers of the subjects the log shows, whatever their status (2 queries).

    *Confirmed* subjects are those the investigator confirmed (they have a subject ID, whatever
    happened after); *eligible, not confirmed* are in screening with every criterion passing.
    """
    from django.db.models import Count, Q

    from enrollment import consort

    subjects = _log_scope(study, user, site_id, screened_from, screened_to, search)
    counts = subjects.aggregate(
        screened=Count("pk"),
        in_screening=Count("pk", filter=Q(enrollment_status=SubjectStatus.SCREENING)),
        failures=Count("pk", filter=Q(enrollment_status=SubjectStatus.SCREEN_FAILURE)),
        confirmed=Count("pk", filter=Q(subject_number__isnull=False)),
        eligible=Count(
            "pk",
            filter=Q(
                enrollment_status=SubjectStatus.SCREENING,
                pk__in=EligibilityAssessment.objects.filter(eligible=True).values("subject_id"),
            ),
        ),
    )
    reasons = subjects.filter(enrollment_status=SubjectStatus.SCREEN_FAILURE).values_list(
        "screen_failure_reasons", flat=True
    )
    return ScreeningSummary(
        screened=counts["screened"],
        in_screening=counts["in_screening"],
        screen_failures=counts["failures"],
        failures_by_criterion=consort.failures_by_criterion(reasons),
        eligible_unconfirmed=counts["eligible"],
        confirmed=counts["confirmed"],
    )


def assessments_for(subjects) -> dict[int, EligibilityAssessment]:
    """Eligibility assessments of a page of subjects, in one query."""
    ids = [s.pk for s in subjects]
    return {
        a.subject_id: a
        for a in EligibilityAssessment.objects.filter(subject_id__in=ids).only(
            "subject_id", "eligible", "criteria", "status", "version"
        )
    }


def open_query_counts(study, subject_ids) -> dict[int, int]:
    """Open (or answered, not yet closed) data queries per subject, in one query."""
    from django.db.models import Count

    from trialsite.records.models import DataQuery

    rows = (
        DataQuery.objects.filter(study=study, subject_pk__in=list(subject_ids))
        .exclude(status=DataQuery.Status.CLOSED)
        .values("subject_pk")
        .annotate(n=Count("id"))
    )
    return {row["subject_pk"]: row["n"] for row in rows}


def missing_forms(*, subject=None, study=None, today: dt.date | None = None):
    """Required forms not entered whose visit window has closed: one query (metadata rows)."""
    from enrollment.models import FormExpectation

    today = today or clock.today()
    rows = FormExpectation.objects.filter(
        status=FormExpectation.Status.REQUIRED, visit__window_end__lt=today
    ).select_related("visit", "subject")
    if subject is not None:
        rows = rows.filter(subject=subject)
    if study is not None:
        rows = rows.filter(subject__study=study)
    return rows.order_by("visit__window_end", "subject_id", "form_code")


def with_first_consent(subjects: QuerySet[Subject]) -> QuerySet[Subject]:
    """Annotate each subject with ``first_consent_at``: its earliest signed consent (one query)."""
    from django.db.models import OuterRef, Subquery

    first = (
        Consent.objects.filter(subject=OuterRef("pk")).order_by("signed_at").values("signed_at")[:1]
    )
    return subjects.annotate(first_consent_at=Subquery(first))


def first_consent_date(subject: Subject) -> dt.date | None:
    """The local date of the subject's first signed consent (the de-identification anchor)."""
    consent = Consent.objects.filter(subject=subject).order_by("signed_at").first()
    return timezone.localtime(consent.signed_at).date() if consent else None


def awaiting_confirmation(user, study) -> list[EligibilityAssessment]:
    """Eligibility checklists waiting for this investigator's signature (one query).

    Every criterion passes, the subject is still in screening and the checklist is not signed,
    at the sites where the user may sign (an investigator's own sites). Oldest first: the
    screening window runs from the screening date (docs/architecture.md §8).
    """
    if not permissions.can(user, Action.SIGN, study=study):
        return []
    rows = (
        EligibilityAssessment.objects.filter(
            study=study,
            eligible=True,
            subject__enrollment_status=SubjectStatus.SCREENING,
        )
        .exclude(status=RecordStatus.SIGNED)
        .select_related("subject", "subject__site")
        .order_by("subject__screening_date", "subject__screening_number")
    )
    return list(
        permissions.scope_by_site(rows, user, Action.SIGN, study=study, site_field="subject__site")
    )
