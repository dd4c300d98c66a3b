"""Serious adverse events for SAE tests, entered through the AE service (which starts the SAE)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from safety.services import save_adverse_event
from tests.safety.ae_data import term


def serious_values(subject, **changes) -> dict:
    """A grade 3 febrile neutropenia needing hospitalisation, three days after screening."""
    return {
        "term": term(
            "Febrile neutropenia",
            max_grade=5,
            soc="Blood and lymphatic system disorders",
            dlt_category="hematologic",
        ),
        "onset_date": subject.screening_date + dt.timedelta(days=3),
        "grade": 3,
        "serious": True,
        "seriousness_criteria": ["hospitalisation"],
        **changes,
    }


def serious_event(subject, actor, **changes):
    return save_adverse_event(subject, actor=actor, values=serious_values(subject, **changes))


def moment(day: dt.date, hour: int = 14, minute: int = 30) -> dt.datetime:
    """An aware moment on ``day`` in the server's zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))
