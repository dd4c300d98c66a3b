"""Infused subjects and response / follow-up / disease-event values, entered through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from enrollment.models.screening import AmlHistory
from enrollment.services import anchor_schedule
from tests.enrollment_data import register_and_consent


def infused_on(site, coordinator, investigator, day0: dt.date, **subject):
    """A consented subject whose Day 0 (the CAR-T infusion) is ``day0``."""
    registered = register_and_consent(
        site, coordinator, investigator, screening_date=day0 - dt.timedelta(days=30), **subject
    )
    anchor_schedule(registered, day0, actor=coordinator)
    registered.refresh_from_db()
    return registered


def set_screening_blasts(subject, actor, pct) -> None:
    """The screening marrow blasts (the AML history CRF's baseline for PR), stored directly:
    the AML history CRF has many required fields unrelated to efficacy."""
    from trialsite import clock

    now = clock.now()
    AmlHistory.objects.update_or_create(
        subject=subject,
        defaults={
            "study": subject.study,
            "assessment_date": subject.screening_date,
            "marrow_blasts_pct": Decimal(str(pct)),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": actor,
            "updated_by": actor,
        },
    )


def marrow(day: dt.date, blasts="2", anc="1.5", plt="150", timepoint="M1", **changes) -> dict:
    """A response assessment's values (adequate marrow, no circulating blasts, no EMD)."""
    return {
        "timepoint": timepoint,
        "assessment_date": day,
        "bm_adequacy": "adequate",
        "bm_blasts_pct": None if blasts is None else Decimal(blasts),
        "bm_cells_counted": 500,
        "anc_10e9_l": None if anc is None else Decimal(anc),
        "platelets_10e9_l": None if plt is None else Decimal(plt),
        "pb_blasts": "no",
        "extramedullary_disease": "no",
        **changes,
    }
