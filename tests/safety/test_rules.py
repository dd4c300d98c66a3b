"""Tests of safety.rules grading: ASTCT 2019 CRS/ICANS, CTCAE v5.0 labs, febrile neutropenia.

Golden cases come from shared/golden/CASES.md (sections D, E, F); ids are the case IDs.
Run: .venv/bin/python -m pytest -p no:django -p no:cacheprovider tests/safety -q
"""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety import rules
from safety.rules import (
    CONSCIOUSNESS_LEVELS,
    CTCAE_TERMS,
    HYPOTENSION_CATEGORIES,
    MOTOR_FINDINGS,
    OXYGEN_CATEGORIES,
    RAISED_ICP_FINDINGS,
    SEIZURE_TYPES,
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    crs_assessment,
    crs_episode_grade,
    crs_grade,
    ctcae_lab_grade,
    evaluate_dlt_window,
    febrile_neutropenia_grade,
    hypotension_category,
    hypotension_present,
    icans_grade,
    ice_score,
    oxygen_category,
    settings_for,
)

REPO = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=150, deadline=None)

NEU = "Neutrophil count decreased"
PLT = "Platelet count decreased"
HGB = "Anemia"
WBC = "White blood cell decreased"
LYM = "Lymphocyte count decreased"
ALT = "Alanine aminotransferase increased"
AST = "Aspartate aminotransferase increased"
BIL = "Blood bilirubin increased"
CRE = "Creatinine increased"


def test_it_imports_no_django():
    code = "import sys, safety.rules; assert 'django' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------
# CRS (CASES.md D)
# --------------------------------------------------------------------------------------------

CRS_CASES = [
    # id, Tmax, hypotension (bool, pressors), oxygen (device, flow), treated, expected
    ("CRS-01", 38.5, (False, ()), ("room_air", None), False, 1),
    ("CRS-02", 37.9, (False, ()), ("room_air", None), False, 0),
    ("CRS-03", 38.0, (False, ()), ("room_air", None), False, 1),
    ("CRS-04", 39.0, (True, ()), ("room_air", None), False, 2),
    ("CRS-05", 38.2, (False, ()), ("nasal_cannula", 4), False, 2),
    ("CRS-08", 38.6, (False, ()), ("blow_by", None), False, 2),
    ("CRS-09", 38.6, (False, ()), ("simple_face_mask", None), False, 3),
    ("CRS-12", 40.0, (False, ()), ("cpap", None), False, 4),
    ("CRS-13", 38.9, (True, ("norepinephrine",)), ("nasal_cannula", 2), False, 3),
    ("CRS-15", 37.2, (True, ("norepinephrine",)), ("room_air", None), False, 0),
]


@pytest.mark.parametrize(
    ("temp", "hypo", "oxy", "treated", "expected"),
    [case[1:] for case in CRS_CASES],
    ids=[case[0] for case in CRS_CASES],
)
def test_it_grades_golden_crs_cases(temp, hypo, oxy, treated, expected):
    hypotension = hypotension_category(hypotension=hypo[0], vasopressors=hypo[1])
    oxygen = oxygen_category(*oxy)
    grade = crs_grade(
        temperature_c=temp, hypotension=hypotension, oxygen=oxygen, fever_treated=treated
    )
    assert grade == expected


def test_it_flags_crs_15_signs_without_fever_for_review():
    result = crs_assessment(temperature_c=37.2, hypotension="one_vasopressor")
    assert result.grade == 0
    assert result.needs_review is True
    assert any("another cause" in r for r in result.reasons)


def test_it_takes_worst_daily_grade_for_the_episode_crs_16():
    assert crs_episode_grade([1, 2, 3, 2, 1]) == 3


def test_it_leaves_episode_grade_unknown_when_a_day_is_unknown():
    assert crs_episode_grade([1, None, 2]) is None
    assert crs_episode_grade([5, None]) == 5


@pytest.mark.parametrize(
    ("temp", "expected"), [(37.99, 0), (38.0, 1), (Decimal("37.9"), 0), (38, 1)]
)
def test_it_needs_fever_of_at_least_38(temp, expected):
    assert crs_grade(temperature_c=temp) == expected


def test_it_no_longer_needs_fever_once_crs_was_treated():
    assert crs_grade(temperature_c=37.0, fever_treated=True) == 1
    assert crs_grade(temperature_c=None, oxygen="high_flow", fever_treated=True) == 3


def test_it_returns_none_when_temperature_unknown_and_untreated():
    assert crs_grade(temperature_c=None, hypotension="one_vasopressor") is None


