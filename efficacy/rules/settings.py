"""Study settings of the efficacy rules: the RULES.md [SETTING]s these functions read, with their
defaults and allowed values, and ``settings_for`` to pass a study's stored settings through.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping

from rulekit.settings import Range, check_settings

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

#: Every study setting this module reads, with its RULES.md default (§8 of RULES.md).
SETTINGS_DEFAULTS: dict[str, object] = {
    # §1.2 response classification
    "cri_rule": "one_lineage_recovered",
    "pr_requires_no_pb_blasts": False,
    "missing_count_rule": "mlfs",
    # §1.3 MRD (protocol flow cytometry)
    "mrd_threshold": 1e-4,
    "mrd_min_cells": 100_000,
    # §1.4 relapse and progression
    "pb_relapse_date": "first_sample",
    "pb_confirmation": "consecutive",
    "pb_relapse_min_interval_days": 7,
    "mrd_confirm_within_days": 28,
    "mrd_relapse_is_event": False,
    "pd_definition": "eln2017",
    # §1.5 / §1.6 time to event
    "response_landmark_days": 90,
    "response_landmark_visit": "M3",
    "response_landmark_visit_last_day": 98,
    "efs_definition": "protocol",
    "censor_at_hsct": False,
    "response_after_new_therapy": "ignore",
    "new_therapy_efs": "ignore",
    "dor_censor": "last_assessment",
    "tte_day_offset": 0,
    # §1.7 rates, §1.8 blast decline
    "rate_basis": "at_visit",
    "rate_denominator": "all_infused",
    "blast_decline": "relative",
    # §6.1 Kaplan–Meier
    "km_ci": "log-log",
    "median_rule": "lifelines",
    # §6.3 kinetics
    "auc_method": "linear",
    "auc_end_interpolation": "auto",
    "blq_between": "missing",
    "blq_after_tlast": "exclude",
}

#: Allowed values of every enumerated setting (numeric settings are range-checked instead).
SETTINGS_CHOICES: dict[str, tuple] = {
    "cri_rule": ("one_lineage_recovered", "inclusive"),
    "pr_requires_no_pb_blasts": (False, True),
    "missing_count_rule": ("mlfs", "worst_case", "not_evaluable"),
    "pb_relapse_date": ("first_sample", "second_sample"),
    "pb_confirmation": ("consecutive", "any_two"),
    "mrd_relapse_is_event": (False, True),
    "pd_definition": ("eln2017",),
    "efs_definition": ("protocol", "eln2022"),
    "censor_at_hsct": (False, True),
    "response_after_new_therapy": ("ignore", "include"),
    "new_therapy_efs": ("ignore", "event", "censor"),
    "dor_censor": ("last_assessment", "last_known_alive"),
    "tte_day_offset": (0, 1),
    "rate_basis": ("at_visit", "best_up_to_visit"),
    "rate_denominator": ("all_infused", "evaluable"),
    "blast_decline": ("relative", "absolute"),
    "km_ci": ("log-log", "linear", "log"),
    "median_rule": ("lifelines", "statsmodels", "midpoint"),
    "auc_method": ("linear", "linear-up/log-down"),
    "auc_end_interpolation": ("auto", "linear", "log-linear"),
    "blq_between": ("missing", "zero"),
    "blq_after_tlast": ("exclude", "zero"),
}

#: Ranges of the numeric settings. Plausible bounds, not in RULES.md: MRD by flow reaches 1e-6
#: at best and 1e-2 is no longer "measurable residual"; intervals and landmarks within a year.
SETTINGS_RANGES: dict[str, Range] = {
    "mrd_threshold": Range(1e-6, 1e-2, unit="(fraction of cells)"),
    "mrd_min_cells": Range(10_000, 10_000_000, whole=True, unit="cells"),
    "pb_relapse_min_interval_days": Range(1, 60, whole=True, unit="days"),
    "mrd_confirm_within_days": Range(1, 180, whole=True, unit="days"),
    "response_landmark_days": Range(1, 365, whole=True, unit="days"),
    "response_landmark_visit_last_day": Range(1, 365, whole=True, unit="study day"),
}

_SECTION_HELP = {
    "RULES.md §1.2 response classification": (
        "cri_rule",
        "pr_requires_no_pb_blasts",
        "missing_count_rule",
    ),
    "RULES.md §1.3 MRD by protocol flow cytometry": ("mrd_threshold", "mrd_min_cells"),
    "RULES.md §1.4 relapse and progression": (
        "pb_relapse_date",
        "pb_confirmation",
        "pb_relapse_min_interval_days",
        "mrd_confirm_within_days",
        "mrd_relapse_is_event",
        "pd_definition",
    ),
    "RULES.md §1.5-1.6 time to event": (
        "response_landmark_days",
        "response_landmark_visit",
        "response_landmark_visit_last_day",
        "efs_definition",
        "censor_at_hsct",
        "response_after_new_therapy",
        "new_therapy_efs",
        "dor_censor",
        "tte_day_offset",
    ),
    "RULES.md §1.7 rates, §1.8 blast decline": ("rate_basis", "rate_denominator", "blast_decline"),
    "RULES.md §6.1 Kaplan-Meier": ("km_ci", "median_rule"),
    "RULES.md §6.3 cellular kinetics": (
        "auc_method",
        "auc_end_interpolation",
        "blq_between",
        "blq_after_tlast",
    ),
}

#: Where each setting comes from, for the settings page.
SETTINGS_HELP: dict[str, str] = {
    name: source for source, names in _SECTION_HELP.items() for name in names
}


def validate_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The complete, checked efficacy settings, or ``SettingsError`` naming each bad one.

    Why: the study-settings page and :func:`settings_for` check with this one function, so a
    stored setting is always one the endpoint rules accept (issue 10 item 3).
    """
    return check_settings(
        settings, defaults=SETTINGS_DEFAULTS, choices=SETTINGS_CHOICES, ranges=SETTINGS_RANGES
    )


