"""Independent review tests of safety.rules: boundaries and combinations the golden table
(shared/golden/CASES.md D-F) does not cover. Every expected value is derived by hand from
shared/domain/RULES.md §2 (ASTCT 2019 CRS/ICANS), §3 (CTCAE v5.0, boundary semantics §3.3,
baseline-abnormal rules §3.4) and §4.1 (28-day DLT window), not from the implementation.

Run: .venv/bin/python -m pytest -p no:django -p no:cacheprovider tests/safety -q
"""

from decimal import Decimal

import pytest

from safety.rules import (
    AdverseEventFacts,
    BloodCount,
    crs_grade,
    ctcae_lab_grade,
    evaluate_dlt_window,
    hypotension_category,
    icans_grade,
    ice_score,
    oxygen_category,
)

NEU = "Neutrophil count decreased"
PLT = "Platelet count decreased"
HGB = "Anemia"
WBC = "White blood cell decreased"
LYM = "Lymphocyte count decreased"
ALT = "Alanine aminotransferase increased"
AST = "Aspartate aminotransferase increased"
BIL = "Blood bilirubin increased"
CRE = "Creatinine increased"

D = Decimal


def case(case_id, *values):
    return pytest.param(*values, id=case_id)


# ---------------------------------------------------------------------------------------------
# ASTCT oxygen: every device x flow boundary (RULES.md §2.1)
# ---------------------------------------------------------------------------------------------

OXYGEN_CASES = [
    case("room-air-no-flow", "room_air", None, "none", 1),
    case("room-air-0.0", "room_air", 0.0, "none", 1),
    case("nc-no-flow-is-low", "nasal_cannula", None, "low_flow", 2),
    case("nc-0.5", "nasal_cannula", 0.5, "low_flow", 2),
    case("nc-6-int", "nasal_cannula", 6, "low_flow", 2),
    case("nc-6.0-float", "nasal_cannula", 6.0, "low_flow", 2),
    case("nc-6.00-decimal", "nasal_cannula", D("6.00"), "low_flow", 2),
    case("nc-6.1", "nasal_cannula", 6.1, "high_flow", 3),
    case("nc-6.01-decimal", "nasal_cannula", D("6.01"), "high_flow", 3),
    case("nc-15", "nasal_cannula", 15, "high_flow", 3),
    case("hfnc-no-flow", "high_flow_nasal_cannula", None, "high_flow", 3),
    case("hfnc-6.1", "high_flow_nasal_cannula", 6.1, "high_flow", 3),
    case("hfnc-60", "high_flow_nasal_cannula", 60, "high_flow", 3),
    case("hfnc-charted-6.0-stays-high", "high_flow_nasal_cannula", 6.0, "high_flow", 3),
    case("hfnc-charted-4-stays-high", "high_flow_nasal_cannula", 4, "high_flow", 3),
    case("blow-by-no-flow", "blow_by", None, "low_flow", 2),
    case("blow-by-6.0", "blow_by", 6.0, "low_flow", 2),
    case("blow-by-6.1-still-low", "blow_by", 6.1, "low_flow", 2),
    case("face-mask-no-flow", "simple_face_mask", None, "high_flow", 3),
    case("face-mask-6.0", "simple_face_mask", 6.0, "high_flow", 3),
    case("face-mask-6.1", "simple_face_mask", 6.1, "high_flow", 3),
    case("venturi-4", "venturi_mask", 4, "high_flow", 3),
    case("venturi-6.1", "venturi_mask", 6.1, "high_flow", 3),
    case("non-rebreather-6.0", "non_rebreather", 6.0, "high_flow", 3),
    case("non-rebreather-15", "non_rebreather", 15, "high_flow", 3),
    case("cpap-no-flow", "cpap", None, "positive_pressure", 4),
    case("cpap-6.0", "cpap", 6.0, "positive_pressure", 4),
    case("bipap-6.1", "bipap", 6.1, "positive_pressure", 4),
    case("mech-vent-no-flow", "mechanical_ventilation", None, "positive_pressure", 4),
    case("mixed-case-device", " Nasal_Cannula ", 6.1, "high_flow", 3),
]


@pytest.mark.parametrize(("device", "flow", "category", "crs"), OXYGEN_CASES)
def test_review_oxygen_device_and_flow_give_astct_category_and_crs_grade(
    device, flow, category, crs
):
    assert oxygen_category(device, flow) == category
    assert crs_grade(temperature_c=38.5, oxygen=category) == crs


@pytest.mark.parametrize(
    ("device", "flow"),
    [
        case("room-air-with-flow", "room_air", 2),
        case("negative-flow", "nasal_cannula", -1),
        case("unknown-device-face-tent", "face_tent", None),
        case("device-spelled-with-space", "nasal cannula", 2),
    ],
)
def test_review_oxygen_refuses_impossible_input(device, flow):
    with pytest.raises(ValueError):
        oxygen_category(device, flow)


# ---------------------------------------------------------------------------------------------
# ASTCT hypotension: vasopressor combinations (RULES.md §2.1)
# ---------------------------------------------------------------------------------------------

