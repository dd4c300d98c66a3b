"""One subject's DLT window (Day 0 to Day 28 inclusive) as of a study day: the escalation
engine's input.

Source: ClinicalTrials.gov NCT06880354 primary outcome (DLT, 28 days after CAR-T infusion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from safety.rules._values import _whole
from safety.rules.count_recovery import BloodCount, CountRecoveryAssessment, assess_count_recovery
from safety.rules.dlt_candidate import AdverseEventFacts, DLTAssessment, _is_related, dlt_candidate
from safety.rules.dlt_criteria import DEFAULT_DLT_CRITERIA, DLTCriteria, _coerce_criteria

DLT_WINDOW_STATUSES: tuple[str, ...] = (
    "evaluable_with_dlt",
    "evaluable_without_dlt",
    "not_evaluable",
    "open",
)


@dataclass(frozen=True)
class DLTWindowResult:
    """DLT-window result for one subject.

    status: "evaluable_with_dlt" | "evaluable_without_dlt" | "not_evaluable" (left before the
        window ended without a DLT) | "open" (window still running, or an event still needs
        data before the subject can be called DLT-free).
    dlt: True / False / ``None`` (pending). evaluable: False only for "not_evaluable".
    max_related_grade: worst product-related grade with onset inside the window, over
        ``criteria.related_grade_categories`` (the ATD trigger input); 0 if none.
    max_unassessed_grade: worst grade inside the window whose relatedness is not yet assessed
        (0 if none) - the ATD decision should wait while it could change the trigger.
    dlt_events: events that are DLT candidates. pending_events: events still undecided.
    count_recovery: the hematologic assessment (``None`` if the criteria have no such rule).
    assessments: (event, assessment) for every event with onset inside the window.
    first_dlt_day: earliest onset day of a DLT (the recovery day for a hematologic DLT).
    window_end_day: last day of the DLT window; closes_on_day: day after which the evaluation
        can be final (the later of the window end and the recovery day).
    reasons: sentences for the investigator.
    """

    status: str
    dlt: bool | None
    evaluable: bool
    max_related_grade: int
    max_unassessed_grade: int
    dlt_events: tuple[AdverseEventFacts, ...]
    pending_events: tuple[AdverseEventFacts, ...]
    count_recovery: CountRecoveryAssessment | None
    assessments: tuple[tuple[AdverseEventFacts, DLTAssessment], ...]
    first_dlt_day: int | None
    window_end_day: int
    closes_on_day: int
    reasons: tuple[str, ...]

    def outcome_fields(self) -> dict[str, object]:
        """``dlt``, ``max_related_grade`` and ``evaluable`` as the dosing engine's
        ``SubjectOutcome(dose_level, dlt, max_related_grade, evaluable)`` expects them."""
        return {
            "dlt": self.dlt,
            "max_related_grade": self.max_related_grade,
            "evaluable": self.evaluable,
        }


def _verdicts(adjudications: Mapping[str | int, bool] | None) -> dict:
    if adjudications is None:
        return {}
    if not isinstance(adjudications, Mapping):
        raise ValueError("adjudications must map event_id to True (a DLT) or False (not a DLT)")
    for event_id, verdict in adjudications.items():
        if not isinstance(verdict, bool):
            raise ValueError(
                f"adjudications must map event_id to True or False; got {verdict!r} for "
                f"{event_id!r}"
            )
    return dict(adjudications)


def _adjudicated(assessment: DLTAssessment, is_dlt: bool) -> DLTAssessment:
    """The investigator's verdict on one event, with the rule's reasons kept beside it."""
    if is_dlt:
        return DLTAssessment(
            True,
            "adjudicated_dlt",
            (*assessment.reasons, "The investigator adjudicated this event a DLT."),
        )
    return DLTAssessment(
        False,
        "adjudicated_not_dlt",
        (*assessment.reasons, "The investigator adjudicated this event not a DLT."),
    )


def evaluate_dlt_window(
    *,
    events: Iterable[AdverseEventFacts],
    as_of_day: int,
    left_study_day: int | None = None,
    count_recovery: Iterable[BloodCount] | None = None,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
    dlt_window_days: int = 28,
    adjudications: Mapping[str | int, bool] | None = None,
) -> DLTWindowResult:
    """Evaluate one subject's DLT window as of a study day.

    Why: the escalation engine needs, per subject, DLT yes/no/pending, evaluability and the
    worst related grade (RULES.md §4.1-§4.2; DESIGN.md §2: safety owns DLT adjudication).
    Source: registry primary outcome "DLT, 28 days after CAR-T infusion"; the window is Day 0 to
    Day ``dlt_window_days`` inclusive ([SETTING] ``dlt_window_days`` = 28): an event with onset
    on Day 28 counts, Day 29 does not, and events before Day 0 (lymphodepletion) do not.

    Rules: a DLT at any time in the window makes the subject evaluable with DLT at once. Without
    one, the subject is "not_evaluable" if they left the study (``left_study_day``) before the
    window closed, "open" while the window runs or an event's DLT status is undecided, else
    "evaluable_without_dlt". The window closes at the end of the later of Day
    ``dlt_window_days`` and the count-recovery day. ``as_of_day`` is today's study day, whose
    data may still be incomplete, so a subject is DLT-free at the earliest on the next day (Day
    28 open, Day 29 complete); a subject who left on or after the closing day completed it.
    For an event with unknown resolution, the hours observed are counted conservatively in
    whole days: (observation end - day grade 3 was reached - 1) x 24, where observation ends at
    ``as_of_day`` or at ``left_study_day`` and the grade-3 day is ``grade_3_study_day`` (the
    onset day when it is not recorded, which can call a DLT early for an event that started
    mild: record it), so a DLT is never declared before the allowed hours have certainly passed.

    ``events``: every adverse event of the subject (filtered here); ``count_recovery``: the
    subject's blood counts (``BloodCount``); ``criteria``: ``DLTCriteria`` or its stored dict.

    ``adjudications``: the investigator's verdict per ``event_id`` (True = a DLT, False = not a
    DLT). The computed answer is a candidate that the investigator confirms (``dlt_candidate``);
    the verdict replaces the candidate's ``is_candidate`` for that event (code
    ``adjudicated_dlt`` / ``adjudicated_not_dlt``, the rule's reasons kept and the verdict
    added), so "not a DLT" clears a candidate and "DLT" confirms it (or decides a pending one).
    It changes no grade: ``max_related_grade`` follows relatedness, not the verdict.
    """
    criteria = _coerce_criteria(criteria)
    window_end = _whole(dlt_window_days, "dlt_window_days", low=1)
    as_of = _whole(as_of_day, "as_of_day", low=0)
    left = _whole(left_study_day, "left_study_day", low=0, allow_none=True)
    if left is not None and left > as_of:
        raise ValueError(f"left_study_day ({left}) must not be after as_of_day ({as_of})")
    all_events = []
    for event in events:
        if not isinstance(event, AdverseEventFacts):
            raise ValueError(f"events must be AdverseEventFacts; got {type(event).__name__}")
        if event.onset_study_day > as_of:
            raise ValueError(
                f"events has an onset on study day {event.onset_study_day}, after as_of_day {as_of}"
            )
        if event.grade_3_study_day is not None and event.grade_3_study_day > as_of:
            raise ValueError(
                f"events has grade_3_study_day {event.grade_3_study_day}, after as_of_day {as_of}"
            )
        all_events.append(event)
    inside = [e for e in all_events if 0 <= e.onset_study_day <= window_end]
    observation_end = as_of if left is None else min(as_of, left)
    verdicts = _verdicts(adjudications)

    assessments = []
    for event in inside:
        start = event.onset_study_day
        if event.grade_3_study_day is not None:
            start = event.grade_3_study_day
        hours = Decimal(max(0, observation_end - start - 1) * 24)
        assessment = dlt_candidate(event, criteria, hours_observed=hours)
        if event.event_id is not None and event.event_id in verdicts:
            assessment = _adjudicated(assessment, verdicts[event.event_id])
        assessments.append((event, assessment))
    dlt_events = tuple(e for e, a in assessments if a.is_candidate is True)
    pending = tuple(e for e, a in assessments if a.is_candidate is None)

    recovery = None
    hematologic_dlt: bool | None = False
    recovery_day = criteria.hematologic_recovery_day
    if recovery_day is not None:
        recovery = assess_count_recovery(
            count_recovery, as_of_day=as_of, left_study_day=left, criteria=criteria
        )
        hematologic_dlt = recovery.hematologic_dlt
    closes = max(window_end, recovery_day or 0)

    related = [
        e
        for e in inside
        if e.category in criteria.related_grade_categories and _is_related(e, criteria)
    ]
    unassessed = [
        e
        for e in inside
        if e.category in criteria.related_grade_categories and _is_related(e, criteria) is None
    ]
    max_related = max((e.grade for e in related), default=0)
    max_unassessed = max((e.grade for e in unassessed), default=0)

    dlt_days = [e.onset_study_day for e in dlt_events]
    if hematologic_dlt:
        dlt_days.append(recovery_day)
    reasons: list[str] = []
    for _event, assessment in assessments:
        if assessment.is_candidate is True:
            reasons.extend(assessment.reasons)
    if hematologic_dlt and recovery is not None:
        reasons.extend(recovery.reasons)

    if dlt_days:
        status, dlt = "evaluable_with_dlt", True
    elif pending:
        status, dlt = "open", None
        for _event, assessment in assessments:
            if assessment.is_candidate is None:
                reasons.extend(assessment.reasons)
    elif left is not None and left < closes:
        status, dlt = "not_evaluable", False
        reasons.append(
            f"Left the study on Day {left}, before the DLT window closed (Day {closes}), "
            f"without a DLT: not evaluable (replace if the design says so)."
        )
    elif left is None and as_of <= closes:
        status, dlt = "open", None
        reasons.append(f"DLT window open through Day {closes}; no DLT so far (today Day {as_of}).")
    elif hematologic_dlt is None:
        status, dlt = "open", None
        reasons.extend(recovery.reasons if recovery is not None else ())
    else:
        status, dlt = "evaluable_without_dlt", False
        reasons.append(f"DLT window completed (Day 0 to Day {closes}) without a DLT.")
    return DLTWindowResult(
        status=status,
        dlt=dlt,
        evaluable=status != "not_evaluable",
        max_related_grade=max_related,
        max_unassessed_grade=max_unassessed,
        dlt_events=dlt_events,
        pending_events=pending,
        count_recovery=recovery,
        assessments=tuple(assessments),
        first_dlt_day=min(dlt_days) if dlt_days else None,
        window_end_day=window_end,
        closes_on_day=closes,
        reasons=tuple(reasons),
    )
