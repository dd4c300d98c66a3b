"""Realistic screening data for an eligible subject, entered through the services.

``screen_eligible_subject`` registers a 51-year-old man, records consent and enters every
screening CRF with values that pass every criterion; tests change one value to make a criterion
fail. Dates are relative to today so the data never ages into a washout window.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment import services
from enrollment.demo import eligible_screening_values
from enrollment.models import InvestigatorAttestation


def register_and_consent(site, coordinator, investigator, *, screening_date=None, **subject):
    screening_date = screening_date or timezone.localdate() - dt.timedelta(days=10)
    registered = services.register_subject(
        actor=coordinator,
        site=site,
        initials=subject.pop("initials", "WLX"),
        sex=subject.pop("sex", "M"),
        birth_date=subject.pop("birth_date", dt.date(1975, 3, 15)),
        screening_date=screening_date,
        planned_apheresis_date=subject.pop(
            "planned_apheresis_date", timezone.localdate() + dt.timedelta(days=7)
        ),
    )
    signed_at = timezone.make_aware(dt.datetime.combine(screening_date, dt.time(9, 0)))
    services.record_consent(
        registered,
        actor=coordinator,
        icf_version="v2.1 2025-04-01",
        signed_at=signed_at,
        obtained_by=investigator,
    )
    return registered


def screen_eligible_subject(site, coordinator, investigator, *, overrides=None, **subject):
    """A subject with every screening CRF entered; ``overrides`` {Model: {field: value}}."""
    registered = register_and_consent(site, coordinator, investigator, **subject)
    values = eligible_screening_values(registered.screening_date)
    for model, changes in (overrides or {}).items():
        values[model] = {**values[model], **changes}
    for model, crf_values in values.items():
        actor = investigator if model is InvestigatorAttestation else coordinator
        services.save_screening_crf(
            registered, model, actor=actor, values=crf_values, expected_version=None
        )
    registered.refresh_from_db()
    return registered
