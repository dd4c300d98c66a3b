"""Formulas of enrollment.rules: Cockcroft–Gault, QTcF, age, steroid equivalence, settings.

Golden cases: shared/golden/CASES.md section I (CG-*, QT-*). Rules: RULES.md §5.
"""

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrollment import rules
from enrollment.rules import (
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    STEROID_EQUIVALENTS,
    age_in_years,
    creatinine_clearance,
    evaluate_eligibility,
    ideal_body_weight_kg,
    prednisone_equivalent_mg,
    qtcf,
    subtract_months,
)

REPO = Path(__file__).resolve().parents[2]


def test_it_imports_no_django():
    code = "import sys, enrollment.rules; assert 'django' not in sys.modules"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


# ---------------------------------------------------------------------------------------------
# Cockcroft–Gault (RULES.md §5.1; CASES.md I)
# ---------------------------------------------------------------------------------------------

CG_CASES = [
    ("CG-01", 50, 70, 1.0, "mg/dL", "M", 87.500),
    ("CG-02", 50, 70, 1.0, "mg/dL", "F", 74.375),
    ("CG-03", 65, 60, 1.2, "mg/dL", "M", 52.083),
    ("CG-05", 68, 50, 1.3, "mg/dL", "F", 32.692),
    ("CG-06", 45, 70, 1.94, "mg/dL", "M", 47.609),
    ("CG-08", 50, 70, 88.4, "umol/L", "M", 87.500),
    ("CG-10", 18, 80, 0.8, "mg/dL", "M", 169.444),
]


@pytest.mark.parametrize(
    "case_id, age, weight, scr, unit, sex, expected", CG_CASES, ids=[c[0] for c in CG_CASES]
)
def test_cockcroft_gault_golden(case_id, age, weight, scr, unit, sex, expected):
    crcl = creatinine_clearance(age_years=age, weight_kg=weight, sex=sex, creatinine=scr, unit=unit)
    assert round(crcl, 3) == pytest.approx(expected, abs=1e-9)


def test_cg_08_uses_exact_88_4_not_the_1_23_shortcut():
    crcl = creatinine_clearance(age_years=50, weight_kg=70, sex="M", creatinine=88.4, unit="umol/L")
    assert crcl == 87.5
    assert round(90 * 70 * 1.23 / 88.4, 3) == 87.658  # the shortcut gives a different number


@pytest.mark.parametrize("unit", ["umol/L", "µmol/L", "μmol/L", "UMOL/L", "mg/dl"])
def test_creatinine_unit_spellings_are_accepted(unit):
    scr = 1.0 if unit.lower() == "mg/dl" else 88.4
    crcl = creatinine_clearance(age_years=50, weight_kg=70, sex="M", creatinine=scr, unit=unit)
    assert crcl == 87.5


def test_boundary_45_is_computed_exactly_in_both_units():
    # (140-50) x 54 / (72 x 1.5) = 45.0 exactly; 1.5 mg/dL = 132.6 umol/L.
    mg = creatinine_clearance(age_years=50, weight_kg=54, sex="M", creatinine=1.5)
    umol = creatinine_clearance(
        age_years=50, weight_kg=54, sex="M", creatinine=132.6, unit="umol/L"
    )
    assert mg == 45.0
    assert umol == 45.0


def test_decimal_inputs_are_accepted():
    crcl = creatinine_clearance(
        age_years=50, weight_kg=Decimal("70"), sex="F", creatinine=Decimal("1.0")
    )
    assert crcl == 74.375


def test_ideal_weight_uses_devine():
    # 5 ft 10 in = 177.8 cm: 50 + 2.3 x 10 = 73.0 kg (M); 45.5 + 23 = 68.5 kg (F)
    assert ideal_body_weight_kg(177.8, "M") == pytest.approx(73.0, abs=1e-9)
    assert ideal_body_weight_kg(177.8, "F") == pytest.approx(68.5, abs=1e-9)


def test_cg_weight_ideal_and_adjusted():
    base = {"age_years": 50, "sex": "M", "creatinine": 1.0, "height_cm": 177.8}
    actual = creatinine_clearance(weight_kg=100, **base)
    ideal = creatinine_clearance(weight_kg=100, cg_weight="ideal", **base)
    adjusted = creatinine_clearance(weight_kg=100, cg_weight="adjusted", **base)
    assert actual == 125.0
    assert ideal == pytest.approx(90 * 73.0 / 72, abs=1e-9)
    # adjusted = IBW + 0.4 x (100 - 73) = 83.8 kg
    assert adjusted == pytest.approx(90 * 83.8 / 72, abs=1e-9)