PRESSOR_CASES = [
    case("no-hypotension", False, (), "none", 1),
    case("fluid-responsive", True, (), "no_vasopressor", 2),
    case("vasopressin-alone", True, ("vasopressin",), "one_vasopressor", 3),
    case("vasopressin-twice", True, ("vasopressin", "vasopressin"), "one_vasopressor", 3),
    case("norepi+vasopressin", True, ("norepinephrine", "vasopressin"), "one_vasopressor", 3),
    case("vasopressin+epi", True, ("vasopressin", "epinephrine"), "one_vasopressor", 3),
    case("phenylephrine+vasopressin", True, ("phenylephrine", "vasopressin"), "one_vasopressor", 3),
    case(
        "norepi+phenylephrine",
        True,
        ("norepinephrine", "phenylephrine"),
        "multiple_vasopressors",
        4,
    ),
    case("phenylephrine+dopamine", True, ("phenylephrine", "dopamine"), "multiple_vasopressors", 4),
    case("norepi+epi", True, ("norepinephrine", "epinephrine"), "multiple_vasopressors", 4),
    case(
        "norepi+epi+vasopressin",
        True,
        ("norepinephrine", "epinephrine", "vasopressin"),
        "multiple_vasopressors",
        4,
    ),
    case(
        "noradrenaline=norepinephrine",
        True,
        ("noradrenaline", "norepinephrine"),
        "one_vasopressor",
        3,
    ),
    case(
        "adrenaline=epinephrine+vasopressin",
        True,
        ("adrenaline", "epinephrine", "vasopressin"),
        "one_vasopressor",
        3,
    ),
    case(
        "angiotensin-ii+norepi",
        True,
        ("angiotensin_ii", "norepinephrine"),
        "multiple_vasopressors",
        4,
    ),
    case("pressor-with-normal-bp-still-counts", False, ("vasopressin",), "one_vasopressor", 3),
]


@pytest.mark.parametrize(("hypotension", "pressors", "category", "crs"), PRESSOR_CASES)
def test_review_vasopressor_combinations_give_astct_category_and_crs_grade(
    hypotension, pressors, category, crs
):
    assert hypotension_category(hypotension=hypotension, vasopressors=pressors) == category
    assert crs_grade(temperature_c=39.0, hypotension=category) == crs


def test_review_unknown_vasopressor_is_refused():
    with pytest.raises(ValueError):
        hypotension_category(hypotension=True, vasopressors=("saline",))


# ---------------------------------------------------------------------------------------------
# CRS: fever requirement and domain combinations (RULES.md §2.1)
# ---------------------------------------------------------------------------------------------

CRS_CASES = [
    case("37.99-no-fever", 37.99, "none", "none", False, 0),
    case("38-int-fever", 38, "none", "none", False, 1),
    case("38.0-decimal-fever", D("38.0"), "none", "none", False, 1),
    case("37.95-not-rounded-up", 37.95, "none", "none", False, 0),
    case("no-fever-cpap-untreated", 37.5, "none", "positive_pressure", False, 0),
    case("no-fever-two-pressors-untreated", 37.0, "multiple_vasopressors", "none", False, 0),
    case("treated-afebrile-no-signs", 36.8, "none", "none", True, 1),
    case("treated-afebrile-low-flow", 37.0, "none", "low_flow", True, 2),
    case("treated-afebrile-vasopressin", 36.5, "one_vasopressor", "none", True, 3),
    case("treated-temp-unknown-high-flow", None, "none", "high_flow", True, 3),
    case("fluids+high-flow", 39.0, "no_vasopressor", "high_flow", False, 3),
    case("fluids+low-flow", 38.1, "no_vasopressor", "low_flow", False, 2),
    case("one-pressor+cpap", 38.4, "one_vasopressor", "positive_pressure", False, 4),
    case("two-pressors+room-air", 40.1, "multiple_vasopressors", "none", False, 4),
]


@pytest.mark.parametrize(("temp", "hypo", "oxy", "treated", "expected"), CRS_CASES)
def test_review_crs_grade(temp, hypo, oxy, treated, expected):
    grade = crs_grade(temperature_c=temp, hypotension=hypo, oxygen=oxy, fever_treated=treated)
    assert grade == expected


# ---------------------------------------------------------------------------------------------
# ICE item ranges and ICANS combinations (RULES.md §2.2)
# ---------------------------------------------------------------------------------------------

ITEM_MAX = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}


def _ice(**overrides):
    items = dict.fromkeys(ITEM_MAX, 0)
    items.update(overrides)
    return ice_score(**items)


@pytest.mark.parametrize("item", list(ITEM_MAX))
def test_review_ice_accepts_each_item_at_its_maximum(item):
    assert _ice(**{item: ITEM_MAX[item]}) == ITEM_MAX[item]


@pytest.mark.parametrize(
    ("item", "value"),
    [case(f"{item}={value}", item, value) for item, top in ITEM_MAX.items()
     for value in (top + 1, -1)]
    + [case("orientation=1.5", "orientation", 1.5), case("naming=None", "naming", None)],
)  # fmt: skip
def test_review_ice_refuses_an_item_out_of_range(item, value):
    with pytest.raises(ValueError):
        _ice(**{item: value})


ALL_CORRECT = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        case("all-correct", ALL_CORRECT, 10),
        case("oriented-and-naming-only", {"orientation": 4, "naming": 3}, 7),
        case("one-short-of-10", {**ALL_CORRECT, "orientation": 3}, 9),
        case("three-points", {"orientation": 2, "naming": 1}, 3),
        case("two-points", {"commands": 1, "writing": 1}, 2),
    ],
)
def test_review_ice_sums_items(items, expected):
    assert _ice(**items) == expected


