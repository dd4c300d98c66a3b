"""efficacy.rules — exact CI, Kaplan–Meier, CAR-T kinetics, Spearman (RULES.md §6).

Golden cases: /shared/golden/CASES.md sections J (KM-A, KM-B), K (CP-*), L (KIN-*).
lifelines is used only here, as the reference implementation.
"""

import math
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from efficacy.rules import exact_ci, kaplan_meier, kinetics, spearman

# ---------------------------------------------------------------- golden K: Clopper–Pearson

CP_CASES = [
    ("CP-0/3", 0, 3, 0.0, 0.707598),
    ("CP-1/3", 1, 3, 0.008404, 0.905701),
    ("CP-1/6", 1, 6, 0.004211, 0.641235),
    ("CP-2/6", 2, 6, 0.043272, 0.777222),
    ("CP-3/10", 3, 10, 0.066740, 0.652453),
    ("CP-7/20", 7, 20, 0.153909, 0.592189),
    ("CP-0/37", 0, 37, 0.0, 0.094891),
]


@pytest.mark.parametrize(
    "k, n, lower, upper", [c[1:] for c in CP_CASES], ids=[c[0] for c in CP_CASES]
)
def test_it_gives_the_golden_exact_intervals(k, n, lower, upper):
    lo, hi = exact_ci(k, n)
    assert lo == pytest.approx(lower, abs=5e-7)
    assert hi == pytest.approx(upper, abs=5e-7)


def test_it_matches_scipy_binomtest_over_many_k_and_n():
    grid = [(k, n, 0.95) for n in range(1, 21) for k in range(n + 1)]
    grid += [(k, n, 0.90) for n in (37, 60, 100) for k in range(0, n + 1, 7)]
    for k, n, conf in grid:
        ref = stats.binomtest(k, n).proportion_ci(conf, method="exact")
        lo, hi = exact_ci(k, n, conf)
        assert lo == pytest.approx(ref.low, abs=1e-12)
        assert hi == pytest.approx(ref.high, abs=1e-12)


def test_exact_ci_ends_and_the_k0_closed_form():
    assert exact_ci(0, 10)[0] == 0.0 and exact_ci(10, 10)[1] == 1.0
    assert exact_ci(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10))


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 3), r"successes \(4\) must be between 0 and n \(3\)"),
        ((-1, 3), "successes must be a whole number ≥ 0"),
        ((1, 0), "n must be a whole number ≥ 1"),
        ((1.5, 3), "successes must be a whole number ≥ 0"),
        ((1, 3, 1.0), "confidence must be between 0 and 1"),
    ],
)
def test_exact_ci_refuses_impossible_input(args, message):
    with pytest.raises(ValueError, match=message):
        exact_ci(*args)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 500), data=st.data(), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_an_exact_interval_contains_the_observed_rate(n, data, conf):
    k = data.draw(st.integers(0, n))
    lo, hi = exact_ci(k, n, conf)
    assert 0 <= lo <= k / n <= hi <= 1
    wider = exact_ci(k, n, min(0.999, conf + 0.005))
    assert wider[0] <= lo and wider[1] >= hi


# ---------------------------------------------------------------- golden J: Kaplan–Meier

KM_A = ([30, 45, 60, 60, 90, 120, 150, 180, 240, 365], [1, 0, 1, 1, 0, 1, 0, 1, 0, 0])
KM_A_TABLE = [
    # t, at risk, deaths, S, Greenwood SE, log-log lo, hi, linear lo, hi
    (30, 10, 1, 0.900, 0.094868, 0.473009, 0.985281, 0.714061, 1.000000),
    (60, 8, 2, 0.675, 0.155071, 0.290585, 0.882497, 0.371067, 0.978933),
    (120, 5, 1, 0.540, 0.173118, 0.181165, 0.800713, 0.200694, 0.879306),
    (180, 3, 1, 0.360, 0.186869, 0.062942, 0.685628, 0.000000, 0.726256),
]


def test_km_a_table_greenwood_and_both_intervals():
    loglog = kaplan_meier(*KM_A)
    linear = kaplan_meier(*KM_A, km_ci="linear")
    assert len(loglog.table) == 4
    for row, se, lin, ref in zip(
        loglog.table, loglog.standard_errors, linear.table, KM_A_TABLE, strict=True
    ):
        t, n, d, s, ref_se, llo, lhi, plo, phi = ref
        assert (row.time, row.at_risk, row.events) == (t, n, d)
        assert row.survival == pytest.approx(s, abs=1e-12)
        assert se == pytest.approx(ref_se, abs=5e-7)
        assert (row.ci_lower, row.ci_upper) == pytest.approx((llo, lhi), abs=5e-7)
        assert (lin.ci_lower, lin.ci_upper) == pytest.approx((plo, phi), abs=5e-7)


