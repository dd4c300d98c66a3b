"""efficacy.rules — ELN 2022 response, MRD, settings and purity (RULES.md §1.2–1.3).

Golden cases: /shared/golden/CASES.md sections A (ELN-*) and B (MRD-*).
"""

import inspect
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efficacy import rules
from efficacy.rules import (
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    classify_response,
    mrd_status,
    settings_for,
)

ROOT = Path(__file__).resolve().parents[2]
RANK = {c: i for i, c in enumerate(rules.RESPONSE_CATEGORIES)}  # 0 = best (CR)


def classify(blasts, anc, plt, *, baseline=60, **kw):
    return classify_response(
        bm_blasts_pct=blasts, baseline_bm_blasts_pct=baseline, anc=anc, platelets=plt, **kw
    )


# ---------------------------------------------------------------- purity


def test_it_imports_no_django():
    code = "import sys, efficacy.rules; assert 'django' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- golden A: ELN 2022

ELN_CASES = [
    ("ELN-01", {"bm": 2, "anc": 1.5, "plt": 150}, "CR"),
    ("ELN-02", {"bm": 2, "anc": 1.0, "plt": 100}, "CR"),
    ("ELN-03", {"bm": 2, "anc": 0.8, "plt": 60}, "CRh"),
    ("ELN-04", {"bm": 2, "anc": 0.5, "plt": 50}, "CRh"),
    ("ELN-05", {"bm": 2, "anc": 1.2, "plt": 40}, "CRi"),
    ("ELN-06", {"bm": 2, "anc": 0.4, "plt": 120}, "CRi"),
    ("ELN-08", {"bm": 2, "anc": 0.3, "plt": 30, "marrow_adequate": False}, "NE"),
    ("ELN-09", {"bm": 4.9, "anc": 1.5, "plt": 150}, "CR"),
    ("ELN-12", {"bm": 20, "anc": 1.5, "plt": 110, "baseline": 60}, "PR"),
    ("ELN-13", {"bm": 22, "anc": 1.5, "plt": 110, "baseline": 40}, "NR"),
    ("ELN-15", {"bm": 26, "anc": 1.5, "plt": 150, "baseline": 80}, "NR"),
    ("ELN-16", {"bm": 2, "anc": 1.5, "plt": 150, "pb_blasts": True}, "NR"),
    ("ELN-17", {"bm": 2, "anc": 1.5, "plt": 150, "extramedullary_disease": True}, "NR"),
    ("ELN-19", {"bm": None, "anc": 1.5, "plt": 150}, "NE"),
]


@pytest.mark.parametrize(
    "facts, expected", [c[1:] for c in ELN_CASES], ids=[c[0] for c in ELN_CASES]
)
def test_it_classifies_the_golden_eln_cases(facts, expected):
    facts = dict(facts)
    assert classify(facts.pop("bm"), facts.pop("anc"), facts.pop("plt"), **facts) == expected


# ---------------------------------------------------------------- thresholds, both sides


@pytest.mark.parametrize(
    "blasts, anc, plt, expected",
    [
        (4.9, 1.5, 150, "CR"),
        (5, 1.5, 150, "PR"),  # 5 % is no longer < 5 %: PR range (baseline 60)
        (2, 1.0, 100, "CR"),
        (2, 0.99, 100, "CRh"),
        (2, 1.0, 99.9, "CRh"),
        (2, 0.5, 50, "CRh"),
        (2, 0.49, 60, "MLFS"),  # neither lineage recovered
        (2, 0.8, 49, "MLFS"),
        (2, 1.0, 49, "CRi"),  # ANC recovered, platelets < 50
        (2, 0.99, 49, "MLFS"),
        (2, 0.49, 100, "CRi"),  # platelets recovered, ANC < 0.5
        (2, 0.49, 99.9, "MLFS"),
        (25, 1.5, 150, "PR"),
        (25.1, 1.5, 150, "NR"),
        (20, 0.99, 150, "NR"),  # PR needs CR counts
        (20, 1.0, 99, "NR"),
    ],
)
def test_it_applies_each_threshold_exactly(blasts, anc, plt, expected):
    assert classify(blasts, anc, plt) == expected


@pytest.mark.parametrize(
    "blasts, baseline, expected",
    [
        (5, 10, "PR"),  # exactly a 50 % fall (RULES.md: baseline 10 % -> 5.0 % is PR)
        (5, 9.9, "NR"),
        (12.5, 25, "PR"),
        (12.5, 24.9, "NR"),
        (5.7, 11.4, "PR"),  # (11.4-5.7)/11.4 is 0.49999999999999994 in binary floating point
        (6.1, 12.2, "PR"),
        (5, 0, "NR"),  # no baseline blasts: a fall cannot be measured
    ],
)
def test_it_measures_the_pr_fall_in_decimal(blasts, baseline, expected):
    assert classify(blasts, 1.5, 150, baseline=baseline) == expected