ICANS_CASES = [
    case("ice10-awake", 10, "awake", "none", "none", "none", 0),
    case("ice9", 9, "awake", "none", "none", "none", 1),
    case("ice7", 7, "awake", "none", "none", "none", 1),
    case("ice6", 6, "awake", "none", "none", "none", 2),
    case("ice3", 3, "awake", "none", "none", "none", 2),
    case("ice2", 2, "awake", "none", "none", "none", 3),
    case("ice1", 1, "awake", "none", "none", "none", 3),
    case("ice0-awake-aphasia", 0, "awake", "none", "none", "none", 3),
    case("ice0-unarousable", 0, "unarousable", "none", "none", "none", 4),
    case("ice-na-unarousable", None, "unarousable", "none", "none", "none", 4),
    case("ice-na-nothing-else", None, "awake", "none", "none", "none", 0),
    case("ice-na-focal-edema", None, "awake", "none", "none", "focal_edema", 3),
    case("ice10-wakes-spontaneously", 10, "awakens_spontaneously", "none", "none", "none", 1),
    case("ice10-wakes-to-voice", 10, "awakens_to_voice", "none", "none", "none", 2),
    case("ice8-wakes-to-touch", 8, "awakens_to_touch", "none", "none", "none", 3),
    case("ice0-wakes-to-touch", 0, "awakens_to_touch", "none", "none", "none", 3),
    case("ice10-seizure-resolved", 10, "awake", "resolved_rapidly", "none", "none", 3),
    case("ice10-seizure-prolonged", 10, "awake", "prolonged_or_repetitive", "none", "none", 4),
    case("ice10-hemiparesis", 10, "awake", "none", "deep_focal_weakness", "none", 4),
    case("ice10-focal-edema", 10, "awake", "none", "none", "focal_edema", 3),
    case("ice10-diffuse-edema", 10, "awake", "none", "none", "diffuse_edema", 4),
    case("ice5-focal-edema", 5, "awake", "none", "none", "focal_edema", 3),
    case("ice2-seizure-resolved", 2, "awake", "resolved_rapidly", "none", "none", 3),
    case("ice8-voice-focal-edema", 8, "awakens_to_voice", "none", "none", "focal_edema", 3),
    case("ice9-spontaneous-ice-drives-1", 9, "awakens_spontaneously", "none", "none", "none", 1),
    case("ice6-spontaneous-ice-drives-2", 6, "awakens_spontaneously", "none", "none", "none", 2),
    case("ice3-diffuse-edema", 3, "awake", "none", "none", "diffuse_edema", 4),
]


@pytest.mark.parametrize(("ice", "loc", "seizure", "motor", "icp", "expected"), ICANS_CASES)
def test_review_icans_grade_is_worst_domain(ice, loc, seizure, motor, icp, expected):
    grade = icans_grade(
        ice_score=ice, consciousness=loc, seizure=seizure, motor=motor, raised_icp=icp
    )
    assert grade == expected


@pytest.mark.parametrize("ice", [1, 3, 10])
def test_review_icans_refuses_a_positive_ice_when_unarousable(ice):
    with pytest.raises(ValueError):
        icans_grade(ice_score=ice, consciousness="unarousable")


@pytest.mark.parametrize(
    "kwargs",
    [
        case("ice-11", {"ice_score": 11}),
        case("ice-negative", {"ice_score": -1}),
        case("tremor-is-not-icans", {"ice_score": 10, "motor": "tremor"}),
        case("unknown-seizure", {"ice_score": 10, "seizure": "focal"}),
    ],
)
def test_review_icans_refuses_impossible_input(kwargs):
    with pytest.raises(ValueError):
        icans_grade(**kwargs)


# ---------------------------------------------------------------------------------------------
# CTCAE v5.0 decreasing terms: every boundary, both sides (RULES.md §3.2-§3.3)
# ---------------------------------------------------------------------------------------------

DECREASING_CASES = [
    # Neutrophils, LLN 1.8 x10^9/L: < LLN-1.5 G1; < 1.5-1.0 G2; < 1.0-0.5 G3; < 0.5 G4.
    case("NEU-at-LLN", NEU, 1.8, 1.8, 0),
    case("NEU-just-below-LLN", NEU, 1.79, 1.8, 1),
    case("NEU-1.5", NEU, 1.5, 1.8, 1),
    case("NEU-1.4999", NEU, 1.4999, 1.8, 2),
    case("NEU-1.0-decimal", NEU, D("1.0"), 1.8, 2),
    case("NEU-1.00-decimal", NEU, D("1.00"), 1.8, 2),
    case("NEU-0.9999", NEU, 0.9999, 1.8, 3),
    case("NEU-0.50-decimal", NEU, D("0.50"), 1.8, 3),
    case("NEU-0.4999", NEU, 0.4999, 1.8, 4),
    case("NEU-zero", NEU, 0, 1.8, 4),
    # Platelets, LLN 150: < LLN-75 G1; < 75-50 G2; < 50-25 G3; < 25 G4.
    case("PLT-at-LLN", PLT, 150, 150, 0),
    case("PLT-149.9", PLT, 149.9, 150, 1),
    case("PLT-75", PLT, 75, 150, 1),
    case("PLT-74.9", PLT, 74.9, 150, 2),
    case("PLT-50-decimal", PLT, D("50"), 150, 2),
    case("PLT-49.9", PLT, 49.9, 150, 3),
    case("PLT-25.0", PLT, 25.0, 150, 3),
    case("PLT-24.9", PLT, 24.9, 150, 4),
    # Hemoglobin g/dL, LLN 13.5: < LLN-10.0 G1; < 10.0-8.0 G2; < 8.0 G3 (G4 is clinical).
    case("HGB-at-LLN", HGB, 13.5, 13.5, 0),
    case("HGB-13.4", HGB, 13.4, 13.5, 1),
    case("HGB-10.0", HGB, 10.0, 13.5, 1),
    case("HGB-9.99", HGB, 9.99, 13.5, 2),
    case("HGB-8.0-decimal", HGB, D("8.0"), 13.5, 2),
    case("HGB-7.99", HGB, 7.99, 13.5, 3),
    case("HGB-4.0-never-4", HGB, 4.0, 13.5, 3),
    # White blood cells, LLN 4.0: < LLN-3.0 G1; < 3.0-2.0 G2; < 2.0-1.0 G3; < 1.0 G4.
    case("WBC-at-LLN", WBC, 4.0, 4.0, 0),
    case("WBC-3.99", WBC, 3.99, 4.0, 1),
    case("WBC-3.0", WBC, 3.0, 4.0, 1),
    case("WBC-2.99", WBC, 2.99, 4.0, 2),
    case("WBC-2.0", WBC, 2.0, 4.0, 2),
    case("WBC-1.99", WBC, 1.99, 4.0, 3),
    case("WBC-1.0", WBC, 1.0, 4.0, 3),
    case("WBC-0.99", WBC, 0.99, 4.0, 4),
    # Lymphocytes, LLN 1.0: < LLN-0.8 G1; < 0.8-0.5 G2; < 0.5-0.2 G3; < 0.2 G4.
    case("LYM-at-LLN", LYM, 1.0, 1.0, 0),
    case("LYM-0.99", LYM, 0.99, 1.0, 1),
    case("LYM-0.8", LYM, 0.8, 1.0, 1),
    case("LYM-0.79", LYM, 0.79, 1.0, 2),
    case("LYM-0.5", LYM, 0.5, 1.0, 2),
    case("LYM-0.49", LYM, 0.49, 1.0, 3),
    case("LYM-0.2", LYM, 0.2, 1.0, 3),
    case("LYM-0.19", LYM, 0.19, 1.0, 4),
    # An LLN below the grade-2 cut-off does not lift the numeric band (CTCAE "< 0.8 - 0.5").
    case("LYM-LLN-0.7-value-0.75", LYM, 0.75, 0.7, 2),
    case("WBC-LLN-2.8-value-2.9", WBC, 2.9, 2.8, 2),
]


