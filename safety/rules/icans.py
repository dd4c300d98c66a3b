"""ICE score and ICANS grade (adults).

Source: Lee DW et al., ASTCT consensus grading, Biol Blood Marrow Transplant 2019;25:625-638.
"""

from __future__ import annotations

from rulekit.validation import choice
from safety.rules._values import _whole
from safety.rules.settings import _setting_choice

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
