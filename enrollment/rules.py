"""Eligibility rules for NCT06880354 (CLL1 + CD38 dual CAR-T, relapsed/refractory AML).

Pure functions: plain values in, frozen dataclasses out. No Django import (docs/architecture.md §3).

Sources
- Protocol eligibility criteria: ClinicalTrials.gov NCT06880354 registry text (inclusion 1-11,
  exclusion 1-19 with their numbered sub-items), operationalised in RULES.md §5.4.
- Cockcroft DW, Gault MH. Nephron 1976;16:31-41 (RULES.md §5.1).
- Fridericia LS 1920 (RULES.md §5.2).
- Oken MM et al. Am J Clin Oncol 1982;5:649-655, ECOG performance status (RULES.md §5.3).
- Glucocorticoid anti-inflammatory equivalence table (RULES.md §5.4, last paragraph).
- Devine BJ. Drug Intell Clin Pharm 1974;8:650 (ideal body weight, `cg_weight` variants).

Numbers are compared in decimal (``Decimal(str(x))``, 50 significant digits, results rounded to
1e-9 before a boundary test) so that binary floating-point error never flips a boundary.
"""

from __future__ import annotations

import calendar
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType

from rulekit.settings import Range, check_settings
from rulekit.validation import choice

__all__ = [
    "CRITERIA",
    "FACT_KEYS",
    "SETTINGS_CHOICES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_HELP",
    "SETTINGS_RANGES",
    "STEROID_EQUIVALENTS",
    "Criterion",
    "CriterionResult",
    "EligibilityResult",
    "FactSpec",
    "age_in_years",
    "creatinine_clearance",
    "evaluate_eligibility",
    "ideal_body_weight_kg",
    "prednisone_equivalent_mg",
    "qtcf",
    "subtract_months",
    "validate_settings",
]

PASS = "pass"
FAIL = "fail"
MISSING = "missing"

# --------------------------------------------------------------------------------------------
# Settings ([SETTING]s of RULES.md this module depends on, plus the ones it had to introduce)
# --------------------------------------------------------------------------------------------

SETTINGS_DEFAULTS: dict[str, object] = {
    # RULES.md §5.4: age at ICF in completed years (18 <= completed years <= 70).
    "age_rule": "completed_years",
    # RULES.md §5.1: body weight in Cockcroft-Gault.
    "cg_weight": "actual",
    # Not in RULES.md: the registry says "positive expression" without a cut-off. Percentage of
    # blasts positive by flow cytometry at or above which an antigen counts as expressed.
    "antigen_positive_threshold_pct": 20,
    # EX10.6 "based on the mean of >= 2 measurements".
    "bp_min_readings": 2,
    # RULES.md §5.2: average of triplicate ECGs if collected.
    "qtcf_aggregate": "mean",
    # EX8 wording is ambiguous (see evaluate_eligibility docstring).
    "malignancy_exemption_rule": "exempt_type_or_disease_free",
    "malignancy_disease_free_years": 5,
    # RULES.md §5.4: "6 months before" in calendar months, or 6 x 30.4375 days.
    "month_rule": "calendar",
}

SETTINGS_CHOICES: dict[str, tuple] = {
    "age_rule": ("completed_years", "exact_age"),
    "cg_weight": ("actual", "ideal", "adjusted"),
    "qtcf_aggregate": ("mean", "max"),
    "malignancy_exemption_rule": ("exempt_type_or_disease_free", "exempt_type_and_disease_free"),
    "month_rule": ("calendar", "days_30_4375"),
}

# Plausible bounds (not in RULES.md): a percentage is 0-100; the registry asks for ">= 2"
# blood-pressure readings and 5 disease-free years, so 10 readings and 50 years are generous.
SETTINGS_RANGES: dict[str, Range] = {
    "antigen_positive_threshold_pct": Range(0, 100, unit="% of blasts"),
    "bp_min_readings": Range(1, 10, whole=True, unit="readings"),
    "malignancy_disease_free_years": Range(0, 50, unit="years"),
}

#: What each setting decides and where it comes from, for the settings page.
SETTINGS_HELP: dict[str, str] = {
    "age_rule": "IN1: age 18-70 at consent in completed years, or exact age.",
    "cg_weight": "IN7.3: body weight in Cockcroft-Gault (Devine 1974 for ideal).",
    "antigen_positive_threshold_pct": "IN3: % of blasts positive by flow cytometry at or above "
    "which CLL1 or CD38 counts as expressed when the lab gives no call (not in the registry).",
    "bp_min_readings": "EX10.6: the blood pressure is the mean of at least this many readings.",
    "qtcf_aggregate": "EX10: QTcF of triplicate ECGs by their mean or maximum.",
    "malignancy_exemption_rule": "EX8: an exempt cancer type or disease-free, or both.",
    "malignancy_disease_free_years": "EX8: years disease-free for another cancer to be exempt.",
    "month_rule": "'n months before' in calendar months or n x 30.4375 days.",
}


def validate_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The complete, checked eligibility settings, or ``SettingsError`` naming each bad one.

    Why: one check for the study-settings page and for :func:`evaluate_eligibility`, so a stored
    setting is always one the eligibility rules accept (issue 10 item 3).
    """
    return check_settings(
        settings, defaults=SETTINGS_DEFAULTS, choices=SETTINGS_CHOICES, ranges=SETTINGS_RANGES
    )


# --------------------------------------------------------------------------------------------
# Steroid equivalence (RULES.md §5.4): mg of each drug equivalent to prednisone 5 mg.
# --------------------------------------------------------------------------------------------

STEROID_EQUIVALENTS: Mapping[str, float] = MappingProxyType(
    {
        "hydrocortisone": 20,
        "cortisone": 25,
        "prednisone": 5,
        "prednisolone": 5,
        "methylprednisolone": 4,
        "triamcinolone": 4,
        "dexamethasone": 0.75,
        "betamethasone": 0.6,
    }
)
_PREDNISONE_REFERENCE_MG = Decimal(5)

_PRECISION = 50
_BOUNDARY_QUANTUM = Decimal("1e-9")
_UMOL_PER_MG_DL_CREATININE = Decimal("88.4")


# --------------------------------------------------------------------------------------------
# Small value helpers
# --------------------------------------------------------------------------------------------


def _to_decimal(value: object, name: str) -> Decimal:
    """A finite Decimal from int/float/Decimal (via str, never Decimal(float))."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number (int, float or Decimal), got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    elif isinstance(value, numbers.Real):
        result = Decimal(str(float(value)))
    else:
        raise ValueError(f"{name} must be a number (int, float or Decimal), got {value!r}")
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return result