@pytest.mark.parametrize(("term", "value", "lln", "expected"), DECREASING_CASES)
def test_review_decreasing_term_boundaries(term, value, lln, expected):
    assert ctcae_lab_grade(term, value, lln=lln) == expected


@pytest.mark.parametrize(
    ("term", "value", "expected"),
    [
        # Without LLN, grade 1 (and so grade 0) cannot be told apart: None, never 0.
        case("NEU-1.5-no-LLN", NEU, 1.5, None),
        case("NEU-1.49-no-LLN", NEU, 1.49, 2),
        case("PLT-75-no-LLN", PLT, 75, None),
        case("PLT-74-no-LLN", PLT, 74, 2),
        case("HGB-10.0-no-LLN", HGB, 10.0, None),
        case("HGB-9.9-no-LLN", HGB, 9.9, 2),
        case("WBC-3.0-no-LLN", WBC, 3.0, None),
        case("WBC-0.5-no-LLN", WBC, 0.5, 4),
        case("LYM-0.8-no-LLN", LYM, 0.8, None),
        case("LYM-0.1-no-LLN", LYM, 0.1, 4),
    ],
)
def test_review_decreasing_term_without_lln(term, value, expected):
    assert ctcae_lab_grade(term, value) == expected


# ---------------------------------------------------------------------------------------------
# Unit conversions: value, lln, uln and baseline are all in the named unit (CONTRACT.md)
# ---------------------------------------------------------------------------------------------

COUNT_UNIT_CASES = [
    case("NEU-1000/mm3", NEU, 1000, "/mm3", 1800, 2),
    case("NEU-999/mm3", NEU, 999, "/mm3", 1800, 3),
    case("NEU-500/uL", NEU, 500, "/uL", 1800, 3),
    case("NEU-1700/uL-below-LLN", NEU, 1700, "/uL", 1800, 1),
    case("NEU-1800/uL-at-LLN", NEU, 1800, "/uL", 1800, 0),
    case("NEU-1.0-10^3/uL", NEU, 1.0, "10^3/uL", 1.8, 2),
    case("PLT-75000/uL", PLT, 75000, "/uL", 150000, 1),
    case("PLT-74999/uL", PLT, 74999, "/uL", 150000, 2),
    case("PLT-25000-cells/mm3", PLT, 25000, "cells/mm3", 150000, 3),
    case("PLT-24999-cells/mm3", PLT, 24999, "cells/mm3", 150000, 4),
    case("WBC-3000/mm3", WBC, 3000, "/mm3", 4000, 1),
    case("WBC-2999/mm3", WBC, 2999, "/mm3", 4000, 2),
    case("WBC-1000/mm3", WBC, 1000, "/mm3", 4000, 3),
    case("WBC-999/mm3", WBC, 999, "/mm3", 4000, 4),
    case("LYM-800/uL", LYM, 800, "/uL", 1000, 1),
    case("LYM-799/uL", LYM, 799, "/uL", 1000, 2),
    case("LYM-200/uL", LYM, 200, "/uL", 1000, 3),
    case("LYM-199/uL", LYM, 199, "/uL", 1000, 4),
    case("LYM-1.5E+2-decimal-/uL", LYM, D("1.5E+2"), "/uL", 1000, 4),
    case("HGB-100-g/L", HGB, 100, "g/L", 135, 1),
    case("HGB-99.9-g/L", HGB, 99.9, "g/L", 135, 2),
    case("HGB-80-g/L", HGB, 80, "g/L", 135, 2),
    case("HGB-79.9-g/L", HGB, 79.9, "g/L", 135, 3),
    # mmol/L: 10.0 and 8.0 g/dL x 0.6206 = 6.206 and 4.9648 mmol/L (RULES.md conventions).
    case("HGB-6.206-mmol/L", HGB, 6.206, "mmol/L", 8.4, 1),
    case("HGB-6.2-mmol/L", HGB, 6.2, "mmol/L", 8.4, 2),
    case("HGB-4.9648-mmol/L", HGB, D("4.9648"), "mmol/L", 8.4, 2),
    case("HGB-4.9-mmol/L", HGB, 4.9, "mmol/L", 8.4, 3),
]


@pytest.mark.parametrize(("term", "value", "unit", "lln", "expected"), COUNT_UNIT_CASES)
def test_review_decreasing_term_in_each_unit(term, value, unit, lln, expected):
    assert ctcae_lab_grade(term, value, lln=lln, unit=unit) == expected


