"""Reads for the AE log, the AE form and the term search, each with a fixed number of queries
(DESIGN.md selectors; the counts are asserted in tests/safety/test_ae_views.py and
test_ae_api.py)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from enrollment.schedule import study_day
from safety.models import AdverseEvent, AdverseEventGrade, CTCAELoad, CTCAETerm

SEARCH_LIMIT = 25


def adverse_events(subject) -> QuerySet[AdverseEvent]:
    """The subject's AEs by onset, with their terms (one query)."""
    return (
        AdverseEvent.objects.filter(subject=subject)
        .select_related("term")
        .order_by("onset_date", "pk")
    )


def ae_log_rows(subject) -> list[dict]:
    """One row per AE for the log page: the event and its onset study day (one query)."""
    return [
        {"event": event, "onset_day": study_day(event.onset_date, subject.day0)}
        for event in adverse_events(subject)
    ]


def grade_history(event: AdverseEvent) -> list[AdverseEventGrade]:
    """The event's grade steps, oldest first, with who recorded them (one query)."""
    return list(
        AdverseEventGrade.objects.filter(event=event)
        .select_related("recorded_by")
        .order_by("from_date", "pk")
    )


def search_terms(q: str = "", *, limit: int = SEARCH_LIMIT) -> list[CTCAETerm]:
    """Terms whose name or SOC contains every word of ``q``; names starting with it first.

    An empty ``q`` gives the first terms alphabetically (one query either way).
    """
    words = q.split()
    terms = CTCAETerm.objects.all()
    for word in words:
        terms = terms.filter(Q(term__icontains=word) | Q(soc__icontains=word))
    if words:
        terms = terms.annotate(
            rank=Case(
                When(term__istartswith=q.strip(), then=Value(0)),
                When(term__icontains=q.strip(), then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        ).order_by("rank", "term")
    else:
        terms = terms.order_by("term")
    return list(terms[:limit])


def term_as_json(term: CTCAETerm) -> dict:
    return {
        "id": term.pk,
        "term": term.term,
        "soc": term.soc,
        "meddra_code": term.meddra_code,
        "code_to_verify": term.code_to_verify,
        "grading_scale": term.grading_scale,
        "grading_scale_label": str(term.get_grading_scale_display()),
        "other_specify": term.other_specify,
        "max_grade": term.max_grade,
        "definition": term.definition,
        "grades": [{"grade": g, "text": text} for g, text in term.grades],
    }


def terms_page(*, soc: str = "", to_verify: bool | None = None) -> QuerySet[CTCAETerm]:
    terms = CTCAETerm.objects.order_by("soc", "term")
    if soc:
        terms = terms.filter(soc=soc)
    if to_verify is not None:
        terms = terms.filter(code_to_verify=to_verify)
    return terms


def socs() -> list[str]:
    return list(CTCAETerm.objects.order_by("soc").values_list("soc", flat=True).distinct())


def recent_loads(limit: int = 5) -> list[CTCAELoad]:
    return list(CTCAELoad.objects.select_related("loaded_by").order_by("-loaded_at", "-pk")[:limit])