def _whole(value: object) -> int | None:
    """`value` as an int if it is a whole number (int, or a float/Decimal such as 2.0), else None.

    Why: a CRF or a caller may hand ECOG 2 or age 50 over as 2.0 / Decimal("50"); those are
    the same whole number, while 2.5 is not one.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (numbers.Real, Decimal)):
        try:
            number = _to_decimal(value, "value")
        except ValueError:
            return None
        if number == number.to_integral_value():
            return int(number)
    return None


def _number(
    value: object,
    name: str,
    *,
    minimum: Decimal | int | None = 0,
    maximum: Decimal | int | None = None,
    positive: bool = False,
) -> Decimal:
    number = _to_decimal(value, name)
    if positive and number <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return number


def _boundary(value: Decimal) -> Decimal:
    """Round a computed value to 1e-9 so that representation noise cannot flip a boundary."""
    return value.quantize(_BOUNDARY_QUANTUM, rounding=ROUND_HALF_EVEN)


def _fmt(value: Decimal | int | float, places: int = 2, avoid: Decimal | None = None) -> str:
    """Human-readable number: up to `places` decimals, trailing zeros dropped.

    If rounding would make a value that is not exactly `avoid` (a threshold) print as the
    threshold, more decimals are shown so the message never contradicts the decision.
    """
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    shown_places = places
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        while True:
            quantum = Decimal(1).scaleb(-shown_places)
            shown = number.quantize(quantum, rounding=ROUND_HALF_UP)
            if avoid is None or number == avoid or shown != avoid or shown_places >= 9:
                break
            shown_places += 1
    text = f"{shown:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _parse_date(value: object, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date (datetime.date or ISO 'YYYY-MM-DD'), got {value!r}")


def _parse_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be True, False or None (not known), got {value!r}")


def _parse_sex(value: object, name: str = "sex") -> str:
    if isinstance(value, str):
        normalized = value.strip().upper()
        if normalized in ("F", "FEMALE"):
            return "F"
        if normalized in ("M", "MALE"):
            return "M"
    raise ValueError(f"{name} must be one of 'F', 'M', got {value!r}")


_CREATININE_UNITS = {
    "mg/dl": "mg/dL",
    "umol/l": "umol/L",
    "\u00b5mol/l": "umol/L",  # micro sign
    "\u03bcmol/l": "umol/L",  # Greek small letter mu
}


def _parse_creatinine_unit(value: object, name: str = "unit") -> str:
    if isinstance(value, str) and value.strip().lower() in _CREATININE_UNITS:
        return _CREATININE_UNITS[value.strip().lower()]
    raise ValueError(f"{name} must be one of 'mg/dL', 'umol/L', 'µmol/L', got {value!r}")


def subtract_months(on_date: date, months: int) -> date:
    """`on_date` minus whole calendar months, clamped to the month's last day.

    Why: the protocol counts "6 months" windows in calendar months (EX5, EX9, EX10.2); a month
    without the day (2025-08-31 minus 6 months) lands on the last day of that month (2025-02-28).
    """
    if months < 0:
        raise ValueError(f"months must be >= 0, got {months!r}")
    month_index = on_date.year * 12 + (on_date.month - 1) - months
    year, month0 = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(on_date.day, last_day))


# --------------------------------------------------------------------------------------------
# Formulas (public contract)
# --------------------------------------------------------------------------------------------


def age_in_years(birth_date: date, on_date: date) -> int:
    """Age in completed years on `on_date` (RULES.md §5.4, `age_rule` = completed_years).

    Why: IN1 counts age at ICF signature and Cockcroft-Gault uses age at the lab date, both in
    completed years. A 29 February birthday is reached on 1 March in non-leap years (the
    birthday has not passed on 28 February). `on_date` before `birth_date` is impossible.
    """
    birth = _parse_date(birth_date, "birth_date")
    on = _parse_date(on_date, "on_date")
    if on < birth:
        raise ValueError(f"on_date ({on.isoformat()}) is before birth_date ({birth.isoformat()})")
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def _ideal_body_weight_decimal(height_cm: Decimal, sex: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        height_in = height_cm / Decimal("2.54")
        base = Decimal(50) if sex == "M" else Decimal("45.5")
        return base + Decimal("2.3") * (height_in - Decimal(60))


def ideal_body_weight_kg(height_cm: float, sex: str) -> float:
    """Devine ideal body weight: 50 kg (M) / 45.5 kg (F) + 2.3 kg per inch above 5 ft.

    Why: the `cg_weight` = "ideal"/"adjusted" variants of Cockcroft-Gault (RULES.md §5.1) need
    it. Applied as written, with no floor below 60 inches (Devine 1974).
    """
    height = _number(height_cm, "height_cm", positive=True, maximum=300)
    return float(_ideal_body_weight_decimal(height, _parse_sex(sex)))


def _creatinine_clearance_decimal(
    *,
    age_years: object,
    weight_kg: object,
    sex: object,
    creatinine: object,
    unit: object = "mg/dL",
    cg_weight: object = "actual",
    height_cm: object = None,
) -> tuple[Decimal, Decimal]:
    """(CrCl mL/min rounded to 1e-9, weight used kg)."""
    whole_age = _whole(age_years)
    if whole_age is None:
        raise ValueError(f"age_years must be a whole number of years, got {age_years!r}")
    age = whole_age
    if not 0 <= age <= 130:
        raise ValueError(f"age_years must be between 0 and 130, got {age_years!r}")
    weight = _number(weight_kg, "weight_kg", positive=True, maximum=700)
    sex_code = _parse_sex(sex)
    scr = _number(creatinine, "creatinine", positive=True)
    unit_code = _parse_creatinine_unit(unit)
    weight_rule = choice(cg_weight, "cg_weight", SETTINGS_CHOICES["cg_weight"])
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if weight_rule == "actual":
            weight_used = weight
        else:
            if height_cm is None:
                raise ValueError(f"height_cm is required when cg_weight is {weight_rule!r}")
            height = _number(height_cm, "height_cm", positive=True, maximum=300)
            ideal = _ideal_body_weight_decimal(height, sex_code)
            if weight_rule == "ideal":
                weight_used = ideal
            else:
                weight_used = ideal + Decimal("0.4") * (weight - ideal)
        numerator = (Decimal(140) - age) * weight_used
        if sex_code == "F":
            numerator *= Decimal("0.85")
        if unit_code == "umol/L":
            # (140-age)*W / (72 * SCr_umol/88.4): multiply first, divide once.
            numerator *= _UMOL_PER_MG_DL_CREATININE
        crcl = numerator / (Decimal(72) * scr)
        return _boundary(crcl), weight_used


def creatinine_clearance(
    *,
    age_years: int,
    weight_kg: float,
    sex: str,
    creatinine: float,
    unit: str = "mg/dL",
    cg_weight: str = "actual",
    height_cm: float | None = None,
) -> float:
    """Cockcroft-Gault creatinine clearance in mL/min (Cockcroft & Gault 1976; RULES.md §5.1).

    Why: IN7.3 requires CrCl > 45 mL/min. CrCl = (140 - age) x weight / (72 x SCr mg/dL),
    x 0.85 for women; not normalised to 1.73 m². `unit` "umol/L" (or "µmol/L") divides by
    exactly 88.4 (not the 1.23/1.04 shortcut). `cg_weight` [SETTING]: "actual" (original
    paper, default), "ideal" (Devine IBW) or "adjusted" (IBW + 0.4 x (actual - IBW)); the
    last two need `height_cm`. Age is in completed years at the lab date.
    """
    crcl, _ = _creatinine_clearance_decimal(
        age_years=age_years,
        weight_kg=weight_kg,
        sex=sex,
        creatinine=creatinine,
        unit=unit,
        cg_weight=cg_weight,
        height_cm=height_cm,
    )
    return float(crcl)


def _qtcf_decimal(qt_ms: object, heart_rate_bpm: object = None, rr_ms: object = None) -> Decimal:
    qt = _number(qt_ms, "qt_ms", positive=True, maximum=2000)
    if (heart_rate_bpm is None) == (rr_ms is None):
        raise ValueError(
            "give exactly one of heart_rate_bpm or rr_ms "
            f"(got heart_rate_bpm={heart_rate_bpm!r}, rr_ms={rr_ms!r})"
        )
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if heart_rate_bpm is not None:
            hr = _number(heart_rate_bpm, "heart_rate_bpm", positive=True, maximum=400)
            rr_s = Decimal(60) / hr
        else:
            rr_s = _number(rr_ms, "rr_ms", positive=True, maximum=10000) / Decimal(1000)
        cube_root = rr_s ** (Decimal(1) / Decimal(3))
        return _boundary(qt / cube_root)


def qtcf(*, qt_ms: float, heart_rate_bpm: float | None = None, rr_ms: float | None = None) -> float:
    """Fridericia-corrected QT in ms: QT / RR^(1/3), RR in seconds = 60 / heart rate.

    Why: EX10.3 excludes QTcF >= 480 ms (Fridericia 1920; RULES.md §5.2). Bazett is not a
    substitute. Exactly one of `heart_rate_bpm` / `rr_ms` must be given.
    """
    return float(_qtcf_decimal(qt_ms, heart_rate_bpm, rr_ms))


def _steroid_equivalent(drug: object, name: str = "drug") -> Decimal:
    if isinstance(drug, str):
        key = drug.strip().lower()
        if key in STEROID_EQUIVALENTS:
            return Decimal(str(STEROID_EQUIVALENTS[key]))
    known = ", ".join(STEROID_EQUIVALENTS)
    raise ValueError(f"{name} must be one of {known}, got {drug!r}")


def _prednisone_equivalent_decimal(drug: object, dose_mg: object, name: str = "drug") -> Decimal:
    equivalent = _steroid_equivalent(drug, name)
    dose = _number(dose_mg, "dose_mg")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return dose * _PREDNISONE_REFERENCE_MG / equivalent


def prednisone_equivalent_mg(drug: str, dose_mg: float) -> float:
    """Prednisone-equivalent dose in mg of `dose_mg` of a systemic glucocorticoid.

    Why: EX2.1 counts the cumulative prednisone-equivalent dose in the 7 days before apheresis.
    Anti-inflammatory equivalence (RULES.md §5.4): hydrocortisone 20 = cortisone 25 =
    prednisone 5 = prednisolone 5 = methylprednisolone 4 = triamcinolone 4 =
    dexamethasone 0.75 = betamethasone 0.6 mg. Drug names are case-insensitive.
    """
    return float(_boundary(_prednisone_equivalent_decimal(drug, dose_mg)))


# --------------------------------------------------------------------------------------------
# Criteria catalogue (protocol order)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One protocol criterion or sub-item: its code, kind, short title and parent."""

    code: str
    kind: str  # "inclusion" | "exclusion"
    title: str
    parent: str | None = None


def _criteria(rows: Iterable[tuple[str, str]]) -> Mapping[str, Criterion]:
    catalogue: dict[str, Criterion] = {}
    for code, title in rows:
        kind = "inclusion" if code.startswith("IN") else "exclusion"
        parent = code.split(".")[0] if "." in code else None
        catalogue[code] = Criterion(code=code, kind=kind, title=title, parent=parent)
    return MappingProxyType(catalogue)


CRITERIA: Mapping[str, Criterion] = _criteria(
    [
        ("IN1", "Age 18-70 years at informed consent"),
        ("IN2", "Relapsed/refractory AML (WHO 2022), not APL"),
        ("IN3", "CLL1 and/or CD38 expressed on blasts"),
        ("IN4", "Estimated survival ≥ 3 months"),
        ("IN5", "Confirmed allogeneic HSCT donor"),
        ("IN6", "ECOG performance status 0-2"),
        ("IN7", "Adequate organ function"),
        ("IN7.1", "ALT and AST ≤ 2.5 × ULN"),
        ("IN7.2", "Total bilirubin ≤ 2 × ULN (congenital: direct ≤ 1.5 × ULN)"),
        ("IN7.3", "Creatinine clearance > 45 mL/min (Cockcroft–Gault)"),
        ("IN7.4", "LVEF ≥ 45 %"),
        ("IN7.5", "SpO₂ ≥ 92 % on room air"),
        ("IN8", "Able to stop corticosteroids from Day −7 to Day +30"),
        ("IN9", "Negative HCG (WOCBP) / contraception and no sperm donation (men)"),
        ("IN10", "Agrees to protocol follow-up"),
        ("IN11", "Informed consent signed"),
        ("EX1", "Allergy to a study drug ingredient"),
        ("EX2", "Prohibited prior or expected treatment"),
        ("EX2.1", "Prednisone-equivalent ≥ 70 mg in the 7 days before apheresis"),
        ("EX2.2", "Expected systemic steroid/immunosuppressant need within 12 weeks"),
        ("EX2.3", "Systemic anti-tumor therapy within min(14 days, 5 half-lives) of apheresis"),
        ("EX2.4", "Radiotherapy within 4 weeks before apheresis"),
        ("EX2.5", "Donor lymphocyte infusion within 6 weeks before apheresis"),
        ("EX3", "Acute promyelocytic leukemia"),
        ("EX4", "Prior CAR-T, CAR-NK or other genetically modified cell therapy"),
        ("EX5", "Allogeneic HSCT within 6 months before screening"),
        ("EX6", "Active GvHD or immunosuppressants for GvHD"),
        ("EX7", "Active infection needing systemic treatment"),
        ("EX8", "Other active malignancy"),
        ("EX9", "Stroke or seizure within 6 months before consent"),
        ("EX10", "Heart disease"),
        ("EX10.1", "NYHA class III-IV heart failure"),
        ("EX10.2", "Myocardial infarction or CABG ≤ 6 months before enrollment"),
        ("EX10.3", "Severe arrhythmia, AV block II-III or QTcF ≥ 480 ms"),
        ("EX10.4", "Severe non-ischemic cardiomyopathy"),
        ("EX10.5", "LVEF < 45 % or symptomatic cardiac disease within 6 months"),
        ("EX10.6", "Uncontrolled hypertension (mean SBP ≥ 150 or DBP ≥ 100 mmHg)"),
        ("EX11", "CNS involvement by AML"),
        ("EX12", "Positive virology"),
        ("EX12.1", "HIV antibody positive"),
        ("EX12.2", "HBsAg positive, or anti-HBc positive with HBV DNA > LLOD"),
        ("EX12.3", "Anti-HCV positive with HCV RNA > LLOD"),
        ("EX12.4", "TPPA (syphilis) antibody positive"),
        ("EX13", "Pulmonary fibrosis"),
        ("EX14", "Active autoimmune disease"),
        ("EX15", "Live attenuated vaccine within 4 weeks before screening"),
        ("EX16", "Major surgery within 4 weeks before apheresis, or surgery planned"),
        ("EX17", "Pregnancy, breastfeeding, or plans for children within 2 years"),
        ("EX18", "Prior-treatment toxicity not resolved to grade ≤ 1"),
        ("EX19", "Investigator judges participation unsuitable"),
    ]
)

_CHILDREN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        parent: tuple(c.code for c in CRITERIA.values() if c.parent == parent)
        for parent in {c.parent for c in CRITERIA.values() if c.parent}
    }
)

# --------------------------------------------------------------------------------------------
# Facts catalogue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactSpec:
    """What one key of `facts` holds, so a CRF field can say which criteria it feeds.

    `type`: "date" | "bool" | "number" | "int" | "choice" | "list". `minimum`/`maximum`: the
    range outside which a value is impossible (ValueError); None = unbounded.
    """

    type: str
    unit: str
    description: str
    criteria: tuple[str, ...]
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None


