"""The pure endpoint computation: golden §J–M through ``compute_endpoints``, every value equal to
the rules applied directly, grouping by dose level, empty groups (issue #13 Requirement 2–3)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from efficacy.course import KineticsPoint, SubjectEfficacy, VisitResponse
from efficacy.endpoints import ALL, ENDPOINTS, compute_endpoints, study_efficacy_settings
from efficacy.rules import (
    SubjectCourse,
    best_overall_response,
    duration_of_response,
    event_free_survival,
    kaplan_meier,
    kinetics,
    median_blast_decline,
    overall_survival,
    relapse_free_survival,
    response_rates,
    spearman,
)

DAY0 = date(2025, 6, 1)
MONTH_DAY = {1: 28, 2: 56, 3: 91, 6: 182, 9: 273, 12: 365}


def d(day: int) -> date:
    return DAY0 + timedelta(days=day)


def visit(month, category, *, mrd=None, blasts=None, day=None):
    day = MONTH_DAY[month] if day is None else day
    return VisitResponse(
        assessed_on=d(day),
        study_day=day,
        month=month,
        category=category,
        computed_category=category,
        source="computed",
        mrd=mrd,
        marrow_blast_pct=None if blasts is None else Decimal(str(blasts)),
    )


def subject(pk, *, responses=(), baseline=None, kinetics_points=(), **course):
    resp = tuple(responses)
    assessments = tuple((r.assessed_on, r.category) for r in resp)
    return SubjectEfficacy(
        subject_id=pk,
        label=f"S-{pk:03d}",
        day0=DAY0,
        course=SubjectCourse(infusion_date=DAY0, assessments=assessments, **course),
        responses=resp,
        baseline_marrow_blast_pct=None if baseline is None else Decimal(str(baseline)),
        kinetics=tuple(kinetics_points),
    )


# --- §J Kaplan–Meier dataset KM-A as OS ----------------------------------------------------
KM_A_TIMES = [30, 45, 60, 60, 90, 120, 150, 180, 240, 365]
KM_A_EVENTS = [1, 0, 1, 1, 0, 1, 0, 1, 0, 0]


def km_a_subjects():
    out = []
    for i, (t, e) in enumerate(zip(KM_A_TIMES, KM_A_EVENTS, strict=True), 1):
        if e:
            out.append(subject(i, death_date=d(t)))
        else:
            out.append(subject(i, last_known_alive_date=d(t)))
    return out


def test_golden_j_km_a_os_curve_median_and_ci():
    values = compute_endpoints(km_a_subjects(), {})
    os_ = values[(ALL, "os")]
    steps = [(s["time"], s["at_risk"], s["events"], round(s["survival"], 6)) for s in os_["steps"]]
    assert steps == [(30, 10, 1, 0.9), (60, 8, 2, 0.675), (120, 5, 1, 0.54), (180, 3, 1, 0.36)]
    first = os_["steps"][0]
    assert (round(first["ci_lower"], 6), round(first["ci_upper"], 6)) == (0.473009, 0.985281)
    last = os_["steps"][-1]
    assert (round(last["ci_lower"], 6), round(last["ci_upper"], 6)) == (0.062942, 0.685628)
    assert (os_["median"], os_["median_ci_lower"], os_["median_ci_upper"]) == (180, 30, None)
    assert os_["median_months"] == pytest.approx(180 / 30.4375)
    # Equal to the rule applied directly.
    km = kaplan_meier(KM_A_TIMES, [bool(e) for e in KM_A_EVENTS])
    assert [
        (s["time"], s["at_risk"], s["events"], s["survival"], s["ci_lower"], s["ci_upper"])
        for s in os_["steps"]
    ] == [tuple(r) for r in km.table]
    assert os_["censor_times"] == list(km.censor_times)
    # Number at risk at fixed months: days ≥ 0, 91.3, 182.6, 273.9, 365.25, …
    assert [a["at_risk"] for a in os_["at_risk"]] == [10, 5, 2, 1, 0, 0, 0]


def test_golden_j_km_b_median_rule_comes_from_the_settings():
    subjects = [subject(i, death_date=d(t)) for i, t in enumerate([10, 20, 30, 40], 1)]
    medians = {
        rule: compute_endpoints(subjects, {}, {"median_rule": rule})[(ALL, "os")]["median"]
        for rule in ("lifelines", "statsmodels", "midpoint")
    }
    assert medians == {"lifelines": 20, "statsmodels": 30, "midpoint": 25}
    linear = compute_endpoints(km_a_subjects(), {}, {"km_ci": "linear"})[(ALL, "os")]
    assert round(linear["steps"][0]["ci_lower"], 6) == 0.714061
    assert linear["median_ci_lower"] == 60


# --- §K exact binomial CI through the response rates ---------------------------------------
@pytest.mark.parametrize(
    "k,n,lower,upper",
    [(0, 3, 0, 0.707598), (1, 3, 0.008404, 0.905701), (3, 10, 0.066740, 0.652453)],
)
def test_golden_k_rates_carry_the_exact_ci_and_denominator(k, n, lower, upper):
    subjects = [
        subject(i, responses=[visit(1, "CR" if i <= k else "NR")], last_known_alive_date=d(40))
        for i in range(1, n + 1)
    ]
    month1 = compute_endpoints(subjects, {})[(ALL, "response_rates")]["months"][0]
    assert month1["month"] == 1
    assert (month1["ORR"]["numerator"], month1["ORR"]["denominator"]) == (k, n)
    assert round(month1["ORR"]["ci_lower"], 6) == lower
    assert round(month1["ORR"]["ci_upper"], 6) == upper
    assert month1["CRR"] == month1["ORR"]


def mixed_subjects():
    return [
        subject(
            1,
            responses=[visit(1, "CR", mrd="negative", blasts=2), visit(3, "CR", mrd="negative")],
            baseline=60,
            last_known_alive_date=d(200),
        ),
        subject(
            2,
            responses=[visit(1, "CRh", mrd="positive", blasts=4), visit(2, "CR", mrd="positive")],
            baseline=40,
            relapse_date=d(150),
            death_date=d(210),
        ),
        subject(
            3,
            responses=[visit(1, "CRi", blasts=3), visit(2, "NR", blasts=30)],
            baseline=30,
            progression_date=d(70),
            last_known_alive_date=d(120),
        ),
        subject(
            4,
            responses=[visit(1, "MLFS", blasts=4), visit(2, "PR", blasts=10)],
            baseline=0,
            hsct_date=d(80),
            last_known_alive_date=d(300),
        ),
        subject(5, responses=[visit(1, "NR", blasts=70)], baseline=50, death_date=d(45)),
        subject(6, responses=[visit(1, "NE")], last_known_alive_date=d(35)),
        subject(7, last_known_alive_date=d(10)),
    ]


def test_rates_and_best_response_equal_the_rules_applied_directly():
    subjects = mixed_subjects()
    for settings in ({}, {"rate_basis": "best_up_to_visit", "rate_denominator": "evaluable"}):
        got = compute_endpoints(subjects, {}, settings)[(ALL, "response_rates")]
        want = response_rates(
            [s.responses_by_month() for s in subjects],
            mrd=[s.mrd_by_month() for s in subjects],
            **settings,
        )
        assert got["n"] == 7
        assert len(got["months"]) == len(want) == 6
        for row, rates in zip(got["months"], want, strict=True):
            assert row["month"] == rates.month
            for name, rate in rates.as_dict().items():
                assert row[name] == {
                    "numerator": rate.numerator,
                    "denominator": rate.denominator,
                    "rate": rate.rate,
                    "ci_lower": rate.ci_lower,
                    "ci_upper": rate.ci_upper,
                }
    best = compute_endpoints(subjects, {})[(ALL, "best_response")]
    assert best["distribution"] == {
        "CR": 2,
        "CRh": 0,
        "CRi": 1,
        "MLFS": 1,
        "PR": 0,
        "NR": 1,
        "NE": 1,
        "not_assessed": 1,
    }
    assert best["mrd_negative_cr_family"] == 1
    for row, s in zip(best["subjects"], subjects, strict=True):
        bor = best_overall_response(s.responses_by_month(), s.mrd_by_month())
        assert (row["category"], row["mrd_negative"], row["month"]) == (
            bor.category,
            bor.mrd_negative,
            bor.month,
        )


def test_blast_decline_median_and_waterfall_equal_the_rules():
    subjects = mixed_subjects()
    got = compute_endpoints(subjects, {})[(ALL, "blast_decline")]
    m1 = median_blast_decline([(60, 2), (40, 4), (30, 3), (0, 4), (50, 70)])
    assert got["by_month"]["1"] == {
        "n": m1.n,
        "median": m1.median,
        "minimum": m1.minimum,
        "maximum": m1.maximum,
        "excluded_zero_baseline": 1,
    }
    assert (
        got["by_month"]["2"]["n"] == 1
    )  # subject 2 has no count, subject 4's 0 % baseline is left out
    waterfall = [(w["label"], w["best_decline"], w["month"]) for w in got["waterfall"]]
    assert waterfall[0] == ("S-001", pytest.approx(100 * 58 / 60), 1)
    assert waterfall[:5] == [
        ("S-001", pytest.approx(96.6666667), 1),
        ("S-002", pytest.approx(90.0), 1),
        ("S-003", pytest.approx(90.0), 1),
        ("S-005", pytest.approx(-40.0), 1),
        ("S-004", None, None),
    ]
    absolute = compute_endpoints(subjects, {}, {"blast_decline": "absolute"})[
        (ALL, "blast_decline")
    ]
    assert absolute["by_month"]["1"]["n"] == 5


# --- §M time to event ------------------------------------------------------------------------
def tte_subjects():
    return [
        subject(  # TTE-01
            1,
            responses=[visit(1, "CR", day=30)],
            relapse_date=date(2025, 11, 15),
            death_date=date(2026, 2, 1),
        ),
        subject(  # TTE-02
            2,
            responses=[visit(1, "NR"), visit(2, "NR"), visit(3, "NR")],
            progression_date=date(2025, 9, 10),
            last_known_alive_date=date(2026, 1, 10),
        ),
        subject(  # TTE-03
            3, responses=[visit(1, "MLFS", day=30)], progression_date=date(2025, 10, 1)
        ),
        subject(  # TTE-04
            4,
            responses=[visit(1, "CRi", day=30)],
            hsct_date=date(2025, 8, 1),
            last_assessment_date=date(2026, 6, 1),
            last_known_alive_date=date(2026, 6, 15),
        ),
    ]


def _tte_rows(values, name):
    return {
        r["label"]: (r["start_day"], r["days"], r["event"], r["reason"])
        for r in values[(ALL, name)]["subjects"]
    }


def test_golden_m_durations_through_compute_endpoints():
    values = compute_endpoints(tte_subjects(), {})
    assert _tte_rows(values, "os") == {
        "S-001": (0, 245, True, "death"),
        "S-002": (0, 223, False, "censored_last_known_alive"),
        "S-003": (0, 122, False, "censored_last_known_alive"),
        "S-004": (0, 379, False, "censored_last_known_alive"),
    }
    efs = _tte_rows(values, "efs")
    assert efs["S-001"] == (0, 167, True, "relapse")
    assert efs["S-002"] == (0, 101, True, "progression")
    assert efs["S-003"] == (0, 122, True, "progression")
    assert _tte_rows(values, "rfs") == {
        "S-001": (30, 137, True, "relapse"),
        "S-004": (30, 349, False, "censored_last_known_alive"),
    }
    dor = _tte_rows(values, "dor")
    assert dor["S-001"] == (30, 137, True, "relapse")
    assert dor["S-003"] == (30, 92, True, "progression")
    assert "S-002" not in dor
    eln = compute_endpoints(tte_subjects(), {}, {"efs_definition": "eln2022"})
    assert _tte_rows(eln, "efs")["S-002"] == (0, 0, True, "treatment_failure")
    hsct = compute_endpoints(tte_subjects(), {}, {"censor_at_hsct": True})
    assert _tte_rows(hsct, "rfs")["S-004"] == (30, 31, False, "censored_hsct")
    offset = compute_endpoints(tte_subjects(), {}, {"tte_day_offset": 1})
    assert _tte_rows(offset, "os")["S-001"] == (0, 246, True, "death")


def test_km_of_each_endpoint_equals_the_rules_applied_directly():
    subjects = tte_subjects() + mixed_subjects()
    subjects = [
        SubjectEfficacy(**{**s.__dict__, "subject_id": i, "label": f"X{i}"})
        for i, s in enumerate(subjects, 1)
    ]
    values = compute_endpoints(subjects, {})
    for name, fn in (
        ("os", overall_survival),
        ("efs", event_free_survival),
        ("rfs", relapse_free_survival),
        ("dor", duration_of_response),
    ):
        ttes = [t for t in (fn(s.course) for s in subjects) if t is not None]
        km = kaplan_meier([t.duration_days for t in ttes], [t.event for t in ttes])
        got = values[(ALL, name)]
        assert (got["n"], got["n_events"]) == (len(ttes), km.n_events), name
        assert [tuple(s.values()) for s in got["steps"]] == [tuple(r) for r in km.table], name
        assert (got["median"], got["median_ci_lower"], got["median_ci_upper"]) == (
            km.median,
            *km.median_ci,
        )


# --- §L kinetics -----------------------------------------------------------------------------
L_PROFILE = [
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


def points(profile, method="qpcr", compartment="blood", unit="copies/µg gDNA"):
    return [KineticsPoint(day, value, unit, compartment, method) for day, value in profile]


def test_golden_l_kinetics_per_subject_and_median_by_group():
    half = [(day, value / 2) for day, value in L_PROFILE]
    subjects = [
        subject(1, kinetics_points=points(L_PROFILE) + points(L_PROFILE[:7], method="flow")),
        subject(2, kinetics_points=points(half)),
        subject(3, kinetics_points=[KineticsPoint(-3, 0, "copies/µg gDNA", "blood", "qpcr")]),
    ]
    values = compute_endpoints(subjects, {1: "DL1", 2: "DL2", 3: "DL2"})
    qpcr = values[(ALL, "kinetics")]["analytes"]["qpcr/blood"]
    first = qpcr["subjects"][0]
    assert (first["cmax"], first["tmax"], first["auc_0_28"]) == (45_000, 10, 423_250)
    assert (first["tlast"], first["clast"]) == (60, 300)
    assert qpcr["n"] == 2  # subject 3 had only a pre-infusion level
    assert qpcr["median_cmax"] == pytest.approx((45_000 + 22_500) / 2)
    assert qpcr["median_auc_0_28"] == pytest.approx((423_250 + 423_250 / 2) / 2)
    logdown = compute_endpoints(subjects, {}, {"auc_method": "linear-up/log-down"})
    row = logdown[(ALL, "kinetics")]["analytes"]["qpcr/blood"]["subjects"][0]
    assert row["auc_0_28"] == pytest.approx(
        kinetics(L_PROFILE, auc_method="linear-up/log-down").auc
    )
    assert round(row["auc_0_28"], 1) == 400_036.5
    assert set(values[(ALL, "kinetics")]["analytes"]) == {"qpcr/blood", "flow/blood"}
    assert values[("DL1", "kinetics")]["analytes"]["qpcr/blood"]["median_cmax"] == 45_000
    assert values[("DL2", "kinetics")]["analytes"]["qpcr/blood"]["median_cmax"] == 22_500


def test_correlations_equal_spearman_and_no_episode_is_grade_0():
    subjects = []
    il6 = [50.0, 800.0, 2500.0, 120.0, None]
    crs = [None, 2, 3, 1, 2]
    icans = [None, None, 2, None, 1]
    for i in range(5):
        base = subject(i + 1, kinetics_points=points([(0, 0), (7, 1000 * (i + 1)), (28, 10)]))
        subjects.append(
            SubjectEfficacy(
                **{
                    **base.__dict__,
                    "peak_il6": il6[i],
                    "max_crs_grade": crs[i],
                    "max_icans_grade": icans[i],
                }
            )
        )
    got = compute_endpoints(subjects, {})[(ALL, "correlations")]
    rho, p = spearman(il6, [0, 2, 3, 1, 2])
    il6_crs = {k: v for k, v in got["il6_vs_crs"].items() if k != "points"}
    assert il6_crs == {"n": 4, "rho": rho, "p_value": p, "note": None}
    rho, p = spearman([1000, 2000, 3000, 4000, 5000], [0, 0, 2, 0, 1])
    assert (got["cmax_vs_icans"]["rho"], got["cmax_vs_icans"]["p_value"]) == (rho, p)
    few = compute_endpoints(subjects[:2], {})[(ALL, "correlations")]
    assert few["il6_vs_crs"] == {
        "n": 2,
        "rho": None,
        "p_value": None,
        "note": "fewer than 3 subjects with both",
        "points": [
            {"subject_id": 1, "label": "S-001", "x": 50.0, "y": 0},
            {"subject_id": 2, "label": "S-002", "x": 800.0, "y": 2},
        ],
    }


def test_each_correlation_keeps_the_points_spearman_was_given():
    """The scatter's points are the complete pairs: subject 5 (no IL-6) is left out of the IL-6
    comparisons, a subject without CRS is at grade 0, and Spearman on the points alone gives the
    stored rho and p."""
    il6 = [50.0, 800.0, 2500.0, 120.0, None]
    crs = [None, 2, 3, 1, 2]
    subjects = [
        SubjectEfficacy(
            **{
                **subject(i + 1, kinetics_points=points([(7, 1000 * (i + 1))])).__dict__,
                "peak_il6": il6[i],
                "max_crs_grade": crs[i],
            }
        )
        for i in range(5)
    ]
    got = compute_endpoints(subjects, {})[(ALL, "correlations")]
    il6_crs = got["il6_vs_crs"]["points"]
    assert il6_crs == [
        {"subject_id": i + 1, "label": f"S-{i + 1:03d}", "x": il6[i], "y": (crs[i] or 0)}
        for i in range(4)
    ]
    for key in ("il6_vs_crs", "il6_vs_icans", "cmax_vs_crs", "cmax_vs_icans"):
        stored = got[key]
        assert len(stored["points"]) == stored["n"]
        xs = [pt["x"] for pt in stored["points"]]
        ys = [pt["y"] for pt in stored["points"]]
        assert spearman(xs, ys) == (stored["rho"], stored["p_value"])
    assert [pt["x"] for pt in got["cmax_vs_crs"]["points"]] == [1000 * i for i in range(1, 6)]


# --- grouping, empty groups, JSON, swimmer ---------------------------------------------------
def test_groups_by_dose_level_and_all():
    subjects = km_a_subjects()
    groups = {i: ("DL1" if i <= 5 else "DL2") for i in range(1, 10)}  # subject 10: no level
    values = compute_endpoints(subjects, groups)
    assert {g for g, _ in values} == {ALL, "DL1", "DL2"}
    assert {e for _, e in values} == set(ENDPOINTS)
    assert values[(ALL, "os")]["n"] == 10
    assert values[("DL1", "os")]["n"] == 5 and values[("DL2", "os")]["n"] == 4
    dl1 = kaplan_meier(KM_A_TIMES[:5], [bool(e) for e in KM_A_EVENTS[:5]])
    assert [s["survival"] for s in values[("DL1", "os")]["steps"]] == [
        r.survival for r in dl1.table
    ]
    assert [r["label"] for r in values[("DL2", "swimmer")]["subjects"]] == [
        f"S-{i:03d}" for i in range(6, 10)
    ]


def test_empty_groups_and_no_subjects_give_values_without_estimates():
    values = compute_endpoints(km_a_subjects()[:2], {1: "DL1", 99: "DL3"})
    dl3 = {e: v for (g, e), v in values.items() if g == "DL3"}
    assert set(dl3) == set(ENDPOINTS)
    assert dl3["os"]["n"] == 0 and dl3["os"]["median"] is None and dl3["os"]["steps"] == []
    assert dl3["response_rates"]["months"][0]["ORR"]["rate"] is None
    assert dl3["response_rates"]["months"][0]["ORR"]["denominator"] == 0
    assert dl3["blast_decline"]["by_month"]["1"]["median"] is None
    assert dl3["correlations"]["il6_vs_crs"]["rho"] is None
    nothing = compute_endpoints([], {})
    assert {g for g, _ in nothing} == {ALL}
    assert nothing[(ALL, "efs")]["n"] == 0


def test_values_are_plain_json_and_swimmer_uses_study_days():
    subjects = mixed_subjects() + tte_subjects()[:1]
    subjects[-1] = SubjectEfficacy(**{**subjects[-1].__dict__, "subject_id": 8, "label": "S-008"})
    values = compute_endpoints(subjects, {8: "DL1"})
    for value in values.values():
        assert json.loads(json.dumps(value, allow_nan=False)) == value
    swim = {r["label"]: r for r in values[(ALL, "swimmer")]["subjects"]}
    assert swim["S-002"]["relapse_day"] == 150 and swim["S-002"]["death_day"] == 210
    assert swim["S-002"]["follow_up_days"] == 210 and swim["S-002"]["alive"] is False
    assert swim["S-004"]["hsct_day"] == 80 and swim["S-004"]["follow_up_days"] == 300
    assert swim["S-001"]["responses"] == [
        {"day": 28, "month": 1, "category": "CR", "computed": "CR", "source": "computed"},
        {"day": 91, "month": 3, "category": "CR", "computed": "CR", "source": "computed"},
    ]


def test_an_impossible_course_names_the_subject():
    bad = subject(1, responses=[visit(1, "CR", day=60)], relapse_date=d(40))
    with pytest.raises(ValueError, match="RFS of subject S-001"):
        compute_endpoints([bad], {})


def test_study_settings_fall_back_to_the_rules_defaults():
    class Study:
        settings = {"safety": {}}

    assert study_efficacy_settings(Study())["median_rule"] == "lifelines"
    Study.settings = {"efficacy": {"median_rule": "midpoint"}}
    assert study_efficacy_settings(Study())["median_rule"] == "midpoint"
