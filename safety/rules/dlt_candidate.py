"""Is one adverse event a DLT candidate under the study's criteria?

Source: the study's ``DLTCriteria``; the investigator confirms every candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rulekit.validation import choice
from safety.rules._values import _decimal, _fmt, _whole
from safety.rules.dlt_criteria import (
    _CATEGORY_LABEL,
    AE_CATEGORIES,
    DEFAULT_DLT_CRITERIA,
    RELATEDNESS_CATEGORIES,
    DLTCriteria,
    _coerce_criteria,
)


@dataclass(frozen=True, kw_only=True)
class AdverseEventFacts:
    """The facts about one adverse event that the DLT rule needs.

    term: CTCAE term (or "Cytokine release syndrome" / "ICANS").
    category: "crs" | "icans" | "hematologic" (cytopenias: neutrophil, platelet, WBC or
        lymphocyte count decreased, anemia) | "non_hematologic" (everything else, including
        febrile neutropenia, infections and bleeding).
    grade: worst grade, 1-5 (CTCAE v5.0, or ASTCT 2019 for CRS/ICANS).
    relatedness: investigator's assessment of relation to the CAR-T product, one of
        ``RELATEDNESS_CATEGORIES``; ``None`` = not yet assessed.
    onset_study_day: day the event began (Day 0 = infusion; may be negative before infusion).
    grade_3_study_day: day the event first reached grade >= 3 (``None`` = not recorded: the
        onset day is used). An event often starts mild (CRS grade 1 on Day 2, grade 3 on Day
        6), and the resolve-within-hours rule runs from grade 3, not from onset.
    hours_to_grade_2_or_less: hours from reaching grade >= 3 until back to grade <= 2;
        ``None`` = not yet resolved, or not known.
    fatal: the event caused death. ``None`` (default) derives it from grade 5; it must agree
        with the grade.
    event_id: the AE record's identifier, carried through to results.
    """

    term: str
    category: str
    grade: int
    relatedness: str | None = None
    onset_study_day: int = 0
    grade_3_study_day: int | None = None
    hours_to_grade_2_or_less: int | float | Decimal | None = None
    fatal: bool | None = None
    event_id: str | int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.term, str) or not self.term.strip():
            raise ValueError(f"term must be a non-empty CTCAE term text; got {self.term!r}")
        object.__setattr__(
            self, "category", choice(self.category, "category", AE_CATEGORIES, normalize=True)
        )
        object.__setattr__(self, "grade", _whole(self.grade, "grade", low=1, high=5))
        if self.relatedness is not None:
            object.__setattr__(
                self,
                "relatedness",
                choice(self.relatedness, "relatedness", RELATEDNESS_CATEGORIES, normalize=True),
            )
        object.__setattr__(self, "onset_study_day", _whole(self.onset_study_day, "onset_study_day"))
        severe_day = _whole(self.grade_3_study_day, "grade_3_study_day", allow_none=True)
        if severe_day is not None and (severe_day < self.onset_study_day or self.grade < 3):
            raise ValueError(
                f"grade_3_study_day must be on or after onset_study_day ({self.onset_study_day}) "
                f"and needs grade >= 3; got {self.grade_3_study_day!r} with grade {self.grade}"
            )
        object.__setattr__(self, "grade_3_study_day", severe_day)
        _decimal(
            self.hours_to_grade_2_or_less, "hours_to_grade_2_or_less", minimum=0, allow_none=True
        )
        if self.fatal is None:
            object.__setattr__(self, "fatal", self.grade == 5)
        elif not isinstance(self.fatal, bool) or self.fatal != (self.grade == 5):
            raise ValueError(
                f"fatal must agree with grade (grade 5 = death related to the event); got "
                f"fatal={self.fatal!r} with grade {self.grade}"
            )


@dataclass(frozen=True)
class DLTAssessment:
    """Whether one event is a DLT candidate.

    is_candidate: True / False / ``None`` (data needed is missing: resolution unknown and the
    allowed hours not yet elapsed, or relatedness not assessed). code: machine-readable reason
    ("fatal", "crs_grade", "icans_grade", "non_hematologic_grade", "hematologic_grade",
    "unresolved", "resolved_in_time", "resolution_pending", "exempt_term", "exempt_electrolyte",
    "hematologic_expected", "below_threshold", "not_related", "relatedness_pending"; and, from
    ``evaluate_dlt_window`` with the investigator's verdict, "adjudicated_dlt",
    "adjudicated_not_dlt").
    reasons: sentences an investigator reads. The investigator confirms every candidate.
    """

    is_candidate: bool | None
    code: str
    reasons: tuple[str, ...]


def _is_related(event: AdverseEventFacts, criteria: DLTCriteria) -> bool | None:
    if event.relatedness is None:
        if event.category in ("crs", "icans") and criteria.crs_icans_presumed_related:
            return True
        return None
    return event.relatedness in criteria.related_categories


def _clinical_verdict(
    event: AdverseEventFacts, criteria: DLTCriteria, hours_observed: Decimal | None
) -> tuple[bool | None, str, str]:
    grade, term = event.grade, event.term
    label = _CATEGORY_LABEL[event.category]
    if grade == 5 and criteria.grade5_is_dlt:
        return True, "fatal", f"{term} was fatal (grade 5): any related death is a DLT."
    exempt = criteria.exempt_grade(term)
    if exempt is not None and grade <= exempt:
        return (
            False,
            "exempt_term",
            f"{term} grade {grade} is an expected CAR-T event (exempt up to grade {exempt}) "
            f"and is not a DLT.",
        )
    if event.category == "non_hematologic" and grade == 3 and criteria.is_electrolyte(term):
        limit = _decimal(criteria.electrolyte_correction_hours, "electrolyte_correction_hours")
        corrected = _decimal(
            event.hours_to_grade_2_or_less, "hours_to_grade_2_or_less", allow_none=True
        )
        if corrected is not None and corrected <= limit:
            return (
                False,
                "exempt_electrolyte",
                f"{term} grade 3 was corrected to grade <= 2 in {_fmt(corrected)} h, within "
                f"{_fmt(limit)} h: an electrolyte abnormality corrected in time is not a DLT.",
            )
    if event.category == "hematologic":
        threshold = criteria.hematologic_event_dlt_grade
        if threshold is not None and grade >= threshold:
            return (
                True,
                "hematologic_grade",
                f"{term} grade {grade} reaches the hematologic DLT grade ({threshold}).",
            )
        return (
            False,
            "hematologic_expected",
            f"{term} grade {grade}: cytopenia is expected after lymphodepletion and CAR-T; a "
            f"hematologic DLT is failure of count recovery, assessed from the blood counts.",
        )
    outright, unresolved, hours = criteria.category_rule(event.category)
    if outright is not None and grade >= outright:
        return (
            True,
            f"{event.category}_grade",
            f"{label} event {term} grade {grade} meets the DLT grade (>= {outright}).",
        )
    if unresolved is not None and grade >= unresolved:
        allowed = _fmt(hours)
        resolved = _decimal(event.hours_to_grade_2_or_less, "hours_to_grade_2_or_less",
                            allow_none=True)  # fmt: skip
        if resolved is not None:
            if resolved <= hours:
                return (
                    False,
                    "resolved_in_time",
                    f"{term} grade {grade} resolved to grade <= 2 in {_fmt(resolved)} h, within "
                    f"the {allowed} h allowed: not a DLT.",
                )
            return (
                True,
                "unresolved",
                f"{term} grade {grade} took {_fmt(resolved)} h to resolve to grade <= 2, more "
                f"than the {allowed} h allowed: DLT.",
            )
        if hours_observed is not None and hours_observed > hours:
            return (
                True,
                "unresolved",
                f"{term} grade {grade} has not resolved to grade <= 2 after "
                f"{_fmt(hours_observed)} h of observation, more than the {allowed} h allowed: "
                f"DLT.",
            )
        return (
            None,
            "resolution_pending",
            f"{term} grade {grade} is a DLT only if it does not resolve to grade <= 2 within "
            f"{allowed} h; resolution is not yet known.",
        )
    thresholds = [g for g in (outright, unresolved) if g is not None]
    if thresholds:
        text = f"below the {label} DLT grade (>= {min(thresholds)})"
    else:
        text = f"{label} events are not DLTs under the study's criteria"
    return False, "below_threshold", f"{term} grade {grade}: {text}."


def dlt_candidate(
    event: AdverseEventFacts,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
    *,
    hours_observed: float | None = None,
) -> DLTAssessment:
    """Is this adverse event a DLT candidate under the study's DLT criteria?

    Why: DLTs inside the 28-day window decide dose escalation (RULES.md §4.1); the computed
    answer is a candidate that the investigator confirms. Source: the study's ``DLTCriteria``
    (protocol-defined; the default is described on ``DLTCriteria``), with CRS/ICANS graded by
    ASTCT 2019 and other events by CTCAE v5.0.

    Order: (1) is the event severe enough (grade 5; exempt terms; hematologic events; the
    category's DLT grade; the resolve-within-hours rule)? (2) is it related to the product?
    An event that fails (1) is not a candidate whatever its relatedness; one that passes (1)
    is not a candidate if assessed as not related, and is undecided (``None``) while
    relatedness is unassessed.

    ``hours_observed``: hours the event has been followed since reaching grade >= 3 without
    resolving; used only when ``event.hours_to_grade_2_or_less`` is ``None``. Unresolved after
    more than the allowed hours -> candidate; otherwise ``None`` (pending).
    ``criteria`` may be a ``DLTCriteria`` or its stored dict.
    """
    criteria = _coerce_criteria(criteria)
    if not isinstance(event, AdverseEventFacts):
        raise ValueError(f"event must be an AdverseEventFacts; got {type(event).__name__}")
    observed = _decimal(hours_observed, "hours_observed", minimum=0, allow_none=True)
    verdict, code, reason = _clinical_verdict(event, criteria, observed)
    if verdict is False:
        return DLTAssessment(False, code, (reason,))
    related = _is_related(event, criteria)
    if related is False:
        return DLTAssessment(
            False,
            "not_related",
            (
                reason,
                f"Relatedness was assessed as '{event.relatedness}'; the study counts only "
                f"{', '.join(criteria.related_categories)} as related: not a DLT.",
            ),
        )
    if related is None:
        return DLTAssessment(
            None,
            "relatedness_pending",
            (reason, "Relatedness to the CAR-T product has not been assessed yet."),
        )
    return DLTAssessment(verdict, code, (reason,))
