"""Infused subjects with their dose level, responses, follow-up and disease events in the
database, for the ``endpoints`` hook tests.

The subject is registered, consented and anchored through the enrollment services
(``tests.efficacy.efficacy_data.infused_on``); responses, follow-up contacts and disease events
go through the efficacy services (the ELN 2022 category and MRD are derived on save from the
marrow and blood values). The cohort assignment is written through the records core
(``create_record``: audited, versioned, bumping the data version) without the assignment gate,
which has its own tests (tests/dosing/test_escalation_gate.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from dosing import services as dosing
from dosing.models import CohortAssignment, DoseLevel
from efficacy.services import save_disease_event, save_follow_up, save_response_assessment
from tests.efficacy.efficacy_data import infused_on, marrow
from trialsite.records import services as records
from trialsite.records.models import RecordStatus

#: Marrow values that classify as no response against the 60 % baseline.
NR = {"bm_blasts_pct": Decimal(40)}
#: Counts short of CR: MLFS (ANC < 0.5) and CRi (ANC ≥ 1.0, platelets < 100).
MLFS = {"anc_10e9_l": Decimal("0.3"), "platelets_10e9_l": Decimal(30)}
CRI = {"anc_10e9_l": Decimal("1.2"), "platelets_10e9_l": Decimal(40)}


def assign_level(subject, actor, number: int) -> None:
    dosing.dose_levels(subject.study)
    records.create_record(
        CohortAssignment,
        actor=actor,
        study=subject.study,
        status=RecordStatus.SUBMITTED,
        values={
            "subject": subject,
            "visit": None,
            "dose_level": DoseLevel.objects.get(study=subject.study, level=number),
            "phase": "3+3",
            "cohort_number": 1,
            "assigned_at": timezone.make_aware(
                dt.datetime.combine(subject.day0 - dt.timedelta(days=20), dt.time(9, 0))
            ),
            "assigned_by": actor,
        },
    )


def response(subject, actor, when: dt.date, timepoint: str, **values):
    """A response assessment (a CR by default: 2 % blasts, recovered counts, 60 % baseline)."""
    base = marrow(when, timepoint=timepoint, baseline_bm_blasts_entered=Decimal(60))
    return save_response_assessment(subject, actor=actor, values={**base, **values})


def follow_up(subject, actor, when: dt.date):
    return save_follow_up(
        subject,
        actor=actor,
        values={"contact_date": when, "survival_status": "alive", "last_known_alive_date": when},
    )


def event(subject, actor, kind: str, when: dt.date):
    extra = {
        "death": {"death_cause": "Leukaemia"},
        "hsct": {"hsct_donor_type": "matched_unrelated"},
        "new_therapy": {"therapy_name": "Azacitidine"},
    }.get(kind, {})
    return save_disease_event(
        subject, actor=actor, values={"event_type": kind, "event_date": when, **extra}
    )


def infused_subject(site, coordinator, investigator, day0: dt.date, level: int):
    subject = infused_on(site, coordinator, investigator, day0)
    assign_level(subject, coordinator, level)
    return subject
