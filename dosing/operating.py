"""Operating characteristics of the escalation design: how it behaves under assumed DLT rates.

Pure functions, no Django import; re-exported from ``dosing.rules`` (CONTRACT.md, section
``dosing.rules``), which is where callers should import them from.

Source: Storer BE, Biometrics 1989;45:925-937 (operating characteristics of the 3+3 rule: the
probability of each recommended dose and the expected number of subjects when each level has a
fixed true DLT probability); RULES.md §4 for the design itself. The decision logic is nowhere
here: every step of every trial path is ``recommend``'s answer.

How a trial is driven
---------------------
A trial is a sequence of steps. At each step ``recommend(design, history)`` is asked; on
"enroll" the ``open_slots`` subjects are enrolled together at ``dose_level`` and all complete the
DLT window (every subject is evaluable), so the next ``recommend`` sees them all; on "stop" the
trial ends with ``dose_level`` as the recommended dose (None = no tolerable dose). A "wait"
cannot happen (no subject is ever pending) and raises RuntimeError.

Enrolling the open slots as one cohort, not one subject at a time, is what the design does: the
engine opens a cohort's free places together ("pending subjects do not hold up the rest of their
cohort") and a 3+3 cohort is treated as a block. Enrolling one subject at a time with each window
completed first would let a forced decision (2 DLTs in the first 2 subjects of a cohort) stop the
cohort before its third subject is treated: fewer subjects and different expected counts than the
design gives (Storer's counts treat every cohort of 3 in full).

Two reductions keep the enumeration small; both are properties of ``recommend`` documented in
CONTRACT.md / the engine's docstring, and ``tests/dosing/test_operating_characteristics.py``
checks them against a subject-by-subject enumeration with no reduction:

* within a cohort enrolled together only how many subjects had each outcome matters (the 3+3
  table counts DLTs per cohort), so a cohort branches on its composition with multinomial
  probability, its subjects written in a fixed order (no DLT, grade 2, DLT);
* a related grade-2 toxicity "only matters for the ATD trigger", so it is drawn only for subjects
  enrolled in the ATD phase (phase "ATD"); in the 3+3 phase a subject has a DLT or not.

``recommend`` answers are memoised on that canonical outcome history, so the simulation asks the
engine once per distinct history however many trials pass through it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from dosing import rules

__all__ = ["METHODS", "OperatingCharacteristics", "operating_characteristics"]

METHODS: tuple[str, ...] = ("exact", "simulation")

#: Upper bound on the steps of one trial; the design always ends far sooner (a guard, not a rule).
_MAX_STEPS_PER_LEVEL = 20


@dataclass(frozen=True)
class OperatingCharacteristics:
    """The design's behaviour under assumed true DLT probabilities (CONTRACT.md).

    ``p_select``: level -> probability that the trial stops recommending it (None = no tolerable
    dose), every level listed, values summing to 1. ``expected_subjects`` / ``expected_dlts``:
    expected number treated / with a DLT at each level. ``method``: "exact" or "simulation".
    Extra fields: ``n_trials`` (simulation: trials drawn; exact: None), ``paths`` (exact: number
    of distinct complete trial paths with nonzero probability; simulation: distinct paths seen),
    ``standard_errors`` (simulation only: Monte-Carlo standard error of each estimate, keyed like
    the fields: "p_select", "expected_subjects", "expected_dlts", "expected_total_subjects").
    """

    p_select: dict[int | None, float]
    expected_subjects: dict[int, float]
    expected_dlts: dict[int, float]
    expected_total_subjects: float
    method: str
    n_trials: int | None = None
    paths: int = 0
    standard_errors: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _probabilities(name: str, values: object, num_levels: int) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a sequence of probabilities, one per dose level.")
    if len(values) != num_levels:
        raise ValueError(
            f"{name} must give one probability per dose level DL1..DL{num_levels} "
            f"({num_levels} values; got {len(values)})."
        )
    result = []
    for level, value in enumerate(values, start=1):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValueError(f"{name} at DL{level} must be a number (got {value!r}).")
        number = float(value)
        if not 0 <= number <= 1:  # also rejects NaN
            raise ValueError(f"{name} at DL{level} must be between 0 and 1 (got {value!r}).")
        result.append(number)
    return tuple(result)


def _check(design: object, method: str, n_trials: object, seed: object) -> None:
    if not isinstance(design, rules.EscalationDesign):
        raise ValueError(f"design must be an EscalationDesign (got {type(design).__name__}).")
    if design.dose_level_minus1:
        raise ValueError(
            "operating_characteristics has no DLT probability for DL-1: use a design without "
            "dose_level_minus1."
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r}).")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1 (got {n_trials!r}).")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer (got {seed!r}).")


# --------------------------------------------------------------------------------------------
# The driver: recommend, memoised on the canonical history
# --------------------------------------------------------------------------------------------

_NO_DLT, _GRADE2, _DLT = "N", "G", "T"  # the order subjects of a cohort are written in
_ORDER = (_NO_DLT, _GRADE2, _DLT)

#: A cohort enrolled together: (dose level, subjects without DLT, with grade 2, with a DLT).
Cohort = tuple[int, int, int, int]


@functools.cache
def _subject(level: int, outcome: str) -> rules.SubjectOutcome:
    if outcome == _DLT:
        return rules.SubjectOutcome(level, dlt=True, max_related_grade=3)
    if outcome == _GRADE2:
        return rules.SubjectOutcome(level, dlt=False, max_related_grade=2)
    return rules.SubjectOutcome(level)


@functools.cache
def _subjects(cohort: Cohort) -> tuple[rules.SubjectOutcome, ...]:
    """The subjects of one cohort in the fixed order: no DLT, grade 2, DLT."""
    level, *counts = cohort
    return tuple(
        _subject(level, outcome)
        for outcome, n in zip(_ORDER, counts, strict=True)
        for _ in range(n)
    )


class _Driver:
    """Asks ``recommend`` what a trial does next; one engine call per distinct history.

    A history is a tuple of cohorts (see ``Cohort``), the canonical outcome history.
    """

    def __init__(self, design: rules.EscalationDesign, p_dlt, p_grade2) -> None:
        self.design = design
        self.p_dlt = p_dlt
        self.p_grade2 = p_grade2
        self._answers: dict[tuple[Cohort, ...], rules.Recommendation] = {}
        self.max_steps = _MAX_STEPS_PER_LEVEL * design.num_levels

    def next(self, history: tuple[Cohort, ...]) -> rules.Recommendation:
        answer = self._answers.get(history)
        if answer is None:
            outcomes = [subject for cohort in history for subject in _subjects(cohort)]
            answer = rules.recommend(self.design, outcomes)
            if answer.action == "wait":
                raise RuntimeError(
                    f"The engine waited although no subject is pending: {answer.reason}"
                )
            self._answers[history] = answer
        return answer

    def outcome_probabilities(self, rec: rules.Recommendation) -> tuple[float, float, float]:
        """One enrolled subject's chance of no DLT, grade 2, DLT at the recommended level."""
        p = self.p_dlt[rec.dose_level - 1]
        if rec.phase != "ATD":  # grade 2 only matters for the ATD trigger (CONTRACT.md)
            return (1 - p, 0.0, p)
        g = self.p_grade2[rec.dose_level - 1]
        return ((1 - p) * (1 - g), (1 - p) * g, p)


