"""The escalation readings settled where the 3+3 / ATD descriptions admit two readings: each
pinned at the case that tells the readings apart."""

from __future__ import annotations

import pytest

from dosing.rules import SETTINGS_DEFAULTS, EscalationDesign, parse_outcomes, recommend

FIVE = EscalationDesign(num_levels=5)
TWO_OF_SIX = EscalationDesign(num_levels=5, mtd_max_dlt_of_6=2)
ATD_TWO_OF_SIX = EscalationDesign(num_levels=5, atd_levels=1, mtd_max_dlt_of_6=2)
ATD_TO_TOP = EscalationDesign(num_levels=2, atd_levels=2)
TOP = "1NNN 2NNN 3NNN 4NNN "


def decide(design: EscalationDesign, text: str) -> tuple:
    r = recommend(design, parse_outcomes(text))
    return (r.action, r.dose_level, r.open_slots, r.code, r.mtd)


@pytest.mark.parametrize(
    ("design", "text", "expected"),
    [
        # Only an exceeded MTD is acted on while subjects are pending...
        (FIVE, "1NNN 2TTP", ("enroll", 1, 3, "de_escalate", None)),
        (TWO_OF_SIX, "1NNN 2NNT 2TTP", ("enroll", 1, 3, "de_escalate", None)),
        # ...any other decision waits, even when every outcome would lead to it.
        (FIVE, TOP + "5NNN 5NNP", ("wait", 5, 0, "await_dlt_window", None)),
        (FIVE, "1NNN 2NTP", ("wait", 2, 0, "await_dlt_window", None)),
        (TWO_OF_SIX, "1NNN 2NNT 2NTP", ("wait", 2, 0, "await_dlt_window", None)),
    ],
)
def test_forced_decisions_only_on_an_exceeded_mtd(design, text, expected):
    assert decide(design, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1NNN 2NNT 2NNT", ("stop", 2, 0, "mtd_declared", 2)),  # 1/3 then 1/3
        ("1NNN 2NNN 3NTT 2NTT", ("stop", 2, 0, "mtd_declared", 2)),  # 0/3 then 2/3
        ("1NNN 2NNT 2NTT", ("enroll", 1, 3, "de_escalate", None)),  # 3/6: one past
        ("1NNN 2NTT", ("enroll", 1, 3, "de_escalate", None)),  # 2/3 still exceeds
    ],
)
def test_two_of_six_in_any_order_is_within_the_mtd(text, expected):
    assert decide(TWO_OF_SIX, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1N 2NTT", ("enroll", 1, 2, "de_escalate", None)),  # fill the ATD level to 3
        ("1N 2NTT 1NN", ("enroll", 1, 3, "expand", None)),  # 0/3: 3 more
        ("1N 2NTT 1NN 1NTT", ("stop", 1, 0, "mtd_declared", 1)),  # 2/6: MTD
        ("1N 2NTT 1NT 1NTN", ("stop", 1, 0, "mtd_declared", 1)),  # 1/3 then 1/3
        ("1N 2NTT 1NN 1TTT", ("stop", None, 0, "no_tolerable_dose", None)),  # 3/6
    ],
)
def test_a_de_escalation_filled_atd_level_follows_the_same_table(text, expected):
    assert decide(ATD_TWO_OF_SIX, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TOP + "5NNT 5NTN", ("stop", 5, 0, "mtd_declared", 5)),  # 2/6 at the top: MTD = top
        (TOP + "5NNN 5NTT", ("stop", 5, 0, "mtd_declared", 5)),
        (TOP + "5NNT 5NNN", ("stop", 5, 0, "top_dose_tolerated", None)),  # 1/6: not reached
    ],
)
def test_two_of_six_at_the_top_dose_declares_the_mtd(text, expected):
    assert decide(TWO_OF_SIX, text) == expected


def test_atd_through_the_top_dose_counts_the_atd_subject_in_the_top_cohort():
    assert decide(ATD_TO_TOP, "1N 2N") == ("enroll", 2, 2, "expand", None)
    assert decide(ATD_TO_TOP, "1N 2NNN") == ("enroll", 2, 3, "expand", None)


def test_sentinel_spacing_defaults_to_none():
    assert SETTINGS_DEFAULTS["sentinel_days"] == 0
    assert FIVE.sentinel_days == 0
