"""Operating characteristics of the escalation design (dosing.rules.operating_characteristics).

Sources: Storer BE, Biometrics 1989;45:925-937 (the 3+3 rule's operating characteristics);
RULES.md §4 (the design: Korn 1994 "6 at the MTD" 3+3, Simon 1997 accelerated titration).
A statistician uses these numbers to justify the design in the protocol: how likely each dose is
to be declared and how many subjects the trial treats, if the true DLT rates are p.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import pytest

from dosing.rules import (
    EscalationDesign,
    OperatingCharacteristics,
    SubjectOutcome,
    operating_characteristics,
    recommend,
)

ROOT = Path(__file__).resolve().parents[2]
PLAIN1 = EscalationDesign(num_levels=1)
ATD4 = EscalationDesign(num_levels=4, atd_levels=2)

DESIGNS = {
    "korn 4 levels": EscalationDesign(num_levels=4),
    "atd 2 of 4": ATD4,
    "simon trigger": EscalationDesign(
        num_levels=3, atd_levels=2, atd_trigger="dlt_or_second_grade2"
    ),
    "mtd 2 of 6": EscalationDesign(num_levels=4, mtd_max_dlt_of_6=2),
    "storer": EscalationDesign(num_levels=4, six_at_top=False, deescalate_to_six=False),
    "atd fresh cohorts": EscalationDesign(
        num_levels=3, atd_levels=3, atd_subject_counts=False, atd_deescalation_fill="fresh_cohorts"
    ),
}
RATES = [0.05, 0.1, 0.25, 0.4]
GRADE2 = [0.2, 0.3, 0.3, 0.3]


def oc(design: EscalationDesign, p, **options) -> OperatingCharacteristics:
    n = design.num_levels
    return operating_characteristics(design, list(p)[:n], **options)


# --- Totals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_recommended_dose_probabilities_sum_to_1_and_totals_add_up(name) -> None:
    design = DESIGNS[name]
    result = oc(design, RATES, p_related_grade2=GRADE2[: design.num_levels])
    assert result.method == "exact"
    assert set(result.p_select) == {*range(1, design.num_levels + 1), None}
    assert sum(result.p_select.values()) == pytest.approx(1, abs=1e-12)
    assert all(0 <= value <= 1 for value in result.p_select.values())
    assert result.expected_total_subjects == pytest.approx(sum(result.expected_subjects.values()))
    for level, subjects in result.expected_subjects.items():  # E[DLTs] = p x E[subjects]
        assert result.expected_dlts[level] == pytest.approx(RATES[level - 1] * subjects)


@pytest.mark.parametrize(("levels", "paths"), [(1, 10), (2, 46), (3, 154), (4, 442)])
def test_it_walks_as_many_trial_paths_as_the_published_enumeration(levels, paths) -> None:
    """RULES.md §4.1 invariant: 10, 46, 154, 442 complete 3+3 paths for 1-4 levels (cohort
    outcomes 0-3 DLTs; dcnorris/precautionary exec/prolog/three3.pl)."""
    result = operating_characteristics(EscalationDesign(num_levels=levels), [0.3] * levels)
    assert result.paths == paths


# --- Known values ------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0, 0.1, 0.3, 1])
def test_a_single_level_follows_the_3_plus_3_table_by_hand(p) -> None:
    """One level (the top), plain Korn 3+3, q = 1 - p, k1, k2 = DLTs in the first and second 3.

    k1 = 0: 0/3 at the top -> 3 more; then k2 <= 1 (<= 1/6) declares DL1 tolerated, else none.
    k1 = 1: 3 more; k2 = 0 (1/6) declares DL1, k2 >= 1 (>= 2/6) exceeds the MTD -> none.
    k1 >= 2: exceeds the MTD at the lowest level -> no tolerable dose, 3 treated.
    P(DL1) = q^3 (q^3 + 3 p q^2) + 3 p q^2 q^3 = q^6 + 6 p q^5  (<= 1 DLT in 6), P(none) = 1 - it.
    E[subjects] = 3 + 3 P(k1 <= 1) = 3 + 3 (q^3 + 3 p q^2); E[DLTs] = p E[subjects].
    """
    q = 1 - p
    result = operating_characteristics(PLAIN1, [p])
    declared = q**6 + 6 * p * q**5
    assert result.p_select[1] == pytest.approx(declared, abs=1e-12)
    assert result.p_select[None] == pytest.approx(1 - declared, abs=1e-12)
    subjects = 3 + 3 * (q**3 + 3 * p * q**2)
    assert result.expected_subjects == {1: pytest.approx(subjects)}
    assert result.expected_dlts == {1: pytest.approx(p * subjects)}


def test_single_level_values_at_p_0_1() -> None:
    result = operating_characteristics(PLAIN1, [0.1])
    assert result.p_select[1] == pytest.approx(0.885735, abs=1e-6)  # 0.9^6 + 0.6 x 0.9^5
    assert result.expected_subjects[1] == pytest.approx(5.916, abs=1e-9)  # 3 + 3 x 0.972


@pytest.mark.parametrize("levels", [1, 3, 5])
def test_with_no_dlt_anywhere_the_trial_escalates_and_treats_6_at_the_top(levels) -> None:
    result = operating_characteristics(EscalationDesign(num_levels=levels), [0] * levels)
    assert result.p_select[levels] == 1
    assert result.expected_subjects == {**dict.fromkeys(range(1, levels), 3), levels: 6}
    assert set(result.expected_dlts.values()) == {0}
    assert result.expected_total_subjects == 3 * levels + 3
    assert result.paths == 1


def test_with_a_dlt_in_every_subject_no_dose_is_tolerable() -> None:
    result = operating_characteristics(EscalationDesign(num_levels=4), [1] * 4)
    assert result.p_select[None] == 1
    assert result.expected_subjects == {1: 3, 2: 0, 3: 0, 4: 0}
    assert result.expected_dlts == {1: 3, 2: 0, 3: 0, 4: 0}


def test_with_atd_and_no_toxicity_one_subject_per_atd_level_then_3_plus_3() -> None:
    result = operating_characteristics(ATD4, [0] * 4)
    assert result.p_select[4] == 1
    assert result.expected_subjects == {1: 1, 2: 1, 3: 3, 4: 6}


def test_a_grade_2_toxicity_in_the_atd_phase_expands_the_level() -> None:
    """Every ATD subject has a related grade 2 (no DLT): the trigger at DL1 turns it into 3+3."""
    result = operating_characteristics(ATD4, [0] * 4, p_related_grade2=[1] * 4)
    assert result.expected_subjects == {1: 3, 2: 3, 3: 3, 4: 6}


@pytest.mark.parametrize("p", [0, 0.1, 0.2, 0.3, 0.5, 0.8, 1])
def test_the_published_probability_of_escalating_past_a_level(p) -> None:
    """Storer 1989 (and many tutorials): the 3+3 escalates past a level with DLT rate p with
    probability (1-p)^3 + 3p(1-p)^2 (1-p)^3 (0/3, or 1/3 then 0/3). Checked at DL1 two ways:
    with DL2 free of DLTs (2 levels), DL2 is declared exactly when it is reached; with DL2 always
    toxic, each visit treats exactly 3 there."""
    q = 1 - p
    published = q**3 + 3 * p * q**2 * q**3
    design = EscalationDesign(num_levels=2)
    assert operating_characteristics(design, [p, 0]).p_select[2] == pytest.approx(published)
    toxic_above = operating_characteristics(EscalationDesign(num_levels=3), [p, 1, 1])
    assert toxic_above.expected_subjects[2] / 3 == pytest.approx(published)
    assert toxic_above.expected_subjects[3] == 0


# --- The reductions against a subject-by-subject enumeration -----------------------------------

_LETTERS = {
    "N": lambda level: SubjectOutcome(level),
    "G": lambda level: SubjectOutcome(level, dlt=False, max_related_grade=2),
    "T": lambda level: SubjectOutcome(level, dlt=True, max_related_grade=3),
}


def _subject_by_subject(design, p, g):
    """Every ordered outcome of every subject (N, G or T), no reduction, straight from recommend."""
    select: dict = {}
    subjects: dict = {}
    stack = [((), 1.0)]
    while stack:
        history, weight = stack.pop()
        rec = recommend(design, history)
        if rec.action == "stop":
            select[rec.dose_level] = select.get(rec.dose_level, 0) + weight
            for subject in history:
                subjects[subject.dose_level] = subjects.get(subject.dose_level, 0) + weight
            continue
        d = rec.dose_level
        chance = {"N": (1 - p[d - 1]) * (1 - g[d - 1]), "G": (1 - p[d - 1]) * g[d - 1]}
        chance["T"] = p[d - 1]
        for letters in itertools.product("NGT", repeat=rec.open_slots):
            w = weight * math.prod(chance[letter] for letter in letters)
            if w > 0:
                stack.append(((*history, *(_LETTERS[x](d) for x in letters)), w))
    return select, subjects


@pytest.mark.parametrize(
    ("design", "p", "g"),
    [
        (EscalationDesign(num_levels=1, atd_levels=1), [0.2], [0.3]),
        (EscalationDesign(num_levels=1, atd_levels=1, atd_subject_counts=False), [0.2], [0.3]),
        # DL2's ATD subject always has a grade 2: the second one (after DL1's) triggers there.
        (
            EscalationDesign(num_levels=2, atd_levels=2, atd_trigger="dlt_or_second_grade2"),
            [0.1, 0],
            [0.5, 1],
        ),
        (EscalationDesign(num_levels=2, atd_levels=2), [0.1, 1], [0.5, 0.5]),
    ],
    ids=["atd top", "atd not counted", "simon trigger", "toxic top"],
)
def test_cohort_compositions_give_the_same_answer_as_every_subject_order(design, p, g) -> None:
    """The enumeration branches on a cohort's composition and draws grade 2 only in the ATD
    phase; both are properties of recommend, checked here against no reduction at all (every
    subject N, G or T in enrollment order; small designs, as this grows as 27 per cohort)."""
    select, subjects = _subject_by_subject(design, p, g)
    result = operating_characteristics(design, p, p_related_grade2=g)
    assert {k: v for k, v in result.p_select.items() if v} == pytest.approx(select, rel=1e-9)
    assert {k: v for k, v in result.expected_subjects.items() if v} == pytest.approx(
        subjects, rel=1e-9
    )


# --- Simulation --------------------------------------------------------------------------------


def test_simulation_agrees_with_the_exact_enumeration_within_3_standard_errors() -> None:
    exact = operating_characteristics(ATD4, RATES, p_related_grade2=GRADE2)
    sim = operating_characteristics(
        ATD4, RATES, p_related_grade2=GRADE2, method="simulation", n_trials=4000, seed=7
    )
    assert (sim.method, sim.n_trials) == ("simulation", 4000)
    assert sum(sim.p_select.values()) == pytest.approx(1)
    se = sim.standard_errors
    for level, value in exact.p_select.items():
        assert abs(sim.p_select[level] - value) <= 3 * se["p_select"][level], level
    for field in ("expected_subjects", "expected_dlts"):
        for level, value in getattr(exact, field).items():
            assert abs(getattr(sim, field)[level] - value) <= 3 * se[field][level], (field, level)
    total = exact.expected_total_subjects
    assert abs(sim.expected_total_subjects - total) <= 3 * se["expected_total_subjects"]
    assert 0 < se["expected_total_subjects"] < 0.1


def test_simulation_is_reproducible_from_its_seed() -> None:
    def run(seed):
        return operating_characteristics(
            ATD4, RATES, p_related_grade2=GRADE2, method="simulation", n_trials=300, seed=seed
        )

    assert run(3) == run(3)
    assert run(3).p_select != run(4).p_select


def test_simulation_of_a_certain_trial_has_no_spread() -> None:
    sim = operating_characteristics(
        EscalationDesign(num_levels=3), [0, 0, 0], method="simulation", n_trials=50
    )
    assert sim.p_select[3] == 1
    assert sim.expected_subjects == {1: 3, 2: 3, 3: 6}
    assert sim.standard_errors["expected_total_subjects"] == 0
    assert sim.paths == 1


# --- Errors and purity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        ([0.1, 0.2], {}, r"one probability per dose level DL1\.\.DL4 \(4 values; got 2\)"),
        ([0.1, 0.2, 1.5, 0.3], {}, r"true_dlt_probability at DL3 must be between 0 and 1"),
        ([0.1, 0.2, float("nan"), 0.3], {}, r"at DL3 must be between 0 and 1"),
        ([0.1, 0.2, "x", 0.3], {}, r"at DL3 must be a number"),
        ("0.1", {}, r"must be a sequence of probabilities"),
        (RATES, {"p_related_grade2": [0.1]}, r"p_related_grade2 must give one probability"),
        (RATES, {"method": "bayes"}, r"method must be one of exact, simulation"),
        (RATES, {"method": "simulation", "n_trials": 0}, r"n_trials must be an integer >= 1"),
        (RATES, {"seed": 1.5}, r"seed must be an integer"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_it(args, options, message) -> None:
    with pytest.raises(ValueError, match=message):
        operating_characteristics(ATD4, args, **options)


def test_a_design_with_dl_minus_1_is_refused() -> None:
    design = EscalationDesign(num_levels=2, dose_level_minus1=True)
    with pytest.raises(ValueError, match="no DLT probability for DL-1"):
        operating_characteristics(design, [0.1, 0.2])


@pytest.mark.parametrize("first", ["dosing.rules", "dosing.operating"])
def test_it_runs_without_django_whichever_module_is_imported_first(first) -> None:
    code = (
        f"import sys, {first}, dosing.rules as r; "
        "res = r.operating_characteristics(r.EscalationDesign(num_levels=2), [0, 0]); "
        "assert res.p_select[2] == 1, res; assert 'django' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