@pytest.mark.parametrize(
    ("device", "flow", "expected"),
    [
        ("room_air", None, "none"),
        ("room_air", 0, "none"),
        ("nasal_cannula", None, "low_flow"),
        ("nasal_cannula", 6, "low_flow"),
        ("nasal_cannula", 6.01, "high_flow"),
        ("high_flow_nasal_cannula", None, "high_flow"),
        ("high_flow_nasal_cannula", 40, "high_flow"),
        ("blow_by", None, "low_flow"),
        ("simple_face_mask", 5, "high_flow"),
        ("venturi_mask", None, "high_flow"),
        ("non_rebreather", 15, "high_flow"),
        ("cpap", None, "positive_pressure"),
        ("bipap", None, "positive_pressure"),
        ("mechanical_ventilation", None, "positive_pressure"),
    ],
)
def test_it_categorizes_oxygen_devices(device, flow, expected):
    assert oxygen_category(device, flow) == expected


@pytest.mark.parametrize(
    ("hypotension", "pressors", "expected"),
    [
        (False, (), "none"),
        (True, (), "no_vasopressor"),
        (True, ("vasopressin",), "one_vasopressor"),
        (True, ("norepinephrine", "vasopressin"), "one_vasopressor"),
        (True, ("norepinephrine", "phenylephrine"), "multiple_vasopressors"),
        (True, ("norepinephrine", "norepinephrine"), "one_vasopressor"),
        (False, ("Noradrenaline",), "one_vasopressor"),
        (True, "epinephrine", "one_vasopressor"),
    ],
)
def test_it_counts_vasopressors_as_astct_does(hypotension, pressors, expected):
    assert hypotension_category(hypotension=hypotension, vasopressors=pressors) == expected


@pytest.mark.parametrize(("sbp", "expected"), [(89, True), (90, False), (None, None)])
def test_it_reads_hypotension_as_sbp_below_90(sbp, expected):
    assert hypotension_present(systolic_bp_mmhg=sbp) is expected


def test_it_uses_the_study_sbp_threshold():
    assert hypotension_present(systolic_bp_mmhg=92, hypotension_sbp_below_mmhg=95) is True


@pytest.mark.parametrize(
    ("hypo", "oxy", "fio2", "temp", "expected"),
    [
        ("none", "none", None, 38.5, 1),
        ("no_vasopressor", "none", None, 37.0, 2),
        ("one_vasopressor", "none", None, 37.0, 3),
        ("multiple_vasopressors", "none", None, 38.5, 4),
        ("none", "low_flow", 35, 38.5, 2),
        ("none", "low_flow", 40, 38.5, 3),
        ("none", "positive_pressure", None, 38.5, 4),
        ("none", "high_flow", None, 38.5, None),
    ],
)
def test_it_grades_crs_with_ctcae_when_the_study_says_so(hypo, oxy, fio2, temp, expected):
    grade = crs_grade(
        temperature_c=temp,
        hypotension=hypo,
        oxygen=oxy,
        fio2_percent=fio2,
        crs_icans_scale="CTCAE5",
    )
    assert grade == expected


_HYPO_RANK = {c: i for i, c in enumerate(HYPOTENSION_CATEGORIES)}
_OXY_RANK = {c: i for i, c in enumerate(OXYGEN_CATEGORIES)}


@FAST
@given(
    temp=st.one_of(st.none(), st.decimals(min_value=35, max_value=41, places=1)),
    treated=st.booleans(),
    h1=st.sampled_from(HYPOTENSION_CATEGORIES),
    h2=st.sampled_from(HYPOTENSION_CATEGORIES),
    o1=st.sampled_from(OXYGEN_CATEGORIES),
    o2=st.sampled_from(OXYGEN_CATEGORIES),
)
def test_it_never_lowers_crs_grade_as_hypotension_or_oxygen_worsens(temp, treated, h1, h2, o1, o2):
    if _HYPO_RANK[h1] > _HYPO_RANK[h2]:
        h1, h2 = h2, h1
    if _OXY_RANK[o1] > _OXY_RANK[o2]:
        o1, o2 = o2, o1
    milder = crs_grade(temperature_c=temp, hypotension=h1, oxygen=o1, fever_treated=treated)
    worse = crs_grade(temperature_c=temp, hypotension=h2, oxygen=o2, fever_treated=treated)
    if milder is None or worse is None:
        assert milder is None and worse is None
        return
    assert 0 <= milder <= worse <= 4


# --------------------------------------------------------------------------------------------
# ICE and ICANS (CASES.md E)
# --------------------------------------------------------------------------------------------

ICE_ITEMS = ("orientation", "naming", "commands", "writing", "attention")
ICE_CASES = [
    ("ICE-01", (4, 3, 1, 1, 1), 10),
    ("ICE-03", (1, 1, 1, 0, 0), 3),
    ("ICE-04", (0, 0, 0, 0, 0), 0),
]


