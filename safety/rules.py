"""Pure safety rules for NCT06880354: CRS and ICANS (ASTCT 2019), CTCAE v5.0 lab grades,
febrile neutropenia, and DLT adjudication support.

The web app, the workers, the API and outside validators all call these functions. They are the
only implementation of each rule (DESIGN.md §3-§4, CONTRACT.md "safety.rules"). Plain values go
in and frozen dataclasses or plain values come out. This module imports no Django code.

Conventions (RULES.md "Conventions"):

* Boundaries are compared in decimal (``Decimal(str(x))``, never ``Decimal(float)``), so that
  1.5 x 1.2 = 1.7999999999999998 in binary floating point cannot move a value into the wrong
  grade (golden cases BIL-01, BIL-03). Every number may be an ``int``, ``float`` or ``Decimal``.
* ``None`` means "not known". It is never read as 0. Where the answer depends on a missing value
  the function returns ``None`` (and says so in its docstring) instead of guessing.
* An impossible input (a negative count, an unknown device, term, unit or choice, an ICE item out
  of range) raises ``ValueError``. The message names the parameter and the allowed values.
* Study day: the CAR-T infusion day is Day 0.
* Every [SETTING] of RULES.md that a function depends on is an optional keyword parameter with the
  RULES.md default. ``SETTINGS_DEFAULTS`` lists them and ``SETTINGS_CHOICES`` gives the allowed
  values of the enumerated ones. ``settings_for(function, study_settings)`` picks out the ones a
  function accepts, so stored study settings can be passed straight through.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from rulekit.validation import allowed_text, choice

__all__ = [
    "AE_CATEGORIES",
    "CONSCIOUSNESS_LEVELS",
    "CTCAE_CLINICAL_TERMS",
    "CTCAE_TERMS",
    "DEFAULT_DLT_CRITERIA",
    "DLT_WINDOW_STATUSES",
    "HYPOTENSION_CATEGORIES",
    "MOTOR_FINDINGS",
    "OXYGEN_CATEGORIES",
    "OXYGEN_DEVICES",
    "RAISED_ICP_FINDINGS",
    "RELATEDNESS_CATEGORIES",
    "SEIZURE_TYPES",
    "SETTINGS_CHOICES",
    "SETTINGS_DEFAULTS",
    "VASOPRESSORS",
    "AdverseEventFacts",
    "BloodCount",
    "CRSAssessment",
    "CTCAETerm",
    "CountRecoveryAssessment",
    "DLTAssessment",
    "DLTCriteria",
    "DLTWindowResult",
    "assess_count_recovery",
    "crs_assessment",
    "crs_episode_grade",
    "crs_grade",
    "ctcae_lab_grade",
    "dlt_candidate",
    "evaluate_dlt_window",
    "febrile_neutropenia_grade",
    "hypotension_category",
    "hypotension_present",
    "ice_score",
    "icans_grade",
    "oxygen_category",
    "settings_for",
]

# ---------------------------------------------------------------------------------------------
# Study settings ([SETTING]s of RULES.md that this module depends on)
# ---------------------------------------------------------------------------------------------

SETTINGS_DEFAULTS: dict[str, object] = {
    # RULES.md §2.3: which scale grades CRS (and ICANS) on this study.
    "crs_icans_scale": "ASTCT2019",
    # RULES.md §2.1: ASTCT gives no number for hypotension; protocols commonly use SBP < 90 mmHg.
    "hypotension_sbp_below_mmhg": 90,
    # RULES.md §3.4: creatinine baseline-relative criteria read literally (admiral) or only
    # once the value is above ULN.
    "creatinine_baseline_rule": "literal",
    # Hemoglobin reported in mmol/L: the cut-offs CTCAE v5.0 prints for mmol/L (6.2 and 4.9) or
    # the g/dL cut-offs converted exactly with x 0.6206 (6.206 and 4.9648). Added here because the
    # two readings differ at the boundary. Default "converted": RULES.md conventions give the
    # 0.6206 factor, admiral grades Hgb after converting to g/L, and the grade of one sample must
    # not depend on the unit the lab reports it in (6.2 mmol/L = 9.99 g/dL is grade 2).
    "hemoglobin_mmol_l_cutoffs": "converted",
    # RULES.md §4.1 / registry: the DLT window runs from Day 0 to Day 28 inclusive.
    "dlt_window_days": 28,
}

SETTINGS_CHOICES: dict[str, tuple] = {
    "crs_icans_scale": ("ASTCT2019", "CTCAE5"),
    "creatinine_baseline_rule": ("literal", "only_above_uln"),
    "hemoglobin_mmol_l_cutoffs": ("ctcae", "converted"),
}


def settings_for(function: Callable[..., object], settings: Mapping[str, object]) -> dict:
    """Return the subset of a study's stored settings that ``function`` accepts.

    Why: a study stores all its [SETTING]s together (RULES.md §8) but each rule depends on only a
    few; passing the whole mapping with ``**`` would fail on the others. Keys that are not
    settings of this module (for example efficacy settings) are ignored; a setting this module
    knows whose value is not an allowed choice raises ``ValueError`` naming it.
    """
    accepted = inspect.signature(function).parameters
    chosen: dict[str, object] = {}
    for name, value in settings.items():
        if name not in SETTINGS_DEFAULTS or name not in accepted:
            continue
        if name in SETTINGS_CHOICES:
            _setting_choice(value, name)
        chosen[name] = value
    return chosen


# ---------------------------------------------------------------------------------------------
# Small validation helpers
# ---------------------------------------------------------------------------------------------


def _setting_choice(value: object, name: str) -> str:
    return choice(value, name, SETTINGS_CHOICES[name])


def _decimal(
    value: object,
    name: str,
    *,
    minimum: Decimal | int | None = None,
    positive: bool = False,
    allow_none: bool = False,
) -> Decimal | None:
    """A number as an exact Decimal of its shortest decimal text (never Decimal(float))."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required (a number); got None")
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number (int, float or Decimal); got {value!r}")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, numbers.Integral):
            result = Decimal(int(value))
        elif isinstance(value, numbers.Real):
            result = Decimal(str(float(value)))
        else:
            raise TypeError
    except (TypeError, ValueError, InvalidOperation):
        raise ValueError(
            f"{name} must be a number (int, float or Decimal); got {value!r}"
        ) from None
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if positive and result <= 0:
        raise ValueError(f"{name} must be greater than 0; got {value!r}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}")
    return result


def _whole(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
    allow_bool: bool = False,
) -> int | None:
    """A whole number (int, or an integral float/Decimal), optionally within [low, high]."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) and allow_bool:
        number = int(value)
    else:
        exact = _decimal(value, name)
        if exact != exact.to_integral_value():
            raise ValueError(f"{name} must be a whole number; got {value!r}")
        number = int(exact)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be a whole number in {bounds}; got {value!r}")
    return number


def _fmt(value: Decimal | int | float) -> str:
    """Decimal text without a trailing exponent or needless zeros (for messages)."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


# ---------------------------------------------------------------------------------------------
# ASTCT 2019 CRS (RULES.md §2.1)
# ---------------------------------------------------------------------------------------------

OXYGEN_CATEGORIES: tuple[str, ...] = ("none", "low_flow", "high_flow", "positive_pressure")

#: Device -> ASTCT oxygen category (before the flow rule for nasal cannulas).
OXYGEN_DEVICES: dict[str, str] = {
    "room_air": "none",
    "nasal_cannula": "low_flow",
    "blow_by": "low_flow",
    "simple_face_mask": "high_flow",
    "venturi_mask": "high_flow",
    "non_rebreather": "high_flow",
    "high_flow_nasal_cannula": "high_flow",
    "cpap": "positive_pressure",
    "bipap": "positive_pressure",
    "mechanical_ventilation": "positive_pressure",
}

_LOW_FLOW_MAX_L_MIN = Decimal("6")

HYPOTENSION_CATEGORIES: tuple[str, ...] = (
    "none",
    "no_vasopressor",
    "one_vasopressor",
    "multiple_vasopressors",
)

VASOPRESSORS: tuple[str, ...] = (
    "norepinephrine",
    "epinephrine",
    "phenylephrine",
    "dopamine",
    "vasopressin",
    "angiotensin_ii",
)
_VASOPRESSOR_ALIASES = {"noradrenaline": "norepinephrine", "adrenaline": "epinephrine"}

_ASTCT_HYPOTENSION_GRADE = {
    "none": 0,
    "no_vasopressor": 2,
    "one_vasopressor": 3,
    "multiple_vasopressors": 4,
}
_ASTCT_OXYGEN_GRADE = {"none": 0, "low_flow": 2, "high_flow": 3, "positive_pressure": 4}

_FEVER_C = Decimal("38.0")
_TEMPERATURE_RANGE_C = (Decimal("25"), Decimal("45"))