def test_km_a_step_function_median_and_median_ci():
    km = kaplan_meier(*KM_A)
    assert km.survival_at(29) == 1.0
    assert km.survival_at(30) == pytest.approx(0.9)  # right-continuous: the drop is at t
    assert km.survival_at(59) == pytest.approx(0.9)
    assert km.survival_at(100) == pytest.approx(0.675)
    assert km.survival_at(365) == km.survival_at(400) == pytest.approx(0.36)
    assert km.median == 180
    assert km.median_ci == (30, None)  # upper limit not reached
    for transform in ("log", "linear"):
        assert kaplan_meier(*KM_A, km_ci=transform).median_ci[0] == 60


def test_km_landmarks_with_ci_and_none_beyond_follow_up():
    km = kaplan_meier(*KM_A)
    s, lo, hi = km.landmark(182.625)  # 6 months
    assert (s, lo, hi) == pytest.approx((0.36, 0.062942, 0.685628), abs=5e-7)
    assert km.landmark(10) == (1.0, 1.0, 1.0)
    assert km.landmark(366) == (None, None, None)  # 12 months beyond the last follow-up
    dead = kaplan_meier([10, 20], [1, 1])
    assert dead.landmark(20) == (0.0, 0.0, 0.0)  # at the last observed time
    assert dead.landmark(400) == (None, None, None)  # beyond it: never extrapolated


@pytest.mark.parametrize(
    "rule, expected", [("lifelines", 20), ("statsmodels", 30), ("midpoint", 25)]
)
def test_km_b_median_rule(rule, expected):
    km = kaplan_meier([10, 20, 30, 40], [True] * 4, median_rule=rule)
    assert km.median == expected
    assert [r.survival for r in km.table] == [0.75, 0.5, 0.25, 0.0]


def test_km_zero_band_events_before_censoring_and_midpoint_without_a_later_drop():
    km = kaplan_meier([10, 20, 30, 40], [1, 1, 1, 1])
    assert (km.table[-1].ci_lower, km.table[-1].ci_upper) == (0.0, 0.0)
    tied = kaplan_meier([5, 5, 5], [1, 0, 0])  # the censored subjects are at risk at t = 5
    assert tied.table[0].at_risk == 3 and tied.table[0].survival == pytest.approx(2 / 3)
    flat = kaplan_meier([10, 20, 30], [1, 0, 0], median_rule="midpoint")
    assert flat.median is None
    flat_half = kaplan_meier([10, 20], [1, 0], median_rule="midpoint")
    assert flat_half.median == 10  # S = 0.5 to the end: the start of the flat segment (R)
    assert kaplan_meier([10, 20], [0, 0]).median is None
    assert kaplan_meier([10, 20], [0, 0]).table == ()


def _lifelines(durations, events):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter().fit(durations, events)
    ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
    return kmf, ci


def _none_if_inf(x):
    return None if math.isinf(x) else x


def test_km_matches_lifelines_on_random_censored_data():
    rng = np.random.default_rng(20250601)
    ties = 0
    for _ in range(60):
        n = int(rng.integers(3, 60))
        durations = np.round(rng.exponential(200, n), int(rng.integers(0, 2)))
        events = rng.random(n) < rng.uniform(0.3, 1.0)
        km = kaplan_meier(durations.tolist(), events.tolist())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # lifelines' log(0) at S = 0
            kmf, ci = _lifelines(durations, events)
        sf = kmf.survival_function_.iloc[:, 0]
        band = kmf.confidence_interval_
        for row in km.table:
            assert row.survival == pytest.approx(sf.loc[row.time], abs=1e-9)
            lo, hi = band.loc[row.time]
            assert (row.ci_lower, row.ci_upper) == pytest.approx((lo, hi), abs=1e-6)
        for t in np.linspace(0, durations.max(), 25):
            assert km.survival_at(t) == pytest.approx(kmf.predict(t), abs=1e-9)
        if any(row.survival == 0.5 for row in km.table):
            # S is exactly 1/2 at an event time: lifelines' exp(Σ log) product may land on
            # 0.5000000000000001 and skip to the next time; the ≤ 0.5 rule takes this one.
            ties += 1
            assert km.median == next(r.time for r in km.table if r.survival <= 0.5)
        else:
            assert km.median == _none_if_inf(kmf.median_survival_time_)
        assert km.median_ci == (_none_if_inf(ci[0]), _none_if_inf(ci[1]))
    assert ties < 20  # the comparison above ran on most data sets