def test_it_needs_no_emd_for_pr_and_blood_blasts_only_when_the_setting_says_so():
    assert classify(20, 1.5, 150, pb_blasts=True) == "PR"
    assert classify(20, 1.5, 150, pb_blasts=True, pr_requires_no_pb_blasts=True) == "NR"
    assert classify(20, 1.5, 150, pb_blasts=False, pr_requires_no_pb_blasts=True) == "PR"
    assert classify(20, 1.5, 150, extramedullary_disease=True) == "NR"


@pytest.mark.parametrize(
    "anc, plt, default, inclusive",
    [
        (0.3, 30, "MLFS", "CRi"),
        (0.4, 120, "CRi", "CRi"),
        (1.2, 40, "CRi", "CRi"),
        (0, 0, "MLFS", "CRi"),
    ],
)
def test_cri_rule_decides_when_neither_lineage_recovered(anc, plt, default, inclusive):
    assert classify(2, anc, plt) == default
    assert classify(2, anc, plt, cri_rule="inclusive") == inclusive


def test_it_accepts_int_float_and_decimal_alike():
    for value in (Decimal("1.0"), 1, 1.0):
        assert classify(Decimal("4.9"), value, Decimal("100")) == "CR"
    assert classify(2, Decimal("0.5"), 50) == "CRh"


def test_an_inadequate_or_unknown_marrow_is_not_evaluable_whatever_the_counts():
    assert classify(2, 1.5, 150, marrow_adequate=False) == "NE"
    assert classify(2, 1.5, 150, marrow_adequate=None) == "NE"
    assert classify(None, 1.5, 150) == "NE"


# ---------------------------------------------------------------- missing data


@pytest.mark.parametrize(
    "anc, plt, rule, cri_rule, expected",
    [
        (None, None, "mlfs", "one_lineage_recovered", "MLFS"),
        (1.5, None, "mlfs", "one_lineage_recovered", "MLFS"),
        (None, None, "mlfs", "inclusive", "MLFS"),  # RULES.md: MLFS reachable with missing counts
        (1.5, None, "worst_case", "one_lineage_recovered", "CRi"),
        (0.8, None, "worst_case", "one_lineage_recovered", "MLFS"),
        (None, None, "worst_case", "inclusive", "CRi"),
        (1.5, None, "not_evaluable", "one_lineage_recovered", "NE"),
        (0.3, None, "not_evaluable", "one_lineage_recovered", "NE"),
    ],
)
def test_missing_count_rule_settles_an_unknown_count_in_remission(
    anc, plt, rule, cri_rule, expected
):
    got = classify(2, anc, plt, missing_count_rule=rule, cri_rule=cri_rule)
    assert got == expected


def test_an_unknown_count_that_cannot_change_the_result_is_harmless():
    for rule in SETTINGS_CHOICES["missing_count_rule"]:
        assert classify(30, None, None, missing_count_rule=rule) == "NR"  # > 25 %: never PR
        assert classify(20, 0.5, None, missing_count_rule=rule) == "NR"  # ANC < 1.0 rules out PR
        assert classify(20, None, 99, missing_count_rule=rule) == "NR"  # platelets rule out PR


def test_a_missing_count_in_the_pr_range_is_not_evaluable_unless_worst_case():
    assert classify(20, 1.5, None) == "NE"
    assert classify(20, 1.5, None, missing_count_rule="worst_case") == "NR"


def test_unknown_blood_blasts_emd_or_baseline_give_ne_only_when_they_matter():
    assert classify(2, 1.5, 150, pb_blasts=None) == "NE"
    assert classify(2, 1.5, 150, extramedullary_disease=None) == "NE"
    assert classify(20, 1.5, 150, baseline=None) == "NE"
    assert classify(2, 1.5, 150, baseline=None) == "CR"  # baseline only matters for PR
    assert classify(30, 1.5, 150, pb_blasts=None, extramedullary_disease=None) == "NR"
    assert classify(20, 1.5, 150, pb_blasts=None) == "PR"  # blood blasts don't block PR here


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bm_blasts_pct": 101}, "bm_blasts_pct must be between 0 and 100"),
        ({"bm_blasts_pct": -1}, "bm_blasts_pct must be between 0 and 100"),
        ({"baseline_bm_blasts_pct": 100.5}, "baseline_bm_blasts_pct must be between 0 and 100"),
        ({"anc": -0.1}, "anc must be ≥ 0"),
        ({"platelets": -1}, "platelets must be ≥ 0"),
        ({"anc": float("nan")}, "anc must be a finite number"),
        ({"anc": True}, "anc must be a number"),
        ({"anc": "1.5"}, "anc must be a number"),
        ({"pb_blasts": 3}, "pb_blasts must be True, False or None"),
        ({"marrow_adequate": "yes"}, "marrow_adequate must be True, False or None"),
        ({"cri_rule": "both_low"}, "cri_rule must be one of 'one_lineage_recovered', 'inclusive'"),
        ({"missing_count_rule": "zero"}, "missing_count_rule must be one of 'mlfs'"),
        (
            {"pr_requires_no_pb_blasts": "no"},
            "pr_requires_no_pb_blasts must be one of False, True",
        ),
    ],
)
def test_it_refuses_impossible_input_naming_the_parameter(kwargs, message):
    facts = {"bm_blasts_pct": 2, "baseline_bm_blasts_pct": 60, "anc": 1.5, "platelets": 150}
    facts.update(kwargs)
    with pytest.raises(ValueError, match=message):
        classify_response(**facts)