def oxygen_category(device: str, flow_l_min: float | None = None) -> str:
    """ASTCT oxygen category of a delivery device: "none" | "low_flow" | "high_flow" |
    "positive_pressure".

    Why: the oxygen domain of CRS is graded by how oxygen is delivered, not by saturation.
    Source: ASTCT 2019 (Lee et al., BBMT 2019;25:625), table "ASTCT CRS Consensus Grading" and
    its footnotes: low-flow nasal cannula is <= 6 L/min (blow-by is low flow), high-flow nasal
    cannula is > 6 L/min; face mask, non-rebreather and Venturi mask are grade 3; CPAP, BiPAP
    and mechanical ventilation are positive pressure (grade 4).

    Reading chosen: for "nasal_cannula" a known flow decides (<= 6 L/min low flow, > 6 L/min
    high flow; unknown flow = low flow). "high_flow_nasal_cannula" is always high flow (grade 3):
    a heated high-flow system delivers a set FiO2 whatever flow is charted, and a charted flow
    <= 6 L/min on it is a contradictory record that must not lower the CRS grade (review: the
    grade errs on the side of the patient). Flow is ignored for masks, blow-by and positive
    pressure. Room air with a flow above 0 is contradictory and raises ``ValueError``.
    """
    name = choice(device, "device", OXYGEN_DEVICES, normalize=True)
    flow = _decimal(flow_l_min, "flow_l_min", minimum=0, allow_none=True)
    if name == "room_air":
        if flow is not None and flow > 0:
            raise ValueError(
                f"flow_l_min must be 0 or None when device is 'room_air'; got {flow_l_min!r}"
            )
        return "none"
    if name == "nasal_cannula" and flow is not None:
        return "low_flow" if flow <= _LOW_FLOW_MAX_L_MIN else "high_flow"
    return OXYGEN_DEVICES[name]


def hypotension_present(
    *, systolic_bp_mmhg: float | None, hypotension_sbp_below_mmhg: float = 90
) -> bool | None:
    """Whether a systolic pressure counts as hypotension for CRS grading (``None`` if unknown).

    Why: ASTCT 2019 gives no number for hypotension; the protocol defines it, commonly
    SBP < 90 mmHg (RULES.md §2.1, [SETTING] ``hypotension_sbp_below_mmhg`` = 90, strict <).
    """
    threshold = _decimal(hypotension_sbp_below_mmhg, "hypotension_sbp_below_mmhg", positive=True)
    sbp = _decimal(systolic_bp_mmhg, "systolic_bp_mmhg", positive=True, allow_none=True)
    if sbp is None:
        return None
    if sbp > 300:
        raise ValueError(f"systolic_bp_mmhg must be at most 300 mmHg; got {systolic_bp_mmhg!r}")
    return sbp < threshold


def hypotension_category(*, hypotension: bool, vasopressors: Sequence[str] = ()) -> str:
    """ASTCT hypotension category: "none" | "no_vasopressor" | "one_vasopressor" |
    "multiple_vasopressors".

    Why: the hypotension domain of CRS is graded by the treatment it needs. Source: ASTCT 2019
    (Lee et al., BBMT 2019;25:625), table "ASTCT CRS Consensus Grading": grade 3 needs a
    vasopressor with or without vasopressin; grade 4 needs multiple vasopressors excluding
    vasopressin. So vasopressin on top of one pressor stays "one_vasopressor", vasopressin
    alone is one vasopressor, norepinephrine + phenylephrine is "multiple_vasopressors".

    Readings chosen: a drug listed twice counts once; a vasopressor running while the pressure is
    normal still counts (the pressure is normal because of it), so ``vasopressors`` decides
    whenever it is not empty. ``vasopressors`` may be one name as a plain string.
    ``vasopressors`` names: see ``VASOPRESSORS`` (also "noradrenaline", "adrenaline").
    """
    if not isinstance(hypotension, bool):
        raise ValueError(f"hypotension must be True or False; got {hypotension!r}")
    names = (vasopressors,) if isinstance(vasopressors, str) else tuple(vasopressors)
    drugs = set()
    for raw in names:
        key = raw.strip().lower() if isinstance(raw, str) else raw
        key = _VASOPRESSOR_ALIASES.get(key, key)
        drugs.add(choice(key, "vasopressors", VASOPRESSORS, normalize=True))
    others = drugs - {"vasopressin"}
    if len(others) >= 2:
        return "multiple_vasopressors"
    if drugs:
        return "one_vasopressor"
    return "no_vasopressor" if hypotension else "none"


@dataclass(frozen=True)
class CRSAssessment:
    """One day's CRS grading with the parts that produced it.

    grade: 0-4 (0 = not CRS), ``None`` when it cannot be determined (temperature unknown and the
    episode not yet treated). fever_present: Tmax >= 38.0 degC (``None`` if unknown).
    hypotension_grade / oxygen_grade: the domain grades on the chosen scale (``oxygen_grade`` is
    ``None`` on CTCAE v5.0 when FiO2 is needed but unknown). needs_review: signs of CRS without
    fever (e.g. a vasopressor with Tmax 37.2 degC, CRS-15) - not CRS by ASTCT, but the
    investigator should look for another cause or confirm the episode. reasons: sentences.
    """

    grade: int | None
    scale: str
    fever_present: bool | None
    hypotension_grade: int
    oxygen_grade: int | None
    needs_review: bool
    reasons: tuple[str, ...]


def crs_assessment(
    *,
    temperature_c: float | None,
    hypotension: str = "none",
    oxygen: str = "none",
    fever_treated: bool = False,
    fio2_percent: float | None = None,
    crs_icans_scale: str = "ASTCT2019",
) -> CRSAssessment:
    """Grade CRS for one day and explain the grade (see ``crs_grade`` for the rule).

    ASTCT 2019 (Lee et al., BBMT 2019;25:625), table "ASTCT CRS Consensus Grading"; with
    ``crs_icans_scale="CTCAE5"``, NCI CTCAE v5.0 "Cytokine release syndrome" (RULES.md §2.3).
    """
    scale = _setting_choice(crs_icans_scale, "crs_icans_scale")
    hypo = choice(hypotension, "hypotension", HYPOTENSION_CATEGORIES, normalize=True)
    oxy = choice(oxygen, "oxygen", OXYGEN_CATEGORIES, normalize=True)
    if not isinstance(fever_treated, bool):
        raise ValueError(f"fever_treated must be True or False; got {fever_treated!r}")
    temp = _decimal(temperature_c, "temperature_c", allow_none=True)
    if temp is not None and not (_TEMPERATURE_RANGE_C[0] <= temp <= _TEMPERATURE_RANGE_C[1]):
        raise ValueError(
            f"temperature_c must be between {_TEMPERATURE_RANGE_C[0]} and "
            f"{_TEMPERATURE_RANGE_C[1]} degC; got {temperature_c!r}"
        )
    fio2 = _decimal(fio2_percent, "fio2_percent", minimum=21, allow_none=True)
    if fio2 is not None and fio2 > 100:
        raise ValueError(f"fio2_percent must be between 21 and 100; got {fio2_percent!r}")
    fever = None if temp is None else temp >= _FEVER_C
    if scale == "ASTCT2019":
        return _crs_astct(fever, hypo, oxy, fever_treated)
    return _crs_ctcae(fever, hypo, oxy, fever_treated, fio2)


def _crs_astct(fever: bool | None, hypo: str, oxy: str, treated: bool) -> CRSAssessment:
    hypo_grade = _ASTCT_HYPOTENSION_GRADE[hypo]
    oxy_grade = _ASTCT_OXYGEN_GRADE[oxy]
    organ = max(hypo_grade, oxy_grade)
    reasons = []
    if hypo_grade:
        reasons.append(f"Hypotension '{hypo}' gives grade {hypo_grade}.")
    if oxy_grade:
        reasons.append(f"Oxygen '{oxy}' gives grade {oxy_grade}.")
    if treated or fever:
        grade = max(1, organ)
        if treated and not fever:
            reasons.insert(
                0,
                "CRS already treated with antipyretic or anti-cytokine therapy, so fever is "
                "no longer required.",
            )
        else:
            reasons.insert(0, "Fever >= 38.0 degC.")
        if grade == 1:
            reasons.append("No hypotension or oxygen requirement: grade 1.")
        return CRSAssessment(
            grade, "ASTCT2019", fever, hypo_grade, oxy_grade, False, tuple(reasons)
        )
    if fever is None:
        reasons.insert(
            0,
            "Maximum temperature not recorded and the episode is not yet treated: fever, "
            "which ASTCT requires to diagnose CRS, is unknown, so the grade cannot be given.",
        )
        return CRSAssessment(None, "ASTCT2019", None, hypo_grade, oxy_grade, False, tuple(reasons))
    reasons.insert(0, "No fever (Tmax < 38.0 degC) and no prior CRS treatment: not CRS by ASTCT.")
    if organ:
        reasons.append(
            "Hypotension or hypoxia without fever: look for another cause; investigator review."
        )
    return CRSAssessment(0, "ASTCT2019", False, hypo_grade, oxy_grade, organ > 0, tuple(reasons))


def _crs_ctcae(
    fever: bool | None, hypo: str, oxy: str, treated: bool, fio2: Decimal | None
) -> CRSAssessment:
    # CTCAE v5.0: G1 fever; G2 hypotension responding to fluids, hypoxia responding to < 40 % O2;
    # G3 hypotension managed with one pressor, hypoxia requiring >= 40 % O2; G4 life-threatening,
    # urgent intervention. Readings: more than one pressor and positive-pressure ventilation are
    # the "urgent intervention" of G4; an already treated episode stays at least grade 1.
    hypo_grade = {"none": 0, "no_vasopressor": 2, "one_vasopressor": 3}.get(hypo, 4)
    if oxy == "none":
        oxy_grade: int | None = 0
    elif oxy == "positive_pressure":
        oxy_grade = 4
    elif fio2 is None:
        oxy_grade = None
    else:
        oxy_grade = 2 if fio2 < 40 else 3
    fever_grade = None if fever is None else int(fever)
    if treated:
        fever_grade = 1
    known = [g for g in (fever_grade, hypo_grade, oxy_grade) if g is not None]
    best = max(known)
    upper = [bound for part, bound in ((fever_grade, 1), (oxy_grade, 3)) if part is None]
    reasons = ["Graded with CTCAE v5.0 'Cytokine release syndrome' (study setting)."]
    if upper and best < max(upper):
        if oxy_grade is None:
            reasons.append("Supplemental oxygen given but FiO2 unknown: grade 2 or 3 undecided.")
        if fever_grade is None:
            reasons.append("Maximum temperature not recorded.")
        return CRSAssessment(None, "CTCAE5", fever, hypo_grade, oxy_grade, False, tuple(reasons))
    reasons.append(f"Worst finding gives grade {best}.")
    return CRSAssessment(best, "CTCAE5", fever, hypo_grade, oxy_grade, False, tuple(reasons))


