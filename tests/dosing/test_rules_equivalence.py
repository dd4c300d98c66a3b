"""The optimised escalation engine equals the engine it replaced, on thousands of histories.

``dosing.rules`` replays the subjects with running counts (issue 12 "Speed": linear instead of
quadratic in the subjects per level). A wrong escalation decision is the worst bug this product
can have, so the change must not alter a single output: this file runs ``recommend`` and
``escalation_trace`` of both engines (the old one frozen in ``tests/dosing/reference_engine.py``)
(and ``escalation_history``, the hook's one-replay form of the two) on generated outcome
histories and requires equal results — actions, levels, slots, codes,
reason sentences, phase, MTD, every level tally and every deviation message, and the same
ValueError text when ``strict=True`` refuses a history.

Histories (seeded, so a failure is reproducible from its printed shorthand):

* every setting of RULES.md §4 crossed with 1-5 dose levels, 0-3 ATD levels and DL-1 on/off;
* histories that follow the engine's own recommendations cohort by cohort (the DLT window
  resolving later), histories that wander off protocol (random levels, ``strict=False``), and
  outcomes outside the shorthand (pending subjects with a grade-2 toxicity, DLTs flagged not
  evaluable, non-evaluable subjects replaced or kept);
* 1 to 60 subjects (and 400 and 300 in the long cases), and every trial path of small designs
  to 9 subjects;
* and, with hypothesis, arbitrary outcome lists.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosing import rules
from dosing.rules import EscalationDesign, SubjectOutcome, TraceStep, format_outcomes
from tests.dosing import reference_engine as reference

BOOLEANS = (
    "atd_subject_counts",
    "replace_non_evaluable",
    "dose_level_minus1",
    "six_at_top",
    "deescalate_to_six",
)


def all_designs() -> list[EscalationDesign]:
    """Every combination of the engine's settings for 1-5 levels (ATD choices only with ATD)."""
    designs = []
    for num_levels in range(1, 6):
        for atd_levels in range(0, min(num_levels, 3) + 1):
            atd_choices = (
                itertools.product(rules.ATD_TRIGGERS, rules.ATD_DEESCALATION_FILLS)
                if atd_levels
                else [("dlt_or_related_grade2", "fill_to_6")]
            )
            for trigger, fill in atd_choices:
                for mtd_max in (1, 2):
                    for flags in itertools.product((True, False), repeat=len(BOOLEANS)):
                        designs.append(
                            EscalationDesign(
                                num_levels=num_levels,
                                atd_levels=atd_levels,
                                atd_trigger=trigger,
                                atd_deescalation_fill=fill,
                                mtd_max_dlt_of_6=mtd_max,
                                **dict(zip(BOOLEANS, flags, strict=True)),
                            )
                        )
    return designs


DESIGNS = all_designs()


def random_outcome(rng: random.Random, level: int, *, pending: float = 0.15) -> SubjectOutcome:
    """Any outcome the platform can store, weighted towards the usual ones."""
    draw = rng.random()
    if draw < pending:
        return SubjectOutcome(level, dlt=None, max_related_grade=rng.choice((0, 0, 1, 2, 3)))
    if draw < pending + 0.2:
        return SubjectOutcome(
            level,
            dlt=True,
            max_related_grade=rng.choice((3, 3, 4, 5, 2)),
            evaluable=rng.random() > 0.1,
        )
    if draw < pending + 0.3:
        return SubjectOutcome(
            level, dlt=False, max_related_grade=rng.choice((0, 1, 2)), evaluable=False
        )
    return SubjectOutcome(level, dlt=False, max_related_grade=rng.choice((0, 0, 0, 1, 2, 2)))


def resolved(rng: random.Random, outcome: SubjectOutcome) -> SubjectOutcome:
    """The same subject once the DLT window has closed."""
    return SubjectOutcome(
        outcome.dose_level,
        dlt=rng.random() < 0.3,
        max_related_grade=outcome.max_related_grade,
        evaluable=rng.random() > 0.1,
    )


def followed_history(rng: random.Random, design: EscalationDesign) -> list[SubjectOutcome]:
    """A trial run (mostly) as recommended: each step enrols what the engine opened, the
    pending subjects of the last cohort resolve when it waits, now and then a subject lands
    elsewhere (a protocol deviation), until it stops or reaches its size."""
    size = rng.randint(1, 60)
    outcomes: list[SubjectOutcome] = []
    while len(outcomes) < size:
        rec = rules.recommend(design, outcomes, strict=False)
        pending = [i for i, o in enumerate(outcomes) if o.dlt is None]
        if rec.action == "enroll" and rng.random() < 0.9:
            for _ in range(min(rec.open_slots, size - len(outcomes))):
                outcomes.append(random_outcome(rng, rec.dose_level))
        elif pending and rng.random() < 0.85:
            for i in pending:
                outcomes[i] = resolved(rng, outcomes[i])
        elif rec.action == "stop" and rng.random() < 0.3:
            break
        else:
            level = rng.randint(design.lowest_level, design.num_levels)
            outcomes.append(random_outcome(rng, level))
    return outcomes


def wandering_history(rng: random.Random, design: EscalationDesign) -> list[SubjectOutcome]:
    """Off protocol: runs of subjects at a level that walks up and down at random."""
    size = rng.randint(1, 60)
    level = rng.choice((design.lowest_level, 1))
    outcomes: list[SubjectOutcome] = []
    while len(outcomes) < size:
        for _ in range(rng.choice((1, 1, 2, 3, 3, 3))):
            outcomes.append(random_outcome(rng, level, pending=0.1))
        level = min(design.num_levels, max(design.lowest_level, level + rng.choice((-1, 0, 1, 1))))
    return outcomes[:size]