# Setting keys whose function parameter has another name (the contract fixes those names).
_SETTING_ALIASES: dict[str, dict[str, str]] = {
    "mrd_status": {"mrd_threshold": "threshold", "mrd_min_cells": "min_cells"},
    "blast_decline": {"blast_decline": "method"},
    "median_blast_decline": {"blast_decline": "method"},
}


def settings_for(function: Callable[..., object], settings: Mapping[str, object]) -> dict:
    """Pick from a study's stored settings the keyword arguments ``function`` accepts.

    Lets the platform pass a study's settings straight through, e.g.
    ``classify_response(**facts, **settings_for(classify_response, study_settings))``.
    Keys the function does not take are left out; the contract-fixed parameter names of
    ``mrd_status`` (threshold, min_cells) and ``blast_decline`` (method) are mapped from the
    setting names ``mrd_threshold``, ``mrd_min_cells`` and ``blast_decline``. A setting of this
    module that :func:`validate_settings` refuses raises ``ValueError`` naming it.

    The answer for the same function and the same settings (value and type) is remembered: the
    endpoint calculation asks once per subject, and checking the settings each time cost more
    than the rule itself. Each call returns a new dict.
    """
    try:
        items = tuple((str(k), type(v), v) for k, v in settings.items())
        hash(items)
    except TypeError:  # an unhashable value (a list): no memo
        return _settings_for(function, settings)
    return dict(_remembered_settings_for(function, items))


@functools.lru_cache(maxsize=256)
def _remembered_settings_for(function: Callable[..., object], items: tuple) -> dict:
    return _settings_for(function, {k: v for k, _type, v in items})


def _settings_for(function: Callable[..., object], settings: Mapping[str, object]) -> dict:
    params = inspect.signature(function).parameters
    known = {k: v for k, v in settings.items() if k in SETTINGS_DEFAULTS}
    settings = {**settings, **{k: v for k, v in validate_settings(known).items() if k in known}}
    aliases = _SETTING_ALIASES.get(function.__name__, {})
    out: dict[str, object] = {}
    for key, value in settings.items():
        name = aliases.get(key, key)
        if name in params and params[name].kind is inspect.Parameter.KEYWORD_ONLY:
            out[name] = value
    return out
