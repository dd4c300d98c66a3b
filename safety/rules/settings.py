"""Study settings of the safety rules: the RULES.md [SETTING]s these functions read, with their
defaults and allowed values, and ``settings_for`` to pass a study's stored settings through.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

from rulekit.settings import Range, check_settings
from rulekit.validation import choice

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

# Plausible bounds (not in RULES.md): a hypotension cut-off of 60-120 mmHg systolic; a DLT window
# of 1 day to 3 months after Day 0 (the registry fixes 28 days).
SETTINGS_RANGES: dict[str, Range] = {
    "hypotension_sbp_below_mmhg": Range(60, 120, unit="mmHg"),
    "dlt_window_days": Range(1, 90, whole=True, unit="days"),
}

#: What each setting decides and where it comes from, for the settings page.
SETTINGS_HELP: dict[str, str] = {
    "crs_icans_scale": "the scale that grades CRS and ICANS (ASTCT 2019 consensus or CTCAE v5.0).",
    "hypotension_sbp_below_mmhg": "systolic blood pressure below which CRS "
    "counts hypotension (ASTCT gives no number).",
    "creatinine_baseline_rule": "CTCAE creatinine criteria relative to baseline "
    "read literally, or only once the value is above ULN.",
    "hemoglobin_mmol_l_cutoffs": "CTCAE v5.0 anemia in mmol/L: the printed cut-offs or the g/dL "
    "ones converted with x 0.6206.",
    "dlt_window_days": "registry: the DLT window runs from Day 0 to this day.",
}


def validate_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The complete, checked safety settings, or ``SettingsError`` naming each bad one.

    Why: the study-settings page and :func:`settings_for` (how stored settings reach the rule
    functions) check with this one function, so a stored setting is one the rules accept.
    """
    return check_settings(
        settings, defaults=SETTINGS_DEFAULTS, choices=SETTINGS_CHOICES, ranges=SETTINGS_RANGES
    )


def settings_for(function: Callable[..., object], settings: Mapping[str, object]) -> dict:
    """Return the subset of a study's stored settings that ``function`` accepts.

    Why: a study stores all its [SETTING]s together (RULES.md §8) but each rule depends on only a
    few; passing the whole mapping with ``**`` would fail on the others. Keys that are not
    settings of this module (for example efficacy settings) are ignored; a setting this module
    knows whose value it refuses (type, choice, range) raises ``ValueError`` naming it.
    """
    accepted = inspect.signature(function).parameters
    known = {k: v for k, v in settings.items() if k in SETTINGS_DEFAULTS}
    checked = validate_settings(known)
    return {name: checked[name] for name in known if name in accepted}


def _setting_choice(value: object, name: str) -> str:
    return choice(value, name, SETTINGS_CHOICES[name])
