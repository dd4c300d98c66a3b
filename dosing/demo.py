"""Synthetic treated subjects for the demo study (``manage.py seed_demo`` runs ``dosing.demo``).

The platform finds app seeders by module name (``APP_SEEDERS`` in
``trialsite/studies/management/commands/seed_demo.py`` lists ``dosing.demo``), after the
enrollment and safety seeders. The demo walks the study's real two-phase escalation
(``atd_levels`` 2, RULES.md §4; issue 12 requirement 6), every step through the services on the
day a site would enter it (the clock, ``trialsite.clock.freeze``, is set to that day):

1. ATD at DL1: one subject, 28 days without toxicity → "enroll 1 at DL2".
2. ATD at DL2: one subject with a probably related grade-2 ALT increase on Day 3 — the ATD
   trigger (``dlt_or_related_grade2``) → 3+3 at DL2, "enroll 2 more at DL2".
3. 3+3 at DL2: two more subjects, no DLT → 0/3 → "enroll 3 at DL3".
4. 3+3 at DL3: three subjects; the second has a grade-4 ALT increase on Day 6, definitely
   related, adjudicated a DLT by the investigator (signed) → 1/3 → "enroll 3 more at DL3".
5. DL3's second cohort: one subject infused eight days ago, still inside the DLT window.

Each assignment comes after the previous cohort's windows closed (Day 29), as the engine's
"wait" requires.

So the dashboard ends at "DL3: 1 DLT in 3 evaluable subjects — enroll 2 more at DL3" with one
pending subject for the what-if panel ("if that subject has a DLT: enroll 3 at DL2"). Before
each assignment the DLT windows are re-evaluated as the daily beat does
(``safety.services.close_dlt_windows``) and the escalation state recomputed as the worker does;
the investigator then signs the safety-review decision accepting the engine's recommendation
(an override with a rationale only if the engine disagreed, which this plan never makes it do).
The subjects' steps are interleaved in date order (``_run``), so the audit trail reads as it
would at a site. Idempotent: nothing is added once the study has an assignment.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import random
from decimal import Decimal

from django.utils import timezone

from dosing import decisions, escalation, services
from dosing.models import CohortAssignment, DoseLevel
from enrollment import services as enrollment
from enrollment.demo import _screen
from enrollment.models import EligibilityAssessment
from safety.demo_crs import ICE, NASAL_CANNULA_2L, ROOM_AIR, TOCILIZUMAB
from safety.demo_dlt import _term
from safety.services import (
    adjudicate_dlt,
    close_dlt_windows,
    save_adverse_event,
    save_crs_assessment,
    save_icans_assessment,
    save_lab_panel,
)
from trialsite import clock
from trialsite.studies.models import Study

ALT = "Alanine aminotransferase increased"
#: (days from Day 0 back to today, dose level, phase, cohort, toxicity): Day 0 of each subject.
#: Toxicity: None, ("grade2", day) a related grade-2 toxicity, ("dlt", day) an adjudicated DLT.
PLAN = [
    (196, 1, "ATD", 1, None),
    (144, 2, "ATD", 1, ("grade2", 3)),
    (116, 2, "3+3", 1, None),
    (114, 2, "3+3", 1, None),
    (64, 3, "3+3", 1, None),
    (62, 3, "3+3", 1, ("dlt", 6)),
    (60, 3, "3+3", 1, None),
    (8, 3, "3+3", 2, None),
]
#: Daily CRS of each PLAN subject, by place: (study day, Tmax, other values). Grade 1 fevers
#: in most; grade 2 (low-flow oxygen, tocilizumab) only in DL3's DLT subject, whose outcome is
#: already a DLT: a related grade 2 in an ATD subject would change the escalation story.
CRS_PLAN = {
    0: [(2, "38.0", {}), (3, "37.0", {})],
    2: [(1, "38.4", {}), (2, "38.1", {}), (3, "37.1", {})],
    3: [(2, "38.2", {}), (3, "36.9", {})],
    4: [(1, "38.5", {}), (2, "38.3", {}), (3, "37.0", {})],
    5: [
        (1, "38.3", {}),
        (2, "39.0", {**NASAL_CANNULA_2L, **TOCILIZUMAB}),
        (3, "37.2", {}),
        (4, "36.8", {"episode_resolved": True}),
    ],
    6: [(1, "38.1", {}), (2, "37.0", {})],
    7: [(1, "38.6", {}), (2, "38.4", {}), (3, "37.3", {})],
}
#: ICANS grade 1 (ICE 9) on Day 4 in DL3's DLT subject, gone (ICE 10) on Day 5.
ICANS_PLAN = {5: [(4, (4, 3, 1, 1, 0)), (5, (4, 3, 1, 1, 1))]}

#: Days from screening to Day 0 (confirmation +2, apheresis and assignment +3, release +17).
SCREENING_TO_DAY0 = 24


def _on(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _treat(site, users, *, rng, password, today, day0, level, phase, cohort, toxicity, place):
    """One subject's course, a generator: it yields the moment of its next step and the
    scheduler (``_run``) resumes it with the clock frozen at that moment."""
    coordinator, investigator = users["coordinator"], users["investigator"]
    study = site.study
    screened = day0 - dt.timedelta(days=SCREENING_TO_DAY0)
    yield _on(screened)
    subject = _screen(
        site,
        coordinator,
        investigator,
        rng=rng,
        sex=rng.choice("MF"),
        birth_year=rng.randint(1960, 1995),
        days_ago=0,
    )
    yield _on(screened + dt.timedelta(days=2), 16)
    enrollment.confirm_eligibility(
        subject,
        actor=investigator,
        password=password,
        expected_version=EligibilityAssessment.objects.get(subject=subject).version,
    )
    weight = Decimal(rng.randint(55, 85))
    apheresis_day = screened + dt.timedelta(days=3)
    yield _on(apheresis_day, 14)
    _open_slot(study, investigator, password=password, level=level, phase=phase)
    yield _on(apheresis_day, 15)
    services.assign_subject(
        subject,
        actor=coordinator,
        dose_level=DoseLevel.objects.get(study=study, level=level),
        phase=phase,
        cohort_number=cohort,
    )
    services.save_apheresis(
        subject,
        actor=coordinator,
        values={
            "apheresis_date": apheresis_day,
            "centre": "Tianjin apheresis unit",
            "volume_processed_l": Decimal("12.5"),
            "wbc_collected_10e9": Decimal(rng.randint(40, 120)) / 10,
            "cd3_collected_10e9": Decimal(rng.randint(15, 50)) / 10,
            "product_shipped_date": apheresis_day,
        },
    )
    release_day = apheresis_day + dt.timedelta(days=14)
    yield _on(release_day, 15)
    services.save_product_release(
        subject,
        actor=coordinator,
        values={
            "lot_number": f"CAR-{release_day:%y}-{rng.randint(100, 999):04d}",
            "release_date": release_day,
            "viability_pct": Decimal(rng.randint(850, 960)) / 10,
            "car_positive_pct": Decimal(rng.randint(300, 550)) / 10,
            "total_viable_car_t_cells_1e6": Decimal(rng.randint(300, 600)),
            "release_result": "pass",
        },
    )
    yield _on(day0 - dt.timedelta(days=5), 15)
    services.save_lymphodepletion(
        subject,
        actor=coordinator,
        values={
            "planned_infusion_date": day0,
            "start_date": day0 - dt.timedelta(days=5),
            "height_cm": Decimal(rng.randint(155, 182)),
            "weight_kg": weight,
            **{
                f"{drug}_mg_m2_day_minus{day}": Decimal(dose)
                for drug, dose in (("fludarabine", 30), ("cyclophosphamide", 300))
                for day in (5, 4, 3)
            },
        },
    )
    dose = DoseLevel.objects.get(study=study, level=level).dose_cells_per_kg
    total_1e6 = (Decimal(str(dose)) * weight / Decimal(10**6)).quantize(Decimal("0.01"))
    yield _on(day0, 14)
    services.record_infusion(
        subject,
        actor=coordinator,
        values={
            "infusion_start": _on(day0, 10),
            "weight_kg": weight,
            "total_car_t_cells_1e6": total_1e6,
            "number_of_bags": 1,
            "premedication_given": True,
            "premedication": "paracetamol 650 mg PO, chlorphenamine 4 mg IV",
            "infusion_reaction": False,
        },
    )
    yield from _crs_days(subject, coordinator, day0=day0, today=today, place=place)
    if toxicity is not None:
        yield from _toxicity(subject, users, password=password, day0=day0, toxicity=toxicity)
    # The Day 28 blood count: count recovery is assessed on it, so the window can close.
    count_day = day0 + dt.timedelta(days=28)
    if count_day > today:  # the real today: the clock is frozen on this subject's steps
        return
    yield _on(count_day, 8)
    save_lab_panel(
        subject,
        actor=coordinator,
        values={
            "collected_at": _on(count_day, 7),
            "accession_number": f"DEMO-D28-{subject.pk}",
            "lab_name": "Hospital central laboratory",
        },
        results=[
            {"test_code": code, "value": value}
            for code, value in (("ANC", "1.9"), ("PLT", "142"), ("HGB", "11.6"))
        ],
    )


def _crs_days(subject, coordinator, *, day0, today, place):
    """The subject's daily CRS and ICANS assessments (a generator, as ``_treat``), so the safety
    dashboard's per-dose-level CRS/ICANS rows have real episodes; only days that have come."""
    days = [(day, "crs", (tmax, extra)) for day, tmax, extra in CRS_PLAN.get(place, ())]
    days += [(day, "icans", items) for day, items in ICANS_PLAN.get(place, ())]
    for day, kind, data in sorted(days, key=lambda d: (d[0], d[1])):
        on = day0 + dt.timedelta(days=day)
        if on > today:
            return
        yield _on(on, 18)
        if kind == "crs":
            tmax, extra = data
            values = {"assessment_date": on, "max_temperature_c": Decimal(tmax)}
            save_crs_assessment(subject, actor=coordinator, values=values | ROOM_AIR | extra)
        else:
            values = {"assessment_date": on, **dict(zip(ICE, data, strict=True))}
            save_icans_assessment(subject, actor=coordinator, values=values)


