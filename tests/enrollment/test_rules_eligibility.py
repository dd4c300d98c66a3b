"""evaluate_eligibility: every criterion of NCT06880354 (registry text; RULES.md §5.4).

An all-passing subject is built once; each test flips one fact to make one criterion fail, or
removes one to make it missing. Golden predicates: shared/golden/CASES.md section I.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment.rules import (
    CRITERIA,
    FACT_KEYS,
    SETTINGS_DEFAULTS,
    EligibilityResult,
    evaluate_eligibility,
)

SCREENING = date(2025, 7, 1)
ICF = date(2025, 6, 30)
ENROLLMENT = date(2025, 7, 10)
APHERESIS = date(2025, 7, 14)

PROTOCOL_CODES = (
    ["IN1", "IN2", "IN3", "IN4", "IN5", "IN6", "IN7"]
    + [f"IN7.{i}" for i in range(1, 6)]
    + ["IN8", "IN9", "IN10", "IN11", "EX1", "EX2"]
    + [f"EX2.{i}" for i in range(1, 6)]
    + [f"EX{i}" for i in range(3, 11)]
    + [f"EX10.{i}" for i in range(1, 7)]
    + ["EX11", "EX12"]
    + [f"EX12.{i}" for i in range(1, 5)]
    + [f"EX{i}" for i in range(13, 20)]
)
PARENTS = {"IN7", "EX2", "EX10", "EX12"}


def passing_facts(**overrides):
    """A 50-year-old woman of childbearing potential who meets every criterion."""
    facts = {
        "screening_date": SCREENING,
        "icf_date": ICF,
        "planned_apheresis_date": APHERESIS,
        "enrollment_date": ENROLLMENT,
        "birth_date": date(1975, 3, 15),
        "sex": "F",
        "weight_kg": 70,
        "height_cm": 165,
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
        "contraception_agreed": True,
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
        "prior_mi_or_cabg": True,
        "mi_or_cabg_last_date": date(2023, 1, 10),
        "severe_arrhythmia": False,
        "av_block_2nd_or_3rd_degree": False,
        "severe_nonischemic_cardiomyopathy": False,
        "symptomatic_cardiac_disease_within_6_months": False,
        "hiv_antibody_positive": False,
        "hbsag_positive": False,
        "anti_hbc_positive": True,
        "hbv_dna": 0,
        "hbv_dna_llod": 20,
        "anti_hcv_positive": False,
        "tppa_positive": False,
        "childbearing_potential": True,
        "hcg_screening_positive": False,
        "hcg_baseline_positive": False,
        "breastfeeding": False,
        "steroid_courses": [
            {
                "drug": "dexamethasone",
                "daily_dose_mg": 1.5,
                "start_date": date(2025, 7, 5),
                "end_date": date(2025, 7, 7),
            }
        ],
        "last_antitumor_therapy_end_date": date(2025, 6, 20),
        "last_antitumor_therapy_half_life_days": 1.5,
        "prior_radiotherapy": True,
        "radiotherapy_last_date": date(2025, 5, 1),
        "prior_dli": False,
        "prior_car_t_or_gene_therapy": False,
        "prior_allo_hsct": True,
        "allo_hsct_last_date": date(2024, 10, 1),
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


def without(key, **overrides):
    facts = passing_facts(**overrides)
    del facts[key]
    return facts


def with_parents(codes):
    return set(codes) | {code.split(".")[0] for code in codes if "." in code}


def status(facts, code, **settings_):
    return evaluate_eligibility(facts, **settings_).criteria[code]


def days_before(reference, days):
    return reference - timedelta(days=days)


# ---------------------------------------------------------------------------------------------
# The all-passing subject and the shape of the result
# ---------------------------------------------------------------------------------------------


def test_it_passes_every_criterion_for_the_all_passing_subject():
    result = evaluate_eligibility(passing_facts())
    assert result.eligible is True
    assert result.failed == [] and result.missing == []
    assert set(result.criteria.values()) == {"pass"}


def test_it_gives_every_protocol_code_in_protocol_order():
    result = evaluate_eligibility(passing_facts())
    assert list(result.criteria) == PROTOCOL_CODES
    assert list(result.details) == PROTOCOL_CODES
    assert list(CRITERIA) == PROTOCOL_CODES


def test_each_detail_carries_code_kind_title_status_and_message():
    result = evaluate_eligibility(passing_facts())
    for code, detail in result.details.items():
        assert detail.code == code
        assert detail.kind == ("inclusion" if code.startswith("IN") else "exclusion")
        assert detail.title and detail.message
        assert detail.status == result.criteria[code]


def test_result_is_frozen():
    result = evaluate_eligibility(passing_facts())
    with pytest.raises(AttributeError):
        result.eligible = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.details["IN1"].status = "fail"  # type: ignore[misc]


def test_an_empty_facts_mapping_is_all_missing_not_passed():
    result = evaluate_eligibility({})
    assert result.eligible is None
    assert result.failed == []
    assert result.missing == PROTOCOL_CODES


def test_a_failure_makes_the_subject_ineligible_whatever_is_missing():
    result = evaluate_eligibility({"ecog": 4})
    assert result.eligible is False
    assert result.failed == ["IN6"]
    assert len(result.missing) == len(PROTOCOL_CODES) - 1


def test_fact_keys_name_existing_criteria_and_a_unit_and_description():
    for key, spec in FACT_KEYS.items():
        assert spec.description, key
        assert spec.criteria and set(spec.criteria) <= set(CRITERIA), key
    assert FACT_KEYS["weight_kg"].unit == "kg"
    assert FACT_KEYS["lvef_pct"].maximum == 100
    assert FACT_KEYS["sex"].choices == ("F", "M")
    assert "IN7.3" in FACT_KEYS["creatinine"].criteria


def test_every_fact_key_is_documented_in_the_docstring():
    doc = evaluate_eligibility.__doc__
    assert all(key in doc for key in FACT_KEYS), [k for k in FACT_KEYS if k not in doc]


# ---------------------------------------------------------------------------------------------
# Golden eligibility predicates (CASES.md section I)
# ---------------------------------------------------------------------------------------------

GOLDEN = [
    (
        "ELIG-BP-151-97",
        {"blood_pressure_readings_mmhg": [(148, 96), (154, 98)]},
        "EX10.6",
        "fail",
    ),
    (
        "ELIG-HBV-ANTIHBC-POS-DNA-BELOW-LLOD",
        {"hbsag_positive": False, "anti_hbc_positive": True, "hbv_dna": 10, "hbv_dna_llod": 20},
        "EX12.2",
        "pass",
    ),
    (
        "ELIG-HBV-ANTIHBC-POS-DNA-50",
        {"hbsag_positive": False, "anti_hbc_positive": True, "hbv_dna": 50, "hbv_dna_llod": 20},
        "EX12.2",
        "fail",
    ),
    (
        "ELIG-HCV-ANTIHCV-POS-RNA-UNDETECTABLE",
        {"anti_hcv_positive": True, "hcv_rna": 0},
        "EX12.3",
        "pass",
    ),
    (
        "ELIG-BIL-2.5ULN-GILBERT-DIRECT-1.2ULN",
        {
            "total_bilirubin": 3.0,
            "total_bilirubin_uln": 1.2,
            "congenital_hyperbilirubinemia": True,
            "direct_bilirubin": 0.36,
            "direct_bilirubin_uln": 0.3,
        },
        "IN7.2",
        "pass",
    ),
    (
        "ELIG-BIL-2.5ULN-NO-GILBERT",
        {
            "total_bilirubin": 3.0,
            "total_bilirubin_uln": 1.2,
            "congenital_hyperbilirubinemia": False,
        },
        "IN7.2",
        "fail",
    ),
    (
        "ELIG-PREDNISONE-10x7-70MG",
        {
            "steroid_courses": [
                {
                    "drug": "prednisone",
                    "daily_dose_mg": 10,
                    "start_date": days_before(APHERESIS, 7),
                    "end_date": days_before(APHERESIS, 1),
                }
            ]
        },
        "EX2.1",
        "fail",
    ),
    (
        "ELIG-DEXAMETHASONE-1.5x7-70MG",
        {
            "steroid_courses": [
                {
                    "drug": "dexamethasone",
                    "daily_dose_mg": 1.5,
                    "start_date": days_before(APHERESIS, 7),
                    "end_date": days_before(APHERESIS, 1),
                }
            ]
        },
        "EX2.1",
        "fail",
    ),
    (
        "CG-BOUNDARY-45.000",
        {"sex": "M", "birth_date": date(1975, 3, 15), "weight_kg": 54, "creatinine": 1.5},
        "IN7.3",
        "fail",
    ),
]


@pytest.mark.parametrize("case_id, overrides, code, expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_eligibility_predicates(case_id, overrides, code, expected):
    result = evaluate_eligibility(passing_facts(**overrides))
    assert result.criteria[code] == expected
    assert result.eligible is (expected == "pass")


def test_golden_bp_mean_is_151_over_97():
    result = evaluate_eligibility(
        passing_facts(blood_pressure_readings_mmhg=[(148, 96), (154, 98)])
    )
    detail = result.details["EX10.6"]
    assert detail.values["mean_sbp_mmhg"] == 151 and detail.values["mean_dbp_mmhg"] == 97
    assert "151/97" in detail.message


def test_golden_steroid_totals_are_exactly_70():
    for drug, dose in (("prednisone", 10), ("dexamethasone", 1.5)):
        course = {
            "drug": drug,
            "daily_dose_mg": dose,
            "start_date": days_before(APHERESIS, 7),
            "end_date": days_before(APHERESIS, 1),
        }
        detail = evaluate_eligibility(passing_facts(steroid_courses=[course])).details["EX2.1"]
        assert detail.values["prednisone_equivalent_mg"] == 70.0
        assert "70 mg" in detail.message and "needs < 70 mg" in detail.message


CG_ELIGIBILITY = [
    ("CG-01", 50, 70, 1.0, "mg/dL", "M", "pass"),
    ("CG-02", 50, 70, 1.0, "mg/dL", "F", "pass"),
    ("CG-03", 65, 60, 1.2, "mg/dL", "M", "pass"),
    ("CG-05", 68, 50, 1.3, "mg/dL", "F", "fail"),
    ("CG-06", 45, 70, 1.94, "mg/dL", "M", "pass"),
    ("CG-08", 50, 70, 88.4, "umol/L", "M", "pass"),
    ("CG-10", 18, 80, 0.8, "mg/dL", "M", "pass"),
]


@pytest.mark.parametrize(
    "case_id, age, weight, scr, unit, sex, expected",
    CG_ELIGIBILITY,
    ids=[c[0] for c in CG_ELIGIBILITY],
)
def test_golden_cockcroft_gault_eligibility(case_id, age, weight, scr, unit, sex, expected):
    facts = passing_facts(
        birth_date=date(SCREENING.year - age, 3, 15),
        icf_date=ICF,
        weight_kg=weight,
        creatinine=scr,
        creatinine_unit=unit,
        sex=sex,
    )
    result = evaluate_eligibility(facts)
    assert result.details["IN7.3"].values["age_years"] == age
    assert result.criteria["IN7.3"] == expected


QT_ELIGIBILITY = [("QT-01", 400, 60), ("QT-02", 400, 75), ("QT-03", 360, 75), ("QT-05", 440, 50)]


@pytest.mark.parametrize("case_id, qt, hr", QT_ELIGIBILITY, ids=[c[0] for c in QT_ELIGIBILITY])
def test_golden_qtcf_is_not_an_exclusion(case_id, qt, hr):
    assert status(passing_facts(qt_ms=qt, heart_rate_bpm=hr), "EX10.3") == "pass"


# ---------------------------------------------------------------------------------------------
# Flip one fact: each criterion fails
# ---------------------------------------------------------------------------------------------

MALE = {"sex": "M", "childbearing_potential": None, "hcg_screening_positive": None}
FAILS = [
    ("IN1", {"birth_date": date(1954, 6, 1)}, {"IN1"}),
    ("IN1-under-18", {"birth_date": date(2007, 7, 1)}, {"IN1"}),
    ("IN2-not-who", {"aml_who2022": False}, {"IN2"}),
    ("IN2-not-rr", {"relapsed_refractory_aml": False}, {"IN2"}),
    ("IN3", {"cll1_positive_blasts_pct": 10, "cd38_positive_blasts_pct": 5}, {"IN3"}),
    ("IN4", {"estimated_survival_at_least_3_months": False}, {"IN4"}),
    ("IN5", {"allo_hsct_donor_confirmed": False}, {"IN5"}),
    ("IN6", {"ecog": 3}, {"IN6"}),
    ("IN7.1-alt", {"alt_u_l": 101}, {"IN7.1"}),
    ("IN7.1-ast", {"ast_u_l": 150}, {"IN7.1"}),
    ("IN7.2", {"total_bilirubin": 2.5}, {"IN7.2"}),
    ("IN7.3", {"creatinine": 2.0}, {"IN7.3"}),
    ("IN7.4", {"lvef_pct": 40}, {"IN7.4", "EX10.5"}),
    ("IN7.5", {"spo2_room_air_pct": 91}, {"IN7.5"}),
    ("IN8", {"able_to_stop_steroids": False}, {"IN8"}),
    ("IN9-hcg-baseline", {"hcg_baseline_positive": True}, {"IN9", "EX17"}),
    ("IN9-man-no-contraception", dict(MALE, contraception_agreed=False), {"IN9"}),
    ("IN10", {"willing_to_follow_up": False}, {"IN10"}),
    ("IN11", {"icf_signed": False}, {"IN11"}),
    ("EX1", {"study_drug_allergy": True}, {"EX1"}),
    (
        "EX2.1",
        {
            "steroid_courses": [
                {
                    "drug": "methylprednisolone",
                    "daily_dose_mg": 40,
                    "start_date": days_before(APHERESIS, 2),
                    "end_date": days_before(APHERESIS, 1),
                }
            ]
        },
        {"EX2.1"},
    ),
    ("EX2.2", {"steroids_needed_within_12_weeks": True}, {"EX2.2"}),
    (
        "EX2.3",
        {
            "last_antitumor_therapy_end_date": days_before(APHERESIS, 5),
            "last_antitumor_therapy_half_life_days": 2,
        },
        {"EX2.3"},
    ),
    ("EX2.4", {"radiotherapy_last_date": days_before(APHERESIS, 27)}, {"EX2.4"}),
    ("EX2.5", {"prior_dli": True, "dli_last_date": days_before(APHERESIS, 41)}, {"EX2.5"}),
    ("EX3", {"apl": True}, {"IN2", "EX3"}),
    ("EX4", {"prior_car_t_or_gene_therapy": True}, {"EX4"}),
    ("EX5", {"allo_hsct_last_date": date(2025, 2, 1)}, {"EX5"}),
    ("EX6-active", {"active_gvhd": True}, {"EX6"}),
    ("EX6-4-weeks", {"gvhd_active_within_4_weeks": True}, {"EX6"}),
    ("EX6-immunosuppressants", {"gvhd_immunosuppressants": True}, {"EX6"}),
    ("EX7", {"active_infection_systemic_treatment": True}, {"EX7"}),
    (
        "EX8",
        {
            "other_malignancy": True,
            "other_malignancy_exempt_type": False,
            "other_malignancy_disease_free_years": 2,
        },
        {"EX8"},
    ),
    (
        "EX9",
        {"prior_stroke_or_seizure": True, "stroke_or_seizure_last_date": date(2025, 3, 1)},
        {"EX9"},
    ),
    ("EX10.1", {"nyha_class": 3}, {"EX10.1"}),
    ("EX10.2", {"mi_or_cabg_last_date": date(2025, 4, 1)}, {"EX10.2"}),
    ("EX10.3-arrhythmia", {"severe_arrhythmia": True}, {"EX10.3"}),
    ("EX10.3-av-block", {"av_block_2nd_or_3rd_degree": True}, {"EX10.3"}),
    ("EX10.3-qtcf", {"qt_ms": 500, "heart_rate_bpm": 60}, {"EX10.3"}),
    ("EX10.4", {"severe_nonischemic_cardiomyopathy": True}, {"EX10.4"}),
    ("EX10.5", {"symptomatic_cardiac_disease_within_6_months": True}, {"EX10.5"}),
    ("EX10.6", {"blood_pressure_readings_mmhg": [(140, 100), (138, 102)]}, {"EX10.6"}),
    ("EX11", {"cns_involvement": True}, {"EX11"}),
    ("EX12.1", {"hiv_antibody_positive": True}, {"EX12.1"}),
    ("EX12.2-hbsag", {"hbsag_positive": True}, {"EX12.2"}),
    ("EX12.2-hbv-dna", {"hbv_dna": 50}, {"EX12.2"}),
    ("EX12.3", {"anti_hcv_positive": True, "hcv_rna": 100, "hcv_rna_llod": 15}, {"EX12.3"}),
    ("EX12.4", {"tppa_positive": True}, {"EX12.4"}),
    ("EX13", {"pulmonary_fibrosis": True}, {"EX13"}),
    ("EX14", {"active_autoimmune_disease": True}, {"EX14"}),
    ("EX15", {"prior_live_vaccine": True, "live_vaccine_last_date": date(2025, 6, 20)}, {"EX15"}),
    (
        "EX16-surgery",
        {"prior_major_surgery": True, "major_surgery_last_date": days_before(APHERESIS, 20)},
        {"EX16"},
    ),
    ("EX16-planned", {"surgery_planned": True}, {"EX16"}),
    ("EX17-plans", {"plans_children_within_2_years": True}, {"EX17"}),
    ("EX17-nursing", {"breastfeeding": True, "agrees_to_stop_breastfeeding": False}, {"EX17"}),
    (
        "EX18",
        {"unresolved_prior_toxicity": True, "unresolved_toxicity_no_safety_risk": False},
        {"EX18"},
    ),
    ("EX19", {"investigator_judges_unsuitable": True}, {"EX19"}),
]


@pytest.mark.parametrize("case_id, overrides, failing", FAILS, ids=[f[0] for f in FAILS])
def test_flipping_one_fact_fails_that_criterion_only(case_id, overrides, failing):
    result = evaluate_eligibility(passing_facts(**overrides))
    assert result.eligible is False
    assert set(result.failed) == with_parents(failing)
    assert result.missing == []
    for code in failing:
        assert result.details[code].message


def test_every_leaf_criterion_has_a_failing_case():
    leaves = {code for code in PROTOCOL_CODES if code not in PARENTS}
    covered = set().union(*(failing for _, _, failing in FAILS))
    assert leaves == covered


def test_failed_lists_codes_in_protocol_order():
    result = evaluate_eligibility(passing_facts(apl=True, ecog=3, tppa_positive=True))
    assert result.failed == ["IN2", "IN6", "EX3", "EX12", "EX12.4"]


# ---------------------------------------------------------------------------------------------
# Remove one fact: that criterion becomes missing (never a silent pass or fail)
# ---------------------------------------------------------------------------------------------

REMOVALS = {
    "screening_date": {"IN7.3", "EX5"},
    "icf_date": {"IN1"},
    "planned_apheresis_date": {"EX2.1", "EX2.3", "EX2.4"},
    "enrollment_date": {"EX10.2"},
    "birth_date": {"IN1", "IN7.3"},
    "sex": {"IN7.3", "IN9", "EX17"},
    "weight_kg": {"IN7.3"},
    "height_cm": set(),  # only needed when cg_weight is ideal/adjusted
    "blood_pressure_readings_mmhg": {"EX10.6"},
    "spo2_room_air_pct": {"IN7.5"},
    "ecog": {"IN6"},
    "aml_who2022": {"IN2"},
    "relapsed_refractory_aml": {"IN2"},
    "apl": {"IN2", "EX3"},
    "cll1_positive_blasts_pct": set(),  # CD38 alone is enough ("and/or")
    "cd38_positive_blasts_pct": set(),
    "cns_involvement": {"EX11"},
    "estimated_survival_at_least_3_months": {"IN4"},
    "allo_hsct_donor_confirmed": {"IN5"},
    "able_to_stop_steroids": {"IN8"},
    "contraception_agreed": set(),  # asked of men only
    "willing_to_follow_up": {"IN10"},
    "icf_signed": {"IN11"},
    "steroids_needed_within_12_weeks": {"EX2.2"},
    "plans_children_within_2_years": {"EX17"},
    "investigator_judges_unsuitable": {"EX19"},
    "alt_u_l": {"IN7.1"},
    "alt_uln_u_l": {"IN7.1"},
    "ast_u_l": {"IN7.1"},
    "ast_uln_u_l": {"IN7.1"},
    "total_bilirubin": {"IN7.2"},
    "total_bilirubin_uln": {"IN7.2"},
    # Gilbert's status unknown and no direct bilirubin: the two readings cannot be compared.
    "congenital_hyperbilirubinemia": {"IN7.2"},
    "creatinine": {"IN7.3"},
    "creatinine_unit": {"IN7.3"},
    "lvef_pct": {"IN7.4", "EX10.5"},
    "qt_ms": {"EX10.3"},
    "heart_rate_bpm": {"EX10.3"},
    "nyha_class": {"EX10.1"},
    "prior_mi_or_cabg": set(),  # the date says it happened
    "mi_or_cabg_last_date": {"EX10.2"},
    "severe_arrhythmia": {"EX10.3"},
    "av_block_2nd_or_3rd_degree": {"EX10.3"},
    "severe_nonischemic_cardiomyopathy": {"EX10.4"},
    "symptomatic_cardiac_disease_within_6_months": {"EX10.5"},
    "hiv_antibody_positive": {"EX12.1"},
    "hbsag_positive": {"EX12.2"},
    "anti_hbc_positive": {"EX12.2"},
    "hbv_dna": {"EX12.2"},
    "hbv_dna_llod": set(),  # HBV DNA not detected: no LLOD needed
    "anti_hcv_positive": {"EX12.3"},
    "tppa_positive": {"EX12.4"},
    "childbearing_potential": {"IN9"},
    "hcg_screening_positive": {"IN9"},
    "hcg_baseline_positive": {"IN9"},
    "breastfeeding": {"EX17"},
    "steroid_courses": {"EX2.1"},
    "last_antitumor_therapy_end_date": {"EX2.3"},
    "last_antitumor_therapy_half_life_days": set(),  # ended ≥ 14 days before apheresis
    "prior_radiotherapy": set(),
    "radiotherapy_last_date": {"EX2.4"},
    "prior_dli": {"EX2.5"},
    "prior_car_t_or_gene_therapy": {"EX4"},
    "prior_allo_hsct": set(),
    "allo_hsct_last_date": {"EX5"},
    "prior_live_vaccine": {"EX15"},
    "prior_major_surgery": {"EX16"},
    "surgery_planned": {"EX16"},
    "prior_stroke_or_seizure": {"EX9"},
    "study_drug_allergy": {"EX1"},
    "active_gvhd": {"EX6"},
    "gvhd_active_within_4_weeks": {"EX6"},
    "gvhd_immunosuppressants": {"EX6"},
    "active_infection_systemic_treatment": {"EX7"},
    "other_malignancy": {"EX8"},
    "pulmonary_fibrosis": {"EX13"},
    "active_autoimmune_disease": {"EX14"},
    "unresolved_prior_toxicity": {"EX18"},
}


def test_removal_table_covers_the_whole_fixture():
    assert set(REMOVALS) == set(passing_facts())


@pytest.mark.parametrize("key", sorted(REMOVALS))
def test_removing_one_fact_makes_only_its_criteria_missing(key):
    for facts in (without(key), passing_facts(**{key: None})):
        result = evaluate_eligibility(facts)
        assert result.failed == []
        assert set(result.missing) == with_parents(REMOVALS[key])
        assert result.eligible is (None if REMOVALS[key] else True)
        for code in REMOVALS[key]:
            detail = result.details[code]
            assert "needed" in detail.message
            assert detail.needs, code


@pytest.mark.parametrize(
    "key, code, text",
    [
        ("planned_apheresis_date", "EX2.4", "Planned apheresis date needed"),
        ("total_bilirubin", "IN7.2", "Total bilirubin needed"),
        ("total_bilirubin_uln", "IN7.2", "Total bilirubin ULN needed"),
        ("alt_uln_u_l", "IN7.1", "ALT ULN needed"),
        ("icf_date", "IN1", "ICF signature date needed"),
        ("hcg_baseline_positive", "IN9", "HCG result at baseline needed"),
        ("steroid_courses", "EX2.1", "Steroid courses (or none) needed"),
        ("blood_pressure_readings_mmhg", "EX10.6", "At least 2 blood pressure readings needed"),
    ],
)
def test_missing_messages_name_what_is_needed(key, code, text):
    detail = evaluate_eligibility(without(key)).details[code]
    assert detail.status == "missing"
    assert text in detail.message
    assert key in detail.needs


def test_parent_needs_collects_its_children_needs():
    result = evaluate_eligibility(without("alt_u_l"))
    assert result.details["IN7"].needs == ("alt_u_l",)
    assert result.details["IN7"].message == "Missing: IN7.1"


# ---------------------------------------------------------------------------------------------
# Criterion details and boundaries (each side of every threshold)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth, expected, rule",
    [
        (date(2007, 6, 30), "pass", "completed_years"),  # 18th birthday on ICF day
        (date(2007, 7, 1), "fail", "completed_years"),  # turns 18 the day after ICF
        (date(1954, 7, 1), "pass", "completed_years"),  # 70, day before 71st birthday
        (date(1954, 6, 30), "fail", "completed_years"),  # 71st birthday on ICF day
        (date(1954, 7, 1), "fail", "exact_age"),  # 70 years and 364 days
        (date(1955, 6, 30), "pass", "exact_age"),  # 70th birthday on ICF day
        (date(1955, 7, 1), "pass", "exact_age"),
        (date(2007, 6, 30), "pass", "exact_age"),
    ],
)
def test_in1_age_boundaries(birth, expected, rule):
    assert status(passing_facts(birth_date=birth), "IN1", age_rule=rule) == expected


def test_in1_message_gives_age_and_range():
    detail = evaluate_eligibility(passing_facts(birth_date=date(1954, 6, 30))).details["IN1"]
    assert detail.message == "Age 71 years at informed consent (2025-06-30) — needs 18-70"


@pytest.mark.parametrize(
    "cll1, cd38, expected",
    [(20, 0, "pass"), (19.9, 0, "fail"), (0, 20, "pass"), (19.9, 19.9, "fail"), (None, 25, "pass")],
)
def test_in3_either_antigen_at_the_threshold(cll1, cd38, expected):
    facts = passing_facts(cll1_positive_blasts_pct=cll1, cd38_positive_blasts_pct=cd38)
    assert status(facts, "IN3") == expected


def test_in3_one_negative_one_unknown_is_missing():
    facts = passing_facts(cll1_positive_blasts_pct=5, cd38_positive_blasts_pct=None)
    detail = evaluate_eligibility(facts).details["IN3"]
    assert detail.status == "missing"
    assert detail.message.startswith("CD38 % positive blasts needed")


def test_in3_threshold_is_a_setting():
    facts = passing_facts(cll1_positive_blasts_pct=12, cd38_positive_blasts_pct=3)
    assert status(facts, "IN3") == "fail"
    assert status(facts, "IN3", antigen_positive_threshold_pct=10) == "pass"


@pytest.mark.parametrize("ecog, expected", [(0, "pass"), (2, "pass"), (3, "fail"), (5, "fail")])
def test_in6_ecog(ecog, expected):
    assert status(passing_facts(ecog=ecog), "IN6") == expected


@pytest.mark.parametrize(
    "alt, expected", [(100, "pass"), (100.1, "fail"), (Decimal("100.00"), "pass")]
)
def test_in7_1_alt_at_2_5_uln(alt, expected):
    assert status(passing_facts(alt_u_l=alt, alt_uln_u_l=40), "IN7.1") == expected


def test_in7_1_message():
    detail = evaluate_eligibility(passing_facts(alt_u_l=120)).details["IN7.1"]
    assert detail.message == "ALT 120 U/L = 3 × ULN (40 U/L) — needs ≤ 2.5 × ULN"


@pytest.mark.parametrize("total, expected", [(2.4, "pass"), (2.41, "fail")])
def test_in7_2_total_bilirubin_at_2_uln(total, expected):
    facts = passing_facts(total_bilirubin=total, total_bilirubin_uln=1.2)
    assert status(facts, "IN7.2") == expected


@pytest.mark.parametrize("direct, expected", [(1.8, "pass"), (1.81, "fail")])
def test_in7_2_direct_bilirubin_at_1_5_uln_without_float_error(direct, expected):
    # 1.5 x 1.2 = 1.7999999999999998 in binary floating point; 1.8 must pass.
    facts = passing_facts(
        total_bilirubin=4.0,
        congenital_hyperbilirubinemia=True,
        direct_bilirubin=direct,
        direct_bilirubin_uln=1.2,
    )
    assert status(facts, "IN7.2") == expected


@pytest.mark.parametrize(
    "total, direct, expected",
    [
        (2.4, 0.45, "pass"),  # total exactly 2 x ULN, direct exactly 1.5 x ULN: both pass
        (2.41, 0.45, "missing"),  # the readings disagree: Gilbert's status decides
        (2.4, 0.46, "missing"),
        (2.41, 0.46, "fail"),  # both readings exclude
        (0.8, None, "missing"),  # normal total alone is no silent pass
    ],
)
def test_in7_2_unknown_gilbert_status_decides_only_where_both_readings_agree(
    total, direct, expected
):
    facts = passing_facts(
        total_bilirubin=total,
        direct_bilirubin=direct,
        direct_bilirubin_uln=0.3,
        congenital_hyperbilirubinemia=None,
    )
    detail = evaluate_eligibility(facts).details["IN7.2"]
    assert detail.status == expected
    if expected == "missing":
        assert "congenital_hyperbilirubinemia" in detail.needs


def test_in7_2_gilbert_needs_direct_bilirubin():
    facts = passing_facts(total_bilirubin=3.0, congenital_hyperbilirubinemia=True)
    detail = evaluate_eligibility(facts).details["IN7.2"]
    assert detail.status == "missing"
    assert "Direct bilirubin and its ULN needed" in detail.message


@pytest.mark.parametrize(
    "weight, creatinine, unit, expected",
    [
        (54, 1.5, "mg/dL", "fail"),  # exactly 45.000
        (54, 132.6, "umol/L", "fail"),  # exactly 45.000 via ÷ 88.4
        (54.01, 1.5, "mg/dL", "pass"),  # 45.008
        (53.99, 1.5, "mg/dL", "fail"),
    ],
)
def test_in7_3_clearance_must_exceed_45(weight, creatinine, unit, expected):
    facts = passing_facts(
        sex="M", birth_date=date(1975, 3, 15), weight_kg=weight, creatinine=creatinine
    )
    facts["creatinine_unit"] = unit
    assert status(facts, "IN7.3") == expected


def test_in7_3_message_reads_like_the_protocol():
    facts = passing_facts(sex="F", birth_date=date(1957, 3, 15), weight_kg=50, creatinine=1.3)
    detail = evaluate_eligibility(facts).details["IN7.3"]
    assert detail.message == "Creatinine clearance 32.7 mL/min (Cockcroft–Gault) — needs > 45"
    assert detail.values["creatinine_clearance_ml_min"] == pytest.approx(32.692, abs=1e-3)


def test_in7_3_message_never_rounds_onto_the_threshold():
    facts = passing_facts(sex="M", birth_date=date(1975, 3, 15), weight_kg=54.01, creatinine=1.5)
    detail = evaluate_eligibility(facts).details["IN7.3"]
    assert detail.status == "pass"
    assert "45.01 mL/min" in detail.message


def test_in7_3_age_is_taken_at_the_creatinine_date():
    # born 1955-07-05: 69 on the lab date 2025-07-01, 70 on 2025-07-05
    base = {"sex": "M", "birth_date": date(1955, 7, 5), "weight_kg": 50, "creatinine": 1.0}
    at_screening = evaluate_eligibility(passing_facts(**base)).details["IN7.3"]
    later = evaluate_eligibility(passing_facts(creatinine_date=date(2025, 7, 5), **base))
    assert at_screening.values["age_years"] == 69
    assert later.details["IN7.3"].values["age_years"] == 70


def test_in7_3_weight_setting_needs_height():
    facts = passing_facts(height_cm=None)
    detail = evaluate_eligibility(facts, cg_weight="ideal").details["IN7.3"]
    assert detail.status == "missing"
    assert "Height (cg_weight = ideal) needed" in detail.message
    assert status(passing_facts(), "IN7.3", cg_weight="adjusted") == "pass"


@pytest.mark.parametrize("lvef, expected", [(45, "pass"), (44.9, "fail"), (100, "pass")])
def test_in7_4_lvef_at_45(lvef, expected):
    result = evaluate_eligibility(passing_facts(lvef_pct=lvef))
    assert result.criteria["IN7.4"] == expected
    assert result.criteria["EX10.5"] == expected


@pytest.mark.parametrize("spo2, expected", [(92, "pass"), (91.9, "fail")])
def test_in7_5_spo2_at_92(spo2, expected):
    assert status(passing_facts(spo2_room_air_pct=spo2), "IN7.5") == expected


def test_in9_woman_not_of_childbearing_potential_needs_no_hcg():
    facts = passing_facts(
        childbearing_potential=False, hcg_screening_positive=None, hcg_baseline_positive=None
    )
    assert status(facts, "IN9") == "pass"


def test_in9_man_needs_contraception_agreement_not_hcg():
    facts = passing_facts(**MALE, hcg_baseline_positive=None, contraception_agreed=True)
    assert status(facts, "IN9") == "pass"
    facts["contraception_agreed"] = None
    assert status(facts, "IN9") == "missing"


# --- EX2.1 steroids -------------------------------------------------------------------------


def course(drug, dose, start, end=None, **extra):
    return dict(drug=drug, daily_dose_mg=dose, start_date=start, end_date=end, **extra)


@pytest.mark.parametrize(
    "courses, expected, total",
    [
        ([course("prednisone", 10, days_before(APHERESIS, 7), days_before(APHERESIS, 2))]
         + [course("prednisone", 9, days_before(APHERESIS, 1), days_before(APHERESIS, 1))],
         "pass", 69.0),
        ([course("prednisone", 10, days_before(APHERESIS, 30), APHERESIS)], "fail", 70.0),
        # the apheresis day and day -8 are outside the 7-day window
        ([course("prednisone", 30, APHERESIS, APHERESIS + timedelta(days=3))], "pass", 0.0),
        ([course("prednisone", 30, days_before(APHERESIS, 10), days_before(APHERESIS, 8))],
         "pass", 0.0),
        ([course("dexamethasone", 2, days_before(APHERESIS, 3), ongoing=True)], "pass", 40.0),
        ([course("dexamethasone", 3, days_before(APHERESIS, 4), ongoing=True)], "fail", 80.0),
        ([course("hydrocortisone", 100, days_before(APHERESIS, 3), days_before(APHERESIS, 1)),
          course("prednisolone", 5, days_before(APHERESIS, 7), days_before(APHERESIS, 1))],
         "fail", 110.0),
    ],
    ids=["69mg", "70mg-long-course", "apheresis-day-excluded", "day-minus-8-excluded",
         "ongoing-40mg", "ongoing-80mg", "two-courses-110mg"],
)  # fmt: skip
def test_ex2_1_counts_days_minus_7_to_minus_1(courses, expected, total):
    detail = evaluate_eligibility(passing_facts(steroid_courses=courses)).details["EX2.1"]
    assert detail.status == expected
    assert detail.values["prednisone_equivalent_mg"] == total


def test_ex2_1_empty_list_means_no_steroids():
    facts = passing_facts(steroid_courses=[], planned_apheresis_date=None)
    assert status(facts, "EX2.1") == "pass"


def test_ex2_1_course_with_unknown_end_is_missing_unless_already_over_70():
    unknown_end = course("prednisone", 10, days_before(APHERESIS, 2))
    detail = evaluate_eligibility(passing_facts(steroid_courses=[unknown_end])).details["EX2.1"]
    assert detail.status == "missing"
    assert "course 1 start/end date (or ongoing)" in detail.message
    big = course("prednisone", 70, days_before(APHERESIS, 1), days_before(APHERESIS, 1))
    assert status(passing_facts(steroid_courses=[unknown_end, big]), "EX2.1") == "fail"


def test_ex2_1_course_outside_the_window_needs_no_end_date():
    later = course("prednisone", 50, APHERESIS + timedelta(days=1))
    assert status(passing_facts(steroid_courses=[later]), "EX2.1") == "pass"


@given(
    dose=st.decimals(min_value="0.5", max_value="20", places=1),
    start=st.integers(min_value=0, max_value=12),
    length=st.integers(min_value=1, max_value=12),
    split=st.integers(min_value=0, max_value=10),
)
@settings(max_examples=60)
def test_ex2_1_splitting_a_course_does_not_change_the_total(dose, start, length, split):
    first_day = days_before(APHERESIS, start)
    last_day = first_day + timedelta(days=length - 1)
    whole = [course("prednisolone", dose, first_day, last_day)]
    cut = first_day + timedelta(days=min(split, length - 1))
    parts = [course("prednisolone", dose, first_day, cut)]
    if cut < last_day:
        parts.append(course("prednisolone", dose, cut + timedelta(days=1), last_day))
    one = evaluate_eligibility(passing_facts(steroid_courses=whole)).details["EX2.1"]
    two = evaluate_eligibility(passing_facts(steroid_courses=parts)).details["EX2.1"]
    assert one.values["prednisone_equivalent_mg"] == two.values["prednisone_equivalent_mg"]
    assert one.status == two.status


# --- EX2.3 anti-tumor therapy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "gap, half_life, expected",
    [
        (14, None, "pass"),  # 14 days always enough
        (13, None, "missing"),  # half-life decides
        (13, 2.6, "pass"),  # 5 x 2.6 = 13 days, boundary day passes
        (12, 2.6, "fail"),
        (13, 2.8, "fail"),  # min(14, 14) = 14
        (13, 30, "fail"),  # long half-life: 14 days
        (1, 0.2, "pass"),  # 5 x 0.2 = 1 day
        (-2, 0.1, "fail"),  # still on therapy after apheresis
    ],
)
def test_ex2_3_washout_is_the_shorter_of_14_days_and_5_half_lives(gap, half_life, expected):
    facts = passing_facts(
        last_antitumor_therapy_end_date=days_before(APHERESIS, gap),
        last_antitumor_therapy_half_life_days=half_life,
    )
    assert status(facts, "EX2.3") == expected


def test_ex2_3_checks_every_listed_therapy():
    therapies = [
        {"name": "venetoclax", "end_date": days_before(APHERESIS, 4), "half_life_days": 0.7},
        {"name": "gilteritinib", "end_date": days_before(APHERESIS, 10), "half_life_days": 4.7},
    ]
    facts = passing_facts(
        antitumor_therapies=therapies,
        last_antitumor_therapy_end_date=None,
        last_antitumor_therapy_half_life_days=None,
    )
    detail = evaluate_eligibility(facts).details["EX2.3"]
    assert detail.status == "fail"
    assert detail.message.startswith("Gilteritinib ended 2025-07-04, 10 days before apheresis")
    assert "needs ≥ 14 days" in detail.message and "venetoclax" not in detail.message.lower()
    assert status({**facts, "antitumor_therapies": therapies[:1]}, "EX2.3") == "pass"


def test_ex2_3_empty_therapy_list_means_none():
    facts = passing_facts(
        antitumor_therapies=[],
        last_antitumor_therapy_end_date=None,
        last_antitumor_therapy_half_life_days=None,
    )
    assert status(facts, "EX2.3") == "pass"


# --- washouts in days and calendar months ---------------------------------------------------


@pytest.mark.parametrize(
    "code, overrides_for_gap, boundary",
    [
        ("EX2.4", lambda g: {"radiotherapy_last_date": days_before(APHERESIS, g)}, 28),
        ("EX2.5", lambda g: {"prior_dli": True, "dli_last_date": days_before(APHERESIS, g)}, 42),
        (
            "EX15",
            lambda g: {
                "prior_live_vaccine": True,
                "live_vaccine_last_date": days_before(SCREENING, g),
            },
            28,
        ),
        (
            "EX16",
            lambda g: {
                "prior_major_surgery": True,
                "major_surgery_last_date": days_before(APHERESIS, g),
            },
            28,
        ),
    ],
    ids=["EX2.4-radiotherapy-4w", "EX2.5-dli-6w", "EX15-live-vaccine-4w", "EX16-surgery-4w"],
)
def test_washouts_in_days_pass_on_the_boundary_day(code, overrides_for_gap, boundary):
    assert status(passing_facts(**overrides_for_gap(boundary)), code) == "pass"
    assert status(passing_facts(**overrides_for_gap(boundary - 1)), code) == "fail"


@pytest.mark.parametrize(
    "reference, event, expected",
    [
        (date(2025, 7, 1), date(2025, 1, 1), "pass"),  # exactly 6 months
        (date(2025, 7, 1), date(2025, 1, 2), "fail"),
        (date(2025, 8, 31), date(2025, 2, 28), "pass"),  # month-end clamp
        (date(2025, 8, 31), date(2025, 3, 1), "fail"),
    ],
)
def test_ex5_allo_hsct_6_calendar_months_before_screening(reference, event, expected):
    facts = passing_facts(screening_date=reference, allo_hsct_last_date=event)
    assert status(facts, "EX5") == expected


@pytest.mark.parametrize(
    "event, expected", [(date(2024, 12, 30), "pass"), (date(2024, 12, 31), "fail")]
)
def test_ex9_stroke_or_seizure_6_months_before_icf(event, expected):
    facts = passing_facts(prior_stroke_or_seizure=True, stroke_or_seizure_last_date=event)
    assert status(facts, "EX9") == expected


@pytest.mark.parametrize(
    "event, expected",
    [(date(2025, 1, 9), "pass"), (date(2025, 1, 10), "fail"), (date(2025, 1, 11), "fail")],
)
def test_ex10_2_mi_exactly_6_months_before_enrollment_is_excluded(event, expected):
    assert status(passing_facts(mi_or_cabg_last_date=event), "EX10.2") == expected


def test_washout_messages_give_dates_and_the_rule():
    facts = passing_facts(radiotherapy_last_date=days_before(APHERESIS, 20))
    message = evaluate_eligibility(facts).details["EX2.4"].message
    assert message == (
        "Latest radiotherapy 2025-06-24, 20 days before planned apheresis (2025-07-14) "
        "— needs ≥ 28 days"
    )


def test_month_window_message_gives_the_latest_allowed_date():
    facts = passing_facts(
        prior_stroke_or_seizure=True, stroke_or_seizure_last_date=date(2025, 1, 5)
    )
    message = evaluate_eligibility(facts).details["EX9"].message
    assert message == (
        "Latest stroke or seizure 2025-01-05; ICF signature 2025-06-30 "
        "— needs on or before 2024-12-30 (6 months)"
    )


def test_event_flag_false_with_a_date_is_contradictory():
    with pytest.raises(ValueError, match="prior_radiotherapy is False but radiotherapy_last_date"):
        evaluate_eligibility(passing_facts(prior_radiotherapy=False))


def test_event_reported_without_date_is_missing():
    facts = passing_facts(prior_dli=True)
    detail = evaluate_eligibility(facts).details["EX2.5"]
    assert detail.status == "missing"
    assert detail.message == "Date of the latest donor lymphocyte infusion needed"


# --- EX8 other malignancy -------------------------------------------------------------------


@pytest.mark.parametrize(
    "exempt, years, rule, expected",
    [
        (True, None, "exempt_type_or_disease_free", "pass"),
        (False, 5.1, "exempt_type_or_disease_free", "pass"),
        (False, 5, "exempt_type_or_disease_free", "fail"),  # "more than 5 years"
        (None, 2, "exempt_type_or_disease_free", "missing"),
        (True, 6, "exempt_type_and_disease_free", "pass"),
        (True, 5, "exempt_type_and_disease_free", "fail"),
        (False, 10, "exempt_type_and_disease_free", "fail"),
        (True, None, "exempt_type_and_disease_free", "missing"),
    ],
)
def test_ex8_malignancy_exemption_readings(exempt, years, rule, expected):
    facts = passing_facts(
        other_malignancy=True,
        other_malignancy_exempt_type=exempt,
        other_malignancy_disease_free_years=years,
    )
    assert status(facts, "EX8", malignancy_exemption_rule=rule) == expected


# --- EX10 heart -----------------------------------------------------------------------------


@pytest.mark.parametrize("nyha, expected", [(0, "pass"), (2, "pass"), (3, "fail"), (4, "fail")])
def test_ex10_1_nyha(nyha, expected):
    assert status(passing_facts(nyha_class=nyha), "EX10.1") == expected


@pytest.mark.parametrize(
    "ecg, expected",
    [
        ({"qt_ms": 480, "heart_rate_bpm": 60}, "fail"),
        ({"qt_ms": 479.9, "heart_rate_bpm": 60}, "pass"),
        ({"qt_ms": 432, "heart_rate_bpm": None, "rr_ms": 729}, "fail"),  # exactly 480 by cube root
        ({"qt_ms": 431.9, "heart_rate_bpm": None, "rr_ms": 729}, "pass"),
    ],
)
def test_ex10_3_qtcf_at_480(ecg, expected):
    assert status(passing_facts(**ecg), "EX10.3") == expected


def test_ex10_3_replicate_ecgs_use_the_mean_or_max_setting():
    readings = [
        {"qt_ms": 470, "heart_rate_bpm": 60},
        {"qt_ms": 490, "heart_rate_bpm": 60},
        {"qt_ms": 470, "heart_rate_bpm": 60},
    ]
    facts = passing_facts(qt_ms=None, heart_rate_bpm=None, ecg_readings=readings)
    mean = evaluate_eligibility(facts).details["EX10.3"]
    assert mean.status == "pass" and mean.values["qtcf_ms"] == pytest.approx(476.667, abs=1e-3)
    assert status(facts, "EX10.3", qtcf_aggregate="max") == "fail"


def test_ex10_3_qt_without_rate_is_missing():
    detail = evaluate_eligibility(passing_facts(heart_rate_bpm=None)).details["EX10.3"]
    assert detail.status == "missing"
    assert "Heart rate or RR interval needed" in detail.message


@pytest.mark.parametrize(
    "readings, expected",
    [
        ([(150, 80), (150, 80)], "fail"),
        ([(149, 80), (150, 80)], "pass"),  # mean 149.5, not rounded up
        ([(120, 100), (120, 100)], "fail"),
        ([(120, 99), (120, 100)], "pass"),
        ([(140, 90), (141, 90), (170, 95)], "fail"),  # mean of three: 150.3
    ],
)
def test_ex10_6_mean_blood_pressure_boundaries(readings, expected):
    assert status(passing_facts(blood_pressure_readings_mmhg=readings), "EX10.6") == expected


def test_ex10_6_one_reading_is_not_enough():
    detail = evaluate_eligibility(passing_facts(blood_pressure_readings_mmhg=[(120, 80)]))
    assert detail.criteria["EX10.6"] == "missing"
    assert status(passing_facts(blood_pressure_readings_mmhg=[(120, 80)]), "EX10.6",
                  bp_min_readings=1) == "pass"  # fmt: skip


@given(
    st.lists(st.tuples(st.integers(90, 200), st.integers(40, 89)), min_size=2, max_size=6),
    st.randoms(use_true_random=False),
)
@settings(max_examples=60)
def test_ex10_6_does_not_depend_on_reading_order(readings, rnd):
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    first = evaluate_eligibility(passing_facts(blood_pressure_readings_mmhg=readings))
    second = evaluate_eligibility(passing_facts(blood_pressure_readings_mmhg=shuffled))
    assert first.details["EX10.6"].values == second.details["EX10.6"].values


# --- EX12 virology --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dna, llod, expected",
    [(20, 20, "pass"), (20.1, 20, "fail"), (0, None, "pass"), (15, None, "missing")],
)
def test_ex12_2_hbv_dna_must_exceed_llod_to_exclude(dna, llod, expected):
    facts = passing_facts(anti_hbc_positive=True, hbv_dna=dna, hbv_dna_llod=llod)
    assert status(facts, "EX12.2") == expected


def test_ex12_2_hbsag_positive_excludes_whatever_the_dna():
    facts = passing_facts(hbsag_positive=True, anti_hbc_positive=None, hbv_dna=None)
    assert status(facts, "EX12.2") == "fail"


def test_ex12_3_anti_hcv_positive_needs_rna():
    detail = evaluate_eligibility(passing_facts(anti_hcv_positive=True)).details["EX12.3"]
    assert detail.status == "missing"
    assert detail.needs == ("hcv_rna",)
    assert status(passing_facts(anti_hcv_positive=True, hcv_rna=15, hcv_rna_llod=15), "EX12.3") == (
        "pass"
    )


# --- EX17, EX18 -----------------------------------------------------------------------------


def test_ex17_breastfeeding_woman_who_agrees_to_stop_passes():
    facts = passing_facts(breastfeeding=True, agrees_to_stop_breastfeeding=True)
    assert status(facts, "EX17") == "pass"
    facts["agrees_to_stop_breastfeeding"] = None
    assert status(facts, "EX17") == "missing"


def test_ex17_men_are_not_asked_about_breastfeeding():
    facts = passing_facts(**MALE, hcg_baseline_positive=None, breastfeeding=None)
    assert status(facts, "EX17") == "pass"


def test_ex18_unresolved_toxicity_passes_only_with_investigator_exemption():
    facts = passing_facts(unresolved_prior_toxicity=True, unresolved_toxicity_no_safety_risk=True)
    assert status(facts, "EX18") == "pass"
    facts["unresolved_toxicity_no_safety_risk"] = None
    assert status(facts, "EX18") == "missing"


# ---------------------------------------------------------------------------------------------
# Impossible input: ValueError naming the parameter
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        ({"lvef_pct": 101}, "lvef_pct must be at most 100"),
        ({"weight_kg": -70}, "weight_kg must be at least 0"),
        ({"spo2_room_air_pct": 100.5}, "spo2_room_air_pct"),
        ({"ecog": 6}, "ecog must be from 0 to 5"),
        ({"nyha_class": 5}, "nyha_class"),
        ({"sex": "X"}, "sex must be one of 'F', 'M'"),
        ({"creatinine_unit": "mmol/L"}, "creatinine_unit must be one of 'mg/dL', 'umol/L'"),
        ({"apl": "no"}, "apl must be True, False or None"),
        ({"icf_date": "30/06/2025"}, "icf_date must be a date"),
        ({"alt_uln_u_l": 0}, "alt_uln_u_l must be greater than 0"),
        ({"hbv_dna": -1}, "hbv_dna"),
        ({"blood_pressure_readings_mmhg": [(80, 120), (120, 80)]}, r"blood_pressure.*\[0\]"),
        ({"blood_pressure_readings_mmhg": [(120,)]}, r"blood_pressure_readings_mmhg\[0\]"),
        (
            {"steroid_courses": [course("budesonide", 9, date(2025, 7, 10))]},
            r"steroid_courses\[0\]\.drug must be one of hydrocortisone, .*betamethasone",
        ),
        (
            {"steroid_courses": [course("prednisone", 5, date(2025, 7, 10), date(2025, 7, 1))]},
            r"steroid_courses\[0\]\.end_date is before",
        ),
        ({"steroid_courses": [{"drug": "prednisone", "dose": 5}]}, "unknown keys"),
        ({"heart_rate_bpm": 60, "rr_ms": 1000}, "exactly one of heart_rate_bpm or rr_ms"),
        ({"ecg_readings": [{"qt_ms": 400, "heart_rate_bpm": 60}]}, "either ecg_readings or qt_ms"),
        ({"antitumor_therapies": [{"name": "x", "half_life_days": -1}]}, "half_life_days"),
    ],
)
def test_impossible_facts_raise_value_error_naming_the_field(overrides, pattern):
    with pytest.raises(ValueError, match=pattern):
        evaluate_eligibility(passing_facts(**overrides))


def test_unknown_fact_key_is_refused():
    with pytest.raises(ValueError, match="unknown key.*lvef.*FACT_KEYS"):
        evaluate_eligibility({"lvef": 50})


def test_iso_date_strings_and_decimals_are_accepted():
    facts = passing_facts(icf_date="2025-06-30", weight_kg=Decimal("70.0"), lvef_pct=Decimal("45"))
    assert evaluate_eligibility(facts).eligible is True


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

FIXTURE_KEYS = sorted(passing_facts())


@given(st.sets(st.sampled_from(FIXTURE_KEYS)))
@settings(max_examples=80)
def test_removing_facts_never_produces_a_failure(removed):
    facts = {k: v for k, v in passing_facts().items() if k not in removed}
    result = evaluate_eligibility(facts)
    assert result.failed == []
    assert result.eligible is (None if result.missing else True)


def check_consistency(result: EligibilityResult) -> None:
    statuses = set(result.criteria.values())
    expected = False if "fail" in statuses else (None if "missing" in statuses else True)
    assert result.eligible is expected
    for parent in PARENTS:
        children = [result.criteria[c] for c in PROTOCOL_CODES if c.startswith(parent + ".")]
        if "fail" in children:
            assert result.criteria[parent] == "fail"
        elif "missing" in children:
            assert result.criteria[parent] == "missing"
        else:
            assert result.criteria[parent] == "pass"
    assert result.failed == [c for c in PROTOCOL_CODES if result.criteria[c] == "fail"]
    assert result.missing == [c for c in PROTOCOL_CODES if result.criteria[c] == "missing"]


@given(
    st.lists(st.sampled_from([f[1] for f in FAILS]), max_size=4),
    st.sets(st.sampled_from(FIXTURE_KEYS), max_size=6),
)
@settings(max_examples=80)
def test_overall_and_parent_statuses_follow_the_children(failure_overrides, removed):
    facts = passing_facts()
    for overrides in failure_overrides:
        facts.update(overrides)
    for key in removed:
        facts.pop(key, None)
    result = evaluate_eligibility(facts)
    check_consistency(result)
    if failure_overrides and not removed:
        assert result.eligible is False


def test_messages_of_failures_state_value_and_threshold():
    result = evaluate_eligibility(passing_facts(ecog=3, spo2_room_air_pct=90))
    assert result.details["IN6"].message == "ECOG 3 — needs 0-2"
    assert result.details["IN7.5"].message == "SpO₂ on room air 90 % — needs ≥ 92 %"
    assert re.search(r"— needs", result.details["IN7.5"].message)


# --------------------------------------------------------------------------------------------
# Settled readings of the registry text (months, overall result, steroid window, blood pressure,
# antigen positivity); bilirubin with unknown Gilbert's status is tested with IN7.2 above.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hsct, month_rule, expected",
    [
        (date(2025, 1, 1), "calendar", "pass"),  # same day of the month six months earlier
        (date(2025, 1, 2), "calendar", "fail"),
        (date(2024, 12, 30), "days_30_4375", "pass"),  # 183 days >= 6 x 30.4375 = 182.625
        (date(2024, 12, 31), "days_30_4375", "fail"),  # 182 days
        (date(2025, 1, 1), "days_30_4375", "fail"),  # calendar-eligible, 181 days
    ],
)
def test_six_months_before_is_calendar_months_by_default(hsct, month_rule, expected):
    facts = passing_facts(allo_hsct_last_date=hsct)
    assert status(facts, "EX5", month_rule=month_rule) == expected
    assert SETTINGS_DEFAULTS["month_rule"] == "calendar"


def test_calendar_months_clamp_to_the_end_of_a_shorter_month():
    facts = passing_facts(screening_date=date(2025, 8, 31), allo_hsct_last_date=date(2025, 2, 28))
    assert status(facts, "EX5") == "pass"
    assert status({**facts, "allo_hsct_last_date": date(2025, 3, 1)}, "EX5") == "fail"


def test_overall_result_fail_beats_missing_beats_pass():
    assert evaluate_eligibility(passing_facts()).eligible is True
    missing = passing_facts(total_bilirubin=None)
    assert evaluate_eligibility(missing).eligible is None
    failing = passing_facts(total_bilirubin=None, ecog=3)
    assert evaluate_eligibility(failing).eligible is False


@pytest.mark.parametrize("days_before_apheresis, expected", [(7, "fail"), (8, "pass"), (0, "pass")])
def test_steroid_window_is_days_minus_7_to_minus_1_before_apheresis(
    days_before_apheresis, expected
):
    taken = APHERESIS - timedelta(days=days_before_apheresis)
    course = {"drug": "prednisone", "daily_dose_mg": 70, "start_date": taken, "end_date": taken}
    assert status(passing_facts(steroid_courses=[course]), "EX2.1") == expected


def test_steroid_window_follows_the_planned_apheresis_date():
    taken = APHERESIS - timedelta(days=8)
    course = {"drug": "prednisone", "daily_dose_mg": 70, "start_date": taken, "end_date": taken}
    moved = passing_facts(steroid_courses=[course], planned_apheresis_date=APHERESIS - timedelta(1))
    assert status(moved, "EX2.1") == "fail"


@pytest.mark.parametrize(
    "readings, expected",
    [
        ([(128, 82)], "missing"),  # fewer than two readings
        ([(160, 90), (150, 90), (130, 90)], "pass"),  # mean of all three: 146.7
        ([(150, 90), (150, 90)], "fail"),  # mean exactly 150
        ([(150, 90), (149, 90)], "pass"),  # 149.5
    ],
)
def test_blood_pressure_is_the_mean_of_all_readings(readings, expected):
    facts = passing_facts(blood_pressure_readings_mmhg=readings)
    assert status(facts, "EX10.6") == expected


@pytest.mark.parametrize(
    "cll1_pct, cll1_call, cd38_call, expected",
    [
        (20, None, None, "pass"),  # percentage only: positive at >= 20 % of blasts
        (19.9, None, None, "fail"),
        (10, True, None, "pass"),  # the lab's call decides over the percentage
        (85, False, None, "fail"),
        (None, False, True, "pass"),
        (None, False, False, "fail"),
    ],
)
def test_antigen_positivity_is_the_labs_call_else_20_percent(
    cll1_pct, cll1_call, cd38_call, expected
):
    facts = passing_facts(
        cll1_positive_blasts_pct=cll1_pct,
        cd38_positive_blasts_pct=None if cd38_call is not None or cll1_pct is None else 5,
        cll1_positive=cll1_call,
        cd38_positive=cd38_call,
    )
    assert status(facts, "IN3") == expected