@pytest.mark.parametrize(
    ("items", "expected"), [c[1:] for c in ICE_CASES], ids=[c[0] for c in ICE_CASES]
)
def test_it_scores_golden_ice_cases(items, expected):
    assert ice_score(**dict(zip(ICE_ITEMS, items, strict=True))) == expected


def test_it_accepts_checkbox_answers_for_one_point_ice_items():
    assert ice_score(orientation=4, naming=3, commands=True, writing=False, attention=True) == 9


ICANS_CASES = [
    ("ICANS-01", 10, "awake", "none", "none", "none", 0),
    ("ICANS-02", 9, "awakens_spontaneously", "none", "none", "none", 1),
    ("ICANS-03", 7, "awakens_to_voice", "none", "none", "none", 2),
    ("ICANS-04", 6, "awake", "none", "none", "none", 2),
    ("ICANS-05", 3, "awake", "resolved_rapidly", "none", "none", 3),
    ("ICANS-06", 2, "awake", "none", "none", "none", 3),
    ("ICANS-08", 0, "unarousable", "none", "none", "none", 4),
    ("ICANS-09", 8, "awake", "none", "none", "focal_edema", 3),
    ("ICANS-10", 8, "awake", "none", "deep_focal_weakness", "none", 4),
    ("ICANS-11", 8, "awake", "prolonged_or_repetitive", "none", "none", 4),
]


@pytest.mark.parametrize(
    ("ice", "loc", "seizure", "motor", "icp", "expected"),
    [c[1:] for c in ICANS_CASES],
    ids=[c[0] for c in ICANS_CASES],
)
def test_it_grades_golden_icans_cases(ice, loc, seizure, motor, icp, expected):
    grade = icans_grade(
        ice_score=ice, consciousness=loc, seizure=seizure, motor=motor, raised_icp=icp
    )
    assert grade == expected


@pytest.mark.parametrize(
    ("ice", "expected"), [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)]
)
def test_it_grades_each_side_of_the_ice_bands(ice, expected):
    assert icans_grade(ice_score=ice) == expected


def test_it_grades_from_other_domains_when_ice_is_not_assessable():
    assert icans_grade(ice_score=None) == 0
    assert icans_grade(ice_score=None, seizure="resolved_rapidly") == 3
    assert icans_grade(ice_score=None, consciousness="unarousable") == 4


@FAST
@given(
    ice=st.one_of(st.none(), st.integers(0, 10)),
    loc=st.sampled_from(list(CONSCIOUSNESS_LEVELS)),
    seizure=st.sampled_from(list(SEIZURE_TYPES)),
    motor=st.sampled_from(list(MOTOR_FINDINGS)),
    icp=st.sampled_from(list(RAISED_ICP_FINDINGS)),
)
def test_it_takes_the_worst_icans_domain_and_never_less_than_any(ice, loc, seizure, motor, icp):
    if loc == "unarousable" and ice is not None:
        ice = 0  # an unarousable patient scores 0
    grade = icans_grade(
        ice_score=ice, consciousness=loc, seizure=seizure, motor=motor, raised_icp=icp
    )
    domains = [
        icans_grade(ice_score=ice),
        CONSCIOUSNESS_LEVELS[loc],
        SEIZURE_TYPES[seizure],
        MOTOR_FINDINGS[motor],
        RAISED_ICP_FINDINGS[icp],
    ]
    assert grade == max(domains)


@FAST
@given(a=st.integers(0, 10), b=st.integers(0, 10))
def test_it_never_lowers_icans_grade_as_the_ice_score_falls(a, b):
    lower, higher = min(a, b), max(a, b)
    assert icans_grade(ice_score=lower) >= icans_grade(ice_score=higher)


# --------------------------------------------------------------------------------------------
# CTCAE v5.0 labs (CASES.md F)
# --------------------------------------------------------------------------------------------

NEU_CASES = [
    ("NEU-01", 1.9, 0),
    ("NEU-02", 1.6, 1),
    ("NEU-04", 1.49, 2),
    ("NEU-05", 1.0, 2),
    ("NEU-06", 0.99, 3),
    ("NEU-07", 0.5, 3),
    ("NEU-08", 0.49, 4),
]


@pytest.mark.parametrize(
    ("anc", "expected"), [c[1:] for c in NEU_CASES], ids=[c[0] for c in NEU_CASES]
)
def test_it_grades_golden_neutrophil_cases(anc, expected):
    assert ctcae_lab_grade(NEU, anc, lln=1.8) == expected


PLT_CASES = [(130, 0), (100, 1), (75, 1), (50, 2), (49, 3), (25, 3), (24, 4)]


@pytest.mark.parametrize(("plt", "expected"), PLT_CASES, ids=[f"PLT-{v}" for v, _ in PLT_CASES])
def test_it_grades_golden_platelet_cases(plt, expected):
    assert ctcae_lab_grade(PLT, plt, lln=125) == expected