@pytest.mark.parametrize(
    ("g_dl", "lln_g_dl"),
    [(13.5, 13.5), (10.0, 12.0), (9.9, 12.0), (8.0, 12.0), (7.9, 12.0), (11.9, 12.0)],
)
def test_review_hemoglobin_grade_does_not_depend_on_the_unit(g_dl, lln_g_dl):
    expected = ctcae_lab_grade(HGB, g_dl, lln=lln_g_dl)
    assert ctcae_lab_grade(HGB, D(str(g_dl)) * 10, lln=D(str(lln_g_dl)) * 10, unit="g/L") == (
        expected
    )
    factor = D("0.6206")
    mmol = ctcae_lab_grade(HGB, D(str(g_dl)) * factor, lln=D(str(lln_g_dl)) * factor, unit="mmol/L")
    assert mmol == expected


@pytest.mark.parametrize(
    ("term", "value", "uln", "baseline", "unit", "expected"),
    [
        # Bilirubin in umol/L: golden BIL cases x 17.1 (ULN 1.2 mg/dL = 20.52 umol/L).
        case("BIL-01-umol", BIL, D("30.78"), D("20.52"), D("13.68"), "umol/L", 1),
        case("BIL-03-umol", BIL, D("61.56"), D("20.52"), D("13.68"), "umol/L", 2),
        case("BIL-04-umol", BIL, D("61.731"), D("20.52"), D("13.68"), "umol/L", 3),
        case("BIL-06-umol-abnormal-baseline", BIL, D("32.49"), D("20.52"), D("34.2"), "umol/L", 0),
        case("BIL-07-umol-abnormal-baseline", BIL, D("42.75"), D("20.52"), D("34.2"), "umol/L", 1),
        case("BIL-µmol-spelling", BIL, D("30.78"), D("20.52"), None, "µmol/L", 1),
        # Creatinine in umol/L: golden CRE cases x 88.4.
        case("CRE-01-umol", CRE, D("106.08"), D("97.24"), D("79.56"), "umol/L", 1),
        case("CRE-03-umol-literal", CRE, D("88.4"), D("97.24"), D("53.04"), "umol/L", 2),
        case("CRE-04-umol", CRE, D("300.56"), D("97.24"), D("88.4"), "umol/L", 3),
        case("CRE-05-umol", CRE, D("592.28"), D("97.24"), D("88.4"), "umol/L", 4),
        case("CRE-1.5x-baseline-umol", CRE, D("79.56"), D("97.24"), D("53.04"), "umol/L", 0),
        # ALT in ukat/L and IU/L: multiples only.
        case("ALT-3xULN-ukat", ALT, 2.1, 0.7, None, "ukat/L", 1),
        case("ALT-abnormal-baseline-ukat", ALT, 1.65, 1.0, 1.1, "ukat/L", 1),
        case("AST-5xULN-IU", AST, 175, 35, 20, "IU/L", 2),
    ],
)  # fmt: skip
def test_review_increasing_term_in_each_unit(term, value, uln, baseline, unit, expected):
    assert ctcae_lab_grade(term, value, uln=uln, baseline=baseline, unit=unit) == expected


def test_review_creatinine_only_above_uln_in_umol_l():
    grade = ctcae_lab_grade(
        CRE, D("88.4"), uln=D("97.24"), baseline=D("53.04"), unit="umol/L",
        creatinine_baseline_rule="only_above_uln",
    )  # fmt: skip
    assert grade == 0


@pytest.mark.parametrize(
    ("term", "unit"),
    [
        case("BIL-mg/L", BIL, "mg/L"),
        case("CRE-mmol/L", CRE, "mmol/L"),
        case("NEU-g/dL", NEU, "g/dL"),
        case("HGB-/mm3", HGB, "/mm3"),
        case("HGB-umol/L", HGB, "umol/L"),
        case("ALT-umol/L", ALT, "umol/L"),
        case("PLT-empty", PLT, ""),
        case("LYM-percent", LYM, "%"),
    ],
)
def test_review_unknown_unit_for_the_term_is_refused(term, unit):
    with pytest.raises(ValueError):
        ctcae_lab_grade(term, 1.0, lln=1.0, uln=2.0, unit=unit)


@pytest.mark.parametrize(
    "term", ["Hemoglobin decreased", "ALT", "Neutrophil count", "Thrombocytopenia", "", None]
)
def test_review_unknown_term_is_refused(term):
    with pytest.raises(ValueError):
        ctcae_lab_grade(term, 1.0, lln=1.0, uln=2.0)


# ---------------------------------------------------------------------------------------------
# CTCAE v5.0 increasing terms: boundaries with awkward floats (RULES.md §3.3)
# ---------------------------------------------------------------------------------------------

