"""Realistic treatment data for a confirmed subject, entered through the dosing services.

``confirmed_subject`` screens an eligible 51-year-old man (70 kg, 175 cm) and has the
investigator confirm eligibility today. The treatment then happens in the days after: callers
freeze the clock on each day (``trialsite.clock.freeze``) so every date is "not in the future"
exactly as at a site. ``DAY0`` is 20 days after the confirmation: apheresis on day 1 after it,
release on day 12, lymphodepletion from Day −5.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from dosing import services
from dosing.models import DoseLevel
from enrollment import services as enrollment
from enrollment.models import EligibilityAssessment
from tests.enrollment_data import screen_eligible_subject
from tests.factories import PASSWORD
from trialsite import clock

DAYS_TO_INFUSION = 20


def confirmed_subject(site, coordinator, investigator, **subject):
    registered = screen_eligible_subject(site, coordinator, investigator, **subject)
    enrollment.confirm_eligibility(
        registered,
        actor=investigator,
        password=PASSWORD,
        expected_version=EligibilityAssessment.objects.get(subject=registered).version,
    )
    registered.refresh_from_db()
    return registered


def level(study, number: int = 1) -> DoseLevel:
    services.dose_levels(study)
    return DoseLevel.objects.get(study=study, level=number)


def assign(subject, coordinator, number: int = 1, *, cohort: int = 1, phase: str = "ATD"):
    ensure_slot(subject.study, number)
    return services.assign_subject(
        subject,
        actor=coordinator,
        dose_level=level(subject.study, number),
        phase=phase,
        cohort_number=cohort,
    )


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def apheresis_values(day: dt.date) -> dict:
    return {
        "apheresis_date": day,
        "centre": "Tianjin apheresis unit",
        "volume_processed_l": Decimal("12.0"),
        "wbc_collected_10e9": Decimal("8.5"),
        "cd3_collected_10e9": Decimal("3.1"),
        "product_shipped_date": day,
    }


def release_values(day: dt.date, **changes) -> dict:
    return {
        "lot_number": "CAR-24-0117",
        "release_date": day,
        "viability_pct": Decimal("92.5"),
        "car_positive_pct": Decimal("41.0"),
        "total_viable_car_t_cells_1e6": Decimal("350"),
        "release_result": "pass",
        "failed_test": "",
        "failed_test_detail": "",
        **changes,
    }


def lymphodepletion_values(day0: dt.date, **changes) -> dict:
    return {
        "planned_infusion_date": day0,
        "start_date": day0 - dt.timedelta(days=5),
        "regimen": "flu_cy",
        "height_cm": Decimal("175.0"),
        "weight_kg": Decimal("70.0"),
        "fludarabine_mg_m2_day_minus5": Decimal("30"),
        "fludarabine_mg_m2_day_minus4": Decimal("30"),
        "fludarabine_mg_m2_day_minus3": Decimal("30"),
        "cyclophosphamide_mg_m2_day_minus5": Decimal("300"),
        "cyclophosphamide_mg_m2_day_minus4": Decimal("300"),
        "cyclophosphamide_mg_m2_day_minus3": Decimal("300"),
        **changes,
    }


def infusion_values(day0: dt.date, *, dose_cells_per_kg: float = 0.5e6, **changes) -> dict:
    weight = Decimal("70.0")
    total_1e6 = Decimal(str(round(dose_cells_per_kg * 70 / 1e6, 2)))
    return {
        "infusion_start": at(day0, 11),
        "weight_kg": weight,
        "total_car_t_cells_1e6": total_1e6,
        "number_of_bags": 1,
        "premedication_given": True,
        "premedication": "paracetamol 650 mg PO, diphenhydramine 25 mg IV",
        "infusion_reaction": False,
        "infusion_reaction_details": "",
        **changes,
    }


def prepare_treatment(subject, coordinator, *, day0: dt.date, number: int = 1, cohort: int = 1):
    """Assignment, apheresis, a released lot and lymphodepletion before ``day0`` (clock moved)."""
    start = day0 - dt.timedelta(days=DAYS_TO_INFUSION)
    with clock.freeze(start + dt.timedelta(days=1)):
        assign(subject, coordinator, number, cohort=cohort)
        services.save_apheresis(
            subject, actor=coordinator, values=apheresis_values(start + dt.timedelta(days=1))
        )
    with clock.freeze(start + dt.timedelta(days=12)):
        services.save_product_release(
            subject, actor=coordinator, values=release_values(start + dt.timedelta(days=12))
        )
    with clock.freeze(day0 - dt.timedelta(days=5)):
        services.save_lymphodepletion(
            subject, actor=coordinator, values=lymphodepletion_values(day0)
        )


def infuse(subject, coordinator, *, day0: dt.date, **changes):
    with clock.freeze(at(day0, 15)):
        return services.record_infusion(
            subject, actor=coordinator, values=infusion_values(day0, **changes)
        )


def treated_subject(site, coordinator, investigator, *, number: int = 1, cohort: int = 1):
    """A subject infused at ``number`` on day0 = confirmation + 20 days; returns (subject, day0)."""
    subject = confirmed_subject(site, coordinator, investigator)
    day0 = clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)
    prepare_treatment(subject, coordinator, day0=day0, number=number, cohort=cohort)
    dose = level(subject.study, number).dose_cells_per_kg
    infuse(subject, coordinator, day0=day0, dose_cells_per_kg=dose)
    subject.refresh_from_db()
    return subject, day0


def sign_decision(study, investigator, number: int = 1, *, slots: int = 1, accept: bool = False):
    """The investigator's signed safety-review decision opening ``slots`` at DL``number``.

    ``accept``: accept the engine's recommendation as it stands; otherwise an override naming
    the level and slots (test set-up). The escalation state is recomputed first, as the worker
    would have done after the last save.
    """
    from dosing import decisions, escalation

    escalation.recompute(study, study.__class__.objects.get(pk=study.pk).data_version)
    if accept:
        return decisions.record_decision(
            study, actor=investigator, password=PASSWORD, accepted=True, state_data_version=None
        )
    return decisions.record_decision(
        study,
        actor=investigator,
        password=PASSWORD,
        accepted=False,
        state_data_version=None,
        action="enroll",
        dose_level=number,
        open_slots=slots,
        rationale="Test set-up: the slot the test needs.",
    )


def ensure_slot(study, number: int = 1) -> None:
    """Open one slot at DL``number`` unless the latest signed decision has one free there."""
    from trialsite.studies.models import Membership
    from trialsite.studies.roles import Role

    decision, free = services.open_slots(study)
    if free and decision.dose_level.level == number:
        return
    investigator = (
        Membership.objects.filter(study=study, role=Role.INVESTIGATOR, is_active=True)
        .select_related("user")
        .first()
        .user
    )
    sign_decision(study, investigator, number, slots=1)
