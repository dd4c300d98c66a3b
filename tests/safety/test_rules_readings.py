"""The safety readings settled where CTCAE v5.0, ASTCT 2019 and the protocol are silent or
disagree: each at its boundary and one step past it."""

from __future__ import annotations

import pytest

from safety.rules import (
    BASELINE_NOT_RECORDED,
    DEFAULT_DLT_CRITERIA,
    AdverseEventFacts,
    BloodCount,
    DLTCriteria,
    assess_count_recovery,
    ctcae_lab_assessment,
    ctcae_lab_grade,
    dlt_candidate,
    evaluate_dlt_window,
    oxygen_category,
)

ALT = "Alanine aminotransferase increased"


def event(term=ALT, grade=3, hours=None, category="non_hematologic", day=5, **kwargs):
    return AdverseEventFacts(
        term=term,
        category=category,
        grade=grade,
        relatedness="possible",
        onset_study_day=day,
        hours_to_grade_2_or_less=hours,
        **kwargs,
    )


# -- oxygen ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "flow", "expected"),
    [
        ("high_flow_nasal_cannula", 2, "high_flow"),  # HFNC device whatever flow is charted
        ("nasal_cannula", 6, "low_flow"),
        ("nasal_cannula", 6.1, "high_flow"),
    ],
)
def test_hfnc_is_high_flow_whatever_the_flow_and_a_cannula_above_6_l(device, flow, expected):
    assert oxygen_category(device, flow) == expected


# -- haemoglobin in mmol/L ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rule", "expected"),
    [
        (6.2, "converted", 2),  # 10.0 g/dL x 0.6206 = 6.206: 6.2 is below it
        (6.206, "converted", 1),
        (6.2, "ctcae", 1),  # the printed 6.2 cut-off: 6.2 is not below it
        (6.19, "ctcae", 2),
    ],
)
def test_hemoglobin_in_mmol_l_converts_the_g_dl_cutoffs_by_default(value, rule, expected):
    grade = ctcae_lab_grade("Anemia", value, lln=7.5, unit="mmol/L", hemoglobin_mmol_l_cutoffs=rule)
    assert grade == expected


def test_hemoglobin_default_reading_is_convert():
    assert ctcae_lab_grade("Anemia", 6.2, lln=7.5, unit="mmol/L") == 2


# -- ">= LLN is grade 0" is for the grade-1 band only ----------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.95, 3),  # at/above a low LLN (0.9) but below the grade-3 cut-off 1.0
        (1.0, 2),  # at the grade-2 band's lower bound, above the LLN
        (1.5, 0),  # not below 1.5 and not below LLN
    ],
)
def test_fixed_cutoffs_apply_even_above_a_low_lln(value, expected):
    assert ctcae_lab_grade("Neutrophil count decreased", value, lln=0.9) == expected


# -- missing baseline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "value", "uln"),
    [
        (ALT, 120, 40),
        ("Aspartate aminotransferase increased", 120, 40),
        ("Blood bilirubin increased", 1.8, 1.2),
        ("Creatinine increased", 1.4, 1.2),
    ],
)
def test_missing_baseline_grades_against_normal_and_flags_it(term, value, uln):
    without = ctcae_lab_assessment(term, value, uln=uln)
    with_normal = ctcae_lab_assessment(term, value, uln=uln, baseline=uln)
    assert without.grade == with_normal.grade == ctcae_lab_grade(term, value, uln=uln)
    assert without.flags == (BASELINE_NOT_RECORDED,) and without.needs_query
    assert with_normal.flags == () and not with_normal.needs_query


def test_terms_without_baseline_criteria_are_not_flagged():
    result = ctcae_lab_assessment("Platelet count decreased", 40, lln=150)
    assert (result.grade, result.flags) == (3, ())


# -- DLT window ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("onset", "dlt"), [(28, True), (29, False)])
def test_dlt_window_runs_to_day_28_inclusive(onset, dlt):
    result = evaluate_dlt_window(
        events=[event(grade=4, day=onset)],
        as_of_day=40,
        count_recovery=[BloodCount(study_day=28, anc_10e9_l=1.0, platelets_10e9_l=50)],
    )
    assert result.dlt is dlt


# -- default DLT criteria ------------------------------------------------------------------------


def test_grade4_non_hematologic_is_a_dlt_regardless_of_duration():
    assert DEFAULT_DLT_CRITERIA.grade4_nonheme_always_dlt is True
    quick = dlt_candidate(event(grade=4, hours=1))
    assert (quick.is_candidate, quick.code) == (True, "non_hematologic_grade")
    lenient = DLTCriteria(grade4_nonheme_always_dlt=False)
    assert dlt_candidate(event(grade=4, hours=1), lenient).code == "resolved_in_time"
    assert dlt_candidate(event(grade=4, hours=73), lenient).is_candidate is True


@pytest.mark.parametrize(("hours", "dlt"), [(72, False), (73, True)])
def test_grade3_non_hematologic_resolving_within_72_h_inclusive_is_not_a_dlt(hours, dlt):
    assert dlt_candidate(event(hours=hours)).is_candidate is dlt


STRICT = DLTCriteria(non_hematologic_dlt_grade=3, non_hematologic_unresolved_dlt_grade=None)