def crs_grade(
    *,
    temperature_c: float | None,
    hypotension: str = "none",
    oxygen: str = "none",
    fever_treated: bool = False,
    fio2_percent: float | None = None,
    crs_icans_scale: str = "ASTCT2019",
) -> int | None:
    """CRS grade for one day: 0-4, where 0 means "not CRS".

    Why: CRS drives tocilizumab/steroid decisions and is a DLT at grade 4 (or grade 3 that does
    not settle). Source: ASTCT 2019 (Lee et al., BBMT 2019;25:625), table "ASTCT CRS Consensus
    Grading" (RULES.md §2.1). Fever (Tmax >= 38.0 degC) is required to diagnose CRS unless the
    episode has already been treated with an antipyretic or anti-cytokine therapy
    (``fever_treated``); then grade = max(1, hypotension grade, oxygen grade). A treated
    episode with no sign left stays grade 1 until the investigator closes it.

    ``hypotension``: see ``hypotension_category``; ``oxygen``: see ``oxygen_category``.
    Returns ``None`` (contract says int; documented exception) when the temperature is unknown
    and the episode is untreated, because fever then decides between 0 and a positive grade.
    Grade 5 (death from CRS) is an investigator judgment and is not produced here.
    Organ toxicities accompanying CRS are graded separately with CTCAE and do not change it.

    ``crs_icans_scale="CTCAE5"`` grades with CTCAE v5.0 instead (RULES.md §2.3); its hypoxia
    criterion needs ``fio2_percent`` (< 40 % grade 2, >= 40 % grade 3) when oxygen is given by
    cannula or mask; more than one vasopressor or positive pressure is read as grade 4.
    """
    return crs_assessment(
        temperature_c=temperature_c,
        hypotension=hypotension,
        oxygen=oxygen,
        fever_treated=fever_treated,
        fio2_percent=fio2_percent,
        crs_icans_scale=crs_icans_scale,
    ).grade


def crs_episode_grade(daily_grades: Iterable[int | None]) -> int | None:
    """Grade of a CRS episode = its worst daily grade (ASTCT 2019; RULES.md §2.1, CRS-16).

    Why: an episode is reported once, at its maximum. Daily grades are 0-5 (5 = death from CRS,
    an investigator judgment). A day whose grade is unknown (``None``) makes the episode grade
    unknown, unless a known day already has grade 5, the highest possible.
    """
    grades = list(daily_grades)
    if not grades:
        raise ValueError("daily_grades must contain at least one daily grade (0-5)")
    known = [_whole(g, "daily_grades", low=0, high=5) for g in grades if g is not None]
    worst = max(known, default=None)
    if len(known) < len(grades) and worst != 5:
        return None
    return worst


# ---------------------------------------------------------------------------------------------
# ASTCT 2019 ICE and ICANS (RULES.md §2.2)
# ---------------------------------------------------------------------------------------------

CONSCIOUSNESS_LEVELS: dict[str, int] = {
    "awake": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_touch": 3,
    "unarousable": 4,
}
SEIZURE_TYPES: dict[str, int] = {"none": 0, "resolved_rapidly": 3, "prolonged_or_repetitive": 4}
MOTOR_FINDINGS: dict[str, int] = {"none": 0, "deep_focal_weakness": 4}
RAISED_ICP_FINDINGS: dict[str, int] = {"none": 0, "focal_edema": 3, "diffuse_edema": 4}


def ice_score(*, orientation: int, naming: int, commands: int, writing: int, attention: int) -> int:
    """Immune effector Cell-associated Encephalopathy (ICE) score, 0-10.

    Why: the ICE score is the encephalopathy domain of ICANS grading. Source: ASTCT 2019
    (Lee et al., BBMT 2019;25:625), ICE tool: orientation to year, month, city, hospital
    (0-4); naming three objects (0-3); following a simple command (0-1); writing a standard
    sentence (0-1); counting backwards from 100 by 10 (0-1). An unarousable patient scores 0.
    Each item is a whole number (``True``/``False`` are accepted for the one-point items).
    """
    total = 0
    for name, value, high in (
        ("orientation", orientation, 4),
        ("naming", naming, 3),
        ("commands", commands, 1),
        ("writing", writing, 1),
        ("attention", attention, 1),
    ):
        total += _whole(value, name, low=0, high=high, allow_bool=True)
    return total


def _ice_domain_grade(score: int) -> int:
    if score == 10:
        return 0
    if score >= 7:
        return 1
    if score >= 3:
        return 2
    return 3


def icans_grade(
    *,
    ice_score: int | None,
    consciousness: str = "awake",
    seizure: str = "none",
    motor: str = "none",
    raised_icp: str = "none",
    crs_icans_scale: str = "ASTCT2019",
) -> int:
    """ICANS grade for adults, 0-4 (0 = no ICANS).

    Why: ICANS is a DLT at grade >= 3 and drives steroid treatment. Source: ASTCT 2019 (Lee et
    al., BBMT 2019;25:625), table "ASTCT ICANS Consensus Grading for Adults" (RULES.md §2.2):
    grade = the worst of the five domains. ICE 7-9 -> 1, 3-6 -> 2, 0-2 -> 3 (awake, e.g.
    global aphasia); ICE 0 because unarousable -> 4 (via ``consciousness="unarousable"``,
    ICANS-08). Consciousness: awakens spontaneously 1, to voice 2, only to touch 3,
    unarousable/stupor/coma 4. Seizure: resolving rapidly 3, prolonged (> 5 min) or repetitive
    without return to baseline 4. Motor: deep focal weakness 4 (tremor and myoclonus are not
    ICANS). Raised ICP: focal edema 3, diffuse edema/posturing/CN VI palsy/papilledema/Cushing
    triad 4. Intracranial hemorrhage is not ICANS.

    ``ice_score=None`` means "not assessable" (e.g. intubated or sedated for another reason,
    the RULES.md default): the grade then comes from the other domains only. Depressed
    consciousness must not have another cause (e.g. sedation): record it as "awake" then.
    An unarousable patient scores ICE 0, so a positive ICE with "unarousable" is refused.
    Grade 5 (death from ICANS) is an investigator judgment and is not produced here.
    CTCAE v5.0 has no ICANS term, so ``crs_icans_scale="CTCAE5"`` raises ``ValueError``.
    """
    if _setting_choice(crs_icans_scale, "crs_icans_scale") != "ASTCT2019":
        raise ValueError(
            "crs_icans_scale 'CTCAE5' has no ICANS term: grade the neurologic events (e.g. "
            "Encephalopathy, Seizure) as CTCAE v5.0 terms, or use crs_icans_scale 'ASTCT2019'"
        )
    score = _whole(ice_score, "ice_score", low=0, high=10, allow_none=True)
    loc = CONSCIOUSNESS_LEVELS[
        choice(consciousness, "consciousness", CONSCIOUSNESS_LEVELS, normalize=True)
    ]
    if loc == 4 and score not in (None, 0):
        raise ValueError(
            f"ice_score must be 0 or None when consciousness is 'unarousable' (an unarousable "
            f"patient scores 0); got {ice_score!r}"
        )
    grades = [
        loc,
        SEIZURE_TYPES[choice(seizure, "seizure", SEIZURE_TYPES, normalize=True)],
        MOTOR_FINDINGS[choice(motor, "motor", MOTOR_FINDINGS, normalize=True)],
        RAISED_ICP_FINDINGS[choice(raised_icp, "raised_icp", RAISED_ICP_FINDINGS, normalize=True)],
    ]
    if score is not None:
        grades.append(_ice_domain_grade(score))
    return max(grades)


# ---------------------------------------------------------------------------------------------
# CTCAE v5.0 lab grades (RULES.md §3.2-§3.4)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CTCAETerm:
    """A CTCAE v5.0 term: MedDRA LLT code (MedDRA v20.1), primary SOC, the direction the lab
    value moves for the term ("decreased" | "increased", ``None`` for clinical terms), the
    default unit, the units accepted, and ``code_to_verify`` = True where RULES.md marks the
    code [VERIFY] (or it is not in RULES.md): read it from NCI's CTCAE_v5.0.xlsx before relying
    on it."""

    term: str
    meddra_llt_code: int
    soc: str
    direction: str | None
    default_unit: str | None
    units: tuple[str, ...]
    code_to_verify: bool = False


_COUNT_UNITS = ("10^9/L", "x10^9/L", "10^3/uL", "/mm3", "/uL", "cells/uL", "cells/mm3")
_HGB_UNITS = ("g/dL", "g/L", "mmol/L")
_MASS_UNITS = ("mg/dL", "umol/L")
_ENZYME_UNITS = ("U/L", "IU/L", "ukat/L")
_INVESTIGATIONS = "Investigations"
_BLOOD = "Blood and lymphatic system disorders"

