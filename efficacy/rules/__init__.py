"""Pure efficacy rules for NCT06880354 (CLL1 + CD38 dual CAR-T in r/r AML).

Plain values in, frozen dataclasses out. No Django import: this module is the one implementation
of the efficacy rules that the web app, the worker, the API and external validators all call.

Sources (RULES.md §1 and §6 give the wording used here):

- Döhner H et al. ELN 2022 recommendations, Blood 2022;140:1345–1377 — response categories
  (Table 6), outcome definitions (Table 9), MRD-qualified responses and relapse.
- Döhner H et al. ELN 2017 recommendations, Blood 2017;129:424–447, Table 7 footnote —
  progressive disease (used for the DOR of MLFS/PR responders).
- Heuser M et al. ELN MRD 2021 update, Blood 2021;138:2753 — MRD relapse.
- Kaplan & Meier 1958; Greenwood 1926; Brookmeyer & Crowley, Biometrics 1982;38:29 — KM, variance,
  median CI. Clopper & Pearson 1934 — exact binomial CI.
- Mueller KT et al. Clin Cancer Res 2018; Awasthi R et al. Blood Adv 2020;4:560 — CAR-T kinetics.

Conventions: thresholds are compared in decimal (``Decimal(str(x))``) exactly as RULES.md states
them; ``None`` means "not known" and never becomes a silent 0; an impossible input raises
``ValueError`` naming the parameter and the allowed values. Every [SETTING] of RULES.md that a
function depends on is an optional keyword parameter whose default is the RULES.md default;
``SETTINGS_DEFAULTS`` / ``SETTINGS_CHOICES`` list them and :func:`settings_for` maps a study's
stored settings onto a function's keyword arguments.

The package splits the rules along their clusters (``response``, ``mrd``, ``relapse``,
``progression``, ``time_to_event``, ``rates``, ``blast_decline``, ``statistics``, ``kinetics``);
every public name is re-exported here so ``from efficacy.rules import ...`` keeps working.
"""

from __future__ import annotations

from efficacy.rules._values import Number
from efficacy.rules.blast_decline import BlastDeclineSummary, blast_decline, median_blast_decline
from efficacy.rules.kinetics import Kinetics, kinetics
from efficacy.rules.mrd import MRD_RESULTS, mrd_status
from efficacy.rules.progression import ProgressionAssessment, detect_progression
from efficacy.rules.rates import (
    RATE_MONTHS,
    BestResponse,
    Rate,
    ResponseRates,
    best_overall_response,
    response_rates,
)
from efficacy.rules.relapse import DiseaseObservation, RelapseAssessment, detect_relapse
from efficacy.rules.response import (
    CR_FAMILY,
    RESPONDER_CATEGORIES,
    RESPONSE_CATEGORIES,
    classify_response,
)
from efficacy.rules.settings import (
    SETTINGS_CHOICES,
    SETTINGS_DEFAULTS,
    SETTINGS_HELP,
    SETTINGS_RANGES,
    settings_for,
    validate_settings,
)
from efficacy.rules.statistics import KMRow, SurvivalEstimate, exact_ci, kaplan_meier, spearman
from efficacy.rules.time_to_event import (
    DAYS_PER_MONTH,
    ResponseAssessment,
    SubjectCourse,
    TimeToEvent,
    duration_of_response,
    event_free_survival,
    overall_survival,
    relapse_free_survival,
)

__all__ = [
    "BestResponse",
    "best_overall_response",
    "BlastDeclineSummary",
    "CR_FAMILY",
    "DAYS_PER_MONTH",
    "DiseaseObservation",
    "KMRow",
    "Kinetics",
    "MRD_RESULTS",
    "Number",
    "ProgressionAssessment",
    "RATE_MONTHS",
    "RESPONDER_CATEGORIES",
    "RESPONSE_CATEGORIES",
    "Rate",
    "RelapseAssessment",
    "ResponseAssessment",
    "ResponseRates",
    "SETTINGS_CHOICES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_HELP",
    "SETTINGS_RANGES",
    "SubjectCourse",
    "SurvivalEstimate",
    "TimeToEvent",
    "blast_decline",
    "classify_response",
    "detect_progression",
    "detect_relapse",
    "duration_of_response",
    "event_free_survival",
    "exact_ci",
    "kaplan_meier",
    "kinetics",
    "median_blast_decline",
    "mrd_status",
    "overall_survival",
    "relapse_free_survival",
    "response_rates",
    "settings_for",
    "validate_settings",
    "spearman",
]