def _compositions(
    size: int, chances: tuple[float, float, float]
) -> Iterator[tuple[tuple[int, int, int], float]]:
    """Each split of ``size`` subjects into (no DLT, grade 2, DLT) with nonzero multinomial
    probability."""
    for dlt in range(size + 1):
        for grade2 in range(size - dlt + 1):
            counts = (size - dlt - grade2, grade2, dlt)
            weight = float(math.factorial(size))
            for chance, count in zip(chances, counts, strict=True):
                weight = weight / math.factorial(count) * chance**count
            if weight > 0:
                yield counts, weight


# --------------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------------


def _per_level(history: tuple[Cohort, ...], num_levels: int) -> tuple[list[int], list[int]]:
    """Subjects treated and subjects with a DLT at each level (index level - 1) on one path."""
    subjects, dlts = [0] * num_levels, [0] * num_levels
    for level, no_dlt, grade2, dlt in history:
        subjects[level - 1] += no_dlt + grade2 + dlt
        dlts[level - 1] += dlt
    return subjects, dlts


def _exact(driver: _Driver) -> OperatingCharacteristics:
    """Every trial path with nonzero probability, depth first (Storer 1989's enumeration)."""
    num_levels = driver.design.num_levels
    levels = range(1, num_levels + 1)
    select: dict[int | None, float] = dict.fromkeys([*levels, None], 0.0)
    subjects, dlts = [0.0] * num_levels, [0.0] * num_levels
    paths = 0
    stack: list[tuple[tuple[Cohort, ...], float]] = [((), 1.0)]
    while stack:
        history, weight = stack.pop()
        rec = driver.next(history)
        if rec.action == "stop":
            paths += 1
            select[rec.dose_level] += weight
            treated, toxic = _per_level(history, num_levels)
            for index in range(num_levels):
                subjects[index] += weight * treated[index]
                dlts[index] += weight * toxic[index]
            continue
        if len(history) >= driver.max_steps:
            raise RuntimeError(f"A trial path did not stop after {len(history)} cohorts.")
        for counts, chance in _compositions(rec.open_slots, driver.outcome_probabilities(rec)):
            stack.append(((*history, (rec.dose_level, *counts)), weight * chance))
    return OperatingCharacteristics(
        p_select=select,
        expected_subjects=dict(zip(levels, subjects, strict=True)),
        expected_dlts=dict(zip(levels, dlts, strict=True)),
        expected_total_subjects=sum(subjects),
        method="exact",
        paths=paths,
    )