def test_km_matches_scipy_ecdf_log_log():
    durations, events = KM_A
    data = stats.CensoredData.right_censored(durations, np.logical_not(events))
    sf = stats.ecdf(data).sf
    ci = sf.confidence_interval(0.95, method="log-log")
    km = kaplan_meier(durations, events)
    for row in km.table:
        assert row.survival == pytest.approx(sf.evaluate(row.time))
        assert row.ci_lower == pytest.approx(ci.low.evaluate(row.time), abs=1e-6)
        assert row.ci_upper == pytest.approx(ci.high.evaluate(row.time), abs=1e-6)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (([1, 2], [True]), {}, "durations and events must have the same length"),
        (([], []), {}, "durations must not be empty"),
        (([-1, 2], [1, 1]), {}, r"durations\[0\] must be ≥ 0"),
        (([1, float("nan")], [1, 1]), {}, r"durations\[1\] must be a finite number"),
        (([1, 2], [1, 2]), {}, r"events\[1\] must be True/False"),
        (([1, 2], [1, None]), {}, r"events\[1\] must be True/False"),
        (KM_A, {"km_ci": "arcsine"}, "km_ci must be one of 'log-log', 'linear', 'log'"),
        (KM_A, {"median_rule": "sas"}, "median_rule must be one of 'lifelines'"),
    ],
)
def test_km_refuses_impossible_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(*args, **kwargs)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=1, max_size=40),
    st.sampled_from(["log-log", "linear", "log"]),
)
def test_km_survival_is_non_increasing_in_0_1_and_inside_its_band(data, transform):
    durations = [d for d, _ in data]
    events = [e for _, e in data]
    km = kaplan_meier(durations, events, km_ci=transform)
    previous = 1.0
    for row in km.table:
        assert 0.0 <= row.survival <= previous <= 1.0
        assert 0.0 <= row.ci_lower <= row.survival + 1e-12
        assert row.survival - 1e-12 <= row.ci_upper <= 1.0
        previous = row.survival
    assert sum(r.events for r in km.table) == sum(events)
    if km.median is not None and km.median_ci[0] is not None:
        assert km.median_ci[0] <= km.median
    if km.median is not None and km.median_ci[1] is not None:
        assert km.median <= km.median_ci[1]


# ---------------------------------------------------------------- golden L: kinetics

PROFILE_L = [
    (0, 0),
    (4, 500),
    (7, 12_000),
    (10, 45_000),
    (14, 30_000),
    (21, 8_000),
    (28, 2_000),
    (60, 300),
    (90, 0),
    (180, 0),
]


def test_kin_l_linear_trapezoid():
    got = kinetics(PROFILE_L)
    assert (got.cmax, got.tmax) == (45_000, 10)
    assert got.auc == pytest.approx(423_250, abs=1e-6)
    assert (got.tlast, got.clast) == (60, 300)
    assert got.c_auc_end == 2_000


def test_kin_l_linear_up_log_down():
    got = kinetics(PROFILE_L, auc_method="linear-up/log-down")
    assert got.auc == pytest.approx(400_036.5, abs=0.05)
    assert got.auc < kinetics(PROFILE_L).auc


def test_c28_is_interpolated_when_there_is_no_day_28_sample():
    no28 = [p for p in PROFILE_L if p[0] != 28]
    got = kinetics(no28)
    c28 = 8_000 + (300 - 8_000) * 7 / 39
    assert got.c_auc_end == pytest.approx(c28)
    upto21 = 1_000 + 18_750 + 85_500 + 150_000 + 133_000
    assert got.auc == pytest.approx(upto21 + (8_000 + c28) / 2 * 7)
    log = kinetics(no28, auc_end_interpolation="log-linear")
    assert log.c_auc_end == pytest.approx(8_000 * (300 / 8_000) ** (7 / 39))
    lulog = kinetics(no28, auc_method="linear-up/log-down")
    assert lulog.c_auc_end == pytest.approx(log.c_auc_end)  # "auto" follows log-down


def test_auc_is_not_calculable_without_a_sample_at_or_after_the_end_day():
    early = [(0, 0), (4, 500), (10, 4_000), (21, 800)]
    got = kinetics(early)
    assert got.auc is None and got.c_auc_end is None
    assert (got.cmax, got.tmax, got.tlast, got.clast) == (4_000, 10, 21, 800)
    assert kinetics(early, auc_end_day=21).auc == pytest.approx(1_000 + 13_500 + 26_400)


