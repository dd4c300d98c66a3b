"""Safety's inputs to efficacy's exploratory view: peak IL-6 and the worst CRS/ICANS grade.

The issue #13 dashboard correlates peak IL-6 and CAR-T Cmax with the CRS and ICANS grade
(Spearman, RULES.md §6.4). Efficacy may read safety, not its tables' shape, so this module gives
the three values per infused subject in three queries (one per source), whatever the number of
subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Max

from safety.models import CRSEpisode, ICANSEpisode, LabResult


@dataclass(frozen=True)
class ExploratoryInputs:
    """``peak_il6`` in pg/mL (ng/L is the same number); grades None when no episode."""

    peak_il6: float | None = None
    max_crs_grade: int | None = None
    max_icans_grade: int | None = None


def exploratory_inputs(study) -> dict[int, ExploratoryInputs]:
    """{subject pk: ExploratoryInputs} for the study's infused subjects with any value (3 queries).

    IL-6 is counted from Day 0 on (the cytokine peak after the infusion); a subject with no CRS
    episode has ``max_crs_grade`` None (the caller reads that as grade 0, "no CRS").
    """
    il6 = dict(
        LabResult.objects.filter(
            study=study,
            test_code="IL6",
            subject__day0__isnull=False,
            panel__collected_at__date__gte=F("subject__day0"),
        )
        .values("subject_id")
        .annotate(peak=Max("value"))
        .values_list("subject_id", "peak")
    )
    crs = _max_grades(CRSEpisode, study)
    icans = _max_grades(ICANSEpisode, study)
    found = {}
    for pk in set(il6) | set(crs) | set(icans):
        peak = il6.get(pk)
        found[pk] = ExploratoryInputs(
            peak_il6=float(peak) if peak is not None else None,
            max_crs_grade=crs.get(pk),
            max_icans_grade=icans.get(pk),
        )
    return found


def _max_grades(model, study) -> dict[int, int]:
    return dict(
        model.objects.filter(study=study, subject__day0__isnull=False)
        .values("subject_id")
        .annotate(worst=Max("max_grade"))
        .values_list("subject_id", "worst")
    )