HGB_CASES = [(12.5, 0), (11.0, 1), (10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3)]


@pytest.mark.parametrize(("hgb", "expected"), HGB_CASES, ids=[f"HGB-{v}" for v, _ in HGB_CASES])
def test_it_grades_golden_anemia_cases(hgb, expected):
    assert ctcae_lab_grade(HGB, hgb, lln=12.0) == expected


def test_it_never_gives_anemia_grade_4_from_the_lab_value():
    assert ctcae_lab_grade(HGB, 3.0, lln=12.0) == 3


ALT_CASES = [
    ("ALT-01", 30, 40, 0),
    ("ALT-02", 30, 120, 1),
    ("ALT-03", 30, 121, 2),
    ("ALT-04", 30, 200, 2),
    ("ALT-05", 30, 201, 3),
    ("ALT-06", 30, 800, 3),
    ("ALT-07", 30, 801, 4),
    ("ALT-08", 80, 100, 0),
    ("ALT-09", 80, 120, 1),
]


@pytest.mark.parametrize(
    ("baseline", "value", "expected"), [c[1:] for c in ALT_CASES], ids=[c[0] for c in ALT_CASES]
)
def test_it_grades_golden_alt_cases(baseline, value, expected):
    assert ctcae_lab_grade(ALT, value, uln=40, baseline=baseline) == expected
    assert ctcae_lab_grade(AST, value, uln=40, baseline=baseline) == expected


BIL_CASES = [
    ("BIL-01", 0.8, 1.8, 1),
    ("BIL-02", 0.8, 1.81, 2),
    ("BIL-03", 0.8, 3.6, 2),
    ("BIL-04", 0.8, 3.61, 3),
    ("BIL-05", 0.8, 12.01, 4),
    ("BIL-06", 2.0, 1.9, 0),
    ("BIL-07", 2.0, 2.5, 1),
]


@pytest.mark.parametrize(
    ("baseline", "value", "expected"), [c[1:] for c in BIL_CASES], ids=[c[0] for c in BIL_CASES]
)
def test_it_grades_golden_bilirubin_cases(baseline, value, expected):
    assert ctcae_lab_grade(BIL, value, uln=1.2, baseline=baseline) == expected


CRE_CASES = [
    ("CRE-01", 0.9, 1.2, "literal", 1),
    ("CRE-03-literal", 0.6, 1.0, "literal", 2),
    ("CRE-03-only_above_uln", 0.6, 1.0, "only_above_uln", 0),
    ("CRE-04", 1.0, 3.4, "literal", 3),
    ("CRE-05", 1.0, 6.7, "literal", 4),
]


@pytest.mark.parametrize(
    ("baseline", "value", "rule", "expected"),
    [c[1:] for c in CRE_CASES],
    ids=[c[0] for c in CRE_CASES],
)
def test_it_grades_golden_creatinine_cases(baseline, value, rule, expected):
    grade = ctcae_lab_grade(CRE, value, uln=1.1, baseline=baseline, creatinine_baseline_rule=rule)
    assert grade == expected


# Each side of every threshold, in the default unit (cut-offs as CTCAE v5.0 prints them).
DECREASING_SPEC = {
    NEU: [("1.5", 2), ("1.0", 3), ("0.5", 4)],
    PLT: [("75", 2), ("50", 3), ("25", 4)],
    WBC: [("3.0", 2), ("2.0", 3), ("1.0", 4)],
    LYM: [("0.8", 2), ("0.5", 3), ("0.2", 4)],
    HGB: [("10.0", 2), ("8.0", 3)],
}


@pytest.mark.parametrize(
    ("term", "cutoff", "grade_below"),
    [(t, c, g) for t, spec in DECREASING_SPEC.items() for c, g in spec],
    ids=[f"{t}<{c}" for t, spec in DECREASING_SPEC.items() for c, g in spec],
)
def test_it_puts_decreasing_cutoffs_in_the_milder_grade(term, cutoff, grade_below):
    cut = Decimal(cutoff)
    lln = cut * 10  # an LLN well above every cut-off
    assert ctcae_lab_grade(term, cut, lln=lln) == grade_below - 1
    assert ctcae_lab_grade(term, float(cut - Decimal("0.01")), lln=lln) == grade_below


@pytest.mark.parametrize("term", list(DECREASING_SPEC))
def test_it_needs_the_lln_for_grade_1_of_a_decreasing_term(term):
    grade2_cutoff = Decimal(DECREASING_SPEC[term][0][0])
    lln = grade2_cutoff + 1
    assert ctcae_lab_grade(term, lln, lln=lln) == 0
    assert ctcae_lab_grade(term, lln - Decimal("0.01"), lln=lln) == 1
    assert ctcae_lab_grade(term, grade2_cutoff, lln=None) is None
    assert ctcae_lab_grade(term, grade2_cutoff - Decimal("0.01"), lln=None) == 2