# One entry per fact: "key: type; unit; criteria" then an indented description.
# Types: date, bool, list, number[min,max], int[min,max], choice[a,b] (empty bound = none).
_FACT_TABLE = """
screening_date: date; ; EX5 EX15 IN7.3
    Screening date (reference for EX5, EX15; default creatinine date)
icf_date: date; ; IN1 EX9
    Date the informed consent form was signed
planned_apheresis_date: date; ; EX2.1 EX2.3 EX2.4 EX2.5 EX16
    Planned apheresis date
enrollment_date: date; ; EX10.2
    Enrollment date
birth_date: date; ; IN1 IN7.3
    Date of birth
sex: choice[F,M]; ; IN7.3 IN9 EX17
    Sex
weight_kg: number[0,700]; kg; IN7.3
    Body weight at screening
height_cm: number[0,300]; cm; IN7.3
    Height (needed only when cg_weight is ideal or adjusted)
blood_pressure_readings_mmhg: list; mmHg; EX10.6
    Screening blood pressure readings as (systolic, diastolic) pairs; their mean is used
spo2_room_air_pct: number[0,100]; %; IN7.5
    Finger oxygen saturation on room air
ecog: int[0,5]; ; IN6
    ECOG performance status at screening
aml_who2022: bool; ; IN2
    AML diagnosed by WHO 2022 criteria
relapsed_refractory_aml: bool; ; IN2
    Meets relapsed/refractory AML criteria (2023 Chinese r/r AML guideline)
apl: bool; ; IN2 EX3
    Acute promyelocytic leukemia diagnosed
cll1_positive_blasts_pct: number[0,100]; %; IN3
    CLL1-positive blasts by flow cytometry
cd38_positive_blasts_pct: number[0,100]; %; IN3
    CD38-positive blasts by flow cytometry
cll1_positive: bool; ; IN3
    Lab's call: CLL1 expressed (positive) on blasts
cd38_positive: bool; ; IN3
    Lab's call: CD38 expressed (positive) on blasts
cns_involvement: bool; ; EX11
    Active or past CNS involvement, or clinical signs of CNS involvement
estimated_survival_at_least_3_months: bool; ; IN4
    Investigator estimates survival of at least 3 months
allo_hsct_donor_confirmed: bool; ; IN5
    A donor for allogeneic HSCT is confirmed
able_to_stop_steroids: bool; ; IN8
    Able to stop corticosteroids (dexamethasone >= 3 mg/day or equivalent) Day -7 to Day +30
contraception_agreed: bool; ; IN9
    Man agrees to highly effective contraception and no sperm donation for 2 years
willing_to_follow_up: bool; ; IN10
    Agrees to follow-up as the protocol and ICF require
icf_signed: bool; ; IN11
    Informed consent form signed voluntarily
steroids_needed_within_12_weeks: bool; ; EX2.2
    Investigator expects a comorbidity to need systemic steroids (>= 70 mg in total,
    prednisone-equivalent) or other immunosuppressants within 12 weeks after treatment
plans_children_within_2_years: bool; ; EX17
    Plans to have children during the study or within 2 years after treatment
investigator_judges_unsuitable: bool; ; EX19
    Investigator judges a condition interferes with participation or the subject's interest
alt_u_l: number[0,]; U/L; IN7.1
    Alanine aminotransferase
alt_uln_u_l: number[0,]; U/L; IN7.1
    ALT upper limit of normal
ast_u_l: number[0,]; U/L; IN7.1
    Aspartate aminotransferase
ast_uln_u_l: number[0,]; U/L; IN7.1
    AST upper limit of normal
total_bilirubin: number[0,]; same unit as total_bilirubin_uln; IN7.2
    Total serum bilirubin
total_bilirubin_uln: number[0,]; same unit as total_bilirubin; IN7.2
    Total bilirubin upper limit of normal
direct_bilirubin: number[0,]; same unit as direct_bilirubin_uln; IN7.2
    Direct (conjugated) bilirubin
direct_bilirubin_uln: number[0,]; same unit as direct_bilirubin; IN7.2
    Direct bilirubin upper limit of normal
congenital_hyperbilirubinemia: bool; ; IN7.2
    Gilbert's syndrome or another congenital hyperbilirubinemia
creatinine: number[0,]; creatinine_unit; IN7.3
    Serum creatinine
creatinine_unit: choice[mg/dL,umol/L]; ; IN7.3
    Unit of serum creatinine (µmol/L is accepted and read as umol/L)
creatinine_date: date; ; IN7.3
    Creatinine sample date, for the age in Cockcroft-Gault (default: screening_date)
lvef_pct: number[0,100]; %; IN7.4 EX10.5
    Left ventricular ejection fraction by echocardiography or MUGA
qt_ms: number[0,2000]; ms; EX10.3
    QT interval of a single ECG
heart_rate_bpm: number[0,400]; bpm; EX10.3
    Heart rate of that ECG (give this or rr_ms)
rr_ms: number[0,10000]; ms; EX10.3
    RR interval of that ECG (give this or heart_rate_bpm)
ecg_readings: list; ms, bpm; EX10.3
    Replicate ECGs as mappings {qt_ms, heart_rate_bpm | rr_ms}, instead of qt_ms; the per-ECG
    QTcF values are combined by the qtcf_aggregate setting
nyha_class: int[0,4]; ; EX10.1
    NYHA heart-failure class, 0 = no heart failure
prior_mi_or_cabg: bool; ; EX10.2
    History of myocardial infarction or coronary artery bypass graft
mi_or_cabg_last_date: date; ; EX10.2
    Date of the latest myocardial infarction or CABG
severe_arrhythmia: bool; ; EX10.3
    Severe rhythm or conduction abnormality, e.g. ventricular arrhythmia needing intervention
av_block_2nd_or_3rd_degree: bool; ; EX10.3
    Atrioventricular block of degree II or III
severe_nonischemic_cardiomyopathy: bool; ; EX10.4
    History of severe non-ischemic cardiomyopathy
symptomatic_cardiac_disease_within_6_months: bool; ; EX10.5
    Other clinically symptomatic cardiac disease within 6 months before enrollment
hiv_antibody_positive: bool; ; EX12.1
    HIV antibody positive
hbsag_positive: bool; ; EX12.2
    Hepatitis B surface antigen positive
anti_hbc_positive: bool; ; EX12.2
    Hepatitis B core antibody positive
hbv_dna: number[0,]; IU/mL or copies/mL, as hbv_dna_llod; EX12.2
    HBV DNA level; 0 = not detected
hbv_dna_llod: number[0,]; same unit as hbv_dna; EX12.2
    Lower limit of detection of the HBV DNA assay
anti_hcv_positive: bool; ; EX12.3
    Hepatitis C virus antibody positive
hcv_rna: number[0,]; IU/mL, as hcv_rna_llod; EX12.3
    HCV RNA level; 0 = not detected
hcv_rna_llod: number[0,]; same unit as hcv_rna; EX12.3
    Lower limit of detection of the HCV RNA assay
tppa_positive: bool; ; EX12.4
    Treponema pallidum particle agglutination (TPPA) antibody positive
childbearing_potential: bool; ; IN9 EX17
    Woman of childbearing potential
hcg_screening_positive: bool; ; IN9 EX17
    HCG (immunofluorescence) positive at screening
hcg_baseline_positive: bool; ; IN9 EX17
    HCG (immunofluorescence) positive at baseline
breastfeeding: bool; ; EX17
    Breastfeeding
agrees_to_stop_breastfeeding: bool; ; EX17
    Agrees to give up breastfeeding
steroid_courses: list; mg/day; EX2.1
    Systemic corticosteroid courses before apheresis as mappings {drug, daily_dose_mg,
    start_date, end_date, ongoing}; [] = none taken
antitumor_therapies: list; days; EX2.3
    Systemic anti-tumor therapies as mappings {name, end_date, half_life_days}; [] = none
last_antitumor_therapy_end_date: date; ; EX2.3
    Last dose date of the most recent systemic anti-tumor therapy
last_antitumor_therapy_half_life_days: number[0,]; days; EX2.3
    Elimination half-life of that therapy
prior_radiotherapy: bool; ; EX2.4
    Any radiotherapy received
radiotherapy_last_date: date; ; EX2.4
    Date of the last radiotherapy
prior_dli: bool; ; EX2.5
    Any donor lymphocyte infusion received
dli_last_date: date; ; EX2.5
    Date of the last donor lymphocyte infusion
prior_car_t_or_gene_therapy: bool; ; EX4
    Prior CAR-T, CAR-NK or other genetically modified cell therapy
prior_allo_hsct: bool; ; EX5
    Any allogeneic HSCT received
allo_hsct_last_date: date; ; EX5
    Date of the latest allogeneic HSCT
prior_live_vaccine: bool; ; EX15
    Any live attenuated vaccine received
live_vaccine_last_date: date; ; EX15
    Date of the latest live attenuated vaccine
prior_major_surgery: bool; ; EX16
    Any major surgery (a diagnostic biopsy is not major surgery)
major_surgery_last_date: date; ; EX16
    Date of the latest major surgery
surgery_planned: bool; ; EX16
    Surgery planned during the study (except diagnostic biopsy)
prior_stroke_or_seizure: bool; ; EX9
    Any stroke or seizure
stroke_or_seizure_last_date: date; ; EX9
    Date of the latest stroke or seizure
study_drug_allergy: bool; ; EX1
    Known allergy to any ingredient of the drugs used in the study
active_gvhd: bool; ; EX6
    Active graft-versus-host disease at screening
gvhd_active_within_4_weeks: bool; ; EX6
    Active acute or chronic GvHD within 4 weeks before enrollment
gvhd_immunosuppressants: bool; ; EX6
    Needs immunosuppressive drugs for GvHD
active_infection_systemic_treatment: bool; ; EX7
    Active infection that needs systemic treatment
other_malignancy: bool; ; EX8
    History of another malignancy
other_malignancy_exempt_type: bool; ; EX8
    That malignancy is non-melanoma skin cancer, cervical carcinoma in situ, bladder or breast
    cancer, or a similar cancer
other_malignancy_disease_free_years: number[0,]; years; EX8
    Disease-free years after curative treatment of that malignancy
pulmonary_fibrosis: bool; ; EX13
    Pulmonary fibrosis
active_autoimmune_disease: bool; ; EX14
    Active autoimmune disease (e.g. SLE, rheumatoid arthritis, multiple sclerosis, Sjögren's)
unresolved_prior_toxicity: bool; ; EX18
    An acute side effect of previous treatment has not returned to grade 1 or below
unresolved_toxicity_no_safety_risk: bool; ; EX18
    Investigator judges that unresolved toxicity to carry no safety risk (e.g. alopecia)
"""


def _bound(text: str) -> float | None:
    return float(text) if text.strip() else None


def _read_fact_table(table: str) -> Mapping[str, FactSpec]:
    rows: dict[str, list[str]] = {}
    key = ""
    for line in table.strip("\n").splitlines():
        if line.startswith(" "):
            rows[key][3] = f"{rows[key][3]} {line.strip()}".strip()
            continue
        key, rest = line.split(":", 1)
        type_text, unit, criteria = (part.strip() for part in rest.split(";"))
        rows[key] = [type_text, unit, criteria, ""]
    specs: dict[str, FactSpec] = {}
    for key, (type_text, unit, criteria, description) in rows.items():
        kind, _, bounds = type_text.partition("[")
        bounds = bounds.rstrip("]")
        choices: tuple = ()
        minimum = maximum = None
        if kind == "choice":
            choices = tuple(bounds.split(","))
        elif bounds:
            low, high = bounds.split(",")
            minimum, maximum = _bound(low), _bound(high)
        specs[key] = FactSpec(
            type=kind,
            unit=unit,
            description=description,
            criteria=tuple(criteria.split()),
            choices=choices,
            minimum=minimum,
            maximum=maximum,
        )
    return MappingProxyType(specs)


FACT_KEYS: Mapping[str, FactSpec] = _read_fact_table(_FACT_TABLE)

