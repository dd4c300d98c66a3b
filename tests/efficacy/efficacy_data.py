"""Infused subjects and response values for the efficacy tests, entered through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from enrollment.demo import eligible_screening_values
from enrollment.models.screening import AmlHistory
from enrollment.services import anchor_schedule, save_screening_crf
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
    """The screening AML history (the baseline marrow blasts for PR), through its service."""
    values = eligible_screening_values(subject.screening_date)[AmlHistory]
    save_screening_crf(
        subject,
        AmlHistory,
        actor=actor,
        values={**values, "marrow_blasts_pct": Decimal(str(pct))},
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


def efficacy_records(subject, actor) -> dict:
    """One response assessment, follow-up and disease event today for an infused subject."""
    from efficacy.services import save_disease_event, save_follow_up, save_response_assessment
    from trialsite import clock

    today = clock.today()
    return {
        "response": save_response_assessment(
            subject,
            actor=actor,
            values=marrow(today, timepoint="UNS", baseline_bm_blasts_entered=Decimal(60)),
        ),
        "follow_up": save_follow_up(
            subject, actor=actor, values={"contact_date": today, "survival_status": "alive"}
        ),
        "disease_event": save_disease_event(
            subject,
            actor=actor,
            values={"event_type": "new_therapy", "event_date": today, "therapy_name": "Aza"},
        ),
    }
