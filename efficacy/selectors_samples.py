"""Reads of efficacy samples in a fixed number of queries (DESIGN.md §3 selectors).

``kinetics_points(study)`` fills the data contract's ``KineticsPoint`` tuples
(``efficacy.course``) for the endpoint code: one query for the whole study, whatever its size.
The per-subject lists and the kinetics summary (``efficacy.rules.kinetics``: Cmax, Tmax,
AUC0–28d, persistence = last quantifiable day) feed the subject's pages and API.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from efficacy import rules
from efficacy.course import KineticsPoint
from efficacy.models import AntiCARAntibody, KineticsSample, RCLTest
from enrollment.schedule import study_day


def _point(sample: KineticsSample, day0) -> KineticsPoint | None:
    day = study_day(sample.assessment_date_value, day0)
    if day is None:
        return None
    return KineticsPoint(
        study_day=day,
        value=sample.level,
        unit=sample.unit,
        compartment=sample.compartment,
        method=sample.method,
    )


def kinetics_points(study) -> dict[int, tuple[KineticsPoint, ...]]:
    """Subject id → the subject's CAR-T levels by study day (BLQ as 0); one query."""
    rows = (
        KineticsSample.objects.filter(study=study, subject__day0__isnull=False)
        .select_related("subject")
        .only(
            "subject_id", "subject__day0", "collected_at", "value", "blq", "unit",
            "compartment", "method",
        )
        .order_by("subject_id", "collected_at", "pk")
    )  # fmt: skip
    found: dict[int, list[KineticsPoint]] = defaultdict(list)
    for sample in rows:
        point = _point(sample, sample.subject.day0)
        if point is not None:
            found[sample.subject_id].append(point)
    return {subject_id: tuple(points) for subject_id, points in found.items()}


def kinetics_of(subject) -> list[KineticsSample]:
    """The subject's kinetics samples in collection order (one query)."""
    return list(KineticsSample.objects.filter(subject=subject).order_by("collected_at", "pk"))


def anti_car_of(subject) -> list[AntiCARAntibody]:
    return list(AntiCARAntibody.objects.filter(subject=subject).order_by("collected_on", "pk"))


def rcl_of(subject) -> list[RCLTest]:
    return list(RCLTest.objects.filter(subject=subject).order_by("collected_on", "pk"))


@dataclass(frozen=True)
class KineticsSummary:
    """One analyte's non-compartmental parameters (RULES.md §6.3) for the subject's page."""

    method: str
    compartment: str
    unit: str
    samples: int
    cmax: float | None
    tmax: float | None
    auc_0_28: float | None
    persistence_day: float | None  # Tlast: the last day with a quantifiable level
    clast: float | None


def kinetics_summary(subject, samples: list[KineticsSample]) -> list[KineticsSummary]:
    """Cmax, Tmax, AUC0–28d and persistence per method and compartment (no query).

    Levels at or after Day 0 only (the rules measure from the infusion); two samples on one
    study day keep the later one (the rules take one level per day).
    """
    if subject.day0 is None:
        return []
    groups: dict[tuple[str, str], dict[int, float | None]] = defaultdict(dict)
    units: dict[tuple[str, str], str] = {}
    for sample in samples:
        point = _point(sample, subject.day0)
        if point is None or point.study_day < 0:
            continue
        key = (sample.method, sample.compartment)
        groups[key][point.study_day] = point.value
        units[key] = sample.unit
    result = []
    for (method, compartment), by_day in sorted(groups.items()):
        found = rules.kinetics(sorted(by_day.items()))
        result.append(
            KineticsSummary(
                method=method,
                compartment=compartment,
                unit=units[(method, compartment)],
                samples=len(by_day),
                cmax=found.cmax,
                tmax=found.tmax,
                auc_0_28=found.auc,
                persistence_day=found.tlast,
                clast=found.clast,
            )
        )
    return result
