"""Dose levels of a study (study settings data) and their validator.

The registry text does not publish this trial's levels; the defaults are the typical CAR-T levels
listed in RULES.md §4.2 (CAR-T cells/kg) and must be configured from the protocol before the first
subject is dosed. The lowest ``atd_levels`` levels run as single-subject ATD cohorts.
"""

from __future__ import annotations

DEFAULT_DOSE_LEVELS: list[dict] = [
    {"level": 1, "label": "DL1", "dose_cells_per_kg": 0.5e6},
    {"level": 2, "label": "DL2", "dose_cells_per_kg": 1.0e6},
    {"level": 3, "label": "DL3", "dose_cells_per_kg": 2.0e6},
    {"level": 4, "label": "DL4", "dose_cells_per_kg": 4.0e6},
]


def validate_dose_levels(value: object) -> list[dict]:
    """Levels numbered 1..n in order, each with a label and a strictly increasing dose."""
    if not isinstance(value, list) or not value:
        raise ValueError("dose_levels must be a non-empty list")
    cleaned = []
    last_dose = 0.0
    for index, level in enumerate(value, start=1):
        if not isinstance(level, dict) or set(level) != {"level", "label", "dose_cells_per_kg"}:
            raise ValueError(f"dose level {index} must have level, label and dose_cells_per_kg")
        if level["level"] != index:
            raise ValueError(f"dose levels must be numbered 1..n in order (got {level['level']})")
        dose = level["dose_cells_per_kg"]
        if isinstance(dose, bool) or not isinstance(dose, int | float) or dose <= last_dose:
            raise ValueError(f"DL{index}: dose_cells_per_kg must be a number above the level below")
        if not isinstance(level["label"], str) or not level["label"].strip():
            raise ValueError(f"DL{index}: label must be text")
        last_dose = float(dose)
        cleaned.append({"level": index, "label": level["label"], "dose_cells_per_kg": last_dose})
    return cleaned
