"""Synthetic treated subjects for the demo study (``manage.py seed_demo`` runs ``dosing.demo``).

The platform finds app seeders by module name (``APP_SEEDERS`` in
``trialsite/studies/management/commands/seed_demo.py`` lists ``dosing.demo``), after the
enrollment seeder. Four more subjects are screened, confirmed, assigned and treated through the
services, each step on its own day: the clock (``trialsite.clock.freeze``) is set to the day a
site would have entered it, so every date passes the "not in the future" checks and the audit
trail reads as it would at a site. The ATD design of the demo study (``atd_levels`` 2) is
followed: DL1 and DL2 one subject each, then DL3 as a 3+3 cohort — two infused (Day 0 about two
months, one month and a week ago) and one assigned with apheresis and a released lot, waiting
for lymphodepletion. Each assignment takes a slot of a signed safety-review decision (the
first accepts the engine's "enroll 1 at DL1"; see ``_open_slot``), and the escalation state is
recomputed at the end. Idempotent: nothing is added once the study has an assignment.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

from django.utils import timezone

from dosing import decisions, escalation, services
from dosing.models import CohortAssignment, DoseLevel
from enrollment import services as enrollment
from enrollment.demo import _screen
from enrollment.models import EligibilityAssessment
from trialsite import clock
from trialsite.studies.models import Study

#: (days from Day 0 back to today, dose level, phase, cohort, infused?)
PLAN = [
    (62, 1, "ATD", 1, True),
    (33, 2, "ATD", 1, True),
    (8, 3, "3+3", 1, True),
    (-6, 3, "3+3", 1, False),
]


def _on(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _treat(site, users, *, rng, password, day0, level, phase, cohort, infused):
    coordinator, investigator = users["coordinator"], users["investigator"]
    screened = day0 - dt.timedelta(days=24)
    with clock.freeze(_on(screened)):
        subject = _screen(
            site,
            coordinator,
            investigator,
            rng=rng,
            sex=rng.choice("MF"),
            birth_year=rng.randint(1960, 1995),
            days_ago=0,
        )
    with clock.freeze(_on(screened + dt.timedelta(days=2), 16)):
        enrollment.confirm_eligibility(
            subject,
            actor=investigator,
            password=password,
            expected_version=EligibilityAssessment.objects.get(subject=subject).version,
        )
    weight = Decimal(rng.randint(55, 85))
    apheresis_day = screened + dt.timedelta(days=3)
    with clock.freeze(_on(apheresis_day, 14)):
        _open_slot(subject.study, investigator, password=password, level=level, phase=phase)
    with clock.freeze(_on(apheresis_day, 15)):
        services.assign_subject(
            subject,
            actor=coordinator,
            dose_level=DoseLevel.objects.get(study=subject.study, level=level),
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
    with clock.freeze(_on(release_day, 15)):
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
    if not infused:
        return subject
    with clock.freeze(_on(day0 - dt.timedelta(days=5), 15)):
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
    dose = DoseLevel.objects.get(study=subject.study, level=level).dose_cells_per_kg
    total_1e6 = (Decimal(str(dose)) * weight / Decimal(10**6)).quantize(Decimal("0.01"))
    with clock.freeze(_on(day0, 14)):
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
    return subject


def _open_slot(study, investigator, *, password: str, level: int, phase: str) -> None:
    """The safety-review decision that opens the slot the next demo subject takes.

    The first decision accepts the engine's "enroll 1 at DL1 (ATD)". The demo's timeline is
    compressed (the next subject is assigned while the previous one is still inside the DLT
    window, where the engine says "wait"), so the later decisions are overrides with that
    rationale; a 3+3 decision opens the three places of the cohort at once.
    """
    decision, free = services.open_slots(study)
    if free and decision.dose_level.level == level:
        return
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
        else "Demo data: the timeline is compressed; the committee reviewed the subjects "
        "still inside their DLT window and opened the next cohort.",
    )


def seed(*, study, site, users, stdout) -> None:
    if CohortAssignment.objects.filter(study=study).exists():
        return
    services.sync_dose_levels(study)
    rng = random.Random(12)
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    today = clock.today()
    for days_ago, level, phase, cohort, infused in PLAN:
        _treat(
            site,
            users,
            rng=rng,
            password=password,
            day0=today - dt.timedelta(days=days_ago),
            level=level,
            phase=phase,
            cohort=cohort,
            infused=infused,
        )
    escalation.recompute(study, Study.objects.get(pk=study.pk).data_version)
    treated = sum(1 for *_rest, infused in PLAN if infused)
    stdout.write(
        f"Demo dosing: {len(PLAN)} subjects assigned (DL1, DL2 in ATD; DL3 3+3), "
        f"{treated} infused with Day 0 and a visit schedule"
    )
