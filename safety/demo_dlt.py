"""Demo DLT data (``manage.py seed_demo``): three infused subjects, one adjudicated DLT.

Synthetic, written through the services (issue #11 Requirement 7, the DLT part). The dosing
demo records infusions once it exists; until then this sets Day 0 of three confirmed-eligible
subjects itself with ``enrollment.services.anchor_schedule`` (the call the infusion CRF makes).
The AEs are added once the AE CRF pages exist (``_ae_pages_exist``):

* Day 0 forty days ago: ALT increased grade 4 (definitely related) on Day 6, back to grade 1
  on Day 9 — a DLT candidate the investigator adjudicated a DLT (signed); window complete.
* Day 0 twenty days ago: CRS grade 2 on Day 1, resolved Day 4 — no candidate, window open.
* Day 0 ten days ago: ICANS grade 3 on Day 5 — a candidate awaiting the investigator.
"""

from __future__ import annotations

import datetime as dt
import os

from django.urls import NoReverseMatch, reverse

from enrollment.models import Subject, SubjectStatus
from enrollment.services import anchor_schedule
from safety.models import AdverseEvent, CTCAETerm, DLTCategory
from safety.services import adjudicate_dlt, close_dlt_windows, save_adverse_event
from trialsite import clock

# (term, SOC, DLT category, highest grade) the demo needs; the shipped CTCAE list replaces
# the texts when it is loaded (matched on the term).
TERMS = {
    "Alanine aminotransferase increased": ("Investigations", DLTCategory.NON_HEMATOLOGIC, 4),
    "Cytokine release syndrome": ("Immune system disorders", DLTCategory.CRS, 5),
    "ICANS": ("Nervous system disorders", DLTCategory.ICANS, 5),
}


def _term(name: str) -> CTCAETerm:
    soc, category, top = TERMS[name]
    grades = {f"grade_{g}": f"{name}: CTCAE v5.0 grade {g}" for g in range(1, top + 1)}
    found, _created = CTCAETerm.objects.get_or_create(
        term=name, defaults={"soc": soc, "dlt_category": category, **grades}
    )
    return found


def _infused(site, coordinator, days_ago: list[int]) -> list[Subject]:
    subjects = list(
        Subject.objects.filter(site=site, enrollment_status=SubjectStatus.ELIGIBLE).order_by(
            "screening_date", "pk"
        )[: len(days_ago)]
    )
    today = clock.today()
    infused = []
    for subject, ago in zip(subjects, days_ago, strict=False):
        if subject.day0 is None:
            anchor_schedule(subject, today - dt.timedelta(days=ago), actor=coordinator)
        infused.append(Subject.objects.get(pk=subject.pk))
    return infused


def _ae_pages_exist() -> bool:
    """The AE CRF pages (``safety:ae-edit``, built on another branch) are where an AE's
    history page links back to; without them an AE in the demo is a page that fails."""
    try:
        reverse("safety:ae-edit", args=[1, 1])
    except NoReverseMatch:
        return False
    return True


def _on(subject: Subject, day: int) -> dt.date:
    return subject.day0 + dt.timedelta(days=day)


def seed(*, study, site, users, stdout) -> None:
    if (
        AdverseEvent.objects.filter(subject__site=site).exists()
        or Subject.objects.filter(site=site, day0__isnull=False).exists()
    ):
        return
    coordinator, investigator = users["coordinator"], users["investigator"]
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    infused = _infused(site, coordinator, [40, 20, 10])
    if len(infused) < 3:
        return
    dlt_subject, crs_subject, icans_subject = infused
    close_dlt_windows(study)  # their (open) DLT evaluations, as the beat task makes them
    if not _ae_pages_exist():
        stdout.write("Demo safety: 3 infused subjects (no AEs until the AE pages exist)")
        return

    alt = save_adverse_event(
        dlt_subject,
        actor=coordinator,
        values={
            "term": _term("Alanine aminotransferase increased"),
            "onset_date": _on(dlt_subject, 6),
            "grade": 4,
            "relationship_car_t": "definite",
            "relationship_lymphodepletion": "unlikely",
        },
    )
    alt = save_adverse_event(
        dlt_subject,
        actor=coordinator,
        values={
            "grade": 1,
            "grade_date": _on(dlt_subject, 9),
            "ongoing": False,
            "resolution_date": _on(dlt_subject, 12),
            "outcome": "recovered",
        },
        record=alt,
        expected_version=alt.version,
        reason="Improved after the product-related hepatitis was treated",
    )
    adjudicate_dlt(
        alt,
        actor=investigator,
        is_dlt=True,
        rationale="Grade 4 ALT increase on Day 6, definitely related: meets the protocol's "
        "grade 4 non-hematologic DLT criterion regardless of duration.",
        password=password,
        event_version=alt.version,
    )
    save_adverse_event(
        crs_subject,
        actor=coordinator,
        values={
            "term": _term("Cytokine release syndrome"),
            "onset_date": _on(crs_subject, 1),
            "grade": 2,
            "relationship_car_t": "definite",
            "ongoing": False,
            "resolution_date": _on(crs_subject, 4),
            "outcome": "recovered",
            "treatments": ["tocilizumab"],
        },
    )
    save_adverse_event(
        icans_subject,
        actor=coordinator,
        values={
            "term": _term("ICANS"),
            "onset_date": _on(icans_subject, 5),
            "grade": 3,
            "relationship_car_t": "probable",
            "treatments": ["corticosteroids"],
        },
    )
    stdout.write("Demo safety: 3 infused subjects, 1 adjudicated DLT, 1 DLT candidate waiting")
