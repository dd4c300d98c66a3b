"""Lab reads with a fixed number of queries (DESIGN.md §3 selectors).

``blood_counts`` feeds count recovery (``safety.rules.assess_count_recovery``) for the DLT
window: per subject, one ``BloodCount`` per collection from Day 0 on that has an ANC, platelet
or haemoglobin value, converted to x10^9/L and g/dL, flagged when a platelet (or red-cell)
transfusion was given in the 7 days before it (``safety.models.Transfusion``; RULES.md §3.5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from enrollment.models import Subject
from enrollment.schedule import study_day
from safety import lab_catalogue
from safety.models import LabAEProposal, LabPanel, LabResult, ProposalStatus, Transfusion
from safety.models.transfusions import PRODUCT_FLAGS
from safety.rules import BloodCount

_FIELDS = {"ANC": "anc_10e9_l", "PLT": "platelets_10e9_l", "HGB": "hemoglobin_g_dl"}
#: The tests whose results the count-recovery rule reads (a change re-evaluates the DLT window).
COUNT_RECOVERY_TESTS = frozenset(_FIELDS)
#: "Within 7 days after a transfusion" (RULES.md §3.5): a count on the day of the transfusion
#: (the CRF holds dates, not times, so it may have been drawn after it) up to 7 days later.
TRANSFUSION_WINDOW_DAYS = 7


def transfused_within_window(count_day: int, transfusion_days: Iterable[int]) -> bool:
    """True when a transfusion was given 0 to ``TRANSFUSION_WINDOW_DAYS`` days before the count
    (the boundary day 7 is inside; day 8 is past)."""
    return any(0 <= count_day - day <= TRANSFUSION_WINDOW_DAYS for day in transfusion_days)


def _transfusion_days(by_pk: dict[int, Subject]) -> dict[tuple[int, str], list[int]]:
    """{(subject pk, BloodCount flag): [study day of each transfusion]} (one query)."""
    days: dict[tuple[int, str], list[int]] = defaultdict(list)
    rows = Transfusion.objects.filter(subject_id__in=by_pk, product__in=PRODUCT_FLAGS).values_list(
        "subject_id", "product", "transfusion_date"
    )
    for subject_id, product, given_on in rows:
        days[(subject_id, PRODUCT_FLAGS[product])].append((given_on - by_pk[subject_id].day0).days)
    return days


def blood_counts(subjects: Iterable[Subject]) -> dict[int, list[BloodCount]]:
    """{subject pk: [BloodCount, …] by study day} for subjects with Day 0 (two queries: the
    results and the transfusions; a queryset of subjects costs one more).

    ``platelet_transfusion_within_7_days`` / ``red_cell_transfusion_within_7_days`` are set from
    the transfusion CRF (``transfused_within_window``), so the rule does not read a transfused
    value as recovery. Several collections on one study day each give a count (the rules take
    the last).
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
    transfused = _transfusion_days(by_pk) if order else {}
    for subject_id, panel_id, day in order:
        flags = {
            flag: transfused_within_window(day, transfused.get((subject_id, flag), ()))
            for flag in PRODUCT_FLAGS.values()
        }
        found[subject_id].append(
            BloodCount(study_day=day, **panels[(subject_id, panel_id)], **flags)
        )
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