def test_cg_weight_ideal_without_height_names_height_cm():
    with pytest.raises(ValueError, match="height_cm"):
        creatinine_clearance(age_years=50, weight_kg=70, sex="M", creatinine=1, cg_weight="ideal")


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"weight_kg": -70}, "weight_kg"),
        ({"weight_kg": 0}, "weight_kg"),
        ({"creatinine": 0}, "creatinine"),
        ({"creatinine": -1.0}, "creatinine"),
        ({"sex": "X"}, "sex"),
        ({"unit": "mmol/L"}, "unit"),
        ({"age_years": -1}, "age_years"),
        ({"age_years": 50.5}, "age_years"),
        ({"cg_weight": "lean"}, "cg_weight"),
        ({"weight_kg": float("nan")}, "weight_kg"),
        ({"weight_kg": "70"}, "weight_kg"),
        ({"weight_kg": True}, "weight_kg"),
    ],
)
def test_cockcroft_gault_rejects_impossible_input(kwargs, parameter):
    arguments = {"age_years": 50, "weight_kg": 70, "sex": "M", "creatinine": 1.0, "unit": "mg/dL"}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=parameter):
        creatinine_clearance(**arguments)


def test_unknown_unit_message_lists_allowed_units():
    with pytest.raises(ValueError, match=r"mg/dL.*umol/L"):
        creatinine_clearance(age_years=50, weight_kg=70, sex="M", creatinine=1, unit="g/L")


positive = st.decimals(min_value="0.3", max_value="15", places=2)
weights = st.decimals(min_value="30", max_value="200", places=1)
ages = st.integers(min_value=18, max_value=100)


@given(age=ages, weight=weights, scr=positive)
def test_female_clearance_is_085_of_male(age, weight, scr):
    male = creatinine_clearance(age_years=age, weight_kg=weight, sex="M", creatinine=scr)
    female = creatinine_clearance(age_years=age, weight_kg=weight, sex="F", creatinine=scr)
    assert female == pytest.approx(male * 0.85, rel=1e-9, abs=1e-8)


@given(age=ages, weight=weights, scr=positive)
def test_umol_and_mg_dl_agree(age, weight, scr):
    mg = creatinine_clearance(age_years=age, weight_kg=weight, sex="M", creatinine=scr)
    umol = creatinine_clearance(
        age_years=age, weight_kg=weight, sex="M", creatinine=scr * Decimal("88.4"), unit="umol/L"
    )
    assert umol == pytest.approx(mg, rel=1e-12, abs=1e-8)


@given(age=ages, weight=weights, scr=positive, extra=positive)
def test_higher_creatinine_gives_lower_clearance(age, weight, scr, extra):
    low = creatinine_clearance(age_years=age, weight_kg=weight, sex="F", creatinine=scr)
    high = creatinine_clearance(age_years=age, weight_kg=weight, sex="F", creatinine=scr + extra)
    assert high < low


# ---------------------------------------------------------------------------------------------
# QTcF (RULES.md §5.2; CASES.md I)
# ---------------------------------------------------------------------------------------------

QT_CASES = [
    ("QT-01", 400, 60, 400.00),
    ("QT-02", 400, 75, 430.89),
    ("QT-03", 360, 75, 387.80),
    ("QT-05", 440, 50, 414.06),
]


@pytest.mark.parametrize("case_id, qt, hr, expected", QT_CASES, ids=[c[0] for c in QT_CASES])
def test_qtcf_golden(case_id, qt, hr, expected):
    assert round(qtcf(qt_ms=qt, heart_rate_bpm=hr), 2) == expected


def test_qtcf_is_fridericia_not_bazett():
    # QT 400 at HR 110: RR = 0.5455 s; Fridericia 400 / 0.5455^(1/3) = 489.56; Bazett 541.6
    assert qtcf(qt_ms=400, heart_rate_bpm=110) == pytest.approx(489.56, abs=0.005)


