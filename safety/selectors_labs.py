"""Lab reads with a fixed number of queries (DESIGN.md §3 selectors).

``blood_counts`` feeds count recovery (``safety.rules.assess_count_recovery``) for the DLT
window: per subject, one ``BloodCount`` per collection from Day 0 on that has an ANC, platelet
or haemoglobin value, converted to x10^9/L and g/dL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from enrollment.models import Subject
from enrollment.schedule import study_day
from safety import lab_catalogue
from safety.models import LabAEProposal, LabPanel, LabResult, ProposalStatus
from safety.rules import BloodCount

_FIELDS = {"ANC": "anc_10e9_l", "PLT": "platelets_10e9_l", "HGB": "hemoglobin_g_dl"}
#: The tests whose results the count-recovery rule reads (a change re-evaluates the DLT window).
COUNT_RECOVERY_TESTS = frozenset(_FIELDS)


def blood_counts(subjects: Iterable[Subject]) -> dict[int, list[BloodCount]]:
    """{subject pk: [BloodCount, …] by study day} for subjects with Day 0 (one query for the
    results; a queryset of subjects costs one more).

    Transfusions are not recorded by the lab CRF yet: ``platelet_transfusion_within_7_days`` and
    ``red_cell_transfusion_within_7_days`` are False here (the transfusion log will set them).
    Several collections on one study day each give a count (the rules take the last).
    """
    by_pk = {s.pk: s for s in subjects if s.day0 is not None}
    found: dict[int, list[BloodCount]] = {pk: [] for pk in by_pk}
    if not by_pk:
        return found
    rows = (
        LabResult.objects.filter(subject_id__in=by_pk, test_code__in=_FIELDS)
        .values_list("subject_id", "panel_id", "panel__collected_at", "test_code", "value", "unit")
        .order_by("subject_id", "panel__collected_at", "panel_id")
    )
    panels: dict[tuple[int, int], dict] = defaultdict(dict)
    order: list[tuple[int, int, int]] = []
    for subject_id, panel_id, collected_at, code, value, unit in rows:
        day = study_day(timezone.localtime(collected_at).date(), by_pk[subject_id].day0)
        if day is None or day < 0:
            continue
        key = (subject_id, panel_id)
        if key not in panels:
            order.append((subject_id, panel_id, day))
        test = lab_catalogue.TESTS[code]
        panels[key][_FIELDS[code]] = test.convert(
            value, unit, lab_catalogue.BLOOD_COUNT_TESTS[code]
        )
    for subject_id, panel_id, day in order:
        found[subject_id].append(BloodCount(study_day=day, **panels[(subject_id, panel_id)]))
    return found


def panels_of(subject: Subject):
    """The subject's collections, newest first, with their results (two queries)."""
    return (
        LabPanel.objects.filter(subject=subject)
        .select_related("subject")
        .prefetch_related(Prefetch("results", queryset=LabResult.objects.order_by("pk")))
        .order_by("-collected_at", "-pk")
    )


def proposals_of(subject: Subject):
    """The subject's proposed AEs, pending first (one query)."""
    return (
        LabAEProposal.objects.filter(subject=subject)
        .select_related("result__panel", "decided_by", "adverse_event")
        .order_by("decision", "-pk")
    )


def pending_proposal_counts(subject_ids: Iterable[int]) -> dict[int, int]:
    """{subject pk: pending proposals} (one query), for the subject page and lists."""
    rows = (
        LabAEProposal.objects.filter(subject_id__in=list(subject_ids))
        .values("subject_id")
        .annotate(n=Count("pk", filter=Q(decision=ProposalStatus.PENDING)))
    )
    return {row["subject_id"]: row["n"] for row in rows}