INCREASING_CASES = [
    # ALT/AST normal baseline: > ULN-3 G1; > 3-5 G2; > 5-20 G3; > 20 G4 (x ULN).
    case("ALT-at-ULN", ALT, 40, 40, 20, 0),
    case("ALT-40.01", ALT, 40.01, 40, 20, 1),
    case("ALT-120=3xULN", ALT, 120, 40, 20, 1),
    case("ALT-120.01", ALT, 120.01, 40, 20, 2),
    case("ALT-200=5xULN", ALT, 200, 40, 20, 2),
    case("ALT-200.01", ALT, 200.01, 40, 20, 3),
    case("ALT-800=20xULN", ALT, 800, 40, 20, 3),
    case("ALT-800.01", ALT, 800.01, 40, 20, 4),
    case("ALT-no-baseline-treated-as-normal", ALT, 121, 40, None, 2),
    case("AST-ULN-1.1-3.3", AST, 3.3, 1.1, None, 1),  # 3 x 1.1 = 3.3000000000000003 in float
    case("AST-ULN-1.1-3.31", AST, 3.31, 1.1, None, 2),
    case("AST-ULN-1.1-5.5", AST, 5.5, 1.1, None, 2),
    case("AST-ULN-1.1-22.0", AST, 22.0, 1.1, None, 3),  # 20 x 1.1 = 22.000000000000004
    case("AST-ULN-1.1-22.01", AST, 22.01, 1.1, None, 4),
    case("ALT-ULN-0.7-2.1", ALT, 2.1, 0.7, None, 1),  # 3 x 0.7 = 2.0999999999999996 in float
    case("ALT-ULN-0.7-3.5", ALT, 3.5, 0.7, None, 2),
    case("ALT-ULN-0.7-14.0", ALT, 14.0, 0.7, None, 3),
    case("ALT-ULN-0.7-14.01", ALT, 14.01, 0.7, None, 4),
    case("ALT-decimal-3xULN", ALT, D("99"), D("33"), None, 1),
    case("ALT-decimal-99.01", ALT, D("99.01"), D("33"), None, 2),
    # Bilirubin normal baseline: > ULN-1.5 G1; > 1.5-3 G2; > 3-10 G3; > 10 G4 (x ULN).
    case("BIL-at-ULN", BIL, 1.2, 1.2, 0.5, 0),
    case("BIL-1.21", BIL, 1.21, 1.2, 0.5, 1),
    case("BIL-12.0=10xULN", BIL, 12.0, 1.2, 0.5, 3),
    case("BIL-ULN-0.3-0.45", BIL, 0.45, 0.3, None, 1),  # 1.5 x 0.3 = 0.44999999999999996
    case("BIL-ULN-0.3-0.9", BIL, 0.9, 0.3, None, 2),  # 3 x 0.3 = 0.8999999999999999
    case("BIL-ULN-0.3-3.0", BIL, 3.0, 0.3, None, 3),
    case("BIL-ULN-0.3-3.01", BIL, 3.01, 0.3, None, 4),
    case("BIL-decimal-1.80", BIL, D("1.80"), D("1.2"), None, 1),
    case("BIL-decimal-1.8000001", BIL, D("1.8000001"), D("1.2"), None, 2),
]


@pytest.mark.parametrize(("term", "value", "uln", "baseline", "expected"), INCREASING_CASES)
def test_review_increasing_term_boundaries(term, value, uln, baseline, expected):
    assert ctcae_lab_grade(term, value, uln=uln, baseline=baseline) == expected


# ---------------------------------------------------------------------------------------------
# Baseline-abnormal rules (RULES.md §3.4)
# ---------------------------------------------------------------------------------------------

BASELINE_ABNORMAL_CASES = [
    # ALT/AST, ULN 40, baseline 80 (abnormal): 1.5-3 G1; > 3-5 G2; > 5-20 G3; > 20 G4 (x base).
    case("ALT-below-baseline", ALT, 60, 40, 80, 0),
    case("ALT-at-baseline", ALT, 80, 40, 80, 0),
    case("ALT-119.99-under-1.5x", ALT, 119.99, 40, 80, 0),
    case("ALT-120=1.5x-inclusive", ALT, 120, 40, 80, 1),
    case("ALT-240=3x", ALT, 240, 40, 80, 1),
    case("ALT-240.01", ALT, 240.01, 40, 80, 2),
    case("ALT-400=5x", ALT, 400, 40, 80, 2),
    case("ALT-400.01", ALT, 400.01, 40, 80, 3),
    case("ALT-1600=20x", ALT, 1600, 40, 80, 3),
    case("ALT-1600.01", ALT, 1600.01, 40, 80, 4),
    # Baseline 2.5 x ULN (the trial's entry limit): > 3 x ULN but < 1.5 x baseline is grade 0.
    case("AST-base-2.5xULN-149", AST, 149, 40, 100, 0),
    case("AST-base-2.5xULN-150", AST, 150, 40, 100, 1),
    case("AST-base-2.5xULN-300", AST, 300, 40, 100, 1),
    case("AST-base-2.5xULN-301", AST, 301, 40, 100, 2),
    # Baseline just above ULN switches to baseline multiples.
    case("ALT-base-40.5-value-60", ALT, 60, 40, 40.5, 0),
    case("ALT-base-40.5-value-60.75", ALT, 60.75, 40, 40.5, 1),
    case("ALT-base-40.5-value-121.5", ALT, 121.5, 40, 40.5, 1),
    case("ALT-base-40.5-value-121.51", ALT, 121.51, 40, 40.5, 2),
    # Baseline equal to ULN is normal.
    case("ALT-base=ULN-value-60", ALT, 60, 40, 40, 1),
    case("ALT-base=ULN-value-121", ALT, 121, 40, 40, 2),
    # Float trap: 1.5 x 1.1 = 1.6500000000000001, 3 x 1.1 = 3.3000000000000003.
    case("ALT-base-1.1-value-1.65", ALT, 1.65, 1.0, 1.1, 1),
    case("ALT-base-1.1-value-1.6499", ALT, 1.6499, 1.0, 1.1, 0),
    case("ALT-base-1.1-value-3.3", ALT, 3.3, 1.0, 1.1, 1),
    case("ALT-base-1.1-value-3.31", ALT, 3.31, 1.0, 1.1, 2),
    # Bilirubin, ULN 1.2, baseline 1.5: > 1.0-1.5 G1; > 1.5-3 G2; > 3-10 G3; > 10 G4 (x base).
    case("BIL-above-ULN-below-baseline", BIL, 1.3, 1.2, 1.5, 0),
    case("BIL-at-baseline", BIL, 1.5, 1.2, 1.5, 0),
    case("BIL-1.51", BIL, 1.51, 1.2, 1.5, 1),
    case("BIL-2.25=1.5x", BIL, 2.25, 1.2, 1.5, 1),
    case("BIL-2.26", BIL, 2.26, 1.2, 1.5, 2),
    case("BIL-4.5=3x", BIL, 4.5, 1.2, 1.5, 2),
    case("BIL-4.51", BIL, 4.51, 1.2, 1.5, 3),
    case("BIL-15=10x", BIL, 15, 1.2, 1.5, 3),
    case("BIL-15.01", BIL, 15.01, 1.2, 1.5, 4),
    # Float trap: 1.5 x 1.3 = 1.9500000000000002, 3 x 1.3 = 3.9000000000000004.
    case("BIL-base-1.3-value-1.95", BIL, 1.95, 1.2, 1.3, 1),
    case("BIL-base-1.3-value-3.9", BIL, 3.9, 1.2, 1.3, 2),
    case("BIL-base-1.3-value-13.0", BIL, 13.0, 1.2, 1.3, 3),
    case("BIL-base-1.3-value-13.01", BIL, 13.01, 1.2, 1.3, 4),
    # Trial entry limit 2 x ULN: baseline 2.4 with ULN 1.2.
    case("BIL-base-2xULN-value-2.4", BIL, 2.4, 1.2, 2.4, 0),
    case("BIL-base-2xULN-value-2.41", BIL, 2.41, 1.2, 2.4, 1),
    case("BIL-base-2xULN-value-3.6", BIL, 3.6, 1.2, 2.4, 1),
    case("BIL-base-2xULN-value-3.61", BIL, 3.61, 1.2, 2.4, 2),
    case("BIL-base=ULN-is-normal", BIL, 1.21, 1.2, 1.2, 1),
]


