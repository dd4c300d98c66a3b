"""Independent review of efficacy.rules — adversarial cases the golden tables do not cover.

Expected values are derived by hand from /shared/domain/RULES.md (§1.2, §1.3, §1.6, §6.1–6.3)
or, where RULES.md says the libraries agree with the rule, taken from lifelines / scipy used as
oracles on seeded random data.
"""

import inspect
import math
import warnings
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats

from efficacy.rules import (
    SubjectCourse,
    blast_decline,
    classify_response,
    duration_of_response,
    event_free_survival,
    exact_ci,
    kaplan_meier,
    kinetics,
    mrd_status,
    overall_survival,
    relapse_free_survival,
)


def classify(blasts, anc, plt, *, baseline=60, **kw):
    return classify_response(
        bm_blasts_pct=blasts, baseline_bm_blasts_pct=baseline, anc=anc, platelets=plt, **kw
    )


# =============================================================== contract (CONTRACT.md)

CONTRACT = [
    (
        classify_response,
        [
            ("bm_blasts_pct", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("baseline_bm_blasts_pct", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("anc", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("platelets", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("pb_blasts", "KEYWORD_ONLY", False),
            ("extramedullary_disease", "KEYWORD_ONLY", False),
            ("marrow_adequate", "KEYWORD_ONLY", True),
            ("cri_rule", "KEYWORD_ONLY", "one_lineage_recovered"),
        ],
    ),
    (
        mrd_status,
        [
            ("response", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("leukemic_events", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("cells_acquired", "KEYWORD_ONLY", inspect.Parameter.empty),
            ("threshold", "KEYWORD_ONLY", 1e-4),
            ("min_cells", "KEYWORD_ONLY", 100_000),
        ],
    ),
    (
        exact_ci,
        [
            ("successes", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("n", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("confidence", "POSITIONAL_OR_KEYWORD", 0.95),
        ],
    ),
    (
        kaplan_meier,
        [
            ("durations", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("events", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ],
    ),
    (
        kinetics,
        [
            ("samples", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("auc_end_day", "KEYWORD_ONLY", 28),
            ("auc_method", "KEYWORD_ONLY", "linear"),
        ],
    ),
    (
        blast_decline,
        [
            ("baseline_pct", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("current_pct", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("method", "KEYWORD_ONLY", "relative"),
        ],
    ),
]


@pytest.mark.parametrize("function, params", CONTRACT, ids=[f.__name__ for f, _ in CONTRACT])
def test_contract_parameters_come_first_unchanged_and_extras_are_optional_keywords(
    function, params
):
    sig = list(inspect.signature(function).parameters.values())
    got = [(p.name, p.kind.name, p.default) for p in sig[: len(params)]]
    assert got == params
    for extra in sig[len(params) :]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY, extra.name
        assert extra.default is not inspect.Parameter.empty, extra.name


def test_contract_result_shapes():
    km = kaplan_meier([1, 2, 3], [True, False, True])
    assert callable(km.survival_at) and isinstance(km.median_ci, tuple)
    assert all(len(row) == 6 for row in km.table)
    time, at_risk, events, survival, lo, hi = km.table[0]
    assert (time, at_risk, events) == (1.0, 3, 1) and lo <= survival <= hi
    kin = kinetics([(0, 0), (7, 10), (28, 5)])
    assert {"cmax", "tmax", "auc", "tlast", "clast"} <= set(vars(kin))
    assert isinstance(exact_ci(1, 3), tuple) and len(exact_ci(1, 3)) == 2


# =============================================================== §1.2 response classification

PR_BOUNDARIES = [
    # (id, blasts, baseline, anc, plt, expected)
    ("baseline-10-to-5.0-is-PR", 5.0, 10, 1.0, 100, "PR"),
    ("baseline-10-to-5.01-is-NR", 5.01, 10, 1.5, 150, "NR"),
    ("baseline-9.99-to-5-is-NR", 5, 9.99, 1.5, 150, "NR"),
    ("exactly-25pct-exactly-50pct-fall", 25, 50, 1.5, 150, "PR"),
    ("exactly-25pct-fall-49.9pct", 25, 49.9, 1.5, 150, "NR"),
    ("25.01pct-big-fall", 25.01, 90, 1.5, 150, "NR"),
    ("exactly-25pct-baseline-60", 25, 60, 1.5, 150, "PR"),
    ("exactly-5pct-baseline-60", 5, 60, 1.5, 150, "PR"),
    ("4.99pct-is-CR-not-PR", 4.99, 60, 1.5, 150, "CR"),
    ("exactly-50pct-fall-baseline-40", 20, 40, 1.5, 150, "PR"),
    ("49.75pct-fall-baseline-40", 20.1, 40, 1.5, 150, "NR"),
    ("PR-needs-anc-1.0", 10, 60, 0.99, 150, "NR"),
    ("PR-needs-plt-100", 10, 60, 1.5, 99.9, "NR"),
    ("PR-count-boundaries-inclusive", 10, 60, 1.0, 100, "PR"),
    ("PR-range-CRh-counts-not-PR", 10, 60, 0.8, 60, "NR"),
    ("blasts-rose", 30, 20, 1.5, 150, "NR"),
    ("baseline-zero", 10, 0, 1.5, 150, "NR"),
    ("decimal-inputs", Decimal("12.5"), Decimal("25"), Decimal("1.0"), Decimal("100"), "PR"),
]


@pytest.mark.parametrize(
    "blasts, baseline, anc, plt, expected",
    [c[1:] for c in PR_BOUNDARIES],
    ids=[c[0] for c in PR_BOUNDARIES],
)
def test_pr_boundaries(blasts, baseline, anc, plt, expected):
    assert classify(blasts, anc, plt, baseline=baseline) == expected


CRI_MLFS = [
    # (id, anc, plt, one_lineage_recovered, inclusive)
    ("anc-ok-plt-low", 1.2, 40, "CRi", "CRi"),
    ("anc-1.0-plt-49.9", 1.0, 49.9, "CRi", "CRi"),
    ("plt-ok-anc-low", 0.4, 120, "CRi", "CRi"),
    ("plt-100-anc-0.49", 0.49, 100, "CRi", "CRi"),
    ("neither-recovered", 0.4, 40, "MLFS", "CRi"),
    ("neither-just-below-CRh", 0.49, 49.99, "MLFS", "CRi"),
    ("anc-crh-level-plt-low", 0.6, 30, "MLFS", "CRi"),
    ("plt-crh-level-anc-low", 0.3, 80, "MLFS", "CRi"),
    ("aplastic-counts", 0, 0, "MLFS", "CRi"),
    ("CRh-beats-CRi", 0.99, 99, "CRh", "CRh"),
    ("CRh-with-anc-recovered", 1.5, 50, "CRh", "CRh"),
    ("CR", 1.0, 100, "CR", "CR"),
]


@pytest.mark.parametrize(
    "anc, plt, one_lineage, inclusive",
    [c[1:] for c in CRI_MLFS],
    ids=[c[0] for c in CRI_MLFS],
)
def test_cri_versus_mlfs_under_both_cri_rules(anc, plt, one_lineage, inclusive):
    assert classify(2, anc, plt) == one_lineage  # default cri_rule
    assert classify(2, anc, plt, cri_rule="one_lineage_recovered") == one_lineage
    assert classify(2, anc, plt, cri_rule="inclusive") == inclusive


NE_PATHS = [
    ("inadequate-marrow-CR-counts", {"blasts": 2, "marrow_adequate": False}, "NE"),
    ("inadequate-marrow-high-blasts", {"blasts": 60, "marrow_adequate": False}, "NE"),
    ("adequacy-unknown", {"blasts": 2, "marrow_adequate": None}, "NE"),
    ("blasts-unknown", {"blasts": None}, "NE"),
    ("pb-unknown-in-remission", {"blasts": 2, "pb_blasts": None}, "NE"),
    ("emd-unknown-in-remission", {"blasts": 2, "extramedullary_disease": None}, "NE"),
    ("emd-unknown-in-pr-range", {"blasts": 10, "extramedullary_disease": None}, "NE"),
    ("baseline-unknown-in-pr-range", {"blasts": 10, "baseline": None}, "NE"),
    ("anc-unknown-in-pr-range", {"blasts": 10, "anc": None}, "NE"),
    ("plt-unknown-in-pr-range", {"blasts": 10, "plt": None}, "NE"),
    # unknowns that cannot change the category are harmless
    ("baseline-unknown-in-remission", {"blasts": 2, "baseline": None}, "CR"),
    ("pb-unknown-pr-default-setting", {"blasts": 10, "pb_blasts": None}, "PR"),
    ("everything-unknown-blasts-30", {"blasts": 30, "anc": None, "plt": None}, "NR"),
    ("anc-unknown-no-50pct-fall", {"blasts": 22, "baseline": 40, "anc": None}, "NR"),
    # unknown counts in remission: MLFS needs no counts (missing_count_rule="mlfs")
    ("counts-unknown-in-remission", {"blasts": 2, "anc": None, "plt": None}, "MLFS"),
    (
        "counts-unknown-not-evaluable-setting",
        {"blasts": 2, "anc": None, "missing_count_rule": "not_evaluable"},
        "NE",
    ),
]


@pytest.mark.parametrize("facts, expected", [c[1:] for c in NE_PATHS], ids=[c[0] for c in NE_PATHS])
def test_not_known_never_becomes_a_silent_value(facts, expected):
    facts = dict(facts)
    blasts = facts.pop("blasts")
    anc = facts.pop("anc", 1.5)
    plt = facts.pop("plt", 150)
    baseline = facts.pop("baseline", 60)
    assert classify(blasts, anc, plt, baseline=baseline, **facts) == expected


ORDER_CASES = [
    ("pb-blasts-below-5-not-PR", {"blasts": 4.99, "pb_blasts": True}, "NR"),
    ("emd-below-5-not-PR", {"blasts": 2, "extramedullary_disease": True}, "NR"),
    ("emd-excludes-PR", {"blasts": 10, "extramedullary_disease": True}, "NR"),
    ("pb-blasts-allowed-in-PR-by-default", {"blasts": 10, "pb_blasts": True}, "PR"),
    (
        "pb-blasts-exclude-PR-with-setting",
        {"blasts": 10, "pb_blasts": True, "pr_requires_no_pb_blasts": True},
        "NR",
    ),
    (
        "setting-irrelevant-without-pb",
        {"blasts": 10, "pr_requires_no_pb_blasts": True},
        "PR",
    ),
]


@pytest.mark.parametrize(
    "facts, expected", [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES]
)
def test_blood_blasts_and_emd_in_the_order_of_evaluation(facts, expected):
    facts = dict(facts)
    assert classify(facts.pop("blasts"), 1.5, 150, **facts) == expected


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"bm_blasts_pct": 100.1}, "bm_blasts_pct"),
        ({"bm_blasts_pct": -0.1}, "bm_blasts_pct"),
        ({"baseline_bm_blasts_pct": 101}, "baseline_bm_blasts_pct"),
        ({"anc": -0.1}, "anc"),
        ({"platelets": "100"}, "platelets"),
        ({"anc": float("nan")}, "anc"),
        ({"pb_blasts": "no"}, "pb_blasts"),
        ({"extramedullary_disease": 1}, "extramedullary_disease"),
        ({"cri_rule": "both"}, "cri_rule"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_impossible_input_raises_naming_the_parameter(kwargs, name):
    facts = {
        "bm_blasts_pct": 2,
        "baseline_bm_blasts_pct": 60,
        "anc": 1.5,
        "platelets": 150,
        **kwargs,
    }
    with pytest.raises(ValueError, match=name):
        classify_response(**facts)


def _reference(blasts, baseline, anc, plt, pb, emd, cri_rule):
    """RULES.md §1.2 pseudo-code, written independently (Decimal(str(x)) comparisons)."""
    b, base, a, p = (Decimal(str(x)) for x in (blasts, baseline, anc, plt))
    if b < 5 and not pb and not emd:
        if a >= 1 and p >= 100:
            return "CR"
        if a >= Decimal("0.5") and p >= 50:
            return "CRh"
        if cri_rule == "inclusive" or a >= 1 or p >= 100:
            return "CRi"
        return "MLFS"
    fall = base > 0 and (base - b) / base >= Decimal("0.5")
    if 5 <= b <= 25 and a >= 1 and p >= 100 and fall and not emd:
        return "PR"
    return "NR"


_pct = st.one_of(
    st.sampled_from([0, 4.9, 4.99, 5, 5.0, 10, 12.5, 20, 24.99, 25, 25.01, 50, 100]),
    st.decimals(0, 100, places=2).map(float),
)


@settings(max_examples=400, deadline=None)
@given(
    blasts=_pct,
    baseline=_pct,
    anc=st.sampled_from([0, 0.49, 0.5, 0.51, 0.99, 1.0, 1.01, 3.2]),
    plt=st.sampled_from([0, 49, 49.9, 50, 99, 99.9, 100, 250]),
    pb=st.booleans(),
    emd=st.booleans(),
    cri_rule=st.sampled_from(["one_lineage_recovered", "inclusive"]),
)
def test_classification_matches_an_independent_reading_of_the_pseudo_code(
    blasts, baseline, anc, plt, pb, emd, cri_rule
):
    got = classify_response(
        bm_blasts_pct=blasts,
        baseline_bm_blasts_pct=baseline,
        anc=anc,
        platelets=plt,
        pb_blasts=pb,
        extramedullary_disease=emd,
        cri_rule=cri_rule,
    )
    assert got == _reference(blasts, baseline, anc, plt, pb, emd, cri_rule)


# =============================================================== §1.3 MRD

MRD_CASES = [
    ("exactly-10-of-100000-positive", "CR", 10, 100_000, "positive"),
    ("9-of-100000-negative", "CR", 9, 100_000, "negative"),
    ("0-of-100000-negative", "CRh", 0, 100_000, "negative"),
    ("exactly-1e-4-with-200000", "CRi", 20, 200_000, "positive"),
    ("19-of-200000-negative", "CRi", 19, 200_000, "negative"),
    ("10-of-99999-positive-below-min-cells", "CR", 10, 99_999, "positive"),
    ("9-of-99999-not-evaluable", "CR", 9, 99_999, "not_evaluable"),
    ("0-of-99999-not-evaluable", "CR", 0, 99_999, "not_evaluable"),
    ("33-of-333333-negative", "CR", 33, 333_333, "negative"),
    ("34-of-333333-positive", "CR", 34, 333_333, "positive"),
    ("all-events-positive", "CR", 5, 5, "positive"),
    ("zero-cells", "CR", 0, 0, "not_evaluable"),
    ("events-unknown", "CR", None, 100_000, "not_evaluable"),
    ("cells-unknown", "CRh", 0, None, "not_evaluable"),
    ("response-unknown", None, 0, 500_000, "not_evaluable"),
    ("MLFS-not-applicable", "MLFS", 0, 500_000, "not_applicable"),
    ("PR-not-applicable", "PR", 0, 500_000, "not_applicable"),
    ("NR-not-applicable", "NR", 50, 100_000, "not_applicable"),
    ("NE-not-applicable", "NE", None, None, "not_applicable"),
]


@pytest.mark.parametrize(
    "response, events, cells, expected",
    [c[1:] for c in MRD_CASES],
    ids=[c[0] for c in MRD_CASES],
)
def test_mrd_status_edges(response, events, cells, expected):
    got = mrd_status(response=response, leukemic_events=events, cells_acquired=cells)
    assert got == expected


def test_mrd_threshold_and_min_cells_settings_move_the_boundary():
    # ELN flow threshold 10⁻³: 50/100 000 = 5×10⁻⁴ is negative there, positive for the protocol.
    kw = {"response": "CR", "leukemic_events": 50, "cells_acquired": 100_000}
    assert mrd_status(**kw) == "positive"
    assert mrd_status(**kw, threshold=1e-3) == "negative"
    assert mrd_status(**kw, threshold=Decimal("0.0005")) == "positive"  # exactly at threshold
    low = {"response": "CR", "leukemic_events": 0, "cells_acquired": 50_000}
    assert mrd_status(**low) == "not_evaluable"
    assert mrd_status(**low, min_cells=50_000) == "negative"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"leukemic_events": 11, "cells_acquired": 10}, "leukemic_events"),
        ({"leukemic_events": -1}, "leukemic_events"),
        ({"cells_acquired": 1.5}, "cells_acquired"),
        ({"response": "CRc"}, "response"),
        ({"threshold": 0}, "threshold"),
    ],
    ids=["events>cells", "negative-events", "fractional-cells", "bad-response", "zero-thr"],
)
def test_mrd_impossible_input(kwargs, name):
    facts = {"response": "CR", "leukemic_events": 0, "cells_acquired": 100_000, **kwargs}
    with pytest.raises(ValueError, match=name):
        mrd_status(**facts)


# =============================================================== §6.2 Clopper–Pearson


@pytest.mark.parametrize(
    "k, n, confidence, expected",
    [
        (0, 1, 0.95, (0.0, 0.975)),
        (1, 1, 0.95, (0.025, 1.0)),
        (0, 1, 0.90, (0.0, 0.95)),
        (1, 2, 0.95, (1 - math.sqrt(0.975), math.sqrt(0.975))),  # Beta(1,2)/Beta(2,1) closed form
        (0, 37, 0.95, (0.0, 1 - 0.025 ** (1 / 37))),
        (0, 10_000, 0.95, (0.0, 1 - 0.025 ** (1 / 10_000))),
        (10_000, 10_000, 0.95, (0.025 ** (1 / 10_000), 1.0)),
    ],
    ids=["0/1", "1/1", "0/1-90pct", "1/2", "0/37", "0/10000", "10000/10000"],
)
def test_exact_ci_closed_forms(k, n, confidence, expected):
    assert exact_ci(k, n, confidence) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [1, 2, 7, 50, 1_000, 25_000])
def test_exact_ci_matches_scipy_binomtest(n, confidence):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        want = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
        assert exact_ci(k, n, confidence) == pytest.approx((want.low, want.high), abs=1e-9)


def test_exact_ci_is_symmetric_in_successes_and_failures():
    for n in (1, 3, 20):
        for k in range(n + 1):
            lo, hi = exact_ci(k, n)
            lo2, hi2 = exact_ci(n - k, n)
            assert lo == pytest.approx(1 - hi2, abs=1e-12)
            assert hi == pytest.approx(1 - lo2, abs=1e-12)


# =============================================================== §6.1 Kaplan–Meier


def test_km_all_censored():
    km = kaplan_meier([5, 10, 10, 30], [False, False, False, False])
    assert km.table == ()
    assert km.median is None and km.median_ci == (None, None)
    assert km.survival_at(0) == km.survival_at(1_000) == 1.0
    assert km.n_events == 0


def test_km_single_death_and_all_dead_at_one_time():
    one = kaplan_meier([5], [True])
    assert one.table[0][:4] == (5.0, 1, 1, 0.0)
    assert (one.table[0].ci_lower, one.table[0].ci_upper) == (0.0, 0.0)  # lifelines 0–0 band
    assert one.median == 5 and one.median_ci == (5, 5)
    same = kaplan_meier([7, 7, 7], [True, True, True])
    assert same.survival_at(6.999) == 1.0 and same.survival_at(7) == 0.0
    assert same.median == 7 and same.median_ci == (7, 7)


def test_km_ties_events_before_censorings():
    # t=2: 1 event + 2 censored at 2 -> at risk 4 (all of them) just before t=2.
    km = kaplan_meier([1, 2, 2, 2, 3], [True, True, False, False, True])
    rows = [r[:4] for r in km.table]
    assert rows[0] == (1.0, 5, 1, pytest.approx(0.8))
    assert rows[1] == (2.0, 4, 1, pytest.approx(0.6))
    assert rows[2] == (3.0, 1, 1, 0.0)
    # Greenwood: 0.6² (1/(5·4) + 1/(4·3))
    assert km.standard_errors[1] == pytest.approx(0.6 * math.sqrt(1 / 20 + 1 / 12))


MEDIAN_TIES = [
    # (id, durations, events, {rule: expected median})
    (
        "S-exactly-half-at-2nd-of-4",
        [1, 2, 3, 4],
        [1, 1, 0, 1],
        {"lifelines": 2, "statsmodels": 4, "midpoint": 3},
    ),
    (
        "S-exactly-half-after-5-of-10-distinct",
        list(range(1, 11)),
        [1] * 10,
        {"lifelines": 5, "statsmodels": 6, "midpoint": 5.5},
    ),
    (
        "tied-deaths-jump-over-half",
        [1, 2, 2, 2, 5, 6],
        [1, 1, 1, 1, 1, 0],
        {"lifelines": 2, "statsmodels": 2, "midpoint": 2},
    ),
    (
        "half-reached-via-tie-with-censoring",
        [3, 3, 3, 3, 8, 9],
        [1, 1, 1, 0, 1, 0],
        {"lifelines": 3, "statsmodels": 8, "midpoint": 5.5},
    ),
    ("never-below-half", [1, 2, 3, 4], [1, 0, 0, 0], {"lifelines": None, "statsmodels": None}),
]


@pytest.mark.parametrize(
    "durations, events, expected",
    [c[1:] for c in MEDIAN_TIES],
    ids=[c[0] for c in MEDIAN_TIES],
)
def test_km_median_at_ties_and_exact_halves(durations, events, expected):
    for rule, median in expected.items():
        assert kaplan_meier(durations, [bool(e) for e in events], median_rule=rule).median == median


def _none_if_inf(x):
    return None if math.isinf(x) else float(x)


def _random_dataset(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 45))
    kind = seed % 3
    if kind == 0:  # continuous, few ties
        durations = np.round(rng.exponential(150, n), 1)
    elif kind == 1:  # heavy ties, zeros allowed
        durations = rng.integers(0, 8, n).astype(float)
    else:  # study days
        durations = rng.integers(1, 400, n).astype(float)
    events = rng.random(n) < rng.uniform(0.05, 1.0)
    return durations, events


@pytest.mark.parametrize("block", range(8), ids=lambda b: f"seeds-{b * 150}-{b * 150 + 149}")
def test_km_matches_lifelines_on_many_seeded_data_sets(block):
    for seed in range(block * 150, block * 150 + 150):
        durations, events = _random_dataset(seed)
        km = kaplan_meier(durations.tolist(), events.tolist())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kmf = KaplanMeierFitter().fit(durations, events)
            ci = median_survival_times(kmf.confidence_interval_)
        assert km.median_ci == (_none_if_inf(ci.iloc[0, 0]), _none_if_inf(ci.iloc[0, 1])), seed
        sf = kmf.survival_function_.iloc[:, 0]
        band = kmf.confidence_interval_
        lower = band.filter(like="lower").iloc[:, 0]
        upper = band.filter(like="upper").iloc[:, 0]
        for row in km.table:
            assert row.survival == pytest.approx(sf.loc[row.time], abs=1e-12), seed
            assert row.at_risk == int(kmf.event_table.loc[row.time, "at_risk"]), seed
            assert row.ci_lower == pytest.approx(lower.loc[row.time], abs=1e-9), seed
            assert row.ci_upper == pytest.approx(upper.loc[row.time], abs=1e-9), seed
        # lifelines' float product may land a hair above an exact 1/2; the rule is S ≤ 0.5
        if not any(abs(r.survival - 0.5) < 1e-12 for r in km.table):
            assert km.median == _none_if_inf(kmf.median_survival_time_), seed


@pytest.mark.parametrize("method", ["log-log", "linear"])
def test_km_pointwise_band_matches_scipy_ecdf(method):
    for seed in range(300):
        durations, events = _random_dataset(seed)
        if not events.any():
            continue
        sf = stats.ecdf(stats.CensoredData.right_censored(durations, ~events)).sf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy: undefined where S = 0
            band = sf.confidence_interval(0.95, method=method)
        km = kaplan_meier(durations.tolist(), events.tolist(), km_ci=method)
        for row in km.table:
            if row.survival == 0:
                continue  # scipy: NaN (log-log) where lifelines and this product give 0–0
            assert row.ci_lower == pytest.approx(band.low.evaluate(row.time), abs=1e-9), seed
            assert row.ci_upper == pytest.approx(band.high.evaluate(row.time), abs=1e-9), seed


def test_km_log_transform_by_hand():
    # R survival "log": S·exp(±z·√Σ d/(n(n−d))), clipped to 1. KM-A at t=30: S=0.9, Σ=1/90.
    km = kaplan_meier(
        [30, 45, 60, 60, 90, 120, 150, 180, 240, 365],
        [True, False, True, True, False, True, False, True, False, False],
        km_ci="log",
    )
    z = stats.norm.ppf(0.975)
    row = km.table[0]
    assert row.ci_lower == pytest.approx(0.9 * math.exp(-z * math.sqrt(1 / 90)))
    assert row.ci_upper == 1.0  # 0.9·exp(+0.2066) = 1.107 → clipped
    assert km.median_ci[0] == 60  # RULES.md / CASES.md J: log transform lower limit 60


@pytest.mark.parametrize(
    "durations, events, message",
    [
        ([1, 2], [True], "same length"),
        ([], [], "must not be empty"),
        ([-1, 2], [True, True], r"durations\[0\]"),
        ([float("nan")], [True], r"durations\[0\]"),
        ([1, 2], [True, 2], r"events\[1\]"),
    ],
    ids=["length-mismatch", "empty", "negative", "nan", "event-2"],
)
def test_km_impossible_input(durations, events, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events)


def test_km_accepts_numpy_and_decimal_inputs():
    ref = kaplan_meier([1.5, 2, 3], [True, False, True])
    arr = kaplan_meier(np.array([1.5, 2, 3]), np.array([1, 0, 1]))
    dec = kaplan_meier([Decimal("1.5"), Decimal(2), Decimal(3)], [True, False, True])
    assert ref.table == arr.table == dec.table
    assert ref.survival_at(Decimal("1.5")) == pytest.approx(2 / 3)


# =============================================================== §6.3 kinetics

NO_28 = [(0, 0), (7, 100), (14, 50), (21, 20), (35, 10)]


def test_kinetics_interpolates_c28_linearly_without_a_day_28_sample():
    got = kinetics(NO_28)
    # C(28) = 20 + (10 − 20)·7/14 = 15; AUC = 350 + 525 + 245 + (20 + 15)/2·7
    assert got.c_auc_end == pytest.approx(15)
    assert got.auc == pytest.approx(350 + 525 + 245 + 122.5)
    assert (got.cmax, got.tmax, got.tlast, got.clast) == (100, 7, 35, 10)


def test_kinetics_linear_up_log_down_by_hand():
    got = kinetics(NO_28, auc_method="linear-up/log-down")
    c28 = 20 * (10 / 20) ** 0.5  # log-linear on a declining quantifiable segment
    log_area = lambda c1, c2, dt: (c1 - c2) * dt / math.log(c1 / c2)  # noqa: E731
    want = 350 + log_area(100, 50, 7) + log_area(50, 20, 7) + log_area(20, c28, 7)
    assert got.c_auc_end == pytest.approx(c28)
    assert got.auc == pytest.approx(want)


@pytest.mark.parametrize(
    "samples",
    [
        [(0, 0), (7, 100), (14, 50), (21, 20)],
        [(0, 0), (7, 100), (27.9, 20)],
        [(0, 0), (7, 100), (21, 20), (28, None), (60, None)],
    ],
    ids=["last-day-21", "last-day-27.9", "day-28-and-60-without-result"],
)
def test_kinetics_auc_not_calculable_without_a_sample_at_or_after_day_28(samples):
    got = kinetics(samples)
    assert got.auc is None and got.c_auc_end is None
    assert got.cmax == 100 and got.tmax == 7  # the other parameters are still reported


def test_kinetics_day_0_assumed_zero_and_first_sample_later():
    # No Day-0 sample: the curve starts at (0, 0). 0–4: 500·4/2; 4–28: (500+100)/2·24.
    got = kinetics([(4, 500), (28, 100)])
    assert got.auc == pytest.approx(1_000 + 7_200)


def test_kinetics_other_end_day():
    got = kinetics(NO_28, auc_end_day=10)
    c10 = 100 + (50 - 100) * 3 / 7
    assert got.auc == pytest.approx(350 + (100 + c10) / 2 * 3)


def test_kinetics_blq_exactly_on_day_28_after_tlast_counts_as_zero():
    got = kinetics([(0, 0), (7, 100), (14, 50), (28, 0)])
    assert got.c_auc_end == 0.0
    assert got.auc == pytest.approx(350 + 525 + 350)
    assert got.tlast == 14


def test_kinetics_blq_at_day_28_between_quantifiable_levels_is_missing():
    got = kinetics([(0, 0), (7, 100), (28, 0), (35, 30)])
    c28 = 100 + (30 - 100) * 21 / 28  # the Day-28 BLQ is left out (RULES §6.3)
    assert got.c_auc_end == pytest.approx(c28)
    assert got.auc == pytest.approx(350 + (100 + c28) / 2 * 21)


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.integers(1, 120), min_size=1, max_size=9, unique=True),
    data=st.data(),
)
def test_kinetics_linear_auc_matches_numpy_with_interpolated_c28(days, data):
    days = sorted(days)
    levels = data.draw(st.lists(st.integers(1, 50_000), min_size=len(days), max_size=len(days)))
    got = kinetics(list(zip(days, levels, strict=True)))
    assert got.cmax == max(levels) and got.tmax == days[levels.index(max(levels))]
    assert (got.tlast, got.clast) == (days[-1], levels[-1])
    if days[-1] < 28:
        assert got.auc is None
        return
    t = np.array([0, *days], dtype=float)
    c = np.array([0, *levels], dtype=float)
    c28 = float(np.interp(28, t, c))
    keep = t < 28
    want = float(np.trapezoid(np.append(c[keep], c28), np.append(t[keep], 28)))
    assert got.c_auc_end == pytest.approx(c28)
    assert got.auc == pytest.approx(want)


# =============================================================== §1.8 blast decline


@pytest.mark.parametrize(
    "baseline, current, method, expected",
    [
        (10, 5, "relative", 50.0),
        (10, 5, "absolute", 5.0),
        (60, 20, "relative", pytest.approx(200 / 3)),
        (20, 30, "relative", -50.0),
        (20, 30, "absolute", -10.0),
        (0, 0, "relative", None),
        (0, 3, "absolute", -3.0),
        (None, 3, "relative", None),
        (40, None, "absolute", None),
    ],
    ids=[
        "10-to-5-rel",
        "10-to-5-abs",
        "60-to-20-rel",
        "rise-rel",
        "rise-abs",
        "baseline-0-rel",
        "baseline-0-abs",
        "baseline-unknown",
        "current-unknown",
    ],
)
def test_blast_decline(baseline, current, method, expected):
    assert blast_decline(baseline, current, method=method) == expected


# =============================================================== §1.6 time to event

INF = date(2025, 6, 1)


def _day(n):
    return INF + timedelta(days=n)


def test_dor_starts_at_first_mlfs_while_rfs_starts_at_the_later_cr():
    course = SubjectCourse(
        INF,
        assessments=[(_day(28), "MLFS"), (_day(60), "CR"), (_day(120), "CR")],
        relapse_date=_day(200),
        last_known_alive_date=_day(300),
    )
    dor = duration_of_response(course)
    rfs = relapse_free_survival(course)
    assert (dor.start, dor.end, dor.event, dor.duration_days) == (_day(28), _day(200), True, 172)
    assert (rfs.start, rfs.end, rfs.event, rfs.duration_days) == (_day(60), _day(200), True, 140)


def test_dor_death_without_progression_is_an_event_and_ne_does_not_extend_censoring():
    died = SubjectCourse(INF, assessments=[(_day(28), "PR")], death_date=_day(75))
    got = duration_of_response(died)
    assert (got.end, got.event, got.reason, got.duration_days) == (_day(75), True, "death", 47)
    censored = SubjectCourse(
        INF,
        assessments=[(_day(28), "CRi"), (_day(90), "CRi"), (_day(180), "NE")],
        last_known_alive_date=_day(200),
    )
    got = duration_of_response(censored)
    assert (got.end, got.event, got.duration_days) == (_day(90), False, 62)


def test_rfs_censors_at_last_known_alive_not_last_marrow():
    course = SubjectCourse(INF, assessments=[(_day(30), "CRh")], last_known_alive_date=_day(400))
    got = relapse_free_survival(course)
    assert (got.end, got.event, got.duration_days) == (_day(400), False, 370)
    assert relapse_free_survival(course, tte_day_offset=1).duration_days == 371


def test_rfs_is_none_for_mlfs_and_pr_only():
    course = SubjectCourse(INF, assessments=[(_day(28), "MLFS"), (_day(60), "PR")])
    assert relapse_free_survival(course) is None
    assert duration_of_response(course).start == _day(28)


def test_efs_protocol_non_responder_without_pd_is_censored_at_last_assessment():
    course = SubjectCourse(
        INF,
        assessments=[(_day(28), "NR"), (_day(90), "NR")],
        last_known_alive_date=_day(150),
    )
    got = event_free_survival(course)
    assert (got.end, got.event, got.duration_days) == (_day(90), False, 90)
    died = SubjectCourse(INF, assessments=[(_day(28), "NR")], death_date=_day(50))
    got = event_free_survival(died)
    assert (got.end, got.event, got.reason) == (_day(50), True, "death")


def test_efs_relapse_and_death_on_the_same_day_is_one_event():
    course = SubjectCourse(
        INF, assessments=[(_day(28), "CR")], relapse_date=_day(99), death_date=_day(99)
    )
    got = event_free_survival(course)
    assert (got.event, got.duration_days) == (True, 99)
    assert overall_survival(course).duration_days == 99


def test_hsct_on_the_relapse_day_does_not_censor_the_relapse():
    course = SubjectCourse(
        INF,
        assessments=[(_day(28), "CR")],
        relapse_date=_day(100),
        hsct_date=_day(100),
        last_known_alive_date=_day(200),
    )
    for endpoint in (event_free_survival, relapse_free_survival, duration_of_response):
        got = endpoint(course, censor_at_hsct=True)
        assert (got.end, got.event) == (_day(100), True), endpoint.__name__


def test_eln2022_efs_day_offset_and_early_death_without_assessment():
    died = SubjectCourse(INF, death_date=_day(10))
    got = event_free_survival(died, efs_definition="eln2022")
    assert (got.start, got.end, got.event, got.duration_days) == (INF, INF, True, 0)
    got = event_free_survival(died, efs_definition="eln2022", tte_day_offset=1)
    assert got.duration_days == 1  # ELN "day 1"
    # the protocol definition: death on day 10 is the event
    assert event_free_survival(died).duration_days == 10


def test_eln2022_efs_cr_exactly_on_the_landmark_counts_as_response():
    course = SubjectCourse(
        INF,
        assessments=[(_day(28), "NR"), (_day(90), "CR")],
        relapse_date=_day(150),
        last_known_alive_date=_day(300),
    )
    got = event_free_survival(course, efs_definition="eln2022")
    assert (got.end, got.event, got.reason) == (_day(150), True, "relapse")
    got = event_free_survival(course, efs_definition="eln2022", response_landmark_days=28)
    assert (got.end, got.event, got.reason) == (INF, True, "treatment_failure")


def test_os_censors_at_the_latest_dated_fact():
    course = SubjectCourse(
        INF,
        assessments=[(_day(28), "CR")],
        relapse_date=_day(120),
        last_known_alive_date=_day(100),  # older than the relapse: relapse proves alive later
    )
    got = overall_survival(course)
    assert (got.end, got.event, got.duration_days) == (_day(120), False, 120)
    assert round(got.months, 4) == round(120 / 30.4375, 4)


def test_event_flags_stored_as_floats_are_accepted_and_other_floats_refused():
    from efficacy.rules import kaplan_meier

    as_float = kaplan_meier([30, 45, 60], [1.0, 0.0, 1.0])
    as_bool = kaplan_meier([30, 45, 60], [True, False, True])
    assert as_float.table == as_bool.table
    with pytest.raises(ValueError, match=r"events\[1\]"):
        kaplan_meier([30, 45], [1.0, 0.5])
