"""Cytokine release syndrome: oxygen and hypotension categories and the CRS grade.

Source: Lee DW et al., ASTCT consensus grading for CRS and neurologic toxicity, Biol Blood Marrow
Transplant 2019;25:625-638; CTCAE v5.0 "Cytokine release syndrome" as the alternative scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rulekit.validation import choice
from safety.rules._values import _decimal, _whole
from safety.rules.settings import _setting_choice

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
