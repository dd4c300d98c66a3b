"""Helpers for the AE page and API tests: a consented subject and valid AE form posts."""

from __future__ import annotations

import datetime as dt

from safety.models import CTCAETerm


def shipped(name: str) -> CTCAETerm:
    """A term of the shipped CTCAE v5.0 subset (loaded by the safety data migration)."""
    return CTCAETerm.objects.get(term=name)


def onset_of(subject, days: int = 3) -> dt.date:
    return subject.screening_date + dt.timedelta(days=days)


def ae_post(subject, term_name: str = "Fever", **changes) -> dict:
    """A valid AE form post: grade 1 fever from three days after screening, ongoing."""
    data = {
        "term": str(shipped(term_name).pk),
        "verbatim_term": "",
        "onset_date": onset_of(subject).isoformat(),
        "ongoing": "on",
        "resolution_date": "",
        "grade": "1",
        "grade_date": "",
        "relationship_car_t": "possible",
        "relationship_lymphodepletion": "unlikely",
        "expectedness": "expected",
        "action_taken": "not_applicable",
        "treatment_other": "",
        "outcome": "not_recovered",
        "death_date": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}