INCREASING_SPEC = {
    ALT: [("3.0", 2), ("5.0", 3), ("20.0", 4)],
    AST: [("3.0", 2), ("5.0", 3), ("20.0", 4)],
    BIL: [("1.5", 2), ("3.0", 3), ("10.0", 4)],
    CRE: [("1.5", 2), ("3.0", 3), ("6.0", 4)],
}


@pytest.mark.parametrize(
    ("term", "multiple", "grade_above"),
    [(t, m, g) for t, spec in INCREASING_SPEC.items() for m, g in spec],
    ids=[f"{t}>{m}xULN" for t, spec in INCREASING_SPEC.items() for m, g in spec],
)
def test_it_puts_uln_multiples_in_the_milder_grade(term, multiple, grade_above):
    uln = Decimal("1.2")
    at = Decimal(multiple) * uln
    assert ctcae_lab_grade(term, float(at), uln=float(uln)) == grade_above - 1
    assert ctcae_lab_grade(term, float(at + Decimal("0.01")), uln=float(uln)) == grade_above


@pytest.mark.parametrize("term", list(INCREASING_SPEC))
def test_it_starts_grade_1_just_above_uln(term):
    assert ctcae_lab_grade(term, 40, uln=40) == 0
    assert ctcae_lab_grade(term, 40.01, uln=40) == 1
    assert ctcae_lab_grade(term, 400, uln=None) is None


@pytest.mark.parametrize(
    ("term", "multiples"),
    [
        (ALT, [("3.0", 2), ("5.0", 3), ("20.0", 4)]),
        (BIL, [("1.5", 2), ("3.0", 3), ("10.0", 4)]),
    ],
)
def test_it_uses_multiples_of_an_abnormal_baseline(term, multiples):
    uln, baseline = Decimal(40), Decimal(60)
    for multiple, grade in multiples:
        at = Decimal(multiple) * baseline
        assert ctcae_lab_grade(term, at, uln=uln, baseline=baseline) == grade - 1
        assert ctcae_lab_grade(term, at + 1, uln=uln, baseline=baseline) == grade


def test_it_starts_alt_grade_1_at_1_5_times_abnormal_baseline_inclusive():
    assert ctcae_lab_grade(ALT, 89.99, uln=40, baseline=60) == 0
    assert ctcae_lab_grade(ALT, 90, uln=40, baseline=60) == 1


def test_it_starts_bilirubin_grade_1_just_above_abnormal_baseline():
    assert ctcae_lab_grade(BIL, 2.0, uln=1.2, baseline=2.0) == 0
    assert ctcae_lab_grade(BIL, 2.01, uln=1.2, baseline=2.0) == 1


def test_it_treats_baseline_equal_to_uln_as_normal():
    assert ctcae_lab_grade(ALT, 41, uln=40, baseline=40) == 1


@pytest.mark.parametrize(("value", "expected"), [(0.9, 0), (0.91, 2), (1.8, 2), (1.81, 3)])
def test_it_grades_creatinine_against_baseline_literally(value, expected):
    assert ctcae_lab_grade(CRE, value, uln=1.1, baseline=0.6) == expected


def test_it_needs_uln_for_creatinine_even_with_a_baseline():
    assert ctcae_lab_grade(CRE, 5.0, uln=None, baseline=1.0) is None


@pytest.mark.parametrize(
    ("term", "value", "unit", "lln", "expected"),
    [
        (NEU, 1500, "/mm3", 1800, 1),
        (NEU, 1499, "/mm3", 1800, 2),
        (NEU, 499, "/uL", 1800, 4),
        (NEU, 0.5, "10^3/uL", 1.8, 3),
        (PLT, 50000, "/µL", 150000, 2),
        (PLT, 49999, "/mm3", 150000, 3),
        (HGB, 80, "g/L", 120, 2),
        (HGB, 79, "g/L", 120, 3),
        (HGB, 100, "g/L", 120, 1),
        # mmol/L default "converted": 10.0 and 8.0 g/dL x 0.6206 = 6.206 and 4.9648 mmol/L.
        (HGB, 4.9648, "mmol/L", 7.4, 2),
        (HGB, 4.9, "mmol/L", 7.4, 3),
        (HGB, 6.206, "mmol/L", 7.4, 1),
        (HGB, 6.2, "mmol/L", 7.4, 2),
    ],
)
def test_it_converts_the_cutoffs_to_the_reporting_unit(term, value, unit, lln, expected):
    assert ctcae_lab_grade(term, value, lln=lln, unit=unit) == expected


