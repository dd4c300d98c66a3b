"""Infused subjects with their dose level, responses, follow-up and disease events in the
database, for the ``endpoints`` hook tests.

The subject is registered, consented and anchored through the enrollment services
(``tests.efficacy.efficacy_data.infused_on``); the cohort assignment and the efficacy CRFs are
written through the records core (``create_record``: audited, versioned, bumping the data
version), with the category of record given as the response CRF's service would have derived
it. The hook reads what is stored; the CRF services have their own tests.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from dosing import services as dosing
from dosing.models import CohortAssignment, DoseLevel
from efficacy.models import DiseaseEvent, FollowUp, ResponseAssessment
from tests.efficacy.efficacy_data import infused_on, set_screening_blasts
from trialsite import clock
from trialsite.records import services as records
from trialsite.records.models import RecordStatus


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


def response(subject, actor, when: dt.date, timepoint: str, category: str, **values):
    defaults = {
        "subject": subject,
        "visit": None,
        "timepoint": timepoint,
        "assessment_date": when,
        "bm_adequacy": "adequate",
        "bm_blasts_pct": Decimal("2"),
        "bm_cells_counted": 500,
        "anc_10e9_l": Decimal("1.5"),
        "platelets_10e9_l": Decimal("150"),
        "pb_blasts": "no",
        "extramedullary_disease": "no",
        "computed_category": category,
    }
    return records.create_record(
        ResponseAssessment,
        actor=actor,
        study=subject.study,
        status=RecordStatus.SUBMITTED,
        values={**defaults, **values},
    )


def follow_up(subject, actor, when: dt.date, status: str = "alive"):
    return records.create_record(
        FollowUp,
        actor=actor,
        study=subject.study,
        status=RecordStatus.SUBMITTED,
        values={
            "subject": subject,
            "visit": None,
            "contact_date": when,
            "survival_status": status,
            "last_known_alive_date": when if status == "alive" else None,
        },
    )


def event(subject, actor, kind: str, when: dt.date):
    extra = {
        "death": {"death_cause": "Leukaemia"},
        "hsct": {"hsct_donor_type": "matched_unrelated"},
        "new_therapy": {"therapy_name": "Azacitidine"},
    }.get(kind, {})
    if kind == "death":
        return _death(subject, actor, when, **extra)
    return records.create_record(
        DiseaseEvent,
        actor=actor,
        study=subject.study,
        status=RecordStatus.SUBMITTED,
        values={"subject": subject, "visit": None, "event_type": kind, "event_date": when, **extra},
    )


def infused_subject(site, coordinator, investigator, day0: dt.date, level: int, *, baseline=40):
    subject = infused_on(site, coordinator, investigator, day0)
    assign_level(subject, coordinator, level)
    if baseline is not None:
        set_screening_blasts(subject, coordinator, baseline)
    return subject


def _death(subject, actor, when: dt.date, **extra):
    """A death stored directly with its bookkeeping and a data-version bump: through the records
    core its soft check (no grade 5 AE) opens a data query linking to the disease-event page,
    which this branch's URLs do not route yet."""
    now = clock.now()
    row = DiseaseEvent.objects.create(
        study=subject.study,
        subject=subject,
        visit=None,
        event_type="death",
        event_date=when,
        status=RecordStatus.SUBMITTED,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=actor,
        updated_by=actor,
        **extra,
    )
    records.bump_data_version(subject.study_id)
    return row