# ---------------------------------------------------------------- properties

pct = st.decimals(min_value=0, max_value=100, places=1)
count = st.decimals(min_value=0, max_value=300, places=2)


@settings(max_examples=150, deadline=None)
@given(
    blasts=pct,
    baseline=pct,
    counts=st.tuples(count, count, count, count),
    pb=st.booleans(),
    emd=st.booleans(),
    cri_rule=st.sampled_from(SETTINGS_CHOICES["cri_rule"]),
)
def test_raising_counts_never_gives_a_worse_category(blasts, baseline, counts, pb, emd, cri_rule):
    a1, a2, p1, p2 = counts
    a_lo, a_hi = sorted((a1, a2))
    p_lo, p_hi = sorted((p1, p2))
    kw = {
        "pb_blasts": pb,
        "extramedullary_disease": emd,
        "cri_rule": cri_rule,
        "baseline": baseline,
    }
    low = classify(blasts, a_lo, p_lo, **kw)
    high = classify(blasts, a_hi, p_hi, **kw)
    assert RANK[high] <= RANK[low]
    assert "NE" not in (low, high)  # known inputs on an adequate marrow are always evaluable


@settings(max_examples=200, deadline=None)
@given(blasts=pct, anc=count, plt=count, drop=st.sampled_from(["anc", "plt", "both"]))
def test_missing_counts_never_report_better_than_the_truth(blasts, anc, plt, drop):
    truth = classify(blasts, anc, plt)
    a = None if drop in ("anc", "both") else anc
    p = None if drop in ("plt", "both") else plt
    worst = classify(blasts, a, p, missing_count_rule="worst_case")
    assert RANK[worst] >= RANK[truth]
    assert classify(blasts, a, p) in {truth, "MLFS", "NE"}
    assert classify(blasts, a, p, missing_count_rule="not_evaluable") in {truth, "NE"}


@settings(max_examples=200, deadline=None)
@given(
    blasts=st.floats(0, 100, allow_nan=False),
    anc=st.floats(0, 50, allow_nan=False),
    plt=st.floats(0, 500, allow_nan=False),
)
def test_a_float_and_its_decimal_spelling_classify_alike(blasts, anc, plt):
    as_decimal = classify(Decimal(repr(blasts)), Decimal(repr(anc)), Decimal(repr(plt)))
    assert classify(blasts, anc, plt) == as_decimal


# ---------------------------------------------------------------- golden B: MRD

MRD_CASES = [
    ("MRD-01", "CR", 8, 100_000, "negative"),
    ("MRD-03", "CRi", 0, 250_000, "negative"),
    ("MRD-05", "CRh", 15, 500_000, "negative"),
    ("MRD-06", "MLFS", 0, 200_000, "not_applicable"),
    ("MRD-08", "CR", 9, 60_000, "positive"),
    ("MRD-09", "CR", 5, 60_000, "not_evaluable"),
]


@pytest.mark.parametrize(
    "response, events, cells, expected", [c[1:] for c in MRD_CASES], ids=[c[0] for c in MRD_CASES]
)
def test_it_reads_the_golden_mrd_cases(response, events, cells, expected):
    got = mrd_status(response=response, leukemic_events=events, cells_acquired=cells)
    assert got == expected


@pytest.mark.parametrize(
    "events, cells, expected",
    [
        (10, 100_000, "positive"),  # exactly 1e-4 is positive (strictly < 1e-4 is negative)
        (9, 100_000, "negative"),
        (0, 100_000, "negative"),
        (10, 99_999, "positive"),  # a positive ratio counts below the required cell number
        (9, 99_999, "not_evaluable"),
        (0, 99_999, "not_evaluable"),  # zero events on too few cells is never negative
        (50, 500_000, "positive"),
        (49, 500_000, "negative"),
    ],
)
def test_mrd_threshold_and_sensitivity_both_sides(events, cells, expected):
    assert mrd_status(response="CR", leukemic_events=events, cells_acquired=cells) == expected


