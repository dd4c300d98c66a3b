"""Efficacy demo data (``manage.py seed_demo``, run last): responses, follow-up and events.

The dosing and safety demos infuse their subjects at most two months ago, too recently for the
later response visits. So this demo adds six subjects of a follow-up cohort infused 100-400
days ago (registered, consented and given their Day 0 as the infusion CRF would, without a
dose-level assignment: efficacy may not write dosing data) and enters, through the services,
response assessments covering CR MRD-negative, CRh, CRi, MLFS, PR and no response, one
relapse, one allogeneic HSCT, two deaths (each with its grade 5 adverse event, so no death
query opens), new therapy, progression and follow-up contacts. The investigator confirms most
categories (e-signed) and overrides one with a reason. Idempotent: nothing is added once the
site has a response assessment.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

from django.utils import timezone

from efficacy import demo_samples
from efficacy.models import ResponseAssessment
from efficacy.services import (
    confirm_response,
    save_disease_event,
    save_follow_up,
    save_response_assessment,
)
from enrollment.services import anchor_schedule, record_consent, register_subject
from safety.models import CTCAETerm
from safety.services import save_adverse_event
from trialsite import clock
from trialsite.records import recompute

CR = {"bm_blasts_pct": "1.5", "anc_10e9_l": "2.1", "platelets_10e9_l": "160"}
CR_MRD_NEG = {**CR, "flow_leukemic_events": 0, "flow_cells_acquired": 450_000}
CRH = {"bm_blasts_pct": "2", "anc_10e9_l": "0.7", "platelets_10e9_l": "65"}
CRI = {"bm_blasts_pct": "3", "anc_10e9_l": "1.4", "platelets_10e9_l": "38"}
MLFS = {"bm_blasts_pct": "2.5", "anc_10e9_l": "0.3", "platelets_10e9_l": "22"}
PR = {"bm_blasts_pct": "15", "anc_10e9_l": "1.3", "platelets_10e9_l": "120"}
NR = {"bm_blasts_pct": "48", "anc_10e9_l": "0.4", "platelets_10e9_l": "18"}
RELAPSE = {"bm_blasts_pct": "14", "anc_10e9_l": "0.9", "platelets_10e9_l": "70"}
VISIT_DAY = {"M1": 28, "M2": 61, "M3": 91, "M6": 183, "M9": 274, "M12": 365}

#: (initials, days since Day 0, baseline marrow blasts %, [(visit, day or None, values)],
#:  [(event, day, details)], [follow-up (day, disease status)], death (day, cause) or None)
COHORT = [
    ("EFA", 400, 45, [(v, None, CR_MRD_NEG) for v in VISIT_DAY], [], [(380, "remission")], None),
    ("EFB", 300, 60, [("M1", None, CRH), ("M2", None, CR_MRD_NEG), ("M3", None, CR),
                      ("M6", None, CR), ("UNS", 230, RELAPSE)],
     [("relapse", 230, {}), ("new_therapy", 238, {"therapy_name": "Venetoclax + azacitidine"})],
     [(240, "relapsed")], (262, "Relapsed AML with sepsis")),
    ("EFC", 240, 70, [("M1", None, CRI), ("M3", None, CR), ("M6", None, CR_MRD_NEG)],
     [("hsct", 70, {"hsct_donor_type": "haploidentical"})], [(230, "remission")], None),
    ("EFD", 200, 55, [("M1", None, MLFS), ("M2", None, MLFS), ("M3", None, NR)],
     [("progression", 91, {})], [(190, "persistent")], None),
    ("EFE", 150, 60, [("M1", None, PR), ("M2", None, PR), ("M3", None, CR)], [],
     [(140, "remission")], None),
    ("EFF", 100, 80, [("M1", None, NR), ("M2", None, NR)], [("progression", 61, {})],
     [(70, "persistent")], (84, "Progressive AML with sepsis")),
]  # fmt: skip


def _values(visit: str, day: dt.date, baseline: int, values: dict) -> dict:
    numeric = {"bm_blasts_pct", "anc_10e9_l", "platelets_10e9_l"}
    return {
        "timepoint": visit,
        "assessment_date": day,
        "bm_adequacy": "adequate",
        "bm_cells_counted": 500,
        "bm_cellularity_pct": Decimal(40),
        "baseline_bm_blasts_entered": Decimal(baseline),
        "hemoglobin_g_dl": Decimal("9.8"),
        "pb_blasts": "no",
        "extramedullary_disease": "no",
        **{k: Decimal(v) if k in numeric else v for k, v in values.items()},
    }


def _infused(site, coordinator, investigator, initials: str, day0: dt.date):
    screening = day0 - dt.timedelta(days=30)
    subject = register_subject(
        actor=coordinator,
        site=site,
        initials=initials,
        sex="F" if initials[-1] in "ACE" else "M",
        birth_date=dt.date(1968, 5, 2),
        screening_date=screening,
    )
    record_consent(
        subject,
        actor=coordinator,
        icf_version="v2.1 2025-04-01",
        signed_at=timezone.make_aware(dt.datetime.combine(screening, dt.time(9, 0))),
        obtained_by=investigator,
    )
    anchor_schedule(subject, day0, actor=coordinator)
    subject.refresh_from_db()
    return subject


def _death(subject, coordinator, day: dt.date, cause: str) -> None:
    """The grade 5 adverse event first (CTCAE v5.0), then the death on the follow-up CRF."""
    save_adverse_event(
        subject,
        actor=coordinator,
        values={
            "term": CTCAETerm.objects.get(term="Sepsis"),
            "onset_date": day - dt.timedelta(days=3),
            "grade": 5,
            "ongoing": False,
            "outcome": "fatal",
            "death_date": day,
            "serious": True,
            "seriousness_criteria": ["death"],
            "relationship_car_t": "unlikely",
        },
    )
    save_disease_event(
        subject,
        actor=coordinator,
        values={"event_type": "death", "event_date": day, "death_cause": cause},
    )


def _treated_subjects(site, coordinator, investigator, password, today) -> int:
    """The dosing demo's infused subjects: the response visits already due (M1, M2)."""
    from enrollment.models import Subject, SubjectStatus

    confirmed = 0
    treated = Subject.objects.filter(site=site, enrollment_status=SubjectStatus.TREATED)
    plans = (CR_MRD_NEG, CR_MRD_NEG), (CRH,), (CRI,)
    for subject, plan in zip(treated.order_by("day0"), plans, strict=False):
        for visit, values in zip(("M1", "M2"), plan, strict=False):
            on = subject.day0 + dt.timedelta(days=VISIT_DAY[visit])
            if on > today:
                break
            record = save_response_assessment(
                subject, actor=coordinator, values=_values(visit, on, 50, values)
            )
            if visit == "M1":
                confirm_response(
                    record, actor=investigator, password=password, expected_version=record.version
                )
                confirmed += 1
    return confirmed