# Wording for yes/no facts: key, then "what is needed | sentence if True | sentence if False".
_FLAG_TABLE = """
aml_who2022
    WHO 2022 AML diagnosis | AML by WHO 2022 | Not AML by WHO 2022 criteria
relapsed_refractory_aml
    Relapsed/refractory status | relapsed/refractory | Not relapsed/refractory AML
apl
    APL status | Acute promyelocytic leukemia | not APL
estimated_survival_at_least_3_months
    Investigator's survival estimate | Estimated survival ≥ 3 months |
    Estimated survival < 3 months
allo_hsct_donor_confirmed
    Allo-HSCT donor confirmation | Allo-HSCT donor confirmed | No confirmed allo-HSCT donor
able_to_stop_steroids
    Ability to stop corticosteroids | Able to stop corticosteroids from Day −7 to Day +30 |
    Not able to stop corticosteroids from Day −7 to Day +30
contraception_agreed
    Contraception agreement | Agrees to contraception and no sperm donation for 2 years |
    Does not agree to contraception and no sperm donation for 2 years
willing_to_follow_up
    Agreement to follow-up | Agrees to follow-up | Does not agree to follow-up
icf_signed
    Informed consent signature | Informed consent signed | Informed consent not signed
study_drug_allergy
    Study drug allergy status | Allergy to a study drug ingredient |
    No known allergy to study drug ingredients
steroids_needed_within_12_weeks
    Investigator's assessment of expected steroid use |
    Expected to need systemic steroids/immunosuppressants within 12 weeks after treatment |
    No expected need for systemic steroids/immunosuppressants
prior_car_t_or_gene_therapy
    Prior CAR-T/CAR-NK/gene therapy status | Prior CAR-T/CAR-NK/gene-modified cell therapy |
    No prior CAR-T/CAR-NK/gene-modified cell therapy
active_gvhd
    Active GvHD status at screening | Active GvHD at screening | no active GvHD
gvhd_active_within_4_weeks
    GvHD status in the 4 weeks before enrollment | Active GvHD within 4 weeks of enrollment |
    none within 4 weeks
gvhd_immunosuppressants
    Need for GvHD immunosuppressants | Needs immunosuppressants for GvHD |
    no GvHD immunosuppressants
active_infection_systemic_treatment
    Active infection status | Active infection needing systemic treatment |
    No active infection needing systemic treatment
severe_arrhythmia
    Severe arrhythmia status | Severe rhythm/conduction abnormality | no severe arrhythmia
av_block_2nd_or_3rd_degree
    AV block status | AV block degree II-III | no AV block II-III
severe_nonischemic_cardiomyopathy
    Cardiomyopathy history | Severe non-ischemic cardiomyopathy |
    No severe non-ischemic cardiomyopathy
symptomatic_cardiac_disease_within_6_months
    Symptomatic cardiac disease status | Symptomatic cardiac disease within 6 months |
    no symptomatic cardiac disease within 6 months
cns_involvement
    CNS involvement status | CNS involvement | No CNS involvement
hiv_antibody_positive
    HIV antibody result | HIV antibody positive | HIV antibody negative
hbsag_positive
    HBsAg result | HBsAg positive | HBsAg negative
tppa_positive
    TPPA result | TPPA positive | TPPA negative
pulmonary_fibrosis
    Pulmonary fibrosis status | Pulmonary fibrosis | No pulmonary fibrosis
active_autoimmune_disease
    Autoimmune disease status | Active autoimmune disease | No active autoimmune disease
surgery_planned
    Planned-surgery status | Surgery planned during the study | no surgery planned
plans_children_within_2_years
    Plans for children | Plans children within 2 years | no plans for children
agrees_to_stop_breastfeeding
    Agreement to stop breastfeeding | breastfeeding but agrees to stop |
    Breastfeeding and does not agree to stop
unresolved_toxicity_no_safety_risk
    Investigator's judgement of the unresolved toxicity |
    Unresolved toxicity judged without safety risk by the investigator |
    Prior-treatment toxicity above grade 1 with a safety risk
investigator_judges_unsuitable
    Investigator judgement | Investigator judges participation unsuitable |
    No investigator concern
"""


def _read_flag_table(table: str) -> Mapping[str, tuple[str, str, str]]:
    texts: dict[str, str] = {}
    key = ""
    for line in table.strip("\n").splitlines():
        if line.startswith(" "):
            texts[key] = f"{texts[key]} {line.strip()}".strip()
        else:
            key = line.strip()
            texts[key] = ""
    result: dict[str, tuple[str, str, str]] = {}
    for key, text in texts.items():
        needed, yes, no = (part.strip() for part in text.split("|"))
        result[key] = (needed, yes, no)
    return MappingProxyType(result)


_FLAG_TEXT = _read_flag_table(_FLAG_TABLE)


# --------------------------------------------------------------------------------------------
# Parsing of facts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SteroidCourse:
    drug: str | None
    daily_dose_mg: Decimal | None
    start_date: date | None
    end_date: date | None
    ongoing: bool | None


@dataclass(frozen=True)
class _Therapy:
    name: str
    end_date: date | None
    half_life_days: Decimal | None
    from_list: bool = True  # False: built from the last_antitumor_therapy_* facts


