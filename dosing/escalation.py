"""The live escalation state: the engine's inputs read from the data, and the stored answer.

``escalation_inputs(study)`` is the selector (DESIGN.md §3): the active cohort assignments in
enrollment order, each subject's infusion and DLT outcome, in three queries whatever the number
of subjects — the assignments with their subjects and levels, the infusion dates, and
``safety.selectors.dlt_outcomes`` (the stored DLT evaluations, one query), read as plain values
(no model instances). ``compute_state`` runs ``dosing.rules.escalation_history`` on them — the
recommendation and each step's decision from one linear replay (the engine is the only place the
escalation rules live, RULES.md §4; issue 12 "Speed": 4,000 subjects well under 0.5 s, figures
in docs/architecture.md §8b) — and ``store_state`` stores the result as the study's
``EscalationState`` through ``store_snapshot``, so a run on older data never replaces a newer
one. The ``escalation`` recompute hook (``dosing.recompute_hooks``) calls the two.

Mapping (docs/rules/escalation.md "From the data to the engine"): an assigned subject without a
stored DLT evaluation (not yet infused, or infused with no adverse event yet) is *pending*
(``dlt=None``): they hold their place in the cohort, and the engine waits for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.utils import timezone

from dosing import rules
from dosing.design import study_design
from dosing.models import CohortAssignment, EscalationState, Infusion
from safety import selectors as safety_selectors
from trialsite import clock
from trialsite.records.snapshots import store_snapshot

DEFAULT_DLT_WINDOW_DAYS = 28
#: The columns the selector reads, as plain values (the hook must stay fast at thousands of
#: subjects: no model instances, ``str(subject)`` is ``Subject.__str__`` on two of them).
INPUT_COLUMNS = (
    "subject_id",
    "subject__subject_number",
    "subject__screening_number",
    "subject__site_id",
    "subject__day0",
    "dose_level__level",
    "phase",
    "cohort_number",
    "assigned_at",
)


@dataclass(frozen=True)
class SubjectRow:
    """One assigned subject as the dashboard and the engine see them."""

    subject_id: int
    subject: str
    site_id: int
    dose_level: int
    phase: str
    cohort: int
    assigned_on: str
    infused_on: str | None
    status: str  # dlt | no_dlt | pending | not_evaluable (SubjectOutcome.status)
    days_left: int | None  # days the DLT window still runs (None: not infused)
    outcome: rules.SubjectOutcome


def _window_days(study) -> int:
    safety = (study.settings or {}).get("safety") or {}
    return int(safety.get("dlt_window_days", DEFAULT_DLT_WINDOW_DAYS))


def escalation_inputs(study, *, today: dt.date | None = None) -> list[SubjectRow]:
    """Every actively assigned subject, in enrollment order, with their outcome; 3 queries."""
    today = today or clock.today()
    assignments = list(
        CohortAssignment.objects.filter(study=study, is_active=True)
        .order_by("assigned_at", "pk")
        .values_list(*INPUT_COLUMNS)
    )
    infused = dict(Infusion.objects.filter(study=study).values_list("subject_id", "infusion_start"))
    dlt = safety_selectors.dlt_outcomes(study, today=today)
    window = dt.timedelta(days=_window_days(study))
    # Equal outcomes are one shared object (SubjectOutcome is frozen): thousands of subjects
    # take a handful of distinct values, each built and checked once.
    made: dict[tuple, rules.SubjectOutcome] = {}
    localdate = timezone.localdate
    rows = []
    for (
        subject_id,
        subject_number,
        screening_number,
        site_id,
        day0,
        level,
        phase,
        cohort,
        assigned_at,
    ) in assignments:
        found = dlt.get(subject_id)
        if found is not None:
            key = (
                level,
                found.dlt,
                int(found.max_related_grade or 0),
                bool(found.evaluable) or found.dlt is True,
            )
            days_left = found.window_days_left if found.dlt is None else 0
        else:
            key = (level, None, 0, True)
            days_left = None
            if day0 is not None:
                days_left = max(0, (day0 + window - today).days)
        outcome = made.get(key)
        if outcome is None:
            outcome = made[key] = rules.SubjectOutcome(*key)
        start = infused.get(subject_id)
        rows.append(
            SubjectRow(
                subject_id=subject_id,
                subject=subject_number or screening_number,  # Subject.__str__
                site_id=site_id,
                dose_level=level,
                phase=phase,
                cohort=cohort,
                assigned_on=localdate(assigned_at).isoformat(),
                infused_on=localdate(start).isoformat() if start else None,
                status=outcome.status,
                days_left=days_left if start or day0 else None,
                outcome=outcome,
            )
        )
    return rows


def _dl(level: int | None) -> str:
    if level is None:
        return "no level"
    return "DL-1" if level == 0 else f"DL{level}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def sentence(rec: rules.Recommendation, current_level: int | None) -> str:
    """The recommendation in one sentence, e.g. "DL2: 1 DLT in 3 evaluable subjects — enroll 3
    more at DL2" (issue 12, "What a user does")."""
    if rec.action == "enroll":
        verb = "more at" if current_level == rec.dose_level else "at"
        todo = f"enroll {rec.open_slots} {verb} {_dl(rec.dose_level)}"
    elif rec.action == "wait":
        todo = f"wait for the DLT window at {_dl(rec.dose_level)}"
    elif rec.mtd is not None:
        todo = f"stop: the MTD is {_dl(rec.mtd)}"
    elif rec.dose_level is not None:
        todo = f"stop: {_dl(rec.dose_level)}, the highest dose, is tolerated"
    else:
        todo = "stop: no tolerable dose"
    if current_level is None:
        return f"No subject yet — {todo}"
    tally = next((t for t in rec.levels if t.dose_level == current_level), None)
    dlts, evaluable = (tally.dlts, tally.evaluable) if tally else (0, 0)
    counts = f"{_plural(dlts, 'DLT')} in {evaluable} evaluable"
    counts += " subject" if evaluable == 1 else " subjects"
    return f"{_dl(current_level)}: {counts} — {todo}"