def _seed_responses(*, study, site, users, stdout) -> None:
    if ResponseAssessment.objects.filter(subject__site=site).exists():
        return
    coordinator, investigator = users["coordinator"], users["investigator"]
    password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
    today = clock.today()
    confirmed = 0
    for initials, days, baseline, visits, events, contacts, death in COHORT:
        day0 = today - dt.timedelta(days=days)
        subject = _infused(site, coordinator, investigator, initials, day0)
        saved = []
        for visit, day, values in visits:
            on = day0 + dt.timedelta(days=day if day is not None else VISIT_DAY[visit])
            saved.append(
                save_response_assessment(
                    subject, actor=coordinator, values=_values(visit, on, baseline, values)
                )
            )
        for kind, day, details in events:
            save_disease_event(
                subject,
                actor=coordinator,
                values={"event_type": kind, "event_date": day0 + dt.timedelta(days=day), **details},
            )
        for day, status in contacts:
            on = day0 + dt.timedelta(days=day)
            save_follow_up(
                subject,
                actor=coordinator,
                values={
                    "contact_date": on,
                    "survival_status": "alive",
                    "last_known_alive_date": on,
                    "disease_status": status,
                },
            )
        if death is not None:
            _death(subject, coordinator, day0 + dt.timedelta(days=death[0]), death[1])
        for record in saved[:-1]:  # the latest assessment waits for the investigator
            override = record.computed_category == "MLFS" and record.timepoint == "M1"
            confirm_response(
                record,
                actor=investigator,
                password=password,
                expected_version=record.version,
                override_category="CRi" if override else "",
                reason="Platelets 104 ×10⁹/L on the same-day repeat count (lab report)"
                if override
                else "",
            )
            confirmed += 1
    confirmed += _treated_subjects(site, coordinator, investigator, password, today)
    stdout.write(
        f"Demo efficacy: {len(COHORT)} subjects in follow-up, "
        f"{ResponseAssessment.objects.filter(subject__site=site).count()} response assessments "
        f"({confirmed} confirmed or overridden), two deaths with their grade 5 events"
    )


def seed(*, study, site, users, stdout) -> None:
    """Responses, follow-up and events first, then the samples (kinetics, anti-CAR, RCL), which
    reach every infused subject the earlier demos and this one have created."""
    _seed_responses(study=study, site=site, users=users, stdout=stdout)
    demo_samples.seed(study=study, site=site, users=users, stdout=stdout)
    # The last seeder: every derived state (the escalation state, the endpoint snapshots) is made
    # current as the worker leaves it after the last save, so the demo opens on current
    # dashboards even when no worker runs.
    recompute.run(study.pk)