def both(function: str, design: EscalationDesign, outcomes: list[SubjectOutcome], strict: bool):
    """What each engine returns, or the ValueError text it raises."""
    results = []
    for engine in (rules, reference):
        try:
            results.append(getattr(engine, function)(design, outcomes, strict=strict))
        except ValueError as exc:
            results.append(("ValueError", str(exc)))
    return results


def bare(steps: list[TraceStep]) -> list[TraceStep]:
    """The trace as ``escalation_history`` gives it: each step's decision without the tallies
    and the deviations so far."""
    return [
        replace(step, recommendation=replace(step.recommendation, levels=(), deviations=()))
        for step in steps
    ]


def assert_same(design: EscalationDesign, outcomes: list[SubjectOutcome]) -> None:
    label = f"{design} {format_outcomes(outcomes)!r}"
    for strict in (False, True):
        new, old = both("escalation_trace", design, outcomes, strict)
        assert new == old, label
        trace = old
        new, old = both("recommend", design, outcomes, strict)
        assert new == old, label
        try:
            history = rules.escalation_history(design, outcomes, strict=strict)
        except ValueError as exc:
            history = ("ValueError", str(exc))
        if isinstance(old, tuple):
            assert history == old, label
        else:
            assert history == (old, bare(trace)), label


def designs_sample(seed: int, count: int) -> list[EscalationDesign]:
    rng = random.Random(seed)
    return [rng.choice(DESIGNS) for _ in range(count)]


def test_the_settings_grid_covers_every_variant() -> None:
    assert len(DESIGNS) == len(set(DESIGNS)) > 1000
    for name in ("atd_trigger", "atd_deescalation_fill", "mtd_max_dlt_of_6", *BOOLEANS):
        assert len({getattr(d, name) for d in DESIGNS}) == 2, name


@pytest.mark.parametrize("chunk", range(4))
def test_followed_histories_match_the_reference(chunk: int) -> None:
    """Every design of the grid, once per chunk, with its own seeded followed history."""
    rng = random.Random(1000 + chunk)
    for design in DESIGNS[chunk::4]:
        assert_same(design, followed_history(rng, design))


@pytest.mark.parametrize("seed", range(4))
def test_wandering_histories_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    for design in designs_sample(seed, 300):
        assert_same(design, wandering_history(rng, design))


@pytest.mark.parametrize(
    "design",
    [
        EscalationDesign(num_levels=3),
        EscalationDesign(num_levels=3, mtd_max_dlt_of_6=2, six_at_top=False),
        EscalationDesign(num_levels=3, dose_level_minus1=True, deescalate_to_six=False),
        EscalationDesign(num_levels=3, atd_levels=2),
        EscalationDesign(
            num_levels=4,
            atd_levels=2,
            atd_trigger="dlt_or_second_grade2",
            atd_deescalation_fill="fresh_cohorts",
            atd_subject_counts=False,
        ),
        EscalationDesign(num_levels=3, atd_levels=1, replace_non_evaluable=False),
    ],
    ids=str,
)
def test_every_small_trial_path_matches_the_reference(design: EscalationDesign) -> None:
    """Every trial the design allows with subjects N (no DLT) or T (DLT) one at a time, to 9
    subjects; at each step also the next subject as P (pending), G (grade 2) or X (not
    evaluable)."""
    seen = 0

    def walk(outcomes: list[SubjectOutcome]) -> None:
        nonlocal seen
        seen += 1
        assert_same(design, outcomes)
        rec = reference.recommend(design, outcomes)
        if rec.action != "enroll" or len(outcomes) >= 9:
            return
        level = rec.dose_level
        for leaf in (
            SubjectOutcome(level, dlt=None),
            SubjectOutcome(level, dlt=None, max_related_grade=2),
            SubjectOutcome(level, dlt=False, max_related_grade=2),
            SubjectOutcome(level, dlt=False, evaluable=False),
        ):
            assert_same(design, [*outcomes, leaf])
        walk([*outcomes, SubjectOutcome(level)])
        walk([*outcomes, SubjectOutcome(level, dlt=True, max_related_grade=3)])

    walk([])
    assert seen > 100


def outcomes_at(levels: st.SearchStrategy[int]) -> st.SearchStrategy[SubjectOutcome]:
    return st.builds(
        SubjectOutcome,
        dose_level=levels,
        dlt=st.sampled_from((True, False, None)),
        max_related_grade=st.integers(0, 5),
        evaluable=st.booleans(),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=st.sampled_from(DESIGNS), data=st.data())
def test_arbitrary_outcome_lists_match_the_reference(design, data) -> None:
    """Any list of outcomes at the design's levels (and, rarely, a level outside them)."""
    levels = st.integers(design.lowest_level, design.num_levels) | st.just(design.num_levels + 1)
    assert_same(design, data.draw(st.lists(outcomes_at(levels), max_size=60)))


def test_long_off_protocol_histories_match_the_reference() -> None:
    """The benchmark's shape (DL1-DL3 in turn, thousands of deviations), and long runs at one
    level: where the old engine was quadratic."""
    design = EscalationDesign(num_levels=5, atd_levels=2)
    bench = [SubjectOutcome(1 + (i % 3), dlt=(i % 7 == 0)) for i in range(400)]
    assert_same(design, bench)
    rng = random.Random(7)
    for design in designs_sample(99, 6):
        level = design.lowest_level
        assert_same(design, [random_outcome(rng, level) for _ in range(300)])