CTCAE_TERMS: dict[str, CTCAETerm] = {
    t.term: t
    for t in (
        CTCAETerm("Neutrophil count decreased", 10029366, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS),
        CTCAETerm("Platelet count decreased", 10035528, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("White blood cell decreased", 10049182, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("Lymphocyte count decreased", 10025256, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("Anemia", 10002272, _BLOOD, "decreased", "g/dL", _HGB_UNITS),
        CTCAETerm("Alanine aminotransferase increased", 10001551, _INVESTIGATIONS,
                  "increased", "U/L", _ENZYME_UNITS),
        CTCAETerm("Aspartate aminotransferase increased", 10003481, _INVESTIGATIONS,
                  "increased", "U/L", _ENZYME_UNITS),
        CTCAETerm("Blood bilirubin increased", 10005364, _INVESTIGATIONS, "increased",
                  "mg/dL", _MASS_UNITS),
        CTCAETerm("Creatinine increased", 10011368, _INVESTIGATIONS, "increased", "mg/dL",
                  _MASS_UNITS),
    )
}  # fmt: skip

#: Clinical (not lab-gradable) CTCAE v5.0 terms used by this module, for AE coding.
CTCAE_CLINICAL_TERMS: dict[str, CTCAETerm] = {
    t.term: t
    for t in (
        CTCAETerm("Febrile neutropenia", 10016288, _BLOOD, None, None, ()),
        CTCAETerm("Hypotension", 10021097, "Vascular disorders", None, None, ()),
        CTCAETerm("Hypoxia", 10021143, "Respiratory, thoracic and mediastinal disorders",
                  None, None, ()),
        CTCAETerm("Cytokine release syndrome", 10052015, "Immune system disorders", None,
                  None, (), code_to_verify=True),
        CTCAETerm("Fever", 10016558, "General disorders and administration site conditions",
                  None, None, (), code_to_verify=True),
    )
}  # fmt: skip

# Decreasing terms: default-unit cut-offs (grade 2 below, grade 3 below, grade 4 below).
_DECREASING_CUTOFFS: dict[str, tuple[str, str, str | None]] = {
    "Neutrophil count decreased": ("1.5", "1.0", "0.5"),
    "Platelet count decreased": ("75", "50", "25"),
    "White blood cell decreased": ("3.0", "2.0", "1.0"),
    "Lymphocyte count decreased": ("0.8", "0.5", "0.2"),
    # Grade 4 anemia is clinical (life-threatening, urgent intervention): not from Hgb alone.
    "Anemia": ("10.0", "8.0", None),
}
_HGB_MMOL_L_CTCAE = ("6.2", "4.9", None)  # as printed in CTCAE v5.0
_HGB_MMOL_L_PER_G_DL = Decimal("0.6206")

# ULN/baseline multiples (grade 2 above, grade 3 above, grade 4 above).
_LIVER_MULTIPLES = {
    "Alanine aminotransferase increased": ("3.0", "5.0", "20.0"),
    "Aspartate aminotransferase increased": ("3.0", "5.0", "20.0"),
    "Blood bilirubin increased": ("1.5", "3.0", "10.0"),
}
# Grade 1 for an abnormal baseline: ALT/AST ">= 1.5 x baseline", bilirubin "> 1.0 x baseline".
_ABNORMAL_BASELINE_G1 = {
    "Alanine aminotransferase increased": ("1.5", True),
    "Aspartate aminotransferase increased": ("1.5", True),
    "Blood bilirubin increased": ("1.0", False),
}


def _canonical_unit(unit: str | None, term: CTCAETerm) -> str:
    if unit is None:
        return term.default_unit
    if isinstance(unit, str):
        key = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()
        for allowed in term.units:
            if allowed.lower() == key:
                return allowed
    raise ValueError(
        f"unit {unit!r} is not allowed for {term.term!r}; allowed: {allowed_text(term.units)}"
    )


def _canonical_term(term: object) -> CTCAETerm:
    if isinstance(term, str):
        key = term.strip().lower()
        for name, spec in CTCAE_TERMS.items():
            if name.lower() == key:
                return spec
    raise ValueError(
        f"term must be a lab-gradable CTCAE v5.0 term, one of {allowed_text(CTCAE_TERMS)}; "
        f"got {term!r}"
    )


def _decreasing_cutoffs(term: str, unit: str, hgb_mmol_rule: str) -> list[tuple[int, Decimal]]:
    texts = _DECREASING_CUTOFFS[term]
    factor = Decimal(1)
    if unit in ("/mm3", "/uL", "cells/uL", "cells/mm3"):
        factor = Decimal(1000)
    elif unit == "g/L":
        factor = Decimal(10)
    elif unit == "mmol/L":
        if hgb_mmol_rule == "ctcae":
            texts = _HGB_MMOL_L_CTCAE
        else:
            factor = _HGB_MMOL_L_PER_G_DL
    return [
        (grade, Decimal(t) * factor)
        for grade, t in zip((2, 3, 4), texts, strict=True)
        if t is not None
    ]


def ctcae_lab_grade(
    term: str,
    value: float | None,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    unit: str | None = None,
    creatinine_baseline_rule: str = "literal",
    hemoglobin_mmol_l_cutoffs: str = "converted",
) -> int | None:
    """CTCAE v5.0 grade (0-4) of one lab value, or ``None`` when it cannot be determined.

    Why: lab toxicities are graded the same way for AE reporting, LBTOXGR/ATOXGR and DLT review.
    Source: NCI CTCAE v5.0 (27 Nov 2017), terms in SOC Investigations and Blood and lymphatic
    system disorders (RULES.md §3.2), boundaries per RULES.md §3.3, baseline rules per §3.4,
    cross-checked with pharmaverse/admiral ``ncictcaev5.json``.

    Terms: see ``CTCAE_TERMS`` (matched case-insensitively). Decreasing terms ("< A - B" means
    B <= x < A): neutrophils 1.5/1.0/0.5, platelets 75/50/25, white blood cells 3.0/2.0/1.0,
    lymphocytes 0.8/0.5/0.2 x10^9/L; anemia Hgb 10.0/8.0 g/dL (grade 3 at most: grade 4 needs
    clinical input). The numeric grades 2-4 apply whatever the LLN; grade 1 needs value < LLN.
    Increasing terms ("> A - B" means A < x <= B) are multiples of ULN: ALT/AST 3/5/20,
    bilirubin 1.5/3/10. When baseline > ULN ("baseline abnormal"), the multiples apply to the
    baseline instead; grade 1 is then >= 1.5 x baseline (ALT/AST) or > baseline (bilirubin).
    Creatinine: grade 1 > ULN - 1.5 x ULN; grade 2 > 1.5 - 3 x baseline or ULN; grade 3
    > 3 x baseline or > 3 - 6 x ULN; grade 4 > 6 x ULN; the worse reading counts.
    [SETTING] ``creatinine_baseline_rule``: "literal" (default, admiral: the baseline criteria
    apply even while the value is <= ULN, CRE-03 -> 2) | "only_above_uln" (CRE-03 -> 0).

    ``unit`` names the unit of value, lln, uln and baseline alike: counts in "10^9/L"
    (default), "10^3/uL", "/mm3" or "/uL"; hemoglobin in "g/dL" (default), "g/L" or "mmol/L";
    bilirubin and creatinine in "mg/dL" (default) or "umol/L"; enzymes in "U/L", "IU/L" or
    "ukat/L". The cut-offs are converted into the reporting unit (exact decimal
    multiplication), never the value. [SETTING] ``hemoglobin_mmol_l_cutoffs``: "converted"
    (default: 10.0 and 8.0 g/dL x 0.6206 = 6.206 and 4.9648 mmol/L, RULES.md conventions, so
    the grade does not depend on the reporting unit) | "ctcae" (6.2 and 4.9 mmol/L, the
    rounded values printed in CTCAE v5.0).

    Returns ``None`` (the contract says int; documented exception, as admiral returns missing)
    when the value is ``None``; for a decreasing term without LLN when the value is not below
    the grade-2 cut-off; for an increasing term without ULN. Baseline is not used by the
    decreasing terms (CTCAE v5.0 has no baseline rule for them).
    """
    spec = _canonical_term(term)
    unit_name = _canonical_unit(unit, spec)
    creatinine_rule = _setting_choice(creatinine_baseline_rule, "creatinine_baseline_rule")
    hgb_rule = _setting_choice(hemoglobin_mmol_l_cutoffs, "hemoglobin_mmol_l_cutoffs")
    x = _decimal(value, "value", minimum=0, allow_none=True)
    low = _decimal(lln, "lln", positive=True, allow_none=True)
    high = _decimal(uln, "uln", positive=True, allow_none=True)
    base = _decimal(baseline, "baseline", minimum=0, allow_none=True)
    if x is None:
        return None
    if spec.direction == "decreased":
        for grade, cutoff in reversed(_decreasing_cutoffs(spec.term, unit_name, hgb_rule)):
            if x < cutoff:
                return grade
        if low is None:
            return None
        return 1 if x < low else 0
    if spec.term == "Creatinine increased" and base is not None and base == 0:
        raise ValueError("baseline must be greater than 0 for 'Creatinine increased'; got 0")
    if high is None:
        return None
    if spec.term == "Creatinine increased":
        return _creatinine_grade(x, high, base, creatinine_rule)
    return _liver_grade(spec.term, x, high, base)


def _liver_grade(term: str, x: Decimal, uln: Decimal, baseline: Decimal | None) -> int:
    g2, g3, g4 = (Decimal(m) for m in _LIVER_MULTIPLES[term])
    abnormal = baseline is not None and baseline > uln
    reference = baseline if abnormal else uln
    if x > g4 * reference:
        return 4
    if x > g3 * reference:
        return 3
    if x > g2 * reference:
        return 2
    if not abnormal:
        return 1 if x > uln else 0
    multiple, inclusive = _ABNORMAL_BASELINE_G1[term]
    limit = Decimal(multiple) * reference
    return 1 if (x >= limit if inclusive else x > limit) else 0


def _creatinine_grade(x: Decimal, uln: Decimal, baseline: Decimal | None, rule: str) -> int:
    if x > 6 * uln:
        by_uln = 4
    elif x > 3 * uln:
        by_uln = 3
    elif x > Decimal("1.5") * uln:
        by_uln = 2
    else:
        by_uln = 1 if x > uln else 0
    by_baseline = 0
    if baseline is not None:
        if x > 3 * baseline:
            by_baseline = 3
        elif x > Decimal("1.5") * baseline:
            by_baseline = 2
    if rule == "only_above_uln" and x <= uln:
        return 0
    return max(by_uln, by_baseline)


# ---------------------------------------------------------------------------------------------
# Febrile neutropenia (RULES.md §3.2)
# ---------------------------------------------------------------------------------------------

_FN_ANC_BELOW = Decimal("1.0")
_FN_SINGLE_ABOVE_C = Decimal("38.3")
_FN_SUSTAINED_MINUTES_ABOVE = Decimal("60")


def febrile_neutropenia_grade(
    *,
    anc_10e9_l: float | None,
    max_temperature_c: float | None,
    minutes_at_or_above_38: float | None = None,
) -> int | None:
    """CTCAE v5.0 "Febrile neutropenia" from labs and vitals: 3, or 0 (not febrile neutropenia).

    Why: febrile neutropenia is expected after CAR-T and must be told apart from CRS fever.
    Source: NCI CTCAE v5.0, Blood and lymphatic system disorders, "Febrile neutropenia" grade 3:
    ANC < 1.0 x10^9/L with a single temperature > 38.3 degC or a sustained temperature
    >= 38 degC for more than one hour (RULES.md §3.2). Grades 4 (life-threatening, urgent
    intervention) and 5 (death) need investigator input and are never returned.

    ``minutes_at_or_above_38``: how long the temperature stayed >= 38.0 degC; ``None`` means a
    single reading with no documented duration, which does not meet the "sustained" criterion
    (CASES.md F: ANC 0.8 with a single 38.1 degC is not febrile neutropenia). Returns ``None``
    only when the unknown value could change the answer (ANC unknown with qualifying fever, or
    temperature unknown with ANC < 1.0).
    """
    anc = _decimal(anc_10e9_l, "anc_10e9_l", minimum=0, allow_none=True)
    temp = _decimal(max_temperature_c, "max_temperature_c", allow_none=True)
    if temp is not None and not (_TEMPERATURE_RANGE_C[0] <= temp <= _TEMPERATURE_RANGE_C[1]):
        raise ValueError(
            f"max_temperature_c must be between {_TEMPERATURE_RANGE_C[0]} and "
            f"{_TEMPERATURE_RANGE_C[1]} degC; got {max_temperature_c!r}"
        )
    minutes = _decimal(minutes_at_or_above_38, "minutes_at_or_above_38", minimum=0, allow_none=True)
    if temp is None:
        fever = None
    else:
        sustained = (
            minutes is not None and minutes > _FN_SUSTAINED_MINUTES_ABOVE and temp >= _FEVER_C
        )
        fever = temp > _FN_SINGLE_ABOVE_C or sustained
    neutropenia = None if anc is None else anc < _FN_ANC_BELOW
    if fever is False or neutropenia is False:
        return 0
    if fever and neutropenia:
        return 3
    return None


# ---------------------------------------------------------------------------------------------
# DLT criteria, adverse-event facts and the DLT-candidate rule
# ---------------------------------------------------------------------------------------------

RELATEDNESS_CATEGORIES: tuple[str, ...] = (
    "unrelated",
    "unlikely",
    "possible",
    "probable",
    "definite",
)
AE_CATEGORIES: tuple[str, ...] = ("crs", "icans", "hematologic", "non_hematologic")
_RECOVERY_RULES = ("last_count", "any_count")
_CATEGORY_LABEL = {
    "crs": "CRS",
    "icans": "ICANS",
    "hematologic": "hematologic",
    "non_hematologic": "non-hematologic",
}


def _optional_grade(value: object, name: str, low: int = 1) -> int | None:
    return _whole(value, name, low=low, high=5, allow_none=True)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def _json_number(value: Decimal | int | float) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass(frozen=True)
class DLTCriteria:
    """The study's dose-limiting-toxicity definition, stored on the Study as JSON.

    Why: the registry text names DLT as the primary endpoint (28 days after infusion) but not
    its criteria; they come from the protocol (RULES.md §4.2: in CLL1/CD38 CAR-T,
    myelosuppression is expected, so a hematologic DLT is failure of count recovery by a stated
    day, not low counts). The default is a typical CAR-T phase I definition:

    * any related grade 5 event;
    * grade 4 CRS, or grade 3 CRS that does not resolve to grade <= 2 within 72 h;
    * grade >= 3 ICANS;
    * grade >= 3 related non-hematologic toxicity that does not resolve to grade <= 2 within
      72 h (so a grade 3 lab abnormality that resolves within 72 h is not a DLT);
    * failure of count recovery: ANC >= 0.5 and platelets >= 20 x10^9/L not reached by Day 28.

    Exempt by default (expected CAR-T events): grade 3 CRS that resolves within 72 h,
    cytopenias before the recovery day (hematologic events are never DLTs by grade alone),
    grade 3 "Fever" and grade 3 "Febrile neutropenia" (``exempt_terms``), and grade 3
    non-hematologic events that resolve within 72 h.

    Fields (every one is a key of ``to_dict()`` / ``from_dict()``):

    related_categories: investigator relatedness categories that count as "related to the
        product" (default possible, probable, definite; choices ``RELATEDNESS_CATEGORIES``).
    crs_icans_presumed_related: CRS and ICANS are, by their ASTCT definitions, effects of
        immune effector cells; when their relatedness is not yet recorded, treat them as
        related (an explicit assessment always wins). Default True.
    grade5_is_dlt: any related grade 5 (fatal) event is a DLT, whatever its category or
        exemption. Default True.
    crs_dlt_grade / icans_dlt_grade / non_hematologic_dlt_grade: grade at or above which a
        related event of that category is a DLT at once (``None`` = never at once).
        Defaults 4 / 3 / None.
    crs_unresolved_dlt_grade / icans_unresolved_dlt_grade / non_hematologic_unresolved_dlt_grade:
        grade (>= 3) at or above which a related event is a DLT if it does not resolve to
        grade <= 2 within the matching ``*_resolution_hours`` (``None`` = no such rule).
        Defaults 3 / None / 3.
    crs_resolution_hours / icans_resolution_hours / non_hematologic_resolution_hours: hours
        allowed to resolve to grade <= 2; resolving in exactly that time counts as in time.
        Default 72 each.
    hematologic_event_dlt_grade: grade at or above which a hematologic AE (cytopenia) is a DLT
        by itself; ``None`` (default) = hematologic DLT only as failure of count recovery.
    exempt_terms: CTCAE term -> highest grade that is exempt from the DLT definition for that
        term (matched case-insensitively, any category). Default {"Fever": 3,
        "Febrile neutropenia": 3}.
    hematologic_recovery_day: study day by which counts must have recovered (default 28);
        ``None`` = no hematologic DLT rule.
    recovery_anc_10e9_l / recovery_platelets_10e9_l: recovery thresholds, inclusive (>=).
        Defaults 0.5 and 20.
    recovery_rule: "last_count" (default): the latest complete count in the
        ``recovery_lookback_days`` before and on the recovery day must meet both thresholds;
        "any_count": any complete count from Day 0 to the recovery day meeting both counts.
    recovery_lookback_days: how far before the recovery day a count may be taken (default 7,
        the +/- 7-day count window of RULES.md §1.1).
    recovery_excludes_transfused_platelets: a platelet count taken within 7 days of a
        platelet transfusion is not evidence of recovery (default True).
    related_grade_categories: categories whose related grades feed ``max_related_grade`` (the
        ATD trigger). Default crs, icans, non_hematologic: expected myelosuppression would
        otherwise trigger every ATD cohort.
    """

    related_categories: tuple[str, ...] = ("possible", "probable", "definite")
    crs_icans_presumed_related: bool = True
    grade5_is_dlt: bool = True
    crs_dlt_grade: int | None = 4
    crs_unresolved_dlt_grade: int | None = 3
    crs_resolution_hours: int | float | Decimal = 72
    icans_dlt_grade: int | None = 3
    icans_unresolved_dlt_grade: int | None = None
    icans_resolution_hours: int | float | Decimal = 72
    non_hematologic_dlt_grade: int | None = None
    non_hematologic_unresolved_dlt_grade: int | None = 3
    non_hematologic_resolution_hours: int | float | Decimal = 72
    hematologic_event_dlt_grade: int | None = None
    exempt_terms: tuple[tuple[str, int], ...] = (("Fever", 3), ("Febrile neutropenia", 3))
    hematologic_recovery_day: int | None = 28
    recovery_anc_10e9_l: int | float | Decimal = 0.5
    recovery_platelets_10e9_l: int | float | Decimal = 20
    recovery_rule: str = "last_count"
    recovery_lookback_days: int = 7
    recovery_excludes_transfused_platelets: bool = True
    related_grade_categories: tuple[str, ...] = ("crs", "icans", "non_hematologic")

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("related_categories", self._categories("related_categories", RELATEDNESS_CATEGORIES))
        put(
            "related_grade_categories",
            self._categories("related_grade_categories", AE_CATEGORIES, allow_empty=True),
        )
        for name in (
            "crs_icans_presumed_related",
            "grade5_is_dlt",
            "recovery_excludes_transfused_platelets",
        ):
            _bool(getattr(self, name), name)
        for prefix in ("crs", "icans", "non_hematologic"):
            outright = _optional_grade(getattr(self, f"{prefix}_dlt_grade"), f"{prefix}_dlt_grade")
            unresolved = _optional_grade(
                getattr(self, f"{prefix}_unresolved_dlt_grade"),
                f"{prefix}_unresolved_dlt_grade",
                low=3,
            )
            if outright is not None and unresolved is not None and unresolved >= outright:
                raise ValueError(
                    f"{prefix}_unresolved_dlt_grade must be below {prefix}_dlt_grade "
                    f"({outright}); got {unresolved}"
                )
            put(f"{prefix}_dlt_grade", outright)
            put(f"{prefix}_unresolved_dlt_grade", unresolved)
            hours_name = f"{prefix}_resolution_hours"
            _decimal(getattr(self, hours_name), hours_name, positive=True)
        put(
            "hematologic_event_dlt_grade",
            _optional_grade(self.hematologic_event_dlt_grade, "hematologic_event_dlt_grade"),
        )
        put("exempt_terms", self._exempt_terms(self.exempt_terms))
        put(
            "hematologic_recovery_day",
            _whole(self.hematologic_recovery_day, "hematologic_recovery_day", low=0,
                   allow_none=True),
        )  # fmt: skip
        _decimal(self.recovery_anc_10e9_l, "recovery_anc_10e9_l", minimum=0)
        _decimal(self.recovery_platelets_10e9_l, "recovery_platelets_10e9_l", minimum=0)
        choice(self.recovery_rule, "recovery_rule", _RECOVERY_RULES, normalize=True)
        put("recovery_lookback_days", _whole(self.recovery_lookback_days,
                                             "recovery_lookback_days", low=0))  # fmt: skip

    def _categories(
        self, name: str, allowed: tuple[str, ...], allow_empty: bool = False
    ) -> tuple[str, ...]:
        value = getattr(self, name)
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"{name} must be a list drawn from {allowed_text(allowed)}")
        items = tuple(choice(v, name, allowed, normalize=True) for v in value)
        if not items and not allow_empty:
            raise ValueError(f"{name} must name at least one of {allowed_text(allowed)}")
        return tuple(dict.fromkeys(items))

    @staticmethod
    def _exempt_terms(value: object) -> tuple[tuple[str, int], ...]:
        pairs = value.items() if isinstance(value, Mapping) else value
        if isinstance(pairs, str) or not isinstance(pairs, Iterable):
            raise ValueError("exempt_terms must map CTCAE terms to the highest exempt grade")
        result = []
        for pair in pairs:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(f"exempt_terms entries must be (term, grade) pairs; got {pair!r}")
            term, grade = pair
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"exempt_terms keys must be CTCAE term texts; got {term!r}")
            result.append((term.strip(), _whole(grade, "exempt_terms grade", low=1, high=4)))
        names = [term.lower() for term, _grade in result]
        if len(set(names)) != len(names):
            raise ValueError("exempt_terms must list each term once")
        return tuple(result)

    def exempt_grade(self, term: str) -> int | None:
        """Highest exempt grade for ``term`` (case-insensitive), or ``None``."""
        key = term.strip().lower()
        for name, grade in self.exempt_terms:
            if name.lower() == key:
                return grade
        return None

    def category_rule(self, category: str) -> tuple[int | None, int | None, Decimal]:
        """(DLT-at-once grade, DLT-if-unresolved grade, resolution hours) of a category."""
        return (
            getattr(self, f"{category}_dlt_grade"),
            getattr(self, f"{category}_unresolved_dlt_grade"),
            _decimal(getattr(self, f"{category}_resolution_hours"), "resolution_hours"),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field (tuples as lists, exempt_terms as {term: grade})."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "exempt_terms":
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Decimal):
                value = _json_number(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DLTCriteria:
        """Build and validate criteria from stored JSON; missing keys take the defaults,
        unknown keys raise ``ValueError`` listing the allowed ones."""
        if not isinstance(data, Mapping):
            raise ValueError(f"DLT criteria must be a mapping; got {type(data).__name__}")
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown DLT criteria key(s) {allowed_text(unknown)}; allowed keys: "
                f"{allowed_text(allowed)}"
            )
        values = {}
        for name, value in data.items():
            if isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)


