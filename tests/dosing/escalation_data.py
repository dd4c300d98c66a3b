"""Escalation histories written into the database, for the hook tests (CASES.md §G–H).

``seed_history(site, coordinator, "1NNN 2NNT")`` registers one subject per letter through the
enrollment service, records their cohort assignment and their stored DLT evaluation through the
records core (``create_record``: audited, versioned, bumping the data version) in enrollment
order. It bypasses the assignment gate and the AE pages on purpose: these tests check that the
hook reads what is stored and stores the engine's answer; the gate and the DLT pipeline have
their own tests (tests/dosing/test_escalation_gate.py, tests/safety/test_dlt_services.py).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from dosing import services
from dosing.models import CohortAssignment, DoseLevel
from dosing.rules import SubjectOutcome, parse_outcomes
from enrollment import services as enrollment
from safety.models import DLTEvaluation, DLTStatus
from trialsite.records import services as records
from trialsite.records.models import RecordStatus

START = dt.date(2026, 1, 5)


def _status(outcome: SubjectOutcome) -> str:
    return {
        "dlt": DLTStatus.WITH_DLT,
        "no_dlt": DLTStatus.WITHOUT_DLT,
        "pending": DLTStatus.OPEN,
        "not_evaluable": DLTStatus.NOT_EVALUABLE,
    }[outcome.status]


def seed_history(site, coordinator, history, *, start: dt.date = START, per_day: int = 1) -> list:
    """One subject per outcome (a shorthand string or ``SubjectOutcome`` list); the subjects.

    Day 0 every other day, ``per_day`` subjects on each (the benchmark packs thousands).
    """
    outcomes = parse_outcomes(history) if isinstance(history, str) else list(history)
    study = site.study
    services.dose_levels(study)
    levels = {lv.level: lv for lv in DoseLevel.objects.filter(study=study)}
    subjects = []
    for index, outcome in enumerate(outcomes):
        day0 = start + dt.timedelta(days=2 * (index // per_day))
        subject = enrollment.register_subject(
            actor=coordinator,
            site=site,
            initials="ESC",
            sex="F" if index % 2 else "M",
            birth_date=dt.date(1970, 1, 1),
            screening_date=day0 - dt.timedelta(days=30),
        )
        records.create_record(
            CohortAssignment,
            actor=coordinator,
            study=study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": subject,
                "visit": None,
                "dose_level": levels[outcome.dose_level],
                "phase": "3+3",
                "cohort_number": 1,
                "assigned_at": timezone.make_aware(
                    dt.datetime.combine(day0 - dt.timedelta(days=20), dt.time(9, index % 60))
                ),
                "assigned_by": coordinator,
            },
        )
        records.create_record(
            DLTEvaluation,
            actor=coordinator,
            study=study,
            status=RecordStatus.SUBMITTED,
            values={
                "subject": subject,
                "visit": None,
                "dlt_status": _status(outcome),
                "dlt": outcome.dlt,
                "evaluable": outcome.evaluable,
                "max_related_grade": outcome.max_related_grade,
                "window_start": day0,
                "window_end_day": 28,
                "closes_on_day": 28,
                "as_of_day": 28,
                "as_of_date": day0 + dt.timedelta(days=28),
            },
        )
        subjects.append(subject)
    return subjects
