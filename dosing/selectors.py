"""Dosing reads: a subject's treatment state, the study's CRF lists for pages and the API.

Each function runs a fixed number of queries whatever the number of subjects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Min, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from dosing import rules
from dosing.models import (
    Apheresis,
    CohortAssignment,
    DosingCRF,
    Infusion,
    Lymphodepletion,
    ProductRelease,
    ReleaseResult,
)
from enrollment import plausibility
from enrollment import selectors as enrollment_selectors
from enrollment import services as enrollment
from enrollment.models import Consent, EligibilityAssessment, Subject
from trialsite.records.models import RecordStatus
from trialsite.records.selectors import signature_state
from trialsite.studies import permissions
from trialsite.studies.roles import Action

NOT_CONFIRMED = _(
    "Eligibility has not been confirmed by the investigator's signature: confirm it first."
)
NO_CONSENT = _("Record the subject's informed consent first.")
NOT_ASSIGNED = _("The subject has no dose-level assignment: assign a cohort first.")
NO_APHERESIS = _("Record the apheresis first: the product is made from it.")
NO_RELEASE = _("Record the product release first: a CAR-T lot is infused only once released.")
RELEASE_FAILED = _(
    "The product release failed (%(test)s): a lot that is not released cannot be infused."
)
AFTER_INFUSION = _(
    "The subject was infused on %(date)s: lymphodepletion is recorded before the infusion."
)
ALREADY_ASSIGNED_PAGE = _(
    "Assigned to %(level)s (%(phase)s, cohort %(cohort)s). A change of level comes with the "
    "safety-review decision; it is not made on this page: end the assignment (with the reason) "
    "and assign the subject again to a slot the latest signed decision opened."
)

#: The treatment CRFs in the order they are entered (the subject page's Treatment section).
STEPS: tuple[type, ...] = (CohortAssignment, Apheresis, ProductRelease, Lymphodepletion, Infusion)


def _zone(subject: Subject):
    from zoneinfo import ZoneInfo

    return ZoneInfo(subject.site.time_zone) if subject.site.time_zone else None


def local_date(moment: dt.datetime, subject: Subject) -> dt.date:
    return plausibility.calendar_date(moment, _zone(subject))


def eligibility_confirmed_on(subject: Subject) -> dt.date | None:
    """The site-local date of the investigator's confirmation, if its signature still holds."""
    assessment = EligibilityAssessment.objects.filter(subject=subject).first()
    if assessment is None or assessment.status != RecordStatus.SIGNED:
        return None
    state = signature_state(assessment)
    if not state.valid:
        return None
    return local_date(state.signature.signed_at, subject)


def active_assignment(subject: Subject) -> CohortAssignment | None:
    return (
        CohortAssignment.objects.filter(subject=subject, is_active=True)
        .select_related("dose_level")
        .first()
    )


@dataclass(frozen=True)
class TreatmentState:
    """Everything the treatment pages and the Treatment section read about one subject."""

    subject: Subject
    withdrawn: str
    has_consent: bool
    confirmed_on: dt.date | None
    records: dict  # model -> the subject's record or None

    def record(self, model: type):
        return self.records.get(model)

    @property
    def assignment(self) -> CohortAssignment | None:
        return self.records.get(CohortAssignment)

    @property
    def infusion(self) -> Infusion | None:
        return self.records.get(Infusion)


def treatment_state(subject: Subject) -> TreatmentState:
    """One subject's treatment records and prerequisites (a fixed number of queries)."""
    found = {CohortAssignment: active_assignment(subject)}
    for model in STEPS[1:]:
        found[model] = (
            model.objects.filter(subject=subject)
            .select_related("updated_by", "visit", "study", "subject")
            .first()
        )
    return TreatmentState(
        subject=subject,
        withdrawn=enrollment.data_entry_blocked(subject),
        has_consent=enrollment_selectors.active_consent(subject) is not None,
        confirmed_on=eligibility_confirmed_on(subject),
        records=found,
    )


def blocked_reason(state: TreatmentState, model: type[DosingCRF]) -> str:
    """Why ``model`` cannot be entered now ('' when it can): the same prerequisites the
    services refuse with, so the page is read-only with the reason instead of failing on save.

    An existing record stays open for corrections (its service re-checks), except
    lymphodepletion once the subject is infused and an assignment (its change comes with the
    safety-review decision).
    """
    if state.withdrawn:
        return state.withdrawn
    if not state.has_consent:
        return str(NO_CONSENT)
    if state.confirmed_on is None:
        return str(NOT_CONFIRMED)
    if model is CohortAssignment:
        current = state.assignment
        if current is None:
            return ""
        return str(
            ALREADY_ASSIGNED_PAGE
            % {
                "level": current.dose_level.label,
                "phase": current.get_phase_display(),
                "cohort": current.cohort_number,
            }
        )
    if model is not Apheresis and state.record(Apheresis) is None:
        return str(NO_APHERESIS)
    if model in (Lymphodepletion, Infusion) and state.assignment is None:
        return str(NOT_ASSIGNED)
    infusion = state.infusion
    if model is Lymphodepletion and infusion is not None:
        day = local_date(infusion.infusion_start, state.subject)
        return str(AFTER_INFUSION % {"date": day.isoformat()})
    if model is Infusion and infusion is None:
        release = state.record(ProductRelease)
        if release is None:
            return str(NO_RELEASE)
        if release.release_result != ReleaseResult.PASS:
            return str(RELEASE_FAILED % {"test": release.get_failed_test_display()})
    return ""