def _subject_dict(row: SubjectRow) -> dict:
    return {
        "subject_id": row.subject_id,
        "subject": row.subject,
        "site_id": row.site_id,
        "dose_level": row.dose_level,
        "phase": row.phase,
        "cohort": row.cohort,
        "assigned_on": row.assigned_on,
        "infused_on": row.infused_on,
        "status": row.status,
        "days_left": row.days_left,
        "letter": rules.outcome_letter(row.outcome),
    }


def _rec_dict(rec: rules.Recommendation) -> dict:
    return {
        "action": rec.action,
        "dose_level": rec.dose_level,
        "mtd": rec.mtd,
        "phase": rec.phase,
        "open_slots": rec.open_slots,
        "code": rec.code,
        "reason": rec.reason,
    }


def compute_state(study, rows: list[SubjectRow]) -> dict:
    """The values of the study's ``EscalationState`` from the selector's rows (no query)."""
    design = study_design(study)
    if design.design is None:
        return {"error": design.error or "The escalation design is not configured."}
    outcomes = [row.outcome for row in rows]
    # One replay gives recommend(all subjects) and each step's decision (escalation_history);
    # the trace stores only the decisions, not escalation_trace's per-step tallies and running
    # lists of deviations (quadratic in an off-protocol history).
    rec, steps = rules.escalation_history(design.design, outcomes, strict=False)
    current = rows[-1].dose_level if rows else None
    return {
        "action": rec.action,
        "dose_level": rec.dose_level,
        "mtd": rec.mtd,
        "phase": rec.phase,
        "open_slots": rec.open_slots,
        "code": rec.code,
        "reason": rec.reason,
        "sentence": sentence(rec, current),
        "current_level": current,
        "outcomes": rules.format_outcomes(outcomes),
        "levels": [asdict(t) for t in rec.levels],
        "trace": [
            {
                "number": step.subject,  # the position, never the subject ID (sponsors read it)
                "dose_level": step.dose_level,
                "letter": step.letter,
                "deviation": step.deviation,
                **_rec_dict(step.recommendation),
            }
            for step in steps
        ],
        "subjects": [_subject_dict(row) for row in rows],
        "deviations": list(rec.deviations),
        "error": "",
    }


def store_state(study, data_version: int, values: dict) -> bool:
    """Store the state unless one from the same or newer data is stored (``store_snapshot``)."""
    if values.get("error"):
        values = {
            "action": "",
            "phase": "",
            "code": "",
            "reason": "",
            "sentence": values["error"],
            **values,
        }
    return store_snapshot(
        EscalationState, key={"study": study}, data_version=data_version, values=values
    )


def recompute(study, data_version: int) -> dict:
    """Read, compute and store; the summary the recompute run records."""
    values = compute_state(study, escalation_inputs(study))
    stored = store_state(study, data_version, values)
    return {"stored": stored, "sentence": values.get("sentence") or values.get("error")}


def current_state(study) -> EscalationState | None:
    return EscalationState.objects.filter(study=study).first()