def _parse_bp_readings(value: object, name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of (systolic, diastolic) pairs, got {value!r}")
    readings = []
    for index, reading in enumerate(value):
        item = f"{name}[{index}]"
        if isinstance(reading, Mapping):
            _check_keys(reading, item, ("sbp", "dbp"))
            pair = (reading.get("sbp"), reading.get("dbp"))
        elif isinstance(reading, (tuple, list)) and len(reading) == 2:
            pair = (reading[0], reading[1])
        else:
            raise ValueError(f"{item} must be a (systolic, diastolic) pair, got {reading!r}")
        sbp = _number(pair[0], f"{item} systolic", positive=True, maximum=350)
        dbp = _number(pair[1], f"{item} diastolic", positive=True, maximum=250)
        if dbp >= sbp:
            raise ValueError(f"{item}: diastolic {pair[1]!r} must be below systolic {pair[0]!r}")
        readings.append((sbp, dbp))
    return tuple(readings)


def _items(value: object, name: str, what: str) -> Iterable[tuple[str, object]]:
    """(``name[i]``, item) for a list-valued fact; a string or a non-list is refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of {what}")
    return ((f"{name}[{index}]", item) for index, item in enumerate(value))


def _check_keys(mapping: Mapping, item: str, allowed: Iterable[str]) -> None:
    unknown = set(mapping) - set(allowed)
    if unknown:
        raise ValueError(
            f"{item} has unknown keys {sorted(unknown)}; allowed: {', '.join(allowed)}"
        )


def _parse_ecg_readings(value: object, name: str) -> tuple[Decimal, ...]:
    values = []
    for item, reading in _items(value, name, "{qt_ms, heart_rate_bpm | rr_ms} mappings"):
        if not isinstance(reading, Mapping):
            raise ValueError(f"{item} must be a mapping with qt_ms and heart_rate_bpm or rr_ms")
        _check_keys(reading, item, ("qt_ms", "heart_rate_bpm", "rr_ms"))
        try:
            values.append(
                _qtcf_decimal(
                    reading.get("qt_ms"), reading.get("heart_rate_bpm"), reading.get("rr_ms")
                )
            )
        except ValueError as exc:
            raise ValueError(f"{item}: {exc}") from None
    return tuple(values)


_STEROID_COURSE_KEYS = ("drug", "daily_dose_mg", "start_date", "end_date", "ongoing")


def _parse_steroid_courses(value: object, name: str) -> tuple[_SteroidCourse, ...]:
    courses = []
    for item, course in _items(value, name, "course mappings ([] = no steroids)"):
        if isinstance(course, (tuple, list)) and len(course) == 4:
            course = dict(zip(_STEROID_COURSE_KEYS[:4], course, strict=True))
        if not isinstance(course, Mapping):
            raise ValueError(
                f"{item} must be a mapping with keys {', '.join(_STEROID_COURSE_KEYS)}"
            )
        _check_keys(course, item, _STEROID_COURSE_KEYS)
        drug = course.get("drug")
        if drug is not None:
            _steroid_equivalent(drug, f"{item}.drug")
            drug = drug.strip().lower()
        dose = course.get("daily_dose_mg")
        start = course.get("start_date")
        end = course.get("end_date")
        ongoing = course.get("ongoing")
        parsed = _SteroidCourse(
            drug=drug,
            daily_dose_mg=None if dose is None else _number(dose, f"{item}.daily_dose_mg"),
            start_date=None if start is None else _parse_date(start, f"{item}.start_date"),
            end_date=None if end is None else _parse_date(end, f"{item}.end_date"),
            ongoing=None if ongoing is None else _parse_bool(ongoing, f"{item}.ongoing"),
        )
        if parsed.start_date and parsed.end_date and parsed.end_date < parsed.start_date:
            raise ValueError(f"{item}.end_date is before {item}.start_date")
        if parsed.end_date is not None and parsed.ongoing:
            raise ValueError(f"{item}: give end_date or ongoing=True, not both")
        courses.append(parsed)
    return tuple(courses)


def _parse_therapies(value: object, name: str) -> tuple[_Therapy, ...]:
    therapies = []
    for item, therapy in _items(value, name, "therapy mappings ([] = none)"):
        if not isinstance(therapy, Mapping):
            raise ValueError(f"{item} must be a mapping with keys name, end_date, half_life_days")
        _check_keys(therapy, item, ("name", "end_date", "half_life_days"))
        end = therapy.get("end_date")
        half_life = therapy.get("half_life_days")
        therapies.append(
            _Therapy(
                name=str(therapy.get("name") or f"therapy {len(therapies) + 1}"),
                end_date=None if end is None else _parse_date(end, f"{item}.end_date"),
                half_life_days=None
                if half_life is None
                else _number(half_life, f"{item}.half_life_days", positive=True),
            )
        )
    return tuple(therapies)


def _parse_fact(key: str, value: object) -> object:
    spec = FACT_KEYS[key]
    if spec.type == "date":
        return _parse_date(value, key)
    if spec.type == "bool":
        return _parse_bool(value, key)
    if spec.type == "number":
        return _number(value, key, minimum=spec.minimum, maximum=spec.maximum)
    if spec.type == "int":
        whole = _whole(value)
        if whole is None:
            raise ValueError(
                f"{key} must be a whole number from {spec.minimum:g} to {spec.maximum:g}, "
                f"got {value!r}"
            )
        if not spec.minimum <= whole <= spec.maximum:  # type: ignore[operator]
            raise ValueError(
                f"{key} must be from {spec.minimum:g} to {spec.maximum:g}, got {value!r}"
            )
        return whole
    if key == "sex":
        return _parse_sex(value, key)
    if key == "creatinine_unit":
        return _parse_creatinine_unit(value, key)
    if key == "blood_pressure_readings_mmhg":
        return _parse_bp_readings(value, key)
    if key == "ecg_readings":
        return _parse_ecg_readings(value, key)
    if key == "steroid_courses":
        return _parse_steroid_courses(value, key)
    if key == "antitumor_therapies":
        return _parse_therapies(value, key)
    raise AssertionError(f"no parser for {key}")  # pragma: no cover


def _parse_facts(facts: Mapping[str, object]) -> dict[str, object]:
    if not isinstance(facts, Mapping):
        raise ValueError(f"facts must be a mapping of fact keys to values, got {type(facts)}")
    unknown = sorted(set(facts) - set(FACT_KEYS))
    if unknown:
        raise ValueError(
            f"facts has unknown key(s) {', '.join(map(str, unknown))}; allowed keys are listed "
            "in enrollment.rules.FACT_KEYS"
        )
    parsed: dict[str, object] = {}
    for key, value in facts.items():
        if value is not None:
            parsed[key] = _parse_fact(key, value)
    if "ecg_readings" in parsed and any(k in parsed for k in ("qt_ms", "heart_rate_bpm", "rr_ms")):
        raise ValueError("give either ecg_readings or qt_ms with heart_rate_bpm/rr_ms, not both")
    if "heart_rate_bpm" in parsed and "rr_ms" in parsed:
        raise ValueError("give exactly one of heart_rate_bpm or rr_ms, not both")
    return parsed


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    """The decision on one criterion, with what decided it, in words a coordinator can read.

    `status`: "pass" (does not block enrollment; for an exclusion: not present), "fail" or
    "missing". `values`: the deciding value(s) by name. `threshold`: the protocol limit.
    `needs`: the fact keys still needed when the status is "missing".
    """

    code: str
    kind: str
    title: str
    status: str
    message: str
    threshold: str = ""
    values: dict[str, object] = field(default_factory=dict)
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class EligibilityResult:
    """Eligibility for NCT06880354: one result per criterion and sub-item, in protocol order.

    `eligible` is False as soon as any criterion fails, None while none fails but any is
    missing, True when all pass. `derived` holds computed values (age, CrCl, QTcF, mean BP,
    prednisone-equivalent total, ...).
    """

    eligible: bool | None
    criteria: dict[str, str]
    details: dict[str, CriterionResult]
    derived: dict[str, object] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """Codes of failing criteria, in protocol order."""
        return [code for code, status in self.criteria.items() if status == FAIL]

    @property
    def missing(self) -> list[str]:
        """Codes of criteria that cannot be decided yet, in protocol order."""
        return [code for code, status in self.criteria.items() if status == MISSING]


# --------------------------------------------------------------------------------------------
# Evaluation machinery
# --------------------------------------------------------------------------------------------

# One part of a criterion: (status, sentence, fact keys still needed).
_Part = tuple[str, str, tuple[str, ...]]


def _combine_status(statuses: Iterable[str]) -> str:
    """fail if any fails, else missing if any is missing, else pass (the parent rule)."""
    statuses = list(statuses)
    if FAIL in statuses:
        return FAIL
    if MISSING in statuses:
        return MISSING
    return PASS


def _from_parts(parts: list[_Part]) -> tuple[str, str, tuple[str, ...]]:
    status = _combine_status(p[0] for p in parts)
    chosen = parts if status == PASS else [p for p in parts if p[0] == status]
    message = "; ".join(p[1] for p in chosen)
    message = message[:1].upper() + message[1:]
    needs: list[str] = []
    for part in chosen:
        needs.extend(k for k in part[2] if k not in needs)
    return status, message, tuple(needs) if status == MISSING else ()


_REFERENCE_LABELS = {
    "screening_date": "Screening date",
    "icf_date": "ICF signature date",
    "planned_apheresis_date": "Planned apheresis date",
    "enrollment_date": "Enrollment date",
}
_REFERENCE_NOUNS = {
    "screening_date": "screening",
    "icf_date": "ICF signature",
    "planned_apheresis_date": "planned apheresis",
    "enrollment_date": "enrollment",
}


def _readable(key: str) -> str:
    """A fact key as words for a message ("hbv_dna_llod" → "Hbv dna llod"), never the raw key."""
    return key.replace("_", " ").capitalize()


def _needed(*keys: str, label: str | None = None) -> _Part:
    """A 'missing' part: names what is needed, e.g. "Planned apheresis date needed"."""
    text = label or " and ".join(_REFERENCE_LABELS.get(k, _readable(k)) for k in keys)
    return (MISSING, f"{text} needed", tuple(keys))


def _is_birthday(birth: date, on: date) -> bool:
    if (birth.month, birth.day) == (on.month, on.day):
        return True
    # 29 February birthdays fall on 1 March in non-leap years (as in age_in_years).
    return (
        (birth.month, birth.day) == (2, 29)
        and not calendar.isleap(on.year)
        and (on.month, on.day) == (3, 1)
    )


def age_criterion_met(
    birth_date: date, icf_date: date, *, age_rule: str = "completed_years"
) -> bool:
    """IN1: 18–70 years old at the informed-consent signature (registry text, RULES.md §5.4).

    ``age_rule`` [SETTING]: "completed_years" admits 18 ≤ completed years ≤ 70 (up to the day
    before the 71st birthday); "exact_age" stops on the 70th birthday itself.
    """
    choice(age_rule, "age_rule", SETTINGS_CHOICES["age_rule"])
    age = age_in_years(birth_date, icf_date)
    if age_rule == "completed_years":
        return 18 <= age <= 70
    return age >= 18 and (age < 70 or (age == 70 and _is_birthday(birth_date, icf_date)))


class _Evaluator:
    """Holds the parsed facts and settings and records one CriterionResult per code."""

    def __init__(self, facts: dict[str, object], settings: dict[str, object]) -> None:
        self.f = facts
        self.s = settings
        self.results: dict[str, CriterionResult] = {}
        self.derived: dict[str, object] = {}

    # -- recording ---------------------------------------------------------------------------

    def record(
        self,
        code: str,
        parts: list[_Part],
        threshold: str = "",
        values: Mapping[str, object] | None = None,
    ) -> None:
        status, message, needs = _from_parts(parts)
        criterion = CRITERIA[code]
        self.results[code] = CriterionResult(
            code=code,
            kind=criterion.kind,
            title=criterion.title,
            status=status,
            message=message,
            threshold=threshold,
            values=dict(values or {}),
            needs=needs,
        )

    def record_parent(self, code: str) -> None:
        children = [self.results[c] for c in _CHILDREN[code]]
        status = _combine_status(r.status for r in children)
        if status == PASS:
            message = f"All of {', '.join(r.code for r in children)} pass"
        else:
            word = "Failed" if status == FAIL else "Missing"
            message = f"{word}: " + ", ".join(r.code for r in children if r.status == status)
        needs: list[str] = []
        if status == MISSING:
            for r in children:
                needs.extend(k for k in r.needs if k not in needs)
        criterion = CRITERIA[code]
        self.results[code] = CriterionResult(
            code=code,
            kind=criterion.kind,
            title=criterion.title,
            status=status,
            message=message,
            threshold="all sub-items pass",
            values={r.code: r.status for r in children},
            needs=tuple(needs),
        )

    def flag(self, key: str, *, bad: bool) -> _Part:
        """A yes/no fact; the value `bad` blocks enrollment, None is missing."""
        needed, yes, no = _FLAG_TEXT[key]
        value = self.f.get(key)
        if value is None:
            return _needed(key, label=needed)
        return (FAIL if value is bad else PASS, yes if value else no, ())

    def flag_criterion(self, code: str, key: str, *, bad: bool = True) -> None:
        """A criterion decided by one yes/no fact (exclusions: True = present = fail)."""
        threshold = "absent" if bad else "yes"
        self.record(code, [self.flag(key, bad=bad)], threshold, {key: self.f.get(key)})

    def number_part(
        self, key: str, label: str, limit: int, unit: str, *, at_least: bool, needed: str
    ) -> _Part:
        """value >= limit (at_least) or value < limit passes; None is missing."""
        value = self.f.get(key)
        if value is None:
            return _needed(key, label=needed)
        assert isinstance(value, Decimal)
        rounded = _boundary(value)  # 0.57 * 100 = 56.99999999999999 is 57 %
        ok = rounded >= limit if at_least else rounded < limit
        shown = _fmt(value, 1, Decimal(limit))
        return (
            PASS if ok else FAIL,
            f"{label} {shown}{unit} — needs {'≥' if at_least else '<'} {limit}{unit}",
            (),
        )

    # -- shared date logic ---------------------------------------------------------------------

    def washout(
        self,
        code: str,
        *,
        prior_key: str,
        date_key: str,
        reference_key: str,
        what: str,
        days: int | None = None,
        months: int | None = None,
        strict: bool = False,
        extra: list[_Part] | None = None,
    ) -> None:
        """The latest event must lie `days` days / `months` calendar months before a reference.

        Non-strict (default): the boundary day passes (exactly 28 days before apheresis is
        "4 weeks before"). Strict (MI/CABG: "≤ 6 months" excludes): the boundary day fails.
        """
        prior = self.f.get(prior_key)
        event = self.f.get(date_key)
        reference = self.f.get(reference_key)
        noun = _REFERENCE_NOUNS[reference_key]
        values: dict[str, object] = {date_key: event, reference_key: reference}
        window = f"{days} days" if days is not None else f"{months} months"
        comparison = ">" if strict else "≥"
        threshold = f"{comparison} {window} before {noun}"
        if prior is False and event is not None:
            raise ValueError(f"{prior_key} is False but {date_key} is given ({event})")
        if prior is False:
            part: _Part = (PASS, f"No {what}", ())
        elif event is None:
            label = f"Date of the latest {what}" if prior else f"Any prior {what} (yes/no)"
            part = _needed(date_key if prior else prior_key, label=label)
        elif reference is None:
            part = _needed(reference_key)
        else:
            assert isinstance(event, date) and isinstance(reference, date)
            if days is not None:
                gap = (reference - event).days
                values["days_before"] = gap
                ok = gap > days if strict else gap >= days
                sentence = (
                    f"Latest {what} {event.isoformat()}, {gap} days before "
                    f"{noun} ({reference.isoformat()}) — needs {comparison} {days} days"
                )
            elif self.s["month_rule"] == "days_30_4375":
                assert months is not None
                gap = (reference - event).days
                needed = Decimal(months) * Decimal("30.4375")
                values["days_before"] = gap
                ok = gap > needed if strict else gap >= needed
                sentence = (
                    f"Latest {what} {event.isoformat()}, {gap} days before "
                    f"{noun} ({reference.isoformat()}) — needs {comparison} {_fmt(needed)} days "
                    f"({months} × 30.4375)"
                )
            else:
                assert months is not None
                limit = subtract_months(reference, months)
                values["latest_allowed_date"] = limit if not strict else limit - timedelta(1)
                ok = event < limit if strict else event <= limit
                sentence = (
                    f"Latest {what} {event.isoformat()}; {noun} {reference.isoformat()} "
                    f"— needs {'before' if strict else 'on or before'} "
                    f"{limit.isoformat()} ({'more than ' if strict else ''}{months} months)"
                )
            part = (PASS if ok else FAIL, sentence, ())
        self.record(code, [part, *(extra or [])], threshold, values)

    # -- inclusion -----------------------------------------------------------------------------

    def in1_age(self) -> None:
        birth, icf = self.f.get("birth_date"), self.f.get("icf_date")
        parts: list[_Part] = []
        values: dict[str, object] = {}
        if birth is None:
            parts.append(_needed("birth_date", label="Date of birth"))
        if icf is None:
            parts.append(_needed("icf_date"))
        if not parts:
            assert isinstance(birth, date) and isinstance(icf, date)
            age = age_in_years(birth, icf)
            values["age_years"] = age
            self.derived["age_at_icf_years"] = age
            ok = age_criterion_met(birth, icf, age_rule=str(self.s["age_rule"]))
            sentence = f"Age {age} years at informed consent ({icf.isoformat()}) — needs 18-70"
            parts.append((PASS if ok else FAIL, sentence, ()))
        self.record("IN1", parts, "18 ≤ age ≤ 70 years", values)

    def in3_antigen(self) -> None:
        threshold = self.s["antigen_positive_threshold_pct"]
        assert isinstance(threshold, Decimal)
        statuses, texts, absent, needs = [], [], [], []
        values: dict[str, object] = {}
        for key, call_key, label in (
            ("cll1_positive_blasts_pct", "cll1_positive", "CLL1"),
            ("cd38_positive_blasts_pct", "cd38_positive", "CD38"),
        ):
            pct, call = self.f.get(key), self.f.get(call_key)
            if call is not None:
                # The lab's positive/negative call decides; a percentage only where no call.
                values[call_key] = call
                statuses.append(PASS if call else FAIL)
                texts.append(f"{label} {'positive' if call else 'negative'} (lab call)")
            elif pct is None:
                statuses.append(MISSING)
                absent.append(label)
                needs.append(key)
            else:
                assert isinstance(pct, Decimal)
                values[key] = float(pct)
                statuses.append(PASS if _boundary(pct) >= threshold else FAIL)
                texts.append(f"{label} {_fmt(pct, 1, threshold)} %")
        # "CLL1 and/or CD38": one expressed antigen is enough.
        status = PASS if PASS in statuses else (MISSING if MISSING in statuses else FAIL)
        limit = _fmt(threshold)
        rule = f"needs CLL1 or CD38 ≥ {limit} %"
        if status == MISSING:
            known = f" ({', '.join(texts)}; {rule})" if texts else ""
            message = f"{' and '.join(absent)} % positive blasts needed{known}"
        else:
            message = f"Positive blasts: {', '.join(texts)} — {rule}"
        part = (status, message, tuple(needs) if status == MISSING else ())
        self.record("IN3", [part], f"CLL1 or CD38 ≥ {limit} % of blasts", values)

    def uln_part(self, key: str, label: str, limit: Decimal, unit: str = "") -> _Part:
        """value ≤ limit × ULN, both in the same unit; ULN key = f"{key}_uln" (or _uln_u_l)."""
        uln_key = key.replace("_u_l", "_uln_u_l") if key.endswith("_u_l") else f"{key}_uln"
        value, uln = self.f.get(key), self.f.get(uln_key)
        if value is None or uln is None:
            absent = [k for k, v in ((key, value), (uln_key, uln)) if v is None]
            text = f"{label} and its ULN" if len(absent) == 2 else label
            text = f"{label} ULN" if absent == [uln_key] else text
            return _needed(*absent, label=text)
        assert isinstance(value, Decimal) and isinstance(uln, Decimal)
        if uln == 0:
            raise ValueError(f"{uln_key} must be greater than 0, got {uln}")
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            ratio = _boundary(value / uln)
        # Compare the ratio rounded to 1e-9 (as CrCl, QTcF and the steroid total are), so that
        # a value computed in binary floating point at an exact multiple (1.5 x 0.1 =
        # 0.15000000000000002) does not fail a "≤ k × ULN" limit it meets.
        ok = ratio <= limit
        self.derived[f"{key.removesuffix('_u_l')}_x_uln"] = float(ratio)
        sentence = (
            f"{label} {_fmt(value)}{unit} = {_fmt(ratio, 2, limit)} × ULN ({_fmt(uln)}{unit})"
            f" — needs ≤ {_fmt(limit)} × ULN"
        )
        return (PASS if ok else FAIL, sentence, ())

    def in7_2_bilirubin(self) -> None:
        congenital = self.f.get("congenital_hyperbilirubinemia")
        values = {"congenital_hyperbilirubinemia": congenital}
        if congenital is True:
            part = self.uln_part("direct_bilirubin", "Direct bilirubin", Decimal("1.5"))
            if part[0] != MISSING:
                part = (part[0], f"{part[1]} (congenital hyperbilirubinemia)", ())
            self.record("IN7.2", [part], "direct ≤ 1.5 × ULN (congenital)", values)
            return
        part = self.uln_part("total_bilirubin", "Total bilirubin", Decimal(2))
        if congenital is None and part[0] != MISSING:
            # Congenital hyperbilirubinemia would replace the total-bilirubin limit by the direct
            # one; with the status unknown the criterion is decided only where both agree.
            direct = self.uln_part("direct_bilirubin", "Direct bilirubin", Decimal("1.5"))
            key = "congenital_hyperbilirubinemia"
            if direct[0] == part[0]:
                verdict = "eligible" if part[0] == PASS else "excluded"
                part = (
                    part[0],
                    f"{part[1]}; {direct[1]} ({verdict} with or without Gilbert's)",
                    (),
                )
            elif direct[0] == MISSING:
                part = (MISSING, f"{part[1]}; direct bilirubin or Gilbert's status needed",
                        (*direct[2], key))  # fmt: skip
            else:
                part = (MISSING, f"{part[1]}; {direct[1]}; Gilbert's/congenital status needed",
                        (key,))  # fmt: skip
        self.record("IN7.2", [part], "total ≤ 2 × ULN", values)

    def in7_3_creatinine_clearance(self) -> None:
        weight_rule = self.s["cg_weight"]
        lab_date = self.f.get("creatinine_date") or self.f.get("screening_date")
        labels = {
            "creatinine": "Serum creatinine",
            "creatinine_unit": "Creatinine unit",
            "birth_date": "Date of birth",
            "sex": "Sex",
            "weight_kg": "Weight",
            "height_cm": f"Height (cg_weight = {weight_rule})",
        }
        required = list(labels) if weight_rule != "actual" else list(labels)[:-1]
        absent = [k for k in required if self.f.get(k) is None]
        parts: list[_Part] = []
        if absent:
            parts.append(_needed(*absent, label=", ".join(labels[k] for k in absent)))
        if lab_date is None:
            parts.append(_needed("creatinine_date", label="Creatinine date or screening date"))
        values: dict[str, object] = {}
        if not parts:
            assert isinstance(lab_date, date)
            age = age_in_years(self.f["birth_date"], lab_date)  # type: ignore[arg-type]
            crcl, weight_used = _creatinine_clearance_decimal(
                age_years=age,
                weight_kg=self.f["weight_kg"],
                sex=self.f["sex"],
                creatinine=self.f["creatinine"],
                unit=self.f["creatinine_unit"],
                cg_weight=weight_rule,
                height_cm=self.f.get("height_cm"),
            )
            values = {
                "creatinine_clearance_ml_min": float(crcl),
                "age_years": age,
                "weight_used_kg": float(_boundary(weight_used)),
            }
            self.derived["creatinine_clearance_ml_min"] = float(crcl)
            method = "Cockcroft–Gault" + (
                "" if weight_rule == "actual" else f", {weight_rule} weight"
            )
            sentence = (
                f"Creatinine clearance {_fmt(crcl, 1, Decimal(45))} mL/min ({method}) — needs > 45"
            )
            parts.append((PASS if crcl > 45 else FAIL, sentence, ()))
        self.record("IN7.3", parts, "> 45 mL/min", values)

    def in9_pregnancy_contraception(self) -> None:
        sex = self.f.get("sex")
        parts: list[_Part] = []
        if sex is None:
            parts.append(_needed("sex", label="Sex"))
        elif sex == "M":
            parts.append(self.flag("contraception_agreed", bad=False))
        else:
            wocbp = self.f.get("childbearing_potential")
            if wocbp is None:
                parts.append(_needed("childbearing_potential", label="Childbearing potential"))
            elif wocbp is False:
                parts.append((PASS, "Not of childbearing potential", ()))
            else:
                for key, when in (
                    ("hcg_screening_positive", "screening"),
                    ("hcg_baseline_positive", "baseline"),
                ):
                    result = self.f.get(key)
                    if result is None:
                        parts.append(_needed(key, label=f"HCG result at {when}"))
                    else:
                        text = f"HCG {'positive' if result else 'negative'} at {when}"
                        parts.append((FAIL if result else PASS, text, ()))
        self.record("IN9", parts, "HCG negative at screening and baseline (WOCBP); men agree")

    # -- exclusion -----------------------------------------------------------------------------

    def ex2_1_steroids(self) -> None:
        courses = self.f.get("steroid_courses")
        apheresis = self.f.get("planned_apheresis_date")
        threshold = "< 70 mg prednisone-equivalent on days −7..−1"
        if courses is None:
            self.record(
                "EX2.1", [_needed("steroid_courses", label="Steroid courses (or none)")], threshold
            )
            return
        assert isinstance(courses, tuple)
        if not courses:
            self.derived["prednisone_equivalent_mg_7d"] = 0.0
            part: _Part = (PASS, "No systemic corticosteroids before apheresis", ())
            self.record("EX2.1", [part], threshold, {"prednisone_equivalent_mg": 0.0})
            return
        if apheresis is None:
            self.record("EX2.1", [_needed("planned_apheresis_date")], threshold)
            return
        assert isinstance(apheresis, date)
        window_start = apheresis - timedelta(days=7)
        window_end = apheresis - timedelta(days=1)
        total = Decimal(0)
        unknown: list[str] = []
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            for number, course in enumerate(courses, start=1):
                end = window_end if course.end_date is None and course.ongoing else course.end_date
                starts_after = course.start_date is not None and course.start_date > window_end
                ends_before = end is not None and end < window_start
                if starts_after or ends_before:
                    continue  # known to lie outside the window
                if course.start_date is None or end is None:
                    unknown.append(f"course {number} start/end date (or ongoing)")
                elif course.drug is None or course.daily_dose_mg is None:
                    unknown.append(f"course {number} drug and daily dose")
                else:
                    days = (min(end, window_end) - max(course.start_date, window_start)).days + 1
                    total += _prednisone_equivalent_decimal(
                        course.drug, course.daily_dose_mg * days
                    )
        total = _boundary(total)
        values = {
            "prednisone_equivalent_mg": float(total),
            "window_start": window_start,
            "window_end": window_end,
        }
        sentence = (
            f"Prednisone-equivalent {_fmt(total, 1, Decimal(70))} mg on "
            f"{window_start.isoformat()}..{window_end.isoformat()} (7 days before apheresis) "
            "— needs < 70 mg"
        )
        if total >= 70:
            part = (FAIL, sentence, ())
        elif unknown:
            counted = f"{_fmt(total, 1)} mg counted so far"
            part = (
                MISSING,
                f"Steroid {'; '.join(unknown)} needed ({counted})",
                ("steroid_courses",),
            )
        else:
            part = (PASS, sentence, ())
            self.derived["prednisone_equivalent_mg_7d"] = float(total)
        self.record("EX2.1", [part], threshold, values)

    def ex2_3_antitumor(self) -> None:
        therapies = list(self.f.get("antitumor_therapies") or ())  # type: ignore[call-overload]
        last_end = self.f.get("last_antitumor_therapy_end_date")
        last_half_life = self.f.get("last_antitumor_therapy_half_life_days")
        if last_end is not None or last_half_life is not None:
            therapies.append(
                _Therapy("Last anti-tumor therapy", last_end, last_half_life, from_list=False)  # type: ignore[arg-type]
            )
        threshold = "≥ min(14 days, 5 half-lives) before apheresis"
        apheresis = self.f.get("planned_apheresis_date")
        parts: list[_Part] = []
        values: dict[str, object] = {}
        if not therapies:
            if "antitumor_therapies" in self.f:
                parts.append((PASS, "No systemic anti-tumor therapy recorded", ()))
            else:
                key = "last_antitumor_therapy_end_date"
                parts.append(_needed(key, label="Last anti-tumor therapy end date"))
        elif apheresis is None:
            parts.append(_needed("planned_apheresis_date"))
        for therapy in therapies if apheresis is not None else ():
            assert isinstance(apheresis, date)
            if therapy.end_date is None:
                key = (
                    "antitumor_therapies"
                    if therapy.from_list
                    else "last_antitumor_therapy_end_date"
                )
                parts.append(_needed(key, label=f"{therapy.name} end date"))
                continue
            gap = (apheresis - therapy.end_date).days
            values[f"{therapy.name}: days before apheresis"] = gap
            ended = (
                f"{therapy.name} ended {therapy.end_date.isoformat()}, {gap} days before apheresis"
            )
            if gap >= 14:
                parts.append((PASS, f"{ended} — needs ≥ 14 days (or 5 half-lives if shorter)", ()))
            elif therapy.half_life_days is None:
                key = (
                    "antitumor_therapies"
                    if therapy.from_list
                    else "last_antitumor_therapy_half_life_days"
                )
                parts.append((MISSING, f"{ended} (< 14): half-life needed", (key,)))
            else:
                five = therapy.half_life_days * 5
                required = min(five, Decimal(14))
                rule = (
                    f"the shorter of 14 days and 5 half-lives = 5 × "
                    f"{_fmt(therapy.half_life_days)} = {_fmt(five)} days"
                )
                sentence = f"{ended} — needs ≥ {_fmt(required)} days ({rule})"
                parts.append((PASS if gap >= required else FAIL, sentence, ()))
        self.record("EX2.3", parts, threshold, values)

    def ex8_malignancy(self) -> None:
        history = self.f.get("other_malignancy")
        years = self.f.get("other_malignancy_disease_free_years")
        exempt = self.f.get("other_malignancy_exempt_type")
        limit = self.s["malignancy_disease_free_years"]
        assert isinstance(limit, Decimal)
        either = self.s["malignancy_exemption_rule"] == "exempt_type_or_disease_free"
        rule = f"exempt type {'or' if either else 'and'} disease-free > {_fmt(limit)} years"
        values = {"other_malignancy_exempt_type": exempt, "disease_free_years": _as_float(years)}  # type: ignore[arg-type]
        if history is None:
            part = _needed("other_malignancy", label="History of other malignancy")
        elif history is False:
            part = (PASS, "No other malignancy", ())
        else:
            disease_free = None if years is None else years > limit  # type: ignore[operator]
            tests = (exempt, disease_free)
            if either:
                ok = True if True in tests else (False if tests == (False, False) else None)
            else:
                ok = False if False in tests else (True if tests == (True, True) else None)
            type_text = {True: "exempt type", False: "not an exempt type", None: "type not stated"}
            dfs_text = (
                "disease-free years not stated"
                if years is None
                else f"disease-free {_fmt(years, 1, limit)} years"  # type: ignore[arg-type]
            )
            sentence = f"Other malignancy: {type_text[exempt]}, {dfs_text} — needs {rule}"  # type: ignore[index]
            if ok is None:
                keys = ("other_malignancy_exempt_type", "other_malignancy_disease_free_years")
                part = (
                    MISSING,
                    sentence,
                    tuple(k for k, v in zip(keys, (exempt, years), strict=True) if v is None),
                )
            else:
                part = (PASS if ok else FAIL, sentence, ())
        self.record("EX8", [part], f"none, or {rule}", values)

    def ex10_1_nyha(self) -> None:
        nyha = self.f.get("nyha_class")
        if nyha is None:
            part = _needed("nyha_class", label="NYHA class (0 = no heart failure)")
        else:
            assert isinstance(nyha, int)
            text = (
                "No heart failure"
                if nyha == 0
                else f"NYHA class {('I', 'II', 'III', 'IV')[nyha - 1]}"
            )
            part = (FAIL if nyha >= 3 else PASS, f"{text} — excluded if NYHA III-IV", ())
        self.record("EX10.1", [part], "NYHA 0-II", {"nyha_class": nyha})

    def ex10_3_rhythm(self) -> None:
        parts = [
            self.flag("severe_arrhythmia", bad=True),
            self.flag("av_block_2nd_or_3rd_degree", bad=True),
        ]
        values: dict[str, object] = {}
        readings = self.f.get("ecg_readings")
        value: Decimal | None = None
        label = "QTcF"
        if readings is not None:
            assert isinstance(readings, tuple)
            aggregate = self.s["qtcf_aggregate"]
            label = f"QTcF ({aggregate} of {len(readings)} ECGs)"
            if not readings:
                parts.append(_needed("ecg_readings", label="At least one ECG"))
            elif aggregate == "max":
                value = max(readings)
            else:
                with localcontext() as ctx:
                    ctx.prec = _PRECISION
                    value = _boundary(sum(readings, Decimal(0)) / len(readings))
        elif self.f.get("qt_ms") is None:
            parts.append(_needed("qt_ms", label="QT interval"))
        elif self.f.get("heart_rate_bpm") is None and self.f.get("rr_ms") is None:
            parts.append(_needed("heart_rate_bpm", label="Heart rate or RR interval"))
        else:
            value = _qtcf_decimal(
                self.f["qt_ms"], self.f.get("heart_rate_bpm"), self.f.get("rr_ms")
            )
        if value is not None:
            values["qtcf_ms"] = float(value)
            self.derived["qtcf_ms"] = float(value)
            shown = _fmt(value, 1, Decimal(480))
            sentence = f"{label} {shown} ms (Fridericia) — needs < 480"
            parts.append((FAIL if value >= 480 else PASS, sentence, ()))
        self.record(
            "EX10.3", parts, "QTcF < 480 ms; no severe arrhythmia or AV block II-III", values
        )

    def ex10_6_blood_pressure(self) -> None:
        readings = self.f.get("blood_pressure_readings_mmhg")
        minimum = self.s["bp_min_readings"]
        assert isinstance(minimum, int)
        values: dict[str, object] = {}
        threshold = f"mean of ≥ {minimum} readings: SBP < 150 and DBP < 100 mmHg"
        count = 0 if readings is None else len(readings)  # type: ignore[arg-type]
        if readings is None or count < minimum:
            text = f"At least {minimum} blood pressure readings needed ({count} given)"
            part: _Part = (MISSING, text, ("blood_pressure_readings_mmhg",))
        else:
            assert isinstance(readings, tuple)
            with localcontext() as ctx:
                ctx.prec = _PRECISION
                sbp = _boundary(sum((r[0] for r in readings), Decimal(0)) / count)
                dbp = _boundary(sum((r[1] for r in readings), Decimal(0)) / count)
            values = {"mean_sbp_mmhg": float(sbp), "mean_dbp_mmhg": float(dbp), "readings": count}
            self.derived.update(mean_sbp_mmhg=float(sbp), mean_dbp_mmhg=float(dbp))
            shown = f"{_fmt(sbp, 1, Decimal(150))}/{_fmt(dbp, 1, Decimal(100))}"
            sentence = f"Mean blood pressure {shown} mmHg ({count} readings) — needs < 150/100"
            part = (PASS if sbp < 150 and dbp < 100 else FAIL, sentence, ())
        self.record("EX10.6", [part], threshold, values)

    def viral_load_part(self, antibody_key: str, antibody: str, load_key: str, load: str) -> _Part:
        """Antibody positive AND load > LLOD (strict) excludes; load 0 means not detected."""
        positive = self.f.get(antibody_key)
        level, llod = self.f.get(load_key), self.f.get(f"{load_key}_llod")
        if positive is None:
            # Kept "missing" even when the load is undetectable: the antibody is a required
            # screening result, so the coordinator is asked for it.
            return _needed(antibody_key, label=f"{antibody} result")
        if positive is False:
            return (PASS, f"{antibody} negative", ())
        if level is None:
            return _needed(load_key, label=f"{load} ({antibody} positive)")
        assert isinstance(level, Decimal)
        if level == 0:
            return (PASS, f"{antibody} positive, {load} not detected", ())
        if llod is None:
            return _needed(f"{load_key}_llod", label=f"{load} lower limit of detection")
        assert isinstance(llod, Decimal)
        above = level > llod
        sentence = (
            f"{antibody} positive, {load} {_fmt(level)} {'>' if above else '≤'} LLOD "
            f"{_fmt(llod)} — excluded if > LLOD"
        )
        return (FAIL if above else PASS, sentence, ())

    def ex17_pregnancy_breastfeeding(self) -> None:
        sex = self.f.get("sex")
        parts = [self.flag("plans_children_within_2_years", bad=True)]
        if sex is None:
            parts.append(_needed("sex", label="Sex"))
        elif sex == "F":
            hcg_positive = self.f.get("hcg_screening_positive") or self.f.get(
                "hcg_baseline_positive"
            )
            if self.f.get("childbearing_potential") and hcg_positive:
                parts.append((FAIL, "Pregnant (HCG positive)", ()))
            feeding = self.f.get("breastfeeding")
            if feeding is None:
                parts.append(_needed("breastfeeding", label="Breastfeeding status"))
            elif feeding:
                parts.append(self.flag("agrees_to_stop_breastfeeding", bad=False))
            else:
                parts.append((PASS, "not breastfeeding", ()))
        self.record("EX17", parts, "not pregnant or nursing; no plans for children")

    def ex18_toxicity(self) -> None:
        unresolved = self.f.get("unresolved_prior_toxicity")
        if unresolved is None:
            part = _needed("unresolved_prior_toxicity", label="Prior-treatment toxicity status")
        elif unresolved is False:
            part = (PASS, "Prior-treatment toxicities resolved to grade ≤ 1", ())
        else:
            part = self.flag("unresolved_toxicity_no_safety_risk", bad=False)
        self.record("EX18", [part], "grade ≤ 1, or no safety risk per investigator")

    # -- all criteria, in protocol order ----------------------------------------------------

    def run(self) -> None:
        flag, record = self.flag, self.record
        self.in1_age()
        record(
            "IN2",
            [
                flag("aml_who2022", bad=False),
                flag("relapsed_refractory_aml", bad=False),
                flag("apl", bad=True),
            ],
            "WHO 2022 AML, relapsed/refractory, not APL",
        )
        self.in3_antigen()
        self.flag_criterion("IN4", "estimated_survival_at_least_3_months", bad=False)
        self.flag_criterion("IN5", "allo_hsct_donor_confirmed", bad=False)
        ecog = self.f.get("ecog")
        record(
            "IN6",
            [
                _needed("ecog", label="ECOG performance status")
                if ecog is None
                else (PASS if ecog <= 2 else FAIL, f"ECOG {ecog} — needs 0-2", ())  # type: ignore[operator]
            ],
            "0-2",
            {"ecog": ecog},
        )
        record(
            "IN7.1",
            [
                self.uln_part("alt_u_l", "ALT", Decimal("2.5"), " U/L"),
                self.uln_part("ast_u_l", "AST", Decimal("2.5"), " U/L"),
            ],
            "≤ 2.5 × ULN",
        )
        self.in7_2_bilirubin()
        self.in7_3_creatinine_clearance()
        lvef = self.number_part("lvef_pct", "LVEF", 45, " %", at_least=True, needed="LVEF")
        record("IN7.4", [lvef], "≥ 45 %", {"lvef_pct": _as_float(self.f.get("lvef_pct"))})  # type: ignore[arg-type]
        spo2_key = "spo2_room_air_pct"
        spo2 = self.number_part(
            spo2_key, "SpO₂ on room air", 92, " %", at_least=True, needed="SpO₂ on room air"
        )
        record("IN7.5", [spo2], "≥ 92 %", {spo2_key: _as_float(self.f.get(spo2_key))})  # type: ignore[arg-type]
        self.record_parent("IN7")
        self.flag_criterion("IN8", "able_to_stop_steroids", bad=False)
        self.in9_pregnancy_contraception()
        self.flag_criterion("IN10", "willing_to_follow_up", bad=False)
        self.flag_criterion("IN11", "icf_signed", bad=False)

        self.flag_criterion("EX1", "study_drug_allergy")
        self.ex2_1_steroids()
        self.flag_criterion("EX2.2", "steroids_needed_within_12_weeks")
        self.ex2_3_antitumor()
        aph = "planned_apheresis_date"
        self.washout(
            "EX2.4",
            prior_key="prior_radiotherapy",
            date_key="radiotherapy_last_date",
            reference_key=aph,
            what="radiotherapy",
            days=28,
        )
        self.washout(
            "EX2.5",
            prior_key="prior_dli",
            date_key="dli_last_date",
            reference_key=aph,
            what="donor lymphocyte infusion",
            days=42,
        )
        self.record_parent("EX2")
        self.flag_criterion("EX3", "apl")
        self.flag_criterion("EX4", "prior_car_t_or_gene_therapy")
        self.washout(
            "EX5",
            prior_key="prior_allo_hsct",
            date_key="allo_hsct_last_date",
            reference_key="screening_date",
            what="allogeneic HSCT",
            months=6,
        )
        record(
            "EX6",
            [
                flag("active_gvhd", bad=True),
                flag("gvhd_active_within_4_weeks", bad=True),
                flag("gvhd_immunosuppressants", bad=True),
            ],
            "absent",
        )
        self.flag_criterion("EX7", "active_infection_systemic_treatment")
        self.ex8_malignancy()
        self.washout(
            "EX9",
            prior_key="prior_stroke_or_seizure",
            date_key="stroke_or_seizure_last_date",
            reference_key="icf_date",
            what="stroke or seizure",
            months=6,
        )
        self.ex10_1_nyha()
        self.washout(
            "EX10.2",
            prior_key="prior_mi_or_cabg",
            date_key="mi_or_cabg_last_date",
            reference_key="enrollment_date",
            what="MI or CABG",
            months=6,
            strict=True,
        )
        self.ex10_3_rhythm()
        self.flag_criterion("EX10.4", "severe_nonischemic_cardiomyopathy")
        lvef = self.number_part("lvef_pct", "LVEF", 45, " %", at_least=True, needed="LVEF")
        symptomatic = flag("symptomatic_cardiac_disease_within_6_months", bad=True)
        record(
            "EX10.5",
            [lvef, symptomatic],
            "LVEF ≥ 45 %; no symptomatic cardiac disease",
            {"lvef_pct": _as_float(self.f.get("lvef_pct"))},
        )  # type: ignore[arg-type]
        self.ex10_6_blood_pressure()
        self.record_parent("EX10")
        self.flag_criterion("EX11", "cns_involvement")
        self.flag_criterion("EX12.1", "hiv_antibody_positive")
        hbv = self.viral_load_part("anti_hbc_positive", "Anti-HBc", "hbv_dna", "HBV DNA")
        record(
            "EX12.2",
            [flag("hbsag_positive", bad=True), hbv],
            "HBsAg negative; HBV DNA ≤ LLOD if anti-HBc positive",
        )
        hcv = self.viral_load_part("anti_hcv_positive", "Anti-HCV", "hcv_rna", "HCV RNA")
        record("EX12.3", [hcv], "HCV RNA ≤ LLOD if anti-HCV positive")
        self.flag_criterion("EX12.4", "tppa_positive")
        self.record_parent("EX12")
        self.flag_criterion("EX13", "pulmonary_fibrosis")
        self.flag_criterion("EX14", "active_autoimmune_disease")
        self.washout(
            "EX15",
            prior_key="prior_live_vaccine",
            date_key="live_vaccine_last_date",
            reference_key="screening_date",
            what="live attenuated vaccine",
            days=28,
        )
        self.washout(
            "EX16",
            prior_key="prior_major_surgery",
            date_key="major_surgery_last_date",
            reference_key=aph,
            what="major surgery",
            days=28,
            extra=[flag("surgery_planned", bad=True)],
        )
        self.ex17_pregnancy_breastfeeding()
        self.ex18_toxicity()
        self.flag_criterion("EX19", "investigator_judges_unsuitable")


def _validated_settings(**settings: object) -> dict[str, object]:
    """The settings as :func:`evaluate_eligibility` computes with them (numbers as Decimal)."""
    checked = validate_settings(settings)
    for name, limits in SETTINGS_RANGES.items():
        if not limits.whole:
            checked[name] = _to_decimal(checked[name], name)
    return checked


def evaluate_eligibility(
    facts: Mapping[str, object],
    *,
    age_rule: str = "completed_years",
    cg_weight: str = "actual",
    antigen_positive_threshold_pct: float = 20,
    bp_min_readings: int = 2,
    qtcf_aggregate: str = "mean",
    malignancy_exemption_rule: str = "exempt_type_or_disease_free",
    malignancy_disease_free_years: float = 5,
    month_rule: str = "calendar",
) -> EligibilityResult:
    """Decide every inclusion (IN1-IN11) and exclusion (EX1-EX19) criterion of NCT06880354.

    Why: the enrollment decision must be reproducible and explained criterion by criterion
    (registry text, operationalised in RULES.md §5.4). A criterion that cannot be decided is
    "missing", never a silent pass; any failing criterion makes the subject ineligible whatever
    is missing. Parents (IN7, EX2, EX10, EX12) fail if a sub-item fails, else are missing if one
    is missing, else pass.

    `facts` keys (None or absent = not known). Every key, with type, unit and the criteria it
    feeds, is in `FACT_KEYS`; unknown keys raise ValueError. Dates are `datetime.date` (or ISO
    strings); yes/no facts are bool; numbers are int, float or Decimal.

    - Reference dates: screening_date, icf_date, planned_apheresis_date, enrollment_date.
    - Demographics/vitals: birth_date, sex ("F"|"M"), weight_kg (kg), height_cm (cm),
      blood_pressure_readings_mmhg (list of (systolic, diastolic) mmHg), spo2_room_air_pct (%),
      ecog (0-5).
    - AML: aml_who2022, relapsed_refractory_aml, apl, cll1_positive_blasts_pct (%),
      cd38_positive_blasts_pct (%), cns_involvement.
    - Labs: alt_u_l, alt_uln_u_l, ast_u_l, ast_uln_u_l (U/L); total_bilirubin,
      total_bilirubin_uln, direct_bilirubin, direct_bilirubin_uln (any unit, same as its ULN);
      congenital_hyperbilirubinemia (Gilbert's); creatinine, creatinine_unit ("mg/dL" |
      "umol/L" | "µmol/L"), creatinine_date (default: screening_date).
    - Cardiac: lvef_pct (%); qt_ms with heart_rate_bpm (bpm) or rr_ms (ms), or ecg_readings
      (list of {qt_ms, heart_rate_bpm | rr_ms}); nyha_class (0 = no heart failure, 1-4);
      prior_mi_or_cabg, mi_or_cabg_last_date; severe_arrhythmia; av_block_2nd_or_3rd_degree;
      severe_nonischemic_cardiomyopathy; symptomatic_cardiac_disease_within_6_months.
    - Virology: hiv_antibody_positive; hbsag_positive; anti_hbc_positive; hbv_dna and
      hbv_dna_llod (same unit; 0 = not detected); anti_hcv_positive; hcv_rna, hcv_rna_llod;
      tppa_positive.
    - Pregnancy: childbearing_potential, hcg_screening_positive, hcg_baseline_positive,
      breastfeeding, agrees_to_stop_breastfeeding, contraception_agreed (men),
      plans_children_within_2_years.
    - Steroids: steroid_courses (list of {drug, daily_dose_mg (mg/day), start_date, end_date,
      ongoing}; [] = none, None = not known); steroids_needed_within_12_weeks;
      able_to_stop_steroids.
    - Anti-tumor therapy: antitumor_therapies (list of {name, end_date, half_life_days};
      [] = none) and/or last_antitumor_therapy_end_date, last_antitumor_therapy_half_life_days.
    - Washout events, each a yes/no "any ever" fact plus the latest date: prior_radiotherapy /
      radiotherapy_last_date, prior_dli / dli_last_date, prior_allo_hsct / allo_hsct_last_date,
      prior_live_vaccine / live_vaccine_last_date, prior_major_surgery /
      major_surgery_last_date (+ surgery_planned), prior_stroke_or_seizure /
      stroke_or_seizure_last_date, prior_mi_or_cabg / mi_or_cabg_last_date. A date alone
      implies the event happened.
    - Antigen calls: cll1_positive, cd38_positive (the lab's positive/negative call; it
      overrides the percentage).
    - Conditions and judgements: study_drug_allergy, prior_car_t_or_gene_therapy, active_gvhd,
      gvhd_active_within_4_weeks, gvhd_immunosuppressants, active_infection_systemic_treatment,
      other_malignancy, other_malignancy_exempt_type, other_malignancy_disease_free_years,
      pulmonary_fibrosis, active_autoimmune_disease, unresolved_prior_toxicity,
      unresolved_toxicity_no_safety_risk, estimated_survival_at_least_3_months,
      allo_hsct_donor_confirmed, willing_to_follow_up, icf_signed,
      investigator_judges_unsuitable.

    Interpretations (document-level decisions)
    - IN1 `age_rule` [SETTING]: "completed_years" (default) admits 18 <= completed years <= 70
      at ICF, i.e. up to the day before the 71st birthday; "exact_age" stops on the 70th
      birthday itself.
    - IN3: "CLL1 and/or CD38" = at least one antigen positive: the lab's call (cll1_positive,
      cd38_positive) decides; where only a percentage is given, positive at or above
      `antigen_positive_threshold_pct` [SETTING] (% of blasts, default 20).
    - IN7.2: with congenital hyperbilirubinemia the direct-bilirubin limit replaces the total
      one. With the status unknown the criterion is decided only where both readings agree
      (total <= 2 x ULN and direct <= 1.5 x ULN: pass; both above: fail); otherwise missing,
      so an unknown fact never yields a silent pass.
    - `month_rule` [SETTING]: "calendar" (default): "6 months before" = on or before the same
      day of the month six months earlier (31 Aug -> 28/29 Feb); "days_30_4375": at least
      6 x 30.4375 days before. Weeks are 7 days.
    - ULN multiples (IN7.1, IN7.2) compare value / ULN rounded to 1e-9 with the limit, so a
      float product at an exact multiple (1.5 x 0.1 = 0.15000000000000002) is that multiple.
    - IN7.3: Cockcroft-Gault with age at creatinine_date (else screening_date), strict > 45.
    - IN9: women of childbearing potential need negative HCG at screening AND baseline (so the
      result stays "missing" until the baseline HCG); men need contraception_agreed.
    - EX2.1: the 7 days before apheresis are days -7..-1 (apheresis day excluded); each course
      contributes daily dose x days overlapping that window; cumulative >= 70 mg fails
      (prednisone 10 mg x 7 = 70 and dexamethasone 1.5 mg x 7 = 70 are excluded).
    - EX2.3: eligible when the last dose lies >= min(14, 5 x half-life) days before apheresis
      (boundary day passes). Every listed therapy is checked.
    - Washouts (boundary day passes unless stated): radiotherapy >= 28 days and DLI >= 42 days
      before apheresis; major surgery >= 28 days before apheresis; live vaccine >= 28 days
      before screening; allo-HSCT on or before screening minus 6 calendar months; stroke or
      seizure on or before ICF minus 6 calendar months; MI/CABG strictly before enrollment
      minus 6 calendar months ("≤ 6 months" is excluded, so the boundary day fails).
    - EX8 `malignancy_exemption_rule` [SETTING]: "exempt_type_or_disease_free" (default) exempts
      the listed cancer types, and any other cancer disease-free > `malignancy_disease_free_years`
      after curative treatment; "exempt_type_and_disease_free" needs both.
    - EX10.3: QTcF (Fridericia) >= 480 ms excludes; with replicate ECGs the per-ECG QTcF values
      are aggregated by `qtcf_aggregate` [SETTING] ("mean" default, or "max").
    - EX10.6: the unrounded means of >= `bp_min_readings` readings must be SBP < 150 and
      DBP < 100 mmHg (148/96 and 154/98 -> 151/97 -> excluded).
    - EX12.2/EX12.3: "higher than the LLOD" is strict (a load equal to the LLOD passes); HBsAg
      positive excludes on its own.
    - EX17: pregnancy (WOCBP with a positive HCG) and breastfeeding without agreement to stop
      apply to women; plans for children to everyone. A missing HCG is reported under IN9.
    - EX18: an unresolved toxicity passes only when the investigator states it has no safety
      risk.
    """
    settings = _validated_settings(
        age_rule=age_rule,
        cg_weight=cg_weight,
        antigen_positive_threshold_pct=antigen_positive_threshold_pct,
        bp_min_readings=bp_min_readings,
        qtcf_aggregate=qtcf_aggregate,
        malignancy_exemption_rule=malignancy_exemption_rule,
        malignancy_disease_free_years=malignancy_disease_free_years,
        month_rule=month_rule,
    )
    evaluator = _Evaluator(_parse_facts(facts), settings)
    evaluator.run()
    details = {code: evaluator.results[code] for code in CRITERIA}
    criteria = {code: result.status for code, result in details.items()}
    overall = _combine_status(criteria.values())
    eligible = {PASS: True, FAIL: False, MISSING: None}[overall]
    return EligibilityResult(
        eligible=eligible, criteria=criteria, details=details, derived=dict(evaluator.derived)
    )