def test_it_can_use_the_rounded_ctcae_hemoglobin_mmol_cutoffs():
    # 8.0 g/dL x 0.6206 = 4.9648 mmol/L (default, "converted"); CTCAE prints 4.9.
    assert ctcae_lab_grade(HGB, 4.96, lln=7.4, unit="mmol/L") == 3
    rounded = {"lln": 7.4, "unit": "mmol/L", "hemoglobin_mmol_l_cutoffs": "ctcae"}
    assert ctcae_lab_grade(HGB, 4.96, **rounded) == 2
    assert ctcae_lab_grade(HGB, 4.9, **rounded) == 2
    assert ctcae_lab_grade(HGB, 6.2, **rounded) == 1
    assert ctcae_lab_grade(HGB, 4.9648, lln=7.4, unit="mmol/L") == 2


def test_it_grades_bilirubin_and_creatinine_in_umol_l_like_mg_dl():
    # ULN 1.2 mg/dL = 20.52 umol/L; 1.5 x ULN = 30.78 umol/L.
    assert ctcae_lab_grade(BIL, 30.78, uln=20.52, baseline=13.68, unit="umol/L") == 1
    assert ctcae_lab_grade(BIL, 30.79, uln=20.52, baseline=13.68, unit="umol/L") == 2
    assert ctcae_lab_grade(CRE, 300.56, uln=97.24, baseline=88.4, unit="umol/L") == 3


def test_it_compares_in_decimal_so_float_products_do_not_flip_a_boundary():
    assert 1.5 * 1.2 != 1.8  # the binary floating-point trap of BIL-01
    assert ctcae_lab_grade(BIL, 1.8, uln=1.2) == 1
    assert ctcae_lab_grade(BIL, Decimal("1.8"), uln=Decimal("1.2")) == 1
    assert ctcae_lab_grade(CRE, 3.3, uln=1.1) == 2  # 3 x 1.1 = 3.3000000000000003 in float


def test_it_returns_none_for_an_unknown_value():
    assert ctcae_lab_grade(NEU, None, lln=1.8) is None


def test_it_matches_terms_case_insensitively_and_exports_meddra_codes():
    assert ctcae_lab_grade("neutrophil count decreased", 0.4) == 4
    assert CTCAE_TERMS[NEU].meddra_llt_code == 10029366
    assert CTCAE_TERMS[PLT].code_to_verify is True
    assert CTCAE_TERMS[ALT].direction == "increased"
    assert CTCAE_TERMS[HGB].default_unit == "g/dL"


def _worse(term, a, b):
    """Order two values so the first is the worse one for the term's direction."""
    if CTCAE_TERMS[term].direction == "decreased":
        return (min(a, b), max(a, b))
    return (max(a, b), min(a, b))


values = st.decimals(min_value=0, max_value=2000, places=2)


@FAST
@given(
    term=st.sampled_from(list(CTCAE_TERMS)),
    a=values,
    b=values,
    limit=st.decimals(min_value=Decimal("0.5"), max_value=300, places=1),
    baseline=st.one_of(st.none(), st.decimals(min_value=Decimal("0.1"), max_value=500, places=1)),
    with_limit=st.booleans(),
    rule=st.sampled_from(SETTINGS_CHOICES["creatinine_baseline_rule"]),
)
def test_it_never_lowers_a_lab_grade_as_the_value_worsens(
    term, a, b, limit, baseline, with_limit, rule
):
    worse, better = _worse(term, a, b)
    kwargs = {"baseline": baseline, "creatinine_baseline_rule": rule}
    if CTCAE_TERMS[term].direction == "decreased":
        kwargs["lln"] = limit if with_limit else None
    else:
        kwargs["uln"] = limit
    g_worse = ctcae_lab_grade(term, worse, **kwargs)
    g_better = ctcae_lab_grade(term, better, **kwargs)
    if g_better is not None and g_worse is not None:
        assert g_worse >= g_better
    if g_worse is None:  # only the ungradable grade-1 band of a decreasing term without LLN
        assert g_better is None
    assert {g_worse, g_better} <= {None, 0, 1, 2, 3, 4}


@FAST
@given(
    term=st.sampled_from([NEU, PLT, WBC, LYM]),
    value=st.decimals(min_value=0, max_value=200, places=3),
    lln=st.decimals(min_value=Decimal("0.5"), max_value=200, places=3),
)
def test_it_gives_the_same_count_grade_in_any_count_unit(term, value, lln):
    assert ctcae_lab_grade(term, value, lln=lln) == ctcae_lab_grade(
        term, value * 1000, lln=lln * 1000, unit="/mm3"
    )


@FAST
@given(
    value=st.decimals(min_value=0, max_value=20, places=2),
    lln=st.decimals(min_value=10, max_value=14, places=1),
)
def test_it_gives_the_same_hemoglobin_grade_in_g_dl_and_g_l(value, lln):
    assert ctcae_lab_grade(HGB, value, lln=lln) == ctcae_lab_grade(
        HGB, value * 10, lln=lln * 10, unit="g/L"
    )


