"""Safety reads with a fixed number of queries (DESIGN.md §3): the DLT outcomes the escalation
engine reads, the candidates awaiting adjudication, and a subject's DLT evaluation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from safety.models import DLTAdjudication, DLTEvaluation, DLTStatus
from safety.selectors_labs import blood_counts
from trialsite import clock

__all__ = [
    "DLTOutcome",
    "adjudications",
    "awaiting_adjudication",
    "blood_counts",
    "dlt_outcomes",
    "evaluations",
]


@dataclass(frozen=True)
class DLTOutcome:
    """One subject's DLT result as the dosing engine's ``SubjectOutcome`` takes it.

    dlt: True / False / ``None`` (pending); evaluable: False only when not evaluable (the
    design replaces the subject); status: ``safety.models.DLTStatus``; window_days_left: days
    the window still runs after today (0 once closed).
    """

    dlt: bool | None
    max_related_grade: int
    evaluable: bool
    status: str
    window_days_left: int


def dlt_outcomes(study, *, today: dt.date | None = None) -> dict[int, DLTOutcome]:
    """``{subject_id: DLTOutcome}`` for every subject of the study with a DLT evaluation.

    One query, whatever the number of subjects (the stored evaluations: computed in the saving
    transaction and by the daily beat, so this read is current). Subjects without Day 0 have no
    evaluation and are not in the result.
    """
    today = today or clock.today()
    rows = DLTEvaluation.objects.filter(study=study).values_list(
        "subject_id",
        "dlt",
        "max_related_grade",
        "evaluable",
        "dlt_status",
        "window_start",
        "closes_on_day",
    )
    outcomes = {}
    for subject_id, dlt, grade, evaluable, status, start, closes in rows:
        left = 0
        if status == DLTStatus.OPEN:
            left = max(0, (start + dt.timedelta(days=closes) - today).days)
        outcomes[subject_id] = DLTOutcome(dlt, grade, evaluable, status, left)
    return outcomes


def evaluations(study, *, site_ids: list[int] | None) -> QuerySet[DLTEvaluation]:
    """The study's DLT evaluations, at the given sites (``None`` = every site); one query."""
    rows = DLTEvaluation.objects.filter(study=study).select_related("subject", "subject__site")
    if site_ids is not None:
        rows = rows.filter(subject__site_id__in=site_ids)
    return rows.order_by("subject__site__code", "subject__screening_sequence")


def awaiting_adjudication(study, *, site_ids: list[int] | None) -> list[tuple]:
    """(evaluation, candidate row) for every candidate nobody has adjudicated; one query."""
    rows = evaluations(study, site_ids=site_ids).filter(awaiting_adjudication__gt=0)
    return [
        (evaluation, row)
        for evaluation in rows
        for row in evaluation.candidates
        if row["adjudication_id"] is None and row["is_candidate"] is not False
    ]


def adjudications(subject) -> QuerySet[DLTAdjudication]:
    """The subject's adjudications with their events and signers; one query."""
    return (
        DLTAdjudication.objects.filter(subject=subject)
        .select_related("event", "event__term", "created_by", "updated_by")
        .order_by("event_id")
    )