@pytest.mark.parametrize(("term", "value", "uln", "baseline", "expected"), BASELINE_ABNORMAL_CASES)
def test_review_baseline_abnormal_rules(term, value, uln, baseline, expected):
    assert ctcae_lab_grade(term, value, uln=uln, baseline=baseline) == expected


# ---------------------------------------------------------------------------------------------
# Creatinine: ULN and baseline criteria side by side, literal vs only_above_uln (CRE-03)
# ---------------------------------------------------------------------------------------------

CREATININE_CASES = [
    # ULN 1.1, baseline 0.6: 1.5 x base 0.9, 3 x base 1.8 (1.7999999999999998 in float),
    # 1.5 x ULN 1.65 (1.6500000000000001), 3 x ULN 3.3, 6 x ULN 6.6 (6.6000000000000005).
    case("0.9=1.5x-base", 0.9, 1.1, 0.6, 0, 0),
    case("0.91", 0.91, 1.1, 0.6, 2, 0),
    case("1.1=ULN", 1.1, 1.1, 0.6, 2, 0),
    case("1.11-above-ULN", 1.11, 1.1, 0.6, 2, 2),
    case("1.65=1.5xULN", 1.65, 1.1, 0.6, 2, 2),
    case("1.8=3x-base", 1.8, 1.1, 0.6, 2, 2),
    case("1.81", 1.81, 1.1, 0.6, 3, 3),
    case("3.3=3xULN", 3.3, 1.1, 0.6, 3, 3),
    case("6.6=6xULN", 6.6, 1.1, 0.6, 3, 3),
    case("6.61", 6.61, 1.1, 0.6, 4, 4),
    # No baseline: ULN criteria only.
    case("nobase-1.1", 1.1, 1.1, None, 0, 0),
    case("nobase-1.11", 1.11, 1.1, None, 1, 1),
    case("nobase-1.65", 1.65, 1.1, None, 1, 1),
    case("nobase-1.66", 1.66, 1.1, None, 2, 2),
    case("nobase-3.3", 3.3, 1.1, None, 2, 2),
    case("nobase-3.31", 3.31, 1.1, None, 3, 3),
    case("nobase-6.6", 6.6, 1.1, None, 3, 3),
    case("nobase-6.61", 6.61, 1.1, None, 4, 4),
    # Baseline = ULN: 1.65 is 1.5 x both, not above either.
    case("base=ULN-1.65", 1.65, 1.1, 1.1, 1, 1),
    case("base=ULN-1.66", 1.66, 1.1, 1.1, 2, 2),
    # Abnormal baseline 2.0 (no special rule for creatinine): worse of the two readings.
    case("base-2.0-value-2.5", 2.5, 1.1, 2.0, 2, 2),
    case("base-2.0-value-3.0", 3.0, 1.1, 2.0, 2, 2),
    case("base-2.0-value-3.4", 3.4, 1.1, 2.0, 3, 3),
    case("base-2.0-value-6.0", 6.0, 1.1, 2.0, 3, 3),
    case("base-2.0-value-6.7", 6.7, 1.1, 2.0, 4, 4),
]


@pytest.mark.parametrize(
    ("value", "uln", "baseline", "literal", "only_above_uln"), CREATININE_CASES
)
def test_review_creatinine_rules(value, uln, baseline, literal, only_above_uln):
    assert ctcae_lab_grade(CRE, value, uln=uln, baseline=baseline) == literal
    assert (
        ctcae_lab_grade(
            CRE, value, uln=uln, baseline=baseline, creatinine_baseline_rule="only_above_uln"
        )
        == only_above_uln
    )


# ---------------------------------------------------------------------------------------------
# None only where the grade truly cannot be determined
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("term", [NEU, PLT, HGB, WBC, LYM, ALT, AST, BIL, CRE])
def test_review_unknown_value_is_none(term):
    assert ctcae_lab_grade(term, None, lln=1.0, uln=2.0, baseline=1.0) is None


@pytest.mark.parametrize("term", [ALT, AST, BIL, CRE])
def test_review_increasing_term_without_uln_is_none(term):
    # Without ULN neither "baseline abnormal" nor any ULN multiple can be known.
    assert ctcae_lab_grade(term, 1000, baseline=1.0) is None


@pytest.mark.parametrize("term", [ALT, AST, BIL, CRE])
def test_review_increasing_term_with_uln_is_always_an_int(term):
    for value in (0, 0.5, 1.0, 1.5, 3.0, 50.0):
        assert isinstance(ctcae_lab_grade(term, value, uln=1.0, baseline=0.8), int)


@pytest.mark.parametrize("term", [NEU, PLT, HGB, WBC, LYM])
def test_review_decreasing_term_with_lln_is_always_an_int(term):
    for value in (0, 0.1, 0.5, 1.0, 5.0, 200.0):
        assert isinstance(ctcae_lab_grade(term, value, lln=150), int)