def _draw(uniforms: Sequence[float], chances: tuple[float, float, float]) -> tuple[int, int, int]:
    """Outcome counts of a cohort from one uniform per subject: DLT below p, then grade 2."""
    no_dlt, grade2, dlt = chances
    counts = [0, 0, 0]
    for u in uniforms:
        counts[2 if u < dlt else 1 if u < dlt + grade2 else 0] += 1
    return counts[0], counts[1], counts[2]


def _mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def _simulate(
    driver: _Driver,
    n_trials: int,
    seed: int,
    progress: Callable[[int, int], object] | None = None,
) -> OperatingCharacteristics:
    """``n_trials`` seeded trials through the same driver (numpy ``default_rng(seed)``).

    Each trial gets its own row of uniforms (one per subject, in enrollment order), so a trial's
    outcomes depend only on the seed and its number. ``progress(done, n_trials)`` is called
    after about every hundredth trial and after the last (the design page's progress bar).
    """
    import numpy as np  # only the simulation needs it

    num_levels = driver.design.num_levels
    levels = range(1, num_levels + 1)
    width = 8 * num_levels  # more than any path treats: at most 6 places + 1 ATD subject a level
    uniforms = np.random.default_rng(seed).random((n_trials, width)).tolist()
    chosen: list[int | None] = []
    subjects: list[list[int]] = []
    dlts: list[list[int]] = []
    seen: set[tuple[Cohort, ...]] = set()
    step = max(1, n_trials // 100)
    for number, row in enumerate(uniforms, start=1):
        history: tuple[Cohort, ...] = ()
        used = 0
        rec = driver.next(history)
        while rec.action != "stop":
            if len(history) >= driver.max_steps or used + rec.open_slots > width:
                raise RuntimeError(f"A simulated trial did not stop after {len(history)} cohorts.")
            counts = _draw(row[used : used + rec.open_slots], driver.outcome_probabilities(rec))
            used += rec.open_slots
            history = (*history, (rec.dose_level, *counts))
            rec = driver.next(history)
        seen.add(history)
        chosen.append(rec.dose_level)
        treated, toxic = _per_level(history, num_levels)
        subjects.append(treated)
        dlts.append(toxic)
        if progress is not None and (number % step == 0 or number == n_trials):
            progress(number, n_trials)

    p_select = {level: chosen.count(level) / n_trials for level in [*levels, None]}
    by_level = {
        name: {level: _mean_and_se([row[level - 1] for row in table]) for level in levels}
        for name, table in (("subjects", subjects), ("dlts", dlts))
    }
    total, total_se = _mean_and_se([sum(row) for row in subjects])
    return OperatingCharacteristics(
        p_select=p_select,
        expected_subjects={level: m for level, (m, _) in by_level["subjects"].items()},
        expected_dlts={level: m for level, (m, _) in by_level["dlts"].items()},
        expected_total_subjects=total,
        method="simulation",
        n_trials=n_trials,
        paths=len(seen),
        standard_errors={
            "p_select": {k: math.sqrt(v * (1 - v) / n_trials) for k, v in p_select.items()},
            "expected_subjects": {level: e for level, (_, e) in by_level["subjects"].items()},
            "expected_dlts": {level: e for level, (_, e) in by_level["dlts"].items()},
            "expected_total_subjects": total_se,
        },
    )


def operating_characteristics(
    design: rules.EscalationDesign,
    true_dlt_probability: Sequence[float],
    *,
    p_related_grade2: Sequence[float] | None = None,
    method: str = "exact",
    n_trials: int = 10_000,
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> OperatingCharacteristics:
    """The design's behaviour if each subject at DLd has a DLT with probability p[d-1].

    Subjects are independent and all evaluable; one without a DLT has a CAR-T-related grade-2
    toxicity with probability ``p_related_grade2[d-1]`` (default 0 at every level), which only
    matters for the ATD trigger (RULES.md §4.2). ``method="exact"`` enumerates every trial path
    through ``recommend`` and sums the path probabilities (Storer 1989); "simulation" draws
    ``n_trials`` trials with numpy ``default_rng(seed)`` through the same driver and reports
    Monte-Carlo standard errors; ``progress(done, n_trials)``, if given, is called as the
    simulated trials complete (it does not change the result). The module docstring explains
    how a trial is driven. Bad input raises ValueError; a design with ``dose_level_minus1`` is
    refused (no DL-1 probability).
    """
    _check(design, method, n_trials, seed)
    p_dlt = _probabilities("true_dlt_probability", true_dlt_probability, design.num_levels)
    if p_related_grade2 is None:
        p_grade2 = (0.0,) * design.num_levels
    else:
        p_grade2 = _probabilities("p_related_grade2", p_related_grade2, design.num_levels)
    driver = _Driver(design, p_dlt, p_grade2)
    if method == "exact":
        return _exact(driver)
    return _simulate(driver, n_trials, seed, progress)
