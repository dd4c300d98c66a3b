"""Efficacy reads with a fixed number of queries (docs/architecture.md §3, §13).

``subject_efficacy(study)`` fills the data contract of ``efficacy.course`` for every infused
subject (Day 0 set) from the response, follow-up and disease-event CRFs, the screening marrow
(the baseline blast percentage) and safety's exploratory inputs (peak IL-6, worst CRS/ICANS
grade). It runs the same number of queries for one subject as for a thousand; the endpoint code
(``efficacy.endpoints``) and the recompute hook read only what it returns. Kinetics are filled
by ``efficacy.selectors_samples`` and joined by the hook.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import QuerySet

from efficacy import rules
from efficacy.course import SubjectEfficacy, VisitResponse
from efficacy.models import (
    DiseaseEvent,
    DiseaseEventType,
    FollowUp,
    ResponseAssessment,
    ResponseDecision,
)
from efficacy.models.response import TIMEPOINT_MONTH
from efficacy.rules import CR_FAMILY, DiseaseObservation, SubjectCourse
from enrollment.models import Subject
from enrollment.models.screening import AmlHistory
from enrollment.schedule import study_day
from safety.selectors_exploratory import exploratory_inputs


def responses_of(subject) -> QuerySet[ResponseAssessment]:
    """One subject's response assessments in date order (one query; the subject joined for
    the study day)."""
    return (
        ResponseAssessment.objects.filter(subject=subject)
        .select_related("subject")
        .order_by("assessment_date", "pk")
    )


def follow_ups_of(subject) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(subject=subject)
        .select_related("subject")
        .order_by("contact_date", "pk")
    )


def disease_events_of(subject) -> QuerySet[DiseaseEvent]:
    return (
        DiseaseEvent.objects.filter(subject=subject)
        .select_related("subject")
        .order_by("event_date", "pk")
    )


def screening_baseline_blasts(subject) -> Decimal | None:
    """The screening marrow blast percentage (AML history CRF), None when not recorded."""
    return (
        AmlHistory.objects.filter(subject=subject)
        .values_list("marrow_blasts_pct", flat=True)
        .first()
    )


def _infused(study) -> QuerySet:
    return ResponseAssessment.objects.filter(study=study, subject__day0__isnull=False)


class ResponseRow(NamedTuple):
    """The columns of a response assessment the course reads, without a model instance.

    ``subject_efficacy`` reads every assessment of the study (tens of thousands at 4,000
    subjects); building model instances was a third of the endpoints hook's time. The
    attribute names are the model's, so ``build_course`` takes either.
    """

    subject_id: int
    assessment_date: date
    timepoint: str
    computed_category: str
    decision: str
    decided_category: str
    mrd_status: str
    bm_blasts_pct: Decimal | None
    baseline_bm_blasts_pct: Decimal | None
    bm_adequacy: str
    flow_cells_acquired: int | None
    flow_leukemic_events: int | None
    pb_blasts: str
    extramedullary_disease: str
    anc_10e9_l: Decimal | None
    platelets_10e9_l: Decimal | None

    @property
    def category_of_record(self) -> str:
        """As ``ResponseAssessment.category_of_record``: the override if any, else computed."""
        if self.decision == ResponseDecision.OVERRIDDEN and self.decided_category:
            return self.decided_category
        return self.computed_category

    @property
    def source(self) -> str:
        """As ``ResponseAssessment.source``."""
        return self.decision or "computed"


def _observation(row: ResponseAssessment) -> DiseaseObservation:
    """A response assessment as a post-remission disease observation (RULES.md §1.4)."""
    adequate = row.bm_adequacy == "adequate"
    level = None
    if row.flow_cells_acquired and row.flow_leukemic_events is not None:
        level = Decimal(row.flow_leukemic_events) / Decimal(row.flow_cells_acquired)
    return DiseaseObservation(
        date=row.assessment_date,
        bm_blasts_pct=row.bm_blasts_pct if adequate else None,
        pb_blasts={"yes": True, "no": False}.get(row.pb_blasts),
        new_extramedullary_disease={"yes": True, "no": False}.get(row.extramedullary_disease),
        mrd_level=level,
        anc_10e9_l=row.anc_10e9_l,
        platelets_10e9_l=row.platelets_10e9_l,
    )


def detected_relapse(
    rows: list[ResponseAssessment], settings: dict
) -> rules.RelapseAssessment | None:
    """Relapse after the first CR/CRh/CRi of record, from the later assessments (§1.4)."""
    remission = next((r for r in rows if r.category_of_record in CR_FAMILY), None)
    if remission is None:
        return None
    later = [_observation(r) for r in rows if r.assessment_date > remission.assessment_date]
    return rules.detect_relapse(
        later,
        remission_date=remission.assessment_date,
        remission_mrd_negative=remission.mrd_status == "negative",
        **rules.settings_for(rules.detect_relapse, settings),
    )


def _first(dates: list[date]) -> date | None:
    return min(dates) if dates else None


def build_course(
    day0: date,
    rows: list[ResponseAssessment],
    follow_ups: list[tuple[date, str, date | None]],
    events: list[tuple[str, date]],
    settings: dict,
) -> SubjectCourse:
    """One subject's ``SubjectCourse`` from their CRF rows (no query).

    Relapse: the first entered relapse event, or the relapse the assessments show
    (``detect_relapse``), whichever is earlier. Last known alive: the latest follow-up's
    "last known alive" date, or its contact date when the subject was alive then.
    """
    by_type: dict[str, list[date]] = defaultdict(list)
    for kind, when in events:
        by_type[kind].append(when)
    relapse = detected_relapse(rows, settings)
    relapse_dates = list(by_type[DiseaseEventType.RELAPSE])
    mrd_relapse_date = None
    if relapse is not None:
        if relapse.hematologic_relapse_date is not None:
            relapse_dates.append(relapse.hematologic_relapse_date)
        if relapse.mrd_relapse == "confirmed":
            mrd_relapse_date = relapse.mrd_relapse_date
    alive = []
    for contact, status, last_alive in follow_ups:
        if last_alive is not None:
            alive.append(last_alive)
        elif status == "alive":
            alive.append(contact)
    return SubjectCourse(
        infusion_date=day0,
        assessments=tuple(
            rules.ResponseAssessment(
                r.assessment_date,
                r.category_of_record,
                r.timepoint if r.timepoint in TIMEPOINT_MONTH else None,
            )
            for r in rows
        ),
        relapse_date=_first(relapse_dates),
        progression_date=_first(by_type[DiseaseEventType.PROGRESSION]),
        death_date=_first(by_type[DiseaseEventType.DEATH]),
        last_known_alive_date=max(alive) if alive else None,
        hsct_date=_first(by_type[DiseaseEventType.HSCT]),
        new_therapy_date=_first(by_type[DiseaseEventType.NEW_THERAPY]),
        mrd_relapse_date=mrd_relapse_date,
    )


def _baseline_used(screening: Decimal | None, rows: list[ResponseRow]) -> Decimal | None:
    """The baseline the response classification used: the screening marrow blasts, else the one
    entered on the subject's first response CRF that has one (``services.response.
    baseline_blasts`` decides the same way), so the blast decline and PR agree."""
    if screening is not None:
        return screening
    return next(
        (r.baseline_bm_blasts_pct for r in rows if r.baseline_bm_blasts_pct is not None), None
    )


def visit_response(row: ResponseAssessment | ResponseRow, day0: date) -> VisitResponse:
    return VisitResponse(
        assessed_on=row.assessment_date,
        study_day=study_day(row.assessment_date, day0),
        month=TIMEPOINT_MONTH.get(row.timepoint),
        category=row.category_of_record,
        computed_category=row.computed_category,
        source=row.source,
        mrd=row.mrd_status or None,
        marrow_blast_pct=row.bm_blasts_pct,
    )


def subject_efficacy(study) -> dict[int, SubjectEfficacy]:
    """{subject pk: SubjectEfficacy} for every infused subject of ``study`` (8 queries).

    One query each: the infused subjects, their response assessments, follow-ups, disease
    events, screening marrow blasts, and safety's peak IL-6 / worst CRS / worst ICANS grade.
    """
    settings = study.rule_settings("efficacy")
    subjects = list(
        Subject.objects.filter(study=study, day0__isnull=False)
        .order_by("pk")
        .values_list("pk", "subject_number", "screening_number", "day0")
    )
    if not subjects:
        return {}
    rows: dict[int, list[ResponseRow]] = defaultdict(list)
    for values in (
        _infused(study)
        .order_by("subject_id", "assessment_date", "pk")
        .values_list(*ResponseRow._fields)
    ):
        row = ResponseRow._make(values)
        rows[row.subject_id].append(row)
    follow_ups: dict[int, list] = defaultdict(list)
    for subject_id, *values in (
        FollowUp.objects.filter(study=study, subject__day0__isnull=False)
        .order_by("contact_date", "pk")
        .values_list("subject_id", "contact_date", "survival_status", "last_known_alive_date")
    ):
        follow_ups[subject_id].append(tuple(values))
    events: dict[int, list] = defaultdict(list)
    for subject_id, kind, when in (
        DiseaseEvent.objects.filter(study=study, subject__day0__isnull=False)
        .order_by("event_date", "pk")
        .values_list("subject_id", "event_type", "event_date")
    ):
        events[subject_id].append((kind, when))
    baseline = dict(
        AmlHistory.objects.filter(study=study, subject__day0__isnull=False).values_list(
            "subject_id", "marrow_blasts_pct"
        )
    )
    safety_inputs = exploratory_inputs(study)
    found: dict[int, SubjectEfficacy] = {}
    for pk, subject_number, screening_number, day0 in subjects:
        mine = rows.get(pk, [])
        exploratory = safety_inputs.get(pk)
        found[pk] = SubjectEfficacy(
            subject_id=pk,
            label=subject_number or screening_number,
            day0=day0,
            course=build_course(day0, mine, follow_ups.get(pk, []), events.get(pk, []), settings),
            responses=tuple(visit_response(r, day0) for r in mine),
            baseline_marrow_blast_pct=_baseline_used(baseline.get(pk), mine),
            peak_il6=exploratory.peak_il6 if exploratory else None,
            max_crs_grade=exploratory.max_crs_grade if exploratory else None,
            max_icans_grade=exploratory.max_icans_grade if exploratory else None,
        )
    return found