# ---------------------------------------------------------------------------------------------
# DLT window: Day 0 to Day 28 inclusive (RULES.md §4.1)
# ---------------------------------------------------------------------------------------------

RECOVERED = [BloodCount(study_day=28, anc_10e9_l=1.2, platelets_10e9_l=60)]


def _crs(day, grade=4, **kwargs):
    return AdverseEventFacts(
        term="Cytokine release syndrome", category="crs", grade=grade, onset_study_day=day,
        **kwargs,
    )  # fmt: skip


def _window(events=(), *, as_of, left=None, counts=RECOVERED):
    seen = [c for c in counts if c.study_day <= as_of]  # no count from the future
    return evaluate_dlt_window(
        events=events, as_of_day=as_of, left_study_day=left, count_recovery=seen
    )


@pytest.mark.parametrize(
    ("onset", "as_of", "status", "dlt"),
    [
        case("grade4-CRS-on-day-0", 0, 0, "evaluable_with_dlt", True),
        case("grade4-CRS-on-day-1", 1, 1, "evaluable_with_dlt", True),
        case("grade4-CRS-on-day-27", 27, 27, "evaluable_with_dlt", True),
        case("grade4-CRS-on-day-28-seen-day-28", 28, 28, "evaluable_with_dlt", True),
        case("grade4-CRS-on-day-28-seen-day-40", 28, 40, "evaluable_with_dlt", True),
        case("grade4-CRS-on-day-29-ignored", 29, 29, "evaluable_without_dlt", False),
        case("grade4-CRS-on-day-35-ignored", 35, 40, "evaluable_without_dlt", False),
        case("grade4-CRS-before-infusion-ignored", -1, 29, "evaluable_without_dlt", False),
    ],
)
def test_review_dlt_window_edge_days(onset, as_of, status, dlt):
    result = _window([_crs(onset)], as_of=as_of)
    assert (result.status, result.dlt, result.evaluable) == (status, dlt, True)
    if dlt:
        assert result.first_dlt_day == onset


@pytest.mark.parametrize(
    ("as_of", "left", "status", "dlt", "evaluable"),
    [
        case("day-27-open", 27, None, "open", None, True),
        case("day-28-still-open", 28, None, "open", None, True),
        case("day-29-complete", 29, None, "evaluable_without_dlt", False, True),
        case("left-day-0", 5, 0, "not_evaluable", False, False),
        case("left-day-14", 30, 14, "not_evaluable", False, False),
        case("left-day-27", 27, 27, "not_evaluable", False, False),
        case("left-day-28-completed", 30, 28, "evaluable_without_dlt", False, True),
    ],
)
def test_review_dlt_window_without_dlt(as_of, left, status, dlt, evaluable):
    counts = RECOVERED if as_of >= 28 and (left is None or left >= 28) else []
    result = _window([], as_of=as_of, left=left, counts=counts)
    assert (result.status, result.dlt, result.evaluable) == (status, dlt, evaluable)


@pytest.mark.parametrize("left", [2, 10, 27])
def test_review_dlt_before_leaving_makes_the_subject_evaluable_with_dlt(left):
    icans = AdverseEventFacts(term="ICANS", category="icans", grade=3, onset_study_day=2)
    result = _window([icans], as_of=left, left=left, counts=[])
    assert (result.status, result.dlt, result.evaluable) == ("evaluable_with_dlt", True, True)


def test_review_grade_3_icans_on_day_28_counts_and_day_29_does_not():
    on_28 = AdverseEventFacts(term="ICANS", category="icans", grade=3, onset_study_day=28)
    on_29 = AdverseEventFacts(term="ICANS", category="icans", grade=3, onset_study_day=29)
    assert _window([on_28], as_of=29).dlt is True
    assert _window([on_29], as_of=29).dlt is False


@pytest.mark.parametrize(
    ("anc", "plt", "status"),
    [
        case("anc-0.5-plt-20-recovered", 0.5, 20, "evaluable_without_dlt"),
        case("anc-0.49", 0.49, 20, "evaluable_with_dlt"),
        case("plt-19.9", 0.5, 19.9, "evaluable_with_dlt"),
    ],
)
def test_review_count_recovery_thresholds_are_inclusive(anc, plt, status):
    counts = [BloodCount(study_day=28, anc_10e9_l=anc, platelets_10e9_l=plt)]
    assert _window([], as_of=29, counts=counts).status == status


# Grade 3 CRS is a DLT only if it does not resolve to grade <= 2 within 72 h; the hours run
# from the day the event reached grade 3, not from its (milder) onset.


@pytest.mark.parametrize(
    ("as_of", "grade_3_day", "status"),
    [
        case("onset-day-2-reached-g3-day-6-seen-day-8", 8, 6, "open"),
        case("reached-g3-day-6-seen-day-10-72h-not-over", 10, 6, "open"),
        case("reached-g3-day-6-seen-day-11-over-72h", 11, 6, "evaluable_with_dlt"),
        case("g3-day-unknown-onset-day-2-seen-day-8", 8, None, "evaluable_with_dlt"),
    ],
)
def test_review_unresolved_grade_3_crs_counts_hours_from_grade_3(as_of, grade_3_day, status):
    event = _crs(2, grade=3, grade_3_study_day=grade_3_day)
    assert _window([event], as_of=as_of).status == status


@pytest.mark.parametrize(
    "kwargs",
    [
        case("grade-3-day-before-onset", {"grade": 3, "grade_3_study_day": 1}),
        case("grade-3-day-on-a-grade-2-event", {"grade": 2, "grade_3_study_day": 4}),
    ],
)
def test_review_refuses_an_impossible_grade_3_day(kwargs):
    with pytest.raises(ValueError):
        _crs(2, **kwargs)


def test_review_refuses_a_grade_3_day_after_as_of_day():
    with pytest.raises(ValueError):
        _window([_crs(2, grade=3, grade_3_study_day=9)], as_of=8)
