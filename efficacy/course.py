"""The efficacy data contract: one infused subject's course, as the endpoint calculation reads it.

Pure (no Django): ``efficacy.selectors`` fills these from the CRFs in a fixed number of queries,
and ``efficacy.endpoints`` turns a study's list of them into the registry endpoints through
``efficacy.rules``. Keeping the contract here lets the loading and the arithmetic be tested apart,
and the recompute hook be the only place that joins them (docs/architecture.md §13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from efficacy.rules import SubjectCourse


@dataclass(frozen=True)
class VisitResponse:
    """The response of record at one assessment: the investigator's category where confirmed or
    overridden, else the computed ELN 2022 category (``source`` says which).

    ``month``: the schedule's response month (1, 2, 3, 6, 9, 12, …), None for an unscheduled
    assessment (suspected relapse); ``mrd``: the ``efficacy.rules.mrd_status`` result or None.
    """

    assessed_on: date
    study_day: int
    month: int | None
    category: str
    computed_category: str
    source: str  # "computed" | "confirmed" | "overridden"
    mrd: str | None = None
    marrow_blast_pct: Decimal | None = None


@dataclass(frozen=True)
class KineticsPoint:
    """One CAR-T level: study day, value (BLQ as 0), its unit and compartment (blood/marrow)."""

    study_day: int
    value: float | None
    unit: str
    compartment: str
    method: str  # "qpcr" (copies/µg gDNA) | "flow" (CAR-T cells/µL)


@dataclass(frozen=True)
class SubjectEfficacy:
    """One infused subject's efficacy inputs (all dates on the site's calendar; Day 0 = infusion).

    ``course`` is the rules' time-to-event input (responses, relapse, progression, death, last
    contact, HSCT, new therapy). ``responses``: every assessment of record in date order.
    ``kinetics``: the CAR-T levels, any method/compartment (the endpoint code filters).
    ``peak_il6``, ``max_crs_grade``, ``max_icans_grade``: the exploratory correlation's inputs
    from safety's data (None when not measured / no episode: grade 0 is "no CRS").
    """

    subject_id: int
    label: str
    day0: date
    course: SubjectCourse
    responses: tuple[VisitResponse, ...] = ()
    baseline_marrow_blast_pct: Decimal | None = None
    kinetics: tuple[KineticsPoint, ...] = field(default_factory=tuple)
    peak_il6: float | None = None
    max_crs_grade: int | None = None
    max_icans_grade: int | None = None

    def responses_by_month(self) -> dict[int, str]:
        """Month → category for ``efficacy.rules.response_rates`` (scheduled visits only)."""
        return {r.month: r.category for r in self.responses if r.month is not None}

    def mrd_by_month(self) -> dict[int, str | None]:
        """Month → MRD status for ``response_rates(mrd=…)``."""
        return {r.month: r.mrd for r in self.responses if r.month is not None}
