"""Independent review of enrollment.rules: adversarial eligibility cases.

Every expected value below was derived by hand from the registry text (NCT06880354 inclusion
1-11, exclusion 1-19) and RULES.md §5 — not by running the implementation. Hand arithmetic is
in the parametrize ids or a comment next to each case.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from enrollment.rules import (
    age_in_years,
    creatinine_clearance,
    evaluate_eligibility,
    prednisone_equivalent_mg,
    qtcf,
)

SCREENING = date(2025, 7, 1)
ICF = date(2025, 6, 30)
ENROLLMENT = date(2025, 7, 10)
APHERESIS = date(2025, 7, 14)


def eligible_woman(**overrides):
    """A 50-year-old woman of childbearing potential who meets every criterion."""
    facts = {
        "screening_date": SCREENING,
        "icf_date": ICF,
        "planned_apheresis_date": APHERESIS,
        "enrollment_date": ENROLLMENT,
        "birth_date": date(1975, 3, 15),
        "sex": "F",
        "weight_kg": 70,
        "blood_pressure_readings_mmhg": [(128, 82), (132, 84)],
        "spo2_room_air_pct": 97,
        "ecog": 1,
        "aml_who2022": True,
        "relapsed_refractory_aml": True,
        "apl": False,
        "cll1_positive_blasts_pct": 85,
        "cd38_positive_blasts_pct": 60,
        "cns_involvement": False,
        "estimated_survival_at_least_3_months": True,
        "allo_hsct_donor_confirmed": True,
        "able_to_stop_steroids": True,
        "willing_to_follow_up": True,
        "icf_signed": True,
        "steroids_needed_within_12_weeks": False,
        "plans_children_within_2_years": False,
        "investigator_judges_unsuitable": False,
        "alt_u_l": 35,
        "alt_uln_u_l": 40,
        "ast_u_l": 30,
        "ast_uln_u_l": 40,
        "total_bilirubin": 0.8,
        "total_bilirubin_uln": 1.2,
        "congenital_hyperbilirubinemia": False,
        "creatinine": 0.8,
        "creatinine_unit": "mg/dL",
        "lvef_pct": 60,
        "qt_ms": 400,
        "heart_rate_bpm": 75,
        "nyha_class": 0,
        "prior_mi_or_cabg": False,
        "severe_arrhythmia": False,
        "av_block_2nd_or_3rd_degree": False,
        "severe_nonischemic_cardiomyopathy": False,
        "symptomatic_cardiac_disease_within_6_months": False,
        "hiv_antibody_positive": False,
        "hbsag_positive": False,
        "anti_hbc_positive": False,
        "anti_hcv_positive": False,
        "tppa_positive": False,
        "childbearing_potential": True,
        "hcg_screening_positive": False,
        "hcg_baseline_positive": False,
        "breastfeeding": False,
        "steroid_courses": [],
        "antitumor_therapies": [],
        "prior_radiotherapy": False,
        "prior_dli": False,
        "prior_car_t_or_gene_therapy": False,
        "prior_allo_hsct": False,
        "prior_live_vaccine": False,
        "prior_major_surgery": False,
        "surgery_planned": False,
        "prior_stroke_or_seizure": False,
        "study_drug_allergy": False,
        "active_gvhd": False,
        "gvhd_active_within_4_weeks": False,
        "gvhd_immunosuppressants": False,
        "active_infection_systemic_treatment": False,
        "other_malignancy": False,
        "pulmonary_fibrosis": False,
        "active_autoimmune_disease": False,
        "unresolved_prior_toxicity": False,
    }
    facts.update(overrides)
    return facts


def eligible_man(**overrides):
    """The same subject as a man: no HCG, no breastfeeding, contraception agreed."""
    facts = eligible_woman(sex="M", contraception_agreed=True)
    for key in (
        "childbearing_potential",
        "hcg_screening_positive",
        "hcg_baseline_positive",
        "breastfeeding",
    ):
        del facts[key]
    facts.update(overrides)
    return facts


def detail(facts, code, **settings):
    return evaluate_eligibility(facts, **settings).details[code]


def status(facts, code, **settings):
    return detail(facts, code, **settings).status


def test_both_fixtures_are_eligible():
    assert evaluate_eligibility(eligible_woman()).eligible is True
    assert evaluate_eligibility(eligible_man()).eligible is True


# ---------------------------------------------------------------------------------------------
# IN7.1 / IN7.2 — exact multiples of ULN with awkward floats and Decimals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alt, uln, expected",
    [
        pytest.param(100.25, 40.1, "pass", id="alt-100.25-is-exactly-2.5x-40.1"),
        pytest.param(2.5 * 40.1, 40.1, "pass", id="alt-computed-2.5*40.1-in-float"),
        pytest.param(100.26, 40.1, "fail", id="alt-100.26-just-above-2.5x-40.1"),
        pytest.param(Decimal("100.25"), Decimal("40.1"), "pass", id="alt-decimal-exact-2.5x"),
        pytest.param(
            Decimal("100.2501"), Decimal("40.1"), "fail", id="alt-decimal-2.5x-plus-0.0001"
        ),
        pytest.param(83.25, 33.3, "pass", id="alt-83.25-is-2.5x-33.3"),
        pytest.param(2.5 * 33.3, 33.3, "pass", id="alt-computed-2.5*33.3-in-float"),
        pytest.param(137.5, 55, "pass", id="alt-137.5-is-2.5x-55"),
    ],
)
def test_in7_1_alt_at_exactly_2_5_uln(alt, uln, expected):
    assert status(eligible_woman(alt_u_l=alt, alt_uln_u_l=uln), "IN7.1") == expected


@pytest.mark.parametrize(
    "ast, uln, expected",
    [
        pytest.param(2.5 * 0.7 * 100, 70, "pass", id="ast-175-via-float-product"),
        pytest.param(Decimal("87.75"), Decimal("35.1"), "pass", id="ast-decimal-2.5x-35.1"),
        pytest.param(87.76, 35.1, "fail", id="ast-87.76-above-2.5x-35.1"),
    ],
)
def test_in7_1_ast_at_exactly_2_5_uln(ast, uln, expected):
    assert status(eligible_woman(ast_u_l=ast, ast_uln_u_l=uln), "IN7.1") == expected


@pytest.mark.parametrize(
    "direct, uln, expected",
    [
        # 1.5 * 0.1 = 0.15000000000000002 in binary floating point: still exactly 1.5 x ULN.
        pytest.param(1.5 * 0.1, 0.1, "pass", id="direct-1.5*0.1-float-noise-above"),
        pytest.param(1.5 * 1.1, 1.1, "pass", id="direct-1.5*1.1-float-noise-above"),
        pytest.param(1.5 * 1.3, 1.3, "pass", id="direct-1.5*1.3-float-noise-above"),
        pytest.param(1.5 * 17.1, 17.1, "pass", id="direct-umol-1.5*17.1=25.65"),
        pytest.param(0.16, 0.1, "fail", id="direct-1.6x-uln"),
        pytest.param(Decimal("0.45"), Decimal("0.3"), "pass", id="direct-decimal-exact-1.5x"),
        pytest.param(Decimal("0.4501"), Decimal("0.3"), "fail", id="direct-decimal-just-above"),
    ],
)
def test_in7_2_gilbert_direct_bilirubin_at_exactly_1_5_uln(direct, uln, expected):
    facts = eligible_woman(
        total_bilirubin=4.0,  # 3.3 x ULN: only the direct limit applies with Gilbert's
        congenital_hyperbilirubinemia=True,
        direct_bilirubin=direct,
        direct_bilirubin_uln=uln,
    )
    assert status(facts, "IN7.2") == expected


def test_in7_2_float_noise_message_does_not_contradict_the_decision():
    facts = eligible_woman(
        congenital_hyperbilirubinemia=True, direct_bilirubin=1.5 * 0.1, direct_bilirubin_uln=0.1
    )
    d = detail(facts, "IN7.2")
    assert d.status == "pass"
    assert "= 1.5 × ULN" in d.message


@pytest.mark.parametrize(
    "total, uln, expected",
    [
        pytest.param(34.2, 17.1, "pass", id="total-umol-34.2-is-2x-17.1"),
        pytest.param(34.3, 17.1, "fail", id="total-umol-34.3-above-2x-17.1"),
        pytest.param(2 * 1.1, 1.1, "pass", id="total-2*1.1-float"),
        pytest.param(Decimal("2.4"), Decimal("1.2"), "pass", id="total-decimal-exact-2x"),
    ],
)
def test_in7_2_total_bilirubin_at_exactly_2_uln(total, uln, expected):
    facts = eligible_woman(total_bilirubin=total, total_bilirubin_uln=uln)
    assert status(facts, "IN7.2") == expected


def test_in7_2_golden_gilbert_total_2_5x_direct_1_2x_is_eligible_and_without_gilbert_is_not():
    lab = {
        "total_bilirubin": 3.0,
        "total_bilirubin_uln": 1.2,
        "direct_bilirubin": 0.36,
        "direct_bilirubin_uln": 0.3,
    }
    assert status(eligible_woman(congenital_hyperbilirubinemia=True, **lab), "IN7.2") == "pass"
    assert status(eligible_woman(congenital_hyperbilirubinemia=False, **lab), "IN7.2") == "fail"


@pytest.mark.parametrize(
    "direct, expected",
    [
        # total 3.0 = 2.5 x ULN fails; Gilbert's status unknown.
        pytest.param(0.9, "fail", id="direct-3x-uln-fails-both-readings"),
        pytest.param(0.36, "missing", id="direct-1.2x-uln-gilbert-would-rescue"),
        pytest.param(None, "missing", id="direct-unknown"),
    ],
)
def test_in7_2_unknown_gilbert_status_with_high_total(direct, expected):
    facts = eligible_woman(
        total_bilirubin=3.0,
        congenital_hyperbilirubinemia=None,
        direct_bilirubin=direct,
        direct_bilirubin_uln=0.3,
    )
    result = evaluate_eligibility(facts)
    assert result.criteria["IN7.2"] == expected
    assert result.eligible is {"fail": False, "missing": None}[expected]


def test_in7_1_missing_uln_says_uln_needed():
    facts = eligible_woman()
    del facts["alt_uln_u_l"]
    d = detail(facts, "IN7.1")
    assert d.status == "missing"
    assert d.message == "ALT ULN needed"
    assert d.needs == ("alt_uln_u_l",)


def test_in7_1_missing_uln_does_not_hide_a_failing_ast():
    facts = eligible_woman(ast_u_l=101)  # 2.525 x 40
    del facts["alt_uln_u_l"]
    result = evaluate_eligibility(facts)
    assert result.criteria["IN7.1"] == "fail"
    assert result.eligible is False


# ---------------------------------------------------------------------------------------------
# IN7.3 — Cockcroft-Gault: µmol/L, Decimal, age at the lab date, strict > 45
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth, weight, creatinine, unit, sex, expected",
    [
        # age 50 on 2025-07-01: (90 x 54) / (72 x 1.5) = 45.0 -> not > 45
        pytest.param(date(1975, 3, 15), 54, 1.5, "mg/dL", "M", "fail", id="45.000-mg/dL"),
        # 1.5 mg/dL = 132.6 µmol/L exactly: 45.0 again
        pytest.param(date(1975, 3, 15), 54, 132.6, "µmol/L", "M", "fail", id="45.000-umol/L"),
        pytest.param(
            date(1975, 3, 15),
            Decimal("54"),
            Decimal("132.6"),
            "umol/L",
            "M",
            "fail",
            id="45.000-umol-decimal",
        ),
        # 132.5 µmol/L: 90 x 54 x 88.4 / (72 x 132.5) = 45.034 -> pass
        pytest.param(date(1975, 3, 15), 54, 132.5, "umol/L", "M", "pass", id="45.034-umol/L"),
        # age 65: 75 x 60 x 0.85 / (72 x 1.2) = 44.271 (F) ; male 52.083
        pytest.param(date(1960, 1, 1), 60, 106.08, "umol/L", "F", "fail", id="F-44.27-umol"),
        pytest.param(date(1960, 1, 1), 60, 106.08, "umol/L", "M", "pass", id="M-52.08-umol"),
    ],
)
def test_in7_3_cockcroft_gault_boundaries(birth, weight, creatinine, unit, sex, expected):
    facts = eligible_woman(
        birth_date=birth,
        weight_kg=weight,
        creatinine=creatinine,
        creatinine_unit=unit,
        sex=sex,
        contraception_agreed=True,
    )
    assert status(facts, "IN7.3") == expected


@pytest.mark.parametrize(
    "lab_date, expected",
    [
        # born 1975-07-01; on the 50th birthday (90 x 54)/(72 x 1.5) = 45.0 fails,
        # the day before he is 49: (91 x 54)/108 = 45.5 passes.
        pytest.param(date(2025, 7, 1), "fail", id="lab-on-50th-birthday-45.0"),
        pytest.param(date(2025, 6, 30), "pass", id="lab-day-before-birthday-45.5"),
    ],
)
def test_in7_3_age_counts_completed_years_at_the_creatinine_date(lab_date, expected):
    facts = eligible_man(
        birth_date=date(1975, 7, 1),
        weight_kg=54,
        creatinine=1.5,
        creatinine_date=lab_date,
    )
    assert status(facts, "IN7.3") == expected


def test_in7_3_message_reads_like_the_protocol():
    # age 60 at screening, 60 kg, man, 1.6 mg/dL: 80 x 60 / 115.2 = 41.667
    facts = eligible_man(birth_date=date(1965, 1, 1), weight_kg=60, creatinine=1.6)
    d = detail(facts, "IN7.3")
    assert d.status == "fail"
    assert d.message == "Creatinine clearance 41.7 mL/min (Cockcroft–Gault) — needs > 45"


def test_creatinine_clearance_accepts_whole_number_float_age_and_rejects_fractions():
    assert creatinine_clearance(age_years=50.0, weight_kg=70, sex="M", creatinine=1.0) == 87.5
    assert creatinine_clearance(
        age_years=Decimal("50"), weight_kg=70, sex="F", creatinine=Decimal("88.4"), unit="µmol/L"
    ) == pytest.approx(74.375, abs=1e-9)
    with pytest.raises(ValueError, match="age_years"):
        creatinine_clearance(age_years=50.5, weight_kg=70, sex="M", creatinine=1.0)


# ---------------------------------------------------------------------------------------------
# EX10.3 — QTcF exactly 480
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected_qtcf, expected",
    [
        # RR 0.512 s = 0.8^3 -> QTcF = 384 / 0.8 = 480 exactly
        pytest.param({"qt_ms": 384, "rr_ms": 512}, 480.0, "fail", id="qt384-rr512-is-480"),
        pytest.param(
            {"qt_ms": 384, "heart_rate_bpm": 117.1875}, 480.0, "fail", id="qt384-hr117.1875-is-480"
        ),
        pytest.param(
            {"qt_ms": Decimal("383.9"), "rr_ms": Decimal("512")},
            479.875,
            "pass",
            id="qt383.9-rr512-is-479.875",
        ),
        # RR 1.331 s = 1.1^3 -> 528 / 1.1 = 480
        pytest.param({"qt_ms": 528, "rr_ms": 1331}, 480.0, "fail", id="qt528-rr1331-is-480"),
    ],
)
def test_ex10_3_qtcf_exactly_480_excludes(kwargs, expected_qtcf, expected):
    assert qtcf(**kwargs) == pytest.approx(expected_qtcf, abs=1e-9)
    facts = eligible_woman(**{"heart_rate_bpm": None, **kwargs})
    assert status(facts, "EX10.3") == expected


@pytest.mark.parametrize(
    "qts, aggregate, expected",
    [
        # rr 1000 ms: QTcF = QT. mean(470, 480, 489) = 479.667
        pytest.param((470, 480, 489), "mean", "pass", id="triplicate-mean-479.67"),
        pytest.param((470, 480, 490), "mean", "fail", id="triplicate-mean-480"),
        pytest.param((470, 480, 489), "max", "fail", id="triplicate-max-489"),
    ],
)
def test_ex10_3_triplicate_ecgs(qts, aggregate, expected):
    readings = [{"qt_ms": qt, "rr_ms": 1000} for qt in qts]
    facts = eligible_woman(qt_ms=None, heart_rate_bpm=None, ecg_readings=readings)
    assert status(facts, "EX10.3", qtcf_aggregate=aggregate) == expected


# ---------------------------------------------------------------------------------------------
# IN1 — age in completed years at ICF, leap-year birthdays
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth, on, years",
    [
        pytest.param(date(2004, 2, 29), date(2022, 2, 28), 17, id="leapling-feb28-not-yet-18"),
        pytest.param(date(2004, 2, 29), date(2022, 3, 1), 18, id="leapling-mar1-is-18"),
        pytest.param(date(2004, 2, 29), date(2024, 2, 29), 20, id="leapling-feb29-leap-year"),
        pytest.param(date(1952, 2, 29), date(2023, 2, 28), 70, id="leapling-70-until-feb28"),
        pytest.param(date(1952, 2, 29), date(2023, 3, 1), 71, id="leapling-71-on-mar1"),
    ],
)
def test_age_in_years_leap_year_birthdays(birth, on, years):
    assert age_in_years(birth, on) == years


@pytest.mark.parametrize(
    "birth, icf, expected",
    [
        pytest.param(date(2004, 2, 29), date(2022, 2, 28), "fail", id="17-day-before-leap-18th"),
        pytest.param(date(2004, 2, 29), date(2022, 3, 1), "pass", id="18-on-mar1"),
        pytest.param(date(1955, 7, 1), date(2025, 7, 1), "pass", id="70th-birthday"),
        pytest.param(date(1955, 7, 1), date(2026, 6, 30), "pass", id="70-day-before-71st"),
        pytest.param(date(1955, 7, 1), date(2026, 7, 1), "fail", id="71st-birthday"),
        pytest.param(date(1952, 2, 29), date(2023, 2, 28), "pass", id="leapling-still-70"),
        pytest.param(date(1952, 2, 29), date(2023, 3, 1), "fail", id="leapling-71"),
    ],
)
def test_in1_age_at_icf(birth, icf, expected):
    assert status(eligible_woman(birth_date=birth, icf_date=icf), "IN1") == expected


# ---------------------------------------------------------------------------------------------
# Washouts — month ends, leap Februaries and the right reference date
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "screening, hsct, expected",
    [
        pytest.param(date(2024, 8, 31), date(2024, 2, 29), "pass", id="aug31-leap-feb29"),
        pytest.param(date(2024, 8, 31), date(2024, 3, 1), "fail", id="aug31-leap-mar1"),
        pytest.param(date(2025, 8, 31), date(2025, 2, 28), "pass", id="aug31-feb28"),
        pytest.param(date(2025, 8, 31), date(2025, 3, 1), "fail", id="aug31-mar1"),
        pytest.param(date(2025, 3, 31), date(2024, 9, 30), "pass", id="mar31-sep30"),
        pytest.param(date(2025, 3, 31), date(2024, 10, 1), "fail", id="mar31-oct1"),
    ],
)
def test_ex5_allo_hsct_6_months_before_screening_at_month_end(screening, hsct, expected):
    facts = eligible_woman(screening_date=screening, prior_allo_hsct=True, allo_hsct_last_date=hsct)
    assert status(facts, "EX5") == expected


def test_ex5_reference_is_screening_not_icf():
    # screening 2025-07-01 -> on or before 2025-01-01; ICF 2025-06-30 would give 2024-12-30.
    facts = eligible_woman(prior_allo_hsct=True, allo_hsct_last_date=date(2024, 12, 31))
    assert status(facts, "EX5") == "pass"


@pytest.mark.parametrize(
    "icf, stroke, expected",
    [
        pytest.param(date(2025, 6, 30), date(2024, 12, 30), "pass", id="exactly-6-months"),
        # screening (2025-07-01) minus 6 months would admit this one; ICF is the reference.
        pytest.param(date(2025, 6, 30), date(2024, 12, 31), "fail", id="icf-is-the-reference"),
        pytest.param(date(2024, 8, 31), date(2024, 2, 29), "pass", id="aug31-leap-feb29"),
        pytest.param(date(2024, 8, 31), date(2024, 3, 1), "fail", id="aug31-leap-mar1"),
    ],
)
def test_ex9_stroke_or_seizure_6_months_before_icf(icf, stroke, expected):
    facts = eligible_woman(
        icf_date=icf,
        birth_date=date(1970, 1, 1),
        prior_stroke_or_seizure=True,
        stroke_or_seizure_last_date=stroke,
    )
    assert status(facts, "EX9") == expected


@pytest.mark.parametrize(
    "enrollment, mi, expected",
    [
        pytest.param(date(2025, 7, 10), date(2025, 1, 10), "fail", id="exactly-6-months-excluded"),
        pytest.param(date(2025, 7, 10), date(2025, 1, 9), "pass", id="6-months-and-a-day"),
        pytest.param(date(2024, 8, 31), date(2024, 2, 29), "fail", id="aug31-leap-feb29-is-6m"),
        pytest.param(date(2024, 8, 31), date(2024, 2, 28), "pass", id="aug31-leap-feb28"),
    ],
)
def test_ex10_2_mi_or_cabg_more_than_6_months_before_enrollment(enrollment, mi, expected):
    facts = eligible_woman(
        enrollment_date=enrollment, prior_mi_or_cabg=True, mi_or_cabg_last_date=mi
    )
    assert status(facts, "EX10.2") == expected


@pytest.mark.parametrize(
    "code, overrides, expected",
    [
        # apheresis 2024-03-14; 2024-02-15 is 28 days before (Feb 2024 has 29 days)
        pytest.param(
            "EX2.4",
            {"prior_radiotherapy": True, "radiotherapy_last_date": date(2024, 2, 15)},
            "pass",
            id="radiotherapy-28d-across-feb29",
        ),
        pytest.param(
            "EX2.4",
            {"prior_radiotherapy": True, "radiotherapy_last_date": date(2024, 2, 16)},
            "fail",
            id="radiotherapy-27d-across-feb29",
        ),
        # 2024-01-31 -> 2024-03-14 = 43 days; 2024-02-01 -> 42; 2024-02-02 -> 41
        pytest.param(
            "EX2.5", {"prior_dli": True, "dli_last_date": date(2024, 2, 1)}, "pass", id="dli-42d"
        ),
        pytest.param(
            "EX2.5", {"prior_dli": True, "dli_last_date": date(2024, 2, 2)}, "fail", id="dli-41d"
        ),
        pytest.param(
            "EX16",
            {"prior_major_surgery": True, "major_surgery_last_date": date(2024, 2, 15)},
            "pass",
            id="surgery-28d-before-apheresis",
        ),
        pytest.param(
            "EX16",
            {"prior_major_surgery": True, "major_surgery_last_date": date(2024, 2, 16)},
            "fail",
            id="surgery-27d-before-apheresis",
        ),
    ],
)
def test_apheresis_washouts_in_a_leap_february(code, overrides, expected):
    facts = eligible_woman(
        screening_date=date(2024, 3, 1),
        icf_date=date(2024, 2, 28),
        enrollment_date=date(2024, 3, 8),
        planned_apheresis_date=date(2024, 3, 14),
        **overrides,
    )
    assert status(facts, code) == expected


@pytest.mark.parametrize(
    "vaccine, expected",
    [
        pytest.param(date(2025, 6, 3), "pass", id="28d-before-screening"),
        pytest.param(date(2025, 6, 4), "fail", id="27d-before-screening"),
        # 34 days before apheresis but only 21 before screening: screening is the reference.
        pytest.param(date(2025, 6, 10), "fail", id="screening-not-apheresis-is-reference"),
    ],
)
def test_ex15_live_vaccine_4_weeks_before_screening(vaccine, expected):
    facts = eligible_woman(prior_live_vaccine=True, live_vaccine_last_date=vaccine)
    assert status(facts, "EX15") == expected


def test_ex16_surgery_reference_is_apheresis_not_screening():
    # 2025-06-16: 28 days before apheresis 2025-07-14, only 15 before screening.
    facts = eligible_woman(prior_major_surgery=True, major_surgery_last_date=date(2025, 6, 16))
    assert status(facts, "EX16") == "pass"


def test_washout_without_reference_date_says_what_is_needed():
    facts = eligible_woman(
        planned_apheresis_date=None, prior_radiotherapy=True, radiotherapy_last_date=SCREENING
    )
    d = detail(facts, "EX2.4")
    assert d.status == "missing"
    assert d.message == "Planned apheresis date needed"


# ---------------------------------------------------------------------------------------------
# EX2.3 — several anti-tumor therapies with different half-lives
# ---------------------------------------------------------------------------------------------


def therapy(name, end, half_life=None):
    return {"name": name, "end_date": end, "half_life_days": half_life}


# apheresis 2025-07-14
SHORT = therapy("azacitidine", date(2025, 7, 13), 0.0625)  # 1 day; 5 x 0.0625 = 0.3125 d
VEN_OK = therapy("venetoclax", date(2025, 7, 8), 1.1)  # 6 days >= 5.5
VEN_BAD = therapy("venetoclax", date(2025, 7, 9), 1.1)  # 5 days < 5.5
GILT_OK = therapy("gilteritinib", date(2025, 6, 30), 4.7)  # 14 days; min(14, 23.5) = 14
GILT_BAD = therapy("gilteritinib", date(2025, 7, 1), 4.7)  # 13 days < 14


@pytest.mark.parametrize(
    "therapies, expected",
    [
        pytest.param([SHORT, VEN_OK, GILT_OK], "pass", id="all-three-washed-out"),
        pytest.param([SHORT, VEN_BAD, GILT_OK], "fail", id="venetoclax-5d-under-5.5"),
        pytest.param([SHORT, VEN_OK, GILT_BAD], "fail", id="gilteritinib-13d-under-14"),
        pytest.param(
            [therapy("x", date(2025, 7, 4)), VEN_BAD], "fail", id="unknown-half-life-plus-fail"
        ),
        pytest.param(
            [therapy("x", date(2025, 7, 4)), VEN_OK], "missing", id="unknown-half-life-10d"
        ),
        pytest.param([therapy("x", date(2025, 6, 30))], "pass", id="14d-needs-no-half-life"),
        pytest.param(
            [therapy("x", date(2025, 7, 1), Decimal("2.8"))], "fail", id="hl2.8-14d-needed-13"
        ),
        pytest.param(
            [therapy("x", date(2025, 7, 1), Decimal("2.7"))], "fail", id="hl2.7-13.5d-needed-13"
        ),
        pytest.param(
            [therapy("x", date(2025, 6, 30), Decimal("2.7"))], "pass", id="hl2.7-13.5d-gap-14"
        ),
        pytest.param(
            [therapy("x", date(2025, 7, 15), 0.01)], "fail", id="dose-after-planned-apheresis"
        ),
    ],
)
def test_ex2_3_each_therapy_uses_its_own_washout(therapies, expected):
    assert status(eligible_woman(antitumor_therapies=therapies), "EX2.3") == expected


def test_ex2_3_listed_therapy_without_half_life_points_at_the_list():
    facts = eligible_woman(antitumor_therapies=[therapy("decitabine", date(2025, 7, 4))])
    d = detail(facts, "EX2.3")
    assert d.status == "missing"
    assert d.needs == ("antitumor_therapies",)
    assert "half-life needed" in d.message


# ---------------------------------------------------------------------------------------------
# EX2.1 — steroid courses partly overlapping the 7 days before apheresis
# ---------------------------------------------------------------------------------------------


def course(drug, dose, start, end=None, ongoing=None):
    item = {"drug": drug, "daily_dose_mg": dose, "start_date": start, "end_date": end}
    if ongoing is not None:
        item["ongoing"] = ongoing
    return item


LEAP_APHERESIS = date(2024, 3, 3)  # window 2024-02-25 .. 2024-03-02 includes 29 February


def before(days):
    return LEAP_APHERESIS - timedelta(days=days)


@pytest.mark.parametrize(
    "courses, total, expected",
    [
        pytest.param(
            [course("prednisone", 10, date(2024, 2, 20), date(2024, 2, 29))],
            50,
            "pass",
            id="pred10-overlaps-feb25-29-5d-50mg",
        ),
        pytest.param(
            [course("prednisone", 10, date(2024, 2, 25), date(2024, 3, 5))],
            70,
            "fail",
            id="pred10-covers-window-through-leap-day-70mg",
        ),
        pytest.param(
            [
                course("dexamethasone", 1.5, before(10), before(5)),
                course("prednisone", 10, before(4), before(1)),
            ],
            70,
            "fail",
            id="dex1.5x3d-30mg-plus-pred10x4d-40mg",
        ),
        pytest.param(
            [
                course("dexamethasone", 1.5, before(10), before(6)),
                course("prednisone", 10, before(4), before(1)),
            ],
            60,
            "pass",
            id="dex1.5x2d-20mg-plus-pred10x4d-40mg",
        ),
        pytest.param(
            [course("prednisone", 25, before(3), ongoing=True)], 75, "fail", id="ongoing-pred25x3d"
        ),
        pytest.param(
            [course("prednisone", 20, before(3), ongoing=True)], 60, "pass", id="ongoing-pred20x3d"
        ),
        pytest.param(
            [course("prednisone", 10, before(30), ongoing=True)],
            70,
            "fail",
            id="ongoing-since-a-month-pred10x7d",
        ),
        pytest.param(
            [course("prednisone", 100, LEAP_APHERESIS, ongoing=True)],
            0,
            "pass",
            id="starts-on-apheresis-day",
        ),
        pytest.param(
            [course("prednisone", 100, before(8), before(8))], 0, "pass", id="day-minus-8-only"
        ),
        pytest.param(
            [course("methylprednisolone", 8, before(7), before(1))], 70, "fail", id="mp8x7-70mg"
        ),
        pytest.param(
            [course("hydrocortisone", 40, before(7), before(1))], 70, "fail", id="hc40x7-70mg"
        ),
        pytest.param(
            [course("hydrocortisone", 39, before(7), before(1))],
            68.25,
            "pass",
            id="hc39x7-68.25mg",
        ),
        pytest.param(
            [course("betamethasone", 1.2, before(7), before(1))], 70, "fail", id="beta1.2x7-70mg"
        ),
        pytest.param(
            [course("Dexamethasone", Decimal("1.5"), before(7), before(1))],
            70,
            "fail",
            id="golden-dex1.5x7-decimal",
        ),
        pytest.param(
            [course("dexamethasone", 1.4, before(7), before(1))],
            Decimal("65.333333333"),
            "pass",
            id="dex1.4x7-65.33mg",
        ),
    ],
)
def test_ex2_1_cumulative_prednisone_equivalent(courses, total, expected):
    facts = eligible_woman(planned_apheresis_date=LEAP_APHERESIS, steroid_courses=courses)
    d = detail(facts, "EX2.1")
    assert d.status == expected
    assert d.values["prednisone_equivalent_mg"] == pytest.approx(float(total), abs=1e-6)


def test_ex2_1_message_gives_total_window_and_limit():
    facts = eligible_woman(
        planned_apheresis_date=LEAP_APHERESIS,
        steroid_courses=[course("prednisone", 10, before(7), before(1))],
    )
    assert detail(facts, "EX2.1").message == (
        "Prednisone-equivalent 70 mg on 2024-02-25..2024-03-02 (7 days before apheresis) "
        "— needs < 70 mg"
    )


@pytest.mark.parametrize(
    "known_dose, expected",
    [
        pytest.param(12, "missing", id="known-60mg-plus-unknown-course"),
        pytest.param(15, "fail", id="known-75mg-fails-whatever-the-unknown-course"),
    ],
)
def test_ex2_1_unknown_course_is_missing_unless_already_at_70(known_dose, expected):
    courses = [
        course("prednisone", known_dose, before(5), before(1)),  # 5 days
        course("dexamethasone", None, before(3), before(2)),
    ]
    facts = eligible_woman(planned_apheresis_date=LEAP_APHERESIS, steroid_courses=courses)
    assert status(facts, "EX2.1") == expected


@pytest.mark.parametrize(
    "drug, dose",
    [
        ("dexamethasone", 10.5),
        ("DEXAMETHASONE", Decimal("10.5")),
        ("betamethasone", 8.4),
        ("methylprednisolone", 56),
        ("triamcinolone", 56),
        ("hydrocortisone", 280),
        ("cortisone", 350),
        ("prednisolone", 70),
    ],
)
def test_prednisone_equivalent_of_70_mg_is_exact(drug, dose):
    assert prednisone_equivalent_mg(drug, dose) == 70.0


# ---------------------------------------------------------------------------------------------
# EX10.6 — blood pressure, three readings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "readings, expected",
    [
        pytest.param([(150, 99), (149, 99), (150, 99)], "pass", id="sbp-449/3=149.67"),
        pytest.param([(151, 90), (150, 90), (149, 90)], "fail", id="sbp-mean-exactly-150"),
        pytest.param([(140, 100), (140, 99), (140, 100)], "pass", id="dbp-299/3=99.67"),
        pytest.param([(140, 100), (140, 100), (140, 100)], "fail", id="dbp-mean-exactly-100"),
        pytest.param([(148, 96), (154, 98), (140, 90)], "pass", id="golden-pair-plus-third-147.3"),
        pytest.param([(148, 96), (154, 98)], "fail", id="golden-151/97"),
        pytest.param(
            [{"sbp": 149, "dbp": 80}, {"sbp": 151, "dbp": 80}], "fail", id="dict-readings-150"
        ),
        pytest.param(
            [(Decimal("149.5"), 80), (Decimal("150.4"), 80), (Decimal("150.0"), 80)],
            "pass",
            id="decimal-readings-449.9/3=149.97",
        ),
        pytest.param(
            [(Decimal("149.6"), 80), (Decimal("150.4"), 80), (Decimal("150.0"), 80)],
            "fail",
            id="decimal-readings-450.0/3=150",
        ),
        pytest.param([(149.6, 80), (150.4, 80), (150.0, 80)], "fail", id="float-readings-150"),
    ],
)
def test_ex10_6_mean_of_all_readings(readings, expected):
    assert status(eligible_woman(blood_pressure_readings_mmhg=readings), "EX10.6") == expected


def test_ex10_6_message_three_readings():
    facts = eligible_woman(blood_pressure_readings_mmhg=[(150, 99), (149, 99), (150, 99)])
    assert detail(facts, "EX10.6").message == (
        "Mean blood pressure 149.7/99 mmHg (3 readings) — needs < 150/100"
    )


# ---------------------------------------------------------------------------------------------
# EX12 — virology at the LLOD
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, code, expected",
    [
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": 20, "hbv_dna_llod": 20},
            "EX12.2",
            "pass",
            id="hbv-dna-equal-to-llod",
        ),
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": 20.1, "hbv_dna_llod": 20},
            "EX12.2",
            "fail",
            id="hbv-dna-just-above-llod",
        ),
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": Decimal("19.99"), "hbv_dna_llod": 20},
            "EX12.2",
            "pass",
            id="hbv-dna-below-llod-decimal",
        ),
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": 50, "hbv_dna_llod": 20},
            "EX12.2",
            "fail",
            id="golden-hbv-dna-50-above-llod",
        ),
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": 0}, "EX12.2", "pass", id="hbv-dna-not-detected"
        ),
        pytest.param(
            {"anti_hbc_positive": True, "hbv_dna": 30},
            "EX12.2",
            "missing",
            id="hbv-dna-without-llod",
        ),
        pytest.param(
            {"hbsag_positive": True, "anti_hbc_positive": False},
            "EX12.2",
            "fail",
            id="hbsag-positive-alone",
        ),
        pytest.param(
            {"hbsag_positive": None, "anti_hbc_positive": True, "hbv_dna": 50, "hbv_dna_llod": 20},
            "EX12.2",
            "fail",
            id="hbsag-unknown-but-dna-positive",
        ),
        pytest.param(
            {"anti_hcv_positive": True, "hcv_rna": 15, "hcv_rna_llod": 15},
            "EX12.3",
            "pass",
            id="hcv-rna-equal-to-llod",
        ),
        pytest.param(
            {"anti_hcv_positive": True, "hcv_rna": 15.01, "hcv_rna_llod": 15},
            "EX12.3",
            "fail",
            id="hcv-rna-just-above-llod",
        ),
        pytest.param(
            {"anti_hcv_positive": True, "hcv_rna": 0},
            "EX12.3",
            "pass",
            id="golden-hcv-undetectable",
        ),
        pytest.param(
            {"anti_hcv_positive": True}, "EX12.3", "missing", id="anti-hcv-positive-rna-unknown"
        ),
    ],
)
def test_ex12_virology_at_the_llod(overrides, code, expected):
    assert status(eligible_woman(**overrides), code) == expected


# ---------------------------------------------------------------------------------------------
# IN9 / EX17 — a man versus a woman
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts, in9, ex17",
    [
        pytest.param(eligible_man(), "pass", "pass", id="man-contraception-agreed-no-hcg"),
        pytest.param(eligible_man(contraception_agreed=False), "fail", "pass", id="man-refuses"),
        pytest.param(eligible_man(contraception_agreed=None), "missing", "pass", id="man-unknown"),
        pytest.param(
            eligible_man(plans_children_within_2_years=True), "pass", "fail", id="man-plans-child"
        ),
        pytest.param(eligible_woman(), "pass", "pass", id="wocbp-hcg-negative-twice"),
        pytest.param(
            eligible_woman(hcg_baseline_positive=None),
            "missing",
            "pass",
            id="wocbp-baseline-hcg-due",
        ),
        pytest.param(
            eligible_woman(hcg_baseline_positive=True), "fail", "fail", id="wocbp-pregnant-baseline"
        ),
        pytest.param(
            eligible_woman(
                childbearing_potential=False,
                hcg_screening_positive=None,
                hcg_baseline_positive=None,
            ),
            "pass",
            "pass",
            id="woman-not-of-childbearing-potential",
        ),
        pytest.param(
            eligible_woman(breastfeeding=True, agrees_to_stop_breastfeeding=False),
            "pass",
            "fail",
            id="nursing-woman-will-not-stop",
        ),
        pytest.param(
            eligible_woman(breastfeeding=True, agrees_to_stop_breastfeeding=True),
            "pass",
            "pass",
            id="nursing-woman-agrees-to-stop",
        ),
        pytest.param(
            eligible_woman(plans_children_within_2_years=True), "pass", "fail", id="woman-plans"
        ),
    ],
)
def test_in9_and_ex17_by_sex(facts, in9, ex17):
    result = evaluate_eligibility(facts)
    assert (result.criteria["IN9"], result.criteria["EX17"]) == (in9, ex17)


def test_a_man_is_never_asked_for_hcg_or_breastfeeding():
    result = evaluate_eligibility(eligible_man())
    needs = {key for d in result.details.values() for key in d.needs}
    assert result.eligible is True
    assert not needs & {"hcg_screening_positive", "hcg_baseline_positive", "breastfeeding"}


# ---------------------------------------------------------------------------------------------
# Fail beats missing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts, failing",
    [
        pytest.param({"alt_u_l": 101, "alt_uln_u_l": 40}, "IN7.1", id="only-alt-known-2.525x"),
        pytest.param(
            {"blood_pressure_readings_mmhg": [(150, 80), (150, 80), (149, 80)]},
            None,
            id="only-bp-known-149.7-passes",
        ),
        pytest.param(
            {
                "steroid_courses": [course("prednisone", 70, before(1), before(1))],
                "planned_apheresis_date": LEAP_APHERESIS,
            },
            "EX2.1",
            id="only-steroids-known-70mg",
        ),
        pytest.param(
            {
                "total_bilirubin": 3.0,
                "total_bilirubin_uln": 1.2,
                "direct_bilirubin": 0.9,
                "direct_bilirubin_uln": 0.3,
            },
            "IN7.2",
            id="bilirubin-fails-gilbert-unknown",
        ),
    ],
)
def test_one_failure_among_missing_facts_is_ineligible(facts, failing):
    result = evaluate_eligibility(facts)
    assert result.missing
    if failing is None:
        assert result.failed == [] and result.eligible is None
    else:
        assert failing in result.failed
        assert result.eligible is False


def test_failure_with_many_missing_criteria_in_a_nearly_complete_record():
    facts = eligible_man(tppa_positive=True)
    for key in ("ecog", "lvef_pct", "hbsag_positive", "qt_ms", "icf_signed"):
        del facts[key]
    result = evaluate_eligibility(facts)
    assert result.failed == ["EX12", "EX12.4"]
    assert {"IN6", "IN7.4", "IN11", "EX10.3", "EX12.2"} <= set(result.missing)
    assert result.eligible is False


@pytest.mark.parametrize(
    "ecog, expected",
    [
        pytest.param(2.0, "pass", id="ecog-2.0-float"),
        pytest.param(Decimal("3"), "fail", id="ecog-decimal-3"),
    ],
)
def test_in6_accepts_whole_number_ecog_of_any_numeric_type(ecog, expected):
    assert status(eligible_woman(ecog=ecog), "IN6") == expected


def test_in6_rejects_a_fractional_ecog():
    with pytest.raises(ValueError, match="ecog"):
        evaluate_eligibility(eligible_woman(ecog=1.5))


@pytest.mark.parametrize(
    "key, value, code, expected",
    [
        pytest.param("lvef_pct", 0.45 * 100, "IN7.4", "pass", id="lvef-0.45*100"),
        pytest.param("lvef_pct", Decimal("44.99"), "IN7.4", "fail", id="lvef-44.99"),
        pytest.param("lvef_pct", Decimal("44.99"), "EX10.5", "fail", id="lvef-44.99-ex10.5"),
        pytest.param("spo2_room_air_pct", 0.92 * 100, "IN7.5", "pass", id="spo2-0.92*100"),
        pytest.param("spo2_room_air_pct", 91.9, "IN7.5", "fail", id="spo2-91.9"),
        # float sums that land a hair below the threshold: 91.99999999999999, 44.999999999999986
        pytest.param("spo2_room_air_pct", sum([92 / 7] * 7), "IN7.5", "pass", id="spo2-float-sum"),
        pytest.param("lvef_pct", sum([45 / 13] * 13), "IN7.4", "pass", id="lvef-float-sum"),
    ],
)
def test_percent_boundaries(key, value, code, expected):
    assert status(eligible_woman(**{key: value}), code) == expected


@pytest.mark.parametrize(
    ("birth", "icf", "rule", "expected"),
    [
        (date(2007, 6, 1), date(2025, 6, 1), "completed_years", True),
        (date(2007, 6, 2), date(2025, 6, 1), "completed_years", False),
        (date(1954, 6, 2), date(2025, 6, 1), "completed_years", True),
        (date(1954, 6, 1), date(2025, 6, 1), "completed_years", False),
        (date(1955, 6, 1), date(2025, 6, 1), "exact_age", True),
        (date(1955, 5, 31), date(2025, 6, 1), "exact_age", False),
    ],
    ids=[
        "18th-birthday",
        "day-before-18",
        "day-before-71",
        "71st-birthday",
        "70th-birthday-exact",
        "day-after-70-exact",
    ],
)
def test_age_criterion_met_matches_in1(birth, icf, rule, expected):
    from enrollment.rules import age_criterion_met

    assert age_criterion_met(birth, icf, age_rule=rule) is expected
