"""Invariants of the escalation engine (dosing.rules), by enumeration and with hypothesis.

RULES.md §4.1: the number of complete 3+3 trial paths is 10, 46, 154, 442, 1 162 for 1-5 dose
levels (dcnorris/precautionary three3.pl); CASES.md G: 7, 34, 118, 346, 922 with the top-dose
stop. Safety invariants: never escalate to or above a level with >= 2 DLTs, never declare an MTD
with fewer than 6 evaluable subjects, at most one cohort of places open.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import permutations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosing.rules import (
    CODES_BY_ACTION,
    EscalationDesign,
    Recommendation,
    SubjectOutcome,
    escalation_trace,
    format_outcomes,
    recommend,
)


def dlts_at(outcomes: list[SubjectOutcome], level: int) -> int:
    return sum(o.dose_level == level and o.dlt is True for o in outcomes)


def evaluable_at(outcomes: list[SubjectOutcome], level: int) -> int:
    return sum(o.dose_level == level and o.status in ("dlt", "no_dlt") for o in outcomes)


def assert_valid(design: EscalationDesign, r: Recommendation) -> None:
    """Every recommendation is a consistent action/code/level/slots combination."""
    assert r.action in CODES_BY_ACTION and r.code in CODES_BY_ACTION[r.action]
    assert 0 <= r.open_slots <= design.cohort_size
    assert r.phase in ("ATD", "3+3")
    assert r.reason and not r.reason[0].islower() and r.reason.endswith(".")
    if r.action == "enroll":
        assert r.open_slots >= 1 and r.mtd is None
        assert design.lowest_level <= r.dose_level <= design.num_levels
        if r.phase == "ATD":
            assert r.code == "atd_escalate" and r.open_slots == 1
            assert r.dose_level <= design.atd_levels
    elif r.action == "wait":
        assert r.open_slots == 0 and r.mtd is None and r.dose_level is not None
    else:
        assert r.open_slots == 0 and r.phase == "3+3"
        if r.code == "mtd_declared":
            assert r.mtd == r.dose_level is not None
        elif r.code == "top_dose_tolerated":
            assert r.mtd is None and r.dose_level == design.num_levels
        else:
            assert r.mtd is None and r.dose_level is None
    if r.phase == "ATD":
        assert design.atd_levels >= 1 and r.code in ("atd_escalate", "await_dlt_window")


def assert_safe(
    design: EscalationDesign, outcomes: list[SubjectOutcome], r: Recommendation
) -> None:
    """No enrolment at or above a level that has shown too many DLTs (RULES.md §4.1)."""
    if r.action == "enroll":
        for level in range(design.lowest_level, r.dose_level + 1):
            assert dlts_at(outcomes, level) <= design.mtd_max_dlt_of_6, (level, r)
    if r.action == "stop" and r.code == "no_tolerable_dose":
        assert dlts_at(outcomes, design.lowest_level) >= 2


def assert_safe_when_followed(
    design: EscalationDesign, outcomes: list[SubjectOutcome], r: Recommendation
) -> None:
    """In a trial run as recommended: the levels below have <= 1 DLT and none is pending."""
    if r.action == "enroll":
        for o in outcomes:
            if o.dose_level < r.dose_level:
                assert o.status != "pending", (format_outcomes(outcomes), r)
        for level in range(design.lowest_level, r.dose_level):
            assert dlts_at(outcomes, level) <= 1, (format_outcomes(outcomes), r)


def assert_six_at_the_mtd(
    design: EscalationDesign, outcomes: list[SubjectOutcome], r: Recommendation
) -> None:
    """Korn 1994: the MTD (and the tolerated top dose) has 6 evaluable subjects.

    Not under the settings that deliberately stop with 3 (``deescalate_to_six=False``,
    ``six_at_top=False``) or count non-evaluable subjects (``replace_non_evaluable=False``).
    """
    if not design.replace_non_evaluable:
        return
    if r.code == "mtd_declared" and design.deescalate_to_six:
        assert evaluable_at(outcomes, r.mtd) >= 6
        assert dlts_at(outcomes, r.mtd) <= design.mtd_max_dlt_of_6
        above = r.mtd + 1
        if dlts_at(outcomes, r.mtd) < 2:  # otherwise the 2/6 variant stops at the MTD itself
            assert above <= design.num_levels and dlts_at(outcomes, above) >= 2
    if r.code == "top_dose_tolerated" and design.six_at_top:
        assert evaluable_at(outcomes, design.num_levels) >= 6
        assert dlts_at(outcomes, design.num_levels) <= 1


def cohort(level: int, dlts: int) -> list[SubjectOutcome]:
    return [SubjectOutcome(level, dlt=i < dlts) for i in range(3)]


def complete_paths(design: EscalationDesign) -> Iterator[list[SubjectOutcome]]:
    """Every complete trial: one cohort of 3 with 0-3 DLTs per enrol step, until "stop"."""

    def walk(outcomes: list[SubjectOutcome]) -> Iterator[list[SubjectOutcome]]:
        r = recommend(design, outcomes)
        assert_valid(design, r)
        assert_safe(design, outcomes, r)
        assert_safe_when_followed(design, outcomes, r)
        assert_six_at_the_mtd(design, outcomes, r)
        if r.action == "stop":
            yield outcomes
            return
        assert (r.action, r.open_slots) == ("enroll", 3), format_outcomes(outcomes)
        for dlts in range(4):
            yield from walk(outcomes + cohort(r.dose_level, dlts))

    yield from walk([])


@pytest.mark.parametrize(
    ("levels", "paths"), [(1, 10), (2, 46), (3, 154), (4, 442), (5, 1162)], ids=lambda v: str(v)
)
def test_it_has_the_korn_number_of_complete_trials(levels: int, paths: int) -> None:
    assert sum(1 for _ in complete_paths(EscalationDesign(num_levels=levels))) == paths


@pytest.mark.parametrize(
    ("levels", "paths"), [(1, 7), (2, 34), (3, 118), (4, 346), (5, 922)], ids=lambda v: str(v)
)
def test_it_has_fewer_trials_with_the_top_dose_stop(levels: int, paths: int) -> None:
    design = EscalationDesign(num_levels=levels, six_at_top=False)
    assert sum(1 for _ in complete_paths(design)) == paths


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_it_keeps_six_at_the_mtd_with_the_two_of_six_variant(levels: int) -> None:
    design = EscalationDesign(num_levels=levels, mtd_max_dlt_of_6=2)
    two_of_six = 0
    for path in complete_paths(design):  # checks six at the MTD at every step
        r = recommend(design, path)
        two_of_six += r.code == "mtd_declared" and dlts_at(path, r.mtd) == 2
    assert two_of_six > 0


def test_it_decides_the_same_whatever_the_order_within_a_cohort() -> None:
    design = EscalationDesign(num_levels=4)
    checked = 0

    def walk(outcomes: list[SubjectOutcome]) -> None:
        nonlocal checked
        r = recommend(design, outcomes)
        if r.action == "stop":
            return
        for dlts in range(4):
            base = cohort(r.dose_level, dlts)
            expected = recommend(design, outcomes + base)
            for order in set(permutations(base)):
                other = recommend(design, outcomes + list(order))
                assert (other.action, other.dose_level, other.code, other.mtd) == (
                    expected.action,
                    expected.dose_level,
                    expected.code,
                    expected.mtd,
                )
                assert other.open_slots == expected.open_slots
                checked += 1
            walk(outcomes + base)

    walk([])
    assert checked == 1176  # every permutation of every cohort of every 4-level trial


def test_it_never_gives_the_top_dose_tolerated_with_fewer_than_six() -> None:
    design = EscalationDesign(num_levels=3)
    tops = [p for p in complete_paths(design) if recommend(design, p).code == "top_dose_tolerated"]
    assert tops and all(evaluable_at(p, 3) >= 6 for p in tops)


# --- Random trials (hypothesis) -----------------------------------------------------------------


@st.composite
def designs(draw: st.DrawFn) -> EscalationDesign:
    levels = draw(st.integers(1, 5))
    return EscalationDesign(
        num_levels=levels,
        atd_levels=draw(st.integers(0, min(levels, 3))),
        atd_trigger=draw(st.sampled_from(["dlt_or_related_grade2", "dlt_or_second_grade2"])),
        mtd_max_dlt_of_6=draw(st.sampled_from([1, 2])),
        atd_subject_counts=draw(st.booleans()),
        atd_deescalation_fill=draw(st.sampled_from(["fill_to_6", "fresh_cohorts"])),
        replace_non_evaluable=draw(st.booleans()),
        dose_level_minus1=draw(st.booleans()),
        six_at_top=draw(st.booleans()),
        deescalate_to_six=draw(st.booleans()),
    )


def new_subject(data: st.DataObject, level: int) -> SubjectOutcome:
    letter = data.draw(st.sampled_from("NNNTTGGPPPX"), label="letter")
    grade = data.draw(st.integers(0, 4), label="grade")
    if letter == "T":
        return SubjectOutcome(level, dlt=True, max_related_grade=max(grade, 3))
    if letter == "G":
        return SubjectOutcome(level, dlt=False, max_related_grade=max(grade, 2))
    if letter == "P":
        return SubjectOutcome(level, dlt=None, max_related_grade=grade)
    if letter == "X":
        return SubjectOutcome(level, dlt=False, max_related_grade=min(grade, 1), evaluable=False)
    return SubjectOutcome(level, dlt=False, max_related_grade=min(grade, 1))


def resolve(data: st.DataObject, pending: SubjectOutcome) -> SubjectOutcome:
    """The end of a DLT window: the worst grade can only grow."""
    done = new_subject(data, pending.dose_level)
    if done.status == "pending":
        done = SubjectOutcome(pending.dose_level, dlt=False)
    grade = max(done.max_related_grade, pending.max_related_grade)
    if done.dlt is False and grade >= 2 and done.evaluable:
        return SubjectOutcome(pending.dose_level, dlt=False, max_related_grade=grade)
    return SubjectOutcome(pending.dose_level, done.dlt, grade, done.evaluable)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(design=designs(), data=st.data())
def test_it_runs_any_trial_that_follows_it_to_a_valid_end(
    design: EscalationDesign, data: st.DataObject
) -> None:
    """A trial that enrols where told and resolves DLT windows late is never a deviation."""
    outcomes: list[SubjectOutcome] = []
    for _ in range(45):
        r = recommend(design, outcomes)  # strict: a followed trial never raises
        assert_valid(design, r)
        assert_safe(design, outcomes, r)
        assert_safe_when_followed(design, outcomes, r)
        assert_six_at_the_mtd(design, outcomes, r)
        if r.action == "stop":
            break
        pending = [i for i, o in enumerate(outcomes) if o.status == "pending"]
        if r.action == "wait":
            assert any(outcomes[i].dose_level == r.dose_level for i in pending)
        if pending and (r.action == "wait" or data.draw(st.booleans(), label="resolve")):
            i = data.draw(st.sampled_from(pending), label="which")
            outcomes[i] = resolve(data, outcomes[i])
        else:
            outcomes.append(new_subject(data, r.dose_level))
    steps = escalation_trace(design, outcomes)
    assert len(steps) == len(outcomes)
    if steps:
        assert steps[-1].recommendation == recommend(design, outcomes)


@st.composite
def any_history(draw: st.DrawFn) -> tuple[EscalationDesign, list[SubjectOutcome]]:
    design = draw(designs())
    level = st.integers(design.lowest_level, design.num_levels)
    subject = st.builds(
        SubjectOutcome,
        dose_level=level,
        dlt=st.sampled_from([False, False, True, None]),
        max_related_grade=st.integers(0, 4),
        evaluable=st.sampled_from([True, True, True, False]),
    )
    return design, draw(st.lists(subject, max_size=25))


@FAST
@given(case=any_history())
def test_it_never_crashes_and_stays_safe_on_any_history(
    case: tuple[EscalationDesign, list[SubjectOutcome]],
) -> None:
    design, outcomes = case
    lenient = recommend(design, outcomes, strict=False)
    assert_valid(design, lenient)
    assert_safe(design, outcomes, lenient)
    try:
        strict = recommend(design, outcomes)
    except ValueError as exc:
        assert "Subject #" in str(exc) and lenient.deviations
        assert str(exc).startswith(lenient.deviations[0])
    else:
        assert strict == lenient and not strict.deviations


@FAST
@given(design=designs(), data=st.data())
def test_it_traces_exactly_what_recommend_says_for_each_prefix(
    design: EscalationDesign, data: st.DataObject
) -> None:
    outcomes: list[SubjectOutcome] = []
    for _ in range(15):
        r = recommend(design, outcomes)
        if r.action != "enroll":
            break
        outcomes.append(new_subject(data, r.dose_level))
        if outcomes[-1].status == "pending":
            outcomes[-1] = resolve(data, outcomes[-1])
    for i, step in enumerate(escalation_trace(design, outcomes)):
        assert step.recommendation == recommend(design, outcomes[: i + 1])
        assert (step.index, step.subject, step.dose_level) == (i, i + 1, outcomes[i].dose_level)
