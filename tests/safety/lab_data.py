"""Lab collections for safety tests: an infused subject and panels entered through the service."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment.services import anchor_schedule
from safety.services import save_lab_panel
from tests.enrollment_data import register_and_consent

DAY0_AGO = 20


def infused_subject(site, coordinator, investigator, **subject):
    """Consented 40 days ago, Day 0 twenty days ago (so Days -20 … 20 are in the past)."""
    screening = timezone.localdate() - dt.timedelta(days=40)
    registered = register_and_consent(
        site,
        coordinator,
        investigator,
        screening_date=screening,
        planned_apheresis_date=screening + dt.timedelta(days=5),
        **subject,
    )
    day0 = timezone.localdate() - dt.timedelta(days=DAY0_AGO)
    anchor_schedule(registered, day0, actor=coordinator)
    registered.refresh_from_db()
    return registered


def at_day(subject, day: int, hour: int = 8) -> dt.datetime:
    """An aware datetime on study day ``day`` of the subject."""
    return timezone.make_aware(
        dt.datetime.combine(subject.day0 + dt.timedelta(days=day), dt.time(hour, 0))
    )


def panel(subject, actor, day: int, *rows, accession="", **values):
    """Save one collection on study ``day``; rows are (test, value[, unit[, lln, uln]]) or dicts."""
    results = []
    for row in rows:
        if isinstance(row, dict):
            results.append(row)
            continue
        test, value, *rest = row
        item = {"test_code": test, "value": value}
        if rest:
            item["unit"] = rest[0]
        if len(rest) > 1:
            item["lln"], item["uln"] = rest[1], rest[2]
        results.append(item)
    return save_lab_panel(
        subject,
        actor=actor,
        values={"collected_at": at_day(subject, day), "accession_number": accession, **values},
        results=results,
    )
