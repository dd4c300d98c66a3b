"""Which earlier lab value is the baseline for CTCAE's baseline-abnormal rules (RULES.md §3.4).

Pure: no Django. RULES.md §3.4 says "Baseline = last value before lymphodepletion (or before
infusion) [SETTING]". Here:

* A value collected before the **cut-off** is a pre-treatment value. The cut-off is study day
  ``lab_baseline_cutoff_day`` (default -5, the first day of fludarabine/cyclophosphamide
  lymphodepletion in this protocol's schedule; 0 = "before infusion"). Before Day 0 is known
  (not yet infused) every value is pre-treatment.
* A pre-treatment value is graded against the normal range (as a normal baseline) and never asks
  for a baseline: it *is* a baseline candidate.
* A value on or after the cut-off uses the result the site marked "baseline" for that test if
  there is one, else the **last** pre-treatment value of that test. With neither, the rules grade
  it as a normal baseline and flag ``baseline_not_recorded`` (a data query, RULES.md §3.5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rulekit.settings import Range, check_settings

SETTINGS_DEFAULTS: dict[str, object] = {"lab_baseline_cutoff_day": -5}
SETTINGS_RANGES = {"lab_baseline_cutoff_day": Range(-30, 0, whole=True, unit="study day")}
SETTINGS_HELP = {
    "lab_baseline_cutoff_day": "a lab value collected before this study day is a pre-treatment "
    "(baseline) value: -5 = before lymphodepletion, 0 = before the infusion (RULES.md §3.4)."
}


def validate_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The checked lab-baseline settings (``rulekit.settings.SettingsError`` names a bad one)."""
    return check_settings(settings, defaults=SETTINGS_DEFAULTS, choices={}, ranges=SETTINGS_RANGES)


@dataclass(frozen=True)
class Candidate:
    """An earlier result of the same test: when it was collected, its value and unit, and
    whether the site marked it as the baseline."""

    key: object
    collected_on: dt.date
    value: object
    unit: str
    marked_baseline: bool = False


def cutoff_date(day0: dt.date | None, cutoff_day: int) -> dt.date | None:
    """The first date that is no longer pre-treatment (None: not infused yet)."""
    if day0 is None:
        return None
    return day0 + dt.timedelta(days=cutoff_day)


def is_pre_treatment(collected_on: dt.date, day0: dt.date | None, cutoff_day: int) -> bool:
    cutoff = cutoff_date(day0, cutoff_day)
    return cutoff is None or collected_on < cutoff


def choose_baseline(
    collected_on: dt.date,
    candidates: Iterable[Candidate],
    *,
    day0: dt.date | None,
    cutoff_day: int = -5,
) -> tuple[bool, Candidate | None]:
    """(pre_treatment, baseline) for a value collected on ``collected_on``.

    ``pre_treatment`` True means the value is itself a baseline candidate (no baseline applies,
    no query). Otherwise ``baseline`` is the marked result, else the last pre-treatment one, else
    None (the caller grades without a baseline and the rules flag it).
    """
    if is_pre_treatment(collected_on, day0, cutoff_day):
        return True, None
    items = list(candidates)
    marked = [c for c in items if c.marked_baseline and c.collected_on < collected_on]
    if marked:
        return False, max(marked, key=lambda c: c.collected_on)
    before = [c for c in items if is_pre_treatment(c.collected_on, day0, cutoff_day)]
    return False, (max(before, key=lambda c: c.collected_on) if before else None)
