"""Infused subjects and daily CRS/ICANS values for the CRS/ICANS tests, through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from enrollment.services import anchor_schedule
from safety.services import save_crs_assessment, save_icans_assessment
from tests.enrollment_data import register_and_consent


def infused_subject(site, coordinator, investigator, *, days_ago: int = 14, **subject):
    """A consented subject whose Day 0 (the CAR-T infusion) was ``days_ago`` days ago."""
    today = timezone.localdate()
    registered = register_and_consent(
        site,
        coordinator,
        investigator,
        screening_date=today - dt.timedelta(days=days_ago + 30),
        **subject,
    )
    anchor_schedule(registered, today - dt.timedelta(days=days_ago), actor=coordinator)
    registered.refresh_from_db()
    return registered


def crs_values(day: dt.date, tmax: str = "37.0", **changes) -> dict:
    return {
        "assessment_date": day,
        "max_temperature_c": Decimal(tmax),
        "hypotension": False,
        "vasopressors": [],
        "oxygen_device": "room_air",
        **changes,
    }


def icans_values(day: dt.date, items=(4, 3, 1, 1, 1), **changes) -> dict:
    names = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
    return {"assessment_date": day, **dict(zip(names, items, strict=True)), **changes}


def add_crs(subject, actor, day_number: int, tmax: str = "37.0", **changes):
    day = subject.day0 + dt.timedelta(days=day_number)
    return save_crs_assessment(subject, actor=actor, values=crs_values(day, tmax, **changes))


def add_icans(subject, actor, day_number: int, items=(4, 3, 1, 1, 1), **changes):
    day = subject.day0 + dt.timedelta(days=day_number)
    return save_icans_assessment(subject, actor=actor, values=icans_values(day, items, **changes))