def test_a_blq_sample_after_day_28_counts_as_zero_for_c28():
    got = kinetics([(0, 0), (7, 1_000), (21, 800), (60, 0)])
    assert got.c_auc_end == pytest.approx(800 * 32 / 39)
    assert got.tlast == 21
    assert got.auc == pytest.approx(3_500 + 12_600 + (800 + 800 * 32 / 39) / 2 * 7)


def test_blq_between_tlast_and_the_end_day_stops_the_area_at_tlast():
    profile = [(0, 0), (7, 1_000), (14, 600), (21, 0), (60, 0)]
    got = kinetics(profile)
    assert got.auc == pytest.approx(3_500 + 5_600)
    assert got.c_auc_end == 0.0
    zero = kinetics(profile, blq_after_tlast="zero")
    assert zero.auc == pytest.approx(3_500 + 5_600 + 2_100)


def test_blq_between_quantifiable_levels_is_missing_or_zero():
    profile = [(0, 0), (7, 1_000), (14, 0), (21, 1_000), (28, 1_000)]
    assert kinetics(profile).auc == pytest.approx(3_500 + 14_000 + 7_000)
    assert kinetics(profile, blq_between="zero").auc == pytest.approx(3_500 * 3 + 7_000)
    assert kinetics(profile).tlast == 28


def test_tmax_is_the_first_occurrence_and_blq_uses_the_lloq():
    got = kinetics([(0, 0), (7, 900), (10, 900), (28, 10), (35, 10)], lloq=10)
    assert (got.cmax, got.tmax, got.tlast, got.clast) == (900, 7, 10, 900)


def test_a_measured_pre_dose_level_and_all_blq_profiles():
    pre = kinetics([(0, 100), (7, 100), (28, 100)])
    assert pre.auc == pytest.approx(2_800)
    flat = kinetics([(0, 0), (7, 0), (28, 0)])
    assert (flat.cmax, flat.tmax, flat.tlast, flat.clast, flat.auc) == (0.0, None, None, None, 0.0)
    nothing = kinetics([(7, None)])
    assert (nothing.cmax, nothing.auc) == (None, None)
    decimal = kinetics([(Decimal("0"), Decimal("0")), (Decimal("28"), Decimal("2.5"))])
    assert decimal.auc == pytest.approx(35.0)


@pytest.mark.parametrize(
    "samples, kwargs, message",
    [
        ([(7, 5), (7, 6)], {}, "two levels on day 7"),
        ([(-1, 5)], {}, r"samples\[0\] day must be ≥ 0"),
        ([(7, -5)], {}, r"samples\[0\] level must be ≥ 0"),
        ([(7,)], {}, r"samples\[0\] must be a \(day, level\) pair"),
        (PROFILE_L, {"auc_method": "log"}, "auc_method must be one of 'linear'"),
        (PROFILE_L, {"blq_between": "half"}, "blq_between must be one of"),
        (PROFILE_L, {"auc_end_day": 0}, "auc_end_day must be > 0"),
    ],
)
def test_kinetics_refuses_impossible_input(samples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kinetics(samples, **kwargs)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 100_000), min_size=6, max_size=6),
)
def test_linear_auc_is_numpy_trapezoid_and_log_down_never_exceeds_it(levels):
    days = [0, 4, 7, 14, 21, 28, 35]
    profile = list(zip(days, [0, *levels], strict=True))
    linear = kinetics(profile)
    assert linear.auc == pytest.approx(np.trapezoid([0, *levels[:5]], days[:6]))
    assert kinetics(profile, auc_method="linear-up/log-down").auc <= linear.auc + 1e-6
    assert linear.cmax == max(levels)
    assert linear.tmax == days[1 + levels.index(max(levels))]


# ---------------------------------------------------------------- Spearman


def test_spearman_matches_scipy_and_drops_incomplete_pairs():
    x = [1.0, 2.5, 3.1, 4.8, 5.0, 7.7]
    y = [10, 30, 20, 50, 40, 90]
    rho, p = spearman(x, y)
    ref = stats.spearmanr(x, y)
    assert rho == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    assert spearman([1, 2, 3, None], [3, 2, 1, 5])[0] == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [4, 4, 4]) == (None, None)


def test_spearman_refuses_too_few_or_mismatched_data():
    with pytest.raises(ValueError, match="x and y must have the same length; got 3 and 2"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 3 complete"):
        spearman([1, 2, None], [1, 2, 3])