def test_unknown_mrd_inputs_are_not_evaluable_and_non_remissions_not_applicable():
    assert mrd_status(response="CR", leukemic_events=None, cells_acquired=100_000) == (
        "not_evaluable"
    )
    assert mrd_status(response="CR", leukemic_events=3, cells_acquired=None) == "not_evaluable"
    assert mrd_status(response="CR", leukemic_events=0, cells_acquired=0) == "not_evaluable"
    assert mrd_status(response=None, leukemic_events=0, cells_acquired=200_000) == ("not_evaluable")
    for response in ("MLFS", "PR", "NR", "NE"):
        assert mrd_status(response=response, leukemic_events=0, cells_acquired=200_000) == (
            "not_applicable"
        )


def test_mrd_threshold_and_min_cells_are_settings():
    # ELN's flow threshold 0.1 %: 50/100 000 = 5e-4 is negative at 1e-3
    assert mrd_status(
        response="CR", leukemic_events=50, cells_acquired=100_000, threshold=1e-3
    ) == ("negative")
    assert mrd_status(
        response="CR", leukemic_events=0, cells_acquired=60_000, min_cells=50_000
    ) == ("negative")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"leukemic_events": -1}, "leukemic_events must be a whole number ≥ 0"),
        ({"leukemic_events": 2.5}, "leukemic_events must be a whole number ≥ 0"),
        ({"cells_acquired": -5}, "cells_acquired must be a whole number ≥ 0"),
        ({"leukemic_events": 200_001}, r"leukemic_events \(200001\) cannot exceed"),
        ({"response": "CRMRD"}, "response must be one of CR, CRh, CRi, MLFS, PR, NR, NE"),
        ({"threshold": 0}, "threshold must be > 0"),
        ({"min_cells": 0}, "min_cells must be a whole number ≥ 1"),
    ],
)
def test_mrd_refuses_impossible_input(kwargs, message):
    facts = {"response": "CR", "leukemic_events": 3, "cells_acquired": 200_000}
    facts.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mrd_status(**facts)


@settings(max_examples=200, deadline=None)
@given(cells=st.integers(100_000, 5_000_000), data=st.data())
def test_mrd_negative_exactly_when_events_per_cell_below_1e4(cells, data):
    events = data.draw(st.integers(0, cells // 5000))
    got = mrd_status(response="CRh", leukemic_events=events, cells_acquired=cells)
    assert got == ("negative" if events * 10_000 < cells else "positive")


# ---------------------------------------------------------------- settings


def test_settings_defaults_are_allowed_choices():
    for name, choices in SETTINGS_CHOICES.items():
        assert name in SETTINGS_DEFAULTS
        assert SETTINGS_DEFAULTS[name] in choices
    assert SETTINGS_DEFAULTS["mrd_threshold"] == 1e-4
    assert SETTINGS_DEFAULTS["mrd_min_cells"] == 100_000
    assert SETTINGS_DEFAULTS["response_landmark_days"] == 90


PUBLIC_FUNCTIONS = [
    rules.classify_response,
    rules.mrd_status,
    rules.detect_relapse,
    rules.detect_progression,
    rules.overall_survival,
    rules.event_free_survival,
    rules.relapse_free_survival,
    rules.duration_of_response,
    rules.response_rates,
    rules.blast_decline,
    rules.median_blast_decline,
    rules.kaplan_meier,
    rules.kinetics,
]


@pytest.mark.parametrize("function", PUBLIC_FUNCTIONS, ids=lambda f: f.__name__)
def test_every_setting_parameter_defaults_to_the_rules_default(function):
    params = inspect.signature(function).parameters
    mapped = settings_for(function, SETTINGS_DEFAULTS)
    for name, value in mapped.items():
        assert params[name].default == value, name
    assert function.__doc__ and len(function.__doc__) > 80


def test_settings_for_passes_a_study_settings_straight_through():
    study = dict(SETTINGS_DEFAULTS, cri_rule="inclusive", blast_decline="absolute")
    kw = settings_for(classify_response, study)
    assert kw == {
        "cri_rule": "inclusive",
        "pr_requires_no_pb_blasts": False,
        "missing_count_rule": "mlfs",
    }
    assert classify(2, 0.3, 30, **kw) == "CRi"
    assert settings_for(rules.blast_decline, study) == {"method": "absolute"}
    assert settings_for(mrd_status, study) == {"threshold": 1e-4, "min_cells": 100_000}


def test_every_setting_is_read_by_some_function():
    used = set()
    for function in PUBLIC_FUNCTIONS:
        for key in SETTINGS_DEFAULTS:
            if settings_for(function, {key: SETTINGS_DEFAULTS[key]}):
                used.add(key)
    assert used == set(SETTINGS_DEFAULTS)
