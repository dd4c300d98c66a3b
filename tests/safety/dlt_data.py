"""Infused subjects and their adverse events for the DLT tests, entered through the services."""

from __future__ import annotations

import datetime as dt

from enrollment.models import Subject
from enrollment.services import anchor_schedule
from safety.models import AdverseEvent, DLTCategory
from safety.services import save_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_data import term

#: Day 0 of the DLT tests: far enough back that every window day is in the past of the real
#: clock (dates in the future are refused), with the test clock frozen on the day under test.
DAY0 = dt.date.today() - dt.timedelta(days=60)

CATEGORY_TERMS = {
    "crs": ("Cytokine release syndrome", DLTCategory.CRS, "Immune system disorders", 5),
    "icans": ("ICANS", DLTCategory.ICANS, "Nervous system disorders", 5),
    "hematologic": ("Neutrophil count decreased", DLTCategory.HEMATOLOGIC, "Investigations", 4),
}


def infused_subject(site, coordinator, investigator, *, day0: dt.date = DAY0, **subject):
    """A consented subject whose Day 0 (the CAR-T infusion) is ``day0``."""
    registered = register_and_consent(
        site, coordinator, investigator, screening_date=day0 - dt.timedelta(days=20), **subject
    )
    anchor_schedule(registered, day0, actor=coordinator)
    return Subject.objects.get(pk=registered.pk)


def term_for(name: str | None, category: str = "non_hematologic"):
    if category in CATEGORY_TERMS and name is None:
        name, dlt_category, soc, top = CATEGORY_TERMS[category]
        return term(name, max_grade=top, soc=soc, dlt_category=dlt_category)
    return term(name or "Alanine aminotransferase increased", max_grade=5)


def grade_5_values(day: dt.date) -> dict:
    return {
        "death_date": day,
        "outcome": "fatal",
        "ongoing": False,
        "serious": True,
        "seriousness_criteria": ["death"],
    }


def add_event(
    subject,
    actor,
    *,
    grade: int,
    onset_day: int = 5,
    name: str | None = None,
    category: str = "non_hematologic",
    relatedness: str | None = "definite",
    **values,
) -> AdverseEvent:
    """An AE with onset on study day ``onset_day`` at ``grade`` (the first step of its history)."""
    onset = subject.day0 + dt.timedelta(days=onset_day)
    fields = {
        "term": term_for(name, category),
        "onset_date": onset,
        "grade": grade,
        "relationship_car_t": relatedness or "",
        **(grade_5_values(onset) if grade == 5 else {}),
        **values,
    }
    return save_adverse_event(subject, actor=actor, values=fields)


def regrade(subject, actor, event: AdverseEvent, *, grade: int, on_day: int, **values):
    """The event reaches ``grade`` on study day ``on_day`` (a new step of its grade history)."""
    event.refresh_from_db()
    return save_adverse_event(
        subject,
        actor=actor,
        values={"grade": grade, "grade_date": subject.day0 + dt.timedelta(days=on_day), **values},
        record=event,
        expected_version=event.version,
        reason="grade changed",
    )


def dlt_candidate(subject, actor) -> AdverseEvent:
    """Infuse ``subject`` three days ago and record a related grade 4 AE: a DLT candidate."""
    day0 = dt.date.today() - dt.timedelta(days=3)
    anchor_schedule(subject, day0, actor=actor)
    subject = Subject.objects.get(pk=subject.pk)
    return add_event(subject, actor, grade=4, onset_day=1)