def _toxicity(subject, users, *, password, day0, toxicity):
    """The subject's toxicity (a generator, as ``_treat``): a related grade-2 ALT increase, or
    a grade-4 one the investigator adjudicates a DLT the next day."""
    coordinator, investigator = users["coordinator"], users["investigator"]
    kind, day = toxicity
    onset = day0 + dt.timedelta(days=day)
    yield _on(onset, 17)
    event = save_adverse_event(
        subject,
        actor=coordinator,
        values={
            "term": _term(ALT),
            "onset_date": onset,
            "grade": 2 if kind == "grade2" else 4,
            "relationship_car_t": "probable" if kind == "grade2" else "definite",
            "relationship_lymphodepletion": "unlikely",
        },
    )
    if kind != "dlt":
        return
    yield _on(onset + dt.timedelta(days=1), 11)
    adjudicate_dlt(
        event,
        actor=investigator,
        is_dlt=True,
        rationale="Grade 4 ALT increase on Day 6, definitely related: meets the protocol's "
        "grade 4 non-hematologic DLT criterion regardless of duration.",
        password=password,
        event_version=event.version,
    )


def _run(courses) -> None:
    """Run the subjects' courses step by step in date order, the clock frozen at each step."""
    queue = []
    for number, course in enumerate(courses):
        moment = next(course, None)
        if moment is not None:
            heapq.heappush(queue, (moment, number, course))
    while queue:
        moment, number, course = heapq.heappop(queue)
        with clock.freeze(moment):
            following = next(course, None)
        if following is not None:
            heapq.heappush(queue, (following, number, course))