def test_qtcf_from_rr_interval():
    assert qtcf(qt_ms=400, rr_ms=800) == qtcf(qt_ms=400, heart_rate_bpm=75)


def test_qtcf_exact_cube_root_boundary():
    # RR 0.729 s: cube root 0.9, so QT 432 ms -> QTcF exactly 480 ms
    assert qtcf(qt_ms=432, rr_ms=729) == 480.0


@pytest.mark.parametrize(
    "kwargs",
    [{"qt_ms": 400}, {"qt_ms": 400, "heart_rate_bpm": 60, "rr_ms": 1000}],
    ids=["neither", "both"],
)
def test_qtcf_needs_exactly_one_of_hr_or_rr(kwargs):
    with pytest.raises(ValueError, match="exactly one of heart_rate_bpm or rr_ms"):
        qtcf(**kwargs)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"qt_ms": -400, "heart_rate_bpm": 60}, "qt_ms"),
        ({"qt_ms": 400, "heart_rate_bpm": 0}, "heart_rate_bpm"),
        ({"qt_ms": 400, "rr_ms": -5}, "rr_ms"),
    ],
)
def test_qtcf_rejects_impossible_input(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        qtcf(**kwargs)


@given(qt=st.integers(250, 700), hr=st.integers(30, 200))
def test_qtcf_rr_and_hr_forms_agree(qt, hr):
    from_hr = qtcf(qt_ms=qt, heart_rate_bpm=hr)
    from_rr = qtcf(qt_ms=qt, rr_ms=Decimal(60000) / Decimal(hr))
    assert from_rr == pytest.approx(from_hr, abs=1e-8)


@given(qt=st.integers(250, 700), hr=st.integers(30, 199))
def test_qtcf_equals_qt_at_60_bpm_and_rises_with_heart_rate(qt, hr):
    assert qtcf(qt_ms=qt, heart_rate_bpm=60) == qt
    assert qtcf(qt_ms=qt, heart_rate_bpm=hr + 1) > qtcf(qt_ms=qt, heart_rate_bpm=hr)


# ---------------------------------------------------------------------------------------------
# Age in completed years (RULES.md §5.4, age_rule = completed_years)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth, on, expected",
    [
        (date(2000, 6, 15), date(2018, 6, 14), 17),
        (date(2000, 6, 15), date(2018, 6, 15), 18),
        (date(1955, 1, 1), date(2025, 12, 31), 70),
        (date(1955, 1, 1), date(2026, 1, 1), 71),
        (date(2004, 2, 29), date(2022, 2, 28), 17),
        (date(2004, 2, 29), date(2022, 3, 1), 18),
        (date(2004, 2, 29), date(2024, 2, 29), 20),
        (date(2025, 5, 5), date(2025, 5, 5), 0),
    ],
    ids=[
        "day-before-18th",
        "18th-birthday",
        "day-before-71st",
        "71st-birthday",
        "feb29-on-feb28-nonleap",
        "feb29-on-mar1-nonleap",
        "feb29-on-feb29-leap",
        "birth-day",
    ],
)
def test_age_in_completed_years(birth, on, expected):
    assert age_in_years(birth, on) == expected


def test_age_rejects_date_before_birth():
    with pytest.raises(ValueError, match="on_date"):
        age_in_years(date(2000, 1, 2), date(2000, 1, 1))


@given(birth=st.dates(date(1900, 1, 1), date(2010, 12, 31)), years=st.integers(1, 100))
def test_age_turns_n_on_the_nth_birthday(birth, years):
    year = birth.year + years
    if (birth.month, birth.day) == (2, 29) and not (
        year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    ):
        birthday = date(year, 3, 1)
    else:
        birthday = birth.replace(year=year)
    assert age_in_years(birth, birthday) == years
    assert age_in_years(birth, birthday - timedelta(days=1)) == years - 1


@given(
    birth=st.dates(date(1900, 1, 1), date(2020, 1, 1)),
    a=st.dates(date(2020, 1, 1), date(2100, 1, 1)),
    b=st.dates(date(2020, 1, 1), date(2100, 1, 1)),
)
def test_age_never_decreases(birth, a, b):
    early, late = sorted((a, b))
    assert age_in_years(birth, early) <= age_in_years(birth, late)