# --------------------------------------------------------------------------------------------
# Febrile neutropenia (CASES.md F)
# --------------------------------------------------------------------------------------------

FN_CASES = [
    ("FN-01", 0.8, 38.5, None, 3),
    ("FN-02", 0.8, 38.1, 90, 3),
    ("FN-03", 0.8, 38.1, None, 0),
    ("FN-04", 1.2, 39.0, None, 0),
]


@pytest.mark.parametrize(
    ("anc", "temp", "minutes", "expected"), [c[1:] for c in FN_CASES], ids=[c[0] for c in FN_CASES]
)
def test_it_grades_golden_febrile_neutropenia_cases(anc, temp, minutes, expected):
    grade = febrile_neutropenia_grade(
        anc_10e9_l=anc, max_temperature_c=temp, minutes_at_or_above_38=minutes
    )
    assert grade == expected


@pytest.mark.parametrize(
    ("anc", "temp", "minutes", "expected"),
    [
        (0.99, 38.31, None, 3),
        (1.0, 38.31, None, 0),
        (0.99, 38.3, None, 0),
        (0.99, 38.0, 61, 3),
        (0.99, 38.0, 60, 0),
        (0.99, 37.99, 120, 0),
    ],
)
def test_it_applies_each_febrile_neutropenia_threshold(anc, temp, minutes, expected):
    grade = febrile_neutropenia_grade(
        anc_10e9_l=anc, max_temperature_c=temp, minutes_at_or_above_38=minutes
    )
    assert grade == expected


def test_it_leaves_febrile_neutropenia_open_only_when_the_unknown_matters():
    assert febrile_neutropenia_grade(anc_10e9_l=None, max_temperature_c=39) is None
    assert febrile_neutropenia_grade(anc_10e9_l=None, max_temperature_c=37) == 0
    assert febrile_neutropenia_grade(anc_10e9_l=0.2, max_temperature_c=None) is None
    assert febrile_neutropenia_grade(anc_10e9_l=1.5, max_temperature_c=None) == 0


@FAST
@given(
    anc=st.decimals(min_value=0, max_value=5, places=2),
    temp=st.decimals(min_value=36, max_value=41, places=1),
    minutes=st.one_of(st.none(), st.integers(0, 600)),
)
def test_it_never_grades_febrile_neutropenia_4_or_5_from_labs_and_vitals(anc, temp, minutes):
    grade = febrile_neutropenia_grade(
        anc_10e9_l=anc, max_temperature_c=temp, minutes_at_or_above_38=minutes
    )
    assert grade in (0, 3)
    if anc >= 1:
        assert grade == 0


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def test_it_lists_every_setting_with_its_rules_md_default():
    assert SETTINGS_DEFAULTS == {
        "crs_icans_scale": "ASTCT2019",
        "hypotension_sbp_below_mmhg": 90,
        "creatinine_baseline_rule": "literal",
        "hemoglobin_mmol_l_cutoffs": "converted",
        "dlt_window_days": 28,
    }
    for name, choices in SETTINGS_CHOICES.items():
        assert SETTINGS_DEFAULTS[name] in choices


def test_it_passes_a_studys_settings_straight_through():
    study = {
        "creatinine_baseline_rule": "only_above_uln",
        "crs_icans_scale": "ASTCT2019",
        "cri_rule": "inclusive",  # an efficacy setting: ignored here
    }
    grade = ctcae_lab_grade(CRE, 1.0, uln=1.1, baseline=0.6, **settings_for(ctcae_lab_grade, study))
    assert grade == 0
    assert settings_for(crs_grade, study) == {"crs_icans_scale": "ASTCT2019"}
    assert settings_for(evaluate_dlt_window, {"dlt_window_days": 21}) == {"dlt_window_days": 21}


def test_it_refuses_an_unknown_setting_choice():
    with pytest.raises(ValueError, match="creatinine_baseline_rule"):
        settings_for(ctcae_lab_grade, {"creatinine_baseline_rule": "admiral"})


# --------------------------------------------------------------------------------------------
# Bad input: ValueError naming the parameter (and the allowed values)
# --------------------------------------------------------------------------------------------

