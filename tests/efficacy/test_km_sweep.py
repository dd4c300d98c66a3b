"""Kaplan–Meier by one sort and one sweep: the same curve, median and CI as lifelines on large
cohorts, exact 1/2 ties recognised at scale, and the input checks unchanged (RULES.md §6.1)."""

from __future__ import annotations

import warnings
from decimal import Decimal

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from efficacy.rules import kaplan_meier


def _none_if_inf(x):
    return None if np.isinf(x) else float(x)


@pytest.mark.parametrize(
    "kind,n", [("study_days", 3000), ("continuous", 3000), ("ties", 5000), ("few_events", 800)]
)
def test_large_cohorts_match_lifelines(kind, n):
    rng = np.random.default_rng(n)
    if kind == "study_days":
        durations = rng.integers(0, 720, n).astype(float)
    elif kind == "continuous":
        durations = np.round(rng.exponential(300, n), 3)
    elif kind == "ties":
        durations = rng.integers(0, 12, n).astype(float)
    else:
        durations = rng.integers(1, 400, n).astype(float)
    events = rng.random(n) < (0.05 if kind == "few_events" else 0.6)
    km = kaplan_meier(durations.tolist(), events.tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kmf = KaplanMeierFitter().fit(durations, events)
        ci = median_survival_times(kmf.confidence_interval_)
    table = kmf.event_table
    assert [r.time for r in km.table] == [float(t) for t in table.index if table.loc[t, "observed"]]
    sf = kmf.survival_function_.iloc[:, 0]
    lower = kmf.confidence_interval_.filter(like="lower").iloc[:, 0]
    upper = kmf.confidence_interval_.filter(like="upper").iloc[:, 0]
    for row in km.table:
        assert row.at_risk == int(table.loc[row.time, "at_risk"])
        assert row.events == int(table.loc[row.time, "observed"])
        assert row.survival == pytest.approx(sf.loc[row.time], abs=1e-12)
        assert row.ci_lower == pytest.approx(lower.loc[row.time], abs=1e-9)
        assert row.ci_upper == pytest.approx(upper.loc[row.time], abs=1e-9)
    assert km.median == _none_if_inf(kmf.median_survival_time_)
    assert km.median_ci == (_none_if_inf(ci.iloc[0, 0]), _none_if_inf(ci.iloc[0, 1]))
    assert km.n == n and km.n_events == int(events.sum())
    assert km.censor_times == tuple(float(t) for t in np.unique(durations[~events]))


def test_exact_half_is_recognised_in_a_long_product():
    # 1,000 deaths on days 1..1000: S(500) = 500/1000 exactly, after 500 factors whose float
    # product need not land on 0.5.
    durations = list(range(1, 1001))
    events = [True] * 1000
    by_rule = {
        rule: kaplan_meier(durations, events, median_rule=rule).median
        for rule in ("lifelines", "statsmodels", "midpoint")
    }
    assert by_rule == {"lifelines": 500.0, "statsmodels": 501.0, "midpoint": 500.5}


def test_exact_half_after_censorings_and_ties():
    # 3 deaths at 1 of 6 → 1/2 exactly with ties; the midpoint runs to the next death (5).
    km = kaplan_meier([1, 1, 1, 2, 5, 9], [True, True, True, False, True, False])
    assert km.table[0].survival == 0.5
    assert km.median == 1.0
    assert kaplan_meier(
        [1, 1, 1, 2, 5, 9], [True, True, True, False, True, False], median_rule="midpoint"
    ).median == pytest.approx(3.0)


def test_inputs_of_every_accepted_kind_give_one_curve():
    ref = kaplan_meier([1.5, 2, 3, 3, 7], [True, False, True, True, False])
    variants = [
        (np.array([1.5, 2, 3, 3, 7]), np.array([True, False, True, True, False])),
        (np.array([1.5, 2, 3, 3, 7]), np.array([1, 0, 1, 1, 0])),
        ([Decimal("1.5"), 2, np.int64(3), 3.0, 7], [1.0, 0.0, True, np.bool_(True), 0]),
    ]
    for durations, events in variants:
        assert kaplan_meier(durations, events) == ref


@pytest.mark.parametrize(
    "durations,events,message",
    [
        ([1, -2, 3], [True, True, True], r"durations\[1\] must be ≥ 0"),
        ([1, float("nan"), 3], [True, True, True], r"durations\[1\] must be a finite number"),
        ([1, True, 3], [True, True, True], r"durations\[1\] must be a number"),
        ([1, 2, 3], [True, 2, True], r"events\[1\] must be True/False"),
        (np.array([1, 2, 3]), np.array([0, 1, 2]), r"events\[2\] must be True/False"),
    ],
)
def test_bad_values_are_named_by_position(durations, events, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events)
