"""Independent review of the escalation engine (dosing.rules.recommend) against RULES.md §4.

Every expected value below was worked out by hand from RULES.md §4.1 (Korn 1994 "6 at the MTD"
3+3, de-escalation, top and lowest dose, MTD definition, ``mtd_max_dlt_of_6``, replacement of
non-evaluable subjects, "a decision already forced by the DLTs counted so far does not wait for
pending subjects") and §4.2 (ATD: ``atd_levels``, ``atd_trigger``, ``atd_subject_counts``,
``atd_deescalation_fill``); the comment on each case names the rule. Letters (CONTRACT.md):
N no DLT, T DLT, G no DLT but related grade 2, P DLT window pending, X not evaluable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosing.rules import (
    EscalationDesign,
    Recommendation,
    SubjectOutcome,
    format_outcomes,
    parse_outcomes,
    recommend,
)

FIVE = EscalationDesign(num_levels=5)
MTD2 = EscalationDesign(num_levels=5, mtd_max_dlt_of_6=2)
ATD4 = EscalationDesign(num_levels=4, atd_levels=2)  # CASES.md H: DL1-DL4, ATD at DL1-DL2
SIMON = EscalationDesign(num_levels=4, atd_levels=2, atd_trigger="dlt_or_second_grade2")
ATD_TOP = EscalationDesign(num_levels=2, atd_levels=2)  # the ATD levels reach the top dose
ATD1 = EscalationDesign(num_levels=3, atd_levels=1)
FRESH = EscalationDesign(num_levels=4, atd_levels=2, atd_deescalation_fill="fresh_cohorts")

TOP = "1NNN 2NNN 3NNN 4NNN"  # four levels cleared with 0/3: the next cohort is at the top (DL5)

# (id, design, outcomes, (action, dose_level, mtd, open_slots, code, phase))
E, W, S = "enroll", "wait", "stop"
P33 = "3+3"
CASES = [
    # --- Korn 3+3, RULES.md §4.1 -----------------------------------------------------------
    # >= 2 DLTs at d exceed the MTD at once; DL2 already holds <= 1/6 -> stop, MTD = DL2.
    ("early-2of2-at-DL3-DL2-has-1of6", FIVE, "1NNN 2NNT 2NNN 3TT", (S, 2, 2, 0, "mtd_declared")),
    # 1/3 then 1/3 = 2/6 at DL2 exceeds; DL1 holds only 0/3 -> 3 more at DL1 (MTD needs 6).
    ("DL2-2of6-DL1-has-3", FIVE, "1NNN 2NNT 2NTN", (E, 1, None, 3, "de_escalate")),
    ("DL2-2of6-then-DL1-0of6", FIVE, "1NNN 2NNT 2NTN 1NNN", (S, 1, 1, 0, "mtd_declared")),
    (
        "DL2-2of6-then-DL1-2of6",
        FIVE,
        "1NNN 2NNT 2NTN 1TNT",
        (S, None, None, 0, "no_tolerable_dose"),
    ),
    # 2 DLTs among 2 at DL4 force de-escalation despite the pending third; DL3 has 1/6 -> MTD.
    ("DL4-TTP-DL3-1of6", FIVE, "1NNN 2NNN 3NNT 3NNN 4TTP", (S, 3, 3, 0, "mtd_declared")),
    # Top dose: 0/3 -> 3 more at the top; 1/3 -> 3 more; <= 1/6 -> stop, top tolerated.
    ("top-0of3", FIVE, f"{TOP} 5NNN", (E, 5, None, 3, "expand")),
    ("top-1of3", FIVE, f"{TOP} 5NNT", (E, 5, None, 3, "expand")),
    ("top-1of3-then-0of3", FIVE, f"{TOP} 5NNT 5NNN", (S, 5, None, 0, "top_dose_tolerated")),
    ("top-0of3-then-1of3", FIVE, f"{TOP} 5NNN 5TNN", (S, 5, None, 0, "top_dose_tolerated")),
    ("top-0of6", FIVE, f"{TOP} 5NNN 5NNN", (S, 5, None, 0, "top_dose_tolerated")),
    # >= 2/6 at the top exceeds: de-escalate to DL4 (0/3) -> 3 more there, then MTD at 6.
    ("top-2of6", FIVE, f"{TOP} 5NNT 5NTN", (E, 4, None, 3, "de_escalate")),
    ("top-0of3-then-TT-forced", FIVE, f"{TOP} 5NNN 5TT", (E, 4, None, 3, "de_escalate")),
    ("top-2of6-then-DL4-1of6", FIVE, f"{TOP} 5NNT 5NTN 4NTN", (S, 4, 4, 0, "mtd_declared")),
    # Lowest dose exceeds -> stop, no tolerable dose.
    ("lowest-TTN", FIVE, "1TTN", (S, None, None, 0, "no_tolerable_dose")),
    ("lowest-TT-forced", FIVE, "1TT", (S, None, None, 0, "no_tolerable_dose")),
    ("lowest-TPT-forced", FIVE, "1TPT", (S, None, None, 0, "no_tolerable_dose")),
    # 1/6 escalates; 2/6 at the lowest dose stops (also as soon as the 2nd DLT is counted).
    ("DL1-1of6-escalates", FIVE, "1NNT 1NNN", (E, 2, None, 3, "escalate")),
    ("DL1-2of6-stops", FIVE, "1NNT 1NNT", (S, None, None, 0, "no_tolerable_dose")),
    ("DL1-2of4-with-pending", FIVE, "1NNT 1TP", (S, None, None, 0, "no_tolerable_dose")),
    # De-escalation from DL2 (2/3) to DL1 (0/3): 3 more, MTD if <= 1/6.
    ("deesc-DL1-0of6", FIVE, "1NNN 2TTN 1NNN", (S, 1, 1, 0, "mtd_declared")),
    # The brief expected "stop none" here, but DL1 holds 1NNN + 1NTN = 1/6: MTD = DL1.
    ("deesc-DL1-1of6-is-the-MTD", FIVE, "1NNN 2TTN 1NTN", (S, 1, 1, 0, "mtd_declared")),
    ("deesc-DL1-2of6", FIVE, "1NNN 2TTN 1NTT", (S, None, None, 0, "no_tolerable_dose")),
    ("deesc-DL1-TT-forced", FIVE, "1NNN 2TTN 1TTP", (S, None, None, 0, "no_tolerable_dose")),
    # Two de-escalation steps: DL3 2/3, DL2 0/3 then 2/3 (= 2/6), DL1 0/3 then 0/3.
    ("deesc-twice", FIVE, "1NNN 2NNN 3TT 2NTT", (E, 1, None, 3, "de_escalate")),
    ("deesc-twice-MTD-DL1", FIVE, "1NNN 2NNN 3TT 2NTT 1NNN", (S, 1, 1, 0, "mtd_declared")),
    # DL3 2/6 after de-escalation from DL4; DL2 already holds 6 with 1/6 -> MTD DL2.
    ("DL3-2of6-DL2-has-6", FIVE, "1NNN 2NNT 2NNN 3NNN 4TT 3TNT", (S, 2, 2, 0, "mtd_declared")),
    # --- Pending subjects: wait unless the DLTs counted so far force the decision -------------
    ("P-0of2-wait", FIVE, "1NNN 2NNP", (W, 2, None, 0, "await_dlt_window")),
    ("P-1of2-wait", FIVE, "1NNN 2NTP", (W, 2, None, 0, "await_dlt_window")),
    ("P-first-of-cohort-wait", FIVE, "1NNN 2PNT", (W, 2, None, 0, "await_dlt_window")),
    ("P-fills-its-cohort", FIVE, "1NNN 2TP", (E, 2, None, 1, "escalate")),
    ("P-TTP-forced", FIVE, "1NNN 2TTP", (E, 1, None, 3, "de_escalate")),
    ("P-PTT-forced", FIVE, "1NNN 2PTT", (E, 1, None, 3, "de_escalate")),
    ("P-second-cohort-1of5-wait", FIVE, "1NNN 2NNT 2NNP", (W, 2, None, 0, "await_dlt_window")),
    ("P-second-cohort-PTP-forced", FIVE, "1NNN 2NNT 2PTP", (E, 1, None, 3, "de_escalate")),
    # The MTD and the tolerated top dose need 6 evaluable subjects: wait for the sixth.
    ("P-MTD-needs-6-evaluable", FIVE, "1NNN 2TTN 1NNP", (W, 1, None, 0, "await_dlt_window")),
    ("P-top-needs-6-evaluable", FIVE, f"{TOP} 5NNT 5NNP", (W, 5, None, 0, "await_dlt_window")),
    # A pending subject at a level that already exceeds the MTD changes nothing.
    ("P-at-exceeded-level-ignored", FIVE, "1NNN 2NNN 3TTP 2NNN", (S, 2, 2, 0, "mtd_declared")),
    ("P-at-exceeded-level-fill", FIVE, "1NNN 2NNN 3TTP 2P", (E, 2, None, 2, "de_escalate")),
    # --- Non-evaluable subjects are replaced and not counted (replace_non_evaluable) ---------
    ("X-first", FIVE, "1XNNN", (E, 2, None, 3, "escalate")),
    ("X-middle", FIVE, "1NXN", (E, 1, None, 1, "escalate")),
    ("X-between-DLTs", FIVE, "1NNN 2TXT", (E, 1, None, 3, "de_escalate")),
    ("X-opens-second-cohort", FIVE, "1NNN 2NNT 2XNNN", (E, 3, None, 3, "escalate")),
    ("X-all", FIVE, "1XXX", (E, 1, None, 3, "escalate")),
    # The first subject of the de-escalation cohort dropped out: same decision, same code.
    ("X-in-deescalation-cohort", FIVE, "1NNN 2TTN 1X", (E, 1, None, 3, "de_escalate")),
    ("X-after-2of6", FIVE, "1NNN 2NNT 2NTN 1XX", (E, 1, None, 3, "de_escalate")),
    ("X-at-top", FIVE, f"{TOP} 5NNNX", (E, 5, None, 3, "expand")),
    # --- mtd_max_dlt_of_6 = 2 (RULES.md §4.1): 1/3 then 1/3 = 2/6 is the MTD ----------------
    ("m2-DL1-2of6-MTD", MTD2, "1NNT 1NTN", (S, 1, 1, 0, "mtd_declared")),
    ("m2-DL1-3of6", MTD2, "1NNT 1NTT", (S, None, None, 0, "no_tolerable_dose")),
    ("m2-DL1-3of5-forced", MTD2, "1NNT 1TT", (S, None, None, 0, "no_tolerable_dose")),
    ("m2-DL1-2of5-wait", MTD2, "1NNT 1TNP", (W, 1, None, 0, "await_dlt_window")),
    ("m2-DL2-2of6-MTD", MTD2, "1NNN 2NNT 2TNN", (S, 2, 2, 0, "mtd_declared")),
    ("m2-DL2-1of6-escalates", MTD2, "1NNN 2NNT 2NNN", (E, 3, None, 3, "escalate")),
    ("m2-2of3-still-exceeds", MTD2, "1NNN 2TTN", (E, 1, None, 3, "de_escalate")),
    ("m2-X-keeps-cohort-open", MTD2, "1NNN 2NNT 2TXP", (E, 2, None, 1, "expand")),
    ("m2-top-2of6-MTD", MTD2, f"{TOP} 5NNT 5NTN", (S, 5, 5, 0, "mtd_declared")),
    ("m2-top-1of6-tolerated", MTD2, f"{TOP} 5NNT 5NNN", (S, 5, None, 0, "top_dose_tolerated")),
    ("m2-top-3of6", MTD2, f"{TOP} 5NNT 5TTN", (E, 4, None, 3, "de_escalate")),
    # --- ATD then 3+3 (RULES.md §4.2; defaults, DL1-DL4, ATD at DL1-DL2) ------------------------
    ("ATD-start", ATD4, "", (E, 1, None, 1, "atd_escalate", "ATD")),
    ("ATD-1N", ATD4, "1N", (E, 2, None, 1, "atd_escalate", "ATD")),
    # No trigger through the last ATD level -> normal 3+3 cohort at the next level.
    ("ATD-1N-2N", ATD4, "1N 2N", (E, 3, None, 3, "escalate")),
    # Trigger (related grade 2 or DLT): the ATD subject is the first of 3 -> 2 more.
    ("ATD-1G", ATD4, "1G", (E, 1, None, 2, "atd_triggered")),
    ("ATD-1GNN", ATD4, "1GNN", (E, 2, None, 3, "escalate")),
    ("ATD-1T", ATD4, "1T", (E, 1, None, 2, "atd_triggered")),
    ("ATD-1TNN", ATD4, "1TNN", (E, 1, None, 3, "expand")),
    ("ATD-1TNT", ATD4, "1TNT", (S, None, None, 0, "no_tolerable_dose")),
    ("ATD-1TT-forced", ATD4, "1TT", (S, None, None, 0, "no_tolerable_dose")),
    ("ATD-1N-2T", ATD4, "1N 2T", (E, 2, None, 2, "atd_triggered")),
    # De-escalation into an ATD level (fill_to_6): 2 more (the ATD subject counts), then 3.
    ("ATD-1N-2TNT", ATD4, "1N 2TNT", (E, 1, None, 2, "de_escalate")),
    ("ATD-1N-2TT-forced", ATD4, "1N 2TT", (E, 1, None, 2, "de_escalate")),
    ("ATD-fill-0of3", ATD4, "1N 2TNT 1NN", (E, 1, None, 3, "expand")),
    ("ATD-fill-1of6-MTD", ATD4, "1N 2TNT 1NT 1NNN", (S, 1, 1, 0, "mtd_declared")),
    ("ATD-fill-2of6", ATD4, "1N 2TNT 1NT 1NNT", (S, None, None, 0, "no_tolerable_dose")),
    ("ATD-fill-TT", ATD4, "1N 2TNT 1TT", (S, None, None, 0, "no_tolerable_dose")),
    ("ATD-untriggered-level-fill", ATD4, "1N 2N 3TT", (E, 2, None, 2, "de_escalate")),
    ("ATD-untriggered-level-MTD", ATD4, "1N 2N 3TT 2NN 2NNN", (S, 2, 2, 0, "mtd_declared")),
    ("ATD-1N-2G-2NN-3NNN", ATD4, "1N 2G 2NN 3NNN", (E, 4, None, 3, "escalate")),
    ("ATD-then-top-0of3", ATD4, "1N 2N 3NNN 4NNN", (E, 4, None, 3, "expand")),
    ("ATD-then-top-0of6", ATD4, "1N 2N 3NNN 4NNN 4NNN", (S, 4, None, 0, "top_dose_tolerated")),
    # A non-evaluable ATD subject is replaced at the same level; it never triggers by itself.
    ("ATD-1X", ATD4, "1X", (E, 1, None, 1, "atd_escalate", "ATD")),
    ("ATD-1XN", ATD4, "1XN", (E, 2, None, 1, "atd_escalate", "ATD")),
    ("ATD-1N-2XG", ATD4, "1N 2XG", (E, 2, None, 2, "atd_triggered")),
    ("ATD-1P", ATD4, "1P", (W, 1, None, 0, "await_dlt_window", "ATD")),
    ("ATD-1N-2P", ATD4, "1N 2P", (W, 2, None, 0, "await_dlt_window", "ATD")),
    ("ATD-1GP", ATD4, "1GP", (E, 1, None, 1, "atd_triggered")),
    ("ATD-1GPP", ATD4, "1GPP", (W, 1, None, 0, "await_dlt_window")),
    ("ATD-1TTP-forced", ATD4, "1TTP", (S, None, None, 0, "no_tolerable_dose")),
    # Simon-strict trigger: first DLT or second related grade-2.
    ("Simon-1G", SIMON, "1G", (E, 2, None, 1, "atd_escalate", "ATD")),
    ("Simon-1G-2G", SIMON, "1G 2G", (E, 2, None, 2, "atd_triggered")),
    ("Simon-1G-2N", SIMON, "1G 2N", (E, 3, None, 3, "escalate")),
    ("Simon-1N-2G", SIMON, "1N 2G", (E, 3, None, 3, "escalate")),
    ("Simon-1T", SIMON, "1T", (E, 1, None, 2, "atd_triggered")),
    ("Simon-1G-2T", SIMON, "1G 2T", (E, 2, None, 2, "atd_triggered")),
    # ATD levels reach the top: the top becomes a 3+3 cohort (ATD subject counts), 6 at top.
    ("ATD-top-1N-2N", ATD_TOP, "1N 2N", (E, 2, None, 2, "expand")),
    ("ATD-top-0of3", ATD_TOP, "1N 2NNN", (E, 2, None, 3, "expand")),
    ("ATD-top-0of6", ATD_TOP, "1N 2NNNNNN", (S, 2, None, 0, "top_dose_tolerated")),
    ("ATD1-1N", ATD1, "1N", (E, 2, None, 3, "escalate")),
    ("ATD1-1T", ATD1, "1T", (E, 1, None, 2, "atd_triggered")),
    # fresh_cohorts: the ATD subject does not count, so 3 new subjects at DL1.
    ("ATD-fresh-1N-2TNT", FRESH, "1N 2TNT", (E, 1, None, 3, "de_escalate")),
]


def _key(r: Recommendation) -> tuple:
    return (r.action, r.dose_level, r.mtd, r.open_slots, r.code, r.phase)


def _expected(value: tuple) -> tuple:
    return value if len(value) == 6 else (*value, P33)


@pytest.mark.parametrize(
    ("design", "outcomes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_it_decides_as_worked_out_by_hand(
    design: EscalationDesign, outcomes: str, expected: tuple
) -> None:
    assert _key(recommend(design, parse_outcomes(outcomes))) == _expected(expected)


# --- The reason cites the right counts -------------------------------------------------------

_COUNTS = re.compile(r"(\d+) of (\d+) evaluable subjects at DL(\d+) had a DLT")
_BELOW = re.compile(r"DL(\d+) had (\d+) of (\d+) with a DLT")


def _dlts(outcomes: list[SubjectOutcome], level: int) -> int:
    return sum(o.dose_level == level and o.status == "dlt" for o in outcomes)


def _evaluable(outcomes: list[SubjectOutcome], level: int) -> int:
    return sum(o.dose_level == level and o.status in ("dlt", "no_dlt") for o in outcomes)


COUNTED = [c for c in CASES if c[1].atd_deescalation_fill == "fill_to_6"]


@pytest.mark.parametrize(
    ("design", "outcomes"), [c[1:3] for c in COUNTED], ids=[c[0] for c in COUNTED]
)
def test_it_cites_the_dlt_counts_in_the_reason(design: EscalationDesign, outcomes: str) -> None:
    subjects = parse_outcomes(outcomes)
    r = recommend(design, subjects)
    for dlts, n, level in _COUNTS.findall(r.reason) + [
        (d, n, lv) for lv, d, n in _BELOW.findall(r.reason)
    ]:
        level_ = int(level)
        assert (int(dlts), int(n)) == (_dlts(subjects, level_), _evaluable(subjects, level_))
    if r.action == "stop" and r.code != "no_tolerable_dose":
        assert f"DL{r.dose_level}" in r.reason


def test_it_explains_the_early_de_escalation_with_the_pending_subject() -> None:
    r = recommend(FIVE, parse_outcomes("1NNN 2NNN 3NNT 3NNN 4TTP"))
    assert r.reason == (
        "2 of 2 evaluable subjects at DL4 had a DLT (1 still in the DLT window); DL4 exceeds the "
        "MTD and DL3 had 1 of 6 with a DLT: stop, the MTD is DL3."
    )


# --- Replacing a non-evaluable subject never changes the decision (RULES.md §4.1) -------------

X_BASES = [
    (FIVE, "1NNN 2NNT 2NNN 3TT"),
    (FIVE, "1NNN 2NNT 2NTN"),
    (FIVE, "1NNN 2NNN 3NNT 3NNN 4TTP"),
    (FIVE, "1NNN 2TTN 1NTN"),
    (FIVE, "1NNT 1NNT"),
    (FIVE, f"{TOP} 5NNT 5NNN"),
    (MTD2, "1NNN 2NNT 2TNN"),
    (ATD4, "1N 2TNT 1NT"),
    (ATD4, "1N 2G 2NN 3NNN"),
    (ATD4, "1N 2N 3TT 2NN"),
]


def _with_x_everywhere() -> Iterator[tuple[str, EscalationDesign, list[SubjectOutcome]]]:
    for design, text in X_BASES:
        subjects = parse_outcomes(text)
        final = recommend(design, subjects)
        for i in range(len(subjects) + 1):
            if i < len(subjects):
                level = subjects[i].dose_level
            elif final.action == "enroll":
                level = final.dose_level
            else:
                continue
            x = SubjectOutcome(level, dlt=False, evaluable=False)
            yield f"{text}|X@{i}", design, subjects[:i] + [x] + subjects[i:]


X_CASES = list(_with_x_everywhere())


@pytest.mark.parametrize(
    ("design", "subjects"), [c[1:] for c in X_CASES], ids=[c[0] for c in X_CASES]
)
def test_a_replaced_subject_changes_nothing(
    design: EscalationDesign, subjects: list[SubjectOutcome]
) -> None:
    without = [s for s in subjects if s.evaluable]
    assert _key(recommend(design, subjects)) == _key(recommend(design, without))


# --- Readings kept (documented; see the module docstring of dosing.rules) --------------------


@pytest.mark.parametrize(
    ("design", "outcomes", "level"),
    [
        (FIVE, f"{TOP} 5NNP", 5),  # 0/3 or 1/3 both mean "3 more at the top"
        (ATD4, "1N 2TNT 1NP", 1),  # 0/3 or 1/3 both mean "3 more at DL1"
        (FIVE, "1NNN 2NNN 3TTN 2NNP", 2),  # 0/6 or 1/6 both mean "MTD DL2"
    ],
    ids=["top-NNP", "atd-fill-NNP", "mtd-NNN-NNP"],
)
def test_it_waits_when_no_dlt_forces_the_next_cohort(
    design: EscalationDesign, outcomes: str, level: int
) -> None:
    # The next step does not depend on whether the pending subject has a DLT, but nothing is
    # *forced by the DLTs counted*: a new cohort (or the MTD) waits for the window, and the
    # pending subject may still leave early and need replacing (RULES.md §4.1, "6 evaluable").
    r = recommend(design, parse_outcomes(outcomes))
    assert (r.action, r.dose_level, r.code) == ("wait", level, "await_dlt_window")


# --- Never two cohorts in flight at two levels ------------------------------------------------


def assert_one_level_in_flight(outcomes: list[SubjectOutcome], r: Recommendation) -> None:
    """Enrolling at L (or stopping) while a subject at another level M is in the DLT window is
    allowed only when a level in (L, M] has >= 2 DLTs -- a forced de-escalation away from a
    level whose pending outcome can no longer matter (RULES.md §4.1: ``1NNN 2NNN 3TTP``).
    "No tolerable dose" is final whatever is pending."""
    if r.action == "wait" or r.code == "no_tolerable_dose":
        return
    here = r.dose_level
    busy = {o.dose_level for o in outcomes if o.status == "pending"}
    if r.action == "enroll":
        busy.discard(here)
    for level in busy:
        assert any(_dlts(outcomes, k) >= 2 for k in range(here + 1, level + 1)), (
            format_outcomes(outcomes),
            r.describe(),
        )


def _followed(design: EscalationDesign, letters: str, max_subjects: int) -> Iterator[list]:
    """Every history that enrols where recommended, with at most 2 subjects pending or X."""
    stack: list[list[SubjectOutcome]] = [[]]
    while stack:
        outcomes = stack.pop()
        r = recommend(design, outcomes)
        yield outcomes, r
        if r.action != "enroll" or len(outcomes) >= max_subjects:
            continue
        rare = sum(o.status in ("pending", "not_evaluable") for o in outcomes)
        for letter in letters:
            if letter in "PX" and rare >= 2:
                continue
            stack.append(outcomes + parse_outcomes(f"{r.dose_level}{letter}"))


@pytest.mark.parametrize(
    ("design", "letters", "depth"),
    [
        (EscalationDesign(num_levels=3), "NTPX", 11),
        (EscalationDesign(num_levels=3, mtd_max_dlt_of_6=2), "NTP", 11),
        (EscalationDesign(num_levels=3, atd_levels=2), "NTPG", 8),
        (
            EscalationDesign(num_levels=3, atd_levels=2, atd_trigger="dlt_or_second_grade2"),
            "NTPG",
            8,
        ),
        (EscalationDesign(num_levels=2, dose_level_minus1=True), "NTP", 10),
    ],
    ids=["korn", "two-of-six", "atd", "atd-simon", "dl-minus1"],
)
def test_it_never_puts_two_levels_in_flight_when_followed(
    design: EscalationDesign, letters: str, depth: int
) -> None:
    seen = 0
    for outcomes, r in _followed(design, letters, depth):
        assert_one_level_in_flight(outcomes, r)
        if r.action == "wait":
            assert any(o.dose_level == r.dose_level and o.status == "pending" for o in outcomes)
        seen += 1
    assert seen > 500


@pytest.mark.parametrize(
    ("design", "outcomes", "level"),
    [
        # DL1 still has a subject in the window: a DLT would make DL1 (1NTT) exceed the MTD.
        (FIVE, "1NTP 2NNN", 1),
        (FIVE, "1NPP 2NNN 3NNN", 1),
        # No MTD / tolerated top dose while a lower level can still exceed the MTD.
        (FIVE, "1NNP 2NNN 3TT 2NNN", 1),
        (FIVE, "1NPP 2NNN 3NNN 4NNN 5NNN 5NNN", 1),
        # A higher level still in flight and not exceeding: wait for it, enrol nowhere else.
        (FIVE, "1NNN 2NNT 2NNN 3NNP 2N", 3),
        (ATD4, "1P 2N", 1),
    ],
    ids=[
        "escalate-past-1NTP",
        "escalate-past-1NPP",
        "mtd-over-1NNP",
        "top-over-1NPP",
        "fill-below-3NNP",
        "atd-past-1P",
    ],
)
def test_it_waits_for_a_level_in_flight_on_an_off_protocol_history(
    design: EscalationDesign, outcomes: str, level: int
) -> None:
    subjects = parse_outcomes(outcomes)
    with pytest.raises(ValueError, match="protocol deviation"):
        recommend(design, subjects)
    r = recommend(design, subjects, strict=False)
    assert (r.action, r.dose_level, r.code, r.open_slots) == ("wait", level, "await_dlt_window", 0)
    assert "no two levels in flight" in r.reason and r.deviations


def test_it_still_de_escalates_away_from_an_exceeded_level_in_flight() -> None:
    r = recommend(FIVE, parse_outcomes("1NNN 2TT 3NNP"), strict=False)
    assert (r.action, r.dose_level, r.code) == ("enroll", 1, "de_escalate")


@st.composite
def _histories(draw: st.DrawFn) -> tuple[EscalationDesign, list[SubjectOutcome]]:
    levels = draw(st.integers(1, 4))
    design = EscalationDesign(
        num_levels=levels,
        atd_levels=draw(st.integers(0, min(levels, 2))),
        mtd_max_dlt_of_6=draw(st.sampled_from([1, 2])),
        dose_level_minus1=draw(st.booleans()),
    )
    subject = st.builds(
        SubjectOutcome,
        dose_level=st.integers(design.lowest_level, levels),
        dlt=st.sampled_from([False, False, True, None]),
        max_related_grade=st.integers(0, 3),
        evaluable=st.sampled_from([True, True, True, False]),
    )
    return design, draw(st.lists(subject, max_size=20))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_histories())
def test_it_never_puts_two_levels_in_flight_on_any_history(
    case: tuple[EscalationDesign, list[SubjectOutcome]],
) -> None:
    design, outcomes = case
    assert_one_level_in_flight(outcomes, recommend(design, outcomes, strict=False))