BAD_INPUTS = [
    ("device", lambda: oxygen_category("helmet")),
    ("flow_l_min", lambda: oxygen_category("nasal_cannula", -1)),
    ("flow_l_min", lambda: oxygen_category("room_air", 2)),
    ("hypotension", lambda: hypotension_category(hypotension=None)),
    ("vasopressors", lambda: hypotension_category(hypotension=True, vasopressors=["dobutamine"])),
    ("systolic_bp_mmhg", lambda: hypotension_present(systolic_bp_mmhg=-5)),
    ("hypotension", lambda: crs_grade(temperature_c=39, hypotension="pressors")),
    ("oxygen", lambda: crs_grade(temperature_c=39, oxygen="nasal_cannula")),
    ("temperature_c", lambda: crs_grade(temperature_c=380)),
    ("temperature_c", lambda: crs_grade(temperature_c="38.5")),
    ("crs_icans_scale", lambda: crs_grade(temperature_c=39, crs_icans_scale="Penn")),
    ("fio2_percent", lambda: crs_grade(temperature_c=39, fio2_percent=120)),
    ("fever_treated", lambda: crs_grade(temperature_c=39, fever_treated="yes")),
    ("daily_grades", lambda: crs_episode_grade([])),
    ("daily_grades", lambda: crs_episode_grade([1, 6])),
    ("orientation", lambda: ice_score(orientation=5, naming=3, commands=1, writing=1, attention=1)),
    ("naming", lambda: ice_score(orientation=4, naming=-1, commands=1, writing=1, attention=1)),
    ("commands", lambda: ice_score(orientation=4, naming=3, commands=2, writing=1, attention=1)),
    ("writing", lambda: ice_score(orientation=4, naming=3, commands=1, writing=0.5, attention=1)),
    ("attention", lambda: ice_score(orientation=4, naming=3, commands=1, writing=1, attention=9)),
    ("ice_score", lambda: icans_grade(ice_score=11)),
    ("ice_score", lambda: icans_grade(ice_score=5, consciousness="unarousable")),
    ("consciousness", lambda: icans_grade(ice_score=10, consciousness="drowsy")),
    ("seizure", lambda: icans_grade(ice_score=10, seizure="status")),
    ("motor", lambda: icans_grade(ice_score=10, motor="tremor")),
    ("raised_icp", lambda: icans_grade(ice_score=10, raised_icp="hemorrhage")),
    ("crs_icans_scale", lambda: icans_grade(ice_score=10, crs_icans_scale="CTCAE5")),
    ("term", lambda: ctcae_lab_grade("Hyponatremia", 120)),
    ("unit", lambda: ctcae_lab_grade(NEU, 1.0, unit="mg/dL")),
    ("unit", lambda: ctcae_lab_grade(BIL, 1.0, uln=1.2, unit="g/L")),
    ("value", lambda: ctcae_lab_grade(NEU, -0.1)),
    ("value", lambda: ctcae_lab_grade(NEU, "low")),
    ("value", lambda: ctcae_lab_grade(NEU, True)),
    ("value", lambda: ctcae_lab_grade(NEU, float("nan"))),
    ("lln", lambda: ctcae_lab_grade(NEU, 1.0, lln=0)),
    ("uln", lambda: ctcae_lab_grade(ALT, 50, uln=-40)),
    ("baseline", lambda: ctcae_lab_grade(ALT, 50, uln=40, baseline=-1)),
    ("baseline", lambda: ctcae_lab_grade(CRE, 1.0, uln=1.1, baseline=0)),
    (
        "creatinine_baseline_rule",
        lambda: ctcae_lab_grade(CRE, 1.0, uln=1.1, creatinine_baseline_rule="admiral"),
    ),
    (
        "hemoglobin_mmol_l_cutoffs",
        lambda: ctcae_lab_grade(HGB, 5, unit="mmol/L", hemoglobin_mmol_l_cutoffs="si"),
    ),
    ("anc_10e9_l", lambda: febrile_neutropenia_grade(anc_10e9_l=-1, max_temperature_c=39)),
    ("max_temperature_c", lambda: febrile_neutropenia_grade(anc_10e9_l=0.1, max_temperature_c=99)),
    (
        "minutes_at_or_above_38",
        lambda: febrile_neutropenia_grade(
            anc_10e9_l=0.1, max_temperature_c=38.1, minutes_at_or_above_38=-5
        ),
    ),
]


@pytest.mark.parametrize(
    ("parameter", "call"), BAD_INPUTS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD_INPUTS)]
)
def test_it_refuses_impossible_input_naming_the_parameter(parameter, call):
    with pytest.raises(ValueError, match=parameter):
        call()


def test_it_lists_the_allowed_values_when_refusing_a_choice():
    with pytest.raises(ValueError) as excinfo:
        ctcae_lab_grade("Hyponatremia", 120)
    message = str(excinfo.value)
    for term in CTCAE_TERMS:
        assert term in message
    with pytest.raises(ValueError, match="'/mm3'"):
        ctcae_lab_grade(NEU, 1.0, unit="cells")
    with pytest.raises(ValueError, match="'mechanical_ventilation'"):
        oxygen_category("helmet")


def test_module_exports_what_it_documents():
    for name in rules.__all__:
        assert hasattr(rules, name), name
