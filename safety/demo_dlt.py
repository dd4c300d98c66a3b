"""Demo DLT data (``manage.py seed_demo``): three infused subjects, one adjudicated DLT.

Synthetic, written through the services (issue #11 Requirement 7, the DLT part). Day 0 of
three confirmed-eligible subjects is set with ``enrollment.services.anchor_schedule`` (40, 20 and
10 days ago; the dosing demo treats subjects of its own through the infusion CRF). The first has
ALT increased grade 4 (definitely related) on Day 6, back to grade 1 on Day 9: a DLT candidate
the investigator adjudicated a DLT (signed). Their daily CRS/ICANS come from ``demo_crs``.
"""

from __future__ import annotations

import datetime as dt
import os

from enrollment.models import Subject, SubjectStatus
from enrollment.services import anchor_schedule
from safety.models import CTCAETerm, DLTAdjudication, DLTCategory
from safety.services import adjudicate_dlt, close_dlt_windows, save_adverse_event
from trialsite import clock

# (term, SOC, DLT category, highest grade) the demo needs; the shipped CTCAE list replaces
# the texts when it is loaded (matched on the term).
TERMS = {
    "Alanine aminotransferase increased": ("Investigations", DLTCategory.NON_HEMATOLOGIC, 4),
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


def _on(subject: Subject, day: int) -> dt.date:
    return subject.day0 + dt.timedelta(days=day)


def seed(*, study, site, users, stdout) -> None:
    if DLTAdjudication.objects.filter(study=study).exists():
        return  # seeded already
    coordinator, investigator = users["coordinator"], users["investigator"]
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    infused = _infused(site, coordinator, [40, 20, 10])
    if len(infused) < 3:
        return
    dlt_subject = infused[0]
    close_dlt_windows(study)  # their (open) DLT evaluations, as the beat task makes them

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
    stdout.write("Demo DLT: 3 subjects with Day 0, 1 adjudicated DLT")