DEFAULT_DLT_CRITERIA = DLTCriteria()


def _coerce_criteria(criteria: object) -> DLTCriteria:
    if isinstance(criteria, DLTCriteria):
        return criteria
    if isinstance(criteria, Mapping):
        return DLTCriteria.from_dict(criteria)
    raise ValueError(f"criteria must be a DLTCriteria or a mapping; got {criteria!r}")


@dataclass(frozen=True, kw_only=True)
class AdverseEventFacts:
    """The facts about one adverse event that the DLT rule needs.

    term: CTCAE term (or "Cytokine release syndrome" / "ICANS").
    category: "crs" | "icans" | "hematologic" (cytopenias: neutrophil, platelet, WBC or
        lymphocyte count decreased, anemia) | "non_hematologic" (everything else, including
        febrile neutropenia, infections and bleeding).
    grade: worst grade, 1-5 (CTCAE v5.0, or ASTCT 2019 for CRS/ICANS).
    relatedness: investigator's assessment of relation to the CAR-T product, one of
        ``RELATEDNESS_CATEGORIES``; ``None`` = not yet assessed.
    onset_study_day: day the event began (Day 0 = infusion; may be negative before infusion).
    grade_3_study_day: day the event first reached grade >= 3 (``None`` = not recorded: the
        onset day is used). An event often starts mild (CRS grade 1 on Day 2, grade 3 on Day
        6), and the resolve-within-hours rule runs from grade 3, not from onset.
    hours_to_grade_2_or_less: hours from reaching grade >= 3 until back to grade <= 2;
        ``None`` = not yet resolved, or not known.
    fatal: the event caused death. ``None`` (default) derives it from grade 5; it must agree
        with the grade.
    event_id: the AE record's identifier, carried through to results.
    """

    term: str
    category: str
    grade: int
    relatedness: str | None = None
    onset_study_day: int = 0
    grade_3_study_day: int | None = None
    hours_to_grade_2_or_less: int | float | Decimal | None = None
    fatal: bool | None = None
    event_id: str | int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.term, str) or not self.term.strip():
            raise ValueError(f"term must be a non-empty CTCAE term text; got {self.term!r}")
        object.__setattr__(
            self, "category", choice(self.category, "category", AE_CATEGORIES, normalize=True)
        )
        object.__setattr__(self, "grade", _whole(self.grade, "grade", low=1, high=5))
        if self.relatedness is not None:
            object.__setattr__(
                self,
                "relatedness",
                choice(self.relatedness, "relatedness", RELATEDNESS_CATEGORIES, normalize=True),
            )
        object.__setattr__(self, "onset_study_day", _whole(self.onset_study_day, "onset_study_day"))
        severe_day = _whole(self.grade_3_study_day, "grade_3_study_day", allow_none=True)
        if severe_day is not None and (severe_day < self.onset_study_day or self.grade < 3):
            raise ValueError(
                f"grade_3_study_day must be on or after onset_study_day ({self.onset_study_day}) "
                f"and needs grade >= 3; got {self.grade_3_study_day!r} with grade {self.grade}"
            )
        object.__setattr__(self, "grade_3_study_day", severe_day)
        _decimal(
            self.hours_to_grade_2_or_less, "hours_to_grade_2_or_less", minimum=0, allow_none=True
        )
        if self.fatal is None:
            object.__setattr__(self, "fatal", self.grade == 5)
        elif not isinstance(self.fatal, bool) or self.fatal != (self.grade == 5):
            raise ValueError(
                f"fatal must agree with grade (grade 5 = death related to the event); got "
                f"fatal={self.fatal!r} with grade {self.grade}"
            )


