"""Escalation engine and dose arithmetic (dosing.rules): golden cases, boundaries, errors.

Sources: RULES.md §4 (Korn 1994 3+3, Simon 1997 ATD), CASES.md G and H. Properties (path
counts, safety invariants, random trials) live in test_rules_properties.py.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from dosing.rules import (
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    EscalationDesign,
    Recommendation,
    SubjectOutcome,
    bsa_du_bois,
    bsa_mosteller,
    cells_to_infuse,
    dose_deviation_pct,
    dose_per_kg,
    escalation_trace,
    format_outcomes,
    lymphodepletion_dose_mg,
    parse_outcomes,
    recommend,
)

ROOT = Path(__file__).resolve().parents[2]
FIVE = EscalationDesign(num_levels=5)
ATD4 = EscalationDesign(num_levels=4, atd_levels=2)  # CASES.md H: DL1-DL4, ATD at DL1-DL2


def rec(design: EscalationDesign, text: str, **kwargs: object) -> Recommendation:
    return recommend(design, parse_outcomes(text), **kwargs)


def assert_decision(r: Recommendation, expected: str) -> None:
    """CASES.md G notation: "cont d", "stop d" (MTD d), "stop top", "stop none"."""
    verb, where = expected.split()
    if verb == "cont":
        assert (r.action, r.dose_level, r.open_slots, r.mtd) == ("enroll", int(where), 3, None)
    elif where == "top":
        assert (r.action, r.code, r.mtd) == ("stop", "top_dose_tolerated", None)
        assert r.dose_level == 5
    elif where == "none":
        assert (r.action, r.code, r.dose_level, r.mtd) == ("stop", "no_tolerable_dose", None, None)
    else:
        assert (r.action, r.code, r.dose_level, r.mtd) == (
            "stop",
            "mtd_declared",
            int(where),
            int(where),
        )
    assert r.open_slots == (3 if verb == "cont" else 0)


# --- CASES.md G: 3+3 sequences, decision after each cohort (Korn "6 at the MTD") ---------------

TPT = [
    ("TPT-01", "1NNN 2NNN 3NNN 4NNN 5NNN", "cont 2, cont 3, cont 4, cont 5, cont 5"),
    ("TPT-02", "1NNN 2NNN 3NNN 4NNN 5NNN 5NNN", "cont 2, cont 3, cont 4, cont 5, cont 5, stop top"),
    ("TPT-03", "1NNN 2NNT 2NNT", "cont 2, cont 2, cont 1"),
    ("TPT-04", "1NNN 2NNT 2NNT 1NNN", "cont 2, cont 2, cont 1, stop 1"),
    ("TPT-05", "1NNN 2TTN", "cont 2, cont 1"),
    ("TPT-06", "1NNN 2TTN 1NNT", "cont 2, cont 1, stop 1"),
    ("TPT-08", "1NTT", "stop none"),
    ("TPT-09", "1NNT 1NTN", "cont 1, stop none"),
    (
        "TPT-11",
        "1NNN 2NNT 2NNN 3NNN 4NTT 3NNN",
        "cont 2, cont 2, cont 3, cont 4, cont 3, stop 3",
    ),
    (
        "TPT-13",
        "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN",
        "cont 2, cont 3, cont 4, cont 5, cont 5, stop top",
    ),
]


@pytest.mark.parametrize(("outcomes", "expected"), [c[1:] for c in TPT], ids=[c[0] for c in TPT])
def test_it_follows_korn_after_each_cohort(outcomes: str, expected: str) -> None:
    cohorts = outcomes.split()
    decisions = [d.strip() for d in expected.split(",")]
    assert len(cohorts) == len(decisions)
    for k, decision in enumerate(decisions, start=1):
        assert_decision(rec(FIVE, " ".join(cohorts[:k])), decision)


# The R escalation package columns of CASES.md G, reproduced by the two named settings.
R_DEESCALATE = [  # allow_deescalate=TRUE: top-dose stop, de-escalation to 6 kept
    ("TPT-01", "1NNN 2NNN 3NNN 4NNN 5NNN", "stop top"),
    ("TPT-03", "1NNN 2NNT 2NNT", "cont 1"),
    ("TPT-04", "1NNN 2NNT 2NNT 1NNN", "stop 1"),
    ("TPT-05", "1NNN 2TTN", "cont 1"),
    ("TPT-06", "1NNN 2TTN 1NNT", "stop 1"),
    ("TPT-08", "1NTT", "stop none"),
    ("TPT-09", "1NNT 1NTN", "stop none"),
    ("TPT-11", "1NNN 2NNT 2NNN 3NNN 4NTT 3NNN", "stop 3"),
    ("TPT-13", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN", "stop top"),
    ("R-1NNN-2NTT", "1NNN 2NTT", "cont 1"),
    ("R-top-5NTT", "1NNN 2NNN 3NNN 4NNN 5NTT", "cont 4"),
    ("R-top-5NNT-5NNT", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNT", "cont 4"),
]
R_DEFAULT = [  # Storer style: top-dose stop, stop at d-1 with 3
    ("TPT-01", "1NNN 2NNN 3NNN 4NNN 5NNN", "stop top"),
    ("TPT-03", "1NNN 2NNT 2NNT", "stop 1"),
    ("TPT-05", "1NNN 2TTN", "stop 1"),
    ("TPT-08", "1NTT", "stop none"),
    ("TPT-09", "1NNT 1NTN", "stop none"),
    ("TPT-11", "1NNN 2NNT 2NNN 3NNN 4NTT", "stop 3"),
    ("TPT-13", "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN", "stop top"),
    ("R-1NNN-2TTT", "1NNN 2TTT", "stop 1"),
    ("R-top-5NTT", "1NNN 2NNN 3NNN 4NNN 5NTT", "stop 4"),
    ("R-top-5NNT-5NTT", "1NNN 2NNN 3NNN 4NNN 5NNT 5NTT", "stop 4"),
]


@pytest.mark.parametrize(
    ("outcomes", "expected"), [c[1:] for c in R_DEESCALATE], ids=[c[0] for c in R_DEESCALATE]
)
def test_it_matches_r_escalation_with_deescalation(outcomes: str, expected: str) -> None:
    design = EscalationDesign(num_levels=5, six_at_top=False)
    assert_decision(rec(design, outcomes), expected)


@pytest.mark.parametrize(
    ("outcomes", "expected"), [c[1:] for c in R_DEFAULT], ids=[c[0] for c in R_DEFAULT]
)
def test_it_matches_r_escalation_default_storer(outcomes: str, expected: str) -> None:
    design = EscalationDesign(num_levels=5, six_at_top=False, deescalate_to_six=False)
    assert_decision(rec(design, outcomes), expected)


def test_it_reproduces_the_clintrials_docstring_example() -> None:
    # brockk/clintrials ThreePlusThree: 1NNN, 2TNN, 2NNN, 3TNN, 3TNN -> recommends 2 and stops.
    r = rec(FIVE, "1NNN, 2TNN, 2NNN, 3TNN, 3TNN")
    assert (r.action, r.code, r.mtd) == ("stop", "mtd_declared", 2)
    assert sum(t.enrolled for t in r.levels) == 15


def test_it_gives_the_codes_a_clinician_reads_along_tpt_11() -> None:
    steps = escalation_trace(FIVE, parse_outcomes("1NNN 2NNT 2NNN 3NNN 4NTT 3NNN"))
    codes = [s.recommendation.code for s in steps[2::3]]
    assert codes == ["escalate", "expand", "escalate", "escalate", "de_escalate", "mtd_declared"]
    final = steps[-1].recommendation
    assert final.reason == (
        "0 of 6 evaluable subjects at DL3 had a DLT and DL4 exceeds the MTD: stop, the MTD is DL3."
    )


# --- CASES.md H: ATD -> 3+3 (levels DL1-DL4, atd_levels 2, defaults) -------------------------

ATD_CASES = [
    # id, design, outcomes, (action, dose_level, open_slots, code, phase)
    (
        "ATD-01",
        ATD4,
        [SubjectOutcome(1, dlt=False, max_related_grade=1)],
        ("enroll", 2, 1, "atd_escalate", "ATD"),
    ),
    ("ATD-02", ATD4, "1N 2N", ("enroll", 3, 3, "escalate", "3+3")),
    ("ATD-03", ATD4, "1G", ("enroll", 1, 2, "atd_triggered", "3+3")),
    ("ATD-04", ATD4, "1G 1NN", ("enroll", 2, 3, "escalate", "3+3")),
    (
        "ATD-07",
        EscalationDesign(num_levels=4, atd_levels=2, atd_trigger="dlt_or_second_grade2"),
        "1G 2G",
        ("enroll", 2, 2, "atd_triggered", "3+3"),
    ),
    ("ATD-fill-1N-2TNT", ATD4, "1N 2TNT", ("enroll", 1, 2, "de_escalate", "3+3")),
]


@pytest.mark.parametrize(
    ("design", "outcomes", "expected"), [c[1:] for c in ATD_CASES], ids=[c[0] for c in ATD_CASES]
)
def test_it_runs_the_atd_phase_as_cases_h(
    design: EscalationDesign, outcomes: object, expected: tuple
) -> None:
    subjects = parse_outcomes(outcomes) if isinstance(outcomes, str) else outcomes
    r = recommend(design, subjects)
    assert (r.action, r.dose_level, r.open_slots, r.code, r.phase) == expected
    assert r.mtd is None


def test_it_waits_for_the_whole_atd_fill_before_deciding_at_6() -> None:
    assert rec(ATD4, "1N 2TNT 1NN").open_slots == 3  # 0/3 at DL1 under an exceeded DL2: 3 more
    assert rec(ATD4, "1N 2TNT 1NNNN").open_slots == 1
    final = rec(ATD4, "1N 2TNT 1NNNNT")
    assert (final.action, final.code, final.mtd) == ("stop", "mtd_declared", 1)
    deescalate = rec(ATD4, "1N 2TNT 1NT")  # 1/3 in the fill: 3 more, still at DL1
    assert (deescalate.action, deescalate.dose_level, deescalate.open_slots) == ("enroll", 1, 3)
    assert rec(ATD4, "1N 2TNT 1TT").code == "no_tolerable_dose"  # 2 DLTs in the fill: stop


# --- The first recommendation ----------------------------------------------------------------


def test_it_starts_a_plain_3_3_with_a_cohort_of_3_at_dl1() -> None:
    r = recommend(FIVE, [])
    assert (r.action, r.dose_level, r.open_slots, r.code, r.phase) == (
        "enroll",
        1,
        3,
        "escalate",
        "3+3",
    )
    assert r.reason == "No subjects enrolled yet: enrol the first cohort of 3 at DL1."


def test_it_starts_an_atd_design_with_one_subject_at_dl1() -> None:
    r = recommend(ATD4, [])
    assert (r.action, r.dose_level, r.open_slots, r.code, r.phase) == (
        "enroll",
        1,
        1,
        "atd_escalate",
        "ATD",
    )


# --- Pending subjects and forced decisions (RULES.md §4.1) -----------------------------------


def test_it_de_escalates_at_once_when_two_dlts_force_it() -> None:
    r = rec(FIVE, "1NNN 2NNN 3TTP")
    assert (r.action, r.code, r.dose_level, r.open_slots) == ("enroll", "de_escalate", 2, 3)
    assert r.reason.startswith("2 of 2 evaluable subjects at DL3 had a DLT (1 still in the DLT")


def test_it_does_not_enrol_the_third_subject_after_two_dlts() -> None:
    r = rec(FIVE, "1NNN 2NNN 3TT")
    assert (r.action, r.code, r.dose_level) == ("enroll", "de_escalate", 2)


def test_it_waits_when_the_pending_subject_could_change_the_decision() -> None:
    r = rec(FIVE, "1NNN 2NNP")
    assert (r.action, r.code, r.dose_level, r.open_slots) == ("wait", "await_dlt_window", 2, 0)
    assert rec(FIVE, "1NNN 2TNP").action == "wait"  # 1/3 or 2/3 still possible
    assert rec(FIVE, "1NNN 2NNT 2NPP").action == "wait"  # 1/6 or 2/6 still possible


def test_it_declares_no_mtd_before_6_are_evaluable_even_if_forced() -> None:
    # 0/5 at DL2 under an exceeded DL3: whatever the pending subject shows, DL2 has <= 1/6 --
    # but the MTD needs 6 evaluable subjects, so the engine waits.
    r = rec(FIVE, "1NNN 2NNN 3TTN 2NNP")
    assert (r.action, r.dose_level) == ("wait", 2)


def test_it_de_escalates_on_two_dlts_among_six_with_pending() -> None:
    r = rec(FIVE, "1NNN 2NNT 2TPP")
    assert (r.action, r.code, r.dose_level, r.open_slots) == ("enroll", "de_escalate", 1, 3)


@pytest.mark.parametrize(
    ("outcomes", "slots"),
    [("1NNN 2N", 2), ("1NNN 2NP", 1), ("1NNN 2PP", 1), ("1NNN 2NX", 2), ("1NNN 2NNT 2P", 2)],
)
def test_it_fills_the_open_cohort_before_deciding(outcomes: str, slots: int) -> None:
    r = rec(FIVE, outcomes)
    assert (r.action, r.dose_level, r.open_slots) == ("enroll", 2, slots)
    assert r.code == ("expand" if "2NNT" in outcomes else "escalate")


# --- Boundaries of the 3+3 table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "action", "level", "code"),
    [
        ("1NNN 2NNN", "enroll", 3, "escalate"),  # 0/3
        ("1NNN 2NNT", "enroll", 2, "expand"),  # 1/3
        ("1NNN 2NTT", "enroll", 1, "de_escalate"),  # 2/3
        ("1NNN 2TTT", "enroll", 1, "de_escalate"),  # 3/3
        ("1NNN 2NNT 2NNN", "enroll", 3, "escalate"),  # 1/6
        ("1NNN 2NNT 2NNT", "enroll", 1, "de_escalate"),  # 2/6
        ("1NNT 1NNN 2NTT", "stop", 1, "mtd_declared"),  # DL1 already 1/6: MTD at once
        ("1NNN 2NNN 3NTT 2NTT", "enroll", 1, "de_escalate"),  # DL2 then 2/6: one more step down
        ("1NNN 2NNN 3NTT 2NTT 1NNN", "stop", 1, "mtd_declared"),
        ("1NNN 2NNN 3NTT 2NNT", "stop", 2, "mtd_declared"),  # 1/6 at DL2
    ],
)
def test_it_decides_at_the_table_boundaries(
    outcomes: str, action: str, level: int, code: str
) -> None:
    r = rec(FIVE, outcomes)
    assert (r.action, r.dose_level, r.code) == (action, level, code)
    assert r.mtd == (level if code == "mtd_declared" else None)


def test_it_tells_the_clinician_why_it_de_escalates() -> None:
    r = rec(FIVE, "1NNN 2NNN 3NTT")
    assert r.reason == (
        "2 of 3 evaluable subjects at DL3 had a DLT; DL3 exceeds the MTD and DL2 had 0 of 3 with "
        "a DLT: treat 3 more at DL2 (the MTD needs 6)."
    )


def test_it_stops_with_no_tolerable_dose_at_the_lowest_level() -> None:
    r = rec(FIVE, "1TT")
    assert (r.action, r.code, r.dose_level, r.mtd) == ("stop", "no_tolerable_dose", None, None)
    assert "lowest level" in r.reason


def test_it_stops_at_the_top_when_one_of_six_had_a_dlt() -> None:
    r = rec(FIVE, "1NNN 2NNN 3NNN 4NNN 5NNT 5NNN")
    assert r.reason.endswith(
        "stop, DL5 is the top dose and the highest dose tolerated (MTD not reached)."
    )


def test_it_de_escalates_from_the_top_on_two_of_six() -> None:
    r = rec(FIVE, "1NNN 2NNN 3NNN 4NNN 5NNT 5NNT")
    assert (r.action, r.code, r.dose_level) == ("enroll", "de_escalate", 4)


# --- mtd_max_dlt_of_6 = 2 (registry variant, RULES.md §4.1) ---------------------------------

MTD2 = EscalationDesign(num_levels=5, mtd_max_dlt_of_6=2)


@pytest.mark.parametrize(
    ("outcomes", "action", "level", "code"),
    [
        ("1NNN 2NNT 2NNT", "stop", 2, "mtd_declared"),  # 1/3 then 1/3: MTD, no escalation
        ("1NNN 2NNT 2NTT", "enroll", 1, "de_escalate"),  # 3/6
        ("1NNN 2NTT", "enroll", 1, "de_escalate"),  # 2/3 is still too many
        ("1NNN 2NNT 2NNN", "enroll", 3, "escalate"),  # 1/6 escalates as before
        ("1NNN 2NNT 2TPP", "wait", 2, "await_dlt_window"),  # 2/4: 2/6 or 3/6 still possible
        ("1NNN 2NNT 2TTP", "enroll", 1, "de_escalate"),  # 3 DLTs: forced
        ("1NNN 2NNN 3NTT 2NTT", "stop", 2, "mtd_declared"),  # 0/3 then 2/3 = 2/6 at DL2
        ("1NNN 2NNN 3NNN 4NNN 5NNT 5NTN", "stop", 5, "mtd_declared"),  # 2/6 at the top
    ],
)
def test_it_applies_the_two_of_six_variant(
    outcomes: str, action: str, level: int, code: str
) -> None:
    r = rec(MTD2, outcomes)
    assert (r.action, r.dose_level, r.code) == (action, level, code)


# --- Non-evaluable subjects -----------------------------------------------------------------


def test_it_replaces_a_non_evaluable_subject() -> None:
    r = rec(FIVE, "1NNX")
    assert (r.action, r.dose_level, r.open_slots, r.code) == ("enroll", 1, 1, "escalate")
    assert "1 non-evaluable subject replaced" in r.reason
    assert rec(FIVE, "1NNXN").dose_level == 2
    assert rec(FIVE, "1NNXT").code == "expand"


def test_it_counts_a_non_evaluable_subject_when_replacement_is_off() -> None:
    design = EscalationDesign(num_levels=5, replace_non_evaluable=False)
    r = recommend(design, parse_outcomes("1NNX"))
    assert (r.action, r.dose_level, r.code) == ("enroll", 2, "escalate")


def test_it_never_discards_a_dlt_marked_not_evaluable() -> None:
    outcomes = parse_outcomes("1NNN 2N") + [
        SubjectOutcome(2, dlt=True, evaluable=False),
        SubjectOutcome(2, dlt=True, evaluable=False),
    ]
    r = recommend(FIVE, outcomes)
    assert (r.action, r.code, r.dose_level) == ("enroll", "de_escalate", 1)


def test_it_waits_while_the_last_place_is_pending_then_reopens_it_if_not_evaluable() -> None:
    assert rec(FIVE, "1NNP").action == "wait"
    r = rec(FIVE, "1NNX")
    assert (r.action, r.open_slots) == ("enroll", 1)


# --- DL-1 (dose_level_minus1) ----------------------------------------------------------------

MINUS1 = EscalationDesign(num_levels=3, dose_level_minus1=True)


def test_it_goes_to_dl_minus1_when_dl1_is_too_toxic() -> None:
    r = rec(MINUS1, "1NTT")
    assert (r.action, r.dose_level, r.open_slots, r.code) == ("enroll", 0, 3, "de_escalate")
    assert r.reason.endswith("enrol a cohort of 3 at DL-1.")
    assert rec(MINUS1, "1NTT 0NNN").open_slots == 3  # the MTD needs 6
    mtd = rec(MINUS1, "1NTT 0NNN 0NNT")
    assert (mtd.action, mtd.code, mtd.mtd) == ("stop", "mtd_declared", 0)
    none = rec(MINUS1, "1NTT 0NTT")
    assert (none.code, none.dose_level) == ("no_tolerable_dose", None)


def test_it_never_starts_or_escalates_into_dl_minus1() -> None:
    assert recommend(MINUS1, []).dose_level == 1
    assert rec(MINUS1, "1NNN").dose_level == 2


def test_it_rejects_dl_minus1_when_not_pre_specified() -> None:
    with pytest.raises(ValueError, match=r"dose_level 0 is outside .*dose_level_minus1"):
        rec(FIVE, "0NNN")


# --- ATD details ------------------------------------------------------------------------------


def test_it_waits_for_the_atd_subject() -> None:
    r = rec(ATD4, "1P")
    assert (r.action, r.code, r.phase, r.dose_level, r.open_slots) == (
        "wait",
        "await_dlt_window",
        "ATD",
        1,
        0,
    )


def test_it_triggers_on_a_grade2_already_seen_inside_the_window() -> None:
    r = recommend(ATD4, [SubjectOutcome(1, dlt=None, max_related_grade=2)])
    assert (r.code, r.dose_level, r.open_slots) == ("atd_triggered", 1, 2)


def test_it_replaces_a_non_evaluable_atd_subject_at_the_same_level() -> None:
    r = rec(ATD4, "1X")
    assert (r.action, r.dose_level, r.open_slots, r.phase) == ("enroll", 1, 1, "ATD")
    assert rec(ATD4, "1XN").dose_level == 2


def test_it_triggers_on_a_dlt_and_counts_it_in_the_cohort() -> None:
    assert rec(ATD4, "1N 2T").open_slots == 2
    assert rec(ATD4, "1N 2TNN").code == "expand"  # 1/3 with the ATD subject's DLT
    assert rec(ATD4, "1N 2TNT").dose_level == 1


def test_it_needs_a_second_grade2_under_the_simon_trigger() -> None:
    simon = EscalationDesign(num_levels=4, atd_levels=2, atd_trigger="dlt_or_second_grade2")
    first = rec(simon, "1G")
    assert (first.code, first.dose_level, first.phase) == ("atd_escalate", 2, "ATD")
    assert rec(simon, "1T").code == "atd_triggered"
    assert rec(simon, "1G 2N").code == "escalate"  # ATD ended at DL2 without a trigger
    assert rec(simon, "1G 2N").dose_level == 3
    pending = recommend(simon, [SubjectOutcome(1, dlt=None, max_related_grade=2)])
    assert pending.action == "wait"  # a first grade 2 may still become a DLT


def test_it_enrols_a_full_cohort_when_the_atd_subject_does_not_count() -> None:
    design = EscalationDesign(num_levels=4, atd_levels=2, atd_subject_counts=False)
    assert rec(design, "1G").open_slots == 3
    assert rec(design, "1G 1NNN").code == "escalate"
    # Its DLT still counts: 1 (ATD) + 1 in the new cohort = 2 DLTs at DL1.
    assert rec(design, "1T 1NNT").code == "no_tolerable_dose"


def test_it_waits_for_a_pending_atd_subject_that_holds_no_place() -> None:
    design = EscalationDesign(num_levels=4, atd_levels=2, atd_subject_counts=False)
    trigger = SubjectOutcome(1, dlt=None, max_related_grade=2)  # grade 2 seen, window still open
    assert recommend(design, [trigger]).open_slots == 3
    r = recommend(design, [trigger, *parse_outcomes("1NNN")])
    assert (r.action, r.dose_level) == ("wait", 1)  # its DLT would still count at DL1


def test_it_triggers_on_the_grade2_of_a_subject_who_left_early() -> None:
    left = SubjectOutcome(1, dlt=False, max_related_grade=2, evaluable=False)
    r = recommend(ATD4, [left])
    assert (r.code, r.dose_level, r.open_slots) == ("atd_triggered", 1, 3)  # not evaluable: 3 new


def test_it_starts_fresh_cohorts_when_the_atd_fill_is_fresh() -> None:
    design = EscalationDesign(num_levels=4, atd_levels=2, atd_deescalation_fill="fresh_cohorts")
    assert rec(design, "1N 2TNT").open_slots == 3


def test_it_expands_the_top_when_atd_covers_every_level() -> None:
    design = EscalationDesign(num_levels=2, atd_levels=2)
    r = rec(design, "1N 2N")
    assert (r.action, r.dose_level, r.open_slots, r.code, r.phase) == (
        "enroll",
        2,
        2,
        "expand",
        "3+3",
    )
    assert rec(design, "1N 2NNN").open_slots == 3  # top dose 0/3: 3 more
    assert rec(design, "1N 2NNNNNN").code == "top_dose_tolerated"


def test_it_hands_over_to_3_3_after_one_atd_level() -> None:
    design = EscalationDesign(num_levels=4, atd_levels=1)
    r = rec(design, "1N")
    assert (r.dose_level, r.open_slots, r.phase, r.code) == (2, 3, "3+3", "escalate")


def test_it_ignores_sentinel_days_which_is_a_date_gate() -> None:
    gated = EscalationDesign(num_levels=5, sentinel_days=28)
    for text in ["", "1N", "1NNN 2NNT", "1NNN 2NNP"]:
        assert rec(gated, text) == rec(FIVE, text)


# --- Trace -----------------------------------------------------------------------------------


def test_it_traces_the_recommendation_after_each_subject() -> None:
    outcomes = parse_outcomes("1N 2G 2NN")
    steps = escalation_trace(ATD4, outcomes)
    assert [(s.index, s.subject, s.dose_level, s.letter) for s in steps] == [
        (0, 1, 1, "N"),
        (1, 2, 2, "G"),
        (2, 3, 2, "N"),
        (3, 4, 2, "N"),
    ]
    summary = [
        (s.recommendation.code, s.recommendation.dose_level, s.recommendation.open_slots)
        for s in steps
    ]
    assert summary == [
        ("atd_escalate", 2, 1),
        ("atd_triggered", 2, 2),
        ("atd_triggered", 2, 1),
        ("escalate", 3, 3),
    ]
    for i, step in enumerate(steps):
        assert step.recommendation == recommend(ATD4, outcomes[: i + 1])


def test_it_reports_per_level_counts() -> None:
    r = rec(ATD4, "1N 2TNT 1NP")
    dl1, dl2 = r.levels[0], r.levels[1]
    assert (dl1.dose_level, dl1.enrolled, dl1.evaluable, dl1.pending, dl1.atd_subjects) == (
        1,
        3,
        2,
        1,
        1,
    )
    assert (dl2.enrolled, dl2.dlts, dl2.exceeds_mtd) == (3, 2, True)
    assert [t.dose_level for t in r.levels] == [1, 2, 3, 4]


# --- Protocol deviations (strict) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        (
            "1NNN 3NNN",
            r"Subject #4 \(N\) was enrolled at DL3, .*after the first 3 subjects.*enroll 3 at DL2",
        ),
        ("2NNN", r"Subject #1 .* at DL2, but before any subject .*enroll 3 at DL1"),
        ("1NTT 1NNN", r"Subject #4 .* at DL1, .*stop \(no_tolerable_dose"),
        ("1NNP 2NNN", r"Subject #4 .* at DL2, .*wait for the DLT window at DL1"),
        ("1NNN 2NNNN", r"Subject #7 .* at DL2, .*enroll 3 at DL3"),
        ("1NNN 2NNT 3NNN", r"Subject #7 .* at DL3, .*enroll 3 at DL2 \(expand"),
    ],
)
def test_it_flags_a_history_the_design_would_not_produce(outcomes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rec(FIVE, outcomes)


def test_it_flags_an_atd_subject_enrolled_while_the_previous_one_is_pending() -> None:
    with pytest.raises(ValueError, match=r"Subject #2 .* at DL2, .*wait for the DLT window at DL1"):
        rec(ATD4, "1P 2N")


def test_it_allows_cohort_mates_whose_dlts_came_after_they_were_enrolled() -> None:
    # 1 and 2 had DLTs, but 3 was enrolled with them: not a deviation.
    r = rec(FIVE, "1NNN 2NNN 3TTN")
    assert (r.code, r.dose_level) == ("de_escalate", 2)


def test_it_decides_safely_and_lists_deviations_when_not_strict() -> None:
    r = rec(FIVE, "1NNN 2NTT 3NNN", strict=False)
    assert (r.action, r.code, r.dose_level) == ("enroll", "de_escalate", 1)
    assert len(r.deviations) == 1 and r.deviations[0].startswith(
        "Subject #7 (N) was enrolled at DL3"
    )
    steps = escalation_trace(FIVE, parse_outcomes("1NNN 3NNN"), strict=False)
    # Only #4 deviates: #5 and #6 then fill the cohort it opened.
    assert [s.deviation is not None for s in steps] == [False, False, False, True, False, False]
    assert steps[-1].recommendation.deviations == (steps[3].deviation,)


# --- Input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1NQN", r"'1NQN': letter 'Q' is not one of N, T, G, P, X"),
        ("NNN", r"'NNN': expected a dose level number followed by one letter per subject"),
        ("3", r"'3': expected a dose level"),
        ("2N-T", r"'2N-T'"),
    ],
)
def test_it_rejects_bad_tokens(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_outcomes(text)


def test_it_rejects_levels_outside_the_design() -> None:
    with pytest.raises(
        ValueError, match=r"Subject #4: dose_level 6 is outside the design's levels 1\.\.5"
    ):
        rec(FIVE, "1NNN 6NNN")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_levels": 0}, r"num_levels must be an integer >= 1"),
        (
            {"num_levels": 3, "atd_levels": 4},
            r"atd_levels must be an integer from 0 to num_levels \(3\)",
        ),
        (
            {"num_levels": 3, "atd_trigger": "grade3"},
            r"atd_trigger must be one of 'dlt_or_related_grade2', 'dlt_or_second_grade2'",
        ),
        ({"num_levels": 3, "mtd_max_dlt_of_6": 3}, r"mtd_max_dlt_of_6 must be one of 1, 2"),
        ({"num_levels": 3, "cohort_size": 4}, r"cohort_size must be one of 3"),
        (
            {"num_levels": 3, "atd_deescalation_fill": "fill"},
            r"atd_deescalation_fill must be one of 'fill_to_6', 'fresh_cohorts'",
        ),
        (
            {"num_levels": 3, "atd_subject_counts": "yes"},
            r"atd_subject_counts must be True or False",
        ),
        ({"num_levels": 3, "sentinel_days": -1}, r"sentinel_days must be an integer >= 0"),
        ({"num_levels": True}, r"num_levels must be an integer"),
    ],
)
def test_it_rejects_bad_design_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EscalationDesign(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dose_level": "2"}, r"dose_level must be an integer"),
        ({"dose_level": 1, "dlt": "yes"}, r"dlt must be True, False or None"),
        (
            {"dose_level": 1, "max_related_grade": 6},
            r"max_related_grade must be a CTCAE grade 0, 1, 2, 3, 4 or 5",
        ),
        ({"dose_level": 1, "evaluable": None}, r"evaluable must be True or False"),
    ],
)
def test_it_rejects_bad_subject_outcomes(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SubjectOutcome(**kwargs)


def test_it_rejects_non_subject_items() -> None:
    with pytest.raises(ValueError, match=r"subject #1 is"):
        recommend(FIVE, [(1, False)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="use parse_outcomes"):
        recommend(FIVE, "1NNN")  # type: ignore[arg-type]


# --- Shorthand ---------------------------------------------------------------------------------


def test_it_parses_the_shorthand_letters() -> None:
    n, t, g, p, x = parse_outcomes("7NTGPX")
    assert n == SubjectOutcome(7)
    assert (t.dlt, t.status) == (True, "dlt")
    assert (g.dlt, g.max_related_grade, g.related_grade2) == (False, 2, True)
    assert (p.dlt, p.status) == (None, "pending")
    assert (x.evaluable, x.status) == (False, "not_evaluable")
    assert parse_outcomes("1nnt, 2p") == parse_outcomes("1NNT 2P")
    assert parse_outcomes("  ") == []
    assert parse_outcomes("10N")[0].dose_level == 10


def test_it_writes_the_shorthand_back() -> None:
    assert format_outcomes(parse_outcomes("1NNN 2NNT 2P 1X 3G")) == "1NNN 2NNTP 1X 3G"
    assert format_outcomes([]) == ""
    assert format_outcomes([SubjectOutcome(2, dlt=None, max_related_grade=3)]) == "2P"


# --- Settings document -------------------------------------------------------------------------


def test_it_exports_every_setting_with_the_rules_default() -> None:
    assert SETTINGS_DEFAULTS == {
        "atd_levels": 0,
        "atd_trigger": "dlt_or_related_grade2",
        "mtd_max_dlt_of_6": 1,
        "atd_subject_counts": True,
        "atd_deescalation_fill": "fill_to_6",
        "replace_non_evaluable": True,
        "dose_level_minus1": False,
        "cohort_size": 3,
        "sentinel_days": 0,
        "six_at_top": True,
        "deescalate_to_six": True,
    }
    assert set(SETTINGS_DEFAULTS) == {f.name for f in fields(EscalationDesign)} - {"num_levels"}
    for name, choices in SETTINGS_CHOICES.items():
        assert SETTINGS_DEFAULTS[name] in choices
    assert EscalationDesign(num_levels=4, **SETTINGS_DEFAULTS) == EscalationDesign(num_levels=4)


# --- Dose arithmetic ---------------------------------------------------------------------------


def test_it_computes_bsa() -> None:
    assert bsa_mosteller(180, 80) == 2.0
    assert bsa_mosteller(Decimal("160"), Decimal("60")) == pytest.approx(math.sqrt(160 * 60 / 3600))
    assert bsa_du_bois(180, 80) == pytest.approx(0.007184 * 80**0.425 * 180**0.725)
    assert bsa_du_bois(180, 80) == pytest.approx(1.9964, abs=5e-4)


def test_it_computes_cell_doses() -> None:
    assert dose_per_kg(7e7, 70) == pytest.approx(1e6)
    assert cells_to_infuse(2e6, 65.5) == pytest.approx(1.31e8)
    assert cells_to_infuse(Decimal("1e6"), 70) == pytest.approx(7e7)
    assert lymphodepletion_dose_mg(30, 1.8) == pytest.approx(54.0)
    assert lymphodepletion_dose_mg(500, 2.0) == pytest.approx(1000.0)


def test_it_signs_the_dose_deviation() -> None:
    assert dose_deviation_pct(0.95e6, 1e6) == pytest.approx(-5.0)
    assert dose_deviation_pct(1.1e6, 1e6) == pytest.approx(10.0)
    assert dose_deviation_pct(1e6, 1e6) == 0.0
    assert dose_deviation_pct(0, 1e6) == -100.0  # aborted infusion


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bsa_mosteller(0, 70), r"height_cm must be a finite number > 0 \(got 0\)"),
        (lambda: bsa_du_bois(170, -1), r"weight_kg must be a finite number > 0"),
        (lambda: dose_per_kg(1e8, float("nan")), r"weight_kg must be a finite number > 0"),
        (lambda: cells_to_infuse(True, 70), r"dose_cells_per_kg must be a number"),
        (lambda: cells_to_infuse("1e6", 70), r"dose_cells_per_kg must be a number"),
        (lambda: dose_deviation_pct(1, 0), r"planned must be a finite number > 0"),
        (lambda: dose_deviation_pct(-1, 10), r"actual must be a finite number >= 0"),
        (lambda: lymphodepletion_dose_mg(30, float("inf")), r"bsa_m2 must be a finite number > 0"),
        (lambda: lymphodepletion_dose_mg(0, 1.8), r"dose_mg_m2 must be a finite number > 0"),
        (lambda: dose_per_kg(0, 70), r"total_cells must be a finite number > 0"),
    ],
)
def test_it_rejects_impossible_dose_inputs(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- Purity ------------------------------------------------------------------------------------


def test_it_imports_no_django() -> None:
    code = "import sys, dosing.rules; assert 'django' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