@pytest.mark.parametrize(
    ("term", "hours", "dlt", "code"),
    [
        ("Hypokalemia", 72, False, "exempt_electrolyte"),
        ("hyponatremia", 24, False, "exempt_electrolyte"),
        ("Hypokalemia", 73, True, "non_hematologic_grade"),
        ("Hypokalemia", None, True, "non_hematologic_grade"),
        (ALT, 24, True, "non_hematologic_grade"),  # not an electrolyte: no exemption
    ],
)
def test_electrolytes_corrected_within_72_h_are_exempt_like_fever(term, hours, dlt, code):
    result = dlt_candidate(event(term, hours=hours), STRICT)
    assert (result.is_candidate, result.code) == (dlt, code)


def test_electrolyte_exemption_under_the_default_criteria():
    assert dlt_candidate(event("Hypokalemia", hours=72)).code == "exempt_electrolyte"
    assert dlt_candidate(event("Hypokalemia", hours=73)).code == "unresolved"
    assert dlt_candidate(event("Hypokalemia", grade=4, hours=1)).is_candidate is True


def test_dlt_criteria_round_trip_keeps_the_new_fields():
    stored = DEFAULT_DLT_CRITERIA.to_dict()
    assert stored["grade4_nonheme_always_dlt"] is True
    assert "Hypokalemia" in stored["electrolyte_terms"]
    assert stored["recovery_grace_days"] == 7
    assert DLTCriteria.from_dict(stored) == DEFAULT_DLT_CRITERIA
    with pytest.raises(ValueError, match="grade4_nonheme_always_dlt"):
        DLTCriteria(grade4_nonheme_always_dlt="yes")


# -- count recovery ------------------------------------------------------------------------------


@pytest.mark.parametrize(("as_of", "status"), [(35, "pending"), (36, "not_assessable")])
def test_count_recovery_without_a_usable_count_is_not_assessable_after_day_x_plus_7(as_of, status):
    late = [BloodCount(study_day=30, anc_10e9_l=2.0, platelets_10e9_l=90)]  # after Day 28
    result = assess_count_recovery(late, as_of_day=as_of)
    assert result.status == status
    assert result.hematologic_dlt is None


def test_not_assessable_count_recovery_keeps_the_window_open_with_the_reason():
    result = evaluate_dlt_window(events=[], as_of_day=40, count_recovery=[])
    assert result.count_recovery.status == "not_assessable"
    assert (result.status, result.dlt) == ("open", None)
    assert any("data query" in r for r in result.reasons)


HGB_RULE = DLTCriteria(recovery_hemoglobin_g_dl=8)


@pytest.mark.parametrize(
    ("hgb", "red_cells", "status"),
    [
        (8.0, False, "recovered"),
        (7.9, False, "not_recovered"),
        (8.0, True, "not_recovered"),  # within 7 days after red cells: does not count
    ],
)
def test_red_cell_transfusion_excludes_haemoglobin_like_platelets(hgb, red_cells, status):
    count = BloodCount(
        study_day=28,
        anc_10e9_l=1.0,
        platelets_10e9_l=50,
        hemoglobin_g_dl=hgb,
        red_cell_transfusion_within_7_days=red_cells,
    )
    assert assess_count_recovery([count], as_of_day=29, criteria=HGB_RULE).status == status


@pytest.mark.parametrize(
    ("plt", "transfused", "status"),
    [(20, False, "recovered"), (19, False, "not_recovered"), (20, True, "not_recovered")],
)
def test_platelet_recovery_threshold_and_transfusion(plt, transfused, status):
    count = BloodCount(
        study_day=28,
        anc_10e9_l=0.5,
        platelets_10e9_l=plt,
        platelet_transfusion_within_7_days=transfused,
    )
    assert assess_count_recovery([count], as_of_day=29).status == status


def test_counts_that_recovered_and_fell_again_by_day_x_are_not_recovered():
    counts = [
        BloodCount(study_day=22, anc_10e9_l=1.0, platelets_10e9_l=60),
        BloodCount(study_day=28, anc_10e9_l=0.4, platelets_10e9_l=60),
    ]
    assert assess_count_recovery(counts, as_of_day=29).status == "not_recovered"


@pytest.mark.parametrize(("day", "status"), [(21, "recovered"), (20, "not_assessable")])
def test_count_recovery_reads_the_last_count_in_days_x_minus_7_to_x(day, status):
    counts = [BloodCount(study_day=day, anc_10e9_l=1.0, platelets_10e9_l=60)]
    assert assess_count_recovery(counts, as_of_day=40).status == status


def test_cytopenias_do_not_feed_the_atd_trigger_but_haematologic_dlt_does():
    cytopenia = event("Neutrophil count decreased", grade=4, category="hematologic")
    recovered = [BloodCount(study_day=28, anc_10e9_l=1.0, platelets_10e9_l=50)]
    result = evaluate_dlt_window(events=[cytopenia], as_of_day=30, count_recovery=recovered)
    assert (result.max_related_grade, result.dlt) == (0, False)
    failed = [BloodCount(study_day=28, anc_10e9_l=0.1, platelets_10e9_l=50)]
    result = evaluate_dlt_window(events=[cytopenia], as_of_day=30, count_recovery=failed)
    assert result.dlt is True