@dataclass(frozen=True)
class DLTAssessment:
    """Whether one event is a DLT candidate.

    is_candidate: True / False / ``None`` (data needed is missing: resolution unknown and the
    allowed hours not yet elapsed, or relatedness not assessed). code: machine-readable reason
    ("fatal", "crs_grade", "icans_grade", "non_hematologic_grade", "hematologic_grade",
    "unresolved", "resolved_in_time", "resolution_pending", "exempt_term",
    "hematologic_expected", "below_threshold", "not_related", "relatedness_pending").
    reasons: sentences an investigator reads. The investigator confirms every candidate.
    """

    is_candidate: bool | None
    code: str
    reasons: tuple[str, ...]


def _is_related(event: AdverseEventFacts, criteria: DLTCriteria) -> bool | None:
    if event.relatedness is None:
        if event.category in ("crs", "icans") and criteria.crs_icans_presumed_related:
            return True
        return None
    return event.relatedness in criteria.related_categories


def _clinical_verdict(
    event: AdverseEventFacts, criteria: DLTCriteria, hours_observed: Decimal | None
) -> tuple[bool | None, str, str]:
    grade, term = event.grade, event.term
    label = _CATEGORY_LABEL[event.category]
    if grade == 5 and criteria.grade5_is_dlt:
        return True, "fatal", f"{term} was fatal (grade 5): any related death is a DLT."
    exempt = criteria.exempt_grade(term)
    if exempt is not None and grade <= exempt:
        return (
            False,
            "exempt_term",
            f"{term} grade {grade} is an expected CAR-T event (exempt up to grade {exempt}) "
            f"and is not a DLT.",
        )
    if event.category == "hematologic":
        threshold = criteria.hematologic_event_dlt_grade
        if threshold is not None and grade >= threshold:
            return (
                True,
                "hematologic_grade",
                f"{term} grade {grade} reaches the hematologic DLT grade ({threshold}).",
            )
        return (
            False,
            "hematologic_expected",
            f"{term} grade {grade}: cytopenia is expected after lymphodepletion and CAR-T; a "
            f"hematologic DLT is failure of count recovery, assessed from the blood counts.",
        )
    outright, unresolved, hours = criteria.category_rule(event.category)
    if outright is not None and grade >= outright:
        return (
            True,
            f"{event.category}_grade",
            f"{label} event {term} grade {grade} meets the DLT grade (>= {outright}).",
        )
    if unresolved is not None and grade >= unresolved:
        allowed = _fmt(hours)
        resolved = _decimal(event.hours_to_grade_2_or_less, "hours_to_grade_2_or_less",
                            allow_none=True)  # fmt: skip
        if resolved is not None:
            if resolved <= hours:
                return (
                    False,
                    "resolved_in_time",
                    f"{term} grade {grade} resolved to grade <= 2 in {_fmt(resolved)} h, within "
                    f"the {allowed} h allowed: not a DLT.",
                )
            return (
                True,
                "unresolved",
                f"{term} grade {grade} took {_fmt(resolved)} h to resolve to grade <= 2, more "
                f"than the {allowed} h allowed: DLT.",
            )
        if hours_observed is not None and hours_observed > hours:
            return (
                True,
                "unresolved",
                f"{term} grade {grade} has not resolved to grade <= 2 after "
                f"{_fmt(hours_observed)} h of observation, more than the {allowed} h allowed: "
                f"DLT.",
            )
        return (
            None,
            "resolution_pending",
            f"{term} grade {grade} is a DLT only if it does not resolve to grade <= 2 within "
            f"{allowed} h; resolution is not yet known.",
        )
    thresholds = [g for g in (outright, unresolved) if g is not None]
    if thresholds:
        text = f"below the {label} DLT grade (>= {min(thresholds)})"
    else:
        text = f"{label} events are not DLTs under the study's criteria"
    return False, "below_threshold", f"{term} grade {grade}: {text}."


