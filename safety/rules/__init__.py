"""Pure safety rules for NCT06880354: CRS and ICANS (ASTCT 2019), CTCAE v5.0 lab grades,
febrile neutropenia, and DLT adjudication support.

The web app, the workers, the API and outside validators all call these functions. They are the
only implementation of each rule (DESIGN.md §3-§4, CONTRACT.md "safety.rules"). Plain values go
in and frozen dataclasses or plain values come out. This package imports no Django code.

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

The package splits the rules along their clusters (``crs``, ``icans``, ``ctcae``,
``febrile_neutropenia``, ``dlt_criteria``, ``dlt_candidate``, ``count_recovery``, ``dlt_window``);
every public name is re-exported here so ``from safety.rules import ...`` keeps working.
"""

from __future__ import annotations

from safety.rules.count_recovery import BloodCount, CountRecoveryAssessment, assess_count_recovery
from safety.rules.crs import (
    HYPOTENSION_CATEGORIES,
    OXYGEN_CATEGORIES,
    OXYGEN_DEVICES,
    VASOPRESSORS,
    CRSAssessment,
    crs_assessment,
    crs_episode_grade,
    crs_grade,
    hypotension_category,
    hypotension_present,
    oxygen_category,
)
from safety.rules.ctcae import (
    BASELINE_NOT_RECORDED,
    BASELINE_TERMS,
    CTCAE_CLINICAL_TERMS,
    CTCAE_TERMS,
    CTCAELabGrade,
    CTCAETerm,
    ctcae_lab_assessment,
    ctcae_lab_grade,
)
from safety.rules.dlt_candidate import AdverseEventFacts, DLTAssessment, dlt_candidate
from safety.rules.dlt_criteria import (
    AE_CATEGORIES,
    DEFAULT_DLT_CRITERIA,
    ELECTROLYTE_TERMS,
    RELATEDNESS_CATEGORIES,
    DLTCriteria,
)
from safety.rules.dlt_window import DLT_WINDOW_STATUSES, DLTWindowResult, evaluate_dlt_window
from safety.rules.febrile_neutropenia import febrile_neutropenia_grade
from safety.rules.icans import (
    CONSCIOUSNESS_LEVELS,
    MOTOR_FINDINGS,
    RAISED_ICP_FINDINGS,
    SEIZURE_TYPES,
    icans_grade,
    ice_score,
)
from safety.rules.settings import (
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    SETTINGS_HELP,
    SETTINGS_RANGES,
    settings_for,
    validate_settings,
)

__all__ = [
    "BASELINE_NOT_RECORDED",
    "BASELINE_TERMS",
    "CTCAELabGrade",
    "ELECTROLYTE_TERMS",
    "ctcae_lab_assessment",
    "AE_CATEGORIES",
    "AdverseEventFacts",
    "BloodCount",
    "CONSCIOUSNESS_LEVELS",
    "CRSAssessment",
    "CTCAETerm",
    "CTCAE_CLINICAL_TERMS",
    "CTCAE_TERMS",
    "CountRecoveryAssessment",
    "DEFAULT_DLT_CRITERIA",
    "DLTAssessment",
    "DLTCriteria",
    "DLTWindowResult",
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
    "SETTINGS_HELP",
    "SETTINGS_RANGES",
    "VASOPRESSORS",
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
    "icans_grade",
    "ice_score",
    "oxygen_category",
    "settings_for",
    "validate_settings",
]