@dataclass(frozen=True)
class Step:
    model: type
    title: str
    url_name: str
    record: object
    blocked: str


def treatment_steps(state: TreatmentState) -> list[Step]:
    """Each treatment CRF with its record (entered) or why it is blocked (or '' = next)."""
    steps = []
    for model in STEPS:
        record = state.record(model)
        url_name = "dosing:assign" if model is CohortAssignment else model.url_name
        steps.append(
            Step(
                model=model,
                title=str(model.crf_title),
                url_name=url_name,
                record=record,
                blocked="" if record is not None else blocked_reason(state, model),
            )
        )
    return steps


def bsa_m2(record: Lymphodepletion | None) -> float | None:
    """The BSA (m²) of a lymphodepletion record by the study's formula (derived, not stored)."""
    if record is None or not record.height_cm or not record.weight_kg:
        return None
    crf = rules.validate_dosing_crf_settings(record.study.settings.get("dosing_crf") or {})
    return rules.body_surface_area(
        float(record.height_cm), float(record.weight_kg), crf["bsa_formula"]
    )


def lymphodepletion_doses(record: Lymphodepletion | None) -> list[dict]:
    """Per planned day: its date, and each drug's mg/m² and mg (mg/m² × BSA, unrounded)."""
    bsa = bsa_m2(record)
    if record is None:
        return []
    planned = record.planned_dates()
    rows = []
    for day in rules.LYMPHODEPLETION_DAYS:
        row = {"day": day, "date": planned.get(day)}
        for drug in Lymphodepletion.DRUGS:
            dose = getattr(record, f"{drug}_mg_m2_day_minus{-day}")
            row[drug] = dose
            row[f"{drug}_mg"] = (
                rules.lymphodepletion_dose_mg(float(dose), bsa) if dose and bsa else None
            )
        rows.append(row)
    return rows


# --- Lists for the API ----------------------------------------------------------------------

_FIRST_CONSENT = Subquery(
    Consent.objects.filter(subject=OuterRef("subject"))
    .values("subject")
    .annotate(first=Min("signed_at"))
    .values("first")[:1]
)


def study_records(model: type, study, user) -> QuerySet:
    """One study's ``model`` records the user may read, by site, with the subject and the first
    consent (for de-identified dates) in the same query; a fixed order."""
    rows = model.objects.filter(study=study).select_related("study", "subject", "subject__site")
    if model is CohortAssignment:
        rows = rows.select_related("dose_level")
    rows = permissions.scope_by_site(
        rows, user, Action.VIEW_DEIDENTIFIED, study=study, site_field="subject__site"
    )
    return rows.annotate(first_consent_at=_FIRST_CONSENT).order_by("subject_id", "pk")


@dataclass(frozen=True)
class SubjectDoseLevel:
    """A subject's active dose-level assignment, as the cross-app dashboards group by it.

    ``infused_cells_per_kg`` is the dose actually given (the infusion CRF), None before Day 0.
    """

    subject_id: int
    level: int
    label: str
    dose_cells_per_kg: float
    phase: str
    infused_on: dt.date | None
    infused_cells_per_kg: float | None


def subject_dose_levels(study) -> dict[int, SubjectDoseLevel]:
    """Every subject of ``study`` with an active assignment → its dose level (1 query).

    The top floor (``trialsite.dashboards``) passes this mapping to safety's and efficacy's
    selectors, which may not import dosing (DESIGN §2). Subjects never assigned are absent.
    """
    infusion = Infusion.objects.filter(subject=OuterRef("subject"))
    rows = (
        CohortAssignment.objects.filter(study=study, is_active=True)
        .annotate(
            infused_at=Subquery(infusion.values("infusion_start")[:1]),
            infused_cells_1e6=Subquery(infusion.values("total_car_t_cells_1e6")[:1]),
            infused_weight_kg=Subquery(infusion.values("weight_kg")[:1]),
        )
        .values(
            "subject_id",
            "phase",
            "dose_level__level",
            "dose_level__label",
            "dose_level__dose_cells_per_kg",
            "infused_at",
            "infused_cells_1e6",
            "infused_weight_kg",
            "subject__site__time_zone",
        )
    )
    found = {}
    for row in rows:
        infused_at = row["infused_at"]
        if infused_at is not None:
            zone = row["subject__site__time_zone"]
            infused_at = plausibility.calendar_date(infused_at, ZoneInfo(zone) if zone else None)
        cells, weight = row["infused_cells_1e6"], row["infused_weight_kg"]
        found[row["subject_id"]] = SubjectDoseLevel(
            subject_id=row["subject_id"],
            level=row["dose_level__level"],
            label=row["dose_level__label"],
            dose_cells_per_kg=row["dose_level__dose_cells_per_kg"],
            phase=row["phase"],
            infused_on=infused_at,
            infused_cells_per_kg=float(cells) * 1e6 / float(weight) if cells and weight else None,
        )
    return found
