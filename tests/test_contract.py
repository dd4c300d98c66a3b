"""Every name of the public rules contract (the functions and dataclasses external validators
call) is importable from its module with the documented parameters and fields, whatever
package split lies behind the module."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

# module -> name -> documented parameters (functions) or fields (dataclasses)
CONTRACT: dict[str, dict[str, tuple[str, ...]]] = {
    "enrollment.rules": {
        "creatinine_clearance": ("age_years", "weight_kg", "sex", "creatinine", "unit"),
        "qtcf": ("qt_ms", "heart_rate_bpm", "rr_ms"),
        "age_in_years": ("birth_date", "on_date"),
        "prednisone_equivalent_mg": ("drug", "dose_mg"),
        "evaluate_eligibility": ("facts",),
        "EligibilityResult": ("eligible", "criteria"),
    },
    "safety.rules": {
        "oxygen_category": ("device", "flow_l_min"),
        "hypotension_category": ("hypotension", "vasopressors"),
        "crs_grade": ("temperature_c", "hypotension", "oxygen", "fever_treated"),
        "ice_score": ("orientation", "naming", "commands", "writing", "attention"),
        "icans_grade": ("ice_score", "consciousness", "seizure", "motor", "raised_icp"),
        "ctcae_lab_grade": ("term", "value", "lln", "uln", "baseline", "unit"),
        "crs_episode_grade": ("daily_grades",),
        "febrile_neutropenia_grade": (
            "anc_10e9_l",
            "max_temperature_c",
            "minutes_at_or_above_38",
        ),
        "dlt_candidate": ("event", "criteria", "hours_observed"),
        "evaluate_dlt_window": (
            "events",
            "as_of_day",
            "left_study_day",
            "count_recovery",
            "criteria",
            "dlt_window_days",
        ),
        "AdverseEventFacts": ("term", "category", "grade", "relatedness"),
        "DLTCriteria": (),
        "BloodCount": ("study_day", "anc_10e9_l", "platelets_10e9_l"),
        "DLTAssessment": ("is_candidate", "code", "reasons"),
        "DLTWindowResult": ("status", "dlt", "evaluable", "max_related_grade"),
    },
    "dosing.rules": {
        "SubjectOutcome": ("dose_level", "dlt", "max_related_grade", "evaluable"),
        "EscalationDesign": ("num_levels", "atd_levels", "atd_trigger", "mtd_max_dlt_of_6"),
        "parse_outcomes": ("text",),
        "recommend": ("design", "outcomes"),
        "Recommendation": ("action", "dose_level", "mtd", "phase", "open_slots", "code", "reason"),
        "operating_characteristics": (
            "design",
            "true_dlt_probability",
            "p_related_grade2",
            "method",
            "n_trials",
            "seed",
        ),
        "OperatingCharacteristics": (
            "p_select",
            "expected_subjects",
            "expected_dlts",
            "expected_total_subjects",
            "method",
        ),
    },
    "efficacy.rules": {
        "classify_response": (
            "bm_blasts_pct",
            "baseline_bm_blasts_pct",
            "anc",
            "platelets",
            "pb_blasts",
            "extramedullary_disease",
            "marrow_adequate",
            "cri_rule",
        ),
        "mrd_status": ("response", "leukemic_events", "cells_acquired", "threshold", "min_cells"),
        "exact_ci": ("successes", "n", "confidence"),
        "kaplan_meier": ("durations", "events"),
        "kinetics": ("samples", "auc_end_day", "auc_method"),
        "blast_decline": ("baseline_pct", "current_pct", "method"),
        "detect_relapse": ("observations", "remission_date"),
        "detect_progression": ("observations", "response", "baseline_bm_blasts_pct"),
        "overall_survival": ("course", "tte_day_offset"),
        "event_free_survival": ("course", "efs_definition"),
        "relapse_free_survival": ("course",),
        "duration_of_response": ("course",),
        "response_rates": (
            "responses",
            "mrd",
            "months",
            "rate_basis",
            "rate_denominator",
            "confidence",
        ),
        "median_blast_decline": ("pairs", "method"),
        "spearman": ("x", "y"),
        "SurvivalEstimate": (),
        "Kinetics": ("cmax", "tmax", "auc", "tlast", "clast"),
        "DiseaseObservation": ("date",),
        "SubjectCourse": ("infusion_date",),
        "TimeToEvent": ("start", "end", "event", "duration_days"),
        "RelapseAssessment": (),
        "ProgressionAssessment": (),
        "ResponseRates": ("month", "orr", "crr", "mrd_negative_rate"),
        "BlastDeclineSummary": ("n", "median", "minimum", "maximum", "method"),
    },
}

CASES = [
    (module, name, params) for module, names in CONTRACT.items() for name, params in names.items()
]


@pytest.mark.parametrize(("module", "name", "params"), CASES, ids=[c[1] for c in CASES])
def test_contract_name_is_importable_with_its_documented_parameters(module, name, params):
    obj = getattr(importlib.import_module(module), name)
    if inspect.isclass(obj):
        assert dataclasses.is_dataclass(obj), f"{module}.{name} is not a dataclass"
        names = {f.name for f in dataclasses.fields(obj)}
    else:
        names = set(inspect.signature(obj).parameters)
    assert set(params) <= names, f"{module}.{name} lacks {sorted(set(params) - names)}"


def test_survival_estimate_keeps_its_documented_reads():
    from efficacy.rules import kaplan_meier

    km = kaplan_meier([1, 2, 3], [True, False, True])
    assert {"survival_at", "median", "median_ci", "table"} <= set(dir(km))


@pytest.mark.parametrize("module", sorted(CONTRACT))
def test_every_exported_name_exists(module):
    mod = importlib.import_module(module)
    for name in getattr(mod, "__all__", ()):
        assert hasattr(mod, name), f"{module}.__all__ lists {name} but it is missing"