# ---------------------------------------------------------------------------------------------
# Calendar months (washout windows)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on, months, expected",
    [
        (date(2025, 8, 31), 6, date(2025, 2, 28)),
        (date(2024, 8, 31), 6, date(2024, 2, 29)),
        (date(2025, 3, 15), 6, date(2024, 9, 15)),
        (date(2025, 1, 31), 1, date(2024, 12, 31)),
        (date(2025, 7, 1), 0, date(2025, 7, 1)),
    ],
)
def test_subtract_months_clamps_to_month_end(on, months, expected):
    assert subtract_months(on, months) == expected


@given(on=st.dates(date(1901, 1, 1), date(2100, 12, 31)), months=st.integers(0, 120))
def test_subtract_months_lands_in_the_right_month(on, months):
    result = subtract_months(on, months)
    assert (on.year * 12 + on.month) - (result.year * 12 + result.month) == months
    assert result.day <= on.day
    assert result <= on


# ---------------------------------------------------------------------------------------------
# Steroid equivalence (RULES.md §5.4)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drug, dose", sorted(STEROID_EQUIVALENTS.items()))
def test_each_table_dose_equals_prednisone_5_mg(drug, dose):
    assert prednisone_equivalent_mg(drug, dose) == 5.0


def test_golden_daily_doses():
    assert prednisone_equivalent_mg("dexamethasone", 1.5) == 10.0
    assert prednisone_equivalent_mg("Dexamethasone", 10.5) == 70.0
    assert prednisone_equivalent_mg("PREDNISONE", 70) == 70.0
    assert prednisone_equivalent_mg("hydrocortisone", 100) == 25.0


def test_unknown_steroid_lists_known_drugs():
    with pytest.raises(ValueError, match=r"drug must be one of hydrocortisone, .*betamethasone"):
        prednisone_equivalent_mg("budesonide", 9)


def test_negative_steroid_dose_names_dose_mg():
    with pytest.raises(ValueError, match="dose_mg"):
        prednisone_equivalent_mg("prednisone", -5)


@given(
    drug=st.sampled_from(sorted(STEROID_EQUIVALENTS)),
    a=st.decimals(min_value=0, max_value=500, places=2),
    b=st.decimals(min_value=0, max_value=500, places=2),
)
def test_prednisone_equivalent_is_additive(drug, a, b):
    total = prednisone_equivalent_mg(drug, a + b)
    parts = prednisone_equivalent_mg(drug, a) + prednisone_equivalent_mg(drug, b)
    assert total == pytest.approx(parts, abs=1e-8)


# ---------------------------------------------------------------------------------------------
# Settings documents and the public surface
# ---------------------------------------------------------------------------------------------


def test_settings_defaults_match_the_function_defaults():
    import inspect

    signature = inspect.signature(evaluate_eligibility)
    keyword_defaults = {
        name: p.default for name, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY
    }
    assert keyword_defaults == SETTINGS_DEFAULTS
    assert SETTINGS_DEFAULTS["age_rule"] == "completed_years"
    assert SETTINGS_DEFAULTS["cg_weight"] == "actual"


def test_settings_choices_contain_their_defaults():
    for name, choices in SETTINGS_CHOICES.items():
        assert SETTINGS_DEFAULTS[name] in choices


@pytest.mark.parametrize("setting", sorted(SETTINGS_CHOICES))
def test_unknown_setting_choice_names_the_setting_and_choices(setting):
    with pytest.raises(
        ValueError, match=rf"{setting} must be one of .*{SETTINGS_DEFAULTS[setting]}"
    ):
        evaluate_eligibility({}, **{setting: "nonsense"})


def test_numeric_settings_are_validated():
    with pytest.raises(ValueError, match="bp_min_readings"):
        evaluate_eligibility({}, bp_min_readings=0)
    with pytest.raises(ValueError, match="antigen_positive_threshold_pct"):
        evaluate_eligibility({}, antigen_positive_threshold_pct=120)


def test_public_functions_have_docstrings_naming_their_source():
    for function, source in [
        (creatinine_clearance, "Cockcroft"),
        (qtcf, "Fridericia"),
        (age_in_years, "RULES.md"),
        (prednisone_equivalent_mg, "RULES.md"),
        (evaluate_eligibility, "RULES.md"),
    ]:
        assert source in (function.__doc__ or "")
    assert set(rules.__all__) <= set(dir(rules))