def dlt_candidate(
    event: AdverseEventFacts,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
    *,
    hours_observed: float | None = None,
) -> DLTAssessment:
    """Is this adverse event a DLT candidate under the study's DLT criteria?

    Why: DLTs inside the 28-day window decide dose escalation (RULES.md §4.1); the computed
    answer is a candidate that the investigator confirms. Source: the study's ``DLTCriteria``
    (protocol-defined; the default is described on ``DLTCriteria``), with CRS/ICANS graded by
    ASTCT 2019 and other events by CTCAE v5.0.

    Order: (1) is the event severe enough (grade 5; exempt terms; hematologic events; the
    category's DLT grade; the resolve-within-hours rule)? (2) is it related to the product?
    An event that fails (1) is not a candidate whatever its relatedness; one that passes (1)
    is not a candidate if assessed as not related, and is undecided (``None``) while
    relatedness is unassessed.

    ``hours_observed``: hours the event has been followed since reaching grade >= 3 without
    resolving; used only when ``event.hours_to_grade_2_or_less`` is ``None``. Unresolved after
    more than the allowed hours -> candidate; otherwise ``None`` (pending).
    ``criteria`` may be a ``DLTCriteria`` or its stored dict.
    """
    criteria = _coerce_criteria(criteria)
    if not isinstance(event, AdverseEventFacts):
        raise ValueError(f"event must be an AdverseEventFacts; got {type(event).__name__}")
    observed = _decimal(hours_observed, "hours_observed", minimum=0, allow_none=True)
    verdict, code, reason = _clinical_verdict(event, criteria, observed)
    if verdict is False:
        return DLTAssessment(False, code, (reason,))
    related = _is_related(event, criteria)
    if related is False:
        return DLTAssessment(
            False,
            "not_related",
            (
                reason,
                f"Relatedness was assessed as '{event.relatedness}'; the study counts only "
                f"{', '.join(criteria.related_categories)} as related: not a DLT.",
            ),
        )
    if related is None:
        return DLTAssessment(
            None,
            "relatedness_pending",
            (reason, "Relatedness to the CAR-T product has not been assessed yet."),
        )
    return DLTAssessment(verdict, code, (reason,))


# ---------------------------------------------------------------------------------------------
# Count recovery (hematologic DLT) and the DLT-window evaluation of one subject
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BloodCount:
    """One blood count after infusion: study day (Day 0 = infusion), ANC and platelets in
    x10^9/L (``None`` = not measured), and whether a platelet transfusion was given in the 7
    days before it."""

    study_day: int
    anc_10e9_l: int | float | Decimal | None = None
    platelets_10e9_l: int | float | Decimal | None = None
    platelet_transfusion_within_7_days: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "study_day", _whole(self.study_day, "study_day"))
        _decimal(self.anc_10e9_l, "anc_10e9_l", minimum=0, allow_none=True)
        _decimal(self.platelets_10e9_l, "platelets_10e9_l", minimum=0, allow_none=True)
        _bool(self.platelet_transfusion_within_7_days, "platelet_transfusion_within_7_days")


@dataclass(frozen=True)
class CountRecoveryAssessment:
    """Count recovery for the hematologic DLT rule.

    status: "recovered" | "not_recovered" (hematologic DLT candidate) | "pending" (recovery day
    not reached, or no usable count yet) | "not_assessable" (left the study before the recovery
    day without recovering) | "not_applicable" (the criteria have no hematologic rule).
    recovery_day: the criteria's day. count_day: the study day of the count that decided.
    reasons: sentences an investigator reads.
    """

    status: str
    recovery_day: int | None
    count_day: int | None
    reasons: tuple[str, ...]

    @property
    def hematologic_dlt(self) -> bool | None:
        """True for failure of count recovery, False when recovered or not applicable."""
        if self.status == "not_recovered":
            return True
        if self.status in ("recovered", "not_applicable"):
            return False
        return None


def _count_meets(count: BloodCount, criteria: DLTCriteria) -> bool | None:
    anc = _decimal(count.anc_10e9_l, "anc_10e9_l", allow_none=True)
    plt = _decimal(count.platelets_10e9_l, "platelets_10e9_l", allow_none=True)
    anc_ok = None if anc is None else anc >= _decimal(criteria.recovery_anc_10e9_l, "anc")
    plt_ok = None if plt is None else plt >= _decimal(criteria.recovery_platelets_10e9_l, "plt")
    if (
        plt_ok
        and count.platelet_transfusion_within_7_days
        and criteria.recovery_excludes_transfused_platelets
    ):
        plt_ok = False
    if anc_ok is False or plt_ok is False:
        return False
    if anc_ok and plt_ok:
        return True
    return None


def assess_count_recovery(
    counts: Iterable[BloodCount] | None,
    *,
    as_of_day: int,
    left_study_day: int | None = None,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
) -> CountRecoveryAssessment:
    """Did blood counts recover by the study's recovery day (the hematologic DLT rule)?

    Why: after lymphodepletion and CLL1/CD38 CAR-T, cytopenia is expected; the protocol's
    hematologic DLT is failure of count recovery by a stated day (RULES.md §4.2), by default
    ANC >= 0.5 and platelets >= 20 x10^9/L by Day 28 (``DLTCriteria``). Recovery needs both
    thresholds on the same count; a platelet value within 7 days of a platelet transfusion does
    not show recovery (by default). ``recovery_rule`` "last_count" (default) judges the latest
    complete count in [recovery day - lookback, recovery day]; "any_count" accepts any complete
    count from Day 0 to the recovery day (and can report recovery before that day). Counts after
    the recovery day are ignored. ``as_of_day`` is today's study day, whose data may still be
    incomplete: on the recovery day itself a failing earlier count waits for that day's count.
    Whether cytopenia comes from persistent leukemia rather than the product is for the
    investigator, who confirms every candidate.
    """
    criteria = _coerce_criteria(criteria)
    as_of = _whole(as_of_day, "as_of_day", low=0)
    left = _whole(left_study_day, "left_study_day", low=0, allow_none=True)
    day = criteria.hematologic_recovery_day
    if day is None:
        return CountRecoveryAssessment(
            "not_applicable", None, None, ("The study's DLT criteria have no count-recovery rule.",)
        )
    items = []
    for count in counts or ():
        if not isinstance(count, BloodCount):
            raise ValueError(f"counts must be BloodCount records; got {type(count).__name__}")
        if count.study_day > as_of:
            raise ValueError(
                f"counts has a count on study day {count.study_day}, after as_of_day {as_of}"
            )
        items.append(count)
    items.sort(key=lambda c: c.study_day)
    observed_until = as_of if left is None else min(as_of, left)
    anc_text = _fmt(_decimal(criteria.recovery_anc_10e9_l, "anc"))
    plt_text = _fmt(_decimal(criteria.recovery_platelets_10e9_l, "plt"))
    target = f"ANC >= {anc_text} and platelets >= {plt_text} x10^9/L"
    first_lookback = max(0, day - criteria.recovery_lookback_days)

    if criteria.recovery_rule == "any_count":
        for count in items:
            if 0 <= count.study_day <= min(day, observed_until) and _count_meets(count, criteria):
                return CountRecoveryAssessment(
                    "recovered",
                    day,
                    count.study_day,
                    (f"Counts recovered ({target}) on Day {count.study_day}, by Day {day}.",),
                )
    if observed_until < day:
        if left is not None and left < day:
            return CountRecoveryAssessment(
                "not_assessable",
                day,
                None,
                (f"Left the study on Day {left}, before count recovery could be judged on "
                 f"Day {day}.",),
            )  # fmt: skip
        return CountRecoveryAssessment(
            "pending", day, None, (f"Count recovery is judged on Day {day}; today is Day {as_of}.",)
        )
    usable = [
        c
        for c in items
        if first_lookback <= c.study_day <= day and _count_meets(c, criteria) is not None
    ]
    if not usable:
        return CountRecoveryAssessment(
            "pending",
            day,
            None,
            (f"No complete blood count between Day {first_lookback} and Day {day}: count "
             f"recovery cannot be judged yet.",),
        )  # fmt: skip
    last = usable[-1]
    if left is None and as_of == day and last.study_day < day:
        return CountRecoveryAssessment(
            "pending",
            day,
            None,
            (f"Today is Day {day}, the recovery day; its blood count is not recorded yet.",),
        )
    if criteria.recovery_rule == "last_count" and _count_meets(last, criteria):
        return CountRecoveryAssessment(
            "recovered", day, last.study_day, (f"Day {last.study_day} count meets {target}.",)
        )
    return CountRecoveryAssessment(
        "not_recovered",
        day,
        last.study_day,
        (f"Counts had not recovered to {target} by Day {day} (last count Day "
         f"{last.study_day}): hematologic DLT candidate.",),
    )  # fmt: skip


