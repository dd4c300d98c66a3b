"""Demo daily CRS/ICANS (``manage.py seed_demo``): realistic CRS in the infused demo subjects —
most grade 1-2, one grade 3 needing a vasopressor — and one ICANS grade 2, entered through the
services, so the episodes and their AEs are derived as they would be at a site.

Infused subjects are those with Day 0 set. The safety seeder runs before the dosing seeder
(``seed_demo`` runs the apps in layer order), so when no subject has Day 0 yet, Day 0 is set
with ``enrollment.services.anchor_schedule`` for four confirmed-eligible subjects, as the
infusion CRF would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from enrollment.models import Subject, SubjectStatus
from enrollment.services import anchor_schedule
from safety.models import CRSAssessment
from safety.services import save_crs_assessment, save_icans_assessment
from trialsite import clock

ROOM_AIR = {"oxygen_device": "room_air"}
NASAL_CANNULA_2L = {"oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("2")}
NOREPINEPHRINE = {
    "hypotension": True,
    "vasopressors": ["norepinephrine"],
    "norepinephrine_ug_kg_min": Decimal("0.06"),
}
TOCILIZUMAB = {"tocilizumab_given": True, "tocilizumab_dose_mg": Decimal("560")}
DEXAMETHASONE = {
    "corticosteroid_given": True,
    "corticosteroid_drug": "dexamethasone",
    "corticosteroid_dose_mg": Decimal("10"),
}

#: Per infused subject: (study day, Tmax, other values) for each daily CRS assessment.
CRS_COURSES = [
    # Grade 3: fever, then hypotension on norepinephrine; tocilizumab and dexamethasone.
    [
        (1, "38.6", {}),
        (2, "39.4", {**NOREPINEPHRINE, **TOCILIZUMAB, **DEXAMETHASONE}),
        (3, "38.2", {"hypotension": True, "fluid_bolus": True}),
        (4, "37.4", {}),
        (5, "36.9", {"episode_resolved": True}),
    ],
    # Grade 2: fever and low-flow oxygen; tocilizumab.
    [
        (1, "38.3", {}),
        (2, "39.0", {**NASAL_CANNULA_2L, **TOCILIZUMAB}),
        (3, "37.2", {}),
        (4, "36.8", {"episode_resolved": True}),
    ],
    # Grade 1: two days of fever, settling without treatment.
    [(1, "38.4", {}), (2, "38.1", {}), (3, "37.1", {})],
    # Grade 1 for a day.
    [(2, "38.0", {}), (3, "37.0", {})],
]

#: ICANS grade 2 in the grade 3 CRS subject: (study day, ICE items, other values).
ICANS_COURSE = [
    (4, (4, 3, 1, 1, 1), {}),
    (5, (3, 2, 1, 0, 0), {**DEXAMETHASONE}),
    (6, (4, 3, 1, 1, 0), {}),
    (7, (4, 3, 1, 1, 1), {}),
]
ICE = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")


def infused_subjects(site, coordinator, count: int = 4) -> list[Subject]:
    """``count`` subjects with Day 0: those that have one, topped up from the eligible ones
    whose Day 0 is set here (20, 17, ... days ago), as the infusion CRF would."""
    infused = list(Subject.objects.filter(site=site, day0__isnull=False).order_by("pk")[:count])
    eligible = list(
        Subject.objects.filter(
            site=site, enrollment_status=SubjectStatus.ELIGIBLE, day0=None
        ).order_by("-pk")[: count - len(infused)]
    )
    today = clock.today()
    for n, subject in enumerate(eligible):
        anchor_schedule(subject, today - dt.timedelta(days=20 - 3 * n), actor=coordinator)
    return [*infused, *(Subject.objects.get(pk=s.pk) for s in eligible)]


def seed(*, study, site, users, stdout) -> None:
    if CRSAssessment.objects.filter(subject__site=site).exists():
        return
    coordinator = users["coordinator"]
    subjects = infused_subjects(site, coordinator)
    today = clock.today()
    for subject, course in zip(subjects, CRS_COURSES, strict=False):
        for day, tmax, extra in course:
            on = subject.day0 + dt.timedelta(days=day)
            if on > today:
                break
            values = {"assessment_date": on, "max_temperature_c": Decimal(tmax)}
            values |= {**ROOM_AIR, **extra}
            save_crs_assessment(subject, actor=coordinator, values=values)
    if subjects:
        subject = subjects[0]
        for day, items, extra in ICANS_COURSE:
            on = subject.day0 + dt.timedelta(days=day)
            if on > today:
                break
            values = {"assessment_date": on, **dict(zip(ICE, items, strict=True)), **extra}
            save_icans_assessment(subject, actor=coordinator, values=values)
    stdout.write(f"Demo CRS/ICANS: daily assessments for {len(subjects)} infused subjects")