def _open_slot(study, investigator, *, password: str, level: int, phase: str) -> None:
    """The safety-review decision that opens the slot the next demo subject takes.

    Unless a slot of the latest decision is still free at the level: the windows are
    re-evaluated for the day (the beat's ``close_dlt_windows``), the state recomputed (the
    worker's hook), and the investigator accepts the engine's recommendation. Should the engine
    not recommend this level (a plan that breaks the design), the decision is an override with
    that rationale, so the demo never fails silently into a different story.
    """
    decision, free = services.open_slots(study)
    if free and decision.dose_level.level == level:
        return
    close_dlt_windows(study)
    escalation.recompute(study, Study.objects.get(pk=study.pk).data_version)
    state = escalation.current_state(study)
    accept = state.action == "enroll" and state.dose_level == level and state.phase == phase
    decisions.record_decision(
        study,
        actor=investigator,
        password=password,
        accepted=accept,
        state_data_version=state.data_version,
        action="enroll",
        dose_level=level,
        open_slots=3 if phase == "3+3" else 1,
        rationale=""
        if accept
        else "Demo data: the committee opened the level the demo plan needs.",
    )


def seed(*, study, site, users, stdout) -> None:
    if CohortAssignment.objects.filter(study=study).exists():
        return
    services.sync_dose_levels(study)
    rng = random.Random(12)
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    today = clock.today()
    _run(
        _treat(
            site,
            users,
            rng=rng,
            password=password,
            today=today,
            day0=today - dt.timedelta(days=days_ago),
            level=level,
            phase=phase,
            cohort=cohort,
            toxicity=toxicity,
            place=place,
        )
        for place, (days_ago, level, phase, cohort, toxicity) in enumerate(PLAN)
    )
    close_dlt_windows(study)
    escalation.recompute(study, Study.objects.get(pk=study.pk).data_version)
    state = escalation.current_state(study)
    stdout.write(
        f"Demo dosing: {len(PLAN)} subjects treated through ATD (DL1, DL2) and 3+3 (DL2, DL3); "
        f"escalation: {state.sentence}"
    )