DLT_WINDOW_STATUSES: tuple[str, ...] = (
    "evaluable_with_dlt",
    "evaluable_without_dlt",
    "not_evaluable",
    "open",
)


@dataclass(frozen=True)
class DLTWindowResult:
    """DLT-window result for one subject.

    status: "evaluable_with_dlt" | "evaluable_without_dlt" | "not_evaluable" (left before the
        window ended without a DLT) | "open" (window still running, or an event still needs
        data before the subject can be called DLT-free).
    dlt: True / False / ``None`` (pending). evaluable: False only for "not_evaluable".
    max_related_grade: worst product-related grade with onset inside the window, over
        ``criteria.related_grade_categories`` (the ATD trigger input); 0 if none.
    max_unassessed_grade: worst grade inside the window whose relatedness is not yet assessed
        (0 if none) - the ATD decision should wait while it could change the trigger.
    dlt_events: events that are DLT candidates. pending_events: events still undecided.
    count_recovery: the hematologic assessment (``None`` if the criteria have no such rule).
    assessments: (event, assessment) for every event with onset inside the window.
    first_dlt_day: earliest onset day of a DLT (the recovery day for a hematologic DLT).
    window_end_day: last day of the DLT window; closes_on_day: day after which the evaluation
        can be final (the later of the window end and the recovery day).
    reasons: sentences for the investigator.
    """

    status: str
    dlt: bool | None
    evaluable: bool
    max_related_grade: int
    max_unassessed_grade: int
    dlt_events: tuple[AdverseEventFacts, ...]
    pending_events: tuple[AdverseEventFacts, ...]
    count_recovery: CountRecoveryAssessment | None
    assessments: tuple[tuple[AdverseEventFacts, DLTAssessment], ...]
    first_dlt_day: int | None
    window_end_day: int
    closes_on_day: int
    reasons: tuple[str, ...]

    def outcome_fields(self) -> dict[str, object]:
        """``dlt``, ``max_related_grade`` and ``evaluable`` as the dosing engine's
        ``SubjectOutcome(dose_level, dlt, max_related_grade, evaluable)`` expects them."""
        return {
            "dlt": self.dlt,
            "max_related_grade": self.max_related_grade,
            "evaluable": self.evaluable,
        }


def evaluate_dlt_window(
    *,
    events: Iterable[AdverseEventFacts],
    as_of_day: int,
    left_study_day: int | None = None,
    count_recovery: Iterable[BloodCount] | None = None,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
    dlt_window_days: int = 28,
) -> DLTWindowResult:
    """Evaluate one subject's DLT window as of a study day.

    Why: the escalation engine needs, per subject, DLT yes/no/pending, evaluability and the
    worst related grade (RULES.md §4.1-§4.2; DESIGN.md §2: safety owns DLT adjudication).
    Source: registry primary outcome "DLT, 28 days after CAR-T infusion"; the window is Day 0 to
    Day ``dlt_window_days`` inclusive ([SETTING] ``dlt_window_days`` = 28): an event with onset
    on Day 28 counts, Day 29 does not, and events before Day 0 (lymphodepletion) do not.

    Rules: a DLT at any time in the window makes the subject evaluable with DLT at once. Without
    one, the subject is "not_evaluable" if they left the study (``left_study_day``) before the
    window closed, "open" while the window runs or an event's DLT status is undecided, else
    "evaluable_without_dlt". The window closes at the end of the later of Day
    ``dlt_window_days`` and the count-recovery day. ``as_of_day`` is today's study day, whose
    data may still be incomplete, so a subject is DLT-free at the earliest on the next day (Day
    28 open, Day 29 complete); a subject who left on or after the closing day completed it.
    For an event with unknown resolution, the hours observed are counted conservatively in
    whole days: (observation end - day grade 3 was reached - 1) x 24, where observation ends at
    ``as_of_day`` or at ``left_study_day`` and the grade-3 day is ``grade_3_study_day`` (the
    onset day when it is not recorded, which can call a DLT early for an event that started
    mild: record it), so a DLT is never declared before the allowed hours have certainly passed.

    ``events``: every adverse event of the subject (filtered here); ``count_recovery``: the
    subject's blood counts (``BloodCount``); ``criteria``: ``DLTCriteria`` or its stored dict.
    """
    criteria = _coerce_criteria(criteria)
    window_end = _whole(dlt_window_days, "dlt_window_days", low=1)
    as_of = _whole(as_of_day, "as_of_day", low=0)
    left = _whole(left_study_day, "left_study_day", low=0, allow_none=True)
    if left is not None and left > as_of:
        raise ValueError(f"left_study_day ({left}) must not be after as_of_day ({as_of})")
    all_events = []
    for event in events:
        if not isinstance(event, AdverseEventFacts):
            raise ValueError(f"events must be AdverseEventFacts; got {type(event).__name__}")
        if event.onset_study_day > as_of:
            raise ValueError(
                f"events has an onset on study day {event.onset_study_day}, after as_of_day {as_of}"
            )
        if event.grade_3_study_day is not None and event.grade_3_study_day > as_of:
            raise ValueError(
                f"events has grade_3_study_day {event.grade_3_study_day}, after as_of_day {as_of}"
            )
        all_events.append(event)
    inside = [e for e in all_events if 0 <= e.onset_study_day <= window_end]
    observation_end = as_of if left is None else min(as_of, left)

    assessments = []
    for event in inside:
        start = event.onset_study_day
        if event.grade_3_study_day is not None:
            start = event.grade_3_study_day
        hours = Decimal(max(0, observation_end - start - 1) * 24)
        assessments.append((event, dlt_candidate(event, criteria, hours_observed=hours)))
    dlt_events = tuple(e for e, a in assessments if a.is_candidate is True)
    pending = tuple(e for e, a in assessments if a.is_candidate is None)

    recovery = None
    hematologic_dlt: bool | None = False
    recovery_day = criteria.hematologic_recovery_day
    if recovery_day is not None:
        recovery = assess_count_recovery(
            count_recovery, as_of_day=as_of, left_study_day=left, criteria=criteria
        )
        hematologic_dlt = recovery.hematologic_dlt
    closes = max(window_end, recovery_day or 0)

    related = [
        e
        for e in inside
        if e.category in criteria.related_grade_categories and _is_related(e, criteria)
    ]
    unassessed = [
        e
        for e in inside
        if e.category in criteria.related_grade_categories and _is_related(e, criteria) is None
    ]
    max_related = max((e.grade for e in related), default=0)
    max_unassessed = max((e.grade for e in unassessed), default=0)

    dlt_days = [e.onset_study_day for e in dlt_events]
    if hematologic_dlt:
        dlt_days.append(recovery_day)
    reasons: list[str] = []
    for _event, assessment in assessments:
        if assessment.is_candidate is True:
            reasons.extend(assessment.reasons)
    if hematologic_dlt and recovery is not None:
        reasons.extend(recovery.reasons)

    if dlt_days:
        status, dlt = "evaluable_with_dlt", True
    elif pending:
        status, dlt = "open", None
        for _event, assessment in assessments:
            if assessment.is_candidate is None:
                reasons.extend(assessment.reasons)
    elif left is not None and left < closes:
        status, dlt = "not_evaluable", False
        reasons.append(
            f"Left the study on Day {left}, before the DLT window closed (Day {closes}), "
            f"without a DLT: not evaluable (replace if the design says so)."
        )
    elif left is None and as_of <= closes:
        status, dlt = "open", None
        reasons.append(f"DLT window open through Day {closes}; no DLT so far (today Day {as_of}).")
    elif hematologic_dlt is None:
        status, dlt = "open", None
        reasons.extend(recovery.reasons if recovery is not None else ())
    else:
        status, dlt = "evaluable_without_dlt", False
        reasons.append(f"DLT window completed (Day 0 to Day {closes}) without a DLT.")
    return DLTWindowResult(
        status=status,
        dlt=dlt,
        evaluable=status != "not_evaluable",
        max_related_grade=max_related,
        max_unassessed_grade=max_unassessed,
        dlt_events=dlt_events,
        pending_events=pending,
        count_recovery=recovery,
        assessments=tuple(assessments),
        first_dlt_day=min(dlt_days) if dlt_days else None,
        window_end_day=window_end,
        closes_on_day=closes,
        reasons=tuple(reasons),
    )
